//! `ke node-check` on a host with 200 rules: wall time and peak RSS of the
//! real binary, as the node-check Job runs it on every node every night.
//! The goal is under 1 s and under 30 MiB.
//!
//! Run with `cargo bench --bench node_check` (add `--profile dev` for a quick,
//! pessimistic reading without the release build). The host is the fixture
//! root (tests/data/hostroot) copied with an 8 MiB syslog added; the rules
//! are 120 sysctl, 20 fileChange, 20 fileFilter (1 MiB tails), 20 nodeInfo
//! (CPU sampled once) and 20 clock rules.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Runs under `cargo bench` (which passes `--bench`); one under `cargo test --all-targets`.
fn runs() -> usize {
    if std::env::args().any(|a| a == "--bench") { 15 } else { 1 }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn request() -> Value {
    let sysctls = [
        ("net.ipv4.ip_forward", "1"),
        ("vm.swappiness", "0"),
        ("fs.inotify.max_user_watches", "524288"),
        ("kernel.ostype", "\"Linux\""),
        ("net.ipv4.ip_local_reserved_ports", "\"30000-32767\""),
        ("net.ipv4.ip_local_port_range", "\"32768 60999\""),
    ];
    let mut rules = Vec::new();
    for i in 0..120 {
        let (key, value) = sysctls[i % sysctls.len()];
        rules.push(json!({"id": format!("sysctl-{i}"), "kind": "sysctl", "severity": "warning", "message": "m", "rule": format!("{key} = {value}")}));
    }
    for i in 0..20 {
        rules.push(json!({"id": format!("change-{i}"), "kind": "fileChange", "severity": "warning", "message": "m", "path": "/var/lib/kubelet/config.yaml"}));
        rules.push(json!({"id": format!("filter-{i}"), "kind": "fileFilter", "severity": "warning", "message": "m", "path": "/var/log/syslog", "pattern": format!("(?i)error {i}|oom-kill|segfault")}));
        let figure = ["cpu > 90", "memory > 90", "load15 > 8", "filesystem > 90 || inode > 90"][i % 4];
        rules.push(json!({"id": format!("info-{i}"), "kind": "nodeInfo", "severity": "warning", "message": "m", "rule": figure}));
        rules.push(json!({"id": format!("clock-{i}"), "kind": "clock", "severity": "warning", "message": "m"}));
    }
    let previous = json!({"/var/lib/kubelet/config.yaml": {"sha256": "0".repeat(64), "size": 1}});
    json!({"schemaVersion": 1, "node": "bench", "rules": rules, "previous": previous, "referenceTime": jiff::Timestamp::now().to_string()})
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("host");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hostroot"), &root);
    let line = "Dec  1 01:00:00 node kubelet[812]: I1201 01:00:00.000000 812 kubelet.go:2000] SyncLoop (PLEG): event for pod\n";
    std::fs::write(root.join("var/log/syslog"), line.repeat(8 * 1024 * 1024 / line.len())).expect("syslog");
    let request = request();
    assert_eq!(request["rules"].as_array().map(Vec::len), Some(200));
    let file = dir.path().join("request.json");
    std::fs::write(&file, request.to_string()).expect("request");
    let runs = runs();
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        // As the node-check Job runs it (its pod's environment).
        let (name, value) = kubeeye::collect::ALLOCATOR_ENV;
        let out = Command::new(env!("CARGO_BIN_EXE_ke"))
            .env(name, value)
            .args([
                "node-check",
                "--request",
                file.to_str().expect("utf-8"),
                "--host-root",
                root.to_str().expect("utf-8"),
            ])
            .output()
            .expect("ke runs");
        times.push(started.elapsed());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let result: Value = serde_json::from_slice(&out.stdout).expect("one JSON result");
        assert_eq!(result["results"].as_array().map(Vec::len), Some(200));
    }
    times.sort();
    let median = times[runs / 2];
    // The largest resident set of any child this process waited for, in KiB on Linux.
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let peak_mib = usage.max_rss() as f64 / 1024.0;
    println!(
        "ke node-check, 200 rules, {runs} runs: median wall {:.0} ms (min {:.0}, max {:.0}), peak RSS {peak_mib:.1} MiB",
        ms(median),
        ms(times[0]),
        ms(times[runs - 1])
    );
    println!(
        "goal: < 1000 ms, < 30 MiB: {}",
        if median < Duration::from_secs(1) && peak_mib < 30.0 { "met" } else { "NOT met" }
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

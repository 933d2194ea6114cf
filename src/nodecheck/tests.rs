use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::protocol::{Baseline, Outcome, RESULT_SCHEMA, result_schema};
use super::*;
use crate::report::Severity;

const RULES: &str = r#"
customChecks:
  ipForward: {target: Host, host: sysctl, rule: net.ipv4.ip_forward = 1, severity: danger, promptMessage: IP forwarding is off}
  swappiness: {target: Host, host: sysctl, rule: vm.swappiness=0, severity: warning, nodeSelector: {role: db}}
  portRange: {target: Host, host: sysctl, rule: "net.ipv4.ip_local_port_range = \"32768 60999\" && net.ipv4.ip_local_reserved_ports = \"30000-32767\"", severity: info}
  noSuchKey: {target: Host, host: sysctl, rule: vm.no_such_key = 1, severity: info}
  kubeletConfig: {target: Host, host: fileChange, path: /var/lib/kubelet/config.yaml, severity: warning}
  syslogErrors: {target: Host, host: fileFilter, path: /var/log/syslog, pattern: "(?i)error", severity: warning}
  memory: {target: Host, host: nodeInfo, rule: memory > 70, severity: warning, nodeName: node-a}
  rootDisk: {target: Host, host: nodeInfo, rule: filesystem > 100 || inode > 100, severity: warning}
  clock: {target: Host, host: clock, severity: warning}
"#;

fn rules() -> RuleSet {
    RuleSet::from_sources(&[("host.yaml".to_string(), RULES.to_string(), false)]).expect("rules load")
}

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hostroot")
}

fn nodes() -> Vec<(String, BTreeMap<String, String>)> {
    vec![
        ("node-a".into(), BTreeMap::from([("role".to_string(), "db".to_string())])),
        ("node-b".into(), BTreeMap::new()),
    ]
}

fn ids(request: &Value) -> Vec<&str> {
    request["rules"].as_array().expect("rules").iter().filter_map(|r| r["id"].as_str()).collect()
}

#[test]
fn the_result_schema_file_is_generated_from_the_types() {
    let generated = serde_json::to_string_pretty(&result_schema()).expect("schema") + "\n";
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        std::fs::write(Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/node-check-result.schema.json"), &generated)
            .expect("write the schema");
        return;
    }
    assert_eq!(RESULT_SCHEMA, generated, "schemas/node-check-result.schema.json is stale: rerun with UPDATE_SCHEMAS=1");
}

#[test]
fn each_node_gets_the_rules_that_select_it() {
    let set = rules();
    let requests = requests(&set, &nodes());
    assert_eq!(requests.len(), 2);
    let (a, b) = (&requests[0], &requests[1]);
    assert_eq!((a.0.as_str(), b.0.as_str()), ("node-a", "node-b"));
    assert!(ids(&a.1).contains(&"swappiness") && ids(&a.1).contains(&"memory"));
    assert!(!ids(&b.1).contains(&"swappiness"), "nodeSelector role=db");
    assert!(!ids(&b.1).contains(&"memory"), "nodeName node-a");
    assert_eq!(ids(&b.1).len(), 7);
    let entry = a.1["rules"].as_array().and_then(|r| r.iter().find(|r| r["id"] == "ipForward")).expect("ipForward");
    assert_eq!(
        entry,
        &json!({"id": "ipForward", "kind": "sysctl", "severity": "danger", "message": "IP forwarding is off", "rule": "net.ipv4.ip_forward = 1"})
    );
    assert_eq!(a.1["schemaVersion"], 1);
    assert!(parse_request(&a.1.to_string()).is_ok(), "a request parses back");
    // No host rules enabled: no requests at all.
    let none = RuleSet::from_sources(&[("x.yaml".into(), "checks: {}\n".into(), false)]).expect("load");
    assert!(super::requests(&none, &nodes()).is_empty());
}

fn run_on_fixture(previous: BTreeMap<String, Baseline>, reference: Option<&str>) -> NodeResult {
    let set = rules();
    let previous = BTreeMap::from([("node-a".to_string(), previous)]);
    let options = RequestOptions { previous, reference_time: reference, ..RequestOptions::default() };
    let requests = requests_with(&set, &nodes(), &options);
    let request = parse_request(&requests[0].1.to_string()).expect("valid request");
    run(&request, &HostAccess { root: fixture_root(), system_bus: None })
}

fn outcome_of<'a>(result: &'a NodeResult, rule: &str) -> &'a RuleResult {
    result.results.iter().find(|r| r.rule == rule).unwrap_or_else(|| panic!("no result for {rule}"))
}

#[test]
fn the_fixture_host_is_read_and_judged() {
    let now = jiff::Timestamp::now();
    let reference = (now - jiff::SignedDuration::from_secs(30)).to_string();
    let result = run_on_fixture(BTreeMap::new(), Some(&reference));
    assert_eq!(outcome_of(&result, "ipForward").outcome, Outcome::Pass);
    let swap = outcome_of(&result, "swappiness");
    assert_eq!((swap.outcome, swap.message.as_str()), (Outcome::Fail, "vm.swappiness is 60 (expected = 0)"));
    assert_eq!(swap.observed.as_deref(), Some("60"));
    assert_eq!(outcome_of(&result, "portRange").outcome, Outcome::Pass, "tabs compare as spaces");
    let missing = outcome_of(&result, "noSuchKey");
    assert_eq!(missing.outcome, Outcome::Error);
    assert!(missing.message.contains("no kernel parameter `vm.no_such_key`"), "{}", missing.message);
    // First run: a baseline, no finding.
    let file = outcome_of(&result, "kubeletConfig");
    assert_eq!(file.outcome, Outcome::Pass);
    let state = file.file.as_ref().expect("file state");
    assert_eq!(state.sha256, "15f6db772bd475a329ee73e6a10b1425a98ebec3edfa5c07cf086c21d969a9e7");
    assert_eq!(state.size, 91);
    // Two error lines; the sample is the last one, its password masked.
    let log = outcome_of(&result, "syslogErrors");
    assert_eq!((log.outcome, log.observed.as_deref()), (Outcome::Fail, Some("2")));
    assert!(log.message.contains("password=*** failed") && !log.message.contains("hunter2"), "{}", log.message);
    // MemTotal 16000000, MemAvailable 4000000: 75 % used.
    assert_eq!(result.facts.memory_percent, Some(75.0));
    let memory = outcome_of(&result, "memory");
    assert_eq!((memory.outcome, memory.message.as_str()), (Outcome::Fail, "memory is 75 (memory > 70)"));
    assert_eq!(outcome_of(&result, "rootDisk").outcome, Outcome::Pass);
    assert_eq!(result.facts.load1, Some(0.52));
    assert_eq!(result.facts.filesystems[0].mount, "/");
    assert!(result.facts.filesystems[0].total_bytes > 0);
    let clock = outcome_of(&result, "clock");
    assert_eq!(clock.outcome, Outcome::Fail, "{}", clock.message);
    let offset = result.facts.clock_offset_seconds.expect("offset");
    assert!((30.0..35.0).contains(&offset), "{offset}");
    // adjtimex answers unprivileged; the clock message says what it answered.
    let ntp =
        if result.facts.ntp_synchronized.expect("NTP state") { "NTP synchronised" } else { "NTP not synchronised" };
    assert!(clock.message.ends_with(&format!("({ntp})")), "{}", clock.message);
    // The result is valid against the shipped schema.
    let value = serde_json::to_value(&result).expect("json");
    assert!(judge("node-a", &value, &rules()).is_ok());
}

#[test]
fn a_changed_file_is_a_finding_with_both_hashes() {
    let old = "0".repeat(64);
    let previous = BTreeMap::from([("/var/lib/kubelet/config.yaml".to_string(), Baseline { sha256: old, size: 80 })]);
    let result = run_on_fixture(previous, None);
    let file = outcome_of(&result, "kubeletConfig");
    assert_eq!(file.outcome, Outcome::Fail);
    assert!(file.message.starts_with("/var/lib/kubelet/config.yaml changed: sha256 000000000000 (80 bytes) → 15f6db772bd4 (91 bytes), modified 20"), "{}", file.message);
    assert_eq!(outcome_of(&result, "clock").outcome, Outcome::Error, "no reference time");
    let same = BTreeMap::from([(
        "/var/lib/kubelet/config.yaml".to_string(),
        Baseline { sha256: "15f6db772bd475a329ee73e6a10b1425a98ebec3edfa5c07cf086c21d969a9e7".into(), size: 91 },
    )]);
    assert_eq!(outcome_of(&run_on_fixture(same, None), "kubeletConfig").outcome, Outcome::Pass);
}

#[test]
fn node_files_are_what_the_nodes_saw_and_keep_what_they_could_not_see() {
    let set = rules();
    let file = |hash: char, size: u64| crate::report::NodeFile {
        sha256: hash.to_string().repeat(64),
        size,
        modified: "2026-11-30T01:00:00Z".into(),
    };
    let path = "/var/lib/kubelet/config.yaml".to_string();
    let previous = crate::report::NodeFiles::from([
        (
            "node-a".to_string(),
            BTreeMap::from([(path.clone(), file('a', 1)), ("/gone/rule".to_string(), file('b', 2))]),
        ),
        ("node-b".to_string(), BTreeMap::from([(path.clone(), file('c', 3))])),
    ]);
    let baselines = baselines(&previous);
    assert_eq!(baselines["node-b"][&path], Baseline { sha256: "c".repeat(64), size: 3 });
    let requests = requests_with(&set, &nodes(), &RequestOptions { previous: baselines, ..RequestOptions::default() });
    assert_eq!(
        requests[0].1["previous"],
        json!({ path.clone(): { "sha256": "a".repeat(64), "size": 1 } }),
        "only watched paths"
    );
    // node-a answers (the fixture host), node-b does not: its previous entry is kept.
    let request = parse_request(&requests[0].1.to_string()).expect("valid request");
    let answered =
        serde_json::to_value(run(&request, &HostAccess { root: fixture_root(), system_bus: None })).expect("json");
    let files = node_files(&requests, &[("node-a".to_string(), answered)], &previous);
    let seen = &files["node-a"][&path];
    assert_eq!(
        (seen.sha256.as_str(), seen.size),
        ("15f6db772bd475a329ee73e6a10b1425a98ebec3edfa5c07cf086c21d969a9e7", 91)
    );
    assert!(seen.modified.starts_with("20"), "{}", seen.modified);
    assert_eq!(files["node-a"].len(), 1, "a path no rule watches any more is dropped");
    assert_eq!(files["node-b"][&path], file('c', 3));
}

#[test]
fn disk_mounts_give_every_node_a_request_and_become_the_disk_figures() {
    let none = RuleSet::from_sources(&[("x.yaml".into(), "checks: {}\n".into(), false)]).expect("load");
    let mounts = ["/var/lib/kubelet".to_string()];
    let requests =
        requests_with(&none, &nodes(), &RequestOptions { disk_mounts: &mounts, ..RequestOptions::default() });
    assert_eq!(requests.len(), 2, "no host rule selects them, NodeDisk does");
    assert_eq!(requests[1].1["diskMounts"], json!(["/var/lib/kubelet"]));
    assert_eq!(requests[1].1["rules"], json!([]));
    let request = parse_request(&requests[1].1.to_string()).expect("valid request");
    let result = run(&request, &HostAccess { root: fixture_root(), system_bus: None });
    let fs = result.facts.filesystems.iter().find(|f| f.mount == "/var/lib/kubelet").expect("measured");
    assert!(fs.total_bytes > 0 && fs.available_bytes.is_some_and(|a| a <= fs.total_bytes));
    let value = serde_json::to_value(&result).expect("json");
    assert_eq!(judge("node-b", &value, &none), Ok(vec![]));
    let object = disk_object("node-b", &value, &mounts).expect("an object");
    assert_eq!((object.id.kind.as_str(), object.id.name.as_str()), (DISK_KIND, "node-b"));
    let disks = object.raw["filesystems"].as_array().expect("filesystems");
    assert_eq!(disks.len(), 1, "only the disk mounts, not `/`");
    assert_eq!(disks[0]["mount"], "/var/lib/kubelet");
    assert_eq!(disks[0]["capacityBytes"], fs.total_bytes);
    assert_eq!(disks[0]["availableBytes"], fs.available_bytes.expect("available"));
    assert!(disk_object("node-b", &value, &["/elsewhere".to_string()]).is_none());
    // Two mounts on one filesystem are judged once; a node of an older ke (no
    // availableBytes) counts total less used as available.
    let fs = |mount: &str, used: u64, available: Option<u64>| protocol::Filesystem {
        mount: mount.into(),
        used_bytes: used,
        total_bytes: 100,
        available_bytes: available,
        inodes_used: 1,
        inodes_total: 10,
    };
    let mut two = result.clone();
    two.facts.filesystems =
        vec![fs("/var/lib/kubelet", 91, Some(5)), fs("/var/lib/containerd", 91, Some(5)), fs("/data", 40, None)];
    let mounts = ["/var/lib/kubelet".to_string(), "/var/lib/containerd".to_string(), "/data".to_string()];
    let object = disk_object("node-b", &serde_json::to_value(&two).expect("json"), &mounts).expect("an object");
    assert_eq!(
        object.raw["filesystems"],
        json!([
            {"mount": "/var/lib/kubelet and /var/lib/containerd", "capacityBytes": 100, "availableBytes": 5, "inodes": 10, "inodesFree": 9},
            {"mount": "/data", "capacityBytes": 100, "availableBytes": 60, "inodes": 10, "inodesFree": 9},
        ])
    );
}

#[test]
fn judging_turns_failures_into_findings_and_malformed_results_into_gaps() {
    let set = rules();
    let result = json!({
        "schemaVersion": 1, "node": "node-a", "startedAt": "2026-12-01T01:00:00Z", "finishedAt": "2026-12-01T01:00:01Z",
        "results": [
            {"rule": "ipForward", "outcome": "pass", "message": "ok"},
            {"rule": "swappiness", "outcome": "fail", "message": "vm.swappiness is 60 (expected = 0)", "observed": "60"},
            {"rule": "noSuchKey", "outcome": "error", "message": "no kernel parameter"},
            {"rule": "clock", "outcome": "fail", "message": "off", "observed": "-12.5"},
            {"rule": "unknownRule", "outcome": "fail", "message": "ignored"}
        ],
        "facts": {"filesystems": [], "load1": null, "cpuPercent": null, "memoryPercent": 12.5, "clockOffsetSeconds": -12.5, "ntpSynchronized": null}
    });
    let findings = judge("node-a", &result, &set).expect("valid");
    let by: BTreeMap<&str, &Finding> = findings.iter().map(|f| (f.rule.as_str(), f)).collect();
    assert_eq!(by.keys().copied().collect::<Vec<_>>(), ["clock", "noSuchKey", "swappiness"]);
    let swap = by["swappiness"];
    assert_eq!((swap.kind.as_str(), swap.name.as_str(), swap.section.as_str()), ("Node", "node-a", SECTION));
    assert_eq!(swap.message, "Failed check swappiness: vm.swappiness is 60 (expected = 0)");
    assert_eq!(by["clock"].severity, Severity::Danger, "over dangerSeconds (10)");
    assert!(by["noSuchKey"].message.contains("could not be checked"));
    let mut bad = result.clone();
    bad["results"][0]["outcome"] = json!("maybe");
    assert!(judge("node-a", &bad, &set).unwrap_err().contains("does not match its schema"));
    assert!(judge("node-b", &result, &set).unwrap_err().contains("is for node `node-a`"));
    let mut old = result.clone();
    old["schemaVersion"] = json!(2);
    assert!(judge("node-a", &old, &set).is_err());
    assert!(judge("node-a", &json!("not an object"), &set).is_err());
}

#[test]
fn commands_are_bounded_in_time_and_output() {
    let root = Path::new("/");
    let run = probe::run_command(root, "yes | head -c 100000", std::time::Duration::from_secs(5), 1000).expect("runs");
    assert_eq!((run.output.len(), run.truncated, run.exit_code), (1000, true, Some(0)));
    let started = std::time::Instant::now();
    let err = probe::run_command(root, "sleep 5", std::time::Duration::from_millis(200), 10).unwrap_err();
    assert!(err.contains("did not finish within"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

#[test]
fn matching_lines_counts_lines_not_matches() {
    let re = |p: &str| probe::line_regex(p).expect("regex");
    let text = "a error error\nok\nerror b\nfine\n";
    assert_eq!(probe::matching_lines(&re("error"), text), (2, Some("error b")));
    assert_eq!(probe::matching_lines(&re("nothing"), text), (0, None));
    assert_eq!(probe::matching_lines(&re("^ok$|^fine"), "ok\nnot ok\nfine"), (2, Some("fine")), "^ and $ per line");
    assert_eq!(probe::matching_lines(&re("x*"), "a\nb\n").0, 2, "an empty match counts each line once");
}

#[test]
fn beacons_are_json_lines_a_window_long_the_last_one_marked() {
    let mut out = Vec::new();
    beacons(&mut out, std::time::Duration::from_millis(250)).expect("written");
    let text = String::from_utf8(out).expect("utf-8");
    let lines: Vec<protocol::Beacon> = text.lines().map(|l| protocol::Beacon::parse(l).expect("a beacon")).collect();
    assert!((2..=4).contains(&lines.len()), "{text}");
    assert!(lines.iter().rev().skip(1).all(|b| !b.last) && lines.last().is_some_and(|b| b.last), "{text}");
    assert!(lines.iter().all(|b| b.clock.parse::<jiff::Timestamp>().is_ok() && b.clock.contains('.')), "{text}");
    assert_eq!(protocol::Beacon::parse(r#"{"schemaVersion":1,"node":"n"}"#), None, "a result is no beacon");
    assert_eq!(protocol::Beacon::parse("starting"), None);
}

#[test]
fn a_beacon_read_between_two_instants_gives_the_offset_and_its_uncertainty() {
    let t0: jiff::Timestamp = "2026-12-01T02:00:00Z".parse().expect("t0");
    let t1: jiff::Timestamp = "2026-12-01T02:00:00.2Z".parse().expect("t1");
    let beacon = |clock: &str, last| protocol::Beacon { clock: clock.into(), last };
    let reading = ClockReading::from_beacon(&beacon("2026-12-01T02:00:30.1Z", false), t0, t1).expect("reading");
    assert_eq!(reading, ClockReading { offset_seconds: 30.0, uncertainty_seconds: 0.2 });
    let behind = ClockReading::from_beacon(&beacon("2026-12-01T01:59:58.1Z", false), t0, t1).expect("reading");
    assert_eq!(behind.offset_seconds, -2.0);
    assert_eq!(ClockReading::from_beacon(&beacon("2026-12-01T02:00:30.1Z", true), t0, t1), None, "stale");
    assert_eq!(ClockReading::from_beacon(&beacon("not a time", false), t0, t1), None);
}

#[test]
fn a_clock_reading_decides_the_clock_rule_over_the_nodes_own_offset() {
    let set = rules();
    let result = json!({
        "schemaVersion": 1, "node": "node-a", "startedAt": "2026-12-01T01:00:00Z", "finishedAt": "2026-12-01T01:00:01Z",
        "results": [{"rule": "clock", "outcome": "pass", "message": "the clock is +0.400 s off", "observed": "0.4"}],
        "facts": {"filesystems": [], "load1": null, "cpuPercent": null, "memoryPercent": null, "clockOffsetSeconds": 0.4, "ntpSynchronized": false}
    });
    assert_eq!(judge("node-a", &result, &set), Ok(vec![]), "the node's own decision");
    let reading = ClockReading { offset_seconds: 30.0, uncertainty_seconds: 0.15 };
    let findings = judge_with("node-a", &result, &set, Some(reading)).expect("valid");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].severity, Severity::Danger, "over dangerSeconds (10)");
    assert_eq!(
        findings[0].message.as_str(),
        "Failed check clock: the clock is +30.000 s (± 0.150 s) off the inspection's, read from the pod's log while it ran (NTP not synchronised)"
    );
    let close = ClockReading { offset_seconds: -0.5, uncertainty_seconds: 0.15 };
    assert_eq!(judge_with("node-a", &result, &set, Some(close)), Ok(vec![]));
}

//! `ke node-check` for real: against the fixture host root
//! (tests/data/hostroot), against this machine's /proc/sys, and systemd
//! over a real dbus-daemon with a systemd stand-in on it. The rules come
//! from KubeEye-style InspectRule files (tests/data/inspectrules/) loaded
//! as they are, and the results go back through `judge`, as the inspection does.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use kubeeye::nodecheck;
use kubeeye::report::Finding;
use kubeeye::rules::RuleSet;
use serde_json::{Value, json};

use crate::common::cli::ke;

fn rules(files: &[&str]) -> RuleSet {
    let paths: Vec<_> = files.iter().map(|f| Path::new(env!("CARGO_MANIFEST_DIR")).join(f)).collect();
    RuleSet::load(&paths).unwrap_or_else(|e| panic!("{e}"))
}

fn linux_node() -> Vec<(String, BTreeMap<String, String>)> {
    vec![("node-1".into(), BTreeMap::from([("kubernetes.io/os".to_string(), "linux".to_string())]))]
}

/// Writes the request, runs `ke node-check`, and returns the result line parsed.
fn node_check(request: &Value, extra: &[&str]) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("request.json");
    std::fs::write(&file, request.to_string()).expect("write request");
    let mut args = vec!["node-check", "--request", file.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    let run = ke(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1, "exactly one line: {}", run.stdout);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn outcomes(result: &Value) -> BTreeMap<String, String> {
    result["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| (r["rule"].as_str().unwrap_or("").to_string(), r["outcome"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn messages(findings: &[Finding]) -> BTreeMap<&str, &str> {
    findings.iter().map(|f| (f.rule.as_str(), f.message.as_str())).collect()
}

#[test]
fn kubeeye_host_rule_files_load_and_run_on_the_fixture_host() {
    let set = rules(&[
        "tests/data/inspectrules/sysctl.yaml",
        "tests/data/inspectrules/filechange.yaml",
        "tests/data/inspectrules/filefilter.yaml",
        "tests/data/inspectrules/nodeinfo.yaml",
    ]);
    let requests = nodecheck::requests(&set, &linux_node());
    assert_eq!(requests.len(), 1);
    let result = node_check(&requests[0].1, &["--host-root", "tests/data/hostroot"]);
    let expected: BTreeMap<String, String> = [
        ("net.ipv4.ip_forward", "pass"),
        ("vm.swappiness", "fail"),
        ("fs.inotify.max_user_watches", "fail"),
        ("net.ipv4.ip_local_reserved_ports", "pass"),
        ("kubelet-config", "pass"),
        ("syslog-errors", "fail"),
        ("memory", "fail"),
        ("load", "pass"),
        ("root-filesystem", "pass"),
        ("root-inodes", "pass"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(outcomes(&result), expected, "{result:#}");
    let findings = nodecheck::judge("node-1", &result, &set).expect("a valid result");
    let by = messages(&findings);
    assert_eq!(by["vm.swappiness"], "swap pressure on a Kubernetes node: vm.swappiness is 60 (expected = 0)");
    assert_eq!(
        by["fs.inotify.max_user_watches"],
        "Failed check fs.inotify.max_user_watches: fs.inotify.max_user_watches is 8192 (expected >= 524288)"
    );
    assert!(by["syslog-errors"].starts_with("errors in the system log: 2 line(s) matching `error`"), "{by:?}");
    assert!(by["syslog-errors"].contains("password=***") && !by["syslog-errors"].contains("hunter2"));
    assert_eq!(by["memory"], "Failed check memory: memory is 75 (memory > 70)");
    let memory = findings.iter().find(|f| f.rule == "memory").expect("memory finding");
    assert_eq!(
        (memory.section.as_str(), memory.kind.as_str(), memory.name.as_str()),
        ("node checks", "Node", "node-1")
    );
    assert_eq!(memory.severity, kubeeye::report::Severity::Danger, "level: danger");
    // The facts the inspection can use for NodeDisk.
    assert_eq!(result["facts"]["memoryPercent"], 75.0);
    assert!(result["facts"]["filesystems"][0]["totalBytes"].as_u64().is_some_and(|b| b > 0));
}

#[test]
fn this_machines_proc_sys_is_read() {
    let file = r#"customChecks:
  linux: {target: Host, host: sysctl, rule: kernel.ostype = "Linux", severity: warning}
  notWindows: {target: Host, host: sysctl, rule: kernel.ostype == "Windows", severity: warning}
"#;
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("os.yaml"), file).expect("write rules");
    let set = RuleSet::load(&[dir.path().join("os.yaml")]).expect("rules");
    let requests = nodecheck::requests(&set, &linux_node());
    let result = node_check(&requests[0].1, &["--host-root", "/"]);
    let got = outcomes(&result);
    assert_eq!((got["linux"].as_str(), got["notWindows"].as_str()), ("pass", "fail"), "{result:#}");
    let findings = nodecheck::judge("node-1", &result, &set).expect("valid");
    assert_eq!(
        messages(&findings)["notWindows"],
        "Failed check notWindows: kernel.ostype is Linux (expected = \"Windows\")"
    );
    // Real /proc: load and memory are read.
    assert!(result["facts"]["load1"].is_number() && result["facts"]["memoryPercent"].is_number(), "{result:#}");
}

#[test]
fn a_bad_request_is_exit_2_naming_the_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.json");
    let request = json!({"schemaVersion": 1, "node": "n", "rules": [
        {"id": "x", "kind": "sysctl", "severity": "warning", "message": "m", "rule": "vm.swappiness = = 0"}]});
    std::fs::write(&file, request.to_string()).expect("write");
    let run = ke(&["node-check", "--request", file.to_str().expect("utf-8")]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("rule `x`: rule `vm.swappiness = = 0` does not parse at column 17"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    let run = ke(&["node-check", "--request-env", "KE_TEST_NO_SUCH_VARIABLE"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("`KE_TEST_NO_SUCH_VARIABLE` is not set"), "{}", run.stderr);
}

#[test]
fn a_custom_command_needs_the_config_and_runs_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("cmd.yaml");
    std::fs::write(
        &rules,
        "customChecks:\n  kernel:\n    target: Host\n    host: customCommand\n    command: uname -s\n    rule: output = Linux && exitCode = 0\n    severity: warning\n",
    )
    .expect("write");
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-cluster");
    let run = ke(&["diag", "--snapshot", snapshot.to_str().expect("utf-8"), "-f", rules.to_str().expect("utf-8")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("rule `kernel`: customCommand `uname -s` runs as root"), "{}", run.stderr);
    let config = dir.path().join("ke.yaml");
    std::fs::write(&config, "nodeChecks:\n  allowCustomCommands: true\n  commandAllowlist: [uname -r]\n")
        .expect("write");
    let args = ["diag", "--snapshot", snapshot.to_str().expect("utf-8"), "--config", config.to_str().expect("utf-8")];
    let run = ke(&[&args[..], &["-f", rules.to_str().expect("utf-8")]].concat());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not on `nodeChecks.commandAllowlist`"), "{}", run.stderr);
    // On the node, the command runs and its output is compared.
    let set = RuleSet::load(&[rules]).expect("rules");
    let result = node_check(&nodecheck::requests(&set, &linux_node())[0].1, &["--host-root", "/"]);
    assert_eq!(outcomes(&result)["kernel"], "pass", "{result:#}");
}

/// A private message bus: `dbus-daemon` with the session configuration on a socket of its own.
struct Bus {
    daemon: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Bus {
    fn start() -> Bus {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("bus");
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .arg(format!("--address=unix:path={}", socket.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon runs (scripts/install-test-deps installs it)");
        let mut line = String::new();
        BufReader::new(daemon.stdout.take().expect("stdout")).read_line(&mut line).expect("the bus address");
        Bus { daemon, address: line.trim().to_string(), _dir: dir }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// systemd's answers as `systemctl is-active` asks them: Manager.GetUnit, then Unit.ActiveState.
struct Manager {
    units: BTreeMap<String, String>,
}

#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.freedesktop.systemd1")]
enum SystemdError {
    #[zbus(error)]
    ZBus(zbus::Error),
    NoSuchUnit(String),
}

fn unit_path(name: &str) -> String {
    let escaped: String = name
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("_{b:02x}") })
        .collect();
    format!("/org/freedesktop/systemd1/unit/{escaped}")
}

#[zbus::interface(name = "org.freedesktop.systemd1.Manager")]
impl Manager {
    fn get_unit(&self, name: &str) -> Result<zbus::zvariant::OwnedObjectPath, SystemdError> {
        if !self.units.contains_key(name) {
            return Err(SystemdError::NoSuchUnit(format!("Unit {name} not loaded.")));
        }
        zbus::zvariant::OwnedObjectPath::try_from(unit_path(name)).map_err(|e| SystemdError::ZBus(e.into()))
    }
}

struct Unit {
    state: String,
}

#[zbus::interface(name = "org.freedesktop.systemd1.Unit")]
impl Unit {
    #[zbus(property)]
    fn active_state(&self) -> String {
        self.state.clone()
    }
}

#[test]
fn systemd_units_are_read_over_dbus() {
    let bus = Bus::start();
    let units = BTreeMap::from([
        ("kubelet.service".to_string(), "active".to_string()),
        ("containerd.service".to_string(), "failed".to_string()),
        ("systemd-timesyncd.service".to_string(), "active".to_string()),
    ]);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _connection = runtime.block_on(async {
        let mut builder = zbus::connection::Builder::address(bus.address.as_str())
            .expect("address")
            .name("org.freedesktop.systemd1")
            .expect("name")
            .serve_at("/org/freedesktop/systemd1", Manager { units: units.clone() })
            .expect("manager");
        for (name, state) in &units {
            builder = builder.serve_at(unit_path(name), Unit { state: state.clone() }).expect("unit");
        }
        builder.build().await.expect("the stand-in joins the bus")
    });
    let set = rules(&["tests/data/inspectrules/systemd.yaml"]);
    let requests = nodecheck::requests(&set, &linux_node());
    let result = node_check(&requests[0].1, &["--host-root", "tests/data/hostroot", "--system-bus", &bus.address]);
    let got = outcomes(&result);
    // containerd failed; chronyd is unknown to systemd (inactive) but timesyncd is active.
    assert_eq!(
        (got["kubelet"].as_str(), got["containerd"].as_str(), got["chronyd"].as_str()),
        ("pass", "fail", "pass"),
        "{result:#}"
    );
    let findings = nodecheck::judge("node-1", &result, &set).expect("valid");
    assert_eq!(
        messages(&findings)["containerd"],
        "Failed check containerd: containerd is failed (expected = \"active\")"
    );
    assert_eq!(findings.len(), 1);
    // Without a bus, each systemd rule is an error the report shows, not a pass.
    let result = node_check(&requests[0].1, &["--host-root", "tests/data/hostroot"]);
    let results = result["results"].as_array().expect("results");
    assert!(results.iter().all(|r| r["outcome"] == "error"), "{result:#}");
    assert!(results[0]["message"].as_str().is_some_and(|m| m.contains("D-Bus")), "{result:#}");
}

/// Node-check settings that could never work are exit 2 at config load, naming the key.
#[test]
fn impossible_node_check_settings_are_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-cluster");
    for (yaml, key) in [
        ("nodeChecks:\n  commandOutputBytes: 0\n", "nodeChecks.commandTimeout, commandOutputBytes"),
        ("nodeChecks:\n  concurrency: 0\n", "nodeChecks.concurrency and resultMaxBytes"),
        ("nodeChecks:\n  namespace: Not_A_Namespace\n", "nodeChecks.namespace"),
    ] {
        let config = dir.path().join("ke.yaml");
        std::fs::write(&config, yaml).expect("write");
        let run =
            ke(&["diag", "--snapshot", snapshot.to_str().expect("utf-8"), "--config", config.to_str().expect("utf-8")]);
        assert_eq!(run.code, 2, "{yaml}: {}", run.stderr);
        assert!(run.stderr.contains(key), "{yaml}: {}", run.stderr);
    }
}

/// With a beacon window in the request, `ke node-check` prints clock beacons for it
/// (one every 100 ms, the last marked), then its result as the last line.
#[test]
fn clock_beacons_come_before_the_result() {
    let set = RuleSet::from_sources(&[(
        "clock.yaml".into(),
        "customChecks:\n  nodeClock: {target: Host, host: clock, severity: warning}\n".into(),
        false,
    )])
    .expect("rules");
    let options = nodecheck::RequestOptions {
        clock_beacon: std::time::Duration::from_millis(300),
        reference_time: Some("2026-12-01T02:00:00Z"),
        ..nodecheck::RequestOptions::default()
    };
    let requests = nodecheck::requests_with(&set, &linux_node(), &options);
    assert_eq!(requests[0].1["clockBeaconMillis"], 300);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("request.json");
    std::fs::write(&file, requests[0].1.to_string()).expect("write request");
    let run = ke(&["node-check", "--request", file.to_str().expect("utf-8"), "--host-root", "tests/data/hostroot"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let (result, beacons) = lines.split_last().expect("lines");
    assert!((2..=4).contains(&beacons.len()), "{}", run.stdout);
    let beacons: Vec<nodecheck::protocol::Beacon> =
        beacons.iter().map(|l| nodecheck::protocol::Beacon::parse(l).expect("a beacon")).collect();
    assert!(beacons.last().is_some_and(|b| b.last));
    let result: Value = serde_json::from_str(result).expect("the result last");
    assert_eq!(result["results"][0]["rule"], "nodeClock");
    // The node's own offset is taken when the request arrived: the beacon window is not part of it.
    let reference: jiff::Timestamp = "2026-12-01T02:00:00Z".parse().expect("reference");
    let arrived = jiff::Timestamp::now().duration_since(reference).as_secs_f64();
    let offset = result["facts"]["clockOffsetSeconds"].as_f64().expect("offset");
    assert!(arrived - offset > 0.15, "offset {offset} s, {arrived} s since the reference: the window counted");
}

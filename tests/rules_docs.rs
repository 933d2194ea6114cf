//! The generated rule reference and the rule bindings users write.
//!
//! `docs/rules.md` is generated from the rules' data and failing fixtures
//! (`ke rules docs`); a test fails when it is out of date and says how to
//! regenerate it. The binding fields a user's rule file may use (`severity:`,
//! `nodeConditions`, `nodeEvents`, event `reasons`) are run end to end
//! through the real binary, and the ones it may not use are refused with
//! exit 2 naming the file, the rule and the problem.
#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::path::{Path, PathBuf};

use kubeeye::rules::RuleSet;
use kubeeye::rules::docs;
use serde_json::Value;

use crate::common;
use crate::common::cli::ke;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The reference as `ke rules docs` prints it from the repository root.
fn generated() -> String {
    let rules = RuleSet::builtin().expect("built-in rules load");
    let fixtures = root().join("tests/fixtures");
    let prefix = format!("{}/", root().display());
    docs::markdown(&rules, |id| {
        docs::fixture_example(&fixtures, id).map(|e| docs::Example { source: e.source.replace(&prefix, ""), ..e })
    })
}

#[test]
fn docs_rules_md_is_up_to_date() {
    let path = root().join("docs/rules.md");
    let expected = generated();
    if std::env::var_os("KE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != expected {
        let line = current
            .lines()
            .zip(expected.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| current.lines().count().min(expected.lines().count()) + 1, |i| i + 1);
        panic!(
            "docs/rules.md is out of date (first difference at line {line}): a rule or a failing fixture changed.\n\
             Regenerate it from the repository root:\n  {}",
            docs::REGENERATE
        );
    }
}

#[test]
fn ke_rules_docs_prints_the_reference() {
    let run = ke(&["rules", "docs"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout == generated(), "`ke rules docs` differs from the library's reference");
    let missing = ke(&["rules", "docs", "--fixtures", "no/such/dir"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("--fixtures no/such/dir: not a directory"), "{}", missing.stderr);
}

#[test]
fn the_reference_documents_every_binding_kind() {
    let md = generated();
    for (rule, says) in [
        ("tagNotSpecified", "JSON Schema on the `Container`"),
        ("deploymentMissingReplicas", "code check `deploymentMissingReplicas`"),
        ("APIServerHealthStatus", "health check `apiserverHealth`"),
        ("NodeMemoryPressure", "node condition `MemoryPressure` with status `True`"),
        ("NodeOOM", "Warning events about the node with reason `OOMKilling` or `SystemOOM`"),
        ("NodeCPU", "CPU usage above `inspection.thresholds.nodeCpuPercent`"),
        ("PodIOError", "log lines matching `(?i)input/output error`"),
    ] {
        let start = md.find(&format!("\n### `{rule}`\n")).unwrap_or_else(|| panic!("no entry for {rule}"));
        let entry = &md[start..];
        let entry = &entry[..entry[1..].find("\n### ").map_or(entry.len(), |i| i + 1)];
        assert!(entry.contains(says), "{rule}: expected {says:?} in\n{entry}");
        assert!(entry.contains(&format!("**Failing example** (`tests/fixtures/{rule}/")), "{rule}: no example");
    }
}

/// The registry self-test of CRAFT: `tests/rule_fixtures.rs` asserts that every
/// built-in rule has a description, a remediation and pass/fail fixtures; the
/// loader falls back to the failure message when `description:` is absent, so
/// this makes sure every description is written, not borrowed.
#[test]
fn every_builtin_description_is_written_not_the_failure_message() {
    let rules = RuleSet::builtin().expect("built-in rules load");
    let borrowed: Vec<&str> =
        rules.rules.iter().filter(|r| r.description == r.failure_message).map(|r| r.id.as_str()).collect();
    assert!(borrowed.is_empty(), "rules without their own `description:` in rules/*.yaml: {borrowed:?}");
}

/// A node with a condition and a Warning event from a node-problem-detector
/// plugin kubeeye has never heard of.
const PLUGIN_SNAPSHOT: &str = r#"# a node-problem-detector plugin reports its own condition and event
apiVersion: kubeeye.io/v1
kind: Inspection
metadata: {name: inspection}
cluster: docs-test
collectedAt: "2026-11-25T02:00:00Z"
---
apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels: {kubernetes.io/hostname: node-1, kubernetes.io/os: linux}
status:
  allocatable: {cpu: "4", memory: 16Gi, pods: "110"}
  conditions:
    - {type: MyPluginProblem, status: "True", reason: PluginBroke, message: "the plugin found a problem", lastHeartbeatTime: "2026-11-25T01:59:40Z", lastTransitionTime: "2026-11-25T01:00:00Z"}
    - {type: Ready, status: "True", reason: KubeletReady, message: "kubelet is posting ready status", lastHeartbeatTime: "2026-11-25T01:59:40Z", lastTransitionTime: "2026-11-24T23:10:00Z"}
---
apiVersion: v1
kind: Event
metadata: {name: node-1.myplugin, namespace: default, creationTimestamp: "2026-11-25T01:10:00Z"}
type: Warning
reason: MyPluginEvent
message: "my-plugin: disk controller reset"
count: 3
firstTimestamp: "2026-11-25T01:10:00Z"
lastTimestamp: "2026-11-25T01:55:00Z"
involvedObject: {kind: Node, name: node-1}
source: {component: my-plugin, host: node-1}
"#;

/// The README's example: rules bound to the plugin's condition and event by data alone.
const PLUGIN_RULES: &str = r#"customChecks:
  myPluginProblem:
    severity: danger
    target: Node
    nodeConditions: [{type: MyPluginProblem}]
    failureMessage: My plugin reports a problem on the node
    category: Node
  myPluginEvent:
    severity: warning
    target: Event
    reasons: [MyPluginEvent]
    pattern: '(?i)controller reset'
    failureMessage: My plugin raised an event
    category: Events
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn user_rules_bind_a_plugin_condition_and_event_by_data() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = write(dir.path(), "snapshot.yaml", PLUGIN_SNAPSHOT);
    let rules = write(dir.path(), "rules.yaml", PLUGIN_RULES);
    let run = ke(&["diag", "--snapshot", snapshot.to_str().unwrap(), "-f", rules.to_str().unwrap(), "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    common::schema::assert_valid_report(&report);
    let findings = report["findings"].as_array().unwrap();
    let hit = |rule: &str| {
        let hits: Vec<&Value> = findings.iter().filter(|f| f["rule"] == rule).collect();
        assert_eq!(hits.len(), 1, "{rule}: {findings:#?}");
        hits[0]
    };
    let condition = hit("myPluginProblem");
    assert_eq!(condition["severity"], "danger");
    assert_eq!((condition["kind"].as_str(), condition["name"].as_str()), (Some("Node"), Some("node-1")));
    assert_eq!(condition["category"], "Node");
    assert!(condition["message"].as_str().unwrap().contains("the plugin found a problem"), "{condition}");
    let event = hit("myPluginEvent");
    assert_eq!(event["severity"], "warning");
    assert_eq!((event["kind"].as_str(), event["name"].as_str()), (Some("Node"), Some("node-1")));
    assert!(event["message"].as_str().unwrap().contains("disk controller reset"), "{event}");
}

#[test]
fn user_rules_with_code_or_node_bindings_off_node_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = write(dir.path(), "snapshot.yaml", PLUGIN_SNAPSHOT);
    let cases = [
        (
            "code.yaml",
            "customChecks:\n  myHardening:\n    severity: warning\n    target: Container\n    code: linuxHardening\n    failureMessage: x\n",
            "myHardening",
            "`code` is reserved for built-in rules",
        ),
        (
            "container-conditions.yaml",
            "customChecks:\n  myCondition:\n    severity: warning\n    target: Container\n    nodeConditions: [{type: MyPluginProblem}]\n    failureMessage: x\n",
            "myCondition",
            "apply to target Node, not `Container`",
        ),
    ];
    for (name, text, rule, problem) in cases {
        let file = write(dir.path(), name, text);
        let run = ke(&["diag", "--snapshot", snapshot.to_str().unwrap(), "-f", file.to_str().unwrap(), "-o", "json"]);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{name}: nothing is inspected, got {}", run.stdout);
        let expected = format!("{}: rule `{rule}`: ", file.display());
        assert!(run.stderr.contains(&expected), "{name}: expected {expected:?} in {}", run.stderr);
        assert!(run.stderr.contains(problem), "{name}: expected {problem:?} in {}", run.stderr);
    }
}

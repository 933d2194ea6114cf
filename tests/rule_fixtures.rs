//! One table-driven test over every built-in rule: each has fixtures under
//! `tests/fixtures/<rule-id>/`, `fail*.yaml` files the rule must report and
//! `pass*.yaml` files it must not. A rule without both is a failure, so an
//! untested rule is visible. Each fixture opens with a `#` comment saying what
//! it shows.

use std::path::{Path, PathBuf};

use kubeeye::checks;
use kubeeye::collect::offline;
use kubeeye::rules::RuleSet;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".yaml"))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn every_builtin_rule_has_pass_and_fail_fixtures_that_behave() {
    let mut rules = RuleSet::builtin().expect("built-in rules load");
    rules.enable_all();
    // PodSetImageRegistry needs a list to judge against; the fixtures use this one.
    rules.allowed_registries = vec!["registry.example.com".into(), "quay.io/example".into()];
    let mut problems = Vec::new();
    for rule in &rules.rules {
        let dir = fixtures_dir().join(&rule.id);
        let (fails, passes) = (files(&dir, "fail"), files(&dir, "pass"));
        if fails.is_empty() || passes.is_empty() {
            problems.push(format!("{}: needs fail*.yaml and pass*.yaml in {}", rule.id, dir.display()));
            continue;
        }
        for (file, expect) in fails.iter().map(|f| (f, true)).chain(passes.iter().map(|f| (f, false))) {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            if !text.starts_with("# ") {
                problems
                    .push(format!("{}: should open with a one-line `# ` comment saying what it shows", file.display()));
            }
            let inventory = offline::load(std::slice::from_ref(file)).expect("fixture loads");
            if !inventory.gaps.is_empty() {
                problems.push(format!("{}: does not load cleanly: {:?}", file.display(), inventory.gaps));
                continue;
            }
            let evaluation = checks::evaluate(&inventory, &rules);
            let hits: Vec<_> = evaluation.findings.iter().filter(|f| f.rule == rule.id).collect();
            if expect && hits.is_empty() {
                problems.push(format!("{}: expected a `{}` finding, got none", file.display(), rule.id));
            }
            if !expect && !hits.is_empty() {
                problems.push(format!(
                    "{}: expected no `{}` finding, got {:?}",
                    file.display(),
                    rule.id,
                    hits[0].message
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn every_builtin_rule_is_documented() {
    let rules = RuleSet::builtin().expect("built-in rules load");
    let mut ids = std::collections::HashSet::new();
    for r in &rules.rules {
        assert!(ids.insert(r.id.clone()), "duplicate id {}", r.id);
        for alias in &r.aliases {
            assert!(ids.insert(alias.clone()), "alias {alias} of {} is not unique", r.id);
        }
        assert!(r.id.chars().next().is_some_and(|c| c.is_ascii_alphabetic()), "{}", r.id);
        assert!(!r.description.is_empty(), "{} has no description", r.id);
        assert!(!r.why.is_empty(), "{} has no why", r.id);
        assert!(!r.remediation.is_empty(), "{} has no remediation", r.id);
        assert!(!r.references.is_empty(), "{} has no references", r.id);
        assert!(!r.failure_message.is_empty() && !r.success_message.is_empty(), "{} lacks messages", r.id);
    }
}

/// A NotReady node is one finding, `NodeNotReady`, whose message and
/// remediation name the cause; never a second node finding for the same outage.
#[test]
fn a_not_ready_node_is_one_node_not_ready_finding_naming_its_cause() {
    // (fixture, in the message, in the remediation)
    let cases = [
        ("fail.yaml", "cause: PLEG not healthy", "pod lifecycle event generator"),
        ("fail-tasks.yaml", "cause: systemd TasksAccounting off", "TasksAccounting=true"),
        ("fail-not-posting.yaml", "cause: kubelet not posting status, last heartbeat 25m ago", "stopped posting"),
        ("fail-runtime-down.yaml", "cause: container runtime down", "systemctl status containerd"),
        ("fail-closed-connection.yaml", "cause: kubelet's connection to the API server closed", "restart kubelet"),
        ("fail-http2.yaml", "cause: kubelet's HTTP/2 connection", "concurrent streams"),
        ("fail-cni.yaml", "cause: CNI plugin not ready", "CNI DaemonSet"),
        ("fail-npd-runtime.yaml", "cause: ContainerRuntimeUnhealthy", "crictl info"),
    ];
    let dir = fixtures_dir().join("NodeNotReady");
    let listed: Vec<PathBuf> = cases.iter().map(|(f, _, _)| dir.join(f)).collect();
    for file in files(&dir, "fail") {
        assert!(listed.contains(&file), "{} is not in this test's table", file.display());
    }
    let mut rules = RuleSet::builtin().expect("built-in rules load");
    rules.enable_all();
    for (file, message, remediation) in cases {
        let inventory = offline::load(&[dir.join(file)]).expect("fixture loads");
        let evaluation = checks::evaluate(&inventory, &rules);
        let node: Vec<_> = evaluation.findings.iter().filter(|f| f.kind == "Node").collect();
        assert_eq!(node.len(), 1, "{file}: {:?}", node.iter().map(|f| (&f.rule, &f.message)).collect::<Vec<_>>());
        assert_eq!(node[0].rule, "NodeNotReady", "{file}");
        assert!(node[0].message.contains(message), "{file}: {}", node[0].message);
        assert!(node[0].remediation.contains(remediation), "{file}: {}", node[0].remediation);
    }
}

/// A binding to a role that does not exist fails the exec/attach binding
/// checks, and the message says the role is missing.
#[test]
fn bindings_to_a_missing_role_say_so() {
    let mut rules = RuleSet::builtin().expect("built-in rules load");
    rules.enable_all();
    for (rule, file) in [
        ("rolebindingRolePodExecAttach", "fail-missing-role.yaml"),
        ("rolebindingClusterRolePodExecAttach", "fail-missing-cluster-role.yaml"),
        ("clusterrolebindingPodExecAttach", "fail-missing-cluster-role.yaml"),
    ] {
        let inventory = offline::load(&[fixtures_dir().join(rule).join(file)]).expect("fixture loads");
        let evaluation = checks::evaluate(&inventory, &rules);
        let hits: Vec<_> = evaluation.findings.iter().filter(|f| f.rule == rule).collect();
        assert_eq!(hits.len(), 1, "{rule}/{file}");
        assert!(hits[0].message.contains("which is missing"), "{rule}/{file}: {}", hits[0].message);
    }
}

/// The health checker's monitors (issue 12), read from what `ke install npd
/// --health-checker` installs (the files of deploy/npd/health-checker/, for
/// every runtime), set conditions our rules read: a failing check (the rule's
/// condition type and reason, status True, on a Ready node) is reported by
/// KubeletHealthStatus or DockerHealthStatus, and the healthy state (the
/// monitor's default condition, status False) by neither.
#[test]
fn the_health_checkers_conditions_are_the_ones_our_rules_read() {
    use kubeeye::install::health_checker::{HealthChecker, KUBELET_KEY, RUNTIME_KEY, Runtime};
    use serde_json::Value;

    let mut rules = RuleSet::builtin().expect("built-in rules load");
    rules.enable_all();
    let node = std::fs::read_to_string(fixtures_dir().join("KubeletHealthStatus/fail-npd.yaml")).unwrap();
    let planted = node.lines().find(|l| l.contains("type: KubeletUnhealthy")).expect("the fixture's condition line");
    let indent = &planted[..planted.find('-').unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let findings = |condition: &Value| {
        let line = format!("{indent}- {condition}");
        let file = dir.path().join("node.yaml");
        std::fs::write(&file, node.replace(planted, &line)).unwrap();
        let inventory = offline::load(std::slice::from_ref(&file)).expect("loads");
        assert!(inventory.gaps.is_empty(), "{:?}", inventory.gaps);
        let mut hits: Vec<String> = checks::evaluate(&inventory, &rules)
            .findings
            .into_iter()
            .map(|f| f.rule.to_string())
            .filter(|r| r == "KubeletHealthStatus" || r == "DockerHealthStatus")
            .collect();
        hits.dedup();
        hits
    };
    for runtime in [Runtime::Containerd, Runtime::CriO, Runtime::Docker] {
        let settings = HealthChecker { runtime, ..HealthChecker::default() };
        let objects = kubeeye::install::npd_objects(Some(&settings)).unwrap();
        let configmap = objects.iter().find(|o| o.id.kind == "ConfigMap").unwrap();
        for (key, rule) in [(KUBELET_KEY, "KubeletHealthStatus"), (RUNTIME_KEY, "DockerHealthStatus")] {
            let text = configmap.raw["data"][key].as_str().unwrap_or_else(|| panic!("{key}"));
            let monitor: Value = serde_json::from_str(text).unwrap();
            let checks = monitor["rules"].as_array().unwrap();
            assert_eq!(checks.len(), 1, "{key}");
            let check = &checks[0];
            let unhealthy = serde_json::json!({
                "type": check["condition"], "status": "True", "reason": check["reason"],
                "message": "health-checker found it unhealthy",
                "lastHeartbeatTime": "2026-11-25T01:59:40Z", "lastTransitionTime": "2026-11-25T01:20:00Z",
            });
            assert_eq!(findings(&unhealthy), [rule], "{key} ({}): {unhealthy}", runtime.name());
            let default = &monitor["conditions"][0];
            assert_eq!(default["type"], check["condition"], "{key}");
            let healthy = serde_json::json!({
                "type": default["type"], "status": "False", "reason": default["reason"], "message": default["message"],
                "lastHeartbeatTime": "2026-11-25T01:59:40Z", "lastTransitionTime": "2026-11-25T01:20:00Z",
            });
            assert!(findings(&healthy).is_empty(), "{key}: {healthy}");
        }
    }
}

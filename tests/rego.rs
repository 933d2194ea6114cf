//! Rego rules in KubeEye's style (tests/data/rego/), evaluated with regorus on
//! every object of the demo cluster: each fires on exactly the objects where
//! the equivalent built-in rule fires. Modules that fail, are too slow or do
//! not compile are coverage entries or load errors, never a crash.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::cli::ke;

fn report(args: &[&str]) -> Value {
    let run = ke(args);
    assert_ne!(run.code, 2, "ke refused its input:\n{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.stderr))
}

fn by_rule(report: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in report["findings"].as_array().expect("findings") {
        let ns = f["namespace"].as_str().map(|n| format!("{n}/")).unwrap_or_default();
        let object =
            format!("{}:{ns}{}", f["kind"].as_str().unwrap_or_default(), f["name"].as_str().unwrap_or_default());
        map.entry(f["rule"].as_str().unwrap_or_default().to_string()).or_default().insert(object);
    }
    map
}

#[test]
fn kubeeye_rego_rules_fire_where_the_built_in_rules_do() {
    let report = report(&["diag", "--snapshot", "examples/demo-cluster", "-f", "tests/data/rego", "-o", "json"]);
    let rules = by_rule(&report);
    // Rego rule (a file's name, or each Message of a module with several) → built-in rule.
    let pairs = [
        ("imageTag", "tagNotSpecified"), // workload: regex.match, helper with several bodies, sets
        ("podWithoutController", "nakedPod"), // workload
        ("RoleAllowsPodExec", "rolePodExecAttach"), // RBAC, its module has two kinds of message
        ("ClusterAdminBound", "clusterrolebindingClusterAdmin"), // RBAC
        ("nodeNotReady", "NodeNotReady"), // node, sprintf message
        ("nodeOOM", "NodeOOM"),          // event about a node
    ];
    for (rego, builtin) in pairs {
        let (ours, theirs) = (rules.get(rego), rules.get(builtin));
        assert!(theirs.is_some_and(|t| !t.is_empty()), "the demo has no `{builtin}` finding to compare with");
        assert_eq!(ours, theirs, "`{rego}` (Rego) and `{builtin}` (built-in) disagree");
    }
    assert!(!rules.contains_key("rbac"), "a module with several messages reports each Message as its rule");
    let find = |rule: &str| {
        report["findings"].as_array().expect("findings").iter().find(|f| f["rule"] == rule).cloned().expect("a finding")
    };
    // Level maps to severity; no Level is the rule's severity (warning).
    assert_eq!(find("RoleAllowsPodExec")["severity"], "danger");
    assert_eq!(find("podWithoutController")["severity"], "warning");
    assert_eq!(find("nodeNotReady")["message"], "node worker-3 is not ready: KubeletNotReady");
    assert_eq!(find("nodeNotReady")["section"], "nodes");
    assert_eq!(find("ClusterAdminBound")["section"], "rbac");
    // KubeEye's own priorityClassRule loads as it is; pods are reported on their controllers.
    let priority = rules.get("priorityClass").expect("KubeEye's module fires");
    assert!(priority.contains("CronJob:data/postgres-backup") && priority.contains("Pod:shop/netshoot-debug"));
    assert!(
        !priority.iter().any(|o| o.starts_with("Pod:shop/api-")),
        "a Deployment's pod is reported as the Deployment"
    );
    assert!(report["coverage"].as_array().is_some_and(|c| c.iter().all(|g| g["section"] != "rego")));
}

#[test]
fn a_module_that_fails_or_is_too_slow_is_a_coverage_entry_naming_the_rule_and_object() {
    let report = report(&[
        "diag",
        "--snapshot",
        "examples/demo-cluster/nodes.yaml",
        "-f",
        "tests/data/rego-failing",
        "-o",
        "json",
    ]);
    let gaps: Vec<(String, String)> = report["coverage"]
        .as_array()
        .expect("coverage")
        .iter()
        .filter(|g| g["section"] == "rego")
        .map(|g| (g["resource"].as_str().unwrap_or_default().into(), g["reason"].as_str().unwrap_or_default().into()))
        .collect();
    let conflicting: Vec<_> = gaps.iter().filter(|(r, _)| r.starts_with("rule conflicting on Node ")).collect();
    assert_eq!(conflicting.len(), 5, "one per node: {gaps:?}");
    assert_eq!(
        conflicting[0].1,
        "tests/data/rego-failing/conflicting.rego:6:1: rule conflicts with rule at tests/data/rego-failing/conflicting.rego:5:1"
    );
    let slow: Vec<_> = gaps.iter().filter(|(r, _)| r.starts_with("rule slow on Node ")).collect();
    assert_eq!(slow.len(), 3, "stopped after three objects over budget: {gaps:?}");
    assert_eq!(slow[0].1, "took longer than the 1s budget for one object");
    assert!(
        gaps.iter().any(|(r, why)| r == "rule slow" && why.contains("was not run on the objects after Node worker-2"))
    );
    assert_eq!(report["complete"], false);
    assert!(report["findings"].as_array().is_some_and(|f| !f.is_empty()), "the built-in rules still ran");
}

#[test]
fn a_module_that_does_not_compile_is_exit_2_naming_the_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.rego");
    std::fs::write(&path, "package p\n\ndeny[msg] {\n    msg := {\"Message\": \n}\n").expect("write");
    let run = ke(&["diag", "--snapshot", "examples/demo-cluster", "-f", path.to_str().expect("utf-8")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let file = path.display().to_string();
    assert!(run.stderr.contains(&format!("{file}: rule `broken`: {file}:3:11: expecting }}")), "{}", run.stderr);
}

#[test]
fn kubeeye_inspect_rules_with_opas_load_as_they_are() {
    let from_file = report(&["diag", "--snapshot", "examples/demo-cluster", "-f", "tests/data/rego", "-o", "json"]);
    let from_crd = report(&[
        "diag",
        "--snapshot",
        "examples/demo-cluster",
        "-f",
        "tests/data/rego-inspect-rule.yaml",
        "-o",
        "json",
    ]);
    let (file, crd) = (by_rule(&from_file), by_rule(&from_crd));
    for rule in ["RoleAllowsPodExec", "ClusterAdminBound"] {
        assert_eq!(crd.get(rule), file.get(rule), "{rule}");
    }
    // One kind of message: the rule's name is the id.
    assert_eq!(crd.get("nodeNotReadyRule"), file.get("nodeNotReady"));
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir.path().join("opas.yaml");
    std::fs::write(
        &broken,
        "apiVersion: kubeeye.kubesphere.io/v1alpha2\nkind: InspectRule\nmetadata: {name: r}\nspec:\n  opas:\n  - module: m\n    name: brokenRule\n    rule: |-\n      package m\n      deny[msg] {\n        msg := \n      }\n",
    )
    .expect("write");
    let run = ke(&["diag", "--snapshot", "examples/demo-cluster", "-f", broken.to_str().expect("utf-8")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let file = broken.display().to_string();
    assert!(
        run.stderr.contains(&format!("{file}: rule `brokenRule`: {file}#brokenRule:2:11: expecting }}")),
        "{}",
        run.stderr
    );
}

#[test]
fn rego_rules_see_every_object_live_as_it_streams_by() {
    use crate::support::apiserver::{FakeApiServer, FakeCluster, Options};
    let objects = crate::common::cli::shifted("examples/demo-cluster", &[]);
    let server = FakeApiServer::start(FakeCluster::from_values(objects), Options::default());
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    server.kubeconfig(&kubeconfig);
    let live =
        report(&["diag", "--kubeconfig", kubeconfig.to_str().expect("utf-8"), "-f", "tests/data/rego", "-o", "json"]);
    let offline = report(&["diag", "--snapshot", "examples/demo-cluster", "-f", "tests/data/rego", "-o", "json"]);
    let (live, offline) = (by_rule(&live), by_rule(&offline));
    // Kept objects (RBAC, nodes), streamed pods and streamed Warning events alike.
    for rule in
        ["imageTag", "podWithoutController", "RoleAllowsPodExec", "ClusterAdminBound", "nodeNotReady", "nodeOOM"]
    {
        assert!(live.get(rule).is_some_and(|o| !o.is_empty()), "`{rule}` found nothing live");
        assert_eq!(live.get(rule), offline.get(rule), "`{rule}` live and offline disagree");
    }
}

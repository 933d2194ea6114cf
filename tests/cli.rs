//! End-to-end tests of the `ke` binary on files: rule files, snapshots, outputs, exit codes.
#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common;
use crate::common::cli::ke;

fn json_report(args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let run = ke(&all);
    let report =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout, run.stderr));
    common::schema::assert_valid_report(&report);
    (run.code, report)
}

fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == rule).collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn kubeeye_custom_rule_example_flags_docker_hub_image_not_quay() {
    let (_, report) = json_report(&[
        "diag",
        "--snapshot",
        "tests/data/nginx-docker.yaml",
        "-f",
        "tests/data/image-registry-rule.yaml",
    ]);
    let hits = findings(&report, "imageFromUnauthorizedRegistry");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["name"], "web");
    assert_eq!(hits[0]["kind"], "Deployment");
    assert_eq!(hits[0]["container"], "nginx");
    assert_eq!(hits[0]["severity"], "warning");
    assert_eq!(hits[0]["category"], "Images");
    assert_eq!(
        hits[0]["message"],
        "When the corresponding rule does not match. Show that image from an unauthorized registry."
    );
}

#[test]
fn replicas_are_reported_once_per_controller() {
    let (_, report) = json_report(&["diag", "--snapshot", "tests/data/replicas.yaml"]);
    let hits = findings(&report, "tagNotSpecified");
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!((hits[0]["kind"].as_str(), hits[0]["name"].as_str()), (Some("Deployment"), Some("api")));
    for f in report["findings"].as_array().unwrap() {
        assert_eq!(f["kind"], "Deployment", "only the Deployment is reported: {f}");
    }
}

#[test]
fn orphaned_replicas_are_reported_as_their_deployment_once() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("tests/data/replicas.yaml").unwrap();
    // Keep only the pods, as in `kubectl get pods -A -o yaml`.
    let pods: Vec<&str> = text.split("\n---\n").filter(|d| d.contains("kind: Pod")).collect();
    let file = write(dir.path(), "pods.yaml", &pods.join("\n---\n"));
    let (_, report) = json_report(&["diag", "--snapshot", file.to_str().unwrap()]);
    let hits = findings(&report, "tagNotSpecified");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["kind"], "Deployment");
    assert_eq!(hits[0]["name"], "api");
}

const DEPLOY_WITH_ANNOTATIONS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAME
  namespace: shop
  annotations: ANNOTATIONS
spec:
  replicas: 2
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec:
      containers:
        - {name: main, image: "app:latest"}
        - {name: sidecar, image: "proxy:latest"}
"#;

fn deployment(name: &str, annotations: &str) -> String {
    DEPLOY_WITH_ANNOTATIONS.replace("NAME", name).replace("ANNOTATIONS", annotations)
}

#[test]
fn exemptions_by_annotation_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        deployment("plain", "{}"),
        deployment("polaris-one", r#"{polaris.fairwinds.com/tagNotSpecified-exempt: "true"}"#),
        deployment("polaris-all", r#"{polaris.fairwinds.com/exempt: "true"}"#),
        deployment("kubeeye-list", r#"{kubeeye.io/exempt: "cpuLimitsMissing, tagNotSpecified"}"#),
        deployment("kubeeye-alias", r#"{kubeeye.io/exempt: "PodSetTagNotSpecified"}"#),
        deployment("legacy-batch", "{}"),
        deployment("sidecar-only", "{}"),
    ];
    let snapshot = write(dir.path(), "deploys.yaml", &docs.join("\n---\n"));
    let rules = write(
        dir.path(),
        "exempt.yaml",
        "exemptions:\n  - controllerNames: [legacy-]\n    rules: [tagNotSpecified]\n  - namespace: shop\n    controllerNames: [sidecar-only]\n    containerNames: [sidecar]\n    rules: [tagNotSpecified]\n",
    );
    let (_, report) = json_report(&["diag", "--snapshot", snapshot.to_str().unwrap(), "-f", rules.to_str().unwrap()]);
    let tagged = |name: &str| findings(&report, "tagNotSpecified").iter().filter(|f| f["name"] == name).count();
    let any = |name: &str| report["findings"].as_array().unwrap().iter().filter(|f| f["name"] == name).count();
    assert_eq!(tagged("plain"), 2);
    assert_eq!(tagged("polaris-one"), 0);
    assert!(any("polaris-one") > 0, "other rules still apply");
    assert_eq!(any("polaris-all"), 0);
    assert_eq!(tagged("kubeeye-list"), 0);
    assert!(findings(&report, "cpuLimitsMissing").iter().all(|f| f["name"] != "kubeeye-list"));
    assert!(findings(&report, "cpuRequestsMissing").iter().any(|f| f["name"] == "kubeeye-list"));
    assert_eq!(tagged("kubeeye-alias"), 0);
    assert_eq!(tagged("legacy-batch"), 0, "controllerNames match as prefixes");
    let sidecar: Vec<_> =
        findings(&report, "tagNotSpecified").into_iter().filter(|f| f["name"] == "sidecar-only").collect();
    assert_eq!(sidecar.len(), 1);
    assert_eq!(sidecar[0]["container"], "main", "only the named container is exempt");
}

#[test]
fn severity_overrides_and_ignore() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "sev.yaml",
        "checks:\n  tagNotSpecified: info\n  cpuLimitsMissing: ignore\n  PodSetLivenessProbe: danger\n  priorityClassNotSet: info\n",
    );
    let (_, report) = json_report(&["diag", "--snapshot", "tests/data/replicas.yaml", "-f", rules.to_str().unwrap()]);
    assert_eq!(findings(&report, "tagNotSpecified")[0]["severity"], "info");
    assert!(findings(&report, "cpuLimitsMissing").is_empty());
    assert_eq!(findings(&report, "livenessProbeMissing")[0]["severity"], "danger", "KubeEye alias selects the rule");
    assert_eq!(findings(&report, "priorityClassNotSet")[0]["severity"], "info");
    let (_, defaults) = json_report(&["diag", "--snapshot", "tests/data/replicas.yaml"]);
    assert_eq!(findings(&defaults, "priorityClassNotSet")[0]["severity"], "warning", "on by default, as in Polaris");
    assert_eq!(findings(&defaults, "tagNotSpecified")[0]["severity"], "danger");
}

#[test]
fn fail_on_sets_exit_code() {
    let snap = "tests/data/replicas.yaml";
    assert_eq!(ke(&["diag", "--snapshot", snap]).code, 0);
    assert_eq!(ke(&["diag", "--snapshot", snap, "--fail-on", "danger"]).code, 1);
    let dir = tempfile::tempdir().unwrap();
    let only_warnings = write(
        dir.path(),
        "w.yaml",
        "checks:\n  tagNotSpecified: warning\n  runAsRootAllowed: warning\n  privilegeEscalationAllowed: warning\n",
    );
    let w = only_warnings.to_str().unwrap();
    assert_eq!(ke(&["diag", "--snapshot", snap, "-f", w, "--fail-on", "danger"]).code, 0);
    assert_eq!(ke(&["diag", "--snapshot", snap, "-f", w, "--fail-on", "warning"]).code, 1);
}

/// Each broken rule file exits 2 before inspecting (the snapshot path does not even exist)
/// and names the file, the rule and the problem.
#[test]
fn broken_rule_files_are_refused_with_file_rule_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &[&str])] = &[
        ("bad-yaml.yaml", "checks:\n  foo: [warning\n", &["bad-yaml.yaml", "line"]),
        (
            "bad-target.yaml",
            "checks: {myCheck: warning}\ncustomChecks:\n  myCheck:\n    promptMessage: x\n    target: Deploymnt\n    schema: {type: object}\n",
            &["bad-target.yaml", "`myCheck`", "unknown target `Deploymnt`"],
        ),
        (
            "bad-schema.yaml",
            "checks: {myCheck: warning}\ncustomChecks:\n  myCheck:\n    promptMessage: x\n    target: Container\n    schema: {type: objekt}\n",
            &["bad-schema.yaml", "`myCheck`", "invalid schema"],
        ),
        (
            "bad-regex.yaml",
            "checks: {myCheck: warning}\ncustomChecks:\n  myCheck:\n    promptMessage: x\n    target: Container\n    schema:\n      properties:\n        image: {pattern: '^(quay.io'}\n",
            &["bad-regex.yaml", "`myCheck`", "invalid schema", "pattern"],
        ),
        (
            "unknown-id.yaml",
            "checks:\n  noSuchCheck: warning\n",
            &["unknown-id.yaml", "`noSuchCheck`", "unknown check id"],
        ),
        (
            "bad-severity.yaml",
            "checks:\n  tagNotSpecified: critical\n",
            &["bad-severity.yaml", "`tagNotSpecified`", "unknown severity"],
        ),
        ("unknown-key.yaml", "chekcs:\n  tagNotSpecified: warning\n", &["unknown-key.yaml", "chekcs"]),
    ];
    for (name, text, expected) in cases {
        let file = write(dir.path(), name, text);
        let run = ke(&["diag", "--snapshot", "/nonexistent/snapshot", "-f", file.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{name}: printed a report");
        for e in *expected {
            assert!(run.stderr.contains(e), "{name}: `{e}` missing from: {}", run.stderr);
        }
        assert!(!run.stderr.contains("/nonexistent/snapshot"), "{name}: inspected before validating rules");
    }
}

#[test]
fn malformed_snapshot_document_is_reported_and_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string("tests/data/replicas.yaml").unwrap();
    write(dir.path(), "good.yaml", &good);
    write(
        dir.path(),
        "broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n---\nkind: Pod\n  bad indent: [\n",
    );
    let (code, report) = json_report(&["diag", "--snapshot", dir.path().to_str().unwrap()]);
    assert_eq!(code, 3, "incomplete inspection has its own exit code");
    assert_eq!(report["complete"], false);
    let coverage = report["coverage"].as_array().unwrap();
    assert_eq!(coverage.len(), 1);
    assert!(coverage[0]["resource"].as_str().unwrap().ends_with("broken.yaml (document 2)"), "{coverage:?}");
    assert!(!findings(&report, "tagNotSpecified").is_empty(), "the good file still loads");
    let table = ke(&["diag", "--snapshot", dir.path().to_str().unwrap()]);
    assert!(table.stdout.contains("NOT INSPECTED (1)"), "{}", table.stdout);
    assert!(table.stdout.contains("broken.yaml (document 2)"));
}

#[test]
fn missing_snapshot_path_is_a_clear_error() {
    let run = ke(&["diag", "--snapshot", "/nonexistent/kubeeye-snapshot"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot read snapshot /nonexistent/kubeeye-snapshot"), "{}", run.stderr);
}

#[test]
fn cluster_info_dump_layout_loads() {
    let dir = tempfile::tempdir().unwrap();
    let ns = dir.path().join("shop");
    std::fs::create_dir_all(ns.join("api-1")).unwrap();
    write(
        dir.path(),
        "nodes.json",
        r#"{"kind":"NodeList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"node-1"}}]}"#,
    );
    write(
        &ns,
        "deployments.json",
        r#"{"kind":"DeploymentList","apiVersion":"apps/v1","metadata":{},"items":[{"metadata":{"name":"api","namespace":"shop"},
           "spec":{"replicas":2,"template":{"metadata":{"labels":{"app":"api"}},"spec":{"containers":[{"name":"api","image":"api"}]}}}}]}"#,
    );
    write(&ns, "events.json", r#"{"kind":"EventList","apiVersion":"v1","metadata":{},"items":[]}"#);
    write(&ns.join("api-1"), "logs.txt", "==== START logs for container api ====\nhello\n");
    let (code, report) = json_report(&["diag", "--snapshot", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(report["complete"], true, "{report}");
    let hits = findings(&report, "tagNotSpecified");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["name"], "api");
}

#[test]
fn namespace_selection() {
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        deployment("a", "{}"),
        deployment("b", "{}").replace("namespace: shop", "namespace: data"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ci}\nroleRef: {kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: ci, namespace: ci}]\n".into(),
    ];
    let snap = write(dir.path(), "s.yaml", &docs.join("\n---\n"));
    let s = snap.to_str().unwrap();
    let names = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["diag", "--snapshot", s];
        all.extend(args);
        let (_, r) = json_report(&all);
        let mut n: Vec<String> =
            r["findings"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect();
        n.sort();
        n.dedup();
        n
    };
    assert_eq!(names(&[]), ["a", "b", "ci"]);
    assert_eq!(names(&["-A"]), ["a", "b", "ci"]);
    assert_eq!(names(&["-n", "shop"]), ["a"]);
    assert_eq!(names(&["--exclude-namespace", "shop"]), ["b", "ci"]);
    let conflict = ke(&["diag", "--snapshot", s, "-n", "shop", "-A"]);
    assert_eq!(conflict.code, 2);
}

#[test]
fn table_json_and_yaml_agree() {
    let args = ["diag", "--snapshot", "tests/data/replicas.yaml"];
    let table = ke(&args);
    assert!(table.stdout.starts_with("HEALTH  HEALTHY\n\nOVERVIEW\nITEM "), "{}", table.stdout);
    assert!(table.stdout.contains("\nWORKLOADS\nNAMESPACE   SEVERITY"), "{}", table.stdout);
    assert!(table.stdout.contains("Pods                    3 (Running 3)"), "{}", table.stdout);
    let row = table.stdout.lines().find(|l| l.contains(" danger ")).unwrap();
    assert!(row.contains("Deployment") && row.contains("[") && row.contains("tagNotSpecified"), "{row}");
    assert!(!table.stdout.contains('\x1b'), "no colour off a TTY");
    let (_, json) = json_report(&args);
    let yaml_run = ke(&["diag", "--snapshot", "tests/data/replicas.yaml", "-o", "yaml"]);
    let yaml: Value = serde_norway::from_str(&yaml_run.stdout).unwrap();
    assert_eq!(json["findings"], yaml["findings"]);
    assert_eq!(json["summary"], yaml["summary"]);
    assert_eq!(json["health"], yaml["health"]);
    for key in [
        "schemaVersion",
        "tool",
        "cluster",
        "startedAt",
        "finishedAt",
        "complete",
        "health",
        "overview",
        "summary",
        "coverage",
        "findings",
    ] {
        assert!(json.get(key).is_some(), "report lacks {key}");
    }
    for f in json["findings"].as_array().unwrap() {
        for key in [
            "rule",
            "severity",
            "category",
            "kind",
            "namespace",
            "name",
            "container",
            "message",
            "remediation",
            "fingerprint",
        ] {
            assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
        }
    }
    let colored = ke(&["diag", "--snapshot", "tests/data/replicas.yaml", "--color", "always"]);
    assert!(colored.stdout.contains("\x1b[1;31mdanger"));
}

#[test]
fn rules_list_and_explain() {
    let list = ke(&["rules", "list", "-o", "json"]);
    assert_eq!(list.code, 0);
    let rules: Value = serde_json::from_str(&list.stdout).unwrap();
    let ids: Vec<&str> = rules.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    for id in [
        "livenessProbeMissing",
        "runAsPrivileged",
        "clusterrolebindingClusterAdmin",
        "missingNetworkPolicy",
        "PodSetImageRegistry",
    ] {
        assert!(ids.contains(&id), "{id} missing from the catalogue");
    }
    let table = ke(&["rules", "list"]);
    assert!(table.stdout.lines().any(|l| l.starts_with("resourceRange") && l.contains("off")));
    let explain = ke(&["rules", "explain", "PodSetRunAsPrivileged"]);
    assert_eq!(explain.code, 0);
    assert!(explain.stdout.starts_with("runAsPrivileged"), "{}", explain.stdout);
    assert!(explain.stdout.contains("How to fix it"));
    let custom =
        ke(&["rules", "explain", "imageFromUnauthorizedRegistry", "-f", "tests/data/image-registry-rule.yaml"]);
    assert!(custom.stdout.contains("tests/data/image-registry-rule.yaml"), "{}", custom.stdout);
    let unknown = ke(&["rules", "explain", "noSuchRule"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stderr.contains("ke rules list"));
}

/// KubeEye v0.3–v0.5 rule names work wherever an id is accepted: `checks:`,
/// config exemptions, `kubeeye.io/exempt` and `ke rules explain`.
#[test]
fn kubeeye_v0_rule_names_are_aliases_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        deployment("plain", "{}"),
        deployment("annotated", r#"{kubeeye.io/exempt: "ImageTagIsLatest, NoLivenessProbe"}"#),
        deployment("legacy-app", "{}"),
    ];
    let snapshot = write(dir.path(), "deploys.yaml", &docs.join("\n---\n"));
    let rules = write(
        dir.path(),
        "v0.yaml",
        "checks:\n  NoCPULimits: ignore\n  NoReadinessProbe: danger\nexemptions:\n  - controllerNames: [legacy-]\n    rules: [ImageTagMiss, NoMemoryRequests]\n",
    );
    let (_, report) = json_report(&["diag", "--snapshot", snapshot.to_str().unwrap(), "-f", rules.to_str().unwrap()]);
    let on = |rule: &str, name: &str| findings(&report, rule).iter().filter(|f| f["name"] == name).count();
    assert!(findings(&report, "cpuLimitsMissing").is_empty(), "NoCPULimits: ignore");
    assert_eq!(findings(&report, "readinessProbeMissing")[0]["severity"], "danger", "NoReadinessProbe: danger");
    assert_eq!(on("tagNotSpecified", "plain"), 2);
    assert_eq!(on("tagNotSpecified", "annotated"), 0, "kubeeye.io/exempt: ImageTagIsLatest");
    assert_eq!(on("livenessProbeMissing", "annotated"), 0, "kubeeye.io/exempt: NoLivenessProbe");
    assert!(on("readinessProbeMissing", "annotated") > 0, "only the named rules");
    assert_eq!(on("tagNotSpecified", "legacy-app"), 0, "exemption rules: [ImageTagMiss]");
    assert_eq!(on("memoryRequestsMissing", "legacy-app"), 0, "exemption rules: [NoMemoryRequests]");
    assert!(on("memoryRequestsMissing", "plain") > 0);
    for (old, id) in [("NotRunAsNonRoot", "runAsRootAllowed"), ("HighRiskCapabilities", "dangerousCapabilities")] {
        let explain = ke(&["rules", "explain", old]);
        assert_eq!(explain.code, 0, "{}", explain.stderr);
        assert!(explain.stdout.starts_with(id) && explain.stdout.contains(old), "{}", explain.stdout);
    }
}

/// A `group/Kind|Kind` target judges objects of each kind it names; a part
/// that is not a kind is refused when the rule file loads.
#[test]
fn a_target_may_name_several_kinds_of_one_group() {
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata: {}\n",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}\n",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\n",
    ];
    let snapshot = write(dir.path(), "s.yaml", &docs.join("---\n"));
    let rule = |target: &str| {
        format!(
            "customChecks:\n  ownerLabel:\n    severity: warning\n    target: {target}\n    failureMessage: No owner label\n    schema: {{required: [metadata], properties: {{metadata: {{required: [labels]}}}}}}\n"
        )
    };
    let rules = write(dir.path(), "r.yaml", &rule("v1/ConfigMap|Service"));
    let (_, report) = json_report(&["diag", "--snapshot", snapshot.to_str().unwrap(), "-f", rules.to_str().unwrap()]);
    let mut kinds: Vec<&str> = findings(&report, "ownerLabel").iter().filter_map(|f| f["kind"].as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["ConfigMap", "Service"]);
    let bad = write(dir.path(), "bad.yaml", &rule("v1/ConfigMap|service"));
    let run = ke(&["diag", "--snapshot", snapshot.to_str().unwrap(), "-f", bad.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("`service` is not a kind"), "{}", run.stderr);
}

/// Annotations on the pod template count like annotations on the controller.
#[test]
fn exemption_annotations_on_the_pod_template() {
    let dir = tempfile::tempdir().unwrap();
    let on_template = |name: &str, annotations: &str| {
        deployment(name, "{}").replace(
            "    metadata: {labels: {app: NAME}}".replace("NAME", name).as_str(),
            &format!("    metadata: {{labels: {{app: {name}}}, annotations: {annotations}}}"),
        )
    };
    let docs = [
        deployment("plain", "{}"),
        on_template("tpl-all", r#"{polaris.fairwinds.com/exempt: "true"}"#),
        on_template("tpl-one", r#"{polaris.fairwinds.com/tagNotSpecified-exempt: "true"}"#),
        on_template("tpl-star", r#"{kubeeye.io/exempt: "*"}"#),
    ];
    assert!(docs[1].contains("annotations: {polaris.fairwinds.com/exempt"), "template edited: {}", docs[1]);
    let snapshot = write(dir.path(), "deploys.yaml", &docs.join("\n---\n"));
    let (_, report) = json_report(&["diag", "--snapshot", snapshot.to_str().unwrap()]);
    let any = |name: &str| report["findings"].as_array().unwrap().iter().filter(|f| f["name"] == name).count();
    let tagged = |name: &str| findings(&report, "tagNotSpecified").iter().filter(|f| f["name"] == name).count();
    assert!(any("plain") > 0);
    assert_eq!(any("tpl-all"), 0, "polaris.fairwinds.com/exempt on the template exempts every rule");
    assert_eq!(tagged("tpl-one"), 0);
    assert!(any("tpl-one") > 0, "only the named rule is exempt");
    assert_eq!(any("tpl-star"), 0, "kubeeye.io/exempt: \"*\" exempts every rule");
}

/// A config exemption without `rules` exempts the matching objects from every rule,
/// workloads and other kinds alike.
#[test]
fn exemption_without_rules_exempts_everything() {
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        deployment("legacy-billing", "{}"),
        deployment("web", "{}"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: legacy-settings, namespace: shop}\ndata: {DB_PASSWORD: hunter2}\n"
            .into(),
    ];
    let snapshot = write(dir.path(), "s.yaml", &docs.join("\n---\n"));
    let rules = write(dir.path(), "exempt.yaml", "exemptions:\n  - namespace: shop\n    controllerNames: [legacy-]\n");
    let (_, report) = json_report(&["diag", "--snapshot", snapshot.to_str().unwrap(), "-f", rules.to_str().unwrap()]);
    let names: Vec<&str> = report["findings"].as_array().unwrap().iter().filter_map(|f| f["name"].as_str()).collect();
    assert!(names.contains(&"web"));
    assert!(!names.iter().any(|n| n.starts_with("legacy-")), "{names:?}");
    let (_, unexempted) = json_report(&["diag", "--snapshot", snapshot.to_str().unwrap()]);
    assert_eq!(findings(&unexempted, "sensitiveConfigmapContent").len(), 1, "the ConfigMap is reported without it");
}

/// `checks: {id: ignore}` turns a built-in off: a code check and one named by its KubeEye alias.
#[test]
fn ignore_turns_builtin_rules_off() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = write(dir.path(), "s.yaml", &deployment("web", "{}"));
    let s = snapshot.to_str().unwrap();
    let (_, defaults) = json_report(&["diag", "--snapshot", s]);
    for rule in ["missingNetworkPolicy", "tagNotSpecified", "metadataAndInstanceMismatched"] {
        assert!(!findings(&defaults, rule).is_empty(), "{rule} is on by default");
    }
    let rules = write(
        dir.path(),
        "off.yaml",
        "checks:\n  missingNetworkPolicy: ignore\n  PodSetTagNotSpecified: ignore\n  metadataAndInstanceMismatched: off\n",
    );
    let (_, report) = json_report(&["diag", "--snapshot", s, "-f", rules.to_str().unwrap()]);
    for rule in ["missingNetworkPolicy", "tagNotSpecified", "metadataAndInstanceMismatched"] {
        assert!(findings(&report, rule).is_empty(), "{rule} still reported");
    }
    assert!(!findings(&report, "cpuLimitsMissing").is_empty(), "other rules still run");
    let list = ke(&["rules", "list", "-f", rules.to_str().unwrap()]);
    assert!(
        list.stdout.lines().any(|l| l.starts_with("missingNetworkPolicy ") && l.contains(" off ")),
        "{}",
        list.stdout
    );
}

const KUBE_PROXY: &str = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-proxy, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: kube-proxy}}
  template:
    metadata: {labels: {k8s-app: kube-proxy}}
    spec:
      hostNetwork: true
      containers:
        - name: kube-proxy
          image: registry.k8s.io/kube-proxy:v1.30.2
          securityContext: {privileged: true}
"#;

/// Polaris's default exemptions ship built in: kube-proxy's host network and privileges
/// are not reported, other rules still are, and `defaultExemptions: false` brings them back.
#[test]
fn default_exemptions_cover_kube_proxy_and_can_be_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = KUBE_PROXY.replace("namespace: kube-system", "namespace: default");
    let snapshot = write(dir.path(), "s.yaml", &format!("{KUBE_PROXY}\n---\n{elsewhere}"));
    let s = snapshot.to_str().unwrap();
    let in_ns =
        |report: &Value, rule: &str, ns: &str| findings(report, rule).iter().filter(|f| f["namespace"] == ns).count();
    let (_, report) = json_report(&["diag", "--snapshot", s]);
    assert_eq!(in_ns(&report, "hostNetworkSet", "kube-system"), 0);
    assert_eq!(in_ns(&report, "runAsPrivileged", "kube-system"), 0);
    assert_eq!(in_ns(&report, "hostNetworkSet", "default"), 1, "the exemption is limited to kube-system");
    assert_eq!(in_ns(&report, "privilegeEscalationAllowed", "kube-system"), 1, "not every rule is exempt");

    let rules = write(dir.path(), "no-defaults.yaml", "defaultExemptions: false\n");
    let (_, report) = json_report(&["diag", "--snapshot", s, "-f", rules.to_str().unwrap()]);
    assert_eq!(in_ns(&report, "hostNetworkSet", "kube-system"), 1);
    assert_eq!(in_ns(&report, "runAsPrivileged", "kube-system"), 1);

    // A user's own exemptions still apply when the defaults are dropped.
    let rules = write(
        dir.path(),
        "own.yaml",
        "defaultExemptions: false\nexemptions:\n  - namespace: kube-system\n    controllerNames: [kube-proxy]\n    rules: [hostNetworkSet]\n",
    );
    let (_, report) = json_report(&["diag", "--snapshot", s, "-f", rules.to_str().unwrap()]);
    assert_eq!(in_ns(&report, "hostNetworkSet", "kube-system"), 0);
    assert_eq!(in_ns(&report, "runAsPrivileged", "kube-system"), 1);
}

/// Pods of a DaemonSet and of a StatefulSet missing from the snapshot are reported once per owner.
#[test]
fn orphaned_pods_of_daemonsets_and_statefulsets_are_reported_once_per_owner() {
    let dir = tempfile::tempdir().unwrap();
    let pod = |name: &str, kind: &str, owner: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: ops\n  ownerReferences: [{{apiVersion: apps/v1, kind: {kind}, name: {owner}, uid: u-{owner}, controller: true}}]\nspec:\n  containers:\n    - {{name: main, image: \"agent:latest\"}}\n"
        )
    };
    let docs = [
        pod("agent-x7k2p", "DaemonSet", "agent"),
        pod("agent-9fj3s", "DaemonSet", "agent"),
        pod("agent-q2w8e", "DaemonSet", "agent"),
        pod("db-0", "StatefulSet", "db"),
        pod("db-1", "StatefulSet", "db"),
    ];
    let snapshot = write(dir.path(), "pods.yaml", &docs.join("\n---\n"));
    let (_, report) = json_report(&["diag", "--snapshot", snapshot.to_str().unwrap()]);
    let mut hits: Vec<(String, String)> = findings(&report, "tagNotSpecified")
        .iter()
        .map(|f| (f["kind"].as_str().unwrap().to_string(), f["name"].as_str().unwrap().to_string()))
        .collect();
    hits.sort();
    assert_eq!(hits, [("DaemonSet".to_string(), "agent".to_string()), ("StatefulSet".to_string(), "db".to_string())]);
    assert!(findings(&report, "nakedPod").is_empty(), "owned pods are not naked");
}

/// An off-by-default rule is turned on from `checks:` and its bounds redefined by a user rule.
#[test]
fn resource_range_turned_on_and_redefined() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = deployment("web", "{}").replace(
        "        - {name: main, image: \"app:latest\"}",
        "        - name: main\n          image: \"app:1.0\"\n          resources: {limits: {cpu: \"3\", memory: 512m}}",
    );
    assert!(manifest.contains("memory: 512m"));
    let snapshot = write(dir.path(), "s.yaml", &manifest);
    let s = snapshot.to_str().unwrap();
    let (_, defaults) = json_report(&["diag", "--snapshot", s]);
    assert!(findings(&defaults, "resourceRange").is_empty(), "off by default");
    let on = write(dir.path(), "on.yaml", "checks:\n  resourceRange: warning\n");
    let (_, report) = json_report(&["diag", "--snapshot", s, "-f", on.to_str().unwrap()]);
    let hits = findings(&report, "resourceRange");
    assert_eq!(hits.len(), 1, "memory 512m is half a byte");
    assert_eq!(hits[0]["container"], "main");
    let strict = write(
        dir.path(),
        "strict.yaml",
        "checks:\n  resourceRange: danger\ncustomChecks:\n  resourceRange:\n    failureMessage: CPU limit above 2 cores\n    target: Container\n    schema:\n      properties:\n        resources:\n          properties:\n            limits:\n              properties:\n                cpu: {resourceMaximum: \"2\"}\n",
    );
    let (_, report) = json_report(&["diag", "--snapshot", s, "-f", strict.to_str().unwrap()]);
    let hits = findings(&report, "resourceRange");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["severity"], "danger");
    assert_eq!(hits[0]["message"], "CPU limit above 2 cores");
}

#[test]
fn our_own_deployment_manifests_have_no_findings_and_their_config_is_valid() {
    let (code, report) = json_report(&["diag", "--snapshot", "deploy/"]);
    assert_eq!(code, 0);
    assert_eq!(report["complete"], true, "{}", report["coverage"]);
    assert_eq!(report["findings"].as_array().unwrap().len(), 0, "{}", report["findings"]);
    let configmap: Value = serde_norway::from_str(&std::fs::read_to_string("deploy/configmap.yaml").unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "kubeeye.yaml", configmap["data"]["kubeeye.yaml"].as_str().unwrap());
    let check = ke(&["run", "--config", config.to_str().unwrap(), "--check-config"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(check.stdout.starts_with("config OK"));
}

/// What `ke install npd` applies, with and without the health checker, passes
/// ke's own rules: the host network the opt-in needs is a stated exemption.
#[test]
fn the_npd_install_with_and_without_the_health_checker_has_no_findings() {
    let dir = tempfile::tempdir().unwrap();
    for extra in [&[][..], &["--health-checker"][..], &["--health-checker", "--container-runtime", "docker"][..]] {
        let mut args = vec!["install", "npd", "--dry-run"];
        args.extend(extra);
        let printed = ke(&args);
        assert_eq!(printed.code, 0, "{}", printed.stderr);
        assert_eq!(printed.stdout.contains("hostNetwork: true"), !extra.is_empty(), "{extra:?}");
        let file = write(dir.path(), "npd.yaml", &printed.stdout);
        let (code, report) = json_report(&["diag", "--snapshot", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{extra:?}");
        assert_eq!(report["findings"].as_array().unwrap().len(), 0, "{extra:?}: {}", report["findings"]);
    }
}

#[test]
fn the_demo_snapshot_shows_every_section() {
    let (code, report) = json_report(&["diag", "--snapshot", "examples/demo-cluster"]);
    assert_eq!(code, 0);
    assert_eq!(report["complete"], true);
    assert_eq!(report["startedAt"], "2026-11-25T02:00:00Z", "reported as of the snapshot");
    for section in ["controlPlane", "nodes", "pods", "events", "logs", "workloads", "rbac"] {
        assert!(
            report["findings"].as_array().unwrap().iter().any(|f| f["section"] == section),
            "no {section} finding in the demo"
        );
    }
    // Every finding says which file and line its object came from, whatever its section.
    for f in report["findings"].as_array().unwrap() {
        let file = f["source"]["file"].as_str().unwrap_or_else(|| panic!("no source: {f}"));
        assert!(file.starts_with("examples/demo-cluster/"), "{file}");
        assert!(f["source"]["line"].as_u64().unwrap() >= 1);
    }
    let table = ke(&["diag", "--snapshot", "examples/demo-cluster"]);
    for heading in ["CONTROL PLANE", "NODES", "PODS", "EVENTS", "CONTAINER LOGS", "WORKLOADS"] {
        assert!(table.stdout.contains(heading), "{heading} missing");
    }
}

#[test]
fn previous_report_marks_new_and_resolved_and_every_format_renders_it() {
    let dir = tempfile::tempdir().unwrap();
    let previous = ke(&[
        "diag",
        "--snapshot",
        "tests/fixtures/NodeNotReady/fail.yaml",
        "--cluster-name",
        "demo-prod-eu",
        "-o",
        "json",
    ]);
    let previous_path = write(dir.path(), "previous.json", &previous.stdout);
    let out = dir.path().join("out");
    let (_, report) = json_report(&[
        "diag",
        "--snapshot",
        "examples/demo-cluster",
        "--previous",
        previous_path.to_str().unwrap(),
        "--output-dir",
        out.to_str().unwrap(),
    ]);
    let diff = &report["diff"];
    assert!(
        diff["resolved"].as_array().unwrap().iter().any(|f| f["rule"] == "NodeNotReady" && f["name"] == "node-1"),
        "{diff}"
    );
    assert_eq!(diff["new"].as_u64().unwrap() as usize, report["findings"].as_array().unwrap().len());
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["status"] == "new"));
    for name in ["report.html", "report.csv", "report.json"] {
        assert!(out.join(name).metadata().unwrap().len() > 1000, "{name}");
    }
    let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains("status"), "a status column with a previous report");
    let html = ke(&["render", out.join("report.json").to_str().unwrap(), "-o", "html"]);
    assert_eq!(html.code, 0);
    assert!(
        html.stdout.starts_with("<!DOCTYPE html>") || html.stdout.starts_with("<!doctype html>"),
        "{}",
        &html.stdout[..100]
    );
    assert!(html.stdout.contains("Resolved") || html.stdout.contains("resolved"));
    let table = ke(&["render", out.join("report.json").to_str().unwrap(), "-o", "table"]);
    assert!(table.stdout.contains("WORKLOADS"));
    let not_a_report = write(dir.path(), "x.json", "{\"hello\": 1}");
    let bad = ke(&["render", not_a_report.to_str().unwrap()]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("x.json"), "{}", bad.stderr);
}

#[test]
fn namespace_scope_keeps_cluster_health_and_does_not_claim_resolutions() {
    // Excluding kube-system's workloads keeps the control plane's leases and static pods.
    let (_, report) =
        json_report(&["diag", "--snapshot", "examples/demo-cluster", "--exclude-namespace", "kube-system"]);
    assert!(!findings(&report, "ControllerManagerHealthStatus").is_empty());
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["namespace"] != "kube-system"));
    assert_eq!(report["scope"]["excludeNamespaces"][0], "kube-system");
    // A narrower run does not call what it did not look at resolved.
    let dir = tempfile::tempdir().unwrap();
    let full = ke(&["diag", "--snapshot", "examples/demo-cluster", "-o", "json"]);
    let previous = write(dir.path(), "full.json", &full.stdout);
    let (_, narrow) = json_report(&[
        "diag",
        "--snapshot",
        "examples/demo-cluster",
        "-n",
        "shop",
        "--previous",
        previous.to_str().unwrap(),
    ]);
    assert!(narrow["diff"]["resolved"].as_array().unwrap().is_empty(), "{}", narrow["diff"]["resolved"]);
    assert!(!narrow["diff"]["unverified"].as_array().unwrap().is_empty());
    // A namespace that does not exist is said, not scored 100.
    let (_, nosuch) = json_report(&["diag", "--snapshot", "examples/demo-cluster", "-n", "nosuch"]);
    assert!(nosuch["coverage"].as_array().unwrap().iter().any(|g| g["resource"] == "namespace nosuch"));
}

#[test]
fn objects_of_one_name_in_different_files_are_each_evaluated_with_their_source() {
    // A base Deployment and a kustomize patch of it holding only `replicas`: the
    // patch used to replace the base, whose findings vanished without a word.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("base")).unwrap();
    std::fs::create_dir_all(dir.path().join("overlays/prod")).unwrap();
    let base = concat!(
        "# the base\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n",
        "spec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n",
        "    spec:\n      containers:\n      - {name: web, image: registry.example.com/web:1, securityContext: {privileged: true}}\n",
    );
    write(&dir.path().join("base"), "deployment.yaml", base);
    write(
        &dir.path().join("overlays/prod"),
        "replicas.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: 6\n",
    );
    // Two documents of one file with one name, and the same object listed twice (a dump and a single file).
    let api = |privileged: bool| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api, namespace: shop, uid: u-{privileged}}}\nspec:\n  selector: {{matchLabels: {{app: api}}}}\n  template:\n    metadata: {{labels: {{app: api}}}}\n    spec:\n      containers:\n      - {{name: api, image: registry.example.com/api:1, securityContext: {{privileged: {privileged}}}}}\n"
        )
    };
    write(dir.path(), "api.yaml", &format!("{}---\n{}", api(false), api(true)));
    write(dir.path(), "api-again.yaml", &api(true));
    let snapshot = dir.path().to_str().unwrap();
    let (_, report) = json_report(&["diag", "--snapshot", snapshot]);
    let privileged = findings(&report, "runAsPrivileged");
    let sources: Vec<(String, u64)> = privileged
        .iter()
        .map(|f| {
            let file = f["source"]["file"].as_str().unwrap().strip_prefix(snapshot).unwrap().to_string();
            (file, f["source"]["line"].as_u64().unwrap())
        })
        .collect();
    // The api listed twice with one uid is one object; the base web is evaluated despite the patch.
    assert_eq!(sources.len(), 2, "{privileged:?}");
    assert!(sources.contains(&("/base/deployment.yaml".to_string(), 2)), "{sources:?}");
    assert!(sources.iter().any(|(f, _)| f.starts_with("/api")), "{sources:?}");
    let fingerprints: std::collections::HashSet<_> =
        report["findings"].as_array().unwrap().iter().map(|f| f["fingerprint"].as_str().unwrap()).collect();
    assert_eq!(fingerprints.len(), report["findings"].as_array().unwrap().len(), "fingerprints stay unique");
    // Every finding on snapshot input says where its object came from.
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["source"]["file"].is_string()));
}

#[test]
fn namespace_less_manifests_are_in_default_for_namespace_selection() {
    // kubectl apply puts them in `default`: -n default reports them, excluding default drops them.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "web.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: web, image: nginx}\n",
    );
    let snapshot = dir.path().to_str().unwrap();
    let on_web = |report: &Value| findings(report, "tagNotSpecified").len();
    assert_eq!(on_web(&json_report(&["diag", "--snapshot", snapshot]).1), 1);
    let (_, in_default) = json_report(&["diag", "--snapshot", snapshot, "-n", "default"]);
    assert_eq!(on_web(&in_default), 1);
    assert!(in_default["coverage"].as_array().unwrap().is_empty(), "default is not empty: {}", in_default["coverage"]);
    assert_eq!(on_web(&json_report(&["diag", "--snapshot", snapshot, "-n", "shop"]).1), 0);
    assert_eq!(on_web(&json_report(&["diag", "--snapshot", snapshot, "--exclude-namespace", "default"]).1), 0);
}

#[test]
fn nothing_evaluated_is_no_score_in_every_output() {
    // Every document rejected: nothing was inspected, which is not a perfect 100.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "broken.yaml", "kind: Pod\n  bad indent: [\n---\nkind: Deployment\nmetadata: [\n");
    let snapshot = dir.path().to_str().unwrap();
    let (_, report) = json_report(&["diag", "--snapshot", snapshot]);
    assert_eq!(report["coverage"].as_array().unwrap().len(), 2);
    assert!(report["summary"].get("score").is_none(), "{}", report["summary"]);
    let table = ke(&["diag", "--snapshot", snapshot]);
    assert!(table.stdout.contains("best-practice score n/a (Polaris)"), "{}", table.stdout);
    assert!(!table.stdout.contains("100/100"), "{}", table.stdout);
    let html = ke(&["diag", "--snapshot", snapshot, "-o", "html"]);
    assert!(html.stdout.contains("No best-practice score: nothing was evaluated"));
    assert!(html.stdout.contains(">n/a</text>"));
    let yaml = ke(&["diag", "--snapshot", snapshot, "-o", "yaml"]);
    assert!(!yaml.stdout.contains("score:"), "{}", yaml.stdout);
}

#[test]
fn a_snapshot_without_kubernetes_objects_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "notes.yaml", "foo: bar\n");
    let run = ke(&["diag", "--snapshot", dir.path().to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no Kubernetes objects found"), "{}", run.stderr);
}

#[test]
fn polaris_templates_in_schema_see_the_whole_object() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "polaris.yaml",
        r#"checks: {instanceLabel: warning, containerNamedAfterApp: warning}
customChecks:
  instanceLabel:
    failureMessage: Label app.kubernetes.io/instance must match metadata.name
    category: Reliability
    target: Controller
    schema:
      type: object
      properties:
        metadata:
          required: [labels]
          properties:
            labels:
              required: ["app.kubernetes.io/instance"]
              properties:
                app.kubernetes.io/instance: {const: "{{ .metadata.name }}"}
  containerNamedAfterApp:
    failureMessage: The first container is named after the workload
    category: Custom
    target: Container
    schema:
      type: object
      properties:
        name: {const: "{{ .metadata.name }}"}
"#,
    );
    let snap = write(
        dir.path(),
        "apps.yaml",
        &[
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop, labels: {app.kubernetes.io/instance: web}}\nspec: {template: {spec: {containers: [{name: web, image: x}]}}}\n",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop, labels: {app.kubernetes.io/instance: api-release}}\nspec: {template: {spec: {containers: [{name: main, image: x}]}}}\n",
        ]
        .join("---\n"),
    );
    let (_, report) = json_report(&["diag", "--snapshot", snap.to_str().unwrap(), "-f", rules.to_str().unwrap()]);
    let names = |rule: &str| {
        findings(&report, rule).iter().map(|f| f["name"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(names("instanceLabel"), ["api"]);
    assert_eq!(names("containerNamedAfterApp"), ["api"], "a container rule's template sees the workload's metadata");
    let typo = write(
        dir.path(),
        "typo.yaml",
        "checks: {x: warning}\ncustomChecks:\n  x:\n    failureMessage: x\n    target: Container\n    controllers: {include: [Deploymnt]}\n    schema: {type: object}\n",
    );
    let run = ke(&["diag", "--snapshot", snap.to_str().unwrap(), "-f", typo.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown kind `Deploymnt`"), "{}", run.stderr);
}

#[test]
fn bad_output_dir_or_previous_report_fail_before_inspecting() {
    let bad_dir = ke(&["diag", "--snapshot", "examples/demo-cluster", "--output-dir", "/proc/kubeeye-cannot-create"]);
    assert_eq!(bad_dir.code, 2);
    assert!(bad_dir.stdout.is_empty(), "nothing was inspected or printed");
    assert!(bad_dir.stderr.contains("--output-dir: /proc/kubeeye-cannot-create is not writable"), "{}", bad_dir.stderr);
    // A directory that exists but cannot be written is refused before inspecting too.
    let read_only = ke(&["diag", "--snapshot", "examples/demo-cluster", "--output-dir", "/proc"]);
    assert_eq!(read_only.code, 2);
    assert!(read_only.stdout.is_empty(), "nothing was inspected or printed");
    assert!(read_only.stderr.contains("--output-dir: /proc is not writable"), "{}", read_only.stderr);
    let missing = ke(&["diag", "--snapshot", "examples/demo-cluster", "--previous", "/nonexistent/old.json"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stdout.is_empty());
    assert!(missing.stderr.contains("/nonexistent/old.json"), "{}", missing.stderr);
}

/// Polaris accepts a bare kind as a custom check's target (`target:
/// StatefulSet`, `target: Pod`): the schema is applied to the whole object.
#[test]
fn bare_kind_targets_validate_the_whole_object() {
    let (_, report) = json_report(&[
        "diag",
        "--snapshot",
        "tests/data/polaris/bare-kind.yaml",
        "-f",
        "tests/data/polaris/bare-kind-rules.yaml",
    ]);
    let names = |rule: &str| {
        findings(&report, rule).iter().map(|f| f["name"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(names("statefulSetHasServiceName"), ["db"]);
    assert_eq!(names("podHasOwnerOrTeam"), ["debug"], "`Pod` is the Pod object, not its spec");
}

/// Quantities written as numbers (`cpu: 1.5`, `memory: 1024`) are judged as
/// the quantity strings the API server stores, so a Polaris schema with
/// `type: string` and resourceMinimum/resourceMaximum works on them.
#[test]
fn numeric_quantities_are_quantity_strings() {
    let (_, report) = json_report(&[
        "diag",
        "--snapshot",
        "tests/data/polaris/quantities.yaml",
        "-f",
        "tests/data/polaris/quantity-rules.yaml",
    ]);
    let names: Vec<_> = findings(&report, "limitsInRange").iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["beyond"]);
}

/// Polaris config files of earlier and later releases load: renamed ids
/// configure our rule with a note, checks kubeeye lacks are ignored with a
/// note, settings with no equivalent are noted, never a load error.
#[test]
fn polaris_config_files_of_every_release_load() {
    let severities = |file: &str| {
        let run = ke(&["rules", "list", "-o", "json", "-f", file]);
        assert_eq!(run.code, 0, "{file}: {}", run.stderr);
        let list: Value = serde_json::from_str(&run.stdout).unwrap();
        let of = move |id: &str| {
            list.as_array().unwrap().iter().find(|r| r["id"] == id).map(|r| r["severity"].as_str().unwrap().to_string())
        };
        (of, run.stderr)
    };
    let (of, notes) = severities("tests/data/polaris/config-0.x.yaml");
    assert_eq!(of("runAsPrivileged").as_deref(), Some("danger"), "`security.RunAsPrivileged: error`");
    assert_eq!(of("notReadOnlyRootFilesystem").as_deref(), Some("warning"));
    assert_eq!(of("pullPolicyNotAlways").as_deref(), Some("off"));
    for note in [
        "`notReadOnlyRootFileSystem` is Polaris's earlier name",
        "hostAliasSet",
        "`security.capabilities`",
        "controllers_to_scan",
    ] {
        assert!(notes.contains(note), "0.x: no note about {note}: {notes}");
    }
    let (of, notes) = severities("tests/data/polaris/config-1.x.yaml");
    assert_eq!(of("deploymentMissingReplicas").as_deref(), Some("danger"), "multipleReplicasForDeployment");
    assert_eq!(of("pdbDisruptionsIsZero").as_deref(), Some("warning"), "pdbDisruptionsAllowedGreaterThanZero");
    assert_eq!(of("imageRegistry").as_deref(), Some("danger"), "a custom check written with jsonSchema");
    assert!(notes.contains("controllersToScan"), "{notes}");
    let (of, notes) = severities("tests/data/polaris/config-9.x.yaml");
    assert_eq!(of("pdbMinAvailableGreaterThanHPAMinReplicas").as_deref(), Some("danger"));
    assert_eq!(of("metadataAndInstanceMismatched").as_deref(), Some("warning"));
    assert_eq!(of("initContainersHaveLimits").as_deref(), Some("off"), "a custom check without severity is off");
    for note in
        ["gatewayTLSMissing", "pdbMinAvailableEqualToHPAMinReplicas", "displayName", "metadataAndNameMismatched"]
    {
        assert!(notes.contains(note), "9.x: no note about {note}: {notes}");
    }
}

/// KubeEye v0.1's `checks/*.yaml` (one check per file, named by the file,
/// `promptMessage` as the failure message, `target: Pod` for the pod spec,
/// `required:` with no value) load as custom checks, a directory at a time.
#[test]
fn kubeeye_v01_check_files_load_as_custom_checks() {
    let (_, report) = json_report(&[
        "diag",
        "--snapshot",
        "tests/data/kubeeye-v0.1/workloads.yaml",
        "-f",
        "tests/data/kubeeye-v0.1/checks",
    ]);
    let hits = |rule: &str| {
        findings(&report, rule)
            .iter()
            .map(|f| format!("{}/{}", f["name"].as_str().unwrap(), f["container"].as_str().unwrap_or("-")))
            .collect::<Vec<_>>()
    };
    assert_eq!(hits("hostIPCSet"), ["legacy/-"]);
    assert_eq!(hits("hostPortSet"), ["legacy/app"]);
    assert_eq!(hits("cpuLimitsMissing"), ["legacy/app"], "`cpu: 0.5` is the string 500m");
    assert_eq!(hits("runningAsNonRoot"), ["legacy/sidecar"], "schemaTarget Pod sees the pod with this container alone");
    assert_eq!(findings(&report, "runningAsNonRoot")[0]["message"], "Should not be allowed to run as root");
}

/// `deploy/Dockerfile` is pinned by digest, and `scripts/pin-base-images`
/// re-pins a copy whose digests were taken out, with a stand-in resolver (this
/// machine reaches no registry): every FROM gets a digest, the rest stays byte
/// for byte, and `--check` tells pinned from unpinned.
#[test]
fn the_release_script_pins_the_dockerfile_base_images_by_digest() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let dockerfile = dir.path().join("Dockerfile");
    let repository = std::fs::read_to_string("deploy/Dockerfile").unwrap();
    let (name, value) = kubeeye::collect::ALLOCATOR_ENV;
    assert!(repository.lines().any(|l| l == format!("ENV {name}={value}")), "the image sets the allocator");
    let repository_froms: Vec<&str> = repository.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(repository_froms.len(), 2, "{repository}");
    for from in &repository_froms {
        let image = from.split_whitespace().nth(1).unwrap();
        let digest = image.split_once("@sha256:").map(|(_, d)| d).unwrap_or_else(|| panic!("unpinned: {from}"));
        assert!(digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()), "{from}");
    }
    // The same file with its digests taken out, as after a deliberate un-pin to move to newer images.
    let original: String = repository
        .lines()
        .map(|l| match l.strip_prefix("FROM ").and_then(|rest| rest.split_once("@sha256:")) {
            Some((image, after)) => format!("FROM {image}{}\n", &after[64..]),
            None => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&dockerfile, &original).unwrap();
    let resolver = dir.path().join("resolve");
    std::fs::write(&resolver, "#!/usr/bin/env bash\necho \"sha256:$(printf %s \"$1\" | sha256sum | cut -d' ' -f1)\"\n")
        .unwrap();
    std::fs::set_permissions(&resolver, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = |args: &[&str]| {
        std::process::Command::new("scripts/pin-base-images")
            .args(args)
            .arg(&dockerfile)
            .env("KE_DIGEST_CMD", &resolver)
            .output()
            .unwrap()
    };
    let check = script(&["--check"]);
    assert_eq!(check.status.code(), Some(1), "a Dockerfile without digests fails the check");
    assert!(String::from_utf8_lossy(&check.stderr).contains("gcr.io/distroless/cc-debian12:nonroot"));
    let pin = script(&[]);
    assert!(pin.status.success(), "{}", String::from_utf8_lossy(&pin.stderr));
    let pinned = std::fs::read_to_string(&dockerfile).unwrap();
    let froms: Vec<&str> = pinned.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{pinned}");
    for from in &froms {
        let image = from.split_whitespace().nth(1).unwrap();
        let (_, digest) = image.split_once("@sha256:").unwrap_or_else(|| panic!("{from}"));
        assert_eq!(digest.len(), 64, "{from}");
    }
    assert!(froms[0].ends_with(" AS build"), "{}", froms[0]);
    let others = |text: &str| text.lines().filter(|l| !l.starts_with("FROM ")).collect::<Vec<_>>().join("\n");
    assert_eq!(others(&pinned), others(&original));
    assert!(script(&["--check"]).status.success());
}

//! `ke diag -o sarif` and `-o junit` as a pipeline consumes them: the SARIF
//! validated by Microsoft's SARIF Multitool (schema and rules), the JUnit
//! read by a JUnit parser, both pointing at the manifest file and line.
#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::cli::ke;

/// Two manifests: the second document of `apps.yaml` starts at line 9 after a comment.
fn manifests(dir: &Path) {
    std::fs::write(
        dir.join("apps.yaml"),
        "# shop manifests\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n\
         # the web tier\n\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  \
         selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      \
         containers:\n        - name: web\n          image: nginx:1.27\n          \
         securityContext: {privileged: true}\n",
    )
    .unwrap();
}

/// The SARIF Multitool: `KE_SARIF_MULTITOOL`, or `sarif-multitool` as scripts/install-test-deps installs it.
fn multitool() -> String {
    let tool = std::env::var("KE_SARIF_MULTITOOL").unwrap_or_else(|_| "sarif-multitool".into());
    let found = Command::new(&tool).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "{tool} is missing: run scripts/install-test-deps (npm @microsoft/sarif-multitool)");
    tool
}

#[test]
fn sarif_is_valid_and_points_at_the_manifest_line() {
    let dir = tempfile::tempdir().unwrap();
    manifests(dir.path());
    let input = dir.path().to_str().unwrap();
    let run = ke(&["diag", "--snapshot", input, "-o", "sarif", "--fail-on", "danger"]);
    assert_eq!(run.code, 1, "a danger finding fails the pipeline: {}", run.stderr);
    let sarif_path = dir.path().join("ke.sarif");
    std::fs::write(&sarif_path, &run.stdout).unwrap();

    let log = dir.path().join("validation.sarif");
    let validated = Command::new(multitool())
        .args(["validate", sarif_path.to_str().unwrap(), "--output", log.to_str().unwrap()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&validated.stdout).into_owned();
    assert!(validated.status.success(), "{said}");
    let validation: Value = serde_json::from_str(&std::fs::read_to_string(&log).unwrap()).unwrap();
    let problems: Vec<&Value> = validation["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["level"] == "error" || r["ruleId"].as_str().is_some_and(|id| id.starts_with("JSON")))
        .collect();
    assert!(problems.is_empty(), "the SARIF Multitool rejects the log: {problems:#?}\n{said}");

    let sarif: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run0 = &sarif["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run0["results"].as_array().unwrap();
    let privileged = results.iter().find(|r| r["ruleId"] == "runAsPrivileged").unwrap();
    assert_eq!(privileged["level"], "error");
    let rule = &rules[privileged["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["id"], "runAsPrivileged");
    assert!(rule["help"]["text"].as_str().is_some_and(|t| t.len() > 20), "help text: {rule}");
    assert!(rule["shortDescription"]["text"].as_str().is_some_and(|t| !t.is_empty()));
    let physical = &privileged["locations"][0]["physicalLocation"];
    assert!(physical["artifactLocation"]["uri"].as_str().unwrap().ends_with("apps.yaml"), "{physical}");
    assert_eq!(physical["region"]["startLine"], 9, "the Deployment's document starts at line 9: {physical}");
    // Every result on an object read from a file has its file and line.
    assert!(results.iter().all(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64()));
}

#[test]
fn junit_is_read_by_a_junit_parser() {
    let dir = tempfile::tempdir().unwrap();
    manifests(dir.path());
    let json = ke(&["diag", "--snapshot", dir.path().to_str().unwrap(), "-o", "json"]);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    let run = ke(&["diag", "--snapshot", dir.path().to_str().unwrap(), "-o", "junit"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let suites = junit_parser::from_reader(std::io::Cursor::new(run.stdout.as_bytes()))
        .unwrap_or_else(|e| panic!("not JUnit: {e}\n{}", run.stdout));
    let findings = report["findings"].as_array().unwrap();
    let failing = findings.iter().filter(|f| f["severity"] == "danger" || f["severity"] == "warning").count();
    assert_eq!(suites.failures as usize, failing);
    assert_eq!(suites.tests as usize, findings.len());
    let cases: Vec<_> = suites.suites.iter().flat_map(|s| s.cases.iter()).collect();
    assert_eq!(cases.len(), findings.len());
    assert_eq!(cases.iter().filter(|c| c.status.is_failure()).count(), failing);
    let privileged = cases.iter().find(|c| c.name.starts_with("runAsPrivileged::")).unwrap();
    let failure = privileged.status.failure_as_ref();
    assert_eq!(failure.failure_type, "danger");
    assert!(privileged.name.contains("Deployment shop/web"), "{}", privileged.name);
    assert!(failure.text.contains("apps.yaml:9") && failure.text.contains("How to fix it"), "{}", failure.text);
    assert_eq!(privileged.line, Some(9));
    assert!(privileged.file.as_deref().is_some_and(|f| f.ends_with("apps.yaml")));
    let security = suites.suites.iter().find(|s| s.name == "Security").unwrap();
    assert!(security.failures > 0);
}

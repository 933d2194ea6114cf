//! The config reference: `schemas/config.schema.json` and `docs/config.md`
//! are generated from the config types (`ke config schema`, `ke config
//! docs`) and must be current; every example config in the repository
//! validates against the schema; the environment overrides it documents are
//! the ones `ke run` reads.
#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::path::Path;

use clap::CommandFactory;
use serde_json::Value;

use crate::common::cli::ke;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_committed_schema_and_reference_are_current() {
    for (args, file) in [(["config", "schema"], "schemas/config.schema.json"), (["config", "docs"], "docs/config.md")] {
        let run = ke(&args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let committed = std::fs::read_to_string(root().join(file)).unwrap_or_default();
        assert!(
            committed == run.stdout,
            "{file} is out of date: regenerate it with `cargo run -q -- {} > {file}`",
            args.join(" ")
        );
    }
}

fn validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schemas/config.schema.json")).unwrap()).unwrap();
    jsonschema::options().with_draft(jsonschema::Draft::Draft7).build(&schema).expect("a valid draft-07 schema")
}

fn errors(validator: &jsonschema::Validator, yaml: &str) -> Vec<String> {
    let value: Value = serde_norway::from_str(yaml).unwrap();
    validator.iter_errors(&value).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[test]
fn every_example_config_validates_against_the_schema() {
    let validator = validator();
    let configmap: Value =
        serde_norway::from_str(&std::fs::read_to_string(root().join("deploy/configmap.yaml")).unwrap()).unwrap();
    let examples = [
        ("examples/kubeeye.yaml", std::fs::read_to_string(root().join("examples/kubeeye.yaml")).unwrap()),
        ("deploy/configmap.yaml", configmap["data"]["kubeeye.yaml"].as_str().unwrap().to_string()),
    ];
    for (name, text) in &examples {
        let problems = errors(&validator, text);
        assert!(problems.is_empty(), "{name} does not validate:\n{}", problems.join("\n"));
        // And the binary reads it.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeeye.yaml");
        std::fs::write(&path, text).unwrap();
        kubeeye::config::FileConfig::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // The schema is no rubber stamp: a misspelt key, a bad word and a bad duration are caught.
    for bad in [
        "storage: {urll: s3://b}\n",
        "notify: {when: daily}\n",
        "inspection: {events: {window: soon}}\n",
        "failOn: critical\n",
    ] {
        assert!(!errors(&validator, bad).is_empty(), "the schema accepts {bad}");
    }
}

#[test]
fn documented_environment_overrides_are_the_ones_ke_run_reads() {
    let cli = kubeeye::cli::Cli::command();
    let run = cli.find_subcommand("run").unwrap();
    for (key, env, flag) in kubeeye::config::reference::OVERRIDES {
        let arg = run
            .get_arguments()
            .find(|a| a.get_long().is_some_and(|l| format!("--{l}") == *flag))
            .unwrap_or_else(|| panic!("{key}: ke run has no {flag}"));
        assert_eq!(arg.get_env().and_then(|e| e.to_str()), Some(*env), "{key}: {flag} reads another variable");
    }
}

/// The rules of a ClusterRole in a multi-document manifest file.
fn cluster_role_rules(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    text.split("\n---")
        .filter_map(|doc| serde_norway::from_str::<Value>(doc).ok())
        .filter(|d| d["kind"] == "ClusterRole")
        .flat_map(|d| d["rules"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn grants(rules: &[Value], resource: &str, verb: &str) -> bool {
    rules.iter().any(|r| {
        let has = |key: &str, want: &str| r[key].as_array().is_some_and(|a| a.iter().any(|v| v == want));
        has("resources", resource) && has("verbs", verb)
    })
}

#[test]
fn the_binary_the_deployment_and_the_readme_agree_on_defaults() {
    let defaults = kubeeye::config::FileConfig::default();
    let configmap: Value =
        serde_norway::from_str(&std::fs::read_to_string(root().join("deploy/configmap.yaml")).unwrap()).unwrap();
    let deployed: Value = serde_norway::from_str(configmap["data"]["kubeeye.yaml"].as_str().unwrap()).unwrap();
    let inspection = &deployed["inspection"];
    // Container logs: part of a complete inspection, on everywhere, granted by the base RBAC.
    assert!(defaults.inspection.logs.enabled, "the binary reads logs by default");
    assert_ne!(inspection["logs"]["enabled"], false, "deploy/configmap.yaml turns logs off");
    let base = cluster_role_rules("deploy/rbac.yaml");
    assert!(grants(&base, "pods/log", "get"), "deploy/rbac.yaml must grant get pods/log");
    // Kubelet summaries: nodes/proxy reaches every kubelet endpoint, so an opt-in everywhere.
    assert!(!defaults.inspection.collection.kubelet_summary, "the binary reads kubelet summaries by default");
    assert_ne!(inspection["collection"]["kubeletSummary"], true, "deploy/configmap.yaml turns them on");
    assert!(!grants(&base, "nodes/proxy", "get"), "nodes/proxy must stay out of deploy/rbac.yaml");
    let optional = cluster_role_rules("deploy/rbac-optional.yaml");
    assert!(grants(&optional, "nodes/proxy", "get") && !grants(&optional, "pods/log", "get"));
    let kustomization = std::fs::read_to_string(root().join("deploy/kustomization.yaml")).unwrap();
    assert!(kustomization.contains("# - rbac-optional.yaml"), "the opt-in stays commented out");
    // And the docs say the same.
    let reference = std::fs::read_to_string(root().join("docs/config.md")).unwrap();
    assert!(reference.contains("| `inspection.logs.enabled` | boolean | `true` |"), "docs/config.md");
    assert!(reference.contains("| `inspection.collection.kubeletSummary` | boolean | `false` |"), "docs/config.md");
    let readme =
        std::fs::read_to_string(root().join("README.md")).unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(readme.contains("`get pods/log` included"), "README: pods/log is in the base RBAC");
    assert!(readme.contains("container logs are read by default"), "README");
    assert!(readme.contains("off by default like `inspection.collection.kubeletSummary`"), "README");
}

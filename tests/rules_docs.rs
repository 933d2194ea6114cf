//! The generated rule reference and the rule bindings users write.
//!
//! `docs/rules.md` is generated from the rules' data and failing fixtures
//! (`ke rules docs`); a test fails when it is out of date and says how to
//! regenerate it.
#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::path::Path;

use kubeeye::rules::RuleSet;
use kubeeye::rules::docs;

mod common;

use common::cli::ke;

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

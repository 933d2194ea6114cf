//! Validation of JSON reports against the published schema,
//! `schemas/report.schema.json`. Any test that produces a JSON report calls
//! [`assert_valid_report`] on it:
//!
//! ```ignore
//! mod common;
//! common::schema::assert_valid_report(&serde_json::from_str(&stdout).unwrap());
//! ```

use std::sync::OnceLock;

use serde_json::Value;

/// The schema as published in the repository.
pub const SCHEMA: &str = include_str!("../../schemas/report.schema.json");

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(SCHEMA).expect("schemas/report.schema.json is JSON");
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .should_validate_formats(true)
            .build(&schema)
            .expect("schemas/report.schema.json is a valid draft-07 schema")
    })
}

/// Every way `report` violates the schema, as `path: message` lines; empty when valid.
pub fn report_errors(report: &Value) -> Vec<String> {
    validator().iter_errors(report).map(|e| format!("{}: {}", e.instance_path(), e)).collect()
}

/// Panics, listing every violation, unless `report` is valid against the schema.
#[track_caller]
pub fn assert_valid_report(report: &Value) {
    let errors = report_errors(report);
    assert!(errors.is_empty(), "report violates schemas/report.schema.json:\n{}", errors.join("\n"));
}

/// [`assert_valid_report`] on any serialisable report (a `kubeeye::report::Report`).
#[track_caller]
pub fn assert_valid<T: serde::Serialize>(report: &T) {
    assert_valid_report(&serde_json::to_value(report).expect("report serialises"));
}

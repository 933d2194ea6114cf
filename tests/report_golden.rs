//! Golden tests of the CSV and JSON reports (insta snapshots in
//! `tests/snapshots/`), and the published JSON Schema held against every
//! report these tests make. Review changes with `cargo insta review`, or
//! accept them with `INSTA_UPDATE=always cargo test --test integration report_golden::`.

use kubeeye::render::{self, Format};
use kubeeye::report::{Report, apply_diff, parse_report};
use serde_json::{Value, json};

use crate::common;
use crate::common::{fixture, schema, synthetic};

fn render(report: &Report, format: Format) -> String {
    let mut out = Vec::new();
    render::write(report, format, &mut out).expect("renders");
    String::from_utf8(out).expect("UTF-8")
}

fn diffed() -> Report {
    let mut report = fixture::cluster_report();
    apply_diff(&mut report, &fixture::previous_report());
    report
}

#[test]
fn json_report() {
    let report = fixture::cluster_report();
    let text = render(&report, Format::Json);
    schema::assert_valid_report(&serde_json::from_str(&text).expect("JSON"));
    insta::assert_snapshot!("report.json", text);
}

#[test]
fn json_report_with_diff() {
    let text = render(&diffed(), Format::Json);
    schema::assert_valid_report(&serde_json::from_str(&text).expect("JSON"));
    insta::assert_snapshot!("report-diff.json", text);
}

#[test]
fn csv_report() {
    let text = render(&fixture::cluster_report(), Format::Csv);
    insta::assert_snapshot!("report.csv", text);
}

#[test]
fn csv_report_with_diff_has_a_status_column() {
    let text = render(&diffed(), Format::Csv);
    let header = text.lines().next().expect("header");
    assert!(header.ends_with(",message,remediation,status"), "{header}");
    insta::assert_snapshot!("report-diff.csv", text);
}

#[test]
fn csv_is_rfc4180_and_reads_back() {
    let text = render(&diffed(), Format::Csv);
    assert!(text.starts_with('\u{feff}'), "starts with a UTF-8 byte order mark for spreadsheets");
    assert!(text.ends_with("\r\n"), "records end in CRLF");
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let report = diffed();
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("parses back");
    assert_eq!(rows.len(), report.findings.len());
    for (row, f) in rows.iter().zip(&report.findings) {
        assert_eq!(row.len(), 10);
        assert_eq!(&row[1], f.rule);
        // Multi-line remediation survives quoting.
        assert_eq!(&row[8], f.remediation);
    }
}

#[test]
fn json_round_trips_through_read_report() {
    for mut report in [fixture::cluster_report(), diffed(), fixture::previous_report()] {
        let text = render(&report, Format::Json);
        schema::assert_valid_report(&serde_json::from_str(&text).expect("JSON"));
        // Where a snapshot's objects were read from is for the CI formats only, not the JSON contract.
        report.locations.clear();
        assert_eq!(parse_report(text.as_bytes()).expect("reads back"), report);
    }
}

#[test]
fn every_fixture_report_is_valid() {
    // Every fixture directory, alone and all together (duplicate objects, many sections).
    let mut dirs: Vec<String> = std::fs::read_dir(fixture::path("tests/fixtures"))
        .expect("fixtures")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| format!("tests/fixtures/{}", e.file_name().to_string_lossy()))
        .collect();
    dirs.sort();
    dirs.push("tests/fixtures".into());
    for dir in &dirs {
        let report = fixture::report(&[dir]);
        let errors = schema::report_errors(&serde_json::to_value(&report).expect("serialises"));
        assert!(errors.is_empty(), "{dir}: {}", errors.join("\n"));
    }
}

#[test]
fn a_large_report_is_valid() {
    schema::assert_valid(&synthetic::report(2_000));
}

/// A change that makes a valid report invalid.
type Mutation = fn(&mut Value);

/// The schema is closed and typed: it must reject what the contract does not allow.
#[test]
fn schema_rejects_what_is_not_a_report() {
    let good = serde_json::to_value(diffed()).expect("serialises");
    schema::assert_valid_report(&good);
    let mutations: [(&str, Mutation); 12] = [
        ("unknown top-level field", |v| v["extra"] = json!(1)),
        ("missing summary", |v| drop(v.as_object_mut().map(|o| o.remove("summary")))),
        ("wrong schemaVersion", |v| v["schemaVersion"] = json!("9")),
        ("unknown severity", |v| v["findings"][0]["severity"] = json!("critical")),
        ("unknown section", |v| v["findings"][0]["section"] = json!("elsewhere")),
        ("unknown status", |v| v["findings"][0]["status"] = json!("resolved")),
        ("unknown finding field", |v| v["findings"][0]["extra"] = json!(true)),
        ("bad fingerprint", |v| v["findings"][0]["fingerprint"] = json!("xyz")),
        ("score over 100", |v| v["summary"]["score"] = json!(101)),
        ("unknown gap kind", |v| v["coverage"][0]["kind"] = json!("maybe")),
        ("start not a time", |v| v["startedAt"] = json!("yesterday")),
        ("resolved with a status", |v| v["diff"]["resolved"][0]["status"] = json!("open")),
    ];
    for (what, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        assert!(!schema::report_errors(&bad).is_empty(), "schema accepts a report with {what}");
    }
}

/// The demo snapshot through the real binary: a snapshot is reported as of
/// its `collectedAt`, so its JSON and CSV are the same on every run.
#[test]
fn demo_snapshot_json_and_csv() {
    for (format, name) in [("json", "demo.json"), ("csv", "demo.csv")] {
        let run = common::cli::ke(&["diag", "--snapshot", "examples/demo-cluster", "-o", format]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        // The tool version is the only field that changes by itself.
        let text =
            run.stdout.replace(concat!("\"version\": \"", env!("CARGO_PKG_VERSION"), "\""), "\"version\": \"VERSION\"");
        if format == "json" {
            schema::assert_valid_report(&serde_json::from_str(&text).expect("JSON"));
        }
        insta::assert_snapshot!(name, text);
    }
}

//! The CSV view: one row per finding, for a spreadsheet.
//!
//! Columns: `severity, rule, category, namespace, kind, name, container,
//! message, remediation`, then `status` (`new` / `open`) when the report was
//! compared with a previous one, `source` (`file:line` of the object's
//! manifest) when the findings were read from files, and `section` when some
//! findings are of the node checks (host rules), which share kind `Node` with
//! the nodes section's. Quoting follows RFC 4180 (the `csv` crate:
//! fields with commas, quotes or line breaks are quoted, quotes doubled,
//! records end in CRLF). The file is UTF-8 and starts with a byte order mark,
//! without which Excel reads it as the local code page and garbles names and
//! the `…` of shortened messages.
//!
//! Formula injection: a spreadsheet evaluates a cell that starts with `=`,
//! `+`, `-` or `@` (and, in some, tab or carriage return) as a formula, so an
//! event message or object name like `=HYPERLINK("http://evil", "click")`
//! would run when the file is opened. Every such cell gets a leading `'`,
//! which spreadsheets display as text and do not show. The cost is that a
//! message which really starts with `-` carries the `'` too when the file is
//! read by a program.

use std::io::Write;

use crate::report::{Finding, FindingStatus, Report};

/// UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

const COLUMNS: [&str; 9] =
    ["severity", "rule", "category", "namespace", "kind", "name", "container", "message", "remediation"];

/// Writes one row per finding, in report order.
pub fn write_csv(report: &Report, out: &mut dyn Write) -> Result<(), csv::Error> {
    out.write_all(BOM)?;
    let with_status = report.diff.is_some();
    let with_source = report.findings.iter().any(|f| f.source.is_some());
    let with_section = report.findings.iter().any(|f| f.section == crate::inventory::section::NODE_CHECKS);
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
    let mut header: Vec<&str> = COLUMNS.to_vec();
    if with_status {
        header.push("status");
    }
    if with_source {
        header.push("source");
    }
    if with_section {
        header.push("section");
    }
    w.write_record(&header)?;
    for f in &report.findings {
        let mut cells = row(f, with_status);
        if with_source {
            cells.push(cell(&f.source.as_ref().map(crate::inventory::SourceLocation::display).unwrap_or_default()));
        }
        if with_section {
            cells.push(cell(&f.section));
        }
        w.write_record(cells)?;
    }
    w.flush()?;
    Ok(())
}

fn row(f: &Finding, with_status: bool) -> Vec<String> {
    let mut cells = vec![
        f.severity.as_str().to_string(),
        cell(&f.rule),
        cell(&f.category),
        cell(f.namespace.as_deref().unwrap_or("")),
        cell(&f.kind),
        cell(&f.name),
        cell(f.container.as_deref().unwrap_or("")),
        cell(&f.message),
        cell(&f.remediation),
    ];
    if with_status {
        cells.push(
            match f.status {
                Some(FindingStatus::New) => "new",
                Some(FindingStatus::Open) => "open",
                None => "",
            }
            .to_string(),
        );
    }
    cells
}

/// A cell a spreadsheet will show as text, never evaluate.
pub fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-2"), "'-2");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("\rx"), "'\rx");
        assert_eq!(cell("web-1"), "web-1");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn a_section_column_only_with_node_check_findings() {
        let finding = |section: &str| {
            serde_json::json!({
                "rule": "r", "severity": "warning", "category": "Node", "section": section, "kind": "Node",
                "name": "worker-1", "message": "m", "remediation": "", "fingerprint": section,
            })
        };
        let report = |findings: Vec<serde_json::Value>| -> Report {
            serde_json::from_value(serde_json::json!({
                "schemaVersion": "4", "tool": {"name": "kubeeye", "version": "0"},
                "cluster": {"name": "c", "sources": []}, "startedAt": "2026-11-25T02:00:00Z",
                "finishedAt": "2026-11-25T02:00:00Z", "complete": true,
                "summary": {"danger": 0, "warning": 0, "info": 0, "byCategory": {}, "passed": 0},
                "coverage": [], "findings": findings,
            }))
            .unwrap()
        };
        let csv = |r: &Report| {
            let mut out = Vec::new();
            write_csv(r, &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        let with = csv(&report(vec![finding("nodes"), finding("node checks")]));
        let lines: Vec<&str> = with.lines().collect();
        assert!(lines[0].ends_with(",remediation,section"), "{with}");
        assert!(lines[1].ends_with(",nodes") && lines[2].ends_with(",node checks"), "{with}");
        let without = csv(&report(vec![finding("nodes")]));
        assert!(without.lines().next().is_some_and(|h| h.ends_with(",remediation")), "{without}");
    }
}

//! Reading a report back (the previous run's, for a diff, or any saved one to
//! re-render): checks that the file is a kubeeye report of the version this
//! build understands before trusting its shape.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{READABLE_SCHEMA_VERSIONS, Report, SCHEMA_VERSION};

/// Why bytes are not a report this build can use.
#[derive(Debug, thiserror::Error)]
pub enum ParseReportError {
    /// Not JSON at all.
    #[error("not JSON ({0}); a kubeeye report is the JSON that `ke diag -o json` writes")]
    NotJson(#[source] serde_json::Error),
    /// JSON, but without a string `schemaVersion`.
    #[error("not a kubeeye report: it has no `schemaVersion` (expected the JSON that `ke diag -o json` writes)")]
    NotAReport,
    /// A report of another structure version.
    #[error("a kubeeye report of schema version {found}, but this ke reads versions 1 to {SCHEMA_VERSION}")]
    Version {
        /// The version the file declares.
        found: String,
    },
    /// The right version, but a field is missing or of the wrong type.
    #[error("not a valid kubeeye report: {0}")]
    Invalid(#[source] serde_json::Error),
}

/// Why a report file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadReportError {
    /// The file could not be read.
    #[error("cannot read report {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a usable report.
    #[error("{}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: ParseReportError,
    },
}

/// Parses a JSON report, checking `schemaVersion` before the structure.
pub fn parse_report(bytes: &[u8]) -> Result<Report, ParseReportError> {
    let value: Value = serde_json::from_slice(bytes).map_err(ParseReportError::NotJson)?;
    match value.get("schemaVersion") {
        Some(Value::String(v)) if READABLE_SCHEMA_VERSIONS.contains(&v.as_str()) => {}
        Some(Value::String(v)) => return Err(ParseReportError::Version { found: v.clone() }),
        _ => return Err(ParseReportError::NotAReport),
    }
    serde_json::from_value(value).map_err(ParseReportError::Invalid)
}

/// Reads a JSON report from a file.
pub fn read_report(path: &Path) -> Result<Report, ReadReportError> {
    let bytes = std::fs::read(path).map_err(|source| ReadReportError::Io { path: path.to_path_buf(), source })?;
    parse_report(&bytes).map_err(|source| ReadReportError::Parse { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_a_report_says_so() {
        assert!(matches!(parse_report(b"<html>"), Err(ParseReportError::NotJson(_))));
        assert!(matches!(parse_report(br#"{"apiVersion": "v1", "kind": "Pod"}"#), Err(ParseReportError::NotAReport)));
        assert!(matches!(parse_report(br#"{"schemaVersion": 1}"#), Err(ParseReportError::NotAReport)));
        let err = parse_report(br#"{"schemaVersion": "9"}"#).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("schema version 9") && err.contains("reads versions 1 to 4"), "{err}");
        assert!(matches!(parse_report(br#"{"schemaVersion": "1"}"#), Err(ParseReportError::Invalid(_))));
        assert!(matches!(parse_report(br#"{"schemaVersion": "2"}"#), Err(ParseReportError::Invalid(_))));
        assert!(matches!(parse_report(br#"{"schemaVersion": "3"}"#), Err(ParseReportError::Invalid(_))));
        assert!(matches!(parse_report(br#"{"schemaVersion": "4"}"#), Err(ParseReportError::Invalid(_))));
    }

    #[test]
    fn a_version_2_report_without_exemptions_reads() {
        let v2 = br#"{"schemaVersion": "2", "tool": {"name": "kubeeye", "version": "0.1.0"},
            "cluster": {"name": "c", "sources": []}, "startedAt": "2026-11-25T02:00:00Z",
            "finishedAt": "2026-11-25T02:00:00Z", "complete": true, "health": {"status": "healthy", "reasons": []},
            "summary": {"danger": 0, "warning": 0, "info": 0, "byCategory": {}, "passed": 0, "score": 100},
            "coverage": [], "findings": []}"#;
        let report = parse_report(v2).unwrap_or_else(|e| panic!("{e}"));
        assert!(report.exemptions.is_empty());
        let v3 = String::from_utf8_lossy(v2).replace(r#""schemaVersion": "2""#, r#""schemaVersion": "3""#);
        let report = parse_report(v3.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert!(report.node_checks.is_none(), "a version 3 report has no nodeChecks");
    }

    #[test]
    fn file_errors_name_the_file() {
        let missing = Path::new("/nonexistent/report.json");
        let err = read_report(missing).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("/nonexistent/report.json"), "{err}");
    }
}

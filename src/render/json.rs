//! The JSON and YAML views of the report contract.

use std::io::Write;

use crate::report::Report;

/// Writes the report as pretty JSON with a trailing newline.
pub fn write_json(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}

/// Writes the report as YAML.
pub fn write_yaml(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let text = serde_norway::to_string(report).map_err(std::io::Error::other)?;
    out.write_all(text.as_bytes())
}

//! Rendering: a [`Report`] into bytes. Every renderer writes to any
//! `io::Write`, so tests render into a `Vec<u8>` and delivery is a separate
//! step. [`write`] picks the renderer for a [`Format`].

use std::io::Write;

use crate::report::Report;

pub mod csv;
pub mod html;
pub mod json;
pub mod junit;
pub mod metrics;
pub mod sarif;
pub mod table;
pub mod terminal;

/// An output format of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text tables for a terminal.
    Table(table::TableOptions),
    /// The report contract as pretty JSON (`schemas/report.schema.json`).
    Json,
    /// The report contract as YAML.
    Yaml,
    /// One row per finding, for spreadsheets.
    Csv,
    /// A single self-contained HTML page.
    Html,
    /// The report's counts as OpenMetrics, for alerting (`report.prom` in the archive).
    OpenMetrics,
    /// SARIF 2.1.0, for code-scanning services.
    Sarif,
    /// JUnit XML, for CI test reports.
    Junit,
}

impl Format {
    /// The file extension of a report in this format (`report.<ext>`).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Table(_) => "txt",
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Csv => "csv",
            Format::Html => "html",
            Format::OpenMetrics => "prom",
            Format::Sarif => "sarif",
            Format::Junit => "xml",
        }
    }
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Writing the output failed.
    #[error("cannot write the report: {0}")]
    Io(#[from] std::io::Error),
    /// Serialising to JSON or YAML failed.
    #[error("cannot serialise the report: {0}")]
    Serialize(#[from] serde_json::Error),
    /// Writing CSV failed.
    #[error("cannot write the CSV report: {0}")]
    Csv(#[from] ::csv::Error),
    /// A template is broken or asks for a field the report does not have
    /// (templates run in strict mode: a missing field is an error, not an empty cell).
    #[error("cannot render the HTML report: {0}")]
    Template(#[from] handlebars::RenderError),
    /// A built-in template does not compile.
    #[error("HTML template does not compile: {0}")]
    TemplateSyntax(#[from] handlebars::TemplateError),
}

/// Writes `report` in `format` to `out`.
pub fn write(report: &Report, format: Format, out: &mut dyn Write) -> Result<(), RenderError> {
    match format {
        Format::Table(options) => table::write_table(report, out, options)?,
        Format::Json => json::write_json(report, out)?,
        Format::Yaml => json::write_yaml(report, out)?,
        Format::Csv => csv::write_csv(report, out)?,
        Format::Html => html::write_html(report, out)?,
        Format::OpenMetrics => metrics::write_metrics(report, metrics::Dialect::OpenMetrics, out)?,
        Format::Sarif => sarif::write_sarif(report, out)?,
        Format::Junit => junit::write_junit(report, out)?,
    }
    Ok(())
}

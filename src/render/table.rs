//! Plain-text tables for the terminal, in the layout of the original tool:
//! one row per object and severity, with the failed rule ids in brackets.

use std::collections::BTreeMap;
use std::io::Write;

use crate::report::{Finding, Report, Severity};

/// Table rendering options.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    /// Colour severities with ANSI escapes (only on a TTY).
    pub color: bool,
}

/// A simple aligned table; cells are padded before colouring so escapes never skew columns.
struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<(String, Option<&'static str>)>>,
}

impl Table {
    fn new(header: Vec<&'static str>) -> Self {
        Table { header, rows: Vec::new() }
    }

    fn write(&self, out: &mut dyn Write, color: bool) -> std::io::Result<()> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, (cell, _)) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let last = self.header.len() - 1;
        let header: Vec<String> = self
            .header
            .iter()
            .enumerate()
            .map(|(i, h)| if i == last { (*h).to_string() } else { format!("{h:<w$}", w = widths[i]) })
            .collect();
        writeln!(out, "{}", header.join("   ").trim_end())?;
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, (cell, style))| {
                    let padded = if i == last { cell.clone() } else { format!("{cell:<w$}", w = widths[i]) };
                    match (color, style) {
                        (true, Some(code)) => format!("\x1b[{code}m{padded}\x1b[0m"),
                        _ => padded,
                    }
                })
                .collect();
            writeln!(out, "{}", cells.join("   ").trim_end())?;
        }
        Ok(())
    }
}

fn severity_style(s: Severity) -> &'static str {
    match s {
        Severity::Danger => "1;31",
        Severity::Warning => "33",
        Severity::Info => "36",
    }
}

/// Writes the report as tables (TIME is when the inspection ran): workloads, cluster-scoped objects, coverage, and a summary line.
pub fn write_table(report: &Report, out: &mut dyn Write, opts: TableOptions) -> std::io::Result<()> {
    if report.findings.is_empty() {
        writeln!(out, "No findings.")?;
    } else {
        let mut table = Table::new(vec!["NAMESPACE", "SEVERITY", "NAME", "KIND", "TIME", "MESSAGE"]);
        for ((ns, severity, kind, name), group) in group_by_object(&report.findings) {
            let mut rules: Vec<&str> = group.iter().map(|f| f.rule.as_str()).collect();
            rules.dedup();
            table.rows.push(vec![
                (ns.unwrap_or("-").to_string(), None),
                (severity.to_string(), Some(severity_style(severity))),
                (name.to_string(), None),
                (kind.to_string(), None),
                (report.started_at.clone(), None),
                (format!("[{}]", rules.join(" ")), None),
            ]);
        }
        table.write(out, opts.color)?;
    }
    if !report.coverage.is_empty() {
        writeln!(out)?;
        writeln!(out, "NOT INSPECTED ({}):", report.coverage.len())?;
        let mut table = Table::new(vec!["SECTION", "RESOURCE", "REASON"]);
        for gap in &report.coverage {
            table.rows.push(vec![
                (gap.section.clone(), None),
                (gap.resource.clone(), None),
                (gap.reason.clone(), None),
            ]);
        }
        table.write(out, opts.color)?;
    }
    let s = &report.summary;
    writeln!(out)?;
    writeln!(
        out,
        "{} danger, {} warning, {} info; {} checks passed; score {}/100{}",
        s.danger,
        s.warning,
        s.info,
        s.passed,
        s.score,
        if report.complete { "" } else { " (inspection incomplete: see NOT INSPECTED)" }
    )
}

type GroupKey<'a> = (Option<&'a str>, Severity, &'a str, &'a str);

/// Groups findings by namespace, severity, kind and name, keeping rule ids in first-seen order.
fn group_by_object(findings: &[Finding]) -> BTreeMap<GroupKey<'_>, Vec<&Finding>> {
    let mut groups: BTreeMap<GroupKey<'_>, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        groups.entry((f.namespace.as_deref(), f.severity, f.kind.as_str(), f.name.as_str())).or_default().push(f);
    }
    for group in groups.values_mut() {
        group.sort_by(|a, b| a.rule.cmp(&b.rule));
    }
    groups
}

//! Plain-text tables for the terminal, one per report section, in the layout
//! of the original tool: components (NAME, SEVERITY, TIME, MESSAGE), nodes
//! (NODENAME, SEVERITY, HEARTBEATTIME, REASON, MESSAGE), events (NAMESPACE,
//! SEVERITY, PODNAME, EVENTTIME, REASON, MESSAGE), and workloads with the
//! failed rule ids in brackets per object. Node checks (host rules) are one
//! row per rule and message with the nodes counted (RULE, SEVERITY, NODES,
//! MESSAGE: `212 of 300 nodes`), and their per-node coverage gaps one row per
//! reason (`src/report/node_checks.rs`).
//!
//! Every cell from the cluster is made printable first: control characters
//! (terminal escapes in a log line, say) are shown escaped, never sent to the
//! terminal. Cells are then cut to a width ([`MAX_COLUMN`] for padded columns,
//! [`MAX_LAST_COLUMN`] for the last) with a `…`: an event reason or object
//! name can be any length, and one wide cell would pad every row to its width.

use std::collections::BTreeMap;
use std::io::Write;

use crate::inventory::section;
use crate::report::{ExemptionSource, Finding, HealthStatus, Report, Severity, node_checks};

/// Table rendering options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// Colour severities with ANSI escapes (only on a TTY).
    pub color: bool,
}

/// Widest padded column, in characters: longer than any name Kubernetes accepts (253).
pub const MAX_COLUMN: usize = 256;

/// Widest last column (a message, never padded), in characters.
pub const MAX_LAST_COLUMN: usize = 4096;

type Cell = (String, Option<&'static str>);

/// A simple aligned table; cells are padded before colouring so escapes never skew columns.
struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    fn new(header: Vec<&'static str>) -> Self {
        Table { header, rows: Vec::new() }
    }

    fn row(&mut self, cells: Vec<Cell>) {
        let last = self.header.len() - 1;
        let row = cells.into_iter().enumerate().map(|(i, (text, style))| {
            let max = if i == last { MAX_LAST_COLUMN } else { MAX_COLUMN };
            (truncate(printable(&text), max), style)
        });
        self.rows.push(row.collect());
    }

    fn write(&self, out: &mut dyn Write, color: bool) -> std::io::Result<()> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, (cell, _)) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let last = self.header.len() - 1;
        // Padded by hand: `format!("{:<w$}")` panics for widths over 65,535.
        let pad = |i: usize, text: &str| {
            let mut cell = text.to_string();
            if i != last {
                cell.extend(std::iter::repeat_n(' ', widths[i].saturating_sub(text.chars().count())));
            }
            cell
        };
        let header: Vec<String> = self.header.iter().enumerate().map(|(i, h)| pad(i, h)).collect();
        writeln!(out, "{}", header.join("   ").trim_end())?;
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, (cell, style))| {
                    let padded = pad(i, cell);
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

/// One line, with control characters shown as escapes (`\x1b`) instead of interpreted.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters: the first `max - 1` and a `…` when cut.
fn truncate(mut text: String, max: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max) {
        let keep = text[..cut].char_indices().nth(max - 1).map_or(cut, |(i, _)| i);
        text.truncate(keep);
        text.push('…');
    }
    text
}

fn severity_style(s: Severity) -> &'static str {
    match s {
        Severity::Danger => "1;31",
        Severity::Warning => "33",
        Severity::Info => "36",
    }
}

fn sev(s: Severity) -> Cell {
    (s.to_string(), Some(severity_style(s)))
}

fn plain(s: impl Into<String>) -> Cell {
    (s.into(), None)
}

fn or_dash(s: Option<&str>) -> String {
    s.filter(|s| !s.is_empty()).unwrap_or("-").to_string()
}

/// Writes the report as one table per section, then coverage and a summary line.
pub fn write_table(report: &Report, out: &mut dyn Write, opts: TableOptions) -> std::io::Result<()> {
    let in_section = |names: &[&str]| -> Vec<&Finding> {
        report.findings.iter().filter(|f| names.contains(&f.section.as_str())).collect()
    };
    let mut first = true;
    let mut heading = |out: &mut dyn Write, title: &str| -> std::io::Result<()> {
        if !first {
            writeln!(out)?;
        }
        first = false;
        writeln!(out, "{title}")
    };
    let time = |f: &Finding| f.last_seen.as_deref().unwrap_or(&report.started_at).to_string();

    // Health before hygiene: whether the cluster is up comes first.
    if let Some(health) = &report.health {
        let style = match health.status {
            HealthStatus::Down => "1;31",
            HealthStatus::Degraded => "1;33",
            HealthStatus::Healthy => "1;32",
        };
        let text = printable(&health.headline(usize::MAX));
        let text = if opts.color { format!("\x1b[{style}m{text}\x1b[0m") } else { text };
        heading(out, &format!("HEALTH  {text}"))?;
    }
    if let Some(overview) = &report.overview {
        heading(out, "OVERVIEW")?;
        let mut t = Table::new(vec!["ITEM", "VALUE"]);
        for (label, value) in overview.items() {
            t.row(vec![plain(label), plain(value)]);
        }
        t.write(out, opts.color)?;
    }

    let components = in_section(&[section::CONTROL_PLANE]);
    if !components.is_empty() {
        heading(out, "CONTROL PLANE")?;
        let mut t = Table::new(vec!["NAME", "SEVERITY", "TIME", "MESSAGE"]);
        for f in components {
            t.row(vec![plain(&f.name), sev(f.severity), plain(time(f)), plain(format!("[{}] {}", f.rule, f.message))]);
        }
        t.write(out, opts.color)?;
    }
    let nodes = in_section(&[section::NODES]);
    if !nodes.is_empty() {
        heading(out, "NODES")?;
        let mut t = Table::new(vec!["NODENAME", "SEVERITY", "HEARTBEATTIME", "REASON", "MESSAGE"]);
        for f in nodes {
            t.row(vec![
                plain(&f.name),
                sev(f.severity),
                plain(or_dash(f.last_seen.as_deref())),
                plain(or_dash(f.reason.as_deref())),
                plain(format!("[{}] {}", f.rule, f.message)),
            ]);
        }
        t.write(out, opts.color)?;
    }
    if let Some(headline) = node_checks::headline(report) {
        // One row per rule and message, however many nodes it failed on.
        let title = headline.strip_prefix("Node checks: ").unwrap_or(&headline);
        heading(out, &format!("NODE CHECKS  {}", printable(title)))?;
        let groups = node_checks::group_findings(report);
        if !groups.is_empty() {
            let mut t = Table::new(vec!["RULE", "SEVERITY", "NODES", "MESSAGE"]);
            for g in &groups {
                t.row(vec![
                    plain(&g.rule),
                    sev(g.severity),
                    plain(g.count_text()),
                    plain(format!("{} ({})", g.message, node_checks::node_list(&g.nodes, node_checks::NODES_SHOWN))),
                ]);
            }
            t.write(out, opts.color)?;
        }
    }
    let pods = in_section(&[section::PODS]);
    if !pods.is_empty() {
        heading(out, "PODS")?;
        let mut t = Table::new(vec!["NAMESPACE", "SEVERITY", "NAME", "KIND", "CONTAINER", "REASON", "MESSAGE"]);
        for f in pods {
            t.row(vec![
                plain(or_dash(f.namespace.as_deref())),
                sev(f.severity),
                plain(&f.name),
                plain(&f.kind),
                plain(or_dash(f.container.as_deref())),
                plain(or_dash(f.reason.as_deref())),
                plain(&f.message),
            ]);
        }
        t.write(out, opts.color)?;
    }
    let events = in_section(&[section::EVENTS]);
    if !events.is_empty() {
        heading(out, "EVENTS")?;
        let mut t = Table::new(vec!["NAMESPACE", "SEVERITY", "PODNAME", "EVENTTIME", "REASON", "MESSAGE"]);
        for f in events {
            let name = if f.kind == "Pod" { f.name.to_string() } else { format!("{}/{}", f.kind, f.name) };
            let count = f.count.filter(|c| *c > 1).map(|c| format!(" (x{c})")).unwrap_or_default();
            t.row(vec![
                plain(or_dash(f.namespace.as_deref())),
                sev(f.severity),
                plain(name),
                plain(time(f)),
                plain(or_dash(f.reason.as_deref())),
                plain(format!("{}{count}", f.message)),
            ]);
        }
        t.write(out, opts.color)?;
    }
    let logs = in_section(&[section::LOGS]);
    if !logs.is_empty() {
        heading(out, "CONTAINER LOGS")?;
        let mut t = Table::new(vec!["NAMESPACE", "SEVERITY", "PODNAME", "CONTAINER", "RULE", "MESSAGE"]);
        for f in logs {
            t.row(vec![
                plain(or_dash(f.namespace.as_deref())),
                sev(f.severity),
                plain(&f.name),
                plain(or_dash(f.container.as_deref())),
                plain(&f.rule),
                plain(&f.message),
            ]);
        }
        t.write(out, opts.color)?;
    }
    let workloads = in_section(&[section::WORKLOADS, section::RBAC]);
    if !workloads.is_empty() {
        heading(out, "WORKLOADS")?;
        let mut t = Table::new(vec!["NAMESPACE", "SEVERITY", "NAME", "KIND", "TIME", "MESSAGE"]);
        let groups = group_by_object(&workloads);
        // Where two objects share a name (a manifest and its patch), the name says which file.
        let objects: std::collections::BTreeSet<_> =
            groups.keys().map(|(ns, _, kind, name, source)| (*ns, *kind, *name, source)).collect();
        let mut names: BTreeMap<(Option<&str>, &str, &str), usize> = BTreeMap::new();
        for (ns, kind, name, _) in objects {
            *names.entry((ns, kind, name)).or_default() += 1;
        }
        for ((ns, severity, kind, name, source), group) in &groups {
            let mut rules: Vec<&str> = group.iter().map(|f| f.rule.as_str()).collect();
            rules.dedup();
            let shown = match source {
                Some(at) if names.get(&(*ns, kind, name)).is_some_and(|n| *n > 1) => format!("{name} ({at})"),
                _ => name.to_string(),
            };
            t.row(vec![
                plain(ns.unwrap_or("-")),
                sev(*severity),
                plain(shown),
                plain(*kind),
                plain(&report.started_at),
                plain(format!("[{}]", rules.join(" "))),
            ]);
        }
        t.write(out, opts.color)?;
    }
    if report.findings.is_empty() {
        heading(out, "No findings.")?;
    }
    // Annotations and the user's own config exemptions in full: an object
    // exempting itself must show. kubeeye's defaults (kube-system agents) in one line.
    let (builtin, listed): (Vec<_>, Vec<_>) =
        report.exemptions.iter().partition(|e| e.source == ExemptionSource::Config && e.origin == BUILT_IN);
    if !listed.is_empty() {
        heading(out, &format!("EXEMPTED ({}):", listed.len()))?;
        let mut t = Table::new(vec!["NAMESPACE", "KIND", "NAME", "SOURCE", "RULES"]);
        for e in listed {
            t.row(vec![
                plain(or_dash(e.namespace.as_deref())),
                plain(&e.kind),
                plain(&e.name),
                plain(format!("{} {}", e.source.as_str(), e.origin)),
                plain(format!("[{}]", e.rules.join(" "))),
            ]);
        }
        t.write(out, opts.color)?;
    }
    if !builtin.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{} exempted by kubeeye's default exemptions (rules/exemptions.yaml; -o json lists them)",
            plural_objects(builtin.len())
        )?;
    }
    if !report.coverage.is_empty() {
        // The same fault on many nodes is one row.
        let coverage = node_checks::summarised_coverage(report);
        heading(out, &format!("NOT INSPECTED ({}):", coverage.len()))?;
        let mut t = Table::new(vec!["SECTION", "RESOURCE", "KIND", "REASON"]);
        for gap in &coverage {
            let kind = match gap.kind {
                crate::inventory::GapKind::Error => "error",
                crate::inventory::GapKind::Unavailable => "unavailable",
            };
            t.row(vec![plain(&gap.section), plain(&gap.resource), plain(kind), plain(&gap.reason)]);
        }
        t.write(out, opts.color)?;
    }
    let s = &report.summary;
    writeln!(out)?;
    let annotated = report.exemptions.iter().filter(|e| e.source == ExemptionSource::Annotation).count();
    writeln!(
        out,
        "{} danger, {} warning, {} info; {} checks passed; best-practice score {} (Polaris){}{}",
        s.danger,
        s.warning,
        s.info,
        s.passed,
        s.score_text(),
        if annotated == 0 { String::new() } else { format!("; {annotated} exempted by annotation (see EXEMPTED)") },
        if report.complete { "" } else { " (inspection incomplete: see NOT INSPECTED)" }
    )?;
    if let Some(d) = &report.diff {
        let unverified = if d.unverified.is_empty() {
            String::new()
        } else {
            format!(", {} not verified this time", d.unverified.len())
        };
        writeln!(
            out,
            "since {}: {} new, {} still open, {} resolved{unverified} (-o html lists them)",
            d.previous_started_at,
            d.new,
            d.open,
            d.resolved.len()
        )?;
    }
    Ok(())
}

/// The origin of kubeeye's default exemptions.
const BUILT_IN: &str = "built-in";

fn plural_objects(n: usize) -> String {
    if n == 1 { "1 object".into() } else { format!("{n} objects") }
}

/// Namespace, severity, kind, name, and where the object was read from (objects
/// of one name from different files are different rows).
type GroupKey<'a> = (Option<&'a str>, Severity, &'a str, &'a str, Option<String>);

/// Groups findings by namespace, severity, kind and name, keeping rule ids sorted.
fn group_by_object<'a>(findings: &[&'a Finding]) -> BTreeMap<GroupKey<'a>, Vec<&'a Finding>> {
    let mut groups: BTreeMap<GroupKey<'_>, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        let source = f.source.as_ref().map(crate::inventory::SourceLocation::display);
        groups
            .entry((f.namespace.as_deref(), f.severity, f.kind.as_str(), f.name.as_str(), source))
            .or_default()
            .push(f);
    }
    for group in groups.values_mut() {
        group.sort_by(|a, b| a.rule.cmp(&b.rule));
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("ok\x1b[31mred\nnext"), "ok\\u{1b}[31mred next");
    }

    fn event(name: &str, reason: &str) -> Finding {
        serde_json::from_value(serde_json::json!({
            "rule": "WarningEvent", "severity": "warning", "category": "Events", "section": section::EVENTS,
            "kind": "Pod", "namespace": "shop", "name": name, "message": "Back-off restarting failed container",
            "remediation": "", "fingerprint": "f", "reason": reason,
        }))
        .unwrap()
    }

    fn render(findings: Vec<Finding>) -> String {
        let report = Report { schema_version: "1".into(), ..Report::of_findings(findings) };
        let mut out = Vec::new();
        write_table(&report, &mut out, TableOptions::default()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_cell_over_65535_characters_does_not_panic() {
        // `format!("{:<w$}")` panicked with "Formatting argument out of range".
        let out = render(vec![event("web-1", &"BackOff".repeat(10_000)), event("web-2", "BackOff")]);
        let wide = out.lines().find(|l| l.contains("web-1")).unwrap();
        assert!(wide.contains(&format!("{}…", &"BackOff".repeat(40)[..MAX_COLUMN - 1])), "{wide}");
        assert!(wide.chars().count() < 6 * (MAX_COLUMN + 3) + MAX_LAST_COLUMN, "{}", wide.len());
    }

    #[test]
    fn one_wide_cell_does_not_pad_every_row() {
        // A 60,000-character name used to pad all 1,000 rows to its width: 60 MB.
        let mut findings: Vec<Finding> = (0..1000).map(|i| event(&format!("web-{i}"), "BackOff")).collect();
        findings.push(event(&"x".repeat(60_000), "BackOff"));
        let out = render(findings);
        assert!(out.len() < 1001 * (MAX_COLUMN + 200), "{} bytes", out.len());
        // Ordinary rows are as before: the name column is as wide as the longest (cut) name.
        let row = out.lines().find(|l| l.contains("web-7 ")).unwrap();
        assert!(row.contains(&format!("web-7{}", " ".repeat(MAX_COLUMN - 5 + 3))), "{row}");
    }

    #[test]
    fn long_messages_are_cut_and_short_cells_kept() {
        assert_eq!(truncate("abcdef".into(), 4), "abc…");
        assert_eq!(truncate("abcd".into(), 4), "abcd");
        assert_eq!(truncate("äöüßé".into(), 3), "äö…");
        let mut f = event("web-1", "BackOff");
        f.message = "m".repeat(10_000).into();
        let out = render(vec![f]);
        let row = out.lines().find(|l| l.contains("web-1")).unwrap();
        assert!(row.ends_with(&format!("{}…", "m".repeat(MAX_LAST_COLUMN - 1))), "{}", row.len());
    }
}

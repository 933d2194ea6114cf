//! Wiring: turns parsed command lines into work, and work into an exit status.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Context;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::checks;
use crate::cli::{ColorChoice, Command, DiagArgs, FailOn, ListFormat, OutputFormat, RulesCommand, Scope};
use crate::collect::offline;
use crate::inventory::NamespaceFilter;
use crate::render;
use crate::report::{Cluster, Report, SCHEMA_VERSION, Severity, Summary, Tool};
use crate::rules::{RuleSet, Target};

/// How a run ended; the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Inspection complete, nothing at or above `--fail-on`.
    Clean = 0,
    /// A finding reached `--fail-on`.
    Findings = 1,
    /// Bad input: rules, flags, paths. Nothing was inspected.
    Invalid = 2,
    /// The inspection could not see everything (see the report's coverage).
    Incomplete = 3,
}

/// Runs one command, writing its output to `out`.
pub fn run(command: Command, color: ColorChoice, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Diag(args) => diag(&args, color, out),
        Command::Rules { command } => rules(command, out),
    }
}

fn diag(args: &DiagArgs, color: ColorChoice, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let rules = RuleSet::load(&args.rules)?;
    let started = now();
    let mut inventory = offline::load(&args.snapshot)?;
    inventory.retain_namespaces(&namespace_filter(&args.scope));
    let evaluation = checks::evaluate(&inventory, &rules);
    let cluster_name = args
        .cluster_name
        .clone()
        .or_else(|| inventory.cluster.clone())
        .unwrap_or_else(|| default_cluster_name(&args.snapshot[0]));
    let report = build_report(cluster_name, inventory.sources.clone(), started, inventory.gaps.clone(), evaluation);
    match args.output {
        OutputFormat::Table => {
            let color = use_color(color);
            render::table::write_table(&report, out, render::table::TableOptions { color })?
        }
        OutputFormat::Json => render::json::write_json(&report, out)?,
        OutputFormat::Yaml => render::json::write_yaml(&report, out)?,
    }
    out.flush()?;
    Ok(exit_status(&report, args.fail_on))
}

/// The exit status a report calls for: incomplete wins over findings.
pub fn exit_status(report: &Report, fail_on: Option<FailOn>) -> ExitStatus {
    let threshold = fail_on.map(|f| match f {
        FailOn::Danger => Severity::Danger,
        FailOn::Warning => Severity::Warning,
    });
    if !report.complete {
        ExitStatus::Incomplete
    } else if threshold.is_some_and(|t| report.fails_at(t)) {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    }
}

/// Assembles the report from an evaluation.
pub fn build_report(
    cluster: String,
    sources: Vec<String>,
    started_at: String,
    mut coverage: Vec<crate::inventory::CoverageGap>,
    evaluation: checks::Evaluation,
) -> Report {
    coverage.extend(evaluation.gaps);
    Report {
        schema_version: SCHEMA_VERSION.into(),
        tool: Tool::default(),
        cluster: Cluster { name: cluster, sources },
        started_at,
        finished_at: now(),
        complete: !coverage.iter().any(|g| g.kind == crate::inventory::GapKind::Error),
        summary: Summary::from_findings(&evaluation.findings, evaluation.passed),
        coverage,
        findings: evaluation.findings,
    }
}

fn now() -> String {
    OffsetDateTime::now_utc().replace_nanosecond(0).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

fn default_cluster_name(path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let name = if path.is_dir() { path.file_name() } else { path.file_stem() };
    name.map_or_else(|| "snapshot".into(), |n| n.to_string_lossy().into_owned())
}

fn namespace_filter(scope: &Scope) -> NamespaceFilter {
    NamespaceFilter { only: scope.namespace.clone(), exclude: scope.exclude_namespace.clone() }
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

fn rules(command: RulesCommand, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    match command {
        RulesCommand::List { rules, output } => {
            let set = RuleSet::load(&rules)?;
            match output {
                ListFormat::Json => {
                    let list: Vec<_> = set.rules.iter().map(rule_json).collect();
                    serde_json::to_writer_pretty(&mut *out, &list)?;
                    writeln!(out)?;
                }
                ListFormat::Table => {
                    let width = set.rules.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
                    writeln!(
                        out,
                        "{:<width$}   {:<8}   {:<12}   {:<40}   DESCRIPTION",
                        "ID", "SEVERITY", "CATEGORY", "TARGET"
                    )?;
                    for r in &set.rules {
                        writeln!(
                            out,
                            "{:<width$}   {:<8}   {:<12}   {:<40}   {}",
                            r.id,
                            r.severity.map_or("off", Severity::as_str),
                            r.category,
                            r.target.to_string(),
                            r.description
                        )?;
                    }
                }
            }
            Ok(ExitStatus::Clean)
        }
        RulesCommand::Explain { id, rules } => {
            let set = RuleSet::load(&rules)?;
            let rule = set.get(&id).with_context(|| format!("no rule `{id}`; `ke rules list` prints every id"))?;
            writeln!(
                out,
                "{}{}",
                rule.id,
                if rule.aliases.is_empty() { String::new() } else { format!(" (also: {})", rule.aliases.join(", ")) }
            )?;
            writeln!(
                out,
                "  severity:    {}",
                rule.severity.map_or("off (enable with `checks: {id: warning}`)", Severity::as_str)
            )?;
            writeln!(out, "  category:    {}", rule.category)?;
            writeln!(out, "  target:      {}{}", rule.target, target_note(&rule.target))?;
            writeln!(out, "  defined in:  {}", rule.origin)?;
            writeln!(out, "\nWhat it detects\n  {}", rule.description)?;
            if !rule.why.is_empty() {
                writeln!(out, "\nWhy it matters\n  {}", rule.why)?;
            }
            if !rule.remediation.is_empty() {
                writeln!(out, "\nHow to fix it\n  {}", rule.remediation.trim_end().replace('\n', "\n  "))?;
            }
            if !rule.references.is_empty() {
                writeln!(out, "\nReferences")?;
                for r in &rule.references {
                    writeln!(out, "  {r}")?;
                }
            }
            Ok(ExitStatus::Clean)
        }
    }
}

fn target_note(target: &Target) -> &'static str {
    match target {
        Target::Container => " (each container of each workload)",
        Target::PodSpec | Target::PodTemplate | Target::Controller => " (each workload, once per controller)",
        Target::Node => " (each node)",
        Target::Cluster => " (the control plane)",
        Target::Event => " (Warning events, grouped by object and reason)",
        Target::PodStatus => " (running pods, once per controller)",
        Target::ContainerLog => " (the last lines of each running container's log)",
        Target::Kind { .. } => "",
    }
}

fn rule_json(r: &crate::rules::Rule) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "aliases": r.aliases,
        "severity": r.severity.map_or("off", Severity::as_str),
        "defaultSeverity": r.default_severity.map_or("off", Severity::as_str),
        "category": r.category,
        "target": r.target.to_string(),
        "description": r.description,
        "why": r.why,
        "remediation": r.remediation,
        "references": r.references,
        "origin": r.origin,
    })
}

//! What the HTML templates read: the report reshaped for display, every
//! field present (templates run in strict mode), numbers already formatted.
//! Cluster text stays raw here; handlebars escapes it on output.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::chart::{self, Chart};
use super::safe::http_link;
use crate::clock;
use crate::inventory::{GapKind, section};
use crate::report::{
    ExemptedObject, ExemptionSource, Finding, FindingStatus, NodeChecksStatus, Report, Severity, node_checks,
};
pub(super) use crate::text::thousands;

/// Rows a section table shows before pointing to the findings table: the
/// page stays small however many events or log findings a cluster has.
pub const SECTION_ROWS: usize = 200;

/// Circumference of the score ring (radius 42).
const RING: f64 = 2.0 * std::f64::consts::PI * 42.0;

/// The whole page.
#[derive(Debug, Serialize)]
pub(super) struct Page {
    /// Document title.
    pub title: String,
    /// When, what and where from.
    pub header: Header,
    /// Whether the cluster is up; `null` for a report written before health existed.
    pub health: Option<HealthView>,
    /// What the cluster is made of, label and value; empty without an overview.
    pub overview: Vec<OverviewItem>,
    /// Score and counts.
    pub summary: SummaryView,
    /// Findings by category and severity; `null` without findings.
    pub chart: Option<Chart>,
    /// Table of contents.
    pub nav: Vec<NavItem>,
    /// Control plane components and certificates.
    pub control_plane: Section,
    /// Node conditions and problems.
    pub nodes: Section,
    /// Host rules run on the nodes, grouped; `null` for a report without them.
    pub node_checks: Option<NodeChecksView>,
    /// Pod status.
    pub pods: Section,
    /// Warning events.
    pub events: Section,
    /// Container log patterns.
    pub logs: Section,
    /// Workload and RBAC findings counted per rule.
    pub workloads: Workloads,
    /// The big table (rows come from the script's data).
    pub findings: FindingsTable,
    /// What could not be inspected.
    pub coverage: Coverage,
    /// Objects exemptions took out of rules.
    pub exemptions: Exemptions,
    /// Comparison with the previous report; `null` without one.
    pub diff: Option<DiffView>,
    /// One entry per rule: description, why, remediation, references.
    pub rules: Vec<RuleView>,
}

/// The page header.
#[derive(Debug, Serialize)]
pub(super) struct Header {
    /// Cluster name.
    pub cluster: String,
    /// Start of the inspection, for display.
    pub started: String,
    /// Start, as written in the report (machine-readable `datetime`).
    pub started_at: String,
    /// How long it took, e.g. `12 s`; empty when unknown.
    pub duration: String,
    /// Where the data came from.
    pub sources: String,
    /// The namespaces covered when limited (`namespaces shop, data`); empty for all.
    pub scope: String,
    /// kubeeye version.
    pub version: String,
    /// Whether everything could be inspected.
    pub complete: bool,
    /// Read failures (coverage gaps of kind `error`).
    pub errors: usize,
}

/// One line of the cluster overview.
#[derive(Debug, Serialize)]
pub(super) struct OverviewItem {
    /// `Nodes`, `Pods` …
    pub label: &'static str,
    /// `4 (3 Ready, 1 NotReady)`.
    pub value: String,
}

/// The health banner.
#[derive(Debug, Serialize)]
pub(super) struct HealthView {
    /// `healthy`, `degraded` or `down` (a CSS class).
    pub status: &'static str,
    /// `HEALTHY`, `DEGRADED` or `DOWN`.
    pub label: &'static str,
    /// The reasons, comma-separated; empty when healthy.
    pub reasons: String,
}

/// Score and counts.
#[derive(Debug, Serialize)]
pub(super) struct SummaryView {
    /// 0–100, or `n/a` when nothing was evaluated.
    pub score: String,
    /// Whether there is a score (something was evaluated).
    pub scored: bool,
    /// `good` (≥ 80), `fair` (≥ 50), `poor`, or `none` without a score.
    pub grade: &'static str,
    /// `stroke-dasharray` of the score ring: the score's share of its circumference.
    pub ring: String,
    /// Danger findings.
    pub danger: String,
    /// Warning findings.
    pub warning: String,
    /// Info findings.
    pub info: String,
    /// Passed checks.
    pub passed: String,
    /// All findings.
    pub total: String,
    /// Objects exempted from at least one rule.
    pub exempted: String,
    /// Of them, exempted by their own annotations; empty when none.
    pub exempted_by_annotation: String,
}

/// A link in the table of contents.
#[derive(Debug, Serialize)]
pub(super) struct NavItem {
    /// Fragment target.
    pub id: &'static str,
    /// Label.
    pub title: &'static str,
    /// Count shown beside it; empty for none.
    pub count: String,
    /// Worst severity in the section, for the count's colour; empty for none.
    pub severity: &'static str,
}

/// A server-rendered section table.
#[derive(Debug, Serialize)]
pub(super) struct Section {
    /// Fragment id, also the `section` of its findings.
    pub id: &'static str,
    /// Findings in the section.
    pub total: usize,
    /// The first [`SECTION_ROWS`] of them.
    pub rows: Vec<Row>,
    /// How many are only in the findings table.
    pub more: usize,
    /// Coverage gaps of this section: "no findings" may mean "not looked at".
    pub gaps: usize,
}

/// One finding as a table row; absent values are empty strings.
#[derive(Debug, Serialize)]
pub(super) struct Row {
    /// `danger`, `warning`, `info`.
    pub severity: &'static str,
    /// `new`, `open` or empty.
    pub status: &'static str,
    /// Rule id.
    pub rule: String,
    /// Whether the rule has documentation on the page to link to.
    pub documented: bool,
    /// Namespace.
    pub namespace: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// `Kind/name`, or the name alone for pods and nodes.
    pub object: String,
    /// Container.
    pub container: String,
    /// Event or condition reason.
    pub reason: String,
    /// Occurrences, when counted.
    pub count: String,
    /// First seen, for display.
    pub first_seen: String,
    /// Last seen, for display.
    pub last_seen: String,
    /// What is wrong.
    pub message: String,
}

/// The node checks: each host rule across the nodes, and its findings and
/// the per-node gaps grouped (`212 of 300 nodes`).
#[derive(Debug, Serialize)]
pub(super) struct NodeChecksView {
    /// `4 rules on 300 nodes, 1 failing`, or `1 rule not run (…)`.
    pub headline: String,
    /// Whether the host rules were not run.
    pub not_run: bool,
    /// The section of its findings, for the findings table's filter.
    pub section: &'static str,
    /// One row per host rule; empty for a report without `nodeChecks`.
    pub rules: Vec<NodeRuleRow>,
    /// One row per rule and message.
    pub groups: Vec<NodeGroupRow>,
    /// One row per reason a node could not answer.
    pub gaps: Vec<NodeGapRow>,
}

/// A host rule across the nodes.
#[derive(Debug, Serialize)]
pub(super) struct NodeRuleRow {
    /// Rule id.
    pub rule: String,
    /// Whether the rule has documentation on the page.
    pub documented: bool,
    /// sysctl, systemd …
    pub kind: String,
    /// Its severity.
    pub severity: &'static str,
    /// Nodes selected, evaluated, failed, errors, formatted.
    pub selected: String,
    /// See `selected`.
    pub evaluated: String,
    /// See `selected`.
    pub failed: String,
    /// See `selected`.
    pub errors: String,
    /// `60 on 212 nodes, 0 on 88 nodes`.
    pub values: String,
}

/// Findings of one rule with one message on several nodes.
#[derive(Debug, Serialize)]
pub(super) struct NodeGroupRow {
    /// `danger`, `warning`, `info`.
    pub severity: &'static str,
    /// Empty: grouped findings have no single status.
    pub status: &'static str,
    /// Rule id.
    pub rule: String,
    /// Whether the rule has documentation on the page.
    pub documented: bool,
    /// `212 of 300 nodes`.
    pub count: String,
    /// The message, the node's name as `<node>`.
    pub message: String,
    /// `worker-1, worker-2, worker-3 … and 209 more`.
    pub nodes: String,
}

/// Nodes that could not answer for one reason.
#[derive(Debug, Serialize)]
pub(super) struct NodeGapRow {
    /// `40 of 300 nodes`.
    pub count: String,
    /// `worker-1, worker-2, worker-3 … and 37 more`.
    pub nodes: String,
    /// The reason, the node, pod and Job names taken out.
    pub reason: String,
}

/// Workload and RBAC findings per rule.
#[derive(Debug, Serialize)]
pub(super) struct Workloads {
    /// Findings in the `workloads` and `rbac` sections.
    pub total: usize,
    /// Distinct objects with at least one finding.
    pub objects: usize,
    /// One line per rule, worst first.
    pub rules: Vec<RuleCount>,
}

/// How often one rule failed.
#[derive(Debug, Serialize)]
pub(super) struct RuleCount {
    /// Rule id.
    pub rule: String,
    /// Whether the rule has documentation on the page.
    pub documented: bool,
    /// Worst severity among its findings.
    pub severity: &'static str,
    /// Category.
    pub category: String,
    /// Findings.
    pub count: usize,
    /// What the rule checks.
    pub description: String,
}

/// The script-driven findings table.
#[derive(Debug, Serialize)]
pub(super) struct FindingsTable {
    /// All findings.
    pub total: usize,
    /// Whether to show the status column and filter.
    pub has_status: bool,
}

/// What could not be inspected.
#[derive(Debug, Serialize)]
pub(super) struct Coverage {
    /// Whether nothing failed to be read.
    pub complete: bool,
    /// One row per gap, errors first.
    pub gaps: Vec<GapRow>,
}

/// Objects exemptions took out of rules.
#[derive(Debug, Serialize)]
pub(super) struct Exemptions {
    /// The first [`SECTION_ROWS`] entries, as the report lists them.
    pub rows: Vec<ExemptionRow>,
    /// Entries not listed.
    pub more: usize,
}

/// One exempted object and where the exemption comes from.
#[derive(Debug, Serialize)]
pub(super) struct ExemptionRow {
    /// Namespace, `-` for cluster-scoped objects.
    pub namespace: String,
    /// `Kind/name`.
    pub object: String,
    /// `annotation` or `config` (a CSS class).
    pub source: &'static str,
    /// The annotation key or the rule file.
    pub origin: String,
    /// Rule ids, comma-separated.
    pub rules: String,
}

/// A coverage gap.
#[derive(Debug, Serialize)]
pub(super) struct GapRow {
    /// `error` or `unavailable`.
    pub kind: &'static str,
    /// Report section affected.
    pub section: String,
    /// What could not be read.
    pub resource: String,
    /// Why.
    pub reason: String,
}

/// The comparison with the previous report.
#[derive(Debug, Serialize)]
pub(super) struct DiffView {
    /// When the previous inspection started, for display.
    pub previous: String,
    /// New findings.
    pub new: usize,
    /// Still open.
    pub open: usize,
    /// Resolved since.
    pub resolved_total: usize,
    /// The first [`SECTION_ROWS`] resolved findings.
    pub resolved: Vec<Row>,
    /// Resolved findings not listed.
    pub resolved_more: usize,
    /// Absent now but in a section that could not be read.
    pub unverified_total: usize,
    /// The first [`SECTION_ROWS`] of them.
    pub unverified: Vec<Row>,
    /// Unverified findings not listed.
    pub unverified_more: usize,
}

/// A rule in the appendix.
#[derive(Debug, Serialize)]
pub(super) struct RuleView {
    /// Rule id (anchor `rule-<id>`).
    pub id: String,
    /// Worst severity among its findings; empty when it has none now.
    pub severity: &'static str,
    /// Findings now.
    pub count: usize,
    /// Category.
    pub category: String,
    /// What it detects.
    pub description: String,
    /// Why it matters.
    pub why: String,
    /// How to fix it (pre-wrapped).
    pub remediation: String,
    /// Further reading.
    pub references: Vec<Reference>,
}

/// A reference: a link only when it is an `http(s)` URL.
#[derive(Debug, Serialize)]
pub(super) struct Reference {
    /// As written.
    pub text: String,
    /// The URL to link to; `null` when the text is not a web URL.
    pub href: Option<String>,
}

/// Builds the page from a report.
pub(super) fn page(report: &Report) -> Page {
    let s = &report.summary;
    let in_section = |ids: &[&str]| -> Vec<&Finding> {
        report.findings.iter().filter(|f| ids.contains(&f.section.as_str())).collect()
    };
    let make = |id: &'static str| section_table(report, id, &in_section(&[id]));
    let control_plane = make(section::CONTROL_PLANE);
    let nodes = make(section::NODES);
    let node_checks = node_checks_view(report);
    let pods = make(section::PODS);
    let events = make(section::EVENTS);
    let logs = make(section::LOGS);
    let workloads = workloads(report, &in_section(&[section::WORKLOADS, section::RBAC]));
    let coverage = coverage(report);
    let diff = report.diff.as_ref().map(|d| DiffView {
        previous: display_time(&d.previous_started_at),
        new: d.new,
        open: d.open,
        resolved_total: d.resolved.len(),
        resolved: d.resolved.iter().take(SECTION_ROWS).map(|f| row(report, f)).collect(),
        resolved_more: d.resolved.len().saturating_sub(SECTION_ROWS),
        unverified_total: d.unverified.len(),
        unverified: d.unverified.iter().take(SECTION_ROWS).map(|f| row(report, f)).collect(),
        unverified_more: d.unverified.len().saturating_sub(SECTION_ROWS),
    });

    let worst = |ids: &[&str]| worst_severity(in_section(ids).into_iter());
    let count = |n: usize| if n == 0 { String::new() } else { thousands(n) };
    let mut nav = vec![
        nav_item(section::CONTROL_PLANE, "Control plane", count(control_plane.total), worst(&[section::CONTROL_PLANE])),
        nav_item(section::NODES, "Nodes", count(nodes.total), worst(&[section::NODES])),
        nav_item(section::PODS, "Pods", count(pods.total), worst(&[section::PODS])),
        nav_item(section::EVENTS, "Events", count(events.total), worst(&[section::EVENTS])),
        nav_item(section::LOGS, "Logs", count(logs.total), worst(&[section::LOGS])),
        nav_item(section::WORKLOADS, "Workloads", count(workloads.total), worst(&[section::WORKLOADS, section::RBAC])),
        nav_item("findings", "All findings", count(report.findings.len()), ""),
        nav_item(
            "coverage",
            "Coverage",
            count(coverage.gaps.len()),
            if coverage.complete || coverage.gaps.is_empty() { "" } else { "warning" },
        ),
    ];
    if let Some(checks) = &node_checks {
        let failing: usize = in_section(&[section::NODE_CHECKS]).len();
        nav.insert(2, nav_item(NODE_CHECKS_ID, "Node checks", count(failing), worst(&[section::NODE_CHECKS])));
        if checks.not_run {
            nav[2].severity = "warning";
        }
    }
    let exempted = exempted_objects(report);
    nav.push(nav_item("exemptions", "Exemptions", count(exempted.0), if exempted.1 > 0 { "warning" } else { "" }));
    if let Some(d) = &diff {
        nav.push(nav_item("changes", "Changes", count(d.resolved_total), ""));
    }
    nav.push(nav_item("rules", "Rules", String::new(), ""));

    Page {
        title: format!(
            "kubeeye report: {}{} ({})",
            report.cluster.name,
            report.health.as_ref().map(|h| format!(" {}", h.status.label())).unwrap_or_default(),
            display_time(&report.started_at)
        ),
        overview: report
            .overview
            .as_ref()
            .map(|o| o.items().into_iter().map(|(label, value)| OverviewItem { label, value }).collect())
            .unwrap_or_default(),
        health: report.health.as_ref().map(|h| HealthView {
            status: h.status.as_str(),
            label: h.status.label(),
            reasons: h.reasons.join(", "),
        }),
        header: Header {
            cluster: report.cluster.name.clone(),
            started: display_time(&report.started_at),
            started_at: report.started_at.clone(),
            duration: duration(&report.started_at, &report.finished_at),
            sources: report.cluster.sources.join(", "),
            scope: report.scope.as_ref().map(scope_text).unwrap_or_default(),
            version: report.tool.version.clone(),
            complete: report.complete,
            errors: report.coverage.iter().filter(|g| g.kind == GapKind::Error).count(),
        },
        summary: SummaryView {
            score: s.score.map_or_else(|| "n/a".to_string(), |n| n.to_string()),
            scored: s.score.is_some(),
            grade: match s.score {
                Some(80..) => "good",
                Some(50..=79) => "fair",
                Some(_) => "poor",
                None => "none",
            },
            ring: format!("{:.1} {RING:.1}", RING * f64::from(s.score.unwrap_or(0).min(100)) / 100.0),
            danger: thousands(s.danger),
            warning: thousands(s.warning),
            info: thousands(s.info),
            passed: thousands(s.passed),
            total: thousands(report.findings.len()),
            exempted: thousands(exempted.0),
            exempted_by_annotation: count(exempted.1),
        },
        chart: chart::layout(&s.by_category),
        nav,
        control_plane,
        nodes,
        node_checks,
        pods,
        events,
        logs,
        workloads,
        findings: FindingsTable { total: report.findings.len(), has_status: report.diff.is_some() },
        coverage,
        exemptions: Exemptions {
            rows: report.exemptions.iter().take(SECTION_ROWS).map(exemption_row).collect(),
            more: report.exemptions.len().saturating_sub(SECTION_ROWS),
        },
        diff,
        rules: rules(report),
    }
}

/// Objects exempted from some rule, and of them those exempted by an annotation
/// (an object listed once per source counts once).
fn exempted_objects(report: &Report) -> (usize, usize) {
    fn key(e: &ExemptedObject) -> (Option<&str>, &str, &str) {
        (e.namespace.as_deref(), e.kind.as_str(), e.name.as_str())
    }
    let all: BTreeSet<_> = report.exemptions.iter().map(key).collect();
    let annotated: BTreeSet<_> =
        report.exemptions.iter().filter(|e| e.source == ExemptionSource::Annotation).map(key).collect();
    (all.len(), annotated.len())
}

fn exemption_row(e: &ExemptedObject) -> ExemptionRow {
    ExemptionRow {
        namespace: e.namespace.clone().unwrap_or_else(|| "-".into()),
        object: format!("{}/{}", e.kind, e.name),
        source: e.source.as_str(),
        origin: e.origin.clone(),
        rules: e.rules.join(", "),
    }
}

fn nav_item(id: &'static str, title: &'static str, count: String, severity: &'static str) -> NavItem {
    NavItem { id, title, count, severity }
}

fn section_table(report: &Report, id: &'static str, findings: &[&Finding]) -> Section {
    Section {
        id,
        total: findings.len(),
        rows: findings.iter().take(SECTION_ROWS).map(|f| row(report, f)).collect(),
        more: findings.len().saturating_sub(SECTION_ROWS),
        gaps: report.coverage.iter().filter(|g| g.section == id).count(),
    }
}

fn row(report: &Report, f: &Finding) -> Row {
    let bare = matches!(f.kind.as_str(), "Pod" | "Node" | "ControlPlane");
    Row {
        severity: f.severity.as_str(),
        status: match f.status {
            Some(FindingStatus::New) => "new",
            Some(FindingStatus::Open) => "open",
            None => "",
        },
        rule: f.rule.to_string(),
        documented: report.rules.contains_key(f.rule.as_str()),
        namespace: f.namespace.as_deref().unwrap_or_default().to_string(),
        kind: f.kind.to_string(),
        name: f.name.to_string(),
        object: if bare { f.name.to_string() } else { format!("{}/{}", f.kind, f.name) },
        container: f.container.as_deref().unwrap_or_default().to_string(),
        reason: f.reason.as_deref().unwrap_or_default().to_string(),
        count: f.count.map(|c| thousands(usize::try_from(c).unwrap_or(usize::MAX))).unwrap_or_default(),
        first_seen: f.first_seen.as_deref().map(display_time).unwrap_or_default(),
        last_seen: f.last_seen.as_deref().map(display_time).unwrap_or_default(),
        message: f.message.to_string(),
    }
}

/// The fragment id of the node checks section.
const NODE_CHECKS_ID: &str = "node-checks";

fn node_checks_view(report: &Report) -> Option<NodeChecksView> {
    let headline = node_checks::headline(report)?;
    let documented = |rule: &str| report.rules.contains_key(rule);
    let rules = report
        .node_checks
        .iter()
        .flat_map(|n| &n.rules)
        .map(|r| {
            let mut values: Vec<String> =
                r.values.iter().map(|v| format!("{} on {}", v.value, nodes_text(v.nodes))).collect();
            if r.other_values > 0 {
                values.push(format!("other values on {}", nodes_text(r.other_values)));
            }
            NodeRuleRow {
                rule: r.id.clone(),
                documented: documented(&r.id),
                kind: r.kind.clone(),
                severity: r.severity.as_str(),
                selected: thousands(r.selected),
                evaluated: thousands(r.evaluated),
                failed: thousands(r.failed),
                errors: thousands(r.errors),
                values: values.join(", "),
            }
        })
        .collect();
    let groups = node_checks::group_findings(report)
        .into_iter()
        .map(|g| NodeGroupRow {
            severity: g.severity.as_str(),
            status: "",
            documented: documented(&g.rule),
            count: g.count_text(),
            nodes: node_checks::node_list(&g.nodes, node_checks::NODES_SHOWN),
            rule: g.rule,
            message: g.message,
        })
        .collect();
    let gaps = node_checks::group_gaps(report)
        .0
        .into_iter()
        .map(|g| NodeGapRow {
            count: g.count_text(),
            nodes: node_checks::node_list(&g.nodes, node_checks::NODES_SHOWN),
            reason: g.reason,
        })
        .collect();
    Some(NodeChecksView {
        not_run: report.node_checks.as_ref().is_some_and(|n| n.status == NodeChecksStatus::NotRun),
        headline: headline.strip_prefix("Node checks: ").unwrap_or(&headline).to_string(),
        section: section::NODE_CHECKS,
        rules,
        groups,
        gaps,
    })
}

fn nodes_text(n: usize) -> String {
    if n == 1 { "1 node".into() } else { format!("{} nodes", thousands(n)) }
}

fn workloads(report: &Report, findings: &[&Finding]) -> Workloads {
    let mut by_rule: BTreeMap<&str, (Severity, &str, usize)> = BTreeMap::new();
    let mut objects = std::collections::HashSet::new();
    for f in findings {
        let entry = by_rule.entry(f.rule.as_str()).or_insert((f.severity, f.category.as_str(), 0));
        entry.0 = entry.0.min(f.severity);
        entry.2 += 1;
        objects.insert((f.kind.as_str(), f.namespace.as_deref(), f.name.as_str()));
    }
    let mut rules: Vec<RuleCount> = by_rule
        .into_iter()
        .map(|(rule, (severity, category, count))| RuleCount {
            rule: rule.to_string(),
            documented: report.rules.contains_key(rule),
            severity: severity.as_str(),
            category: category.to_string(),
            count,
            description: report.rules.get(rule).map(|d| d.description.clone()).unwrap_or_default(),
        })
        .collect();
    rules.sort_by(|a, b| {
        rank(a.severity).cmp(&rank(b.severity)).then(b.count.cmp(&a.count)).then_with(|| a.rule.cmp(&b.rule))
    });
    Workloads { total: findings.len(), objects: objects.len(), rules }
}

fn rank(severity: &str) -> u8 {
    match severity {
        "danger" => 0,
        "warning" => 1,
        _ => 2,
    }
}

fn coverage(report: &Report) -> Coverage {
    // The same fault of the node checks on many nodes is one row.
    let mut gaps: Vec<GapRow> = node_checks::summarised_coverage(report)
        .into_iter()
        .map(|g| GapRow {
            kind: match g.kind {
                GapKind::Error => "error",
                GapKind::Unavailable => "unavailable",
            },
            section: g.section,
            resource: g.resource,
            reason: g.reason,
        })
        .collect();
    // Errors first: they make the report incomplete; a stable sort keeps collection order within each kind.
    gaps.sort_by_key(|g| g.kind != "error");
    Coverage { complete: report.complete, gaps }
}

fn rules(report: &Report) -> Vec<RuleView> {
    let mut stats: BTreeMap<&str, (Severity, usize)> = BTreeMap::new();
    for f in &report.findings {
        let e = stats.entry(f.rule.as_str()).or_insert((f.severity, 0));
        e.0 = e.0.min(f.severity);
        e.1 += 1;
    }
    report
        .rules
        .iter()
        .map(|(id, doc)| {
            let (severity, count) = stats.get(id.as_str()).map_or(("", 0), |(s, n)| (s.as_str(), *n));
            RuleView {
                id: id.clone(),
                severity,
                count,
                category: doc.category.clone(),
                description: doc.description.clone(),
                why: doc.why.clone(),
                remediation: doc.remediation.trim_end().to_string(),
                references: doc.references.iter().map(|r| Reference { text: r.clone(), href: http_link(r) }).collect(),
            }
        })
        .collect()
}

fn worst_severity<'a>(findings: impl Iterator<Item = &'a Finding>) -> &'static str {
    findings.map(|f| f.severity).min().map_or("", Severity::as_str)
}

/// `2026-11-25T02:00:00Z` as `2026-11-25 02:00 UTC`; text that is not a timestamp as it is.
pub(super) fn display_time(text: &str) -> String {
    match clock::parse(text) {
        Some(ts) => ts.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        None => text.to_string(),
    }
}

/// `12 s`, `3 min 4 s`, `1 h 2 min`; empty when either end is not a timestamp.
fn duration(start: &str, end: &str) -> String {
    let (Some(a), Some(b)) = (clock::parse(start), clock::parse(end)) else { return String::new() };
    let secs = clock::seconds_between(a, b);
    match secs {
        ..0 => String::new(),
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

/// `only namespaces shop, data; not kube-system`.
fn scope_text(scope: &crate::report::ReportScope) -> String {
    let mut parts = Vec::new();
    if !scope.namespaces.is_empty() {
        parts.push(format!("only namespaces {}", scope.namespaces.join(", ")));
    }
    if !scope.exclude_namespaces.is_empty() {
        parts.push(format!("not {}", scope.exclude_namespaces.join(", ")));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_times_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(30_000), "30,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(display_time("2026-11-25T02:00:09Z"), "2026-11-25 02:00 UTC");
        assert_eq!(display_time("not a time"), "not a time");
        assert_eq!(duration("2026-11-25T02:00:00Z", "2026-11-25T02:00:12Z"), "12 s");
        assert_eq!(duration("2026-11-25T02:00:00Z", "2026-11-25T02:03:04Z"), "3 min 4 s");
        assert_eq!(duration("2026-11-25T02:00:00Z", "2026-11-25T03:02:00Z"), "1 h 2 min");
        assert_eq!(duration("x", "2026-11-25T03:02:00Z"), "");
    }
}

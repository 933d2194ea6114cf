//! Findings, severities and the report every output format is a view of.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::inventory::{CoverageGap, SourceLocation};
pub use crate::text::Text;

mod diff;
pub mod node_checks;
mod read;

pub use diff::apply_diff;
pub use node_checks::{NodeCheckRule, NodeChecks, NodeChecksStatus, ObservedValue};
pub use read::{ParseReportError, ReadReportError, parse_report, read_report};

/// How bad a finding is. Ordered: `Danger` is the most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Breaks or will break.
    Danger,
    /// Should be fixed.
    Warning,
    /// Worth knowing.
    Info,
}

impl Severity {
    /// All severities, most severe first.
    pub const ALL: [Severity; 3] = [Severity::Danger, Severity::Warning, Severity::Info];

    /// The lowercase name used in rule files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Danger => "danger",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// Parses a rule-file severity: `danger`, `warning`, `info`, or `ignore` (→ `None`).
    pub fn parse_setting(s: &str) -> Result<Option<Severity>, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "danger" | "error" => Ok(Some(Severity::Danger)),
            "warning" => Ok(Some(Severity::Warning)),
            "info" => Ok(Some(Severity::Info)),
            "ignore" | "off" => Ok(None),
            other => Err(format!("unknown severity `{other}` (expected danger, warning, info or ignore)")),
        }
    }

    /// Whether this severity is at least as severe as `threshold`.
    pub fn reaches(self, threshold: Severity) -> bool {
        self <= threshold
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found on one object (or container). The checks build one from
/// a rule with `Finding::new`, which lives with the rules (`src/rules/finding.rs`):
/// a report knows nothing of rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Stable rule id, e.g. `runAsPrivileged`.
    pub rule: Text,
    /// Effective severity after overrides.
    pub severity: Severity,
    /// Rule category (`Security`, `Reliability`, `Efficiency` …).
    pub category: Text,
    /// Which part of the report this belongs to (`workloads`, `rbac`, `nodes` …).
    pub section: Text,
    /// Kind of the object reported.
    pub kind: Text,
    /// Namespace, absent for cluster-scoped objects.
    pub namespace: Option<Text>,
    /// Object name.
    pub name: Text,
    /// Container name, for container-level rules.
    pub container: Option<Text>,
    /// What is wrong.
    pub message: Text,
    /// What to do about it.
    pub remediation: Text,
    /// Stable hash of rule, kind, namespace, name and container, for diffs.
    pub fingerprint: Text,
    /// Machine-readable cause: event reason, node condition reason, container state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text>,
    /// How many times it was seen (events, matching log lines, affected pods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// For findings grouped per controller (events, logs, pod status): how many of its pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<u64>,
    /// When it was first seen (RFC 3339), where the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<Text>,
    /// When it was last seen (RFC 3339): last event, last heartbeat, lease renewal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Text>,
    /// Compared with a previous report: `new` or `open` (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<FindingStatus>,
    /// Where the object was read from (file and line), for snapshot and
    /// manifest input; absent for live objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
}

/// A finding's state relative to a previous report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    /// Not in the previous report.
    New,
    /// Also in the previous report.
    Open,
}

impl Finding {
    /// Computes the fingerprint from the identifying fields.
    pub fn fingerprint_of(
        rule: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        container: Option<&str>,
    ) -> Text {
        let mut h = Sha256::new();
        for part in [rule, kind, namespace.unwrap_or(""), name, container.unwrap_or("")] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        hex::encode(&h.finalize()[..8]).into()
    }

    /// Sets the container (and recomputes the fingerprint, which includes it).
    pub fn with_container(mut self, container: Option<&str>) -> Self {
        // Container names repeat across a cluster's workloads (`app`, `nginx`, `istio-proxy`).
        self.container = container.map(Text::interned);
        self.fingerprint =
            Finding::fingerprint_of(&self.rule, &self.kind, self.namespace.as_deref(), &self.name, container);
        self
    }

    /// Records where the object was read from. When another object of the
    /// inventory has the same identity, `distinction` (its file and document)
    /// goes into the fingerprint too, so the two objects' findings stay apart
    /// in diffs; otherwise the fingerprint survives edits and moves.
    pub fn at(mut self, source: Option<&SourceLocation>, distinction: Option<&str>) -> Self {
        if let Some(d) = distinction {
            let mut h = Sha256::new();
            for part in [self.fingerprint.as_str(), d] {
                h.update(part.as_bytes());
                h.update([0u8]);
            }
            self.fingerprint = hex::encode(&h.finalize()[..8]).into();
        }
        self.source = source.cloned();
        self
    }

    /// Replaces the rule's failure message with a specific one.
    pub fn with_message(mut self, message: impl Into<Text>) -> Self {
        self.message = message.into();
        self
    }
}

/// Counts of one category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Danger findings.
    pub danger: usize,
    /// Warning findings.
    pub warning: usize,
    /// Info findings.
    pub info: usize,
}

impl Counts {
    fn add(&mut self, severity: Severity) {
        match severity {
            Severity::Danger => self.danger += 1,
            Severity::Warning => self.warning += 1,
            Severity::Info => self.info += 1,
        }
    }
}

/// The numbers at a glance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Danger findings.
    pub danger: usize,
    /// Warning findings.
    pub warning: usize,
    /// Info findings.
    pub info: usize,
    /// Counts per category.
    pub by_category: BTreeMap<String, Counts>,
    /// Checks evaluated that passed (one per rule and object or container).
    pub passed: usize,
    /// 0–100, Polaris's formula: `2·passed / (2·passed + warning + 2·danger) × 100`.
    /// Info findings do not lower it. Absent when nothing was evaluated (no
    /// check passed, no warning or danger): a run that inspected nothing has
    /// no score, not a perfect one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
}

impl Summary {
    /// Summarises findings given how many evaluations passed.
    pub fn from_findings(findings: &[Finding], passed: usize) -> Self {
        let mut total = Counts::default();
        let mut by_category: BTreeMap<String, Counts> = BTreeMap::new();
        for f in findings {
            total.add(f.severity);
            by_category.entry(f.category.to_string()).or_default().add(f.severity);
        }
        Summary {
            danger: total.danger,
            warning: total.warning,
            info: total.info,
            by_category,
            passed,
            score: score(passed, total.warning, total.danger),
        }
    }

    /// The score as shown: `91/100`, or `n/a` when nothing was evaluated.
    pub fn score_text(&self) -> String {
        self.score.map_or_else(|| "n/a".to_string(), |s| format!("{s}/100"))
    }
}

/// Polaris's score: passes count double, a danger counts double, a warning
/// once. `None` when there is nothing to weigh (nothing was evaluated).
pub fn score(passed: usize, warning: usize, danger: usize) -> Option<u8> {
    let good = 2 * passed;
    let total = good + warning + 2 * danger;
    if total == 0 {
        return None;
    }
    // Rounded down so that any danger keeps a perfect score out of reach.
    Some(((good * 100) / total) as u8)
}

/// The tool that wrote a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// `kubeeye`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool { name: "kubeeye".into(), version: env!("CARGO_PKG_VERSION").into() }
    }
}

/// The cluster inspected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// Display name (context name, `--cluster-name`, or the snapshot's).
    pub name: String,
    /// Where the data came from.
    pub sources: Vec<String>,
}

/// The report contract. JSON, YAML, tables, CSV and HTML are views of it; its
/// JSON form is described by `schemas/report.schema.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Version of this structure.
    pub schema_version: String,
    /// Which tool wrote it.
    pub tool: Tool,
    /// The cluster.
    pub cluster: Cluster,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub finished_at: String,
    /// False when any part of the cluster could not be inspected (see `coverage`).
    pub complete: bool,
    /// Whether the cluster is up, from its outage findings (control plane,
    /// nodes, pod status), before any best-practice finding. Absent in
    /// reports of schema version 1, written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// What the cluster is made of (version, nodes, namespaces, workloads,
    /// pods); absent when nothing could be inspected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overview: Option<Overview>,
    /// Counts and score.
    pub summary: Summary,
    /// What could not be inspected, and why.
    pub coverage: Vec<CoverageGap>,
    /// The findings, sorted by severity, namespace, kind, name, container, rule.
    pub findings: Vec<Finding>,
    /// Objects that exemptions took out of some rules, so that an object
    /// exempting itself is never invisible. Absent in reports written before it existed.
    #[serde(default)]
    pub exemptions: Vec<ExemptedObject>,
    /// The namespaces covered, when the inspection was limited to some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ReportScope>,
    /// Documentation of every rule that has a finding, by id (the HTML report links to it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rules: BTreeMap<String, RuleDoc>,
    /// Comparison with a previous report (`--previous`, or the last run in the store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<Diff>,
    /// What running the host rules on the nodes came to; present whenever
    /// host rules are enabled (run or not), absent otherwise and in reports
    /// of schema version 3 and earlier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_checks: Option<NodeChecks>,
    /// The files fileChange host rules watch, as each node saw them (node → host path → file):
    /// the next run's baselines, so no state is kept on the nodes. Absent without such rules.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_files: NodeFiles,
}

/// fileChange baselines: node → host path → file (the report's `nodeFiles`).
pub type NodeFiles = BTreeMap<String, BTreeMap<String, NodeFile>>;

/// A file a fileChange host rule watches, as a node saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFile {
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification on the node's clock (RFC 3339).
    pub modified: String,
}

/// One object some rules skipped because of an exemption, and where the exemption comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExemptedObject {
    /// Kind of the object (as findings name it: a controller, not its pods).
    pub kind: String,
    /// Namespace, absent for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Object name.
    pub name: String,
    /// An annotation on the object (or its pod template), or a config exemption.
    pub source: ExemptionSource,
    /// The annotation key (`polaris.fairwinds.com/exempt`), or the file of the
    /// config exemption (`built-in` for kubeeye's defaults, `rules/exemptions.yaml`).
    pub origin: String,
    /// The rules it was not evaluated by, sorted.
    pub rules: Vec<String>,
}

/// Where an exemption comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExemptionSource {
    /// An annotation on the object itself: whoever can edit it can exempt it.
    Annotation,
    /// An `exemptions:` entry of a rule file (kubeeye's defaults included).
    Config,
}

impl ExemptionSource {
    /// `annotation` or `config`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExemptionSource::Annotation => "annotation",
            ExemptionSource::Config => "config",
        }
    }
}

/// The cluster's health: up or not, and why, decided from the findings of the
/// outage sections (control plane, nodes, pod status) alone; best-practice
/// findings never change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `healthy`, `degraded` or `down`.
    pub status: HealthStatus,
    /// Why, most serious first (`etcd unhealthy`, `2 nodes NotReady`); empty when healthy.
    pub reasons: Vec<String>,
}

/// How a cluster is doing. Ordered: `Down` is the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// No danger finding in the control plane, nodes or pod status.
    Healthy,
    /// Something is broken (a NotReady node, a scheduler without a leader,
    /// pods that do not run) but the cluster still serves.
    Degraded,
    /// The cluster cannot be relied on at all: the API server or etcd is
    /// unhealthy, or every node is NotReady.
    Down,
}

impl HealthStatus {
    /// `healthy`, `degraded` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Down => "down",
        }
    }

    /// `HEALTHY`, `DEGRADED` or `DOWN`, as subjects and banners shout it.
    pub fn label(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "HEALTHY",
            HealthStatus::Degraded => "DEGRADED",
            HealthStatus::Down => "DOWN",
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Health {
    /// `DEGRADED: etcd unhealthy, 2 nodes NotReady`, or `HEALTHY`: the status
    /// with at most `max` reasons and how many more there are.
    pub fn headline(&self, max: usize) -> String {
        if self.reasons.is_empty() {
            return self.status.label().to_string();
        }
        let mut shown: Vec<&str> = self.reasons.iter().take(max).map(String::as_str).collect();
        let more = self.reasons.len().saturating_sub(max);
        let more_text = format!("{more} more");
        if more > 0 {
            shown.push(&more_text);
        }
        format!("{}: {}", self.status.label(), shown.join(", "))
    }
}

/// What the inspected cluster is made of, at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// The API server's version (`v1.30.4`), when it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// Nodes by readiness, role, kubelet version and container runtime.
    pub nodes: NodesOverview,
    /// Namespaces inspected.
    pub namespaces: usize,
    /// Workloads by controller kind (a ReplicaSet a Deployment owns counts as the Deployment).
    pub workloads: BTreeMap<String, usize>,
    /// Pods by phase (`Running`, `Pending` …).
    pub pods: BTreeMap<String, usize>,
    /// Whether node-problem-detector runs (its DaemonSet, pods or node conditions were seen).
    pub node_problem_detector: bool,
    /// Whether the metrics API answered; absent when no rule asked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_api: Option<bool>,
}

/// The nodes of an [`Overview`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodesOverview {
    /// All nodes.
    pub total: usize,
    /// Nodes whose Ready condition is True.
    pub ready: usize,
    /// Nodes by role (`node-role.kubernetes.io/<role>` labels; `<none>` without one).
    pub roles: BTreeMap<String, usize>,
    /// Nodes by kubelet version.
    pub kubelet_versions: BTreeMap<String, usize>,
    /// Nodes by container runtime and version (`containerd://1.7.13`).
    pub container_runtimes: BTreeMap<String, usize>,
}

impl Overview {
    /// One line: `Kubernetes v1.30.4 · 6 nodes (5 Ready) · 12 namespaces · 84 workloads · 230 pods (3 Pending)`.
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = &self.kubernetes_version {
            parts.push(format!("Kubernetes {v}"));
        }
        let n = &self.nodes;
        parts.push(format!("{} ({} Ready)", plural(n.total, "node"), crate::text::thousands(n.ready)));
        parts.push(plural(self.namespaces, "namespace"));
        parts.push(plural(self.workloads.values().sum(), "workload"));
        let pods: usize = self.pods.values().sum();
        let not_running: Vec<String> = self
            .pods
            .iter()
            .filter(|(phase, _)| !matches!(phase.as_str(), "Running" | "Succeeded"))
            .map(|(phase, n)| format!("{} {phase}", crate::text::thousands(*n)))
            .collect();
        parts.push(if not_running.is_empty() {
            plural(pods, "pod")
        } else {
            format!("{} ({})", plural(pods, "pod"), not_running.join(", "))
        });
        parts.join(" · ")
    }
}

impl Overview {
    /// The overview as labelled lines (`Nodes`, `4 (3 Ready, 1 NotReady)`), for tables and pages.
    pub fn items(&self) -> Vec<(&'static str, String)> {
        let n = &self.nodes;
        let mut nodes = format!("{} ({} Ready", crate::text::thousands(n.total), crate::text::thousands(n.ready));
        if n.total > n.ready {
            nodes.push_str(&format!(", {} NotReady", crate::text::thousands(n.total - n.ready)));
        }
        nodes.push(')');
        let or_dash = |s: String| if s.is_empty() { "-".to_string() } else { s };
        vec![
            ("Kubernetes", self.kubernetes_version.clone().unwrap_or_else(|| "unknown".into())),
            ("Nodes", nodes),
            ("Node roles", or_dash(tally(&n.roles))),
            ("Kubelet versions", or_dash(tally(&n.kubelet_versions))),
            ("Container runtimes", or_dash(tally(&n.container_runtimes))),
            ("Namespaces", crate::text::thousands(self.namespaces)),
            (
                "Workloads",
                format!(
                    "{} ({})",
                    crate::text::thousands(self.workloads.values().sum()),
                    or_dash(tally(&self.workloads))
                ),
            ),
            ("Pods", format!("{} ({})", crate::text::thousands(self.pods.values().sum()), or_dash(tally(&self.pods)))),
            ("node-problem-detector", if self.node_problem_detector { "installed" } else { "not found" }.into()),
            (
                "Metrics API",
                match self.metrics_api {
                    Some(true) => "available",
                    Some(false) => "not available",
                    None => "not asked (no rule reads it)",
                }
                .into(),
            ),
        ]
    }
}

/// `Deployment 8, StatefulSet 2`: counts by name, largest first.
pub fn tally(counts: &BTreeMap<String, usize>) -> String {
    let mut items: Vec<(&String, &usize)> = counts.iter().collect();
    items.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    items.iter().map(|(k, n)| format!("{k} {}", crate::text::thousands(**n))).collect::<Vec<_>>().join(", ")
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{} {noun}s", crate::text::thousands(n)) }
}

/// The namespaces an inspection was limited to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportScope {
    /// Only these (empty: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Never these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_namespaces: Vec<String>,
}

impl ReportScope {
    /// Whether a finding about `namespace` (`None` = cluster-level) lies inside the scope.
    pub fn covers(&self, namespace: Option<&str>) -> bool {
        match namespace {
            None => self.namespaces.is_empty(),
            Some(ns) => {
                (self.namespaces.is_empty() || self.namespaces.iter().any(|n| n == ns))
                    && !self.exclude_namespaces.iter().any(|n| n == ns)
            }
        }
    }
}

/// What a rule checks and how to fix it, as carried in the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleDoc {
    /// Category.
    pub category: String,
    /// What it detects.
    pub description: String,
    /// Why it matters.
    #[serde(default)]
    pub why: String,
    /// How to fix it.
    #[serde(default)]
    pub remediation: String,
    /// Further reading.
    #[serde(default)]
    pub references: Vec<String>,
}

/// A report compared with the previous one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diff {
    /// When the previous inspection started (RFC 3339).
    pub previous_started_at: String,
    /// Findings not in the previous report.
    pub new: usize,
    /// Findings also in the previous report.
    pub open: usize,
    /// Findings of the previous report that are gone.
    pub resolved: Vec<Finding>,
    /// Findings of the previous report that are absent now, but in a section
    /// this inspection could not read completely: not known to be resolved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<Finding>,
}

/// Current [`Report::schema_version`]. Version 2 added `health` and
/// `overview`, 3 `exemptions`, 4 `nodeChecks` (and the `node checks` section).
pub const SCHEMA_VERSION: &str = "4";

/// Versions [`read_report`] accepts: this one, 3, which lacks `nodeChecks`,
/// 2, which also lacks `exemptions`, and 1, which also lacks `health` and `overview`.
pub const READABLE_SCHEMA_VERSIONS: &[&str] = &["1", "2", "3", SCHEMA_VERSION];

impl Report {
    /// Whether the run saw the cluster at all: false for a run that could not
    /// reach it (an `inspection` error and nothing found). Such a report is no
    /// baseline: comparing with it would call every finding new.
    pub fn reached_cluster(&self) -> bool {
        !(self.coverage.iter().any(|g| g.section == "inspection" && g.kind == crate::inventory::GapKind::Error)
            && self.findings.is_empty())
    }

    /// Whether any finding reaches `threshold`.
    pub fn fails_at(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity.reaches(threshold))
    }
}

#[cfg(test)]
impl Report {
    /// A complete report of `findings` for unit tests: this schema version, the
    /// default tool and cluster, both times 2026-11-25T02:00:00Z, the summary
    /// counted from the findings and nothing else. A test sets what it needs
    /// with `Report { field, ..Report::of_findings(findings) }`.
    pub(crate) fn of_findings(findings: Vec<Finding>) -> Report {
        Report {
            schema_version: SCHEMA_VERSION.into(),
            tool: Tool::default(),
            cluster: Cluster::default(),
            started_at: "2026-11-25T02:00:00Z".into(),
            finished_at: "2026-11-25T02:00:00Z".into(),
            complete: true,
            health: None,
            overview: None,
            summary: Summary::from_findings(&findings, 0),
            coverage: Vec::new(),
            findings,
            exemptions: Vec::new(),
            scope: None,
            rules: BTreeMap::new(),
            diff: None,
            node_checks: None,
            node_files: NodeFiles::default(),
        }
    }
}

/// Sorts findings into report order.
pub fn sort_findings(findings: &mut [Finding]) {
    // The fingerprint is unique per finding (it includes an event's reason),
    // so an unstable sort is deterministic whatever order the checks produced.
    findings.sort_unstable_by(|a, b| {
        (a.severity, &a.namespace, &a.kind, &a.name, &a.container, &a.rule, &a.reason, &a.fingerprint).cmp(&(
            b.severity,
            &b.namespace,
            &b.kind,
            &b.name,
            &b.container,
            &b.rule,
            &b.reason,
            &b.fingerprint,
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polaris_score() {
        assert_eq!(score(0, 0, 0), None, "nothing evaluated is no score, not 100");
        assert_eq!(score(10, 0, 0), Some(100));
        // 2·8 / (16 + 2 + 2·1) = 0.8
        assert_eq!(score(8, 2, 1), Some(80));
        assert_eq!(score(0, 1, 0), Some(0));
        assert_eq!(score(1000, 0, 1), Some(99));
        let empty = Summary::from_findings(&[], 0);
        assert_eq!(empty.score_text(), "n/a");
        assert!(serde_json::to_value(&empty).unwrap().get("score").is_none(), "absent from the JSON");
        assert_eq!(Summary::from_findings(&[], 3).score_text(), "100/100");
    }

    #[test]
    fn fingerprint_is_stable_and_separates_fields() {
        let a = Finding::fingerprint_of("r", "Deployment", Some("ns"), "web", None);
        assert_eq!(a, Finding::fingerprint_of("r", "Deployment", Some("ns"), "web", None));
        assert_ne!(a, Finding::fingerprint_of("r", "Deployment", Some("n"), "sweb", None));
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn severity_settings() {
        assert_eq!(Severity::parse_setting("Danger"), Ok(Some(Severity::Danger)));
        assert_eq!(Severity::parse_setting("ignore"), Ok(None));
        assert!(Severity::parse_setting("critical").is_err());
        assert!(Severity::Danger.reaches(Severity::Warning));
        assert!(!Severity::Info.reaches(Severity::Warning));
    }
}

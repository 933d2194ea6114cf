//! Delivery: moving rendered reports and their digest out of the process —
//! to object storage, by email, to webhooks. Each channel is retried on its
//! own and reports a [`Delivery`]; one failing channel never blocks another.

pub mod email;
pub mod probe;
pub mod pushgateway;
pub mod retry;
pub mod secret;
pub mod store;
pub mod templates;
pub mod webhook;

use serde::Serialize;

use crate::inventory::{CoverageGap, GapKind};
use crate::report::{Health, Report, Severity, Summary, node_checks};
use crate::text::{one_line, thousands, truncate};

/// What a notification says: counts, changes, the worst findings, and a link.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Digest {
    /// Cluster display name.
    pub cluster: String,
    /// When the inspection started (RFC 3339).
    pub started_at: String,
    /// Whether everything could be inspected.
    pub complete: bool,
    /// Whether the cluster is up, and why not (absent for a report written before it existed).
    pub health: Option<Health>,
    /// The cluster in one line (`Kubernetes v1.30.4 · 6 nodes (5 Ready) · …`), when known.
    pub overview: Option<String>,
    /// Counts, score.
    pub summary: Summary,
    /// Findings new since the previous run (when there was one).
    pub new: Option<usize>,
    /// Findings of the previous run that are gone.
    pub resolved: Option<usize>,
    /// The most severe findings, at most [`Digest::TOP`].
    pub top: Vec<DigestFinding>,
    /// What could not be inspected because reading failed; the same fault
    /// of the node checks on many nodes is one gap (`40 of 300 nodes (…)`).
    pub gaps: Vec<CoverageGap>,
    /// The node checks (host rules), grouped; absent for a report without them.
    pub node_checks: Option<DigestNodeChecks>,
    /// Where the full HTML report can be read.
    pub report_url: Option<String>,
    /// What went wrong with the archive, when something did:
    /// `Archiving failed: <reason>; no comparison with the previous run`.
    pub archive_note: Option<String>,
}

/// The node checks as a notification shows them: a headline and one line
/// per rule and message, however many nodes it failed on.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestNodeChecks {
    /// `Node checks: 4 rules on 300 nodes, 1 failing`.
    pub headline: String,
    /// `[vm.swappiness] … on 212 of 300 nodes (worker-1, worker-2, worker-3 … and 209 more)`,
    /// the worst and largest first, at most [`Digest::TOP`].
    pub lines: Vec<String>,
    /// Groups not listed.
    pub more: usize,
}

/// One finding as a notification shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestFinding {
    /// Severity.
    pub severity: Severity,
    /// Rule id.
    pub rule: String,
    /// `Kind namespace/name` (or `Kind name`).
    pub object: String,
    /// The message, shortened.
    pub message: String,
    /// `new` when it was not in the previous report.
    pub new: bool,
}

impl Digest {
    /// How many findings a digest lists.
    pub const TOP: usize = 10;

    /// The digest of a report; `report_url` links to the archived HTML.
    pub fn from_report(report: &Report, report_url: Option<String>) -> Self {
        // The node checks have lines of their own, one per rule and message.
        let mut ranked: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Info && f.section != crate::inventory::section::NODE_CHECKS)
            .collect();
        // An outage (control plane, nodes, pod status) before anything else,
        // whatever its severity; then by severity, what is broken now (logs,
        // events) before what breaks best practice, and new problems first.
        ranked.sort_by_key(|f| {
            (
                !is_outage(&f.section),
                f.severity,
                section_rank(&f.section),
                f.status != Some(crate::report::FindingStatus::New),
            )
        });
        let top = ranked
            .into_iter()
            .take(Self::TOP)
            .map(|f| DigestFinding {
                severity: f.severity,
                rule: one_line(&f.rule),
                object: one_line(&match &f.namespace {
                    Some(ns) => format!("{} {ns}/{}", f.kind, f.name),
                    None => format!("{} {}", f.kind, f.name),
                }),
                message: truncate(&one_line(&f.message), 200),
                new: f.status == Some(crate::report::FindingStatus::New),
            })
            .collect();
        Digest {
            cluster: one_line(&report.cluster.name),
            started_at: report.started_at.clone(),
            complete: report.complete,
            health: report
                .health
                .as_ref()
                .map(|h| Health { reasons: h.reasons.iter().map(|r| one_line(r)).collect(), ..h.clone() }),
            overview: report.overview.as_ref().map(|o| one_line(&o.line())),
            summary: report.summary.clone(),
            new: report.diff.as_ref().map(|d| d.new),
            resolved: report.diff.as_ref().map(|d| d.resolved.len()),
            top,
            gaps: node_checks::summarised_coverage(report)
                .into_iter()
                .filter(|g| g.kind == GapKind::Error)
                .map(|g| CoverageGap { resource: one_line(&g.resource), reason: one_line(&g.reason), ..g })
                .collect(),
            node_checks: node_checks::headline(report).map(|headline| {
                let groups = node_checks::group_findings(report);
                DigestNodeChecks {
                    headline,
                    lines: groups.iter().take(Self::TOP).map(|g| truncate(&g.line(), 200)).collect(),
                    more: groups.len().saturating_sub(Self::TOP),
                }
            }),
            report_url,
            archive_note: None,
        }
    }

    /// The digest with a note on what went wrong with the archive.
    pub fn with_archive_note(self, note: Option<String>) -> Self {
        Digest { archive_note: note.map(|n| one_line(&n)), ..self }
    }

    /// The email subject, health first:
    /// `[kubeeye] prod-eu DEGRADED: etcd unhealthy, 2 nodes NotReady · 1,474 danger, 38,149 warning, 2 new`.
    pub fn subject(&self) -> String {
        let mut parts = vec![
            format!("{} danger", thousands(self.summary.danger)),
            format!("{} warning", thousands(self.summary.warning)),
        ];
        if let Some(new) = self.new {
            parts.push(format!("{} new", thousands(new)));
        }
        if !self.complete {
            parts.push("incomplete".into());
        }
        match &self.health {
            Some(health) => {
                format!("[kubeeye] {} {} · {}", self.cluster, health.headline(Self::SUBJECT_REASONS), parts.join(", "))
            }
            None => format!("[kubeeye] {}: {}", self.cluster, parts.join(", ")),
        }
    }

    /// How many health reasons a subject line names before `N more`.
    pub const SUBJECT_REASONS: usize = 3;
}

/// Whether a section's findings are outages: they decide the report's health.
fn is_outage(section: &str) -> bool {
    use crate::inventory::section;
    matches!(section, section::CONTROL_PLANE | section::NODES | section::PODS)
}

/// How urgent a section's findings are for the morning digest: outages first.
fn section_rank(section: &str) -> u8 {
    use crate::inventory::section;
    match section {
        section::CONTROL_PLANE => 0,
        section::NODES => 1,
        section::PODS => 2,
        section::LOGS => 3,
        section::EVENTS => 4,
        section::RBAC => 5,
        _ => 6,
    }
}

/// The outcome of one delivery channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// `store`, `email`, or `webhook:<name>`.
    pub channel: String,
    /// Where to, without credentials (a bucket and key, recipients, a URL's host).
    pub target: String,
    /// Whether it arrived.
    pub ok: bool,
    /// Attempts made.
    pub attempts: u32,
    /// What happened (the last error when it failed).
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::section;
    use crate::report::{Cluster, Finding, HealthStatus};

    fn finding(rule: &str, severity: Severity, section: &str, name: &str) -> Finding {
        Finding {
            rule: rule.into(),
            severity,
            category: "c".into(),
            section: section.into(),
            kind: "Thing".into(),
            namespace: None,
            name: name.into(),
            container: None,
            message: "m".into(),
            remediation: "".into(),
            fingerprint: Finding::fingerprint_of(rule, "Thing", None, name, None),
            reason: None,
            count: None,
            first_seen: None,
            last_seen: None,
            status: None,
            pods: None,
            source: None,
        }
    }

    #[test]
    fn outages_lead_the_top_findings_and_health_leads_the_subject() {
        let findings = vec![
            finding("runAsPrivileged", Severity::Danger, section::WORKLOADS, "web"),
            finding("clusterrolebindingClusterAdmin", Severity::Danger, section::RBAC, "ops"),
            finding("PodIOError", Severity::Danger, section::LOGS, "db"),
            finding("NodeMemory", Severity::Warning, section::NODES, "n1"),
            finding("PodCrashLooping", Severity::Danger, section::PODS, "api"),
        ];
        let summary = Summary { danger: 1474, warning: 38149, ..Summary::from_findings(&findings, 0) };
        let report = Report {
            cluster: Cluster { name: "prod-eu".into(), sources: vec![] },
            health: Some(Health {
                status: HealthStatus::Degraded,
                reasons: ["etcd unhealthy", "2 nodes NotReady", "PodCrashLooping in 1 workload", "NodeOOM on 1 node"]
                    .map(String::from)
                    .to_vec(),
            }),
            summary,
            ..Report::of_findings(findings)
        };
        let digest = Digest::from_report(&report, None);
        let order: Vec<&str> = digest.top.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(
            order,
            ["PodCrashLooping", "NodeMemory", "PodIOError", "clusterrolebindingClusterAdmin", "runAsPrivileged"],
            "an outage, even a warning, before any best-practice danger"
        );
        assert_eq!(
            digest.subject(),
            "[kubeeye] prod-eu DEGRADED: etcd unhealthy, 2 nodes NotReady, PodCrashLooping in 1 workload, 1 more · \
             1,474 danger, 38,149 warning"
        );
        let old = Digest { health: None, ..digest };
        assert_eq!(old.subject(), "[kubeeye] prod-eu: 1,474 danger, 38,149 warning");
    }

    #[test]
    fn the_digest_says_node_checks_in_one_line_per_rule_and_groups_their_gaps() {
        let mut findings: Vec<Finding> = (0..212)
            .map(|i| {
                let mut f =
                    finding("vm.swappiness", Severity::Warning, section::NODE_CHECKS, &format!("worker-{i:03}"));
                f.message = "swap pressure: vm.swappiness is 60 (expected 0)".into();
                f
            })
            .collect();
        findings.push(finding("NodeMemory", Severity::Warning, section::NODES, "n1"));
        let coverage: Vec<CoverageGap> = (212..252)
            .map(|i| {
                CoverageGap::error(
                    section::NODE_CHECKS,
                    format!("node worker-{i:03}"),
                    format!(
                        "pod ke-node-check-worker-{i:03}-0a1b2c3d4e-k2p{i} still Pending after 1m: ImagePullBackOff"
                    ),
                )
            })
            .collect();
        let rule = |id: &str, failed| crate::report::NodeCheckRule {
            id: id.into(),
            kind: "sysctl".into(),
            severity: Severity::Warning,
            selected: 300,
            evaluated: 260,
            failed,
            errors: 0,
            values: Vec::new(),
            other_values: 0,
        };
        let node_checks = crate::report::NodeChecks {
            status: crate::report::NodeChecksStatus::Ran,
            reason: None,
            nodes_selected: 300,
            nodes_answered: 260,
            rules: vec![rule("vm.swappiness", 212), rule("net.ipv4.ip_forward", 0)],
        };
        let report = Report {
            cluster: Cluster { name: "prod-eu".into(), sources: vec![] },
            complete: false,
            coverage,
            node_checks: Some(node_checks),
            ..Report::of_findings(findings)
        };
        let digest = Digest::from_report(&report, None);
        let top: Vec<&str> = digest.top.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(top, ["NodeMemory"], "node-check findings are not listed one by one");
        let checks = digest.node_checks.as_ref().expect("node checks");
        assert_eq!(checks.headline, "Node checks: 2 rules on 260 nodes (of 300 asked), 1 failing");
        assert_eq!(
            checks.lines,
            ["[vm.swappiness] swap pressure: vm.swappiness is 60 (expected 0) on 212 of 260 nodes \
              (worker-000, worker-001, worker-002 … and 209 more)"]
        );
        assert_eq!(digest.gaps.len(), 1, "40 nodes with one fault are one gap: {:#?}", digest.gaps);
        assert_eq!(digest.gaps[0].resource, "40 of 300 nodes (worker-212, worker-213, worker-214 … and 37 more)");
        assert_eq!(digest.gaps[0].reason, "pod <pod> still Pending after 1m: ImagePullBackOff");
        let view = templates::DigestView::of(&digest);
        let text = templates::render("digest.txt", templates::DIGEST_TEXT, templates::Escape::None, &view).unwrap();
        assert!(text.contains("\nNode checks: 2 rules on 260 nodes (of 300 asked), 1 failing\n"), "{text}");
        assert!(
            text.contains("\n  [vm.swappiness] swap pressure: vm.swappiness is 60 (expected 0) on 212 of 260 nodes"),
            "{text}"
        );
        assert!(text.contains("node checks: 40 of 300 nodes (worker-212, "), "{text}");
        let html = templates::render("digest.html", templates::DIGEST_HTML, templates::Escape::Html, &view).unwrap();
        assert!(html.contains("<h3>Node checks</h3>") && html.contains("on 212 of 260 nodes"), "{html}");
    }
}

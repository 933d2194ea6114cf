//! Delivery: moving rendered reports and their digest out of the process —
//! to object storage, by email, to webhooks. Each channel is retried on its
//! own and reports a [`Delivery`]; one failing channel never blocks another.

pub mod email;
pub mod retry;
pub mod secret;
pub mod store;
pub mod templates;
pub mod webhook;

use serde::Serialize;

use crate::inventory::{CoverageGap, GapKind};
use crate::report::{Report, Severity, Summary};
use crate::text::{one_line, truncate};

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
    /// Counts, score.
    pub summary: Summary,
    /// Findings new since the previous run (when there was one).
    pub new: Option<usize>,
    /// Findings of the previous run that are gone.
    pub resolved: Option<usize>,
    /// The most severe findings, at most [`Digest::TOP`].
    pub top: Vec<DigestFinding>,
    /// What could not be inspected because reading failed.
    pub gaps: Vec<CoverageGap>,
    /// Where the full HTML report can be read.
    pub report_url: Option<String>,
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
        let mut ranked: Vec<_> = report.findings.iter().filter(|f| f.severity != Severity::Info).collect();
        // Within a severity: what is broken now (control plane, nodes, pods, logs)
        // before what breaks best practice, and new problems first.
        ranked.sort_by_key(|f| {
            (f.severity, section_rank(&f.section), f.status != Some(crate::report::FindingStatus::New))
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
            summary: report.summary.clone(),
            new: report.diff.as_ref().map(|d| d.new),
            resolved: report.diff.as_ref().map(|d| d.resolved.len()),
            top,
            gaps: report
                .coverage
                .iter()
                .filter(|g| g.kind == GapKind::Error)
                .map(|g| CoverageGap { resource: one_line(&g.resource), reason: one_line(&g.reason), ..g.clone() })
                .collect(),
            report_url,
        }
    }

    /// The email subject: `[kubeeye] prod-eu: 3 danger, 12 warning, 2 new`.
    pub fn subject(&self) -> String {
        let mut parts = vec![format!("{} danger", self.summary.danger), format!("{} warning", self.summary.warning)];
        if let Some(new) = self.new {
            parts.push(format!("{new} new"));
        }
        if !self.complete {
            parts.push("incomplete".into());
        }
        format!("[kubeeye] {}: {}", self.cluster, parts.join(", "))
    }
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

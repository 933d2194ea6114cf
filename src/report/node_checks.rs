//! The node checks section: what running the host rules on the nodes came to
//! ([`NodeChecks`], the report's `nodeChecks`), and the grouping every view
//! of the section uses. A host rule is judged on each node, so a rule that
//! fails on 212 of 300 nodes is 212 findings; the table, the HTML report, the
//! digest and chat posts show it as one line, `vm.swappiness is 60 (expected 0)
//! on 212 of 300 nodes (worker-1, worker-2, worker-3 … and 209 more)`. Per-node
//! coverage gaps (a pod Pending on every node with the same pull error) are
//! summarised the same way, with the node, pod and Job names taken out of the
//! reason first.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::{Finding, Report, Severity};
use crate::inventory::{CoverageGap, section};
use crate::text::thousands;

/// How many observed values a rule of [`NodeChecks`] lists (the most common).
pub const VALUES_KEPT: usize = 5;

/// How many node names a grouped line names before `… and N more`.
pub const NODES_SHOWN: usize = 3;

/// The longest observed value kept, in characters.
pub const VALUE_MAX_CHARS: usize = 200;

/// What running the host rules on the nodes came to. Present in a report
/// whenever host rules are enabled, whether they ran or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeChecks {
    /// Whether the host rules were run on the nodes.
    pub status: NodeChecksStatus,
    /// Why they were not run (`--node-checks` not given, the cluster
    /// unreachable, Jobs forbidden …); absent when they ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Nodes at least one host rule selected (one Job each).
    pub nodes_selected: usize,
    /// Nodes that answered with a usable result.
    pub nodes_answered: usize,
    /// One entry per enabled host rule, by id.
    pub rules: Vec<NodeCheckRule>,
}

/// Whether the host rules ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NodeChecksStatus {
    /// The nodes were asked (some may not have answered: see the coverage).
    Ran,
    /// No node was asked, or none could be (see `reason`).
    NotRun,
}

/// How one host rule went across the nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeCheckRule {
    /// The rule id.
    pub id: String,
    /// `sysctl`, `systemd`, `fileChange`, `fileFilter`, `customCommand`, `nodeInfo` or `clock`.
    pub kind: String,
    /// The rule's severity.
    pub severity: Severity,
    /// Nodes the rule selects (`nodeName`, `nodeSelector`, or every node).
    pub selected: usize,
    /// Nodes that answered for the rule: it passed, failed or could not be checked there.
    pub evaluated: usize,
    /// Nodes where it failed.
    pub failed: usize,
    /// Nodes where it could not be checked.
    pub errors: usize,
    /// The most common values read on the nodes, most common first (at most [`VALUES_KEPT`]).
    pub values: Vec<ObservedValue>,
    /// Nodes where another value was read.
    pub other_values: usize,
}

/// A value read on some nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedValue {
    /// The value (a sysctl value, a unit state, a match count …).
    pub value: String,
    /// On how many nodes.
    pub nodes: usize,
}

impl NodeChecks {
    /// Host rules that were not run, and why.
    pub fn not_run(reason: impl Into<String>, rules: Vec<NodeCheckRule>) -> Self {
        NodeChecks {
            status: NodeChecksStatus::NotRun,
            reason: Some(reason.into()),
            nodes_selected: 0,
            nodes_answered: 0,
            rules,
        }
    }

    /// The rule of this id.
    pub fn rule(&self, id: &str) -> Option<&NodeCheckRule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Rules that failed (or could not be checked) on at least one node.
    pub fn failing(&self) -> usize {
        self.rules.iter().filter(|r| r.failed + r.errors > 0).count()
    }
}

/// The most common of `values` (one per node), most common first and then
/// by value, at most [`VALUES_KEPT`], and how many nodes had another value.
pub fn tally_values<'a>(values: impl IntoIterator<Item = &'a str>) -> (Vec<ObservedValue>, usize) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(crate::text::truncate(&crate::text::one_line(v), VALUE_MAX_CHARS)).or_default() += 1;
    }
    let mut sorted: Vec<(String, usize)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let others = sorted.iter().skip(VALUES_KEPT).map(|(_, n)| n).sum();
    let kept = sorted.into_iter().take(VALUES_KEPT).map(|(value, nodes)| ObservedValue { value, nodes }).collect();
    (kept, others)
}

/// Findings of one rule with the same message (node names taken out) on several nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingGroup {
    /// The rule id.
    pub rule: String,
    /// The severity.
    pub severity: Severity,
    /// The message, with the node's name as `<node>` where it appeared.
    pub message: String,
    /// The nodes, sorted.
    pub nodes: Vec<String>,
    /// On how many nodes the rule was evaluated, when the report says.
    pub of: Option<usize>,
}

impl FindingGroup {
    /// `212 of 300 nodes`, `1 node`, or `212 nodes` when the report does not say of how many.
    pub fn count_text(&self) -> String {
        count_text(self.nodes.len(), self.of)
    }

    /// `[vm.swappiness] swap: vm.swappiness is 60 (expected 0) on 212 of 300
    /// nodes (worker-1, worker-2, worker-3 … and 209 more)`, on one line.
    pub fn line(&self) -> String {
        crate::text::one_line(&format!(
            "[{}] {} on {} ({})",
            self.rule,
            self.message,
            self.count_text(),
            node_list(&self.nodes, NODES_SHOWN)
        ))
    }
}

/// Per-node coverage gaps of the node checks with the same reason (node, pod and Job names taken out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapGroup {
    /// The reason, normalised ([`normalise_reason`]).
    pub reason: String,
    /// The nodes, sorted.
    pub nodes: Vec<String>,
    /// How many nodes were asked, when the report says.
    pub of: Option<usize>,
}

impl GapGroup {
    /// `40 of 300 nodes`.
    pub fn count_text(&self) -> String {
        count_text(self.nodes.len(), self.of)
    }

    /// `40 of 300 nodes (worker-1, worker-2, worker-3 … and 37 more)`: what a gap's resource says.
    pub fn resource(&self) -> String {
        crate::text::one_line(&format!("{} ({})", self.count_text(), node_list(&self.nodes, NODES_SHOWN)))
    }

    /// The group as one coverage gap of the node checks section.
    pub fn to_gap(&self) -> CoverageGap {
        CoverageGap::error(section::NODE_CHECKS, self.resource(), crate::text::one_line(&self.reason))
    }
}

fn count_text(n: usize, of: Option<usize>) -> String {
    match of {
        Some(of) if of >= n => format!("{} of {} {}", thousands(n), thousands(of), nodes_word(of)),
        _ => format!("{} {}", thousands(n), nodes_word(n)),
    }
}

fn nodes_word(n: usize) -> &'static str {
    if n == 1 { "node" } else { "nodes" }
}

/// `node-1, node-2, node-3 … and 210 more`: the first `shown` names and how many more.
pub fn node_list(nodes: &[String], shown: usize) -> String {
    let named = nodes.iter().take(shown).map(String::as_str).collect::<Vec<_>>().join(", ");
    match nodes.len().saturating_sub(shown) {
        0 => named,
        more => format!("{named} … and {} more", thousands(more)),
    }
}

/// The node-check findings of a report grouped by rule, severity and message
/// (the node's name taken out); the worst and the largest groups first.
pub fn group_findings(report: &Report) -> Vec<FindingGroup> {
    let mut groups: BTreeMap<(&str, Severity, String), Vec<String>> = BTreeMap::new();
    for f in report.findings.iter().filter(|f| f.section == section::NODE_CHECKS) {
        groups
            .entry((f.rule.as_str(), f.severity, without_node(&f.message, &f.name)))
            .or_default()
            .push(f.name.to_string());
    }
    let mut out: Vec<FindingGroup> = groups
        .into_iter()
        .map(|((rule, severity, message), mut nodes)| {
            nodes.sort();
            nodes.dedup();
            let of = report.node_checks.as_ref().and_then(|n| n.rule(rule)).map(|r| r.evaluated);
            FindingGroup { rule: rule.to_string(), severity, message, nodes, of }
        })
        .collect();
    out.sort_by(|a, b| {
        a.severity.cmp(&b.severity).then(b.nodes.len().cmp(&a.nodes.len())).then_with(|| a.rule.cmp(&b.rule))
    });
    out
}

/// The coverage gaps of the node checks: the per-node ones (`node <name>`)
/// grouped by their normalised reason, largest first, and the others (one for
/// the whole run: Jobs forbidden, no image) as they are.
pub fn group_gaps(report: &Report) -> (Vec<GapGroup>, Vec<&CoverageGap>) {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut others = Vec::new();
    for gap in report.coverage.iter().filter(|g| g.section == section::NODE_CHECKS) {
        match gap.resource.strip_prefix("node ") {
            Some(node) if !node.is_empty() => {
                groups.entry(normalise_reason(&gap.reason, node)).or_default().push(node.to_string());
            }
            _ => others.push(gap),
        }
    }
    let of = report.node_checks.as_ref().map(|n| n.nodes_selected);
    let mut out: Vec<GapGroup> = groups
        .into_iter()
        .map(|(reason, mut nodes)| {
            nodes.sort();
            GapGroup { reason, nodes, of }
        })
        .collect();
    out.sort_by(|a, b| b.nodes.len().cmp(&a.nodes.len()).then_with(|| a.reason.cmp(&b.reason)));
    (out, others)
}

/// The report's coverage gaps with the per-node ones of the node checks
/// replaced by one gap per group, where the group's first node was.
pub fn summarised_coverage(report: &Report) -> Vec<CoverageGap> {
    let (groups, _) = group_gaps(report);
    // Each group once, where its first gap was.
    let mut pending: BTreeMap<&str, &GapGroup> = groups.iter().map(|g| (g.reason.as_str(), g)).collect();
    let mut out = Vec::new();
    for gap in &report.coverage {
        match gap.resource.strip_prefix("node ").filter(|n| !n.is_empty()) {
            Some(node) if gap.section == section::NODE_CHECKS => {
                if let Some(group) = pending.remove(normalise_reason(&gap.reason, node).as_str()) {
                    out.push(CoverageGap { kind: gap.kind, ..group.to_gap() });
                }
            }
            _ => out.push(gap.clone()),
        }
    }
    out
}

/// `Node checks: 4 rules on 300 nodes, 1 failing`, or `Node checks: not run
/// (pass --node-checks …)`; `None` for a report without node checks.
pub fn headline(report: &Report) -> Option<String> {
    let text = match &report.node_checks {
        Some(n) if n.status == NodeChecksStatus::NotRun => {
            format!(
                "Node checks: {} not run ({})",
                rules_word(n.rules.len()),
                n.reason.as_deref().unwrap_or("no reason given")
            )
        }
        Some(n) => {
            let mut text = format!("Node checks: {} on {}", rules_word(n.rules.len()), plural_nodes(n.nodes_answered));
            if n.nodes_selected > n.nodes_answered {
                text.push_str(&format!(" (of {} asked)", thousands(n.nodes_selected)));
            }
            text.push_str(&format!(", {} failing", thousands(n.failing())));
            text
        }
        // A report of schema version 3 or earlier: only the findings say.
        None => {
            let findings: Vec<&Finding> =
                report.findings.iter().filter(|f| f.section == section::NODE_CHECKS).collect();
            if findings.is_empty() {
                return None;
            }
            let mut rules: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
            rules.sort_unstable();
            rules.dedup();
            let mut nodes: Vec<&str> = findings.iter().map(|f| f.name.as_str()).collect();
            nodes.sort_unstable();
            nodes.dedup();
            format!("Node checks: {} failing on {}", rules_word(rules.len()), plural_nodes(nodes.len()))
        }
    };
    Some(crate::text::one_line(&text))
}

fn rules_word(n: usize) -> String {
    if n == 1 { "1 rule".into() } else { format!("{} rules", thousands(n)) }
}

fn plural_nodes(n: usize) -> String {
    format!("{} {}", thousands(n), nodes_word(n))
}

/// The names of the node-check Jobs (`ke-node-check-<node>-<hash>`) and of
/// their pods (the Job's name and a suffix), with the word `pod` before a pod's.
static GENERATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:([Pp]od) )?ke-node-check-[-a-z0-9]*[a-z0-9]")
        .unwrap_or_else(|e| unreachable!("built-in pattern: {e}"))
});

/// A per-node coverage gap's reason with the node's, its pod's and its Job's
/// names replaced by `<node>`, `<pod>` and `<job>`, so that the same fault on
/// many nodes reads the same.
pub fn normalise_reason(reason: &str, node: &str) -> String {
    let text = GENERATED.replace_all(reason, |c: &regex::Captures<'_>| match c.get(1) {
        Some(word) => format!("{} <pod>", word.as_str()),
        None => "<job>".to_string(),
    });
    without_node(&text, node)
}

/// `text` with `node` written as `<node>` where it stands as a name of its
/// own (not inside a longer name or word: node `a` leaves `swap` alone).
fn without_node(text: &str, node: &str) -> String {
    if node.is_empty() {
        return text.to_string();
    }
    let part_of_name = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(node) {
        let before = rest[..at].chars().next_back().or_else(|| out.chars().next_back());
        let after = rest[at + node.len()..].chars().next();
        // A dot ends a sentence unless a name goes on after it (`n1.example.com`).
        let after_in_name = match after {
            Some('.') => part_of_name(rest[at + node.len() + 1..].chars().next()),
            other => part_of_name(other),
        };
        out.push_str(&rest[..at]);
        if part_of_name(before) || after_in_name {
            out.push_str(node);
        } else {
            out.push_str("<node>");
        }
        rest = &rest[at + node.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;

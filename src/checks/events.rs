//! Warning events, grouped by object and reason with counts and first/last
//! seen, so a thousand repeats are one line. Events node-problem-detector and
//! the kubelet raise about nodes (OOM kills, hung tasks, ext4 errors …) are
//! set aside for the node checks instead.
//!
//! Events arrive page by page; only the groups are kept.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;

use super::Evaluation;
use super::health::{Context, WARNING_EVENTS, emit};
use crate::clock::{self, Timestamp};
use crate::inventory::{Object, ObjectRef, section};
use crate::report::Finding;
use crate::rules::{Logic, Rule, RuleSet};
use crate::text::truncate;

/// Event reasons that restate a pod status the pod checks report (crash loops, image pulls).
const POD_STATUS_REASONS: &[&str] = &["BackOff", "Failed", "ErrImagePull", "ImagePullBackOff", "InspectFailed"];

/// Kinds without a namespace that events are commonly about.
const CLUSTER_SCOPED: &[&str] = &[
    "Node",
    "Namespace",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "CustomResourceDefinition",
];

/// node-problem-detector's monitors, as they sign their events.
const NPD_SOURCES: &[&str] =
    &["kernel-monitor", "docker-monitor", "systemd-monitor", "custom-plugin-monitor", "abrt-adaptor"];

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct EventView {
    #[serde(rename = "type")]
    kind: Option<String>,
    reason: Option<String>,
    message: Option<String>,
    count: Option<u64>,
    first_timestamp: Option<String>,
    last_timestamp: Option<String>,
    event_time: Option<String>,
    series: Option<Series>,
    involved_object: InvolvedObject,
    source: Source,
    reporting_component: Option<String>,
    metadata: Meta,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Series {
    count: Option<u64>,
    last_observed_time: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct InvolvedObject {
    kind: String,
    name: String,
    namespace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Source {
    component: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Meta {
    namespace: Option<String>,
    creation_timestamp: Option<String>,
}

/// One group of events: same object, same reason.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// Event reason.
    pub reason: String,
    /// The latest message.
    pub message: String,
    /// Occurrences (the events' own counts summed).
    pub count: u64,
    /// Earliest occurrence.
    pub first_seen: Option<String>,
    /// Latest occurrence.
    pub last_seen: Option<String>,
    last: Option<Timestamp>,
    first: Option<Timestamp>,
}

impl Group {
    fn add(&mut self, reason: &str, message: &str, count: u64, first: Option<Timestamp>, last: Option<Timestamp>) {
        if self.reason.is_empty() {
            reason.clone_into(&mut self.reason);
        }
        self.count += count;
        if self.first.is_none() || first < self.first && first.is_some() {
            self.first = first;
            self.first_seen = first.map(clock::format);
        }
        if last >= self.last || self.message.is_empty() {
            self.last = last;
            self.last_seen = last.map(clock::format);
            self.message = truncate(message, 500);
        }
    }
}

/// Node problems taken from events, for the node checks.
#[derive(Debug, Default)]
pub struct NodeProblemEvents {
    /// Whether any event came from node-problem-detector (so it is installed).
    pub seen_npd: bool,
    by_node: HashMap<String, BTreeMap<(String, String), Group>>,
}

impl NodeProblemEvents {
    /// Calls `f(rule id, group)` for each problem seen on `node`.
    pub fn for_node(&self, node: &str, mut f: impl FnMut(&str, &Group)) {
        for ((rule, _), group) in self.by_node.get(node).into_iter().flatten() {
            f(rule, group);
        }
    }
}

type GroupKey = (Option<String>, String, String, String);

/// Accumulates Warning events page by page.
#[derive(Default)]
pub struct EventTracker<'r> {
    groups: HashMap<GroupKey, Group>,
    /// Node problems for the node checks.
    pub nodes: NodeProblemEvents,
    patterns: Vec<&'r Rule>,
    /// Node rules with `nodeEvents`, enabled or not: their events are node problems, not Warning events.
    node_rules: Vec<&'r Rule>,
    pattern_hits: HashMap<(usize, Option<String>, String, String), Group>,
}

impl<'r> EventTracker<'r> {
    /// A tracker applying the enabled `Event` pattern rules as well, and
    /// setting aside the node events the node rules of `rules` name.
    pub fn new(patterns: Vec<&'r Rule>, rules: &'r RuleSet) -> Self {
        let node_rules =
            rules.rules.iter().filter(|r| matches!(&r.logic, Logic::Node(n) if !n.events.is_empty())).collect();
        EventTracker { patterns, node_rules, ..Default::default() }
    }

    /// Takes one page of events.
    pub fn add(&mut self, ctx: &Context<'_>, events: &[Object]) {
        for event in events {
            self.add_one(ctx, event);
        }
    }

    fn add_one(&mut self, ctx: &Context<'_>, event: &Object) {
        let Ok(e) = EventView::deserialize(&event.raw) else { return };
        if e.kind.as_deref() != Some("Warning") {
            return;
        }
        let last = [
            e.series.as_ref().and_then(|s| s.last_observed_time.as_deref()),
            e.last_timestamp.as_deref(),
            e.event_time.as_deref(),
            e.metadata.creation_timestamp.as_deref(),
        ]
        .into_iter()
        .flatten()
        .find_map(clock::parse);
        let first = [e.first_timestamp.as_deref(), e.event_time.as_deref(), e.metadata.creation_timestamp.as_deref()]
            .into_iter()
            .flatten()
            .find_map(clock::parse)
            .or(last);
        if last.is_some_and(|t| !ctx.in_window(t)) {
            return;
        }
        let count = e.series.as_ref().and_then(|s| s.count).or(e.count).unwrap_or(1).max(1);
        let reason = e.reason.clone().unwrap_or_default();
        let message = e.message.clone().unwrap_or_default();
        let component = e.source.component.as_deref().or(e.reporting_component.as_deref()).unwrap_or_default();
        if NPD_SOURCES.contains(&component) {
            self.nodes.seen_npd = true;
        }
        let namespace = match e.involved_object.namespace.clone() {
            Some(ns) if !ns.is_empty() => Some(ns),
            // Events about cluster-scoped objects live in `default`; the object has no namespace.
            _ if CLUSTER_SCOPED.contains(&e.involved_object.kind.as_str()) => None,
            _ => e.metadata.namespace.clone(),
        };
        for (i, rule) in self.patterns.iter().enumerate() {
            if let Logic::Pattern(p) = &rule.logic
                && p.matches_event(&reason, &message)
            {
                let key = (i, namespace.clone(), e.involved_object.kind.clone(), e.involved_object.name.clone());
                self.pattern_hits.entry(key).or_default().add(&reason, &message, count, first, last);
            }
        }
        if e.involved_object.kind == "Node" {
            let mut rules = self
                .node_rules
                .iter()
                .filter(|r| matches!(&r.logic, Logic::Node(n) if n.events.contains(&reason)))
                .peekable();
            if rules.peek().is_some() {
                let node = self.nodes.by_node.entry(e.involved_object.name.clone()).or_default();
                for rule in rules {
                    node.entry((rule.id.clone(), reason.clone()))
                        .or_default()
                        .add(&reason, &message, count, first, last);
                }
                return;
            }
        }
        if ctx.settings.events.ignore_reasons.contains(&reason) {
            return;
        }
        let key = (namespace, e.involved_object.kind, e.involved_object.name, reason.clone());
        self.groups.entry(key).or_default().add(&reason, &message, count, first, last);
    }

    /// Emits one `WarningEvent` finding per group, and the pattern rules'
    /// findings. Events repeating what the pod checks already reported for a
    /// pod (`reported_pods`: back-offs, failed pulls) are left out: one cause, one finding.
    pub fn finish(&self, ctx: &Context<'_>, eval: &mut Evaluation, reported_pods: &HashSet<(Option<String>, String)>) {
        for rule in ctx.bound(&WARNING_EVENTS) {
            for ((namespace, kind, name, reason), g) in &self.groups {
                if kind == "Pod"
                    && POD_STATUS_REASONS.contains(&reason.as_str())
                    && reported_pods.contains(&(namespace.clone(), name.clone()))
                {
                    continue;
                }
                let object = ObjectRef {
                    group: String::new(),
                    kind: kind.clone(),
                    namespace: namespace.clone(),
                    name: name.clone(),
                };
                emit(ctx, eval, group_finding(rule, &object, reason, g, None), None);
            }
        }
        for ((i, namespace, kind, name), g) in &self.pattern_hits {
            let Some(rule) = self.patterns.get(*i) else { continue };
            let object = ObjectRef {
                group: String::new(),
                kind: kind.clone(),
                namespace: namespace.clone(),
                name: name.clone(),
            };
            let message = format!("{}: {}", rule.failure_message, g.message);
            emit(ctx, eval, group_finding(rule, &object, &g.reason, g, Some(message)), None);
        }
    }
}

fn group_finding(rule: &Rule, object: &ObjectRef, reason: &str, g: &Group, message: Option<String>) -> Finding {
    let mut f = Finding::new(rule, section::EVENTS, object);
    // Several reasons on one object are separate groups: the reason is part of the identity.
    f.fingerprint = Finding::fingerprint_of(
        &format!("{}:{reason}", rule.id),
        &object.kind,
        object.namespace.as_deref(),
        &object.name,
        None,
    );
    f.message = message.unwrap_or_else(|| g.message.clone());
    f.reason = Some(reason.to_string());
    f.count = Some(g.count);
    f.first_seen = g.first_seen.clone();
    f.last_seen = g.last_seen.clone();
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_keeps_latest_message_and_bounds() {
        let t = |s: &str| clock::parse(s);
        let mut g = Group::default();
        g.add("BackOff", "older", 3, t("2026-11-24T01:00:00Z"), t("2026-11-24T02:00:00Z"));
        g.add("BackOff", "newer", 2, t("2026-11-24T00:30:00Z"), t("2026-11-24T05:00:00Z"));
        g.add("BackOff", "middle", 1, t("2026-11-24T03:00:00Z"), t("2026-11-24T03:00:00Z"));
        assert_eq!(g.count, 6);
        assert_eq!(g.message, "newer");
        assert_eq!(g.first_seen.as_deref(), Some("2026-11-24T00:30:00Z"));
        assert_eq!(g.last_seen.as_deref(), Some("2026-11-24T05:00:00Z"));
    }
}

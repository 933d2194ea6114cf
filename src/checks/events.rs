//! Warning events, grouped with counts and first/last seen, so a thousand
//! repeats are one line: events about a pod are grouped by the pod's
//! controller and reason (a Deployment's 200 back-off events on 40 pods are
//! one finding naming the number of pods and one sample), with a fingerprint
//! of controller and reason that survives a rollout's new pod names; events
//! about any other object by object and reason. Events node-problem-detector
//! and the kubelet raise about nodes (OOM kills, hung tasks, ext4 errors …)
//! are set aside for the node checks instead.
//!
//! Events arrive page by page; only the groups are kept.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;

use super::Evaluation;
use super::health::{Context, WARNING_EVENTS, emit};
use crate::clock::{self, Timestamp};
use crate::inventory::{Object, ObjectRef, SourceLocation, section};
use crate::report::{Finding, Text};
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
    /// Where the first event of the group was read from (snapshots).
    source: Option<SourceLocation>,
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
            self.message = truncate(&crate::text::secrets::mask(message), 500);
        }
    }

    /// Adds another group's events (of another pod of the same controller).
    fn merge(&mut self, other: &Group) {
        self.add(&other.reason, &other.message, other.count, other.first, other.last);
        if self.source.is_none() {
            self.source.clone_from(&other.source);
        }
    }
}

/// The groups of several pods of one controller with one reason.
#[derive(Debug, Default)]
struct Rollup {
    group: Group,
    pods: u64,
    /// The pod whose message is shown.
    sample: String,
    /// Whether the groups are a controller's pods' (not one object's own).
    rolled: bool,
}

/// Where a pod's events are reported: its controller when the pod was seen
/// (pod name → controller), otherwise the pod itself.
pub type PodControllers = HashMap<(Option<String>, String), ObjectRef>;

/// The controllers of an inventory by namespace, kind and name, to find the
/// controller of a pod that is gone from its generated name.
struct Controllers<'i>(HashSet<(Option<&'i str>, &'i str, &'i str)>);

impl<'i> Controllers<'i> {
    fn of(inventory: &'i crate::inventory::Inventory) -> Self {
        let ids = inventory.objects.iter().map(|o| &o.id).chain(&inventory.known);
        let kinds = ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"];
        Self(
            ids.filter(|id| kinds.contains(&id.kind.as_str()))
                .map(|id| (id.namespace.as_deref(), id.kind.as_str(), id.name.as_str()))
                .collect(),
        )
    }

    fn has(&self, namespace: Option<&str>, kind: &str, name: &str) -> bool {
        self.0.contains(&(namespace, kind, name))
    }

    /// The controller whose pod `name` was, when that controller exists: pods
    /// are named `<replicaset>-<5 chars>` (a Deployment's ReplicaSet is
    /// `<deployment>-<template hash>`), `<daemonset or job>-<5 chars>`, or
    /// `<statefulset>-<ordinal>`. Events outlive their pods by an hour, so
    /// after a rollout the old pods' events still name their controller.
    fn of_pod(&self, namespace: Option<&str>, name: &str) -> Option<ObjectRef> {
        let owner = |group: &str, kind: &str, name: &str| ObjectRef {
            group: group.into(),
            kind: kind.into(),
            namespace: namespace.map(str::to_string),
            name: name.into(),
        };
        let (base, suffix) = name.rsplit_once('-')?;
        if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) && self.has(namespace, "StatefulSet", base)
        {
            return Some(owner("apps", "StatefulSet", base));
        }
        if suffix.len() != 5 || !suffix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
            return None;
        }
        if let Some((deployment, hash)) = base.rsplit_once('-')
            && (6..=10).contains(&hash.len())
            && self.has(namespace, "Deployment", deployment)
        {
            return Some(owner("apps", "Deployment", deployment));
        }
        [("apps", "ReplicaSet"), ("apps", "DaemonSet"), ("batch", "Job")]
            .into_iter()
            .find(|(_, kind)| self.has(namespace, kind, base))
            .map(|(group, kind)| owner(group, kind, base))
    }
}

/// Folds per-object groups into per-controller ones: groups about pods of one
/// controller with one key (reason, or rule and reason) become one, counting
/// the pods; groups about other objects stay as they are. A pod's controller
/// is the one it was seen with, or for a pod that is gone the controller
/// its name points to, when that exists.
fn roll_up<'g, K: Ord + Clone>(
    groups: impl Iterator<Item = (K, &'g ObjectRef, &'g Group)>,
    controllers: &PodControllers,
    existing: &Controllers<'_>,
) -> BTreeMap<(K, ObjectRef), Rollup> {
    let mut out: BTreeMap<(K, ObjectRef), Rollup> = BTreeMap::new();
    for (key, object, g) in groups {
        let inferred;
        let owner = if object.kind != "Pod" {
            object
        } else if let Some(c) = controllers.get(&(object.namespace.clone(), object.name.clone())) {
            c
        } else if let Some(c) = existing.of_pod(object.namespace.as_deref(), &object.name) {
            inferred = c;
            &inferred
        } else {
            object
        };
        let r = out.entry((key, owner.clone())).or_default();
        r.pods += 1;
        r.rolled |= owner != object;
        let newer = r.sample.is_empty() || g.last >= r.group.last;
        r.group.merge(g);
        if newer {
            r.sample.clone_from(&object.name);
        }
    }
    out
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
        let source = event.source.as_ref();
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
                let g = self.pattern_hits.entry(key).or_default();
                g.add(&reason, &message, count, first, last);
                g.source = g.source.take().or_else(|| source.cloned());
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
        let g = self.groups.entry(key).or_default();
        g.add(&reason, &message, count, first, last);
        g.source = g.source.take().or_else(|| source.cloned());
    }

    /// Emits one `WarningEvent` finding per controller (or object) and
    /// reason, and the pattern rules' findings likewise. Events repeating what
    /// the pod checks already reported for a pod (`reported_pods`: back-offs,
    /// failed pulls) are left out: one cause, one finding. `controllers` maps
    /// the pods seen to their controllers.
    pub fn finish(
        &self,
        ctx: &Context<'_>,
        eval: &mut Evaluation,
        reported_pods: &HashSet<(Option<String>, String)>,
        controllers: &PodControllers,
    ) {
        let object = |namespace: &Option<String>, kind: &str, name: &str| ObjectRef {
            group: String::new(),
            kind: kind.to_string(),
            namespace: namespace.clone(),
            name: name.to_string(),
        };
        let existing = Controllers::of(ctx.inventory);
        for rule in ctx.bound(&WARNING_EVENTS) {
            let kept: Vec<(String, ObjectRef, &Group)> = self
                .groups
                .iter()
                .filter(|((namespace, kind, name, reason), _)| {
                    !(kind == "Pod"
                        && POD_STATUS_REASONS.contains(&reason.as_str())
                        && reported_pods.contains(&(namespace.clone(), name.clone())))
                })
                .map(|((namespace, kind, name, reason), g)| (reason.clone(), object(namespace, kind, name), g))
                .collect();
            let rolled = roll_up(kept.iter().map(|(reason, o, g)| (reason.clone(), o, *g)), controllers, &existing);
            for ((reason, owner), r) in &rolled {
                emit(ctx, eval, group_finding(rule, owner, reason, r, None), None);
            }
        }
        let hits: Vec<((usize, String), ObjectRef, &Group)> = self
            .pattern_hits
            .iter()
            .map(|((i, namespace, kind, name), g)| ((*i, g.reason.clone()), object(namespace, kind, name), g))
            .collect();
        let rolled = roll_up(hits.iter().map(|(key, o, g)| (key.clone(), o, *g)), controllers, &existing);
        for (((i, reason), owner), r) in &rolled {
            let Some(rule) = self.patterns.get(*i) else { continue };
            let message = format!("{}: {}", rule.failure_message, r.group.message);
            emit(ctx, eval, group_finding(rule, owner, reason, r, Some(message)), None);
        }
    }
}

/// One finding for a group; the fingerprint is rule, reason and the object or
/// controller, so new pods of a rollout keep it.
fn group_finding(rule: &Rule, object: &ObjectRef, reason: &str, r: &Rollup, message: Option<String>) -> Finding {
    let g = &r.group;
    let mut f = Finding::new(rule, section::EVENTS, object);
    // Several reasons on one object are separate groups: the reason is part of the identity.
    f.fingerprint = Finding::fingerprint_of(
        &format!("{}:{reason}", rule.id),
        &object.kind,
        object.namespace.as_deref(),
        &object.name,
        None,
    );
    let message = message.unwrap_or_else(|| g.message.clone());
    f.message = if !r.rolled {
        message.into()
    } else if r.pods == 1 {
        format!("pod {}: {message}", r.sample).into()
    } else {
        format!("{} pods (e.g. {}): {message}", r.pods, r.sample).into()
    };
    f.reason = Some(Text::interned(reason));
    f.count = Some(g.count);
    f.pods = r.rolled.then_some(r.pods);
    f.first_seen = g.first_seen.as_deref().map(Text::from);
    f.last_seen = g.last_seen.as_deref().map(Text::from);
    f.source = g.source.clone();
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::evaluate_with;
    use crate::config::InspectSettings;
    use crate::inventory::Inventory;
    use serde_json::json;

    /// Pods of Deployment `web` (ReplicaSet `web-<hash>`), each with a Warning
    /// event and an error in its log, inspected at 02:00.
    fn rollout(hash: &str, pods: &[&str]) -> Vec<crate::report::Finding> {
        let mut inventory = Inventory { collected_at: Some("2026-11-25T02:00:00Z".into()), ..Inventory::default() };
        for (i, suffix) in pods.iter().enumerate() {
            let pod = format!("web-{hash}-{suffix}");
            let objects = [
                json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": pod, "namespace": "shop", "labels": {"app": "web", "pod-template-hash": hash},
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("web-{hash}"), "controller": true, "uid": "u"}]},
                    "spec": {"containers": [{"name": "web", "image": "web:1"}]},
                    "status": {"phase": "Running"}}),
                json!({"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "Unhealthy",
                    "metadata": {"name": format!("{pod}.1"), "namespace": "shop"},
                    "message": format!("Readiness probe failed on {pod}"), "count": i + 2,
                    "firstTimestamp": "2026-11-25T01:10:00Z", "lastTimestamp": format!("2026-11-25T01:5{i}:00Z"),
                    "involvedObject": {"kind": "Pod", "name": pod, "namespace": "shop"}}),
                json!({"apiVersion": "kubeeye.io/v1", "kind": "ContainerLog",
                    "metadata": {"namespace": "shop", "name": format!("{pod}.web")}, "pod": pod, "container": "web",
                    "log": "ok\nwrite /data/x: input/output error\nwrite /data/y: input/output error\n"}),
            ];
            for o in objects {
                inventory.push(crate::inventory::Object::from_value(o).expect("an object"));
            }
        }
        let rules = RuleSet::builtin().expect("built-in rules");
        evaluate_with(&inventory, &rules, &InspectSettings::default())
            .findings
            .into_iter()
            .filter(|f| matches!(f.rule.as_str(), "WarningEvent" | "PodIOError"))
            .collect()
    }

    #[test]
    fn pod_events_and_logs_are_one_finding_per_controller_that_survives_a_rollout() {
        let before = rollout("7d4b9c8f5", &["aaaaa", "bbbbb", "ccccc"]);
        assert_eq!(before.len(), 2, "{before:#?}");
        let event = before.iter().find(|f| f.rule == "WarningEvent").expect("the events' finding");
        assert_eq!((event.kind.as_str(), event.name.as_str()), ("Deployment", "web"));
        assert_eq!(event.count, Some(2 + 3 + 4), "every event counted");
        assert_eq!(event.pods, Some(3));
        assert_eq!(event.message, "3 pods (e.g. web-7d4b9c8f5-ccccc): Readiness probe failed on web-7d4b9c8f5-ccccc");
        assert_eq!(event.last_seen.as_deref(), Some("2026-11-25T01:52:00Z"));
        let log = before.iter().find(|f| f.rule == "PodIOError").expect("the logs' finding");
        assert_eq!(
            (log.kind.as_str(), log.name.as_str(), log.container.as_deref()),
            ("Deployment", "web", Some("web"))
        );
        assert_eq!(log.count, Some(6), "two lines in each of three pods");
        assert!(log.message.contains("(6 lines in 3 pods (e.g. web-7d4b9c8f5-aaaaa))"), "{}", log.message);
        // The next night the pods have new names: the same findings, not new ones.
        let after = rollout("5c9f7b6d4", &["xxxxx", "yyyyy"]);
        let fingerprints = |fs: &[crate::report::Finding]| fs.iter().map(|f| f.fingerprint.clone()).collect::<Vec<_>>();
        assert_eq!(fingerprints(&before), fingerprints(&after));
    }

    #[test]
    fn events_of_pods_that_are_gone_go_to_the_controller_their_name_points_to() {
        let mut inventory = Inventory { collected_at: Some("2026-11-25T02:00:00Z".into()), ..Inventory::default() };
        let event = |pod: &str| {
            json!({"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "BackOff",
                "metadata": {"name": format!("{pod}.1"), "namespace": "shop"},
                "message": "Back-off restarting failed container", "count": 3,
                "lastTimestamp": "2026-11-25T01:50:00Z",
                "involvedObject": {"kind": "Pod", "name": pod, "namespace": "shop"}})
        };
        let objects = [
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}),
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "shop"}}),
            event("web-7d4b9c8f5-aaaaa"),
            event("web-5c9f7b6d4-bbbbb"),
            event("db-0"),
            event("db-1"),
            // No such controller: the pod stays itself.
            event("cache-6f8d9c7b5-ccccc"),
        ];
        for o in objects {
            inventory.push(crate::inventory::Object::from_value(o).expect("an object"));
        }
        let rules = RuleSet::builtin().expect("built-in rules");
        let mut found: Vec<(String, String, Option<u64>)> =
            evaluate_with(&inventory, &rules, &InspectSettings::default())
                .findings
                .into_iter()
                .filter(|f| f.rule == "WarningEvent")
                .map(|f| (f.kind.to_string(), f.name.to_string(), f.count))
                .collect();
        found.sort();
        assert_eq!(
            found,
            [
                ("Deployment".to_string(), "web".to_string(), Some(6)),
                ("Pod".to_string(), "cache-6f8d9c7b5-ccccc".to_string(), Some(3)),
                ("StatefulSet".to_string(), "db".to_string(), Some(6)),
            ]
        );
    }

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

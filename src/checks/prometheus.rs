//! PromQL rules: every series Prometheus returned for a rule's query is a
//! finding about the object its labels name. Series about pods wait for the
//! pods to stream by, so they are reported per controller like the other pod
//! findings; several series about one object are one finding.

use std::collections::{BTreeMap, HashMap};

use super::Evaluation;
use super::exempt;
use super::workload::controller_of;
use crate::inventory::{Object, ObjectRef, Series, section};
use crate::report::Finding;
use crate::rules::prometheus::{ObjectFrom, PromQuery, format_value};
use crate::rules::{Rule, RuleSet};

/// Labels that name the object or the scrape, not what is wrong: left out
/// of the details a message without placeholders gets.
const IDENTITY_LABELS: &[&str] = &[
    "__name__",
    "job",
    "instance",
    "namespace",
    "pod",
    "node",
    "container",
    "deployment",
    "statefulset",
    "daemonset",
    "endpoint",
    "service",
    "prometheus",
    "prometheus_replica",
    "uid",
];

/// What a series says about which object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The object the finding is about.
    pub object: ObjectRef,
    /// The container, for a pod series with a `container` label.
    pub container: Option<String>,
}

/// The object a series is about, by its labels (see [`ObjectFrom`]).
pub fn subject_of(from: ObjectFrom, labels: &BTreeMap<String, String>) -> Subject {
    let label = |k: &str| labels.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let object = |group: &str, kind: &str, namespace: Option<&str>, name: &str| ObjectRef {
        group: group.into(),
        kind: kind.into(),
        namespace: namespace.map(str::to_string),
        name: name.into(),
    };
    let node =
        || label("node").or_else(|| label("instance").map(strip_port)).map(|name| object("", "Node", None, name));
    let pod = || Some(object("", "Pod", label("namespace"), label("pod")?)).filter(|o| o.namespace.is_some());
    let workload = || {
        let namespace = label("namespace")?;
        [("deployment", "Deployment"), ("statefulset", "StatefulSet"), ("daemonset", "DaemonSet")]
            .iter()
            .find_map(|(l, kind)| label(l).map(|name| object("apps", kind, Some(namespace), name)))
    };
    let namespace = || label("namespace").map(|ns| object("", "Namespace", None, ns));
    let cluster = || object("", "Cluster", None, "cluster");
    let found = match from {
        ObjectFrom::Auto => pod().or_else(workload).or_else(|| label("node").map(|n| object("", "Node", None, n))),
        ObjectFrom::Node => node(),
        ObjectFrom::Pod => pod(),
        ObjectFrom::Workload => workload(),
        ObjectFrom::Namespace => namespace(),
        ObjectFrom::Cluster => None,
    };
    let found = match from {
        ObjectFrom::Auto => found.or_else(namespace).or_else(node),
        _ => found,
    };
    let object = found.unwrap_or_else(cluster);
    let container = (object.kind == "Pod").then(|| label("container").map(str::to_string)).flatten();
    Subject { object, container }
}

/// `10.0.0.1:9100` → `10.0.0.1`, `[::1]:9100` → `::1`, `node-1` as it is.
fn strip_port(instance: &str) -> &str {
    if let Some(rest) = instance.strip_prefix('[') {
        return rest.split_once(']').map_or(instance, |(host, _)| host);
    }
    match instance.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => instance,
    }
}

/// One series turned into a finding-to-be.
#[derive(Debug)]
struct Hit<'r> {
    rule: &'r Rule,
    subject: Subject,
    message: String,
}

/// The series of the PromQL rules, waiting for the pods they name.
#[derive(Debug, Default)]
pub struct PromTracker<'r> {
    hits: Vec<Hit<'r>>,
    /// Pods named by series, with the hits about them.
    pods: HashMap<(String, String), Vec<usize>>,
}

impl<'r> PromTracker<'r> {
    /// Takes Prometheus's answers; series of rules that are not enabled are ignored.
    pub fn new(rules: &'r RuleSet, series: &[Series]) -> Self {
        let mut tracker = PromTracker::default();
        let by_id: HashMap<&str, (&Rule, &PromQuery)> =
            rules.prometheus_queries().map(|(r, q)| (r.id.as_str(), (r, q))).collect();
        for s in series {
            let Some((rule, query)) = by_id.get(s.rule.as_str()) else { continue };
            let subject = subject_of(query.object, &s.labels);
            let message = message(query, &s.labels, s.value);
            if subject.object.kind == "Pod"
                && let Some(ns) = &subject.object.namespace
            {
                let key = (ns.clone(), subject.object.name.clone());
                tracker.pods.entry(key).or_default().push(tracker.hits.len());
            }
            tracker.hits.push(Hit { rule, subject, message });
        }
        tracker
    }

    /// A pod went by: series about it are reported on its controller.
    pub fn pod(&mut self, pod: &Object) {
        if self.pods.is_empty() {
            return;
        }
        let key = (pod.id.namespace.clone().unwrap_or_default(), pod.id.name.clone());
        let Some(hits) = self.pods.remove(&key) else { return };
        let controller = controller_of(pod);
        for i in hits {
            self.hits[i].subject.object = controller.clone();
        }
    }

    /// One finding per rule, object and container; several series make one
    /// finding that counts them.
    pub fn finish(self, rules: &RuleSet, eval: &mut Evaluation) {
        let mut grouped: BTreeMap<(String, ObjectRef, Option<String>), Vec<Hit<'r>>> = BTreeMap::new();
        for hit in self.hits {
            let key = (hit.rule.id.clone(), hit.subject.object.clone(), hit.subject.container.clone());
            grouped.entry(key).or_default().push(hit);
        }
        for ((_, object, container), mut hits) in grouped {
            let rule = hits[0].rule;
            if exempt::is_exempt(rule, &object, container.as_deref(), &[], rules) {
                continue;
            }
            hits.sort_by(|a, b| a.message.cmp(&b.message));
            hits.dedup_by(|a, b| a.message == b.message);
            let mut message = hits[0].message.clone();
            if hits.len() > 1 {
                let others: Vec<&str> = hits[1..].iter().take(3).map(|h| h.message.as_str()).collect();
                let more = hits.len() - 1 - others.len();
                message = format!("{message}; also: {}", others.join("; "));
                if more > 0 {
                    message.push_str(&format!("; and {more} more"));
                }
            }
            let mut finding = Finding::new(rule, section_of(&object), &object)
                .with_container(container.as_deref())
                .with_message(message);
            if hits.len() > 1 {
                finding.count = Some(hits.len() as u64);
            }
            eval.findings.push(finding);
        }
    }
}

/// The report section of a finding about this object.
fn section_of(object: &ObjectRef) -> &'static str {
    match object.kind.as_str() {
        "Node" => section::NODES,
        "Cluster" => section::CONTROL_PLANE,
        "Namespace" => section::WORKLOADS,
        _ => section::PODS,
    }
}

/// The message of one series: the rule's template; a template without
/// placeholders (a KubeEye `desc`) gets the value and the telling labels.
fn message(query: &PromQuery, labels: &BTreeMap<String, String>, value: f64) -> String {
    let text = query.message.render(labels, value);
    if query.message.has_placeholders() {
        return text;
    }
    let details: Vec<String> = labels
        .iter()
        .filter(|(k, _)| !IDENTITY_LABELS.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let value = format_value(value);
    if details.is_empty() {
        format!("{text} (value {value})")
    } else {
        format!("{text} (value {value}; {})", details.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
    }

    fn subject(pairs: &[(&str, &str)]) -> (String, Option<String>, String, Option<String>) {
        let s = subject_of(ObjectFrom::Auto, &labels(pairs));
        (s.object.kind, s.object.namespace, s.object.name, s.container)
    }

    #[test]
    fn labels_name_the_object() {
        // kube-state-metrics series carry the exporter's instance: the pod wins.
        assert_eq!(
            subject(&[("instance", "10.0.0.9:8080"), ("namespace", "shop"), ("pod", "web-1"), ("container", "app")]),
            ("Pod".into(), Some("shop".into()), "web-1".into(), Some("app".into()))
        );
        assert_eq!(
            subject(&[("namespace", "shop"), ("deployment", "web")]),
            ("Deployment".into(), Some("shop".into()), "web".into(), None)
        );
        assert_eq!(subject(&[("node", "n1"), ("instance", "x:1")]), ("Node".into(), None, "n1".into(), None));
        assert_eq!(subject(&[("namespace", "shop"), ("resource", "cpu")]).0, "Namespace");
        assert_eq!(subject(&[("instance", "10.0.0.1:9100"), ("mountpoint", "/")]).2, "10.0.0.1");
        assert_eq!(subject(&[("instance", "[fd00::1]:9100")]).2, "fd00::1");
        assert_eq!(subject(&[]).0, "Cluster");
    }

    #[test]
    fn a_rule_can_insist_on_the_node() {
        // node-exporter scraped by kube-prometheus: the exporter pod's labels, the node in `instance`.
        let l = labels(&[("instance", "worker-2"), ("namespace", "monitoring"), ("pod", "node-exporter-x")]);
        assert_eq!(subject_of(ObjectFrom::Node, &l).object.name, "worker-2");
        assert_eq!(subject_of(ObjectFrom::Auto, &l).object.kind, "Pod");
        assert_eq!(subject_of(ObjectFrom::Cluster, &l).object.kind, "Cluster");
    }
}

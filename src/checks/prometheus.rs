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
    /// The rule's message for this series.
    text: String,
    /// For a message without placeholders: the value and the telling labels.
    details: Option<String>,
    /// The pod the series named, once it is reported on the pod's controller.
    pod: Option<String>,
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
            let text = query.message.render(&s.labels, s.value);
            let details = (!query.message.has_placeholders()).then(|| details(&s.labels, s.value));
            if subject.object.kind == "Pod"
                && let Some(ns) = &subject.object.namespace
            {
                let key = (ns.clone(), subject.object.name.clone());
                tracker.pods.entry(key).or_default().push(tracker.hits.len());
            }
            tracker.hits.push(Hit { rule, subject, text, details, pod: None });
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
            let hit = &mut self.hits[i];
            if controller != hit.subject.object {
                hit.pod = Some(pod.id.name.clone());
                hit.subject.object = controller.clone();
            }
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
            let series = hits.len();
            let mut pods: Vec<String> = hits.iter().filter_map(|h| h.pod.clone()).collect();
            pods.sort();
            pods.dedup();
            hits.sort_by(|a, b| (&a.text, &a.details).cmp(&(&b.text, &b.details)));
            hits.dedup_by(|a, b| (&a.text, &a.details) == (&b.text, &b.details));
            let mut message = message(&hits);
            if !pods.is_empty() {
                let more = pods.len().saturating_sub(SHOWN);
                pods.truncate(SHOWN);
                message.push_str(&format!(
                    " [pod {}{}]",
                    pods.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                ));
            }
            let mut finding = Finding::new(rule, section_of(&object), &object)
                .with_container(container.as_deref())
                .with_message(message);
            if series > 1 {
                finding.count = Some(series as u64);
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

/// Series shown one by one in a finding's message; more are counted.
const SHOWN: usize = 4;

/// The message of the series about one object: the rule's message once when
/// it says the same of each (a KubeEye `desc`) with each series' details,
/// otherwise each series' own message.
fn message(hits: &[Hit<'_>]) -> String {
    let more = hits.len().saturating_sub(SHOWN);
    let more = if more > 0 { format!("; and {more} more") } else { String::new() };
    let shown = &hits[..hits.len().min(SHOWN)];
    if hits.iter().all(|h| h.text == hits[0].text) {
        let details: Vec<&str> = shown.iter().filter_map(|h| h.details.as_deref()).collect();
        if details.is_empty() {
            return hits[0].text.clone();
        }
        return format!("{} ({}{more})", hits[0].text, details.join("; "));
    }
    let texts: Vec<String> = shown
        .iter()
        .map(|h| match &h.details {
            Some(d) => format!("{} ({d})", h.text),
            None => h.text.clone(),
        })
        .collect();
    format!(
        "{}{}{more}",
        texts[0],
        if texts.len() > 1 { format!("; also: {}", texts[1..].join("; ")) } else { String::new() }
    )
}

/// The value and the labels that tell series about one object apart.
fn details(labels: &BTreeMap<String, String>, value: f64) -> String {
    let mut parts = vec![format!("value {}", format_value(value))];
    parts
        .extend(labels.iter().filter(|(k, _)| !IDENTITY_LABELS.contains(&k.as_str())).map(|(k, v)| format!("{k}={v}")));
    parts.join(", ")
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

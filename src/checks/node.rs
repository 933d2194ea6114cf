//! Node health: the Ready condition and its known causes, pressure conditions,
//! node-problem-detector conditions and events, and CPU / memory / disk usage
//! against thresholds. One finding per node and rule.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::Evaluation;
use super::control_plane::human_age;
use super::events::NodeProblemEvents;
use super::health::{Context, HealthCheck, KUBELET_NOT_POSTING, NODE_NOT_READY, emit};
use crate::clock;
use crate::inventory::{CoverageGap, METRICS_RESOURCE, NPD_RESOURCE, Object, ObjectRef, SUMMARY_RESOURCE, section};
use crate::quantity;
use crate::report::{Finding, Text};
use crate::rules::{Logic, NodeLogic, Rule, UsageBinding, UsageResource};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NodeView {
    status: NodeStatus,
}

impl NodeView {
    /// The Ready condition, when the node has one.
    fn ready(&self) -> Option<&Condition> {
        self.status.conditions.iter().find(|c| c.kind == "Ready")
    }

    /// Whether the node reports a Ready condition that is not True (False or Unknown).
    fn not_ready(&self) -> bool {
        self.ready().is_some_and(|c| c.status != "True")
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NodeStatus {
    conditions: Vec<Condition>,
    allocatable: BTreeMap<String, Value>,
}

/// A node condition.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Condition {
    #[serde(rename = "type")]
    kind: String,
    status: String,
    reason: Option<String>,
    message: Option<String>,
    last_heartbeat_time: Option<String>,
    last_transition_time: Option<String>,
}

/// Conditions the kubelet itself sets; any other condition a rule binds comes
/// from a problem detector (node-problem-detector or a plugin of the cluster's own).
const KUBELET_CONDITIONS: &[&str] = &["Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"];

/// Whether a node shows a condition that only a problem detector sets and a rule binds.
fn has_npd_conditions(node: &Value, rules: &[NodeRule<'_>]) -> bool {
    node.get("status")
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("type").and_then(Value::as_str))
        .filter(|t| !KUBELET_CONDITIONS.contains(t))
        .any(|t| rules.iter().any(|(_, logic)| logic.conditions.iter().any(|c| c.kind == t)))
}

/// A node rule with its bindings.
type NodeRule<'r> = (&'r Rule, &'r NodeLogic);

/// One node's problems, merged per rule so each rule yields one finding.
#[derive(Default)]
struct Problems<'r> {
    by_rule: BTreeMap<&'r str, Problem>,
}

#[derive(Default)]
struct Problem {
    messages: Vec<String>,
    reason: Option<String>,
    remediation: Option<String>,
    count: Option<u64>,
    first_seen: Option<String>,
    last_seen: Option<String>,
}

impl<'r> Problems<'r> {
    fn add(&mut self, rule: &'r str, message: String) -> &mut Problem {
        let p = self.by_rule.entry(rule).or_default();
        p.messages.push(message);
        p
    }
}

/// Runs every node rule. `npd` holds the node-problem-detector and kubelet
/// events gathered while events streamed by.
pub fn check(ctx: &Context<'_>, npd: &NodeProblemEvents, eval: &mut Evaluation) {
    // All node rules, enabled or not: a condition a disabled rule claims is not passed on to another.
    let rules: Vec<NodeRule<'_>> = ctx
        .rules
        .rules
        .iter()
        .filter_map(|r| match &r.logic {
            Logic::Node(n) => Some((r, n)),
            _ => None,
        })
        .collect();
    let nodes: Vec<&Object> = ctx.inventory.objects.iter().filter(|o| o.id.kind == "Node").collect();
    for node in &nodes {
        let view = NodeView::deserialize(&node.raw).unwrap_or_default();
        let mut problems = Problems::default();
        let mut evaluated: Vec<&str> = Vec::new();
        let outage = conditions(&rules, &view, &mut problems, &mut evaluated);
        for (rule, logic) in &rules {
            if let Some(code) = logic.code {
                ready(ctx, code, rule, &view, &outage, &mut problems, &mut evaluated);
            }
        }
        for (rule, logic) in &rules {
            if let Some(usage) = &logic.usage {
                node_usage(ctx, rule, usage, node, &view, &mut problems, &mut evaluated);
            }
        }
        npd.for_node(&node.id.name, |rule, event| {
            let Some((rule, _)) = rules.iter().find(|(r, _)| r.id == rule) else { return };
            let p = problems.add(&rule.id, event.message.clone());
            p.reason = Some(event.reason.clone());
            p.count = Some(p.count.unwrap_or(0) + event.count);
            p.first_seen = min_time(p.first_seen.take(), event.first_seen.clone());
            p.last_seen = max_time(p.last_seen.take(), event.last_seen.clone());
        });
        let annotations = node.metadata().get("annotations");
        let enabled = |id: &str| rules.iter().find(|(r, _)| r.id == id).map(|(r, _)| *r).filter(|r| r.enabled());
        for id in evaluated.iter().copied() {
            if enabled(id).is_some() && !problems.by_rule.contains_key(id) {
                eval.passed += 1;
            }
        }
        for (id, p) in problems.by_rule {
            let Some(rule) = enabled(id) else { continue };
            let mut f =
                Finding::new(rule, section::NODES, &node_ref(&node.id.name)).with_message(p.messages.join("; "));
            if let Some(r) = p.remediation {
                f.remediation = r.into();
            }
            f.reason = p.reason.as_deref().map(Text::interned);
            f.count = p.count;
            f.first_seen = p.first_seen.map(Text::from);
            f.last_seen = p.last_seen.map(Text::from);
            emit(ctx, eval, f, annotations);
        }
    }
    if !nodes.is_empty() && super::control_plane::is_cluster_snapshot(ctx) {
        coverage(ctx, &rules, &nodes, npd, eval);
    }
}

fn node_ref(name: &str) -> ObjectRef {
    ObjectRef { group: String::new(), kind: "Node".into(), namespace: None, name: name.into() }
}

/// The Ready condition. `nodeNotReady` reports every node whose Ready
/// condition is not True, once, naming the cause; `kubeletNotPosting` reports
/// a node that still says Ready while its kubelet stopped writing its status.
/// Conditions a rule binds `whileReady` (`outage`) are named as causes of the
/// NotReady finding instead of being a second finding for the same outage.
fn ready<'r>(
    ctx: &Context<'_>,
    code: &'static HealthCheck,
    rule: &'r Rule,
    view: &NodeView,
    outage: &[OutageCondition<'_>],
    problems: &mut Problems<'r>,
    evaluated: &mut Vec<&'r str>,
) {
    let Some(ready) = view.ready() else { return };
    if code.name == KUBELET_NOT_POSTING.name && ready.status != "True" {
        // A NotReady node is NodeNotReady's alone: this rule is not judged there.
        return;
    }
    evaluated.push(&rule.id);
    let reason = ready.reason.clone().unwrap_or_default();
    let message = ready.message.clone().unwrap_or_default();
    let heartbeat_age =
        ready.last_heartbeat_time.as_deref().and_then(clock::parse).map(|t| clock::seconds_between(t, ctx.now));
    let stale = heartbeat_age
        .filter(|age| *age > i64::try_from(ctx.settings.thresholds.heartbeat_stale_seconds).unwrap_or(i64::MAX));
    let set_times = |p: &mut Problem| {
        p.reason = Some(if reason.is_empty() { format!("Ready={}", ready.status) } else { reason.clone() });
        p.last_seen = ready.last_heartbeat_time.clone();
        p.first_seen = ready.last_transition_time.clone();
    };
    if code.name == KUBELET_NOT_POSTING.name {
        if let Some(age) = stale {
            set_times(problems.add(
                &rule.id,
                format!(
                    "Kubelet not reporting: the node says Ready but its status was last written {} ago (it is \
                     rewritten at least every 5m)",
                    human_age(age)
                ),
            ));
        }
        return;
    }
    if code.name != NODE_NOT_READY.name || ready.status == "True" {
        return;
    }
    let lower = message.to_ascii_lowercase();
    let (label, remediation) = if ready.status == "Unknown" || stale.is_some() {
        let label = match heartbeat_age {
            Some(age) => format!("kubelet not posting status, last heartbeat {} ago", human_age(age)),
            None => "kubelet not posting status".to_string(),
        };
        (Some(label), Some(NOT_POSTING_REMEDIATION.to_string()))
    } else if let Some(cause) = KNOWN_CAUSES.iter().find(|c| c.needles.iter().any(|n| lower.contains(n))) {
        (Some(cause.label.to_string()), Some(cause.remediation.to_string()))
    } else if let Some(first) = outage.first() {
        (Some(first.condition.to_string()), Some(first.rule.remediation.clone()))
    } else {
        (None, None)
    };
    let mut text = match label {
        Some(label) => format!("Node is NotReady ({}; cause: {label})", reason_or(&reason, "unknown reason")),
        None => format!("Node is NotReady ({})", reason_or(&reason, "unknown reason")),
    };
    if !message.is_empty() {
        text = format!("{text}: {message}");
    }
    for o in outage {
        text = format!("{text}; {}", o.text);
    }
    let p = problems.add(&rule.id, text);
    p.remediation = remediation;
    set_times(p);
}

fn reason_or<'a>(reason: &'a str, default: &'a str) -> &'a str {
    if reason.is_empty() { default } else { reason }
}

/// A condition bound `whileReady` that is True on a NotReady node: part of the outage.
struct OutageCondition<'r> {
    /// The condition type.
    condition: &'r str,
    /// `Type (Reason): message`.
    text: String,
    /// The rule that reports the condition on a Ready node.
    rule: &'r Rule,
}

/// What to do about a node whose kubelet stopped posting its status.
const NOT_POSTING_REMEDIATION: &str = "The kubelet stopped posting the node's status. Check whether the node is up at \
     all (cloud console, ping). On the node: `systemctl status kubelet`, `journalctl -u kubelet --since -1h`; look \
     for an expired kubelet client certificate, a full disk, or network loss to the API server.";

/// A cause of NotReady recognised in the kubelet's Ready message.
struct Cause {
    /// How the finding names it.
    label: &'static str,
    /// Lower-case phrases of the kubelet's message that mean this cause.
    needles: &'static [&'static str],
    /// What fixes it.
    remediation: &'static str,
}

/// Known NotReady causes, most fundamental first (a down runtime also makes PLEG unhealthy).
const KNOWN_CAUSES: &[Cause] = &[
    Cause {
        label: "container runtime down",
        needles: &[
            "container runtime not ready",
            "container runtime is down",
            "cannot connect to the docker daemon",
            "container runtime status check may not have completed",
            "runtime service is not ready",
        ],
        remediation: "The container runtime is down. On the node: `systemctl status containerd` (or docker / \
             crio), `journalctl -u containerd --since -1h`, `crictl info`. Check disk space under \
             /var/lib/containerd; restart the runtime, then the kubelet.",
    },
    Cause {
        label: "kubelet's connection to the API server closed",
        needles: &["use of closed network connection"],
        remediation: "The kubelet's HTTP/2 connection to the API server broke and was not re-established (a known \
             kubelet/Go issue, also seen as `http2: client connection lost` or too many concurrent streams). Restart \
             the kubelet (`systemctl restart kubelet`) to recover now; upgrade Kubernetes to a patch release with the \
             fix, and check load balancers in front of the API server for idle-connection timeouts.",
    },
    Cause {
        label: "kubelet's HTTP/2 connection to the API server failing",
        needles: &["http2"],
        remediation: "The kubelet's HTTP/2 connection to the API server is failing (connection lost or maximum \
             concurrent streams reached). Restart the kubelet (`systemctl restart kubelet`); check the API server \
             load balancer and upgrade to a Kubernetes patch release that handles connection resets.",
    },
    Cause {
        label: "systemd TasksAccounting off",
        needles: &["tasksaccounting"],
        remediation: "The kubelet's ContainerManager fails because systemd does not account tasks for the kubelet's \
             cgroups (`TasksAccounting`). Enable it (`systemctl set-property kubelet.service TasksAccounting=true`, \
             or `DefaultTasksAccounting=yes` in /etc/systemd/system.conf), reload systemd and restart the kubelet.",
    },
    Cause {
        label: "PLEG not healthy",
        needles: &["pleg is not healthy"],
        remediation: "The kubelet's pod lifecycle event generator cannot list containers in time: the container \
             runtime is slow or stuck. Check the runtime (`crictl ps`, `journalctl -u containerd`), the node's disk \
             I/O and the number of containers on the node; restart the runtime if it is hung.",
    },
    Cause {
        label: "CNI plugin not ready",
        needles: &["network plugin is not ready", "networkpluginnotready", "cni plugin not initialized"],
        remediation: "The CNI plugin is not ready on this node (no CNI configuration or its DaemonSet pod is not \
             running). Check the CNI DaemonSet's pod on this node (`kubectl -n kube-system get pods -o wide \
             --field-selector spec.nodeName=NODE`) and its logs.",
    },
];

/// Conditions bound by rules' `nodeConditions` that are True. A condition
/// goes to the rules listing its reason, or else to those listing no reason.
/// On a NotReady node, conditions bound `whileReady` are returned as part of
/// the outage (NodeNotReady names them) rather than reported on their own.
fn conditions<'r>(
    rules: &[NodeRule<'r>],
    view: &'r NodeView,
    problems: &mut Problems<'r>,
    evaluated: &mut Vec<&'r str>,
) -> Vec<OutageCondition<'r>> {
    let not_ready = view.not_ready();
    let mut outage = Vec::new();
    for c in &view.status.conditions {
        let reason = c.reason.clone().unwrap_or_default();
        let reason_ref = &reason;
        let binds = |specific: bool| {
            rules.iter().filter_map(move |(rule, logic)| {
                logic
                    .conditions
                    .iter()
                    .find(|b| {
                        b.kind == c.kind && if specific { b.reasons.contains(reason_ref) } else { b.reasons.is_empty() }
                    })
                    .map(|b| (*rule, b))
            })
        };
        let specific: Vec<_> = binds(true).collect();
        let chosen = if specific.is_empty() { binds(false).collect() } else { specific };
        for (rule, binding) in chosen {
            let outage_part = binding.while_ready && not_ready;
            if !outage_part {
                evaluated.push(&rule.id);
            }
            if c.status != "True" {
                continue;
            }
            let message = c.message.clone().unwrap_or_default();
            let text = format!("{} ({}): {message}", c.kind, reason_or(&reason, "True"));
            if outage_part {
                outage.push(OutageCondition { condition: &c.kind, text, rule });
                continue;
            }
            let p = problems.add(&rule.id, text);
            p.reason = Some(if reason.is_empty() { c.kind.clone() } else { reason.clone() });
            p.first_seen = c.last_transition_time.clone();
            p.last_seen = c.last_heartbeat_time.clone();
        }
    }
    outage
}

/// A `usage` rule: CPU and memory from metrics.k8s.io against allocatable,
/// disk bytes and inodes from the kubelet Summary API.
fn node_usage<'r>(
    ctx: &Context<'_>,
    rule: &'r Rule,
    usage: &UsageBinding,
    node: &Object,
    view: &NodeView,
    problems: &mut Problems<'r>,
    evaluated: &mut Vec<&'r str>,
) {
    let t = &ctx.settings.thresholds;
    let name = node.id.name.as_str();
    let (resource, configured) = match usage.resource {
        UsageResource::Cpu => ("cpu", t.node_cpu_percent),
        UsageResource::Memory => ("memory", t.node_memory_percent),
        UsageResource::Disk => ("disk", t.node_disk_percent),
    };
    let limit = usage.percent.unwrap_or(configured);
    if usage.resource == UsageResource::Disk {
        // The node's own figures (statvfs by `ke node-check`) first, else the kubelet Summary API's.
        let measured = ctx.index.named(crate::nodecheck::DISK_KIND, None, name);
        let (filesystems, source): (Vec<(String, Option<&Value>)>, &str) = match measured {
            Some(disks) => {
                let list = disks.raw.get("filesystems").and_then(Value::as_array).into_iter().flatten();
                let named =
                    list.map(|fs| (fs.get("mount").and_then(Value::as_str).unwrap_or("?").to_string(), Some(fs)));
                (named.collect(), " (measured on the node by ke node-check)")
            }
            None => {
                let Some(summary) = ctx.index.named("KubeletSummary", None, name) else { return };
                let node_stats = summary.raw.get("node").unwrap_or(&Value::Null);
                let filesystems = vec![
                    ("root filesystem".to_string(), node_stats.get("fs")),
                    ("image filesystem".to_string(), node_stats.get("runtime").and_then(|r| r.get("imageFs"))),
                ];
                (filesystems, "")
            }
        };
        let mut over = Vec::new();
        let mut seen = false;
        for (label, fs) in filesystems {
            let Some(fs) = fs else { continue };
            let num = |k: &str| fs.get(k).and_then(Value::as_f64);
            if let (Some(avail), Some(cap)) = (num("availableBytes"), num("capacityBytes"))
                && cap > 0.0
            {
                seen = true;
                let percent = (1.0 - avail / cap) * 100.0;
                if percent > limit {
                    over.push(format!("{label} {percent:.0}% used ({} free of {})", bytes(avail), bytes(cap)));
                }
            }
            if let (Some(free), Some(total)) = (num("inodesFree"), num("inodes"))
                && total > 0.0
            {
                seen = true;
                let percent = (1.0 - free / total) * 100.0;
                if percent > limit {
                    over.push(format!("{label} inodes {percent:.0}% used ({free:.0} free of {total:.0})"));
                }
            }
        }
        if seen {
            evaluated.push(&rule.id);
        }
        if !over.is_empty() {
            problems.add(&rule.id, format!("{}, above {limit:.0}%{source}", over.join("; ")));
        }
        return;
    }
    let Some(metrics) = ctx.index.named("NodeMetrics", None, name) else { return };
    let used = metrics.raw.get("usage").and_then(|u| u.get(resource)).and_then(quantity::from_json);
    let allocatable = view.status.allocatable.get(resource).and_then(quantity::from_json);
    let (Some(used), Some(allocatable)) = (used, allocatable) else { return };
    if allocatable <= 0.0 {
        return;
    }
    evaluated.push(&rule.id);
    let percent = used / allocatable * 100.0;
    if percent > limit {
        let (label, u, a) = if usage.resource == UsageResource::Cpu {
            ("CPU", format!("{used:.2} cores"), format!("{allocatable:.2}"))
        } else {
            ("Memory", bytes(used), bytes(allocatable))
        };
        let p = problems
            .add(&rule.id, format!("{label} usage {percent:.0}% of allocatable ({u} of {a}), above {limit:.0}%"));
        p.last_seen = metrics.raw.get("timestamp").and_then(Value::as_str).map(str::to_string);
    }
}

/// `1073741824` → `1.0 GiB`.
fn bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

fn min_time(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if clock::parse(&a) <= clock::parse(&b) { a } else { b }),
        (a, b) => a.or(b),
    }
}

fn max_time(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if clock::parse(&a) >= clock::parse(&b) { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// Sources the node checks need that this cluster does not offer.
fn coverage(
    ctx: &Context<'_>,
    rules: &[NodeRule<'_>],
    nodes: &[&Object],
    npd: &NodeProblemEvents,
    eval: &mut Evaluation,
) {
    let already =
        |eval: &Evaluation, resource: &str| ctx.inventory.gaps.iter().chain(&eval.gaps).any(|g| g.resource == resource);
    let npd_installed = npd.seen_npd
        || nodes.iter().any(|n| has_npd_conditions(&n.raw, rules))
        || ctx
            .inventory
            .objects
            .iter()
            .any(|o| o.id.kind == "DaemonSet" && o.id.name.contains("node-problem-detector"));
    if !npd_installed && !already(eval, NPD_RESOURCE) {
        eval.gaps.push(CoverageGap::unavailable(
            section::NODES,
            NPD_RESOURCE,
            "node-problem-detector is not installed, so kernel and runtime problems (NodeOOM, NodeTaskHung, \
             NodeDeadlock, NodeKernelNULLPointer, NodeExt4Error, NodeReadonlyFilesystem, NodeCorruptOverlay2 …) \
             cannot be seen; install it with `ke install npd`",
        ));
    }
    let needs = ctx.rules.needs();
    if needs.node_metrics && !ctx.index.has_any("NodeMetrics") && !already(eval, METRICS_RESOURCE) {
        eval.gaps.push(CoverageGap::unavailable(
            section::NODES,
            METRICS_RESOURCE,
            "no node metrics (is metrics-server installed?); NodeCPU and NodeMemory were not evaluated",
        ));
    }
    if needs.kubelet_summaries
        && !ctx.index.has_any("KubeletSummary")
        && !ctx.index.has_any(crate::nodecheck::DISK_KIND)
        && !already(eval, SUMMARY_RESOURCE)
    {
        eval.gaps.push(CoverageGap::unavailable(
            section::NODES,
            SUMMARY_RESOURCE,
            "no kubelet summaries (inspection.collection.kubeletSummary is off or nodes/proxy is not granted); NodeDisk was not evaluated",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_disk_prefers_the_figures_the_node_measured_and_says_so() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/NodeDisk");
        let mut rules = crate::rules::RuleSet::builtin().expect("built-in rules");
        rules.enable_all();
        let evaluate = |file: &str| {
            let text = std::fs::read_to_string(dir.join(file)).expect("fixture");
            let docs = text.split("\n---\n").map(|d| serde_norway::from_str(d).expect("YAML")).collect();
            crate::checks::evaluate_values(docs, &rules)
        };
        let measured = evaluate("fail-measured-offline.yaml");
        let disk: Vec<_> = measured.findings.iter().filter(|f| f.rule == "NodeDisk").collect();
        assert_eq!(disk.len(), 1, "{disk:?}");
        assert_eq!(
            disk[0].message.as_str(),
            "/var/lib/kubelet 91% used (9.0 GiB free of 100.0 GiB), above 80% (measured on the node by ke node-check)"
        );
        assert!(!measured.gaps.iter().any(|g| g.resource == SUMMARY_RESOURCE), "{:?}", measured.gaps);
        let summary = evaluate("fail.yaml");
        let disk = summary.findings.iter().find(|f| f.rule == "NodeDisk").expect("NodeDisk from the summary");
        assert!(disk.message.starts_with("root filesystem 91% used") && !disk.message.contains("measured"));
        let both = evaluate("pass-measured-preferred-offline.yaml");
        assert!(!both.findings.iter().any(|f| f.rule == "NodeDisk"), "the node's figures win");
    }

    #[test]
    fn byte_units() {
        assert_eq!(bytes(512.0), "512.0 B");
        assert_eq!(bytes(1.5 * 1024.0 * 1024.0 * 1024.0), "1.5 GiB");
    }

    #[test]
    fn time_bounds() {
        let a = Some("2026-11-24T10:00:00Z".to_string());
        let b = Some("2026-11-24T09:00:00Z".to_string());
        assert_eq!(min_time(a.clone(), b.clone()), b);
        assert_eq!(max_time(a.clone(), b), a);
        assert_eq!(max_time(None, Some("x".into())), Some("x".into()));
    }
}

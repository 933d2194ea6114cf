//! The cluster's health verdict: `healthy`, `degraded` or `down`, with the
//! reasons, decided from the findings of the outage sections (control plane,
//! nodes, pod status) and never from best-practice ones. A cluster with a
//! thousand missing probes and a ready control plane is healthy; one with
//! perfect manifests and an etcd that lost quorum is down.
//!
//! Only danger findings count: severity is how a rule (or the user's
//! `checks:` override) says something is broken rather than worth a look,
//! and an exempted or disabled rule has no finding, so it cannot tip the
//! verdict either.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::health::{APISERVER_HEALTH, CONTROLLER_MANAGER_HEALTH, ETCD_HEALTH, SCHEDULER_HEALTH};
use crate::inventory::{Inventory, section};
use crate::report::{Finding, Health, HealthStatus, Severity};
use crate::rules::{Logic, RuleSet};

/// Every node of the inventory with a Ready condition, and whether it is True.
pub type NodeReadiness = BTreeMap<String, bool>;

/// The health verdict on the findings a report carries (after exemptions and
/// the namespace scope), with the nodes' readiness for the NotReady count.
pub fn assess(ready: &NodeReadiness, rules: &RuleSet, findings: &[Finding]) -> Health {
    let outage: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Danger)
        .filter(|f| matches!(f.section.as_str(), section::CONTROL_PLANE | section::NODES | section::PODS))
        .collect();
    let check_of = |f: &Finding| match rules.get(&f.rule).map(|r| &r.logic) {
        Some(Logic::Health(check)) => Some(check.name),
        _ => None,
    };
    let mut status = HealthStatus::Healthy;
    let mut reasons = Vec::new();

    // Control plane: the API server and etcd carry everything; the scheduler
    // and controller-manager only stop changes from happening.
    for f in outage.iter().filter(|f| f.section == section::CONTROL_PLANE) {
        let check = check_of(f);
        if check == Some(APISERVER_HEALTH.name) || check == Some(ETCD_HEALTH.name) {
            status = HealthStatus::Down;
        } else {
            status = status.max(HealthStatus::Degraded);
        }
        let component =
            [APISERVER_HEALTH.name, ETCD_HEALTH.name, SCHEDULER_HEALTH.name, CONTROLLER_MANAGER_HEALTH.name];
        reasons.push(if check.is_some_and(|c| component.contains(&c)) {
            format!("{} unhealthy", f.name)
        } else {
            format!("{} on {}", f.rule, f.name)
        });
    }

    // Nodes: NotReady is read from the node's Ready condition, whichever rule
    // reported the node (its cause decides the rule), and counted once.
    let reported: BTreeSet<&str> =
        outage.iter().filter(|f| f.section == section::NODES).map(|f| f.name.as_str()).collect();
    let not_ready: BTreeSet<&str> = reported.iter().copied().filter(|n| ready.get(*n).is_some_and(|r| !r)).collect();
    if !not_ready.is_empty() {
        let all = not_ready.len() == ready.len();
        status = status.max(if all { HealthStatus::Down } else { HealthStatus::Degraded });
        reasons.push(match (all, not_ready.len()) {
            (true, n) => format!("all nodes NotReady ({n} of {n})"),
            (false, 1) => "1 node NotReady".to_string(),
            (false, n) => format!("{n} nodes NotReady"),
        });
    }
    let mut by_rule: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for f in outage.iter().filter(|f| f.section == section::NODES && !not_ready.contains(f.name.as_str())) {
        by_rule.entry(f.rule.as_str()).or_default().insert(f.name.as_str());
    }
    for (rule, nodes) in by_rule {
        status = status.max(HealthStatus::Degraded);
        reasons.push(format!("{rule} on {}", plural(nodes.len(), "node")));
    }

    // Pod status: one finding per controller, with the pods it counts.
    let mut by_rule: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    for f in outage.iter().filter(|f| f.section == section::PODS) {
        let entry = by_rule.entry(f.rule.as_str()).or_default();
        entry.0 += 1;
        entry.1 += f.count.unwrap_or(1);
    }
    for (rule, (workloads, pods)) in by_rule {
        status = status.max(HealthStatus::Degraded);
        let pods = usize::try_from(pods).unwrap_or(usize::MAX);
        reasons.push(if pods == workloads {
            format!("{rule} in {}", plural(workloads, "workload"))
        } else {
            format!("{rule} in {} ({})", plural(workloads, "workload"), plural(pods, "pod"))
        });
    }
    Health { status, reasons }
}

/// Every node with a Ready condition: whether it is True.
pub fn node_readiness(inventory: &Inventory) -> NodeReadiness {
    inventory
        .objects
        .iter()
        .filter(|o| o.id.kind == "Node" && o.id.group.is_empty())
        .filter_map(|node| {
            let conditions = node.raw.get("status")?.get("conditions")?.as_array()?;
            let ready = conditions.iter().find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))?;
            Some((node.id.name.clone(), ready.get("status").and_then(Value::as_str) == Some("True")))
        })
        .collect()
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{} {noun}s", crate::text::thousands(n)) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::inventory::{Object, ObjectRef};

    fn inventory(nodes: &[(&str, &str)]) -> NodeReadiness {
        let mut inventory = Inventory::default();
        for (name, ready) in nodes {
            let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                "status": {"conditions": [{"type": "Ready", "status": ready}]}});
            inventory.push(Object::from_value(node).expect("a node"));
        }
        node_readiness(&inventory)
    }

    fn finding(rules: &RuleSet, rule: &str, kind: &str, name: &str, count: Option<u64>) -> Finding {
        let rule = rules.get(rule).expect("a built-in rule");
        let section = crate::checks::section_of(rule);
        let object = ObjectRef { group: String::new(), kind: kind.into(), namespace: None, name: name.into() };
        let mut f = Finding::new(rule, section, &object);
        f.count = count;
        f
    }

    #[test]
    fn outages_decide_and_best_practice_never_does() {
        let rules = RuleSet::builtin().expect("rules");
        let nodes = inventory(&[("n1", "True"), ("n2", "False"), ("n3", "Unknown")]);
        let f = |rule: &str, kind: &str, name: &str| finding(&rules, rule, kind, name, None);

        let hygiene = [
            f("runAsPrivileged", "Deployment", "web"),
            f("clusterrolebindingClusterAdmin", "ClusterRoleBinding", "ops"),
        ];
        let healthy = assess(&nodes, &rules, &hygiene);
        assert_eq!((healthy.status, healthy.reasons.len()), (HealthStatus::Healthy, 0));
        assert_eq!(healthy.headline(3), "HEALTHY");

        let degraded = assess(
            &nodes,
            &rules,
            &[
                f("ETCDHealthStatus", "ControlPlane", "etcd"),
                f("NodeNotReady", "Node", "n2"),
                f("KubeletHealthStatus", "Node", "n3"),
                f("NodeDiskPressure", "Node", "n1"),
                finding(&rules, "PodCrashLooping", "Deployment", "web", Some(3)),
                finding(&rules, "PodCrashLooping", "Deployment", "api", Some(1)),
            ],
        );
        assert_eq!(degraded.status, HealthStatus::Down, "etcd");
        assert_eq!(
            degraded.reasons,
            [
                "etcd unhealthy",
                "2 nodes NotReady",
                "NodeDiskPressure on 1 node",
                "PodCrashLooping in 2 workloads (4 pods)"
            ]
        );
        assert_eq!(degraded.headline(2), "DOWN: etcd unhealthy, 2 nodes NotReady, 2 more");

        let scheduler = assess(&nodes, &rules, &[f("SchedulerHealthStatus", "ControlPlane", "kube-scheduler")]);
        assert_eq!(
            (scheduler.status, scheduler.reasons[0].as_str()),
            (HealthStatus::Degraded, "kube-scheduler unhealthy")
        );
    }

    #[test]
    fn every_node_not_ready_is_down_and_warnings_do_not_count() {
        let rules = RuleSet::builtin().expect("rules");
        let nodes = inventory(&[("n1", "False"), ("n2", "Unknown")]);
        let down = assess(
            &nodes,
            &rules,
            &[
                finding(&rules, "NodeNotReady", "Node", "n1", None),
                finding(&rules, "DockerHealthStatus", "Node", "n2", None),
            ],
        );
        assert_eq!(
            (down.status, down.reasons.as_slice()),
            (HealthStatus::Down, ["all nodes NotReady (2 of 2)".to_string()].as_slice())
        );
        let mut cpu = finding(&rules, "NodeCPU", "Node", "n1", None);
        cpu.severity = Severity::Warning;
        assert_eq!(assess(&nodes, &rules, &[cpu]).status, HealthStatus::Healthy, "a warning is not an outage");
        let mut raised = finding(&rules, "NodeCPU", "Node", "n1", None);
        raised.severity = Severity::Danger;
        let raised = assess(&inventory(&[("n1", "True")]), &rules, &[raised]);
        assert_eq!((raised.status, raised.reasons[0].as_str()), (HealthStatus::Degraded, "NodeCPU on 1 node"));
    }
}

//! The cluster overview a report opens with: version, nodes by readiness,
//! role, kubelet version and runtime, namespaces, workloads by kind, pods by
//! phase, and whether node-problem-detector and the metrics API are there.
//! Facts about what was collected, not judgements: no rule is involved.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::checks::workload::CONTROLLER_KINDS;
use crate::inventory::{CoverageGap, Inventory, METRICS_RESOURCE};
use crate::report::{NodesOverview, Overview};

/// Conditions the kubelet sets; others on a node come from a problem detector.
const KUBELET_CONDITIONS: &[&str] = &["Ready", "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"];

/// The overview of an inventory (after the namespace scope was applied).
pub fn overview(inventory: &Inventory, gaps: &[CoverageGap]) -> Overview {
    let mut nodes = NodesOverview::default();
    let mut npd = false;
    for node in core(inventory, "Node") {
        nodes.total += 1;
        let conditions = node.raw.pointer("/status/conditions").and_then(Value::as_array);
        let ready = conditions.into_iter().flatten().any(|c| {
            c.get("type").and_then(Value::as_str) == Some("Ready")
                && c.get("status").and_then(Value::as_str) == Some("True")
        });
        nodes.ready += usize::from(ready);
        npd |= conditions
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("type").and_then(Value::as_str))
            .any(|t| !KUBELET_CONDITIONS.contains(&t));
        let labels = node.metadata().get("labels").and_then(Value::as_object);
        let mut roles: Vec<&str> = labels
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
            .filter(|r| !r.is_empty())
            .collect();
        if roles.is_empty() {
            roles.push("<none>");
        }
        for role in roles {
            *nodes.roles.entry(role.to_string()).or_default() += 1;
        }
        let info = |key: &str| node.raw.pointer(&format!("/status/nodeInfo/{key}")).and_then(Value::as_str);
        if let Some(v) = info("kubeletVersion") {
            *nodes.kubelet_versions.entry(v.to_string()).or_default() += 1;
        }
        if let Some(r) = info("containerRuntimeVersion") {
            *nodes.container_runtimes.entry(r.to_string()).or_default() += 1;
        }
    }
    // Objects of a snapshot evaluated as they were read left their counts behind.
    let mut workloads: BTreeMap<String, usize> = inventory.streamed.workloads.clone();
    npd |= inventory.streamed.node_problem_detector;
    let mut pods = inventory.streamed_pod_phases.clone();
    for object in &inventory.objects {
        let kind = object.id.kind.as_str();
        let owned = object.controller_owner().is_some_and(|o| o.kind != "Node");
        if CONTROLLER_KINDS.contains(&kind) && kind != "Pod" && !owned {
            *workloads.entry(kind.to_string()).or_default() += 1;
        }
        if object.id.group.is_empty() && kind == "Pod" {
            let phase = object.raw.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Unknown");
            *pods.entry(phase.to_string()).or_default() += 1;
        }
        npd |= object.id.name.starts_with("node-problem-detector") && matches!(kind, "DaemonSet" | "Pod");
    }
    let metrics_api = if inventory.objects.iter().any(|o| o.id.kind == "NodeMetrics") {
        Some(true)
    } else if gaps.iter().any(|g| g.resource == METRICS_RESOURCE) {
        Some(false)
    } else {
        None
    };
    Overview {
        kubernetes_version: inventory.kubernetes_version.clone(),
        nodes,
        namespaces: core(inventory, "Namespace").count(),
        workloads,
        pods,
        node_problem_detector: npd,
        metrics_api,
    }
}

/// The inventory's objects of a core kind.
fn core<'a>(inventory: &'a Inventory, kind: &'a str) -> impl Iterator<Item = &'a crate::inventory::Object> + 'a {
    inventory.objects.iter().filter(move |o| o.id.group.is_empty() && o.id.kind == kind)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::inventory::Object;

    #[test]
    fn nodes_workloads_pods_and_add_ons_are_counted() {
        let mut inventory = Inventory { kubernetes_version: Some("v1.30.4".into()), ..Inventory::default() };
        let node = |name: &str, ready: &str, role: Option<&str>, extra: &str| {
            let labels = role.map(|r| json!({format!("node-role.kubernetes.io/{r}"): ""})).unwrap_or(json!({}));
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
                "status": {"conditions": [{"type": "Ready", "status": ready}, {"type": extra, "status": "False"}],
                    "nodeInfo": {"kubeletVersion": "v1.30.4", "containerRuntimeVersion": "containerd://1.7.13"}}})
        };
        let owned = |kind: &str, name: &str, owner: &str| {
            json!({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "shop",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner, "name": "web", "uid": "u", "controller": true}]}})
        };
        let pod = |name: &str, phase: &str| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop"}, "status": {"phase": phase}});
        for value in [
            node("cp-1", "True", Some("control-plane"), "MemoryPressure"),
            node("w-1", "True", None, "KernelDeadlock"),
            node("w-2", "Unknown", None, "DiskPressure"),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}),
            owned("ReplicaSet", "web-1", "Deployment"),
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "lonely", "namespace": "shop"}}),
            pod("web-1-a", "Running"),
            pod("web-1-b", "Pending"),
        ] {
            inventory.push(Object::from_value(value).expect("an object"));
        }
        inventory.streamed_pod_phases = [("Running".to_string(), 3)].into();
        let o = overview(&inventory, &[]);
        assert_eq!((o.nodes.total, o.nodes.ready), (3, 2));
        assert_eq!(o.nodes.roles, [("<none>".to_string(), 2), ("control-plane".to_string(), 1)].into());
        assert_eq!(o.nodes.kubelet_versions, [("v1.30.4".to_string(), 3)].into());
        assert_eq!(
            o.workloads,
            [("Deployment".to_string(), 1), ("ReplicaSet".to_string(), 1)].into(),
            "owned ReplicaSets are their Deployment"
        );
        assert_eq!(o.pods, [("Pending".to_string(), 1), ("Running".to_string(), 4)].into());
        assert_eq!(o.namespaces, 1);
        assert!(o.node_problem_detector, "KernelDeadlock is set by node-problem-detector");
        assert_eq!(o.metrics_api, None);
        assert_eq!(o.line(), "Kubernetes v1.30.4 · 3 nodes (2 Ready) · 1 namespace · 2 workloads · 5 pods (1 Pending)");
        let gap = CoverageGap::unavailable("nodes", METRICS_RESOURCE, "no metrics-server");
        assert_eq!(overview(&inventory, &[gap]).metrics_api, Some(false));
    }
}

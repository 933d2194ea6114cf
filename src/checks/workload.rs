//! Workloads: the unit workload rules are evaluated on.
//!
//! One workload per controller, not per replica: Deployments, StatefulSets,
//! DaemonSets, Jobs, CronJobs, ReplicaSets and ReplicationControllers without
//! an owner, and pods without a controller. An owned object whose owner is in
//! the inventory is skipped (its owner carries the findings). An owned pod
//! whose owner is missing — a snapshot of pods only — stands in for its owner,
//! once per owner, and is reported under the owner's kind and name.

use std::collections::HashSet;

use serde_json::Value;

use crate::inventory::{Inventory, Object, ObjectRef};

/// Kinds that carry a pod template.
pub const CONTROLLER_KINDS: &[&str] =
    &["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "ReplicationController", "Pod"];

/// One workload to evaluate.
#[derive(Debug, Clone)]
pub struct Workload<'a> {
    /// The object read: the controller, or the pod standing in for it.
    pub object: &'a Object,
    /// Identity findings are reported under.
    pub id: ObjectRef,
    /// The pod template: `{metadata, spec}` (for a pod, the pod itself).
    pub pod_template: &'a Value,
    /// The pod spec.
    pub pod_spec: &'a Value,
}

impl<'a> Workload<'a> {
    /// The reported kind (`Deployment`, `Pod` …).
    pub fn kind(&self) -> &str {
        &self.id.kind
    }

    /// Labels of the pods this workload runs.
    pub fn pod_labels(&self) -> Option<&'a serde_json::Map<String, Value>> {
        self.pod_template.get("metadata")?.get("labels")?.as_object()
    }

    /// Containers, then init containers, each with a flag telling which it is.
    pub fn containers(&self) -> impl Iterator<Item = (&'a Value, bool)> + 'a {
        let list = |key: &'static str, init: bool| {
            self.pod_spec.get(key).and_then(Value::as_array).into_iter().flatten().map(move |c| (c, init))
        };
        list("containers", false).chain(list("initContainers", true))
    }
}

/// The pod template of a controller object.
pub fn pod_template(object: &Object) -> Option<&Value> {
    let raw = &object.raw;
    match object.id.kind.as_str() {
        "Pod" => Some(raw),
        "CronJob" => raw.get("spec")?.get("jobTemplate")?.get("spec")?.get("template"),
        k if CONTROLLER_KINDS.contains(&k) => raw.get("spec")?.get("template"),
        _ => None,
    }
}

/// Which controllers exist, so that an owned object can be skipped when its
/// owner carries the findings, or stand in for an owner that is missing.
#[derive(Debug, Default)]
pub struct Owners<'a> {
    present: HashSet<(&'a str, Option<&'a str>, &'a str)>,
}

impl<'a> Owners<'a> {
    /// The controllers of an inventory: kept objects and identities seen but not kept.
    pub fn new(inventory: &'a Inventory) -> Self {
        let kept = inventory.objects.iter().map(|o| &o.id);
        let present = kept
            .chain(inventory.known.iter())
            .filter(|id| CONTROLLER_KINDS.contains(&id.kind.as_str()))
            .map(|id| (id.kind.as_str(), id.namespace.as_deref(), id.name.as_str()))
            .collect();
        Owners { present }
    }

    fn contains(&self, kind: &str, namespace: Option<&str>, name: &str) -> bool {
        self.present.contains(&(kind, namespace, name))
    }

    /// The identity a workload object is evaluated under, or `None` when its
    /// controller is in the inventory (the controller carries the findings).
    /// An owned object whose owner is missing stands in for it (see [`controller_of`]).
    pub fn evaluated_as(&self, object: &Object) -> Option<ObjectRef> {
        let Some(owner) = object.controller_owner() else { return Some(object.id.clone()) };
        if owner.kind == "Node" {
            // Static (mirror) pods belong to the kubelet; each is its own workload.
            return Some(object.id.clone());
        }
        if self.contains(owner.kind, object.id.namespace.as_deref(), owner.name) {
            return None;
        }
        let id = controller_of(object);
        (!self.contains(&id.kind, id.namespace.as_deref(), &id.name)).then_some(id)
    }
}

/// The controller an object belongs to, as far as the object itself tells:
/// its owner, and for a pod of a Deployment's ReplicaSet (it carries
/// `pod-template-hash`) the Deployment. An object without owner is its own.
pub fn controller_of(object: &Object) -> ObjectRef {
    match object.controller_owner() {
        Some(owner) if owner.kind != "Node" => stand_in_identity(object, owner.kind, owner.name),
        _ => object.id.clone(),
    }
}

/// Builds the workload of an object evaluated as `id`; `None` for objects without a pod template.
pub fn workload(object: &Object, id: ObjectRef) -> Option<Workload<'_>> {
    let template = pod_template(object)?;
    let spec = template.get("spec")?;
    Some(Workload { object, id, pod_template: template, pod_spec: spec })
}

/// Every workload of the inventory, once per controller.
pub fn workloads(inventory: &Inventory) -> Vec<Workload<'_>> {
    let owners = Owners::new(inventory);
    let mut stand_ins = HashSet::new();
    let mut out = Vec::new();
    for object in &inventory.objects {
        if !CONTROLLER_KINDS.contains(&object.id.kind.as_str()) {
            continue;
        }
        let Some(id) = owners.evaluated_as(object) else { continue };
        if id != object.id && !stand_ins.insert(id.clone()) {
            continue;
        }
        out.extend(workload(object, id));
    }
    out
}

/// The identity an owned object is reported under when its owner is not in the inventory.
/// A pod of a Deployment's ReplicaSet (it carries `pod-template-hash`) is reported as the Deployment.
fn stand_in_identity(object: &Object, owner_kind: &str, owner_name: &str) -> ObjectRef {
    let hash = object.metadata().get("labels").and_then(|l| l.get("pod-template-hash")).and_then(Value::as_str);
    let (group, kind, name) = match hash {
        Some(h) if owner_kind == "ReplicaSet" && owner_name.ends_with(&format!("-{h}")) => {
            ("apps", "Deployment", &owner_name[..owner_name.len() - h.len() - 1])
        }
        _ => (group_of(owner_kind), owner_kind, owner_name),
    };
    ObjectRef {
        group: group.to_string(),
        kind: kind.to_string(),
        namespace: object.id.namespace.clone(),
        name: name.to_string(),
    }
}

fn group_of(kind: &str) -> &'static str {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => "apps",
        "Job" | "CronJob" => "batch",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inv(values: Vec<Value>) -> Inventory {
        let mut inv = Inventory::default();
        for v in values {
            inv.push(Object::from_value(v).unwrap());
        }
        inv
    }

    fn pod(name: &str, owner: Option<(&str, &str)>, hash: Option<&str>) -> Value {
        let mut meta = json!({"name": name, "namespace": "ns", "labels": {"app": "web"}});
        if let Some((kind, n)) = owner {
            meta["ownerReferences"] =
                json!([{"kind": kind, "name": n, "controller": true, "apiVersion": "apps/v1", "uid": "x"}]);
        }
        if let Some(h) = hash {
            meta["labels"]["pod-template-hash"] = json!(h);
        }
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": [{"name": "c", "image": "x"}]}})
    }

    #[test]
    fn pods_of_a_present_controller_are_skipped() {
        let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}]}}}});
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-abc", "namespace": "ns",
            "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": true}]},
            "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}});
        let inv = inv(vec![
            deploy,
            rs,
            pod("web-abc-1", Some(("ReplicaSet", "web-abc")), Some("abc")),
            pod("web-abc-2", Some(("ReplicaSet", "web-abc")), Some("abc")),
        ]);
        let w = workloads(&inv);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].id.kind, "Deployment");
    }

    #[test]
    fn orphaned_replicas_stand_in_once_for_their_deployment() {
        let inv = inv(vec![
            pod("web-abc-1", Some(("ReplicaSet", "web-abc")), Some("abc")),
            pod("web-abc-2", Some(("ReplicaSet", "web-abc")), Some("abc")),
            pod("naked", None, None),
            pod("etcd-node1", Some(("Node", "node1")), None),
        ]);
        let ids: Vec<_> = workloads(&inv).into_iter().map(|w| format!("{}/{}", w.id.kind, w.id.name)).collect();
        assert_eq!(ids, ["Deployment/web", "Pod/naked", "Pod/etcd-node1"]);
    }

    #[test]
    fn cronjob_template() {
        let inv = inv(vec![
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "ns"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a"}], "initContainers": [{"name": "i"}]}}}}}}),
        ]);
        let w = workloads(&inv);
        let names: Vec<_> = w[0].containers().map(|(c, init)| (c["name"].as_str().unwrap(), init)).collect();
        assert_eq!(names, [("a", false), ("i", true)]);
    }
}

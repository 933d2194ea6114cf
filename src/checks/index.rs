//! Cross-object lookups the relation checks need (PDBs, HPAs, network
//! policies, RBAC roles), built once per inspection.

use std::collections::HashMap;

use crate::inventory::{DEFAULT_NAMESPACE, Inventory, Object};

/// Objects other checks look up, by namespace or name.
#[derive(Debug, Default)]
pub struct Index<'a> {
    by_kind_ns: HashMap<&'a str, HashMap<&'a str, Vec<&'a Object>>>,
    cluster_roles: HashMap<&'a str, &'a Object>,
    named: HashMap<(&'a str, Option<&'a str>, &'a str), &'a Object>,
    /// Kinds the collection could not read completely (listing failed or timed out).
    unreadable: Vec<&'static str>,
    /// Registries images may come from (`allowedRegistries:` of the rule files).
    pub allowed_registries: Vec<String>,
}

/// Kinds looked up by namespace and name.
const NAMED: &[&str] =
    &["Lease", "NodeMetrics", "KubeletSummary", crate::nodecheck::DISK_KIND, "APIServerHealth", "Inspection"];

/// The namespace of a namespaced object whose manifest names none: `kubectl
/// apply` without `-n` puts it in the context's namespace, `default` unless
/// set. So objects without a namespace relate to each other and to objects
/// in `default`.
fn namespace_key(namespace: Option<&str>) -> &str {
    namespace.unwrap_or(DEFAULT_NAMESPACE)
}

/// Kinds the index keeps (all namespaced).
const INDEXED: &[&str] =
    &["PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "Role", "ServiceAccount", "EndpointSlice"];

/// Whether the index looks objects of `kind` up: a snapshot evaluated as it is
/// read keeps these whole (see [`crate::inspect::streamed`]).
pub fn looked_up(kind: &str) -> bool {
    kind == "ClusterRole" || NAMED.contains(&kind) || INDEXED.contains(&kind)
}

impl<'a> Index<'a> {
    /// Indexes the inventory.
    pub fn build(inventory: &'a Inventory) -> Self {
        let mut index = Index::default();
        for (kind, resource) in [
            ("Role", "roles.rbac.authorization.k8s.io"),
            ("ClusterRole", "clusterroles.rbac.authorization.k8s.io"),
            ("EndpointSlice", "endpointslices.discovery.k8s.io"),
        ] {
            // The live collector names a failed list `plural.group [in namespace]`, a timeout `deadline`.
            if inventory.gaps.iter().any(|g| g.resource.starts_with(resource) || g.resource == "deadline") {
                index.unreadable.push(kind);
            }
        }
        for o in &inventory.objects {
            let kind = o.id.kind.as_str();
            if NAMED.contains(&kind) {
                index.named.insert((kind, o.id.namespace.as_deref(), &o.id.name), o);
            }
            if kind == "ClusterRole" {
                index.cluster_roles.insert(&o.id.name, o);
            } else if INDEXED.contains(&kind) {
                let ns = namespace_key(o.id.namespace.as_deref());
                index.by_kind_ns.entry(kind).or_default().entry(ns).or_default().push(o);
            }
        }
        index
    }

    /// Objects of `kind` in `namespace` (PDBs, HPAs, NetworkPolicies, Roles);
    /// `None` is a manifest without a namespace, which is `default`.
    pub fn in_namespace(&self, kind: &str, namespace: Option<&str>) -> &[&'a Object] {
        self.by_kind_ns.get(kind).and_then(|m| m.get(namespace_key(namespace))).map_or(&[], Vec::as_slice)
    }

    /// A Lease, NodeMetrics, KubeletSummary or APIServerHealth object by namespace and name.
    pub fn named(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<&'a Object> {
        self.named.get(&(kind, namespace, name)).copied()
    }

    /// Whether any object of a looked-up kind is present (`NodeMetrics`, `KubeletSummary` …).
    pub fn has_any(&self, kind: &str) -> bool {
        self.named.keys().any(|(k, _, _)| *k == kind)
    }

    /// Whether any object of an indexed kind (`EndpointSlice` …) is in the inventory.
    pub fn has_indexed(&self, kind: &str) -> bool {
        self.by_kind_ns.get(kind).is_some_and(|m| m.values().any(|v| !v.is_empty()))
    }

    /// Whether every object of `kind` (`Role`, `ClusterRole`) was read, so one
    /// that is not in the inventory does not exist.
    pub fn complete(&self, kind: &str) -> bool {
        !self.unreadable.contains(&kind)
    }

    /// A ClusterRole by name.
    pub fn cluster_role(&self, name: &str) -> Option<&'a Object> {
        self.cluster_roles.get(name).copied()
    }

    /// A ServiceAccount by namespace and name.
    pub fn service_account(&self, namespace: Option<&str>, name: &str) -> Option<&'a Object> {
        self.in_namespace("ServiceAccount", namespace).iter().find(|r| r.id.name == name).copied()
    }

    /// A Role by namespace and name.
    pub fn role(&self, namespace: Option<&str>, name: &str) -> Option<&'a Object> {
        self.in_namespace("Role", namespace).iter().find(|r| r.id.name == name).copied()
    }
}

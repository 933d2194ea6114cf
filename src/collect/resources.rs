//! The resources the live collector lists, and what it does with each:
//! keep for cross-object checks, keep only the identity, or evaluate page by
//! page and drop. Secrets are never listed. `deploy/rbac.yaml` grants
//! exactly these.

/// What happens to a resource's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Kept in the inventory: controllers, nodes, and what relation checks look up.
    Keep,
    /// Kept only when they have no owner; otherwise only their identity is kept
    /// (ReplicaSets of Deployments, Jobs of CronJobs: many, and their owners carry the findings).
    KeepUnowned,
    /// Evaluated page by page and dropped (pods, events, config maps).
    Stream,
}

/// One listed resource.
#[derive(Debug, Clone, Copy)]
pub struct Resource {
    /// API group, empty for core.
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Plural resource name in the URL.
    pub plural: &'static str,
    /// Kind of its objects.
    pub kind: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// What happens to its objects.
    pub handling: Handling,
    /// Report section a failure to read it affects.
    pub section: &'static str,
}

impl Resource {
    /// `apps/v1` or `v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_string() } else { format!("{}/{}", self.group, self.version) }
    }

    /// The list path, cluster-wide or in one namespace.
    pub fn path(&self, namespace: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace {
            Some(ns) if self.namespaced => {
                format!("{base}/namespaces/{}/{}", super::pager::encode_segment(ns), self.plural)
            }
            _ => format!("{base}/{}", self.plural),
        }
    }

    /// `deployments.apps` or `pods`, as RBAC and error messages name it.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() { self.plural.to_string() } else { format!("{}.{}", self.plural, self.group) }
    }
}

const fn r(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    handling: Handling,
    section: &'static str,
) -> Resource {
    Resource { group, version, plural, kind, namespaced, handling, section }
}

use Handling::{Keep, KeepUnowned, Stream};

/// Everything listed, in the order phase one starts them.
pub const RESOURCES: &[Resource] = &[
    r("", "v1", "nodes", "Node", false, Keep, "nodes"),
    r("", "v1", "namespaces", "Namespace", false, Keep, "workloads"),
    r("apps", "v1", "deployments", "Deployment", true, Keep, "workloads"),
    r("apps", "v1", "statefulsets", "StatefulSet", true, Keep, "workloads"),
    r("apps", "v1", "daemonsets", "DaemonSet", true, Keep, "workloads"),
    r("apps", "v1", "replicasets", "ReplicaSet", true, KeepUnowned, "workloads"),
    r("batch", "v1", "cronjobs", "CronJob", true, Keep, "workloads"),
    r("batch", "v1", "jobs", "Job", true, KeepUnowned, "workloads"),
    r("", "v1", "replicationcontrollers", "ReplicationController", true, Keep, "workloads"),
    r("", "v1", "services", "Service", true, Keep, "workloads"),
    r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, Keep, "workloads"),
    r("", "v1", "serviceaccounts", "ServiceAccount", true, Keep, "workloads"),
    r("networking.k8s.io", "v1", "ingresses", "Ingress", true, Keep, "workloads"),
    r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, Keep, "workloads"),
    r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, Keep, "workloads"),
    r("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, Keep, "workloads"),
    r("rbac.authorization.k8s.io", "v1", "roles", "Role", true, Keep, "rbac"),
    r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, Keep, "rbac"),
    r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, Keep, "rbac"),
    r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false, Keep, "rbac"),
    r("", "v1", "pods", "Pod", true, Stream, "pods"),
    r("", "v1", "events", "Event", true, Stream, "events"),
    r("", "v1", "configmaps", "ConfigMap", true, Stream, "workloads"),
];

/// Leader leases, read in kube-system only.
pub const LEASES: Resource = r("coordination.k8s.io", "v1", "leases", "Lease", true, Keep, "controlPlane");

/// Node metrics from metrics-server.
pub const NODE_METRICS: Resource = r("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", false, Keep, "nodes");

/// The deprecated component statuses, a last resort for etcd/scheduler health.
pub const COMPONENT_STATUSES: Resource =
    r("", "v1", "componentstatuses", "ComponentStatus", false, Keep, "controlPlane");

/// A resource by kind.
pub fn by_kind(kind: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let deploy = by_kind("Deployment").unwrap();
        assert_eq!(deploy.path(None), "/apis/apps/v1/deployments");
        assert_eq!(deploy.path(Some("shop")), "/apis/apps/v1/namespaces/shop/deployments");
        // A namespace never reaches the path as more than one segment.
        assert_eq!(
            deploy.path(Some("default/secrets?x=")),
            "/apis/apps/v1/namespaces/default%2Fsecrets%3Fx=/deployments"
        );
        assert_eq!(by_kind("Node").unwrap().path(Some("shop")), "/api/v1/nodes");
        assert_eq!(by_kind("Pod").unwrap().qualified(), "pods");
        assert_eq!(NODE_METRICS.api_version(), "metrics.k8s.io/v1beta1");
        assert!(!RESOURCES.iter().any(|r| r.plural == "secrets"), "secrets are never read");
    }
}

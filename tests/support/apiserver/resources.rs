//! The API resources the fake serves: kind, group, preferred version, plural and scope.

/// One API resource, as discovery would describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// API group, empty for the core group.
    pub group: String,
    /// The version objects are stored under (the preferred version).
    pub version: String,
    /// Kind of the objects.
    pub kind: String,
    /// Lower-case plural used in URLs.
    pub plural: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Built-in kinds are served like the real API server serves typed objects:
    /// list items carry no `kind`/`apiVersion`. Unknown kinds are served like
    /// custom resources, whose list items keep them.
    pub built_in: bool,
}

impl Resource {
    /// `v1` or `group/version` for the version a client asked for.
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() { version.to_string() } else { format!("{}/{version}", self.group) }
    }
}

/// (group, version, kind, plural, namespaced) for every kind in docs/snapshot-format.md,
/// plus Secret and PodMetrics which a live collector may also ask for.
const BUILT_IN: &[(&str, &str, &str, &str, bool)] = &[
    ("", "v1", "Namespace", "namespaces", false),
    ("", "v1", "Node", "nodes", false),
    ("", "v1", "Pod", "pods", true),
    ("", "v1", "Service", "services", true),
    ("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true),
    ("", "v1", "ServiceAccount", "serviceaccounts", true),
    ("", "v1", "ConfigMap", "configmaps", true),
    ("", "v1", "Secret", "secrets", true),
    ("", "v1", "Event", "events", true),
    ("", "v1", "ReplicationController", "replicationcontrollers", true),
    ("", "v1", "ComponentStatus", "componentstatuses", false),
    ("apps", "v1", "Deployment", "deployments", true),
    ("apps", "v1", "ReplicaSet", "replicasets", true),
    ("apps", "v1", "StatefulSet", "statefulsets", true),
    ("apps", "v1", "DaemonSet", "daemonsets", true),
    ("batch", "v1", "Job", "jobs", true),
    ("batch", "v1", "CronJob", "cronjobs", true),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", true),
    ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false),
    ("coordination.k8s.io", "v1", "Lease", "leases", true),
    ("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", false),
    ("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", true),
];

/// Every built-in resource.
pub fn built_in() -> impl Iterator<Item = Resource> {
    BUILT_IN.iter().map(|&(group, version, kind, plural, namespaced)| Resource {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        namespaced,
        built_in: true,
    })
}

/// The resource an object belongs to. Kinds outside the table are served like
/// custom resources under a guessed plural, scoped by whether the object has a namespace.
pub fn for_object(api_version: &str, kind: &str, has_namespace: bool) -> Resource {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    if let Some(known) = built_in().find(|r| r.group == group && r.kind == kind) {
        return known;
    }
    Resource {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: guess_plural(kind),
        namespaced: has_namespace,
        built_in: false,
    }
}

/// The built-in resource served at `group`/`plural`, if any.
pub fn built_in_by_plural(group: &str, plural: &str) -> Option<Resource> {
    built_in().find(|r| r.group == group && r.plural == plural)
}

fn guess_plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if let Some(stem) = lower.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        format!("{stem}ies")
    } else if lower.ends_with('s') || lower.ends_with('x') || lower.ends_with("ch") {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

/// The group part of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

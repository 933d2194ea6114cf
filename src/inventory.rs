//! The inventory: everything one inspection saw, whatever the source.
//!
//! Offline snapshots and (later) the live collector fill the same type, so
//! the checks cannot tell the two apart. Objects stay as raw JSON because
//! schema rules validate the object as the API server returned it; the few
//! fields every check needs are lifted into [`ObjectRef`] once, at load time.

use serde_json::Value;

/// Identity of a Kubernetes object: what a finding names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// API group, empty for the core group (`apps`, `batch`, ``).
    pub group: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Namespace; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// Object name.
    pub name: String,
}

impl ObjectRef {
    /// `namespace/name` or `name` for cluster-scoped objects.
    pub fn display_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// One object as loaded, with its identity pre-parsed.
#[derive(Debug, Clone)]
pub struct Object {
    /// Identity of the object.
    pub id: ObjectRef,
    /// The object exactly as read (apiVersion, kind, metadata, spec, status).
    pub raw: Value,
    /// Where it was read from, for objects read from files (`None` live).
    pub source: Option<SourceLocation>,
    /// Its document in the file (1-based) and, in a `List`, its item: what
    /// tells two objects of one identity apart without depending on lines.
    pub document: (usize, Option<usize>),
    /// Whether another, different object of the inventory has the same
    /// identity (a base manifest and an overlay of one Deployment): findings
    /// on it are then told apart by their source (see [`Inventory::dedup`]).
    pub shared_identity: bool,
}

/// Where an object was read from: a file and the line its document starts on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SourceLocation {
    /// The file, as the path was given (`manifests/web.yaml`): one shared copy for
    /// every object and finding of the file.
    pub file: crate::text::Text,
    /// The first line of the object's document (1-based).
    pub line: usize,
}

impl SourceLocation {
    /// `file:line`.
    pub fn display(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

impl Object {
    /// Builds an object from a raw manifest; `None` when it lacks `kind` or `metadata.name`.
    /// The manifest is read as the API server would store it (see [`normalize`]).
    pub fn from_value(mut raw: Value) -> Option<Self> {
        let api_version = raw.get("apiVersion").and_then(Value::as_str).unwrap_or("v1");
        let ours = api_group(api_version) == "kubeeye.io";
        normalize(&mut raw, !ours);
        let kind = raw.get("kind")?.as_str()?.to_string();
        let meta = raw.get("metadata")?;
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .or_else(|| meta.get("generateName").and_then(Value::as_str))?
            .to_string();
        let namespace = meta.get("namespace").and_then(Value::as_str).map(str::to_string);
        let group = api_group(raw.get("apiVersion").and_then(Value::as_str).unwrap_or("v1")).to_string();
        Some(Self {
            id: ObjectRef { group, kind, namespace, name },
            raw,
            source: None,
            document: (0, None),
            shared_identity: false,
        })
    }

    /// The object, read from `source`, document `document` (and item, in a `List`).
    pub fn at(mut self, source: SourceLocation, document: (usize, Option<usize>)) -> Self {
        self.source = Some(source);
        self.document = document;
        self
    }

    /// What tells this object's findings apart from those of another object
    /// of the same identity (`file#document[.item]`); `None` when no other
    /// object shares its identity.
    pub fn distinction(&self) -> Option<String> {
        let source = self.source.as_ref().filter(|_| self.shared_identity)?;
        let item = self.document.1.map(|i| format!(".{i}")).unwrap_or_default();
        Some(format!("{}#{}{item}", source.file, self.document.0))
    }

    /// The object's `metadata`.
    pub fn metadata(&self) -> &Value {
        self.raw.get("metadata").unwrap_or(&Value::Null)
    }

    /// An annotation's value, if set.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata().get("annotations")?.get(key)?.as_str()
    }

    /// `metadata.creationTimestamp` as written (RFC 3339), if any.
    pub fn creation_timestamp(&self) -> Option<&str> {
        self.metadata().get("creationTimestamp")?.as_str()
    }

    /// The owner references of the object (empty when it has none).
    pub fn owners(&self) -> Vec<OwnerRef<'_>> {
        let Some(list) = self.metadata().get("ownerReferences").and_then(Value::as_array) else {
            return Vec::new();
        };
        list.iter()
            .filter_map(|o| {
                Some(OwnerRef {
                    kind: o.get("kind")?.as_str()?,
                    name: o.get("name")?.as_str()?,
                    controller: o.get("controller").and_then(Value::as_bool).unwrap_or(false),
                })
            })
            .collect()
    }

    /// The owner reference marked `controller: true`, or the first one.
    pub fn controller_owner(&self) -> Option<OwnerRef<'_>> {
        let owners = self.owners();
        owners.iter().find(|o| o.controller).or(owners.first()).cloned()
    }
}

/// Reads a manifest as the API server stores it, so hand-written YAML and
/// live objects are judged alike:
/// - an explicit null is an absent field (`capabilities: {add: }` adds
///   nothing; the API server drops nulls);
/// - with `quantities`, a quantity written as a number (`cpu: 1.5`,
///   `memory: 1024`) becomes the string the API server stores (`1500m`,
///   `1024`), in resource maps (requests, limits, overhead, capacity,
///   allocatable, quota `hard`/`used`, LimitRange bounds) and `sizeLimit`.
pub fn normalize(value: &mut Value, quantities: bool) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            for (key, v) in map.iter_mut() {
                if quantities {
                    if QUANTITY_MAPS.contains(&key.as_str())
                        && let Value::Object(amounts) = v
                    {
                        amounts.values_mut().for_each(number_to_quantity);
                    } else if key == "sizeLimit" {
                        number_to_quantity(v);
                    }
                }
                normalize(v, quantities);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| normalize(v, quantities)),
        _ => {}
    }
}

/// Keys whose value maps resource names to quantities.
const QUANTITY_MAPS: &[&str] = &[
    "requests",
    "limits",
    "overhead",
    "capacity",
    "allocatable",
    "hard",
    "used",
    "max",
    "min",
    "default",
    "defaultRequest",
    "maxLimitRequestRatio",
];

fn number_to_quantity(v: &mut Value) {
    if let Value::Number(n) = v
        && let Some(q) = crate::quantity::canonical(n)
    {
        *v = Value::String(q);
    }
}

/// An entry of `metadata.ownerReferences`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef<'a> {
    /// Owner kind.
    pub kind: &'a str,
    /// Owner name.
    pub name: &'a str,
    /// Whether this owner is the managing controller.
    pub controller: bool,
}

/// Gives a list item the `kind` and `apiVersion` of its list when it lacks
/// them: `kubectl get -o json`, cluster-info dumps and the API itself omit
/// them on the items of typed lists.
pub fn fill_list_item(item: &mut Value, kind: Option<&str>, api_version: Option<&str>) {
    if let Value::Object(m) = item {
        if let Some(kind) = kind {
            m.entry("kind").or_insert_with(|| Value::String(kind.to_string()));
        }
        if let Some(v) = api_version {
            m.entry("apiVersion").or_insert_with(|| Value::String(v.to_string()));
        }
    }
}

/// The group part of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``).
pub fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Report sections, as findings and coverage gaps name them (`Finding::section`,
/// [`CoverageGap::section`]); the strings are part of the report contract.
pub mod section {
    /// apiserver, etcd, scheduler, controller-manager, certificates.
    pub const CONTROL_PLANE: &str = "controlPlane";
    /// Node conditions, usage, node-problem-detector problems.
    pub const NODES: &str = "nodes";
    /// Grouped Warning events.
    pub const EVENTS: &str = "events";
    /// Pod status: image pulls, crash loops.
    pub const PODS: &str = "pods";
    /// Container log patterns.
    pub const LOGS: &str = "logs";
    /// Best-practice checks on workloads.
    pub const WORKLOADS: &str = "workloads";
    /// RBAC objects.
    pub const RBAC: &str = "rbac";
    /// Host rules run on the nodes (`ke node-check`); shown with the nodes.
    pub const NODE_CHECKS: &str = "node checks";
}

/// Something the inspection could not see, and why. Every gap is recorded;
/// none is silently dropped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoverageGap {
    /// Which part of the inspection is affected (`snapshot`, `workloads`, `nodes` …).
    pub section: String,
    /// What could not be read: a file and document, a resource, an endpoint.
    pub resource: String,
    /// Why, in words an administrator can act on.
    pub reason: String,
    /// Whether this run failed to read something (`error`: the inspection is
    /// incomplete) or the cluster does not offer it (`unavailable`: e.g.
    /// node-problem-detector not installed, no metrics API).
    #[serde(default)]
    pub kind: GapKind,
}

/// Why a [`CoverageGap`] exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GapKind {
    /// Reading failed (403, timeout, 5xx, malformed document): the inspection is incomplete.
    #[default]
    Error,
    /// The cluster does not provide this source; the checks that need it did not run.
    Unavailable,
}

impl CoverageGap {
    /// A read failure.
    pub fn error(section: &str, resource: impl Into<String>, reason: impl Into<String>) -> Self {
        CoverageGap { section: section.into(), resource: resource.into(), reason: reason.into(), kind: GapKind::Error }
    }

    /// A source the cluster does not provide.
    pub fn unavailable(section: &str, resource: impl Into<String>, reason: impl Into<String>) -> Self {
        CoverageGap {
            section: section.into(),
            resource: resource.into(),
            reason: reason.into(),
            kind: GapKind::Unavailable,
        }
    }
}

/// Coverage gap resource names the collector and the node checks share, so a
/// source the cluster lacks is recorded once.
pub const NPD_RESOURCE: &str = "node-problem-detector";
/// See [`NPD_RESOURCE`].
pub const METRICS_RESOURCE: &str = "metrics.k8s.io/v1beta1 nodes";
/// See [`NPD_RESOURCE`].
pub const SUMMARY_RESOURCE: &str = "nodes/proxy stats/summary";

/// The tail of one container's log.
#[derive(Debug, Clone)]
pub struct LogRecord<'a> {
    /// Namespace.
    pub namespace: &'a str,
    /// Pod name.
    pub pod: &'a str,
    /// Container name.
    pub container: &'a str,
    /// The log text.
    pub text: &'a str,
}

/// Everything one inspection saw.
///
/// Offline, `objects` holds every object read. Live, pods and events are
/// evaluated page by page and never stored here; `objects` keeps what the
/// cross-object checks need, and `known` the identities of owners that were
/// seen but not kept (ReplicaSets of Deployments, Jobs of CronJobs).
#[derive(Debug, Default)]
pub struct Inventory {
    /// Objects kept for the checks, in load order.
    pub objects: Vec<Object>,
    /// Identities of controllers that exist but whose bodies were not kept.
    pub known: std::collections::HashSet<ObjectRef>,
    /// What could not be read.
    pub gaps: Vec<CoverageGap>,
    /// Where the inventory came from (snapshot paths, a kubeconfig context …).
    pub sources: Vec<String>,
    /// The cluster's display name, when the source knows it.
    pub cluster: Option<String>,
    /// When the data was collected: the inspection's clock (RFC 3339).
    pub collected_at: Option<String>,
    /// The API server's version (`gitVersion` of `/version`), when known.
    pub kubernetes_version: Option<String>,
    /// Pods streamed page by page and dropped (live), counted by phase; pods
    /// kept as objects (snapshots) are not in it.
    pub streamed_pod_phases: std::collections::BTreeMap<String, usize>,
    /// What the objects of a snapshot evaluated as they were read, and dropped,
    /// leave behind for the report (see [`Streamed`]).
    pub streamed: Streamed,
    /// What Prometheus answered to the rules' queries: one entry per series returned.
    pub series: Vec<Series>,
}

/// One series of an instant query's answer: the rule that asked, the
/// series' labels and its value at the inspection's time.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The id of the rule whose query returned it.
    pub rule: String,
    /// The series' labels (`__name__` included when the query kept it).
    pub labels: std::collections::BTreeMap<String, String>,
    /// The sample value (`NaN` and infinities as Prometheus sent them).
    pub value: f64,
}

impl Inventory {
    /// Adds an object.
    pub fn push(&mut self, object: Object) {
        self.objects.push(object);
    }

    /// Removes true duplicates: the same object listed twice, as a snapshot
    /// bundle or a cluster dump does (a `List` dump and a single file), known
    /// by the same identity and either the same `metadata.uid` or the same
    /// content; the last one loaded is kept. Different objects that share an
    /// identity (a base manifest and a kustomize patch of one Deployment, two
    /// documents of one file) are all kept and evaluated, each reported with
    /// its own source, and marked [`Object::shared_identity`].
    pub fn dedup(&mut self) {
        use std::collections::HashMap;
        let uid = |o: &Object| o.metadata().get("uid").and_then(Value::as_str).map(str::to_string);
        let same = |a: &Object, b: &Object| match (uid(a), uid(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a.raw == b.raw,
        };
        let mut by_id: HashMap<ObjectRef, Vec<usize>> = HashMap::new();
        let mut kept: Vec<Object> = Vec::with_capacity(self.objects.len());
        for object in std::mem::take(&mut self.objects).into_iter().rev() {
            let earlier = by_id.entry(object.id.clone()).or_default();
            if earlier.iter().any(|&i| same(&kept[i], &object)) {
                continue;
            }
            earlier.push(kept.len());
            kept.push(object);
        }
        for indices in by_id.values().filter(|v| v.len() > 1) {
            for &i in indices {
                kept[i].shared_identity = true;
            }
        }
        kept.reverse();
        self.objects = kept;
    }

    /// Objects of one kind (any group).
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Object> + 'a {
        self.objects.iter().filter(move |o| o.id.kind == kind)
    }

    /// Keeps the namespaced objects the filter selects, every cluster-scoped one,
    /// and the control plane's leases and pods (see [`NamespaceFilter::keeps_object`]).
    pub fn retain_namespaces(&mut self, filter: &NamespaceFilter) {
        self.objects.retain(|o| filter.keeps_object(o));
    }
}

/// The small projection an object evaluated and dropped leaves behind: where
/// it was read (so that findings about it, or grouped under it, name its file),
/// and what it counts for in the overview and the namespace scope. Objects
/// other checks look up are kept whole in [`Inventory::objects`] instead.
#[derive(Debug, Default)]
pub struct Streamed {
    /// Where each identity was first read: kind, namespace and name.
    pub sources: std::collections::HashMap<(String, Option<String>, String), SourceLocation>,
    /// Where the first pod of each control-plane component was read.
    pub components: std::collections::HashMap<&'static str, SourceLocation>,
    /// The namespaces the objects are in, as applied (`default` for a namespaced manifest without one).
    pub namespaces: std::collections::HashSet<String>,
    /// Controllers that no other controller owns, by kind.
    pub workloads: std::collections::BTreeMap<String, usize>,
    /// Whether a node-problem-detector DaemonSet or pod was among them.
    pub node_problem_detector: bool,
}

/// The namespace `kubectl apply` puts a namespaced object in when its manifest
/// names none and the context sets none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Namespaced kinds manifests commonly leave the namespace out of.
const NAMESPACED_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicationController",
    "Service",
    "Endpoints",
    "EndpointSlice",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "Ingress",
    "PersistentVolumeClaim",
    "LimitRange",
    "ResourceQuota",
    "Lease",
];

/// The namespace an object of `kind` lives in once applied: its own, or for
/// a namespaced kind whose manifest names none, [`DEFAULT_NAMESPACE`].
/// Cluster-scoped (and unknown) kinds keep `None`.
pub fn applied_namespace<'a>(kind: &str, namespace: Option<&'a str>) -> Option<&'a str> {
    namespace.or_else(|| NAMESPACED_KINDS.contains(&kind).then_some(DEFAULT_NAMESPACE))
}

/// Components recognised by the `component` label kubeadm and most distributions set.
pub const CONTROL_PLANE_COMPONENTS: &[&str] = &["etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager"];

/// The control-plane component a kube-system pod runs, if any.
pub fn control_plane_component(pod: &Value) -> Option<&'static str> {
    let labels = pod.get("metadata")?.get("labels")?;
    let label = ["component", "k8s-app", "app"].iter().find_map(|k| labels.get(*k)?.as_str())?;
    CONTROL_PLANE_COMPONENTS.iter().copied().find(|c| *c == label)
}

/// Leases and static pods of the control plane in kube-system.
fn is_control_plane_data(object: &Object) -> bool {
    if object.id.namespace.as_deref() != Some("kube-system") {
        return false;
    }
    match object.id.kind.as_str() {
        "Lease" => true,
        "Pod" => control_plane_component(&object.raw).is_some(),
        _ => false,
    }
}

/// Which namespaces an inspection covers (`-n`, `-A`, `--exclude-namespace`).
#[derive(Debug, Clone, Default)]
pub struct NamespaceFilter {
    /// Only these namespaces (empty = all).
    pub only: Vec<String>,
    /// Never these.
    pub exclude: Vec<String>,
}

impl NamespaceFilter {
    /// Whether an object is kept for the inspection: namespaced objects when
    /// their namespace is selected, cluster-scoped ones always (other checks
    /// look them up; findings on them are dropped by [`reports`](Self::reports)).
    pub fn keeps(&self, namespace: Option<&str>) -> bool {
        namespace.is_none_or(|ns| self.selects(Some(ns)))
    }

    /// Whether an object is kept: [`keeps`](Self::keeps), plus the control
    /// plane's leader leases and static pods in kube-system, which the
    /// cluster-level checks read even when kube-system's workloads are excluded.
    pub fn keeps_object(&self, object: &Object) -> bool {
        if object.id.kind == "Event" && object.id.group.is_empty() {
            // An event belongs to the object it is about: node events live in `default`.
            let involved = object.raw.get("involvedObject");
            let namespace = involved.and_then(|i| i.get("namespace")).and_then(serde_json::Value::as_str);
            return self.keeps(namespace.filter(|ns| !ns.is_empty()));
        }
        self.keeps(applied_namespace(&object.id.kind, object.id.namespace.as_deref())) || is_control_plane_data(object)
    }

    /// Whether a finding or gap about `namespace` (`None` = cluster-level) is reported.
    pub fn reports(&self, namespace: Option<&str>) -> bool {
        self.selects(namespace)
    }

    /// Whether an object in `namespace` (`None` = cluster-scoped) is inspected.
    pub fn selects(&self, namespace: Option<&str>) -> bool {
        match namespace {
            None => self.only.is_empty(),
            Some(ns) => {
                (self.only.is_empty() || self.only.iter().any(|n| n == ns)) && !self.exclude.iter().any(|n| n == ns)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_from_manifest() {
        let o = Object::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"}
        }))
        .unwrap();
        assert_eq!(o.id.group, "apps");
        assert_eq!(o.id.display_name(), "shop/web");
        assert!(Object::from_value(json!({"kind": "Pod"})).is_none());
    }

    #[test]
    fn manifests_read_as_stored() {
        let o = Object::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": null},
            "spec": {"replicas": 3, "template": {"spec": {"volumes": null, "containers": [{
                "name": "c", "securityContext": {"capabilities": {"add": null}},
                "resources": {"limits": {"cpu": 1.5, "memory": 1024}, "requests": {"cpu": "100m"}}
            }]}}}
        }))
        .unwrap();
        assert_eq!(o.id.namespace, None);
        let spec = &o.raw["spec"]["template"]["spec"];
        assert!(spec.get("volumes").is_none(), "nulls are absent");
        assert_eq!(spec["containers"][0]["securityContext"]["capabilities"], json!({}));
        assert_eq!(spec["containers"][0]["resources"]["limits"], json!({"cpu": "1500m", "memory": "1024"}));
        assert_eq!(spec["containers"][0]["resources"]["requests"]["cpu"], "100m");
        assert_eq!(o.raw["spec"]["replicas"], 3, "only quantities become strings");
    }

    #[test]
    fn namespace_filter() {
        let f = NamespaceFilter { only: vec![], exclude: vec!["kube-system".into()] };
        assert!(f.selects(Some("shop")));
        assert!(!f.selects(Some("kube-system")));
        assert!(f.selects(None));
        let f = NamespaceFilter { only: vec!["shop".into()], exclude: vec![] };
        assert!(!f.selects(None));
        assert!(!f.selects(Some("data")));
    }

    fn pod(uid: Option<&str>, image: &str) -> Object {
        let mut pod = json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "n"}, "spec": {"image": image}});
        if let Some(uid) = uid {
            pod["metadata"]["uid"] = json!(uid);
        }
        Object::from_value(pod).unwrap()
    }

    #[test]
    fn dedup_drops_only_the_same_object_listed_twice() {
        // The same object twice (same uid, or the same content): the last one is kept.
        let mut inv = Inventory::default();
        inv.push(pod(Some("u1"), "a"));
        inv.push(pod(Some("u1"), "b"));
        inv.push(pod(None, "c"));
        inv.push(pod(None, "c"));
        inv.dedup();
        let images: Vec<_> = inv.objects.iter().map(|o| o.raw["spec"]["image"].as_str().unwrap()).collect();
        assert_eq!(images, ["b", "c"]);
        assert!(inv.objects.iter().all(|o| o.shared_identity), "two different objects named n/p");
        // Different objects of one name (a manifest and its patch) are both kept.
        let mut inv = Inventory::default();
        inv.push(pod(None, "a"));
        inv.push(pod(None, "b"));
        inv.push(pod(Some("u2"), "a"));
        inv.dedup();
        assert_eq!(inv.objects.len(), 3);
        let mut one = Inventory::default();
        one.push(pod(None, "a"));
        one.dedup();
        assert!(!one.objects[0].shared_identity);
    }
}

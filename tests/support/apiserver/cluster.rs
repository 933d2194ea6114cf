//! The objects a fake API server serves: serialized once, indexed by resource,
//! kept in the order the real server lists them (namespace, then name).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::resources::{self, Resource};
use super::selectors;

/// One stored object, ready to be copied into a response.
#[derive(Debug)]
pub struct Item {
    /// Namespace, `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// `apiVersion` the object was stored with.
    pub api_version: String,
    /// The object as a list item (without `kind`/`apiVersion` for built-in kinds).
    pub json: Bytes,
    /// Values of the field labels the kind supports.
    pub fields: Vec<(&'static str, String)>,
    /// `metadata.labels`.
    pub labels: Vec<(String, String)>,
}

impl Item {
    /// Serializes an object for `resource`. A namespaced object without a namespace lands in
    /// `default`, as it would when created with kubectl.
    pub fn new(mut object: Value, resource: &Resource) -> Option<Self> {
        let name = object.pointer("/metadata/name")?.as_str()?.to_string();
        let namespace = if resource.namespaced {
            let ns = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_string();
            object["metadata"]["namespace"] = Value::String(ns.clone());
            Some(ns)
        } else {
            None
        };
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .map_or_else(|| resource.api_version(&resource.version), str::to_string);
        let fields = selectors::extract_fields(&resource.kind, &object);
        let labels = selectors::extract_labels(&object);
        if let Some(map) = object.as_object_mut() {
            if resource.built_in {
                map.remove("kind");
                map.remove("apiVersion");
            } else {
                map.insert("kind".into(), Value::String(resource.kind.clone()));
                map.insert("apiVersion".into(), Value::String(api_version.clone()));
            }
        }
        let json = Bytes::from(serde_json::to_vec(&object).expect("a JSON value serializes"));
        Some(Self { namespace, name, api_version, json, fields, labels })
    }

    /// Sort key: the order of the real server's storage keys.
    pub fn key(&self) -> (&str, &str) {
        (self.namespace.as_deref().unwrap_or(""), &self.name)
    }

    /// The object as a single GET answers it, with `kind` and `apiVersion` first.
    pub fn full_json(&self, resource: &Resource) -> Bytes {
        if !resource.built_in {
            return self.json.clone();
        }
        let head = format!(r#"{{"kind":{},"apiVersion":{}"#, json!(resource.kind), json!(self.api_version));
        let rest = &self.json[1..];
        let mut out = Vec::with_capacity(head.len() + self.json.len() + 1);
        out.extend_from_slice(head.as_bytes());
        if rest != b"}" {
            out.push(b',');
        }
        out.extend_from_slice(rest);
        Bytes::from(out)
    }

    /// The object as a JSON value (for answers that need to look inside it).
    pub fn value(&self, resource: &Resource) -> Value {
        serde_json::from_slice(&self.full_json(resource)).expect("stored JSON parses")
    }
}

/// Every object of one resource, sorted by [`Item::key`]. Copy-on-write, so a list in
/// progress keeps a consistent view while an apply replaces the vector.
#[derive(Debug, Clone)]
pub struct Collection {
    /// What the objects are.
    pub resource: Resource,
    /// The objects, sorted.
    pub items: Arc<Vec<Arc<Item>>>,
}

impl Collection {
    fn new(resource: Resource) -> Self {
        Self { resource, items: Arc::default() }
    }

    /// Index range of the objects in `namespace`, or all of them.
    pub fn range(&self, namespace: Option<&str>) -> std::ops::Range<usize> {
        match namespace {
            None => 0..self.items.len(),
            Some(ns) => {
                let start = self.items.partition_point(|i| i.key().0 < ns);
                let end = self.items.partition_point(|i| i.key().0 <= ns);
                start..end
            }
        }
    }

    /// The first index after the object with this key.
    pub fn after(&self, namespace: &str, name: &str) -> usize {
        self.items.partition_point(|i| i.key() <= (namespace, name))
    }

    /// The object with this namespace and name.
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Arc<Item>> {
        let key = (namespace.unwrap_or(""), name);
        self.items.binary_search_by(|i| i.key().cmp(&key)).ok().map(|at| self.items[at].clone())
    }

    /// Inserts or replaces; returns the replaced object.
    pub fn upsert(&mut self, item: Item) -> Option<Arc<Item>> {
        let items = Arc::make_mut(&mut self.items);
        match items.binary_search_by(|i| i.key().cmp(&item.key())) {
            Ok(at) => Some(std::mem::replace(&mut items[at], Arc::new(item))),
            Err(at) => {
                items.insert(at, Arc::new(item));
                None
            }
        }
    }

    /// Removes the object with this key.
    pub fn remove(&mut self, namespace: Option<&str>, name: &str) -> Option<Arc<Item>> {
        let key = (namespace.unwrap_or(""), name);
        let at = self.items.binary_search_by(|i| i.key().cmp(&key)).ok()?;
        Some(Arc::make_mut(&mut self.items).remove(at))
    }
}

/// An HTTP answer planted for `/readyz` or `/livez`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// HTTP status.
    pub status: u16,
    /// Body, served as plain text.
    pub body: String,
}

/// What the `APIServerHealth` object plants: probe answers and the serving certificate.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// `GET /readyz?verbose`.
    pub readyz: Option<Probe>,
    /// `GET /livez`.
    pub livez: Option<Probe>,
    /// notAfter of the serving certificate.
    pub not_after: Option<OffsetDateTime>,
    /// Extra DNS names for the serving certificate.
    pub dns_names: Vec<String>,
}

/// A cluster to serve: Kubernetes objects plus the `kubeeye.io` kinds that stand for
/// probes, kubelet summaries and container logs (docs/snapshot-format.md).
#[derive(Debug, Clone, Default)]
pub struct FakeCluster {
    pub(super) collections: HashMap<(String, String), Collection>,
    /// (namespace, pod, container) → log text.
    pub(super) logs: HashMap<(String, String, String), Arc<str>>,
    /// Node name → `{"node": …, "pods": []}`.
    pub(super) summaries: HashMap<String, Bytes>,
    pub(super) health: Health,
    /// The cluster's current resourceVersion, advanced by every write.
    pub(super) resource_version: u64,
}

impl FakeCluster {
    /// Loads a snapshot file or directory with kubeeye's own loader, so the fake serves
    /// exactly what `ke diag --snapshot` would read.
    pub fn from_snapshot(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        let inventory = kubeeye::collect::offline::load(&[PathBuf::from(path)])
            .unwrap_or_else(|e| panic!("cannot load snapshot {}: {e}", path.display()));
        for gap in &inventory.gaps {
            eprintln!("fake apiserver: snapshot gap, not served: {} ({})", gap.resource, gap.reason);
        }
        Self::from_values(inventory.objects.into_iter().map(|o| o.raw).collect())
    }

    /// A cluster made of these objects; later objects replace earlier ones with the same identity.
    pub fn from_values(values: Vec<Value>) -> Self {
        let mut cluster = Self { resource_version: 1000, ..Self::default() };
        cluster.add_all(values);
        cluster
    }

    /// Adds (or replaces) one object, for example to plant an `APIServerHealth` on a snapshot.
    pub fn add(&mut self, value: Value) {
        self.add_all(vec![value]);
    }

    /// Adds (or replaces) objects.
    pub fn add_all(&mut self, values: Vec<Value>) {
        let mut batches: HashMap<(String, String), (Resource, Vec<Item>)> = HashMap::new();
        for value in values {
            let api_version = value.get("apiVersion").and_then(Value::as_str).unwrap_or("v1").to_string();
            let Some(kind) = value.get("kind").and_then(Value::as_str).map(str::to_string) else {
                eprintln!("fake apiserver: object without kind, not served");
                continue;
            };
            if resources::group_of(&api_version) == "kubeeye.io" {
                self.add_kubeeye_object(&kind, &value);
                continue;
            }
            let has_namespace = value.pointer("/metadata/namespace").is_some();
            let resource = resources::for_object(&api_version, &kind, has_namespace);
            let Some(item) = Item::new(value, &resource) else {
                eprintln!("fake apiserver: {kind} without metadata.name, not served");
                continue;
            };
            let key = (resource.group.clone(), resource.plural.clone());
            batches.entry(key).or_insert_with(|| (resource, Vec::new())).1.push(item);
        }
        for (key, (resource, new_items)) in batches {
            let collection = self.collections.entry(key).or_insert_with(|| Collection::new(resource));
            let items = Arc::make_mut(&mut collection.items);
            // Newest first, so that after a stable sort the first of equal keys is the one to keep.
            let mut all: Vec<Arc<Item>> = new_items.into_iter().rev().map(Arc::new).collect();
            all.extend(items.drain(..).rev());
            all.sort_by(|a, b| a.key().cmp(&b.key()));
            all.dedup_by(|later, first| later.key() == first.key());
            *items = all;
        }
    }

    fn add_kubeeye_object(&mut self, kind: &str, value: &Value) {
        let name = value.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
        match kind {
            "ContainerLog" => {
                let namespace = value.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default");
                let (name_pod, name_container) = name.rsplit_once('.').unwrap_or((name, ""));
                let pod = value.get("pod").and_then(Value::as_str).unwrap_or(name_pod);
                let container = value.get("container").and_then(Value::as_str).unwrap_or(name_container);
                let log = value.get("log").and_then(Value::as_str).unwrap_or_default();
                self.logs.insert((namespace.into(), pod.into(), container.into()), log.into());
            }
            "KubeletSummary" => {
                let node = value.get("node").cloned().unwrap_or_else(|| json!({ "nodeName": name }));
                let body = serde_json::to_vec(&json!({ "node": node, "pods": [] })).expect("serializes");
                self.summaries.insert(name.into(), body.into());
            }
            "APIServerHealth" => self.health = parse_health(value),
            _ => {}
        }
    }

    /// Number of Kubernetes objects served (the `kubeeye.io` kinds not counted).
    pub fn object_count(&self) -> usize {
        self.collections.values().map(|c| c.items.len()).sum()
    }

    /// The collection served at `group`/`plural`; built-in resources exist even when empty.
    pub(super) fn collection(&self, group: &str, plural: &str) -> Option<Collection> {
        let key = (group.to_string(), plural.to_string());
        self.collections
            .get(&key)
            .cloned()
            .or_else(|| resources::built_in_by_plural(group, plural).map(Collection::new))
    }

    /// The collection to write into, created for a built-in resource on first use.
    pub(super) fn collection_mut(&mut self, group: &str, plural: &str) -> Option<&mut Collection> {
        let key = (group.to_string(), plural.to_string());
        if !self.collections.contains_key(&key) {
            let resource = resources::built_in_by_plural(group, plural)?;
            self.collections.insert(key.clone(), Collection::new(resource));
        }
        self.collections.get_mut(&key)
    }

    /// Whether a namespace exists: as an object, as the home of some object, or as one a
    /// real cluster always has (snapshots often omit Namespace objects).
    pub(super) fn namespace_exists(&self, namespace: &str) -> bool {
        if ["default", "kube-system", "kube-public", "kube-node-lease"].contains(&namespace) {
            return true;
        }
        if self.collections.get(&(String::new(), "namespaces".into())).is_some_and(|c| c.get(None, namespace).is_some())
        {
            return true;
        }
        self.collections.values().any(|c| c.resource.namespaced && !c.range(Some(namespace)).is_empty())
    }
}

fn parse_health(value: &Value) -> Health {
    let probe = |key: &str| {
        let p = value.get(key)?;
        Some(Probe {
            status: p.get("status").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
            body: p.get("body").and_then(Value::as_str).unwrap_or_default().to_string(),
        })
    };
    let certificate = value.get("certificate");
    let not_after = certificate.and_then(|c| c.get("notAfter")).and_then(Value::as_str).map(|s| {
        OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("APIServerHealth certificate.notAfter {s:?}: {e}"))
    });
    let dns_names = certificate
        .and_then(|c| c.get("dnsNames"))
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    Health { readyz: probe("readyz"), livez: probe("livez"), not_after, dns_names }
}

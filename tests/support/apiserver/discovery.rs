//! Discovery (`/api`, `/apis`, `/api/v1`, `/apis/GROUP/VERSION`), enough for a client that
//! checks whether a group such as `metrics.k8s.io` is served.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::reply::Reply;
use super::resources::Resource;
use super::state::Shared;

/// Every resource served: the built-in table plus kinds found in the snapshot.
fn served(shared: &Shared) -> Vec<Resource> {
    let mut all: Vec<Resource> = super::resources::built_in().collect();
    for collection in shared.cluster().collections.values() {
        if !all.iter().any(|r| r.group == collection.resource.group && r.plural == collection.resource.plural) {
            all.push(collection.resource.clone());
        }
    }
    all
}

/// `GET /api`.
pub fn core_versions() -> Reply {
    Reply::json(200, json!({"kind": "APIVersions", "versions": ["v1"]}).to_string())
}

/// `GET /apis`.
pub fn groups(shared: &Shared) -> Reply {
    let mut groups: BTreeMap<String, String> = BTreeMap::new();
    for r in served(shared).into_iter().filter(|r| !r.group.is_empty()) {
        groups.entry(r.group.clone()).or_insert(r.version);
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(name, version)| {
            let gv = json!({"groupVersion": format!("{name}/{version}"), "version": version});
            json!({"name": name, "versions": [gv], "preferredVersion": gv})
        })
        .collect();
    Reply::json(200, json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}).to_string())
}

/// `GET /api/v1` or `/apis/GROUP/VERSION`.
pub fn resources(shared: &Shared, group: &str, version: &str) -> Reply {
    let resources: Vec<Value> = served(shared)
        .into_iter()
        .filter(|r| r.group == group)
        .map(|r| {
            json!({
                "name": r.plural,
                "singularName": r.kind.to_ascii_lowercase(),
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["delete", "get", "list", "patch"],
            })
        })
        .collect();
    if resources.is_empty() {
        return Reply::no_such_resource();
    }
    let group_version = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    let body =
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources});
    Reply::json(200, body.to_string())
}

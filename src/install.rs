//! `ke install npd` / `ke uninstall npd`: node-problem-detector, applied with
//! server-side apply from the manifests in `deploy/npd/` (compiled in), so
//! running it twice changes nothing and `kubectl apply` users see one owner.
//!
//! This is the only part of ke that writes to a cluster, and only when asked.
//!
//! The rules ConfigMap is merged, never overwritten: a file a user added is
//! kept as it is, rules and conditions a user added to ke's files are kept
//! beside ke's, and a file that is not JSON is left alone. The whole
//! ConfigMap is mounted, and the DaemonSet loads every monitor file in it
//! (named in its `--config.*-monitor` flags by what each file is).
//!
//! The health checker ([`health_checker`]) is an opt-in; once installed, a
//! plain `ke install npd` keeps it, and only `--no-health-checker` removes it.

pub mod health_checker;

use serde_json::{Map, Value};

use self::health_checker::{Choice, HealthChecker};

use crate::collect::client::{Api, RequestError, status_error};
use crate::collect::pager::{encode, encode_segment};
use crate::inventory::Object;

/// The field manager ke applies as.
pub const FIELD_MANAGER: &str = "kubeeye";

/// The node-problem-detector manifests, in apply order.
pub const NPD_MANIFESTS: &[(&str, &str)] = &[
    ("deploy/npd/serviceaccount.yaml", include_str!("../deploy/npd/serviceaccount.yaml")),
    ("deploy/npd/rbac.yaml", include_str!("../deploy/npd/rbac.yaml")),
    ("deploy/npd/configmap.yaml", include_str!("../deploy/npd/configmap.yaml")),
    ("deploy/npd/networkpolicy.yaml", include_str!("../deploy/npd/networkpolicy.yaml")),
    ("deploy/npd/daemonset.yaml", include_str!("../deploy/npd/daemonset.yaml")),
];

/// A manifest that cannot be applied or a request that failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A manifest is malformed (a build problem: they are compiled in).
    #[error("{file}: {problem}")]
    Manifest {
        /// Manifest file.
        file: String,
        /// What is wrong.
        problem: String,
    },
    /// A manifest document is not YAML (a build problem: they are compiled in).
    #[error("{file}: document {document}: {source}")]
    Yaml {
        /// Manifest file.
        file: String,
        /// Which document of the file, from 1.
        document: usize,
        /// What the parser said.
        #[source]
        source: serde_norway::Error,
    },
    /// An object cannot be written as the apply body.
    #[error("deploy/npd: {object}: {source}")]
    Json {
        /// `Kind namespace/name`.
        object: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The API server refused or failed.
    #[error("{action} {object}: {source}")]
    Request {
        /// `read`, `apply`, `patch` or `delete`.
        action: &'static str,
        /// `Kind namespace/name`.
        object: String,
        /// Why.
        #[source]
        source: RequestError,
    },
}

/// The name of the ConfigMap holding node-problem-detector's monitors.
pub const NPD_CONFIGMAP: &str = "node-problem-detector-config";
/// Where the DaemonSet mounts it.
const CONFIG_DIR: &str = "/config";

/// The objects of the compiled-in manifests, in apply order, with the health
/// checker when `health` is given, the DaemonSet loading every monitor of the
/// compiled-in ConfigMap.
pub fn npd_objects(health: Option<&HealthChecker>) -> Result<Vec<Object>, InstallError> {
    let mut objects = manifest_objects()?;
    if let Some(settings) = health {
        health_checker::enable(&mut objects, settings)?;
    }
    let data = config_data(&objects).cloned().unwrap_or_default();
    load_monitors(&mut objects, &data)?;
    Ok(objects)
}

/// The monitors ConfigMap's `data` among `objects`.
fn config_data(objects: &[Object]) -> Option<&Map<String, Value>> {
    objects
        .iter()
        .find(|o| o.id.kind == "ConfigMap" && o.id.name == NPD_CONFIGMAP)
        .and_then(|o| o.raw.get("data"))
        .and_then(Value::as_object)
}

/// What kind of node-problem-detector monitor a config file is, by its content:
/// the flag that loads it.
pub fn monitor_flag(text: &str) -> Option<&'static str> {
    let value: Value = serde_json::from_str(text).ok()?;
    let plugin = value.get("plugin").and_then(Value::as_str);
    match plugin {
        Some("custom") => Some("--config.custom-plugin-monitor"),
        Some("kmsg" | "journald" | "filelog") => Some("--config.system-log-monitor"),
        _ if ["cpu", "disk", "memory", "host", "net", "osFeature"].iter().any(|k| value.get(k).is_some()) => {
            Some("--config.system-stats-monitor")
        }
        _ => None,
    }
}

/// Points the DaemonSet's monitor flags at every monitor file in `data`
/// (mounted whole at /config), so a file added to the ConfigMap is loaded.
fn load_monitors(objects: &mut [Object], data: &Map<String, Value>) -> Result<(), InstallError> {
    let mut flags: std::collections::BTreeMap<&str, Vec<String>> = std::collections::BTreeMap::new();
    for (key, text) in data {
        if let Some(flag) = text.as_str().and_then(monitor_flag) {
            flags.entry(flag).or_default().push(format!("{CONFIG_DIR}/{key}"));
        }
    }
    let problem =
        |problem: &str| InstallError::Manifest { file: "deploy/npd/daemonset.yaml".into(), problem: problem.into() };
    let daemonset = objects.iter_mut().find(|o| o.id.kind == "DaemonSet").ok_or_else(|| problem("no DaemonSet"))?;
    let command = daemonset
        .raw
        .pointer_mut("/spec/template/spec/containers/0/command")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| problem("no command on the first container"))?;
    command.retain(|a| !a.as_str().is_some_and(|a| a.starts_with("--config.") && a.contains("-monitor=")));
    let at = command.len().min(2);
    for (i, (flag, mut files)) in flags.into_iter().enumerate() {
        files.sort();
        command.insert(at + i, Value::String(format!("{flag}={}", files.join(","))));
    }
    Ok(())
}

/// Merges the monitors ConfigMap's `data` as the cluster has it (`theirs`)
/// into ke's (`ours`): a file only the cluster has is kept as it is; in a file
/// both have, the rules and conditions only the cluster's has are kept after
/// ke's; a file of ke's that the cluster holds as something other than JSON is
/// left as it is. Returns the merged data and a line per file kept or merged.
pub fn merge_config(ours: &Map<String, Value>, theirs: &Map<String, Value>) -> (Map<String, Value>, Vec<String>) {
    let mut merged = ours.clone();
    let mut notes = Vec::new();
    for (key, their) in theirs {
        let Some(our) = ours.get(key) else {
            merged.insert(key.clone(), their.clone());
            notes.push(format!("kept {key}, which you added"));
            continue;
        };
        if our == their {
            continue;
        }
        let parse = |v: &Value| v.as_str().and_then(|t| serde_json::from_str::<Value>(t).ok()).filter(Value::is_object);
        let (Some(mut ours_json), Some(theirs_json)) = (parse(our), parse(their)) else {
            merged.insert(key.clone(), their.clone());
            notes.push(format!("kept {key} as you left it (not JSON ke can merge); ke's version was not applied"));
            continue;
        };
        let mut added = 0;
        for list in ["rules", "conditions"] {
            let Some(their_items) = theirs_json.get(list).and_then(Value::as_array) else { continue };
            let Some(our_items) = ours_json.get_mut(list).and_then(Value::as_array_mut) else { continue };
            for item in their_items {
                if !our_items.contains(item) {
                    our_items.push(item.clone());
                    added += 1;
                }
            }
        }
        if added > 0 {
            notes.push(format!("kept {added} rule(s) or condition(s) you added to {key}"));
        }
        let text = serde_json::to_string_pretty(&ours_json).unwrap_or_default();
        merged.insert(key.clone(), Value::String(format!("{text}\n")));
    }
    (merged, notes)
}

/// The objects of the compiled-in manifests, in apply order, as written.
fn manifest_objects() -> Result<Vec<Object>, InstallError> {
    let mut objects = Vec::new();
    for (file, text) in NPD_MANIFESTS {
        for (i, doc) in text.split("\n---").enumerate() {
            let value: Value = serde_norway::from_str(doc).map_err(|source| InstallError::Yaml {
                file: (*file).to_string(),
                document: i + 1,
                source,
            })?;
            if value.is_null() {
                continue;
            }
            let object = Object::from_value(value).ok_or_else(|| InstallError::Manifest {
                file: (*file).to_string(),
                problem: format!("document {} has no kind or metadata.name", i + 1),
            })?;
            objects.push(object);
        }
    }
    Ok(objects)
}

/// The REST path of an object (kinds the manifests use).
pub fn object_path(object: &Object) -> Result<String, String> {
    let id = &object.id;
    let (group_version, plural, namespaced) = match id.kind.as_str() {
        "Namespace" => ("v1", "namespaces", false),
        "ServiceAccount" => ("v1", "serviceaccounts", true),
        "ConfigMap" => ("v1", "configmaps", true),
        "ClusterRole" => ("rbac.authorization.k8s.io/v1", "clusterroles", false),
        "ClusterRoleBinding" => ("rbac.authorization.k8s.io/v1", "clusterrolebindings", false),
        "Role" => ("rbac.authorization.k8s.io/v1", "roles", true),
        "RoleBinding" => ("rbac.authorization.k8s.io/v1", "rolebindings", true),
        "DaemonSet" => ("apps/v1", "daemonsets", true),
        "NetworkPolicy" => ("networking.k8s.io/v1", "networkpolicies", true),
        other => return Err(format!("ke does not apply objects of kind {other}")),
    };
    let base = if group_version == "v1" { "/api/v1".to_string() } else { format!("/apis/{group_version}") };
    match (&id.namespace, namespaced) {
        (Some(ns), true) => {
            Ok(format!("{base}/namespaces/{}/{plural}/{}", encode_segment(ns), encode_segment(&id.name)))
        }
        (None, true) => Err(format!("{} {} needs metadata.namespace", id.kind, id.name)),
        (_, false) => Ok(format!("{base}/{plural}/{}", encode_segment(&id.name))),
    }
}

fn label(object: &Object) -> String {
    format!("{} {}", object.id.kind, object.id.display_name())
}

/// Applies node-problem-detector with server-side apply; returns one line per
/// object and per decision. The health checker is set up as `choice` and the
/// cluster say (see [`health_checker::plan`]); the monitors ConfigMap is
/// merged with the one in the cluster (see [`merge_config`]), and the
/// DaemonSet loads every monitor of the result.
pub async fn apply(api: &Api, choice: &Choice) -> Result<Vec<String>, InstallError> {
    let base = manifest_objects()?;
    let configmap = base
        .iter()
        .find(|o| o.id.kind == "ConfigMap" && o.id.name == NPD_CONFIGMAP)
        .ok_or_else(|| InstallError::Manifest { file: "deploy/npd".into(), problem: "no monitors ConfigMap".into() })?;
    let path =
        object_path(configmap).map_err(|problem| InstallError::Manifest { file: "deploy/npd".into(), problem })?;
    let configmap_label = label(configmap);
    let theirs = read_data(api, &path, &configmap_label).await?;
    let planned = health_checker::plan(choice, &theirs);
    let theirs = &planned.theirs;
    let mut objects = npd_objects(planned.settings.as_ref())?;
    let mut done: Vec<String> =
        planned.note.iter().map(|n| format!("DaemonSet kube-system/node-problem-detector: {n}")).collect();
    if let Some(index) = objects.iter().position(|o| o.id.kind == "ConfigMap" && o.id.name == NPD_CONFIGMAP) {
        let ours = objects[index].raw.get("data").and_then(Value::as_object).cloned().unwrap_or_default();
        let (merged, notes) = merge_config(&ours, theirs);
        done.extend(notes.into_iter().map(|n| format!("{configmap_label}: {n}")));
        load_monitors(&mut objects, &merged)?;
        objects[index].raw["data"] = Value::Object(merged);
    }
    for object in &objects {
        let path =
            object_path(object).map_err(|problem| InstallError::Manifest { file: "deploy/npd".into(), problem })?;
        let url = format!("{path}?fieldManager={}&force=true", encode(FIELD_MANAGER));
        let body =
            serde_json::to_vec(&object.raw).map_err(|source| InstallError::Json { object: label(object), source })?;
        let request_error = |source| InstallError::Request { action: "apply", object: label(object), source };
        let answer = api
            .send(http::Method::PATCH, &url, Some("application/apply-patch+yaml"), body)
            .await
            .map_err(request_error)?;
        if answer.status >= 400 {
            return Err(request_error(status_error(&answer)));
        }
        let verb = if answer.status == 201 { "created" } else { "configured" };
        done.push(format!("{} {verb}", label(object)));
    }
    if !planned.remove.is_empty() {
        remove_keys(api, &path, &configmap_label, &planned.remove).await?;
        done.push(format!("{configmap_label}: deleted {}", planned.remove.join(", ")));
    }
    Ok(done)
}

/// Deletes `keys` from the `data` of the ConfigMap at `path` (a JSON merge
/// patch: whichever field manager owns them).
async fn remove_keys(api: &Api, path: &str, label: &str, keys: &[&str]) -> Result<(), InstallError> {
    let data: Map<String, Value> = keys.iter().map(|k| ((*k).to_string(), Value::Null)).collect();
    let body = serde_json::to_vec(&serde_json::json!({ "data": data }))
        .map_err(|source| InstallError::Json { object: label.to_string(), source })?;
    let url = format!("{path}?fieldManager={}", encode(FIELD_MANAGER));
    let request_error = |source| InstallError::Request { action: "patch", object: label.to_string(), source };
    let answer =
        api.send(http::Method::PATCH, &url, Some("application/merge-patch+json"), body).await.map_err(request_error)?;
    if answer.status >= 400 {
        return Err(request_error(status_error(&answer)));
    }
    Ok(())
}

/// The `data` of the ConfigMap at `path` as the cluster has it (empty when there is none).
async fn read_data(api: &Api, path: &str, label: &str) -> Result<Map<String, Value>, InstallError> {
    let answer = api.send(http::Method::GET, path, None, Vec::new()).await.map_err(|source| InstallError::Request {
        action: "read",
        object: label.to_string(),
        source,
    })?;
    Ok(match answer.status {
        404 => Map::new(),
        s if s >= 400 => {
            return Err(InstallError::Request {
                action: "read",
                object: label.to_string(),
                source: status_error(&answer),
            });
        }
        _ => serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("data").and_then(Value::as_object).cloned())
            .unwrap_or_default(),
    })
}

/// Deletes the objects in reverse order; ones already gone are reported, not errors.
pub async fn delete(api: &Api, objects: &[Object]) -> Result<Vec<String>, InstallError> {
    let mut done = Vec::new();
    for object in objects.iter().rev() {
        let path =
            object_path(object).map_err(|problem| InstallError::Manifest { file: "deploy/npd".into(), problem })?;
        let request_error = |source| InstallError::Request { action: "delete", object: label(object), source };
        let answer = api.send(http::Method::DELETE, &path, None, Vec::new()).await.map_err(request_error)?;
        match answer.status {
            404 => done.push(format!("{} not found (already removed)", label(object))),
            s if s >= 400 => return Err(request_error(status_error(&answer))),
            _ => done.push(format!("{} deleted", label(object))),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs.iter().map(|(k, v)| ((*k).to_string(), Value::String((*v).to_string()))).collect()
    }

    #[test]
    fn a_users_files_and_rules_are_merged_not_overwritten() {
        let ours =
            data(&[("kernel-monitor.json", r#"{"plugin": "kmsg", "rules": [{"reason": "A"}], "conditions": []}"#)]);
        let theirs = data(&[
            (
                "kernel-monitor.json",
                r#"{"plugin": "kmsg", "rules": [{"reason": "A"}, {"reason": "Mine"}], "conditions": []}"#,
            ),
            ("my-monitor.json", r#"{"plugin": "journald", "rules": []}"#),
        ]);
        let (merged, notes) = merge_config(&ours, &theirs);
        let kernel: Value = serde_json::from_str(merged["kernel-monitor.json"].as_str().unwrap()).unwrap();
        assert_eq!(kernel["rules"], serde_json::json!([{"reason": "A"}, {"reason": "Mine"}]));
        assert_eq!(merged["my-monitor.json"], theirs["my-monitor.json"]);
        assert_eq!(notes.len(), 2, "{notes:?}");
        let broken = data(&[("kernel-monitor.json", "{ not json")]);
        let (merged, _) = merge_config(&ours, &broken);
        assert_eq!(merged["kernel-monitor.json"], "{ not json", "never clobbered");
        assert_eq!(monitor_flag(r#"{"plugin": "custom"}"#), Some("--config.custom-plugin-monitor"));
        assert_eq!(monitor_flag(r#"{"disk": {}}"#), Some("--config.system-stats-monitor"));
        assert_eq!(monitor_flag("README"), None);
    }

    #[test]
    fn the_daemonset_as_written_loads_every_monitor_of_the_configmap() {
        let command = |objects: &[Object]| {
            objects.iter().find(|o| o.id.kind == "DaemonSet").unwrap().raw["spec"]["template"]["spec"]["containers"][0]
                ["command"]
                .clone()
        };
        // deploy/npd/ is also applied with `kubectl apply -k`: its flags must already name every file.
        assert_eq!(command(&manifest_objects().unwrap()), command(&npd_objects(None).unwrap()));
        // Without the health checker, the objects are the manifests exactly as written.
        let raw = |objects: Vec<Object>| objects.into_iter().map(|o| o.raw).collect::<Vec<_>>();
        assert_eq!(raw(manifest_objects().unwrap()), raw(npd_objects(None).unwrap()));
        let data = config_data(&manifest_objects().unwrap()).cloned().unwrap();
        for key in
            ["kernel-monitor.json", "docker-monitor.json", "systemd-monitor.json", "systemd-monitor-counter.json"]
        {
            assert!(data.get(key).and_then(Value::as_str).and_then(monitor_flag).is_some(), "{key}");
        }
    }

    #[test]
    fn manifests_parse_and_have_paths() {
        let objects = npd_objects(Some(&HealthChecker::default())).unwrap();
        assert!(objects.iter().any(|o| o.id.kind == "DaemonSet" && o.id.namespace.as_deref() == Some("kube-system")));
        assert!(objects.iter().any(|o| o.id.kind == "ConfigMap"));
        for o in &objects {
            object_path(o).unwrap();
        }
    }
}

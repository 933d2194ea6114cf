//! `ke install npd` / `ke uninstall npd`: node-problem-detector, applied with
//! server-side apply from the manifests in `deploy/npd/` (compiled in), so
//! running it twice changes nothing and `kubectl apply` users see one owner.
//!
//! This is the only part of ke that writes to a cluster, and only when asked.

use serde_json::Value;

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
        /// `apply` or `delete`.
        action: &'static str,
        /// `Kind namespace/name`.
        object: String,
        /// Why.
        #[source]
        source: RequestError,
    },
}

/// The objects of the compiled-in manifests, in apply order.
pub fn npd_objects() -> Result<Vec<Object>, InstallError> {
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

/// Applies every object with server-side apply; returns one line per object.
pub async fn apply(api: &Api, objects: &[Object]) -> Result<Vec<String>, InstallError> {
    let mut done = Vec::new();
    for object in objects {
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
    Ok(done)
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

    #[test]
    fn manifests_parse_and_have_paths() {
        let objects = npd_objects().unwrap();
        assert!(objects.iter().any(|o| o.id.kind == "DaemonSet" && o.id.namespace.as_deref() == Some("kube-system")));
        assert!(objects.iter().any(|o| o.id.kind == "ConfigMap"));
        for o in &objects {
            object_path(o).unwrap();
        }
    }
}

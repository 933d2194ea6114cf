//! What the RBAC checks share: recognising Kubernetes' own roles and
//! bindings, and what a role grants.

use serde_json::Value;

use crate::checks::Outcome;
use crate::inventory::Object;

/// RBAC objects Kubernetes and common installers create themselves, by name
/// (for manifests that lack the bootstrapping label). `admin`, `edit` and
/// `cluster-admin` are the default user-facing ClusterRoles.
pub(super) fn is_default_rbac_name(name: &str, cluster_scoped: bool) -> bool {
    name.starts_with("system:")
        || name == "gce:podsecuritypolicy:calico-sa"
        || (cluster_scoped && matches!(name, "admin" | "edit" | "cluster-admin"))
}

/// The exec/attach judgement of a Role (`cluster_scoped` false) or a
/// ClusterRole: Kubernetes' own roles are skipped, the others fail when
/// they allow pods/exec or pods/attach.
pub(super) fn judge_role_exec(role: &Object, cluster_scoped: bool) -> Outcome {
    if is_bootstrap(&role.raw) || is_default_rbac_name(&role.id.name, cluster_scoped) {
        Outcome::Skip
    } else if role_allows_exec(&role.raw) {
        Outcome::Fail(None)
    } else {
        Outcome::Pass
    }
}

/// A binding fails when it grants the `cluster-admin` ClusterRole or a role
/// of kind `want` with a wildcard rule. Bindings to the other kind pass (the
/// sibling rule judges them); default bindings are skipped, as are roles
/// missing from the inventory (they cannot be judged).
pub(super) fn binding_grants_wildcard<'a>(
    binding: &Object,
    want: &str,
    lookup: impl Fn(&str) -> Option<&'a Object>,
) -> Outcome {
    let raw = &binding.raw;
    let Some(role_ref) = raw.get("roleRef") else { return Outcome::Skip };
    let kind = role_ref.get("kind").and_then(Value::as_str).unwrap_or_default();
    let name = role_ref.get("name").and_then(Value::as_str).unwrap_or_default();
    if is_default_binding(raw) {
        return Outcome::Skip;
    }
    if kind != want {
        return Outcome::Pass;
    }
    if kind == "ClusterRole" && name == "cluster-admin" {
        return Outcome::Fail(Some("Binds the cluster-admin ClusterRole".into()));
    }
    match lookup(name) {
        None => Outcome::Skip,
        Some(role) if role_is_wildcard(&role.raw) => {
            Outcome::Fail(Some(format!("Binds {kind} {name}, which allows every verb on every resource")))
        }
        Some(_) => Outcome::Pass,
    }
}

/// Whether a Role/ClusterRole has a rule granting every verb (`*`, or all seven
/// standard verbs) on every resource (`*`) of every API group (`*`).
fn role_is_wildcard(role: &Value) -> bool {
    const VERBS: [&str; 7] = ["get", "list", "watch", "create", "update", "patch", "delete"];
    let Some(rules) = role.get("rules").and_then(Value::as_array) else { return false };
    rules.iter().any(|rule| {
        let list = |key: &str| -> Vec<&str> {
            rule.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
        };
        let verbs = list("verbs");
        list("apiGroups").contains(&"*")
            && list("resources").contains(&"*")
            && (verbs.contains(&"*") || VERBS.iter().all(|v| verbs.contains(v)))
    })
}

/// Roles Kubernetes itself creates (`kubernetes.io/bootstrapping: rbac-defaults`).
pub(super) fn is_bootstrap(object: &Value) -> bool {
    object
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(|l| l.get("kubernetes.io/bootstrapping"))
        .and_then(Value::as_str)
        == Some("rbac-defaults")
}

/// A binding of a `want` role (`Role` or `ClusterRole`) fails when the role
/// allows `pods/exec` or `pods/attach`, or does not exist: whoever creates a
/// role of that name later decides what the subjects may do (Polaris fails
/// it too). Kubernetes' default ClusterRoles are judged by what they grant
/// even when the inventory (a set of manifests) lacks them. A role that could
/// not be read (listing forbidden, deadline) cannot be judged: skipped.
/// Bindings of the other kind are the sibling rule's.
pub(super) fn binding_grants_exec<'a>(
    binding: &Value,
    want: &str,
    lookup: impl Fn(&str) -> Option<&'a Object>,
    complete: bool,
) -> Outcome {
    let Some(role_ref) = binding.get("roleRef") else { return Outcome::Skip };
    let kind = role_ref.get("kind").and_then(Value::as_str).unwrap_or_default();
    let name = role_ref.get("name").and_then(Value::as_str).unwrap_or_default();
    if is_default_binding(binding) || kind != want {
        return Outcome::Skip;
    }
    let grants = |allows: bool| {
        if allows {
            Outcome::Fail(Some(format!("Binds {kind} {name}, which allows pods/exec or pods/attach")))
        } else {
            Outcome::Pass
        }
    };
    match lookup(name) {
        Some(role) => grants(role_allows_exec(&role.raw)),
        None => match (kind, name) {
            ("ClusterRole", "admin" | "edit" | "cluster-admin") => grants(true),
            ("ClusterRole", "view") => grants(false),
            _ if !complete || name.starts_with("system:") => Outcome::Skip,
            _ => Outcome::Fail(Some(format!(
                "Binds {kind} {name}, which is missing: it does not exist, so whoever creates a {kind} named {name} decides what the subjects may do"
            ))),
        },
    }
}

/// Bindings Kubernetes or its installers create: the bootstrapping label, a
/// default name (`system:…`, the `cluster-admin` ClusterRoleBinding), or
/// subjects that are all built-in `system:` identities.
fn is_default_binding(binding: &Value) -> bool {
    let name = binding.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or_default();
    let cluster_scoped = binding.get("kind").and_then(Value::as_str) == Some("ClusterRoleBinding");
    is_bootstrap(binding)
        || binding_subjects_are_system(binding)
        || name.starts_with("system:")
        || name == "gce:podsecuritypolicy:calico-sa"
        || (cluster_scoped && name == "cluster-admin")
}

/// Bindings whose subjects are all built-in `system:` identities are Kubernetes' own.
fn binding_subjects_are_system(binding: &Value) -> bool {
    binding.get("subjects").and_then(Value::as_array).is_some_and(|subjects| {
        !subjects.is_empty()
            && subjects.iter().all(|s| s.get("name").and_then(Value::as_str).is_some_and(|n| n.starts_with("system:")))
    })
}

/// Whether a Role/ClusterRole grants create/get on pods/exec or pods/attach (wildcards included).
pub(super) fn role_allows_exec(role: &Value) -> bool {
    let Some(rules) = role.get("rules").and_then(Value::as_array) else { return false };
    rules.iter().any(|rule| {
        let list = |key: &str| -> Vec<&str> {
            rule.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
        };
        let groups = list("apiGroups");
        let resources = list("resources");
        let verbs = list("verbs");
        let core = groups.iter().any(|g| g.is_empty() || *g == "*");
        let sub = resources
            .iter()
            .any(|r| matches!(*r, "*" | "pods/*" | "pods/exec" | "pods/attach" | "*/exec" | "*/attach"));
        let verb = verbs.iter().any(|v| matches!(*v, "*" | "create" | "get"));
        core && sub && verb
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exec_grants() {
        let role = |resources: Value, verbs: Value| json!({"rules": [{"apiGroups": [""], "resources": resources, "verbs": verbs}]});
        assert!(role_allows_exec(&role(json!(["pods/exec"]), json!(["create"]))));
        assert!(role_allows_exec(&role(json!(["*"]), json!(["*"]))));
        assert!(!role_allows_exec(&role(json!(["pods", "pods/log"]), json!(["get", "list"]))));
        assert!(!role_allows_exec(&role(json!(["pods/exec"]), json!(["list"]))));
    }

    #[test]
    fn wildcard_roles() {
        let role = |groups: Value, resources: Value, verbs: Value| json!({"rules": [{"apiGroups": groups, "resources": resources, "verbs": verbs}]});
        assert!(role_is_wildcard(&role(json!(["*"]), json!(["*"]), json!(["*"]))));
        let seven = json!(["get", "list", "watch", "create", "update", "patch", "delete"]);
        assert!(role_is_wildcard(&role(json!(["*"]), json!(["*"]), seven)));
        assert!(!role_is_wildcard(&role(json!(["*"]), json!(["*"]), json!(["get", "list", "watch"]))));
        assert!(!role_is_wildcard(&role(json!([""]), json!(["*"]), json!(["*"]))), "core group only");
        assert!(!role_is_wildcard(&json!({"rules": [{"nonResourceURLs": ["*"], "verbs": ["*"]}]})));
    }

    #[test]
    fn default_bindings() {
        let binding = |kind: &str, name: &str, subject: &str| json!({"kind": kind, "metadata": {"name": name}, "subjects": [{"kind": "Group", "name": subject}]});
        assert!(is_default_binding(&binding("ClusterRoleBinding", "cluster-admin", "ops")));
        assert!(is_default_binding(&binding("ClusterRoleBinding", "system:node-proxier", "ops")));
        assert!(is_default_binding(&binding("RoleBinding", "custom", "system:masters")));
        assert!(!is_default_binding(&binding("RoleBinding", "cluster-admin", "ops")), "only the ClusterRoleBinding");
        assert!(!is_default_binding(&binding("ClusterRoleBinding", "ops-admin", "ops")));
    }
}

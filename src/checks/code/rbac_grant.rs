//! What the Role/ClusterRole permission checks share: which of a set of
//! (API group, resource) pairs a role's rules allow given verbs on,
//! wildcards included, and Kubernetes' own roles, which are not judged.

use serde_json::Value;

use super::rbac::{is_bootstrap, is_default_rbac_name};
use crate::checks::Outcome;
use crate::inventory::Object;

/// Workload resources by API group (`extensions` for clusters still serving it).
pub(super) const WORKLOADS: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("extensions", "deployments"),
    ("extensions", "daemonsets"),
    ("extensions", "replicasets"),
];

/// Judges a Role or ClusterRole: skipped when Kubernetes made it, failing
/// with a message naming the verbs and resources when one of its rules allows
/// a verb of `verbs` on a resource of `wanted`.
pub(super) fn judge(role: &Object, verbs: &[&str], wanted: &[(&str, &str)]) -> Outcome {
    let cluster_scoped = role.id.kind == "ClusterRole";
    if is_bootstrap(&role.raw) || is_default_rbac_name(&role.id.name, cluster_scoped) {
        return Outcome::Skip;
    }
    let (verbs, resources) = granted(&role.raw, verbs, wanted);
    if resources.is_empty() {
        Outcome::Pass
    } else {
        let words = |items: Vec<String>, all: &str| {
            items.into_iter().map(|i| if i == "*" { format!("* ({all})") } else { i }).collect::<Vec<_>>().join(", ")
        };
        Outcome::Fail(Some(format!(
            "The {} allows {} on {}",
            role.id.kind,
            words(verbs, "every verb"),
            words(resources, "every resource")
        )))
    }
}

/// The verbs and resources, as the role's rules spell them (`*` included),
/// through which it allows one of `verbs` on one of `wanted`; both empty when
/// it allows none. A rule's `resourceNames` narrows it to some objects but
/// still grants the verb, so it counts.
pub(super) fn granted(role: &Value, verbs: &[&str], wanted: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
    let (mut found_verbs, mut found_resources) = (Vec::new(), Vec::new());
    let Some(rules) = role.get("rules").and_then(Value::as_array) else { return (found_verbs, found_resources) };
    for rule in rules {
        let list = |key: &str| -> Vec<&str> {
            rule.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
        };
        let (groups, resources) = (list("apiGroups"), list("resources"));
        let rule_verbs: Vec<&str> = list("verbs").into_iter().filter(|v| *v == "*" || verbs.contains(v)).collect();
        if rule_verbs.is_empty() {
            continue;
        }
        let rule_resources: Vec<&str> = resources
            .iter()
            .copied()
            .filter(|r| {
                wanted.iter().any(|(group, resource)| {
                    (*r == "*" || r == resource) && groups.iter().any(|g| *g == "*" || g == group)
                })
            })
            .collect();
        if rule_resources.is_empty() {
            continue;
        }
        for (found, new) in [(&mut found_verbs, rule_verbs), (&mut found_resources, rule_resources)] {
            for item in new {
                if !found.iter().any(|f| f == item) {
                    found.push(item.to_string());
                }
            }
        }
    }
    (found_verbs, found_resources)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn grants_follow_groups_resources_verbs_and_wildcards() {
        let role = |groups: Value, resources: Value, verbs: Value| json!({"rules": [{"apiGroups": groups, "resources": resources, "verbs": verbs}]});
        let delete = ["delete", "deletecollection"];
        let hit = |r: &Value| !granted(r, &delete, WORKLOADS).1.is_empty();
        assert!(hit(&role(json!(["apps"]), json!(["deployments"]), json!(["delete"]))));
        assert!(hit(&role(json!(["*"]), json!(["*"]), json!(["*"]))));
        assert!(hit(&role(json!([""]), json!(["*"]), json!(["deletecollection"]))), "every core resource");
        assert!(!hit(&role(json!(["apps"]), json!(["pods"]), json!(["delete"]))), "pods are not in apps");
        assert!(!hit(&role(json!(["metrics.k8s.io"]), json!(["*"]), json!(["*"]))), "no workloads in that group");
        assert!(!hit(&role(json!(["apps"]), json!(["deployments"]), json!(["get", "list"]))));
        assert!(!hit(&role(json!([""]), json!(["pods/log"]), json!(["*"]))), "a subresource is not the resource");
        let (verbs, resources) = granted(
            &role(json!(["", "apps"]), json!(["pods", "configmaps", "deployments"]), json!(["get", "delete"])),
            &delete,
            WORKLOADS,
        );
        assert_eq!(
            (verbs, resources),
            (vec!["delete".to_string()], vec!["pods".to_string(), "deployments".to_string()])
        );
        assert_eq!(
            granted(&json!({"rules": [{"nonResourceURLs": ["*"], "verbs": ["*"]}]}), &delete, WORKLOADS).1.len(),
            0
        );
    }
}

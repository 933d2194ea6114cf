//! Checks written in Rust: what a schema on one object cannot express
//! (relations between objects, configured lists). Each is one small function;
//! its id, severity, messages and documentation stay data in `rules/`.

use serde_json::Value;

use super::index::Index;
use super::selector;
use super::{Outcome, Subject};

/// The code checks a built-in rule can name with `code:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// A multi-replica workload without a PodDisruptionBudget selecting its pods.
    MissingPodDisruptionBudget,
    /// A PDB's minAvailable is higher than the HPA's minReplicas for the same workload.
    PdbMinAvailableGreaterThanHpaMinReplicas,
    /// No NetworkPolicy selects the workload's pods.
    MissingNetworkPolicy,
    /// A ClusterRoleBinding grants a ClusterRole that allows pods/exec or pods/attach.
    ClusterRoleBindingPodExecAttach,
    /// A RoleBinding grants a ClusterRole that allows pods/exec or pods/attach.
    RoleBindingClusterRolePodExecAttach,
    /// A RoleBinding grants a Role that allows pods/exec or pods/attach.
    RoleBindingRolePodExecAttach,
}

impl CodeCheck {
    /// Parses the `code:` name of a rule.
    pub fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "missingPodDisruptionBudget" => Self::MissingPodDisruptionBudget,
            "pdbMinAvailableGreaterThanHPAMinReplicas" => Self::PdbMinAvailableGreaterThanHpaMinReplicas,
            "missingNetworkPolicy" => Self::MissingNetworkPolicy,
            "clusterrolebindingPodExecAttach" => Self::ClusterRoleBindingPodExecAttach,
            "rolebindingClusterRolePodExecAttach" => Self::RoleBindingClusterRolePodExecAttach,
            "rolebindingRolePodExecAttach" => Self::RoleBindingRolePodExecAttach,
            other => return Err(format!("unknown code check `{other}`")),
        })
    }

    /// Runs the check on a subject.
    pub fn run(self, subject: Subject<'_>, index: &Index<'_>) -> Outcome {
        match (self, subject) {
            (Self::MissingPodDisruptionBudget, Subject::Workload(w)) => {
                let pdbs = index.in_namespace("PodDisruptionBudget", w.id.namespace.as_deref());
                let labels = w.pod_labels();
                let covered = pdbs.iter().any(|p| selector::matches(p.raw.get("spec").and_then(|s| s.get("selector")), labels));
                pass_if(covered)
            }
            (Self::PdbMinAvailableGreaterThanHpaMinReplicas, Subject::Workload(w)) => {
                let Some(hpa_min) = index
                    .in_namespace("HorizontalPodAutoscaler", w.id.namespace.as_deref())
                    .iter()
                    .filter(|h| scales(h.raw.get("spec").and_then(|s| s.get("scaleTargetRef")), w.kind(), &w.id.name))
                    .find_map(|h| Some(h.raw.get("spec")?.get("minReplicas").and_then(Value::as_i64).unwrap_or(1)))
                else {
                    return Outcome::Skip;
                };
                let labels = w.pod_labels();
                let too_high = index.in_namespace("PodDisruptionBudget", w.id.namespace.as_deref()).iter().find_map(|p| {
                    let spec = p.raw.get("spec")?;
                    let min = spec.get("minAvailable")?.as_i64()?;
                    (selector::matches(spec.get("selector"), labels) && min > hpa_min).then(|| (p.id.name.clone(), min))
                });
                match too_high {
                    Some((pdb, min)) => Outcome::Fail(Some(format!(
                        "PodDisruptionBudget {pdb} requires minAvailable {min}, more than the HPA's minReplicas {hpa_min}: at minimum scale no pod can ever be evicted"
                    ))),
                    None => Outcome::Pass,
                }
            }
            (Self::MissingNetworkPolicy, Subject::Workload(w)) => {
                let labels = w.pod_labels();
                let policies = index.in_namespace("NetworkPolicy", w.id.namespace.as_deref());
                let (mut ingress, mut egress) = (false, false);
                for p in policies {
                    let Some(spec) = p.raw.get("spec") else { continue };
                    if !selector::matches(spec.get("podSelector"), labels) {
                        continue;
                    }
                    let (i, e) = policy_types(spec);
                    ingress |= i;
                    egress |= e;
                }
                match (ingress, egress) {
                    (true, true) => Outcome::Pass,
                    (false, false) => Outcome::Fail(None),
                    (true, false) => Outcome::Fail(Some("NetworkPolicies select these pods for ingress but not egress".into())),
                    (false, true) => Outcome::Fail(Some("NetworkPolicies select these pods for egress but not ingress".into())),
                }
            }
            (Self::ClusterRoleBindingPodExecAttach, Subject::Object(binding)) => {
                binding_grants_exec(&binding.raw, |kind, name| match kind {
                    "ClusterRole" => index.cluster_role(name),
                    _ => None,
                })
            }
            (Self::RoleBindingClusterRolePodExecAttach, Subject::Object(binding)) => {
                binding_grants_exec(&binding.raw, |kind, name| match kind {
                    "ClusterRole" => index.cluster_role(name),
                    _ => None,
                })
            }
            (Self::RoleBindingRolePodExecAttach, Subject::Object(binding)) => {
                binding_grants_exec(&binding.raw, |kind, name| match kind {
                    "Role" => index.role(binding.id.namespace.as_deref(), name),
                    _ => None,
                })
            }
            _ => Outcome::Skip,
        }
    }
}

fn pass_if(ok: bool) -> Outcome {
    if ok { Outcome::Pass } else { Outcome::Fail(None) }
}

fn scales(target: Option<&Value>, kind: &str, name: &str) -> bool {
    target.is_some_and(|t| {
        t.get("kind").and_then(Value::as_str) == Some(kind) && t.get("name").and_then(Value::as_str) == Some(name)
    })
}

/// Which directions a NetworkPolicy covers. Without `policyTypes`, Ingress is
/// implied and Egress only when the policy has egress rules.
fn policy_types(spec: &Value) -> (bool, bool) {
    match spec.get("policyTypes").and_then(Value::as_array) {
        Some(types) => {
            let has = |t: &str| types.iter().any(|v| v.as_str() == Some(t));
            (has("Ingress"), has("Egress"))
        }
        None => (true, spec.get("egress").is_some()),
    }
}

/// A binding fails when the role it references allows `pods/exec` or `pods/attach`.
/// A role not in the inventory cannot be judged: the rule is skipped, not passed.
fn binding_grants_exec<'a>(binding: &Value, lookup: impl Fn(&str, &str) -> Option<&'a crate::inventory::Object>) -> Outcome {
    let Some(role_ref) = binding.get("roleRef") else { return Outcome::Skip };
    let kind = role_ref.get("kind").and_then(Value::as_str).unwrap_or_default();
    let name = role_ref.get("name").and_then(Value::as_str).unwrap_or_default();
    if binding_subjects_are_system(binding) {
        return Outcome::Skip;
    }
    match lookup(kind, name) {
        None => Outcome::Skip,
        Some(role) if role_allows_exec(&role.raw) => {
            Outcome::Fail(Some(format!("Binds {kind} {name}, which allows pods/exec or pods/attach")))
        }
        Some(_) => Outcome::Pass,
    }
}

/// Bindings whose subjects are all built-in `system:` identities are Kubernetes' own.
fn binding_subjects_are_system(binding: &Value) -> bool {
    binding.get("subjects").and_then(Value::as_array).is_some_and(|subjects| {
        !subjects.is_empty()
            && subjects
                .iter()
                .all(|s| s.get("name").and_then(Value::as_str).is_some_and(|n| n.starts_with("system:")))
    })
}

/// Whether a Role/ClusterRole grants create/get on pods/exec or pods/attach (wildcards included).
pub fn role_allows_exec(role: &Value) -> bool {
    let Some(rules) = role.get("rules").and_then(Value::as_array) else { return false };
    rules.iter().any(|rule| {
        let list = |key: &str| -> Vec<&str> {
            rule.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
        };
        let groups = list("apiGroups");
        let resources = list("resources");
        let verbs = list("verbs");
        let core = groups.iter().any(|g| g.is_empty() || *g == "*");
        let sub = resources.iter().any(|r| matches!(*r, "*" | "pods/*" | "pods/exec" | "pods/attach" | "*/exec" | "*/attach"));
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
    fn network_policy_types() {
        assert_eq!(policy_types(&json!({})), (true, false));
        assert_eq!(policy_types(&json!({"egress": []})), (true, true));
        assert_eq!(policy_types(&json!({"policyTypes": ["Egress"]})), (false, true));
    }
}

//! Checks written in Rust: what a schema on one object cannot express
//! (relations between objects, configured lists). Each is one small function;
//! its id, severity, messages and documentation stay data in `rules/`.

use serde_json::Value;

use super::index::Index;
use super::selector;
use super::sensitive;
use super::workload::Workload;
use super::{Outcome, Subject};
use crate::inventory::Object;

/// The code checks a built-in rule can name with `code:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// A Deployment with fewer than two replicas and no HPA keeping two.
    DeploymentMissingReplicas,
    /// An HPA whose maxReplicas is not above its minReplicas.
    HpaMaxAvailability,
    /// A container keeps capabilities of the runtime's default set.
    InsecureCapabilities,
    /// The pod mounts a ServiceAccount token it was not told to skip.
    AutomountServiceAccountToken,
    /// A secret-looking env var has a literal value.
    SensitiveContainerEnvVar,
    /// A ConfigMap holds secret-looking content.
    SensitiveConfigmapContent,
    /// An image is not from an allowed registry.
    ImageRegistry,
    /// A ClusterRole allows pods/exec or pods/attach.
    ClusterRolePodExecAttach,
    /// A Role allows pods/exec or pods/attach.
    RolePodExecAttach,
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
            "deploymentMissingReplicas" => Self::DeploymentMissingReplicas,
            "hpaMaxAvailability" => Self::HpaMaxAvailability,
            "insecureCapabilities" => Self::InsecureCapabilities,
            "automountServiceAccountToken" => Self::AutomountServiceAccountToken,
            "sensitiveContainerEnvVar" => Self::SensitiveContainerEnvVar,
            "sensitiveConfigmapContent" => Self::SensitiveConfigmapContent,
            "imageRegistry" => Self::ImageRegistry,
            "clusterrolePodExecAttach" => Self::ClusterRolePodExecAttach,
            "rolePodExecAttach" => Self::RolePodExecAttach,
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
            (Self::DeploymentMissingReplicas, Subject::Workload(w)) => {
                let replicas =
                    w.object.raw.get("spec").and_then(|s| s.get("replicas")).and_then(Value::as_i64).unwrap_or(1);
                if replicas >= 2 {
                    return Outcome::Pass;
                }
                let hpa_min = hpa_for(index, w).and_then(|h| h.raw.get("spec")?.get("minReplicas")?.as_i64());
                pass_if(hpa_min.is_some_and(|m| m >= 2))
            }
            (Self::HpaMaxAvailability, Subject::Object(hpa)) => {
                let Some(spec) = hpa.raw.get("spec") else { return Outcome::Skip };
                let min = spec.get("minReplicas").and_then(Value::as_i64).unwrap_or(1);
                match spec.get("maxReplicas").and_then(Value::as_i64) {
                    Some(max) if max > min => Outcome::Pass,
                    Some(max) => Outcome::Fail(Some(format!(
                        "HPA maxReplicas ({max}) should be greater than minReplicas ({min})"
                    ))),
                    None => Outcome::Skip,
                }
            }
            (Self::InsecureCapabilities, Subject::Container(_, c)) => {
                let c = c.raw;
                let caps = c.get("securityContext").and_then(|s| s.get("capabilities"));
                let list = |key: &str| -> Vec<String> {
                    caps.and_then(|c| c.get(key))
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(|s| s.trim_start_matches("CAP_").to_ascii_uppercase())
                        .collect()
                };
                let (drop, add) = (list("drop"), list("add"));
                let drops_all = drop.iter().any(|d| d == "ALL");
                let kept: Vec<&str> = INSECURE_CAPABILITIES
                    .iter()
                    .copied()
                    .filter(|cap| add.iter().any(|a| a == cap) || (!drops_all && !drop.iter().any(|d| d == cap)))
                    .collect();
                if kept.is_empty() {
                    Outcome::Pass
                } else if drops_all || !add.is_empty() && kept.iter().all(|k| add.iter().any(|a| a == k)) {
                    Outcome::Fail(Some(format!("Container adds insecure capabilities: {}", kept.join(", "))))
                } else {
                    Outcome::Fail(Some("Container should drop insecure capabilities (drop: [ALL])".into()))
                }
            }
            (Self::AutomountServiceAccountToken, Subject::Workload(w)) => {
                match w.pod_spec.get("automountServiceAccountToken").and_then(Value::as_bool) {
                    Some(false) => Outcome::Pass,
                    Some(true) => Outcome::Fail(None),
                    None => {
                        let sa = w.pod_spec.get("serviceAccountName").and_then(Value::as_str).unwrap_or("default");
                        let sa_off = index
                            .service_account(w.id.namespace.as_deref(), sa)
                            .and_then(|o| o.raw.get("automountServiceAccountToken"))
                            .and_then(Value::as_bool)
                            == Some(false);
                        pass_if(sa_off)
                    }
                }
            }
            (Self::SensitiveContainerEnvVar, Subject::Container(_, c)) => {
                let c = c.raw;
                let names: Vec<&str> = c
                    .get("env")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|e| e.get("value").and_then(Value::as_str).is_some_and(|v| !v.is_empty()))
                    .filter_map(|e| e.get("name").and_then(Value::as_str))
                    .filter(|n| sensitive::is_sensitive_name(n))
                    .collect();
                if names.is_empty() {
                    Outcome::Pass
                } else {
                    Outcome::Fail(Some(format!(
                        "Environment variable {} holds a literal value; sensitive data should come from a Secret",
                        names.join(", ")
                    )))
                }
            }
            (Self::SensitiveConfigmapContent, Subject::Object(cm)) => {
                let keys = sensitive::configmap_keys(&cm.raw);
                if keys.is_empty() {
                    Outcome::Pass
                } else {
                    Outcome::Fail(Some(format!(
                        "ConfigMap key {} looks like sensitive data; store it in a Secret",
                        keys.join(", ")
                    )))
                }
            }
            (Self::ImageRegistry, Subject::Container(_, c)) => {
                let c = c.raw;
                if index.allowed_registries.is_empty() {
                    return Outcome::Skip;
                }
                let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
                let name = normalized_image(image);
                let allowed = index.allowed_registries.iter().any(|r| {
                    let r = r.trim_end_matches('/');
                    name == r || name.starts_with(&format!("{r}/"))
                });
                if allowed {
                    Outcome::Pass
                } else {
                    Outcome::Fail(Some(format!(
                        "Image {image} is not from an allowed registry ({})",
                        index.allowed_registries.join(", ")
                    )))
                }
            }
            (Self::ClusterRolePodExecAttach | Self::RolePodExecAttach, Subject::Object(role)) => {
                if is_bootstrap(&role.raw) { Outcome::Skip } else { pass_if(!role_allows_exec(&role.raw)) }
            }
            (Self::MissingPodDisruptionBudget, Subject::Workload(w)) => {
                let pdbs = index.in_namespace("PodDisruptionBudget", w.id.namespace.as_deref());
                let labels = w.pod_labels();
                let covered =
                    pdbs.iter().any(|p| selector::matches(p.raw.get("spec").and_then(|s| s.get("selector")), labels));
                pass_if(covered)
            }
            (Self::PdbMinAvailableGreaterThanHpaMinReplicas, Subject::Workload(w)) => {
                let Some(hpa) = hpa_for(index, w) else { return Outcome::Skip };
                let hpa_min =
                    hpa.raw.get("spec").and_then(|s| s.get("minReplicas")).and_then(Value::as_i64).unwrap_or(1);
                let labels = w.pod_labels();
                let too_high =
                    index.in_namespace("PodDisruptionBudget", w.id.namespace.as_deref()).iter().find_map(|p| {
                        let spec = p.raw.get("spec")?;
                        let min = spec.get("minAvailable")?.as_i64()?;
                        (selector::matches(spec.get("selector"), labels) && min > hpa_min)
                            .then(|| (p.id.name.clone(), min))
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
                    (true, false) => {
                        Outcome::Fail(Some("NetworkPolicies select these pods for ingress but not egress".into()))
                    }
                    (false, true) => {
                        Outcome::Fail(Some("NetworkPolicies select these pods for egress but not ingress".into()))
                    }
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

/// Capabilities of the container runtime's default set that few programs need (Polaris's list).
pub const INSECURE_CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// `nginx` → `docker.io/library/nginx`, `quay.io/x/y:1` → `quay.io/x/y` (tag and digest removed).
pub fn normalized_image(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or(image);
    let (path, last) = match without_digest.rsplit_once('/') {
        Some((p, l)) => (Some(p), l),
        None => (None, without_digest),
    };
    let last = last.split(':').next().unwrap_or(last);
    let name = match path {
        Some(p) => format!("{p}/{last}"),
        None => last.to_string(),
    };
    let first = name.split('/').next().unwrap_or_default();
    let has_registry = name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_registry {
        name
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    }
}

/// Roles Kubernetes itself creates (`kubernetes.io/bootstrapping: rbac-defaults`).
fn is_bootstrap(object: &Value) -> bool {
    object
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(|l| l.get("kubernetes.io/bootstrapping"))
        .and_then(Value::as_str)
        == Some("rbac-defaults")
}

fn pass_if(ok: bool) -> Outcome {
    if ok { Outcome::Pass } else { Outcome::Fail(None) }
}

/// The HorizontalPodAutoscaler whose scaleTargetRef is this workload, if any.
fn hpa_for<'a>(index: &Index<'a>, w: &Workload<'_>) -> Option<&'a Object> {
    index.in_namespace("HorizontalPodAutoscaler", w.id.namespace.as_deref()).iter().copied().find(|h| {
        h.raw.get("spec").and_then(|s| s.get("scaleTargetRef")).is_some_and(|t| {
            t.get("kind").and_then(Value::as_str) == Some(w.kind())
                && t.get("name").and_then(Value::as_str) == Some(w.id.name.as_str())
        })
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
fn binding_grants_exec<'a>(binding: &Value, lookup: impl Fn(&str, &str) -> Option<&'a Object>) -> Outcome {
    let Some(role_ref) = binding.get("roleRef") else { return Outcome::Skip };
    let kind = role_ref.get("kind").and_then(Value::as_str).unwrap_or_default();
    let name = role_ref.get("name").and_then(Value::as_str).unwrap_or_default();
    if binding_subjects_are_system(binding) || is_bootstrap(binding) {
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
            && subjects.iter().all(|s| s.get("name").and_then(Value::as_str).is_some_and(|n| n.starts_with("system:")))
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
    fn image_names() {
        assert_eq!(normalized_image("nginx:1.25"), "docker.io/library/nginx");
        assert_eq!(normalized_image("bitnami/redis"), "docker.io/bitnami/redis");
        assert_eq!(normalized_image("quay.io/prometheus/node-exporter:v1.7.0"), "quay.io/prometheus/node-exporter");
        assert_eq!(normalized_image("registry:5000/app@sha256:abcd"), "registry:5000/app");
        assert_eq!(normalized_image("localhost/app:1"), "localhost/app");
    }

    #[test]
    fn network_policy_types() {
        assert_eq!(policy_types(&json!({})), (true, false));
        assert_eq!(policy_types(&json!({"egress": []})), (true, true));
        assert_eq!(policy_types(&json!({"policyTypes": ["Egress"]})), (false, true));
    }
}

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
    /// A Deployment or StatefulSet without a PodDisruptionBudget selecting its pods.
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
    /// A ClusterRoleBinding grants cluster-admin or a ClusterRole with wildcard permissions.
    ClusterRoleBindingClusterAdmin,
    /// A RoleBinding grants cluster-admin or a ClusterRole with wildcard permissions.
    RoleBindingClusterAdminClusterRole,
    /// A RoleBinding grants a Role with wildcard permissions.
    RoleBindingClusterAdminRole,
    /// A container uses none of seccomp, AppArmor, SELinux or dropped capabilities.
    LinuxHardening,
    /// The `app.kubernetes.io/instance` label differs from the workload's name.
    MetadataAndInstanceMismatched,
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
            "clusterrolebindingClusterAdmin" => Self::ClusterRoleBindingClusterAdmin,
            "rolebindingClusterAdminClusterRole" => Self::RoleBindingClusterAdminClusterRole,
            "rolebindingClusterAdminRole" => Self::RoleBindingClusterAdminRole,
            "linuxHardening" => Self::LinuxHardening,
            "metadataAndInstanceMismatched" => Self::MetadataAndInstanceMismatched,
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
            (Self::InsecureCapabilities, Subject::Container(_, c)) => insecure_capabilities(c.raw),
            (Self::AutomountServiceAccountToken, Subject::Workload(w)) => {
                if is_static_pod(w) {
                    // Static pods cannot use a ServiceAccount: the kubelet mounts no token.
                    return Outcome::Skip;
                }
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
                // A literal value under a secret-looking name, or a value shaped like a credential.
                let names: Vec<&str> = c
                    .get("env")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| {
                        let value = e.get("value").and_then(Value::as_str).filter(|v| !v.is_empty())?;
                        let name = e.get("name").and_then(Value::as_str)?;
                        (sensitive::is_sensitive_name(name) || sensitive::is_secret_value(value)).then_some(name)
                    })
                    .collect();
                match names.as_slice() {
                    [] => Outcome::Pass,
                    [one] => Outcome::Fail(Some(format!(
                        "Environment variable {one} holds a literal value; sensitive data should come from a Secret"
                    ))),
                    many => Outcome::Fail(Some(format!(
                        "Environment variables {} hold literal values; sensitive data should come from a Secret",
                        many.join(", ")
                    ))),
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
                let cluster = self == Self::ClusterRolePodExecAttach;
                if is_bootstrap(&role.raw) || is_default_rbac_name(&role.id.name, cluster) {
                    Outcome::Skip
                } else {
                    pass_if(!role_allows_exec(&role.raw))
                }
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
                if w.pod_spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
                    // NetworkPolicies do not apply to pods in the node's network namespace.
                    return Outcome::Skip;
                }
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
            (
                Self::ClusterRoleBindingClusterAdmin | Self::RoleBindingClusterAdminClusterRole,
                Subject::Object(binding),
            ) => binding_grants_wildcard(binding, "ClusterRole", |name| index.cluster_role(name)),
            (Self::RoleBindingClusterAdminRole, Subject::Object(binding)) => {
                binding_grants_wildcard(binding, "Role", |name| index.role(binding.id.namespace.as_deref(), name))
            }
            (Self::LinuxHardening, Subject::Container(w, c)) => linux_hardening(w, c.raw, c.effective),
            (Self::MetadataAndInstanceMismatched, Subject::Workload(w)) => metadata_and_instance(w),
            _ => Outcome::Skip,
        }
    }
}

/// The runtime's default capabilities a container keeps: those it neither drops
/// (by name or with `ALL`) nor adds back. Adding back NET_BIND_SERVICE after
/// dropping ALL is the Pod Security Standards' restricted pattern and passes.
fn insecure_capabilities(container: &Value) -> Outcome {
    let caps = container.get("securityContext").and_then(|s| s.get("capabilities"));
    let list = |key: &str| -> Vec<String> {
        caps.and_then(|c| c.get(key))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|s| s.to_ascii_uppercase().trim_start_matches("CAP_").to_string())
            .collect()
    };
    let (drop, add) = (list("drop"), list("add"));
    if add.iter().any(|a| a == "ALL") {
        return Outcome::Fail(Some("Container adds ALL capabilities".into()));
    }
    let drops_all = drop.iter().any(|d| d == "ALL");
    let has = |list: &[String], cap: &str| list.iter().any(|x| x == cap);
    let added: Vec<&str> =
        INSECURE_CAPABILITIES.iter().copied().filter(|cap| has(&add, cap) && *cap != "NET_BIND_SERVICE").collect();
    let not_dropped: Vec<&str> =
        INSECURE_CAPABILITIES.iter().copied().filter(|cap| !has(&add, cap) && !drops_all && !has(&drop, cap)).collect();
    if !not_dropped.is_empty() {
        Outcome::Fail(Some(format!(
            "Container keeps insecure capabilities ({}); drop them with drop: [ALL]",
            not_dropped.join(", ")
        )))
    } else if !added.is_empty() {
        Outcome::Fail(Some(format!("Container adds insecure capabilities: {}", added.join(", "))))
    } else {
        Outcome::Pass
    }
}

/// Passes when any one of Polaris's hardening measures applies to the container:
/// seccomp or AppArmor (field or the pod-template annotation) other than
/// Unconfined, SELinux options, or a non-empty capability drop list that does
/// not add ALL back. `effective` has the pod-level securityContext merged in.
fn linux_hardening(w: &Workload<'_>, raw: &Value, effective: &Value) -> Outcome {
    let name = raw.get("name").and_then(Value::as_str).unwrap_or_default();
    let annotation = w
        .pod_template
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(format!("container.apparmor.security.beta.kubernetes.io/{name}")))
        .and_then(Value::as_str);
    if annotation.is_some_and(|v| !v.is_empty() && !v.eq_ignore_ascii_case("unconfined")) {
        return Outcome::Pass;
    }
    let sc = effective.get("securityContext");
    let profile = |key: &str| {
        sc.and_then(|s| s.get(key))
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty() && t != "Unconfined")
    };
    let selinux = sc.and_then(|s| s.get("seLinuxOptions")).and_then(Value::as_object).is_some_and(|o| !o.is_empty());
    let caps = sc.and_then(|s| s.get("capabilities"));
    let drops = caps.and_then(|c| c.get("drop")).and_then(Value::as_array).is_some_and(|d| !d.is_empty());
    let adds_all = caps
        .and_then(|c| c.get("add"))
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().filter_map(Value::as_str).any(|c| c.eq_ignore_ascii_case("ALL")));
    pass_if(profile("seccompProfile") || profile("appArmorProfile") || selinux || (drops && !adds_all))
}

/// Polaris's `metadataAndInstanceMismatched`: the workload's
/// `app.kubernetes.io/instance` label must be present and equal its name. The
/// name is the reported one, so a pod standing in for its Deployment is
/// compared with the Deployment's name, not its own.
fn metadata_and_instance(w: &Workload<'_>) -> Outcome {
    const LABEL: &str = "app.kubernetes.io/instance";
    let instance = w.object.metadata().get("labels").and_then(|l| l.get(LABEL)).and_then(Value::as_str);
    match instance {
        Some(i) if i == w.id.name => Outcome::Pass,
        Some(i) => Outcome::Fail(Some(format!("Label {LABEL} is `{i}` but the {} is named `{}`", w.kind(), w.id.name))),
        None => Outcome::Fail(Some(format!("Label {LABEL} is missing; it should be `{}`", w.id.name))),
    }
}

/// RBAC objects Kubernetes and common installers create themselves, by name
/// (for manifests that lack the bootstrapping label). `admin`, `edit` and
/// `cluster-admin` are the default user-facing ClusterRoles.
fn is_default_rbac_name(name: &str, cluster_scoped: bool) -> bool {
    name.starts_with("system:")
        || name == "gce:podsecuritypolicy:calico-sa"
        || (cluster_scoped && matches!(name, "admin" | "edit" | "cluster-admin"))
}

/// A binding fails when it grants the `cluster-admin` ClusterRole or a role
/// of kind `want` with a wildcard rule. Bindings to the other kind pass (the
/// sibling rule judges them); default bindings are skipped, as are roles
/// missing from the inventory (they cannot be judged).
fn binding_grants_wildcard<'a>(binding: &Object, want: &str, lookup: impl Fn(&str) -> Option<&'a Object>) -> Outcome {
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
pub fn role_is_wildcard(role: &Value) -> bool {
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

/// A mirror pod of a static pod: owned by its Node, run by the kubelet from a file.
fn is_static_pod(w: &Workload<'_>) -> bool {
    w.object.id.kind == "Pod" && w.object.controller_owner().is_some_and(|o| o.kind == "Node")
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
    if is_default_binding(binding) {
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
    fn capability_sets() {
        let caps = |v: Value| json!({"securityContext": {"capabilities": v}});
        assert_eq!(insecure_capabilities(&caps(json!({"drop": ["ALL"]}))), Outcome::Pass);
        assert_eq!(insecure_capabilities(&caps(json!({"drop": ["all"], "add": ["NET_BIND_SERVICE"]}))), Outcome::Pass);
        assert!(matches!(
            insecure_capabilities(&caps(json!({"drop": ["ALL"], "add": ["CAP_NET_RAW"]}))),
            Outcome::Fail(_)
        ));
        assert!(matches!(insecure_capabilities(&caps(json!({"drop": ["ALL"], "add": ["ALL"]}))), Outcome::Fail(_)));
        assert!(matches!(insecure_capabilities(&json!({})), Outcome::Fail(_)));
        let each: Vec<&str> = INSECURE_CAPABILITIES.to_vec();
        assert_eq!(insecure_capabilities(&caps(json!({ "drop": each }))), Outcome::Pass, "dropped one by one");
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

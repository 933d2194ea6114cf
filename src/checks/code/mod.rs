//! Checks written in Rust, for what a schema on one object cannot express
//! (relations between objects, configured lists, arithmetic). Each lives in
//! its own file with the one function that decides it, and is registered
//! once in [`REGISTRY`]; its id, severity, messages and documentation stay
//! data in `rules/`, which names it with `code:`.
//!
//! A check declares the subject it judges ([`Run`]); the rule loader refuses
//! a rule whose target does not give it that subject, so a check is never
//! silently skipped for being bound to the wrong level.

mod automount_service_account_token;
mod can_delete_resources;
mod can_impersonate_user;
mod can_modify_workloads;
mod cluster_role_binding_cluster_admin;
mod cluster_role_binding_pod_exec_attach;
mod cluster_role_pod_exec_attach;
mod deployment_missing_replicas;
mod hpa_max_availability;
mod image_registry;
mod insecure_capabilities;
mod linux_hardening;
mod metadata_and_instance_mismatched;
mod missing_network_policy;
mod missing_pod_disruption_budget;
mod pdb_min_available_greater_than_hpa_min_replicas;
mod rbac;
mod rbac_grant;
mod role_binding_cluster_admin_cluster_role;
mod role_binding_cluster_admin_role;
mod role_binding_cluster_role_pod_exec_attach;
mod role_binding_role_pod_exec_attach;
mod role_pod_exec_attach;
mod sensitive_configmap_content;
mod sensitive_container_env_var;
mod service_not_answering;
mod service_without_endpoints;

use serde_json::Value;

use super::index::Index;
use super::workload::Workload;
use super::{ContainerRef, Outcome, Subject};
use crate::inventory::Object;
use crate::rules::Target;

/// A check written in Rust: its `code:` name and how it runs.
#[derive(Debug)]
pub struct CodeCheck {
    /// The name a rule gives in `code:`.
    pub name: &'static str,
    /// What it judges, and the function that does.
    pub run: Run,
}

/// The subject a code check judges, with the function judging it.
#[derive(Debug, Clone, Copy)]
pub enum Run {
    /// A workload (controller, or a pod without one), once per controller.
    Workload(fn(&Workload<'_>, &Index<'_>) -> Outcome),
    /// Each container of a workload.
    Container(fn(&Workload<'_>, &ContainerRef<'_>, &Index<'_>) -> Outcome),
    /// Every object of the kinds listed (`group/Kind`, empty group = core).
    Object(&'static [&'static str], fn(&Object, &Index<'_>) -> Outcome),
}

/// Every code check, by `code:` name. Adding one: a file beside this one and a line here.
pub const REGISTRY: &[CodeCheck] = &[
    automount_service_account_token::CHECK,
    can_delete_resources::CHECK,
    can_impersonate_user::CHECK,
    can_modify_workloads::CHECK,
    cluster_role_binding_cluster_admin::CHECK,
    cluster_role_binding_pod_exec_attach::CHECK,
    cluster_role_pod_exec_attach::CHECK,
    deployment_missing_replicas::CHECK,
    hpa_max_availability::CHECK,
    image_registry::CHECK,
    insecure_capabilities::CHECK,
    linux_hardening::CHECK,
    metadata_and_instance_mismatched::CHECK,
    missing_network_policy::CHECK,
    missing_pod_disruption_budget::CHECK,
    pdb_min_available_greater_than_hpa_min_replicas::CHECK,
    role_binding_cluster_admin_cluster_role::CHECK,
    role_binding_cluster_admin_role::CHECK,
    role_binding_cluster_role_pod_exec_attach::CHECK,
    role_binding_role_pod_exec_attach::CHECK,
    role_pod_exec_attach::CHECK,
    sensitive_configmap_content::CHECK,
    sensitive_container_env_var::CHECK,
    service_not_answering::CHECK,
    service_without_endpoints::CHECK,
];

impl CodeCheck {
    /// The registered check named `name`, bound to a rule with `target`; an
    /// error naming what is wrong when there is none or the target cannot feed it.
    pub fn bind(name: &str, target: &Target) -> Result<&'static CodeCheck, String> {
        let check = REGISTRY.iter().find(|c| c.name == name).ok_or_else(|| {
            let names: Vec<&str> = REGISTRY.iter().map(|c| c.name).collect();
            format!("no code check `{name}` (known: {})", names.join(", "))
        })?;
        let fits = match (&check.run, target) {
            (Run::Workload(_), t) => t.is_workload() && *t != Target::Container,
            (Run::Container(_), t) => *t == Target::Container,
            // Every kind the target names must be one the check judges.
            (Run::Object(kinds, _), Target::Kind { group, .. }) => target
                .kinds()
                .all(|kind| kinds.iter().any(|k| k.rsplit_once('/').unwrap_or(("", k)) == (group.as_str(), kind))),
            (Run::Object(..), _) => false,
        };
        if !fits {
            return Err(format!("code check `{name}` judges {}, not target `{target}`", check.run.subject()));
        }
        Ok(check)
    }

    /// Runs the check on a subject. The loader bound it to a target giving
    /// this subject, so a mismatch is a bug in the engine, not a rule.
    pub fn run(&self, subject: Subject<'_>, index: &Index<'_>) -> Outcome {
        match (self.run, subject) {
            (Run::Workload(f), Subject::Workload(w)) => f(w, index),
            (Run::Container(f), Subject::Container(w, c)) => f(w, c, index),
            (Run::Object(_, f), Subject::Object(o)) => f(o, index),
            (run, subject) => {
                debug_assert!(false, "code check `{}` ({}) given {subject:?}", self.name, run.subject());
                Outcome::Skip
            }
        }
    }
}

impl Run {
    fn subject(&self) -> String {
        match self {
            Run::Workload(_) => "workloads (target Controller, PodSpec or PodTemplate)".into(),
            Run::Container(_) => "containers (target Container)".into(),
            Run::Object(kinds, _) => format!("objects of kind {}", kinds.join(" or ")),
        }
    }
}

/// `Pass` when `ok`, otherwise a failure with the rule's own message.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_bound_to_their_subjects() {
        let mut names: Vec<&str> = REGISTRY.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len(), "duplicate code check names");
        assert!(CodeCheck::bind("linuxHardening", &Target::Container).is_ok());
        let wrong = CodeCheck::bind("linuxHardening", &Target::Controller).unwrap_err();
        assert!(wrong.contains("judges containers"), "{wrong}");
        let missing = CodeCheck::bind("noSuchCheck", &Target::Container).unwrap_err();
        assert!(missing.contains("no code check `noSuchCheck`"), "{missing}");
        let role = Target::Kind { group: "rbac.authorization.k8s.io".into(), kind: "Role".into() };
        assert!(CodeCheck::bind("rolePodExecAttach", &role).is_ok());
        assert!(CodeCheck::bind("clusterrolePodExecAttach", &role).is_err());
        let roles = Target::Kind { group: "rbac.authorization.k8s.io".into(), kind: "Role|ClusterRole".into() };
        assert!(CodeCheck::bind("CanImpersonateUser", &roles).is_ok(), "a check judging both kinds");
        assert!(CodeCheck::bind("CanImpersonateUser", &role).is_ok(), "or one of them");
        let both = CodeCheck::bind("rolePodExecAttach", &roles).unwrap_err();
        assert!(both.contains("not target `rbac.authorization.k8s.io/Role|ClusterRole`"), "{both}");
    }
}

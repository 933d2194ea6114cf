//! `clusterrolebindingPodExecAttach`: a ClusterRoleBinding grants a ClusterRole that allows pods/exec or pods/attach.

use super::rbac::binding_grants_exec;
use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::inventory::Object;

pub(super) const CHECK: CodeCheck = CodeCheck {
    name: "clusterrolebindingPodExecAttach",
    run: Run::Object(&["rbac.authorization.k8s.io/ClusterRoleBinding"], run),
};

fn run(binding: &Object, index: &Index<'_>) -> Outcome {
    binding_grants_exec(&binding.raw, "ClusterRole", |name| index.cluster_role(name), index.complete("ClusterRole"))
}

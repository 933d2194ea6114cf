//! `rolebindingRolePodExecAttach`: a RoleBinding grants a Role that allows pods/exec or pods/attach.

use super::rbac::binding_grants_exec;
use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::inventory::Object;

pub(super) const CHECK: CodeCheck = CodeCheck {
    name: "rolebindingRolePodExecAttach",
    run: Run::Object(&["rbac.authorization.k8s.io/RoleBinding"], run),
};

fn run(binding: &Object, index: &Index<'_>) -> Outcome {
    binding_grants_exec(
        &binding.raw,
        "Role",
        |name| index.role(binding.id.namespace.as_deref(), name),
        index.complete("Role"),
    )
}

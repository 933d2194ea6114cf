//! `rolebindingClusterAdminRole`: a RoleBinding grants a Role with wildcard permissions.

use super::rbac::binding_grants_wildcard;
use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::inventory::Object;

pub(super) const CHECK: CodeCheck = CodeCheck {
    name: "rolebindingClusterAdminRole",
    run: Run::Object(&["rbac.authorization.k8s.io/RoleBinding"], run),
};

fn run(binding: &Object, index: &Index<'_>) -> Outcome {
    binding_grants_wildcard(binding, "Role", |name| index.role(binding.id.namespace.as_deref(), name))
}

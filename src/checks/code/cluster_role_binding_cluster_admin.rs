//! `clusterrolebindingClusterAdmin`: a ClusterRoleBinding grants cluster-admin or a ClusterRole with wildcard permissions.

use super::rbac::binding_grants_wildcard;
use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::inventory::Object;

pub(super) const CHECK: CodeCheck = CodeCheck {
    name: "clusterrolebindingClusterAdmin",
    run: Run::Object(&["rbac.authorization.k8s.io/ClusterRoleBinding"], run),
};

fn run(binding: &Object, index: &Index<'_>) -> Outcome {
    binding_grants_wildcard(binding, "ClusterRole", |name| index.cluster_role(name))
}

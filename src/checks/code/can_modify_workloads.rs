//! `CanModifyWorkloads`: a Role or ClusterRole allows `create`, `update` or
//! `patch` on workloads (pods and their controllers, directly or by wildcard).

use super::rbac_grant::{WORKLOADS, judge};
use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::inventory::Object;

pub(super) const CHECK: CodeCheck = CodeCheck {
    name: "CanModifyWorkloads",
    run: Run::Object(&["rbac.authorization.k8s.io/Role", "rbac.authorization.k8s.io/ClusterRole"], run),
};

fn run(role: &Object, _: &Index<'_>) -> Outcome {
    judge(role, &["create", "update", "patch"], WORKLOADS)
}

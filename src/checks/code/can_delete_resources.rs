//! `CanDeleteResources`: a Role or ClusterRole allows `delete` or
//! `deletecollection` on workloads, pods or secrets (directly or by wildcard).

use super::rbac_grant::{WORKLOADS, judge};
use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::inventory::Object;

pub(super) const CHECK: CodeCheck = CodeCheck {
    name: "CanDeleteResources",
    run: Run::Object(&["rbac.authorization.k8s.io/Role", "rbac.authorization.k8s.io/ClusterRole"], run),
};

fn run(role: &Object, _: &Index<'_>) -> Outcome {
    let mut wanted = WORKLOADS.to_vec();
    wanted.push(("", "secrets"));
    judge(role, &["delete", "deletecollection"], &wanted)
}

//! `CanImpersonateUser`: a Role or ClusterRole allows `impersonate` on users,
//! groups or service accounts (directly or by wildcard).

use super::rbac_grant::judge;
use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::inventory::Object;

pub(super) const CHECK: CodeCheck = CodeCheck {
    name: "CanImpersonateUser",
    run: Run::Object(&["rbac.authorization.k8s.io/Role", "rbac.authorization.k8s.io/ClusterRole"], run),
};

/// Identities one can act as; all in the core group.
const IDENTITIES: &[(&str, &str)] = &[("", "users"), ("", "groups"), ("", "serviceaccounts")];

fn run(role: &Object, _: &Index<'_>) -> Outcome {
    judge(role, &["impersonate"], IDENTITIES)
}

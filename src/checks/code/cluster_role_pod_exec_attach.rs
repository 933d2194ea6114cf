//! `clusterrolePodExecAttach`: a ClusterRole allows pods/exec or pods/attach.

use super::rbac::{is_bootstrap, is_default_rbac_name, role_allows_exec};
use super::{CodeCheck, Run, pass_if};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::inventory::Object;

pub(super) const CHECK: CodeCheck =
    CodeCheck { name: "clusterrolePodExecAttach", run: Run::Object(&["rbac.authorization.k8s.io/ClusterRole"], run) };

fn run(role: &Object, _: &Index<'_>) -> Outcome {
    if is_bootstrap(&role.raw) || is_default_rbac_name(&role.id.name, true) {
        Outcome::Skip
    } else {
        pass_if(!role_allows_exec(&role.raw))
    }
}

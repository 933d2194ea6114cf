//! `rolePodExecAttach`: a Role allows pods/exec or pods/attach.

use super::rbac::judge_role_exec;
use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::inventory::Object;

pub(super) const CHECK: CodeCheck =
    CodeCheck { name: "rolePodExecAttach", run: Run::Object(&["rbac.authorization.k8s.io/Role"], run) };

fn run(role: &Object, _: &Index<'_>) -> Outcome {
    judge_role_exec(role, false)
}

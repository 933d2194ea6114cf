//! `automountServiceAccountToken`: the pod mounts a ServiceAccount token it was not told to skip.

use serde_json::Value;

use super::{CodeCheck, Run, pass_if};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::checks::workload::Workload;

pub(super) const CHECK: CodeCheck = CodeCheck { name: "automountServiceAccountToken", run: Run::Workload(run) };

fn run(w: &Workload<'_>, index: &Index<'_>) -> Outcome {
    if is_static_pod(w) {
        // Static pods cannot use a ServiceAccount: the kubelet mounts no token.
        return Outcome::Skip;
    }
    match w.pod_spec.get("automountServiceAccountToken").and_then(Value::as_bool) {
        Some(false) => Outcome::Pass,
        Some(true) => Outcome::Fail(None),
        None => {
            let sa = w.pod_spec.get("serviceAccountName").and_then(Value::as_str).unwrap_or("default");
            let sa_off = index
                .service_account(w.id.namespace.as_deref(), sa)
                .and_then(|o| o.raw.get("automountServiceAccountToken"))
                .and_then(Value::as_bool)
                == Some(false);
            pass_if(sa_off)
        }
    }
}

/// A mirror pod of a static pod: owned by its Node, run by the kubelet from a file.
fn is_static_pod(w: &Workload<'_>) -> bool {
    w.object.id.kind == "Pod" && w.object.controller_owner().is_some_and(|o| o.kind == "Node")
}

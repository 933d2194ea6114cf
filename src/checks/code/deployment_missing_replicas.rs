//! `deploymentMissingReplicas`: a Deployment with fewer than two replicas and no HPA keeping two.

use serde_json::Value;

use super::{CodeCheck, Run, hpa_for, pass_if};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::checks::workload::Workload;

pub(super) const CHECK: CodeCheck = CodeCheck { name: "deploymentMissingReplicas", run: Run::Workload(run) };

fn run(w: &Workload<'_>, index: &Index<'_>) -> Outcome {
    let replicas = w.object.raw.get("spec").and_then(|s| s.get("replicas")).and_then(Value::as_i64).unwrap_or(1);
    if replicas >= 2 {
        return Outcome::Pass;
    }
    let hpa_min = hpa_for(index, w).and_then(|h| h.raw.get("spec")?.get("minReplicas")?.as_i64());
    pass_if(hpa_min.is_some_and(|m| m >= 2))
}

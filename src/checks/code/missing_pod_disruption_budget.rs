//! `missingPodDisruptionBudget`: a Deployment or StatefulSet without a PodDisruptionBudget selecting its pods.

use super::{CodeCheck, Run, pass_if};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::checks::selector;
use crate::checks::workload::Workload;

pub(super) const CHECK: CodeCheck = CodeCheck { name: "missingPodDisruptionBudget", run: Run::Workload(run) };

fn run(w: &Workload<'_>, index: &Index<'_>) -> Outcome {
    let pdbs = index.in_namespace("PodDisruptionBudget", w.id.namespace.as_deref());
    let labels = w.pod_labels();
    pass_if(pdbs.iter().any(|p| selector::matches(p.raw.get("spec").and_then(|s| s.get("selector")), labels)))
}

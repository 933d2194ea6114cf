//! `pdbMinAvailableGreaterThanHPAMinReplicas`: a PDB's minAvailable is higher than the HPA's minReplicas for the same workload.

use serde_json::Value;

use super::{CodeCheck, Run, hpa_for};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::checks::selector;
use crate::checks::workload::Workload;

pub(super) const CHECK: CodeCheck =
    CodeCheck { name: "pdbMinAvailableGreaterThanHPAMinReplicas", run: Run::Workload(run) };

fn run(w: &Workload<'_>, index: &Index<'_>) -> Outcome {
    let Some(hpa) = hpa_for(index, w) else { return Outcome::Skip };
    let hpa_min = hpa.raw.get("spec").and_then(|s| s.get("minReplicas")).and_then(Value::as_i64).unwrap_or(1);
    let labels = w.pod_labels();
    let too_high = index.in_namespace("PodDisruptionBudget", w.id.namespace.as_deref()).iter().find_map(|p| {
        let spec = p.raw.get("spec")?;
        let min = spec.get("minAvailable")?.as_i64()?;
        (selector::matches(spec.get("selector"), labels) && min > hpa_min).then(|| (p.id.name.clone(), min))
    });
    match too_high {
        Some((pdb, min)) => Outcome::Fail(Some(format!(
            "PodDisruptionBudget {pdb} requires minAvailable {min}, more than the HPA's minReplicas {hpa_min}: at minimum scale no pod can ever be evicted"
        ))),
        None => Outcome::Pass,
    }
}

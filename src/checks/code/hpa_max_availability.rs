//! `hpaMaxAvailability`: an HPA whose maxReplicas is not above its minReplicas.

use serde_json::Value;

use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::inventory::Object;

pub(super) const CHECK: CodeCheck =
    CodeCheck { name: "hpaMaxAvailability", run: Run::Object(&["autoscaling/HorizontalPodAutoscaler"], run) };

fn run(hpa: &Object, _: &Index<'_>) -> Outcome {
    let Some(spec) = hpa.raw.get("spec") else { return Outcome::Skip };
    let min = spec.get("minReplicas").and_then(Value::as_i64).unwrap_or(1);
    match spec.get("maxReplicas").and_then(Value::as_i64) {
        Some(max) if max > min => Outcome::Pass,
        Some(max) => Outcome::Fail(Some(format!("HPA maxReplicas ({max}) should be greater than minReplicas ({min})"))),
        None => Outcome::Skip,
    }
}

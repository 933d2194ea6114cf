//! `metadataAndInstanceMismatched`: the `app.kubernetes.io/instance` label differs from the workload's name.

use serde_json::Value;

use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::checks::workload::Workload;

pub(super) const CHECK: CodeCheck = CodeCheck { name: "metadataAndInstanceMismatched", run: Run::Workload(run) };

/// The label must be present and equal the workload's name. The name is the
/// reported one, so a pod standing in for its Deployment is compared with
/// the Deployment's name, not its own.
fn run(w: &Workload<'_>, _: &Index<'_>) -> Outcome {
    const LABEL: &str = "app.kubernetes.io/instance";
    let instance = w.object.metadata().get("labels").and_then(|l| l.get(LABEL)).and_then(Value::as_str);
    match instance {
        Some(i) if i == w.id.name => Outcome::Pass,
        Some(i) => Outcome::Fail(Some(format!("Label {LABEL} is `{i}` but the {} is named `{}`", w.kind(), w.id.name))),
        None => Outcome::Fail(Some(format!("Label {LABEL} is missing; it should be `{}`", w.id.name))),
    }
}

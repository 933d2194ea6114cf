//! `sensitiveContainerEnvVar`: a secret-looking env var has a literal value.

use serde_json::Value;

use super::{CodeCheck, Run};
use crate::checks::index::Index;
use crate::checks::sensitive;
use crate::checks::workload::Workload;
use crate::checks::{ContainerRef, Outcome};

pub(super) const CHECK: CodeCheck = CodeCheck { name: "sensitiveContainerEnvVar", run: Run::Container(run) };

fn run(_: &Workload<'_>, c: &ContainerRef<'_>, _: &Index<'_>) -> Outcome {
    // A literal value under a secret-looking name, or a value shaped like a credential.
    let names: Vec<&str> = c
        .raw
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let value = e.get("value").and_then(Value::as_str).filter(|v| !v.is_empty())?;
            let name = e.get("name").and_then(Value::as_str)?;
            (sensitive::is_sensitive_name(name) || sensitive::is_secret_value(value)).then_some(name)
        })
        .collect();
    match names.as_slice() {
        [] => Outcome::Pass,
        [one] => Outcome::Fail(Some(format!(
            "Environment variable {one} holds a literal value; sensitive data should come from a Secret"
        ))),
        many => Outcome::Fail(Some(format!(
            "Environment variables {} hold literal values; sensitive data should come from a Secret",
            many.join(", ")
        ))),
    }
}

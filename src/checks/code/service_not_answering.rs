//! `ServiceNotAnswering`: a Service's ClusterIP port refused the job's TCP
//! connection or did not answer in time (`inspection.serviceConnect`, as
//! KubeEye's `serviceConnect` tried them). Judged on the `ServiceProbe` the
//! collector recorded for the Service; the findings are then reported per
//! namespace ([`per_namespace`](crate::checks::per_namespace)).

use serde_json::Value;

use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::inventory::Object;

pub(super) const CHECK: CodeCheck =
    CodeCheck { name: "ServiceNotAnswering", run: Run::Object(&["kubeeye.io/ServiceProbe"], run) };

fn run(probe: &Object, _: &Index<'_>) -> Outcome {
    let ports = probe.raw.get("ports").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let timeout = probe.raw.get("timeoutSeconds").and_then(Value::as_f64);
    let failed: Vec<String> = ports
        .iter()
        .filter_map(|p| {
            let port = p.get("port").and_then(Value::as_u64)?;
            let why = match p.get("result").and_then(Value::as_str)? {
                "open" => return None,
                "refused" => "refused".to_string(),
                "timeout" => match timeout {
                    Some(t) => format!("no answer within {t}s"),
                    None => "no answer in time".to_string(),
                },
                _ => p.get("error").and_then(Value::as_str).unwrap_or("connection failed").to_string(),
            };
            Some(format!("port {port} {why}"))
        })
        .collect();
    match (ports.is_empty(), failed.is_empty()) {
        (true, _) => Outcome::Skip,
        (false, true) => Outcome::Pass,
        (false, false) => Outcome::Fail(Some(failed.join(", "))),
    }
}

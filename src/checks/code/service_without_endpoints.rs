//! `ServiceWithoutEndpoints`: a Service with a selector none of whose
//! EndpointSlices has a ready endpoint, decided from the API alone (what
//! KubeEye's `serviceConnect` found by connecting). Clients of the Service get
//! connection refused or time out. Each Service is judged here; its finding
//! is then reported with the others of its namespace
//! ([`per_namespace`](crate::checks::per_namespace)).

use serde_json::Value;

use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::inventory::Object;

pub(super) const CHECK: CodeCheck = CodeCheck { name: "ServiceWithoutEndpoints", run: Run::Object(&["/Service"], run) };

/// The label an EndpointSlice names its Service with.
const SERVICE_NAME: &str = "kubernetes.io/service-name";

fn run(service: &Object, index: &Index<'_>) -> Outcome {
    let spec = service.raw.get("spec");
    let selects = spec.and_then(|s| s.get("selector")).and_then(Value::as_object).is_some_and(|m| !m.is_empty());
    let external = spec.and_then(|s| s.get("type")).and_then(Value::as_str) == Some("ExternalName");
    // Without a selector the endpoints are managed by hand; without any
    // EndpointSlice in the inventory (an older snapshot, a list that failed)
    // there is nothing to judge on.
    if !selects || external || !index.has_indexed("EndpointSlice") || !index.complete("EndpointSlice") {
        return Outcome::Skip;
    }
    let namespace = service.id.namespace.as_deref();
    let slices: Vec<&Object> = index
        .in_namespace("EndpointSlice", namespace)
        .iter()
        .copied()
        .filter(|s| {
            s.metadata().get("labels").and_then(|l| l.get(SERVICE_NAME)).and_then(Value::as_str)
                == Some(service.id.name.as_str())
        })
        .collect();
    let endpoints: Vec<&Value> =
        slices.iter().filter_map(|s| s.raw.get("endpoints")).filter_map(Value::as_array).flatten().collect();
    // `ready` absent means ready (the API's rule for consumers).
    let ready = endpoints
        .iter()
        .filter(|e| e.get("conditions").and_then(|c| c.get("ready")).and_then(Value::as_bool) != Some(false))
        .count();
    if ready > 0 {
        return Outcome::Pass;
    }
    // Short: the namespace's finding lists it beside the others.
    Outcome::Fail(Some(match endpoints.len() {
        0 => "selects no pod".into(),
        1 => "its one endpoint is not ready".into(),
        n => format!("none of its {n} endpoints is ready"),
    }))
}

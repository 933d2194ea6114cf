//! `GET /api/v1/namespaces/NS/pods/POD/log` with the kubelet's `tailLines`/`limitBytes` semantics.
//!
//! `sinceSeconds` is validated but does not filter: a snapshot's log has no
//! per-line write times, and filtering on timestamps inside the text would make
//! tests depend on the day they run.

use serde_json::Value;

use super::reply::{Denial, Reply};
use super::routes::{Query, Target};
use super::state::Shared;

/// Answers a pod log request.
pub fn pod_log(shared: &Shared, target: &Target<'_>, query: &Query) -> Reply {
    let namespace = target.namespace.unwrap_or_default();
    let pod_name = target.name.unwrap_or_default();
    let pods = shared.cluster().collection("", "pods").expect("pods is built in");
    if shared.faults().is_forbidden("", "pods/log") {
        let denial = Denial {
            verb: "get",
            resource: &pods.resource,
            subresource: Some("log"),
            namespace: Some(namespace),
            name: Some(pod_name),
        };
        return Reply::forbidden(&denial);
    }
    let Some(pod) = pods.get(Some(namespace), pod_name) else {
        return Reply::not_found(&pods.resource, pod_name);
    };
    let (tail_lines, limit_bytes) =
        match (query.integer("tailLines"), query.integer("limitBytes"), query.integer("sinceSeconds")) {
            (Ok(Some(t)), _, _) if t < 0 => {
                return Reply::bad_request("tailLines: Invalid value: must be greater than or equal to 0");
            }
            (_, Ok(Some(b)), _) if b < 1 => {
                return Reply::bad_request("limitBytes: Invalid value: must be greater than 0");
            }
            (_, _, Ok(Some(s))) if s < 1 => {
                return Reply::bad_request("sinceSeconds: Invalid value: must be greater than 0");
            }
            (Ok(t), Ok(b), Ok(_)) => (t, b),
            (Err(m), _, _) | (_, Err(m), _) | (_, _, Err(m)) => return Reply::bad_request(&m),
        };
    let pod = pod.value(&pods.resource);
    let containers = container_names(&pod, "containers");
    let container = match query.get("container").filter(|c| !c.is_empty()) {
        Some(c) => c.to_string(),
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return Reply::bad_request(&format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                containers.join(" ")
            ));
        }
    };
    let known = ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .any(|list| container_names(&pod, list).contains(&container));
    if !known {
        return Reply::bad_request(&format!("container {container} is not valid for pod {pod_name}"));
    }
    let cluster = shared.cluster();
    let log = cluster.logs.get(&(namespace.into(), pod_name.into(), container)).map_or("", |l| &**l);
    let tailed = tail(log, tail_lines.map(|t| usize::try_from(t).unwrap_or(usize::MAX)));
    let limited = match limit_bytes.map(|b| usize::try_from(b).unwrap_or(usize::MAX)) {
        Some(limit) if limit < tailed.len() => &tailed.as_bytes()[..limit],
        _ => tailed.as_bytes(),
    };
    Reply::text(200, limited.to_vec())
}

fn container_names(pod: &Value, list: &str) -> Vec<String> {
    pod.pointer(&format!("/spec/{list}"))
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| c.get("name")?.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The last `lines` lines; a final line without a newline counts as a line.
fn tail(log: &str, lines: Option<usize>) -> &str {
    let Some(lines) = lines else { return log };
    if lines == 0 {
        return "";
    }
    let body = log.strip_suffix('\n').unwrap_or(log);
    match body.rmatch_indices('\n').nth(lines - 1) {
        Some((at, _)) => &log[at + 1..],
        None => log,
    }
}

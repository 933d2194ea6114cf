//! The node proxy: `GET /api/v1/nodes/NAME/proxy/stats/summary` from `KubeletSummary` objects.

use super::reply::{Denial, Reply};
use super::routes::Target;
use super::state::Shared;

/// Answers a node proxy request.
pub fn proxy(shared: &Shared, target: &Target<'_>, rest: &str) -> Reply {
    let node_name = target.name.unwrap_or_default();
    let cluster = shared.cluster();
    let nodes = cluster.collection("", "nodes").expect("nodes is built in");
    if shared.faults().is_forbidden("", "nodes/proxy") {
        let denial = Denial {
            verb: "get",
            resource: &nodes.resource,
            subresource: Some("proxy"),
            namespace: None,
            name: Some(node_name),
        };
        return Reply::forbidden(&denial);
    }
    if nodes.get(None, node_name).is_none() {
        return Reply::not_found(&nodes.resource, node_name);
    }
    if rest != "stats/summary" {
        return Reply::text(404, "404 page not found\n");
    }
    match cluster.summaries.get(node_name) {
        Some(summary) => Reply::json(200, summary.clone()),
        None => Reply::status(
            503,
            "ServiceUnavailable",
            &format!("error trying to reach service: dial tcp {node_name}:10250: connect: connection refused"),
        ),
    }
}

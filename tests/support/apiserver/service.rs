//! One request, start to finish: count it, apply latency, authenticate, apply faults,
//! route it, log the answer.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Request, Response};

use super::reply::Reply;
use super::routes::{Query, Route, route};
use super::state::Shared;
use super::{discovery, health, kubelet, list, logs, objects};

/// Serves one request.
pub async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    shared.stats.arrived();
    let method = request.method().as_str().to_string();
    let path_and_query = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
    let (latency, hang, failure) = {
        let faults = shared.faults();
        (faults.latency, faults.hangs(&path_and_query), faults.failure(&path_and_query))
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let reply = if !authorized(&request, &shared.token) {
        Reply::unauthorized()
    } else if hang {
        shared.stats.answered(&method, &path_and_query, None, 0);
        // Dropped, with its connection, when the client gives up or the server stops.
        return std::future::pending().await;
    } else if let Some(status) = failure {
        Reply::planted(status)
    } else {
        dispatch(&shared, request).await
    };
    shared.stats.answered(&method, &path_and_query, Some(reply.status), reply.body.len());
    Response::builder()
        .status(reply.status)
        .header(CONTENT_TYPE, reply.content_type)
        .body(Full::new(reply.body))
        .expect("status and content type are valid")
}

fn authorized(request: &Request<Incoming>, token: &str) -> bool {
    let Some(value) = request.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    value.split_once(' ').is_some_and(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && t.trim() == token)
}

async fn dispatch(shared: &Shared, request: Request<Incoming>) -> Reply {
    let (parts, body) = request.into_parts();
    let query = Query::parse(parts.uri.query());
    let method = parts.method.as_str();
    let routed = route(parts.uri.path());
    if let Route::Collection(target) | Route::Object(target) | Route::PodLog(target) = &routed
        && shared.jobs().serves(target)
    {
        let log = matches!(routed, Route::PodLog(_));
        let body = match body.collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) => return Reply::bad_request(&format!("cannot read request body: {e}")),
        };
        return shared.jobs().handle(method, target, &query, log, &body);
    }
    match (routed, method) {
        (Route::Version, "GET") => health::version(),
        (Route::Probe(name), "GET") => health::probe(shared, name, &query),
        (Route::CoreVersions, "GET") => discovery::core_versions(),
        (Route::Groups, "GET") => discovery::groups(shared),
        (Route::Resources { group, version }, "GET") => discovery::resources(shared, group, version),
        (Route::Collection(target), "GET") => list::list(shared, &target, &query),
        (Route::Object(target), "GET") => objects::get(shared, &target),
        (Route::Object(target), "DELETE") => objects::delete(shared, &target),
        (Route::Object(target), "PATCH") => {
            let content_type = parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
            match body.collect().await {
                Ok(body) => objects::apply(shared, &target, &query, content_type, &body.to_bytes()),
                Err(e) => Reply::bad_request(&format!("cannot read request body: {e}")),
            }
        }
        (Route::PodLog(target), "GET") => logs::pod_log(shared, &target, &query),
        (Route::NodeProxy(target, rest), "GET") => kubelet::proxy(shared, &target, &rest),
        (Route::Unknown, _) => Reply::no_such_resource(),
        (_, method) => Reply::method_not_allowed(method),
    }
}

//! Self-test of the fake Kubernetes API server in tests/support: what a client sees on the wire.
#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::apiserver::{EXPIRED_MESSAGE, FakeApiServer, FakeCluster, Faults, Options};

const TOKEN: &str = "kubeeye-test-token";

fn fixtures() -> FakeCluster {
    FakeCluster::from_snapshot(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/apiserver"))
}

fn start(faults: Faults) -> FakeApiServer {
    FakeApiServer::start(fixtures(), Options { token: TOKEN.into(), faults, ..Options::default() })
}

fn client_trusting(ca_pem: &str) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
    reqwest::Client::builder().tls_certs_only([ca]).tls_info(true).build().unwrap()
}

struct Answer {
    status: u16,
    content_type: String,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

async fn send(server: &FakeApiServer, request: reqwest::RequestBuilder) -> Answer {
    let response = request.bearer_auth(server.token()).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    Answer { status, content_type, text: response.text().await.unwrap() }
}

async fn get(server: &FakeApiServer, path: &str) -> Answer {
    let client = client_trusting(server.ca_pem());
    send(server, client.get(format!("{}{path}", server.url()))).await
}

fn names(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|i| i["metadata"]["name"].as_str().unwrap().to_string()).collect()
}

/// Follows `continue` tokens from `path` (which must already have a query) to the end.
async fn walk(server: &FakeApiServer, path: &str) -> (Vec<String>, usize) {
    let mut all = Vec::new();
    let mut pages = 0;
    let mut token = String::new();
    loop {
        let answer = get(server, &format!("{path}&continue={token}")).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let page = answer.json();
        pages += 1;
        all.extend(names(&page));
        match page["metadata"]["continue"].as_str() {
            Some(next) => token = next.to_string(),
            None => return (all, pages),
        }
    }
}

#[tokio::test]
async fn requests_without_the_token_are_unauthorized() {
    let server = start(Faults::default());
    let client = client_trusting(server.ca_pem());
    for request in
        [client.get(format!("{}/api/v1/pods", server.url())), client.get(format!("{}/version", server.url()))]
    {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        let status: Value = response.json().await.unwrap();
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["reason"], "Unauthorized");
        assert_eq!(status["code"], 401);
    }
    let wrong = client.get(format!("{}/api/v1/pods", server.url())).bearer_auth("not-the-token").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(get(&server, "/version").await.json()["gitVersion"], "v1.35.0");
}

#[tokio::test]
async fn a_paginated_list_returns_every_object_once_in_a_stable_order() {
    let server = start(Faults::default());
    let everything = get(&server, "/api/v1/pods").await.json();
    assert_eq!(everything["kind"], "PodList");
    assert!(everything["metadata"].get("continue").is_none());
    let expected = names(&everything);
    assert_eq!(expected.len(), 5);
    // Like the real server, list items carry no kind/apiVersion; single GETs do.
    assert!(everything["items"][0].get("kind").is_none());

    let (paged, pages) = walk(&server, "/api/v1/pods?limit=2").await;
    assert_eq!(paged, expected);
    assert_eq!(pages, 3);
    assert_eq!(paged.iter().collect::<HashSet<_>>().len(), 5);

    let first = get(&server, "/api/v1/pods?limit=2").await.json();
    assert_eq!(first["metadata"]["remainingItemCount"], 3);
    let (shop, _) = walk(&server, "/api/v1/namespaces/shop/pods?limit=3").await;
    assert_eq!(shop.len(), 4);
    assert!(get(&server, "/api/v1/namespaces/shop/pods/worker-0").await.json()["kind"] == "Pod");
    assert_eq!(get(&server, "/api/v1/namespaces/shop/pods/nope").await.status, 404);
    assert_eq!(get(&server, "/api/v1/widgets").await.status, 404);
}

#[tokio::test]
async fn an_expired_continue_token_answers_410_once() {
    let server = start(Faults::default().expire_continue_once("pods"));
    let first = get(&server, "/api/v1/pods?limit=2").await.json();
    let token = first["metadata"]["continue"].as_str().unwrap();
    let expired = get(&server, &format!("/api/v1/pods?limit=2&continue={token}")).await;
    assert_eq!(expired.status, 410);
    let status = expired.json();
    assert_eq!((status["reason"].as_str(), status["code"].as_u64()), (Some("Expired"), Some(410)));
    assert_eq!(status["message"], EXPIRED_MESSAGE);
    // The restart, continued, runs to the end.
    let (all, _) = walk(&server, "/api/v1/pods?limit=2").await;
    assert_eq!(all.len(), 5);
    assert_eq!(server.stats().log.iter().filter(|r| r.status == Some(410)).count(), 1);
}

#[tokio::test]
async fn field_and_label_selectors() {
    let server = start(Faults::default());
    let warnings = get(&server, "/api/v1/events?fieldSelector=type%3DWarning").await.json();
    let types: Vec<&str> = warnings["items"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["Warning", "Warning", "Warning"]);
    assert!(warnings["metadata"].get("remainingItemCount").is_none());

    let node_events =
        get(&server, "/api/v1/events?fieldSelector=involvedObject.kind%3DNode,type!%3DNormal").await.json();
    assert_eq!(names(&node_events), ["node-2.1879f1b2c3d4e5f6"]);
    let running = get(&server, "/api/v1/namespaces/shop/pods?fieldSelector=status.phase%3DRunning").await.json();
    assert_eq!(names(&running).len(), 3);
    // Paging through a selection still returns each selected object once.
    let (warning_pages, _) = walk(&server, "/api/v1/events?fieldSelector=type%3DWarning&limit=1").await;
    assert_eq!(warning_pages.len(), 3);

    let web = get(&server, "/api/v1/pods?labelSelector=app%3Dweb").await.json();
    assert_eq!(names(&web), ["web-7d4b9c-p8m2q", "web-7d4b9c-x2x9k"]);
    let not_web = get(&server, "/api/v1/namespaces/shop/pods?labelSelector=app!%3Dweb,app").await.json();
    assert_eq!(names(&not_web), ["api-5f6d8-kq2zl", "worker-0"]);

    let unsupported = get(&server, "/api/v1/pods?fieldSelector=spec.containers%3Dx").await;
    assert_eq!(unsupported.status, 400);
    assert!(unsupported.json()["message"].as_str().unwrap().contains("field label not supported: spec.containers"));
}

#[tokio::test]
async fn pod_logs_with_tail_and_byte_limits() {
    let server = start(Faults::default());
    let base = "/api/v1/namespaces/shop/pods/web-7d4b9c-x2x9k/log?container=nginx";
    let all = get(&server, base).await;
    assert_eq!(all.status, 200);
    assert!(all.content_type.starts_with("text/plain"));
    assert_eq!(all.text.lines().count(), 5);

    let tail = get(&server, &format!("{base}&tailLines=2")).await.text;
    let expected_tail: String = all.text.lines().skip(3).map(|l| format!("{l}\n")).collect();
    assert_eq!(tail, expected_tail);
    let limited = get(&server, &format!("{base}&tailLines=2&limitBytes=24&sinceSeconds=3600")).await.text;
    assert_eq!(limited, expected_tail[..24]);

    let single = get(&server, "/api/v1/namespaces/shop/pods/api-5f6d8-kq2zl/log?tailLines=1").await.text;
    assert_eq!(single, "2026-11-25T01:54:02.803Z FATAL cannot load configuration, exiting\n");
    let no_log = get(&server, "/api/v1/namespaces/shop/pods/web-7d4b9c-x2x9k/log?container=log-shipper").await;
    assert_eq!((no_log.status, no_log.text.as_str()), (200, ""));
    let init = get(&server, "/api/v1/namespaces/shop/pods/web-7d4b9c-x2x9k/log?container=render-config").await;
    assert_eq!(init.status, 200);

    let missing_pod = get(&server, "/api/v1/namespaces/shop/pods/gone/log?container=nginx").await;
    assert_eq!(missing_pod.status, 404);
    assert_eq!(missing_pod.json()["message"], "pods \"gone\" not found");
    let bad_container = get(&server, "/api/v1/namespaces/shop/pods/web-7d4b9c-x2x9k/log?container=php").await;
    assert_eq!(bad_container.status, 400);
    assert_eq!(bad_container.json()["message"], "container php is not valid for pod web-7d4b9c-x2x9k");
    let ambiguous = get(&server, "/api/v1/namespaces/shop/pods/web-7d4b9c-x2x9k/log").await;
    assert_eq!(ambiguous.status, 400);
}

#[tokio::test]
async fn readyz_passing_by_default_and_failing_when_planted() {
    let healthy = FakeApiServer::start(FakeCluster::from_values(vec![]), Options::default());
    let ready = get(&healthy, "/readyz?verbose").await;
    assert_eq!(ready.status, 200);
    assert!(ready.text.lines().all(|l| l.starts_with("[+]") || l == "readyz check passed"), "{}", ready.text);
    assert!(ready.text.ends_with("readyz check passed\n"));
    assert_eq!(get(&healthy, "/livez").await.text, "ok");

    let server = start(Faults::default());
    let failing = get(&server, "/readyz?verbose").await;
    assert_eq!(failing.status, 500);
    assert!(failing.text.contains("[-]etcd failed: reason withheld\n"));
    assert!(failing.text.ends_with("readyz check failed\n"));
    let livez = get(&server, "/livez").await;
    assert_eq!((livez.status, livez.text.as_str()), (200, "ok"));
}

#[tokio::test]
async fn forbidden_and_failing_resources() {
    let faults = Faults::default().forbid("networkpolicies").forbid("nodes/proxy").fail("/apis/metrics.k8s.io", 500);
    let server = start(faults);
    let denied = get(&server, "/apis/networking.k8s.io/v1/networkpolicies").await;
    assert_eq!(denied.status, 403);
    assert_eq!(
        denied.json()["message"],
        "networkpolicies.networking.k8s.io is forbidden: User \"system:serviceaccount:kubeeye:kubeeye\" \
         cannot list resource \"networkpolicies\" in API group \"networking.k8s.io\" at the cluster scope"
    );
    let in_namespace = get(&server, "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies").await.json();
    assert!(in_namespace["message"].as_str().unwrap().ends_with("in the namespace \"shop\""));
    let proxy = get(&server, "/api/v1/nodes/node-1/proxy/stats/summary").await;
    assert_eq!(proxy.status, 403);
    assert_eq!(proxy.json()["reason"], "Forbidden");
    let metrics = get(&server, "/apis/metrics.k8s.io/v1beta1/nodes").await;
    assert_eq!((metrics.status, metrics.json()["reason"].as_str()), (500, Some("InternalError")));

    // Faults change while the server runs.
    server.faults().forbidden.clear();
    server.faults().fail.clear();
    assert_eq!(get(&server, "/apis/networking.k8s.io/v1/networkpolicies").await.status, 200);
    let node_metrics = get(&server, "/apis/metrics.k8s.io/v1beta1/nodes").await.json();
    assert_eq!(node_metrics["kind"], "NodeMetricsList");
    assert_eq!(names(&node_metrics), ["node-1", "node-2"]);
}

#[tokio::test]
async fn node_summaries_through_the_proxy() {
    let server = start(Faults::default());
    let summary = get(&server, "/api/v1/nodes/node-1/proxy/stats/summary").await.json();
    assert_eq!(summary["node"]["nodeName"], "node-1");
    assert_eq!(summary["node"]["fs"]["availableBytes"], 5_368_709_120_u64);
    assert_eq!(summary["pods"], json!([]));
    assert_eq!(get(&server, "/api/v1/nodes/node-2/proxy/stats/summary").await.status, 503);
    assert_eq!(get(&server, "/api/v1/nodes/node-9/proxy/stats/summary").await.status, 404);
}

#[tokio::test]
async fn a_hanging_request_does_not_block_others() {
    let server = start(Faults::default().hang("/api/v1/nodes"));
    let client = client_trusting(server.ca_pem());
    let hung = client.get(format!("{}/api/v1/nodes", server.url())).bearer_auth(TOKEN).send();
    tokio::pin!(hung);
    // First the server holds the hanging request (logged without a status)...
    let held = async {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !server.stats().log.iter().any(|r| r.path == "/api/v1/nodes" && r.status.is_none()) {
            assert!(std::time::Instant::now() < deadline, "the hanging request never reached the server");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        answer = &mut hung => panic!("the hanging request was answered: {answer:?}"),
        () = held => {}
    }
    // ...then another request is answered while it still hangs.
    let status = tokio::select! {
        answer = &mut hung => panic!("the hanging request was answered: {answer:?}"),
        answer = get(&server, "/api/v1/namespaces") => answer.status,
    };
    assert_eq!(status, 200);
}

#[tokio::test]
async fn server_side_apply_creates_updates_and_deletes() {
    let server = start(Faults::default());
    let client = client_trusting(server.ca_pem());
    let url =
        format!("{}/api/v1/namespaces/kubeeye/configmaps/npd-config?fieldManager=kubeeye&force=true", server.url());
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: npd-config\ndata:\n  level: info\n";
    let apply = |body: String| client.patch(&url).header("content-type", "application/apply-patch+yaml").body(body);

    // The namespace does not exist yet.
    assert_eq!(send(&server, apply(manifest.into())).await.status, 404);
    let namespace = client
        .patch(format!("{}/api/v1/namespaces/kubeeye?fieldManager=kubeeye", server.url()))
        .header("content-type", "application/apply-patch+yaml")
        .body(r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kubeeye"}}"#);
    assert_eq!(send(&server, namespace).await.status, 201);

    let created = send(&server, apply(manifest.into())).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = created.json();
    assert_eq!(created["metadata"]["namespace"], "kubeeye");
    let updated = send(&server, apply(manifest.replace("info", "debug"))).await;
    assert_eq!(updated.status, 200);
    let updated = updated.json();
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
    assert_ne!(updated["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);

    let fetched = get(&server, "/api/v1/namespaces/kubeeye/configmaps/npd-config").await.json();
    assert_eq!((fetched["kind"].as_str(), fetched["data"]["level"].as_str()), (Some("ConfigMap"), Some("debug")));
    let applied = server.applied();
    assert_eq!(applied.len(), 3);
    assert!(applied.iter().all(|a| a.field_manager == "kubeeye"));

    // A JSON merge patch: null deletes a key, whoever wrote it.
    let merge =
        |body: &'static str| client.patch(&url).header("content-type", "application/merge-patch+json").body(body);
    let patched = send(&server, merge(r#"{"data": {"level": null, "extra": "1"}}"#)).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let fetched = get(&server, "/api/v1/namespaces/kubeeye/configmaps/npd-config").await.json();
    assert_eq!(fetched["data"], json!({"extra": "1"}));
    assert_eq!(fetched["metadata"]["uid"], created["metadata"]["uid"]);

    let deleted = send(&server, client.delete(&url)).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(server.deleted()[0]["metadata"]["name"], "npd-config");
    assert_eq!(get(&server, "/api/v1/namespaces/kubeeye/configmaps/npd-config").await.status, 404);
    assert_eq!(send(&server, client.delete(&url)).await.status, 404);

    assert_eq!(send(&server, merge("{}")).await.status, 404, "nothing to patch");
    let strategic = client.patch(&url).header("content-type", "application/strategic-merge-patch+json").body("{}");
    assert_eq!(send(&server, strategic).await.status, 415);
    let no_manager = client
        .patch(format!("{}/api/v1/namespaces/kubeeye/configmaps/npd-config", server.url()))
        .header("content-type", "application/apply-patch+yaml")
        .body(manifest);
    assert_eq!(send(&server, no_manager).await.status, 400);
}

#[tokio::test]
async fn the_serving_certificate_carries_the_planted_not_after() {
    let not_after = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() + time::Duration::days(20);
    let health = json!({
        "apiVersion": "kubeeye.io/v1",
        "kind": "APIServerHealth",
        "metadata": {"name": "apiserver"},
        "certificate": {"notAfter": not_after.format(&time::format_description::well_known::Rfc3339).unwrap()},
    });
    let server = FakeApiServer::start(FakeCluster::from_values(vec![health]), Options::default());
    let client = client_trusting(server.ca_pem());
    let response = client.get(format!("{}/version", server.url())).bearer_auth(server.token()).send().await.unwrap();
    let tls = response.extensions().get::<reqwest::tls::TlsInfo>().unwrap();
    let (_, certificate) = x509_parser::parse_x509_certificate(tls.peer_certificate().unwrap()).unwrap();
    assert_eq!(certificate.validity().not_after.timestamp(), not_after.unix_timestamp());
    assert_eq!(certificate.subject().to_string(), "CN=kube-apiserver");
}

#[tokio::test]
async fn a_client_trusting_another_ca_fails_the_handshake() {
    let server = start(Faults::default());
    let client = client_trusting(&FakeApiServer::unrelated_ca_pem());
    let error = client.get(format!("{}/version", server.url())).bearer_auth(TOKEN).send().await.unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    assert_eq!(server.stats().requests, 0);
}

#[tokio::test]
async fn kube_rs_reads_the_kubeconfig_and_pages_through_pods() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams};

    let server = start(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    server.kubeconfig(&path);
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    let pods: Api<Pod> = Api::all(kube::Client::try_from(config).unwrap());
    let mut seen = Vec::new();
    let mut params = ListParams::default().limit(2);
    loop {
        let page = pods.list(&params).await.unwrap();
        seen.extend(page.items.into_iter().map(|p| p.metadata.name.unwrap()));
        match page.metadata.continue_ {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let stats = server.stats();
    assert_eq!(stats.requests, 3);
    assert!(stats.body_bytes > 1000);
}

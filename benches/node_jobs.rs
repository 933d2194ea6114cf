//! Benchmark of the node-check orchestrator: 1,000 nodes behind the fake API
//! server, each node's pod succeeding after a simulated completion time.
//!
//! ```text
//! cargo bench --bench node_jobs                                  # 1,000 nodes, 2 s per node, 20 at once
//! cargo bench --bench node_jobs -- --nodes 200 --per-node-ms 500 --concurrency 50 --poll-ms 1000
//! ```
//!
//! Reports wall time, API requests (counted by the orchestrator and by the
//! server) and peak RSS. The fake server runs in the same process, so the RSS
//! is an upper bound for the orchestrator; the growth during the run is
//! printed beside it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness: failing loudly is the report

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use kubeeye::collect::client::{Api, ClusterAccess};
use kubeeye::collect::node_jobs::run_node_checks_until;
use kubeeye::config::NodeCheckSettings;
use serde_json::{Value, json};
use support::apiserver::{FakeApiServer, FakeCluster, Options, PodScript};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map_or(default, |v| v.parse().expect(name))
}

fn peak_rss_kib() -> i64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_SELF).expect("getrusage").max_rss()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs a small smoke version.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let nodes = arg("--nodes", if smoke { 50 } else { 1000 }) as usize;
    let per_node = Duration::from_millis(arg("--per-node-ms", if smoke { 20 } else { 2000 }));
    let concurrency = arg("--concurrency", 20) as usize;
    let poll = Duration::from_millis(arg("--poll-ms", if smoke { 20 } else { 1000 }));
    let names: Vec<String> = (0..nodes).map(|i| format!("worker-{i:05}")).collect();
    let values: Vec<Value> = names
        .iter()
        .map(|n| {
            json!({ "apiVersion": "v1", "kind": "Node", "metadata": { "name": n },
                    "status": { "conditions": [{ "type": "Ready", "status": "True" }] } })
        })
        .collect();
    let server = FakeApiServer::start(FakeCluster::from_values(values), Options::default());
    let result = json!({ "schemaVersion": 1, "checks": (0..20).map(|i| json!({ "rule": format!("r{i}"), "value": "1" })).collect::<Vec<_>>() });
    server.jobs().default_script = PodScript::result(&result, per_node);
    let dir = tempfile::tempdir().unwrap();
    server.kubeconfig(dir.path().join("kubeconfig"));
    let settings = NodeCheckSettings {
        image: Some("ghcr.io/kubeeye/kubeeye:bench".into()),
        concurrency,
        poll_interval: poll,
        pending_timeout: Duration::from_secs(60),
        per_node_timeout: Duration::from_secs(120),
        deadline: Duration::from_secs(3600),
        ..NodeCheckSettings::default()
    };
    let requests: Vec<(String, Value)> =
        names.iter().map(|n| (n.clone(), json!({ "rules": [{ "kind": "sysctl" }, { "kind": "clock" }] }))).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let rss_before = peak_rss_kib();
    let started = Instant::now();
    let outcome = runtime.block_on(async {
        let access = ClusterAccess { kubeconfig: Some(dir.path().join("kubeconfig")), context: None };
        let api = Api::new(&access, Duration::from_secs(30)).await.unwrap();
        run_node_checks_until(&api, &settings, "bench", requests, std::future::pending()).await
    });
    let wall = started.elapsed();
    let rss_after = peak_rss_kib();
    assert_eq!(outcome.results.len(), nodes, "{:?}", outcome.gaps.first());
    let served = server.stats().log.len();
    let ideal = (nodes as f64 / concurrency as f64).ceil() * per_node.as_secs_f64();
    println!(
        "node_jobs: {nodes} nodes, {} ms per node, concurrency {concurrency}, poll {} ms",
        per_node.as_millis(),
        poll.as_millis()
    );
    println!("  wall time      {:.2} s (floor {ideal:.2} s: nodes / concurrency x per-node time)", wall.as_secs_f64());
    println!(
        "  API requests   {} counted by the orchestrator, {served} served ({:.2} per node)",
        outcome.api_requests,
        outcome.api_requests as f64 / nodes as f64
    );
    println!(
        "  peak RSS       {:.1} MiB for the process (fake server included), +{:.1} MiB during the run",
        rss_after as f64 / 1024.0,
        (rss_after - rss_before) as f64 / 1024.0
    );
    println!("  peak Jobs      {}", server.jobs().peak);
}

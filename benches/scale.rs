//! Scale benchmark of a live inspection: a generated cluster behind the fake
//! API server, the real `ke` binary inspecting it, and a plain client that
//! only downloads every page as the floor to compare with.
//!
//! ```text
//! cargo bench --bench scale                         # 1,000 nodes, 30,000 pods, 60,000 events
//! cargo bench --bench scale -- --bare-every 0        # every pod owned by a hardened Deployment
//! cargo bench --bench scale -- --pods 3000          # same cluster with a tenth of the pods
//! cargo bench --bench scale -- --runs 5 --nodes 200
//! cargo bench --bench scale -- --largest            # 5,000 nodes, 150,000 pods, 300,000 events (1 run)
//! KUBEEYE_SCALE=largest cargo bench --bench scale   # the same
//! cargo bench --bench scale -- --no-floor --rss-profile 100   # ke alone, RSS every 100 ms
//! ```
//!
//! Reports, for `ke diag` and for the floor: median wall time over the runs,
//! peak RSS of the process (from `wait4`), findings in its JSON report, API
//! requests and response bytes (counted by the server). Both clients are
//! child processes, so their memory is measured alone. `--rss-profile MS`
//! samples `ke`'s resident set from `/proc` and prints when it grew, to see
//! which phase (listing, evaluation, rendering) holds the memory.
//!
//! The largest size is Kubernetes' own scalability limit and what the
//! CronJob's memory limit in `deploy/cronjob.yaml` is sized from; it needs
//! about 3 GiB for the fake API server's data and a few minutes, so it never
//! runs in the default test run (which runs a small smoke size).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness: failing loudly is the report

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::apiserver::{FakeApiServer, FakeCluster, Options};

struct Params {
    nodes: usize,
    pods: usize,
    events: usize,
    deployments: usize,
    /// Every n-th pod is a bare pod with an unhardened spec (0: none).
    bare_every: usize,
    runs: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--floor") => return floor::main(&args[1..]),
        Some("--measure") => return measure_child(&args[1..]),
        _ => {}
    }
    let arg = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name} takes a number")))
    };
    // `cargo bench` passes --bench; `cargo test --all-targets` runs a small smoke version.
    let smoke = !args.iter().any(|a| a == "--bench");
    let largest = args.iter().any(|a| a == "--largest")
        || std::env::var("KUBEEYE_SCALE").is_ok_and(|v| v == "largest" || v == "150k");
    // (nodes, pods, events, deployments, runs)
    let size = match (smoke, largest) {
        (_, true) => (5000, 150_000, 300_000, 5000, 1),
        (true, false) => (20, 300, 600, 20, 1),
        (false, false) => (1000, 30_000, 60_000, 1000, 3),
    };
    let p = Params {
        nodes: arg("--nodes", size.0),
        pods: arg("--pods", size.1),
        events: arg("--events", size.2),
        deployments: arg("--deployments", size.3),
        bare_every: arg("--bare-every", 10),
        runs: arg("--runs", size.4).max(1),
    };
    let floor = !args.iter().any(|a| a == "--no-floor");
    let rss_profile = arg("--rss-profile", 0);
    eprintln!("generating {} nodes, {} deployments, {} pods, {} events …", p.nodes, p.deployments, p.pods, p.events);
    let values = generate(&p);
    let server = FakeApiServer::start(FakeCluster::from_values(values), Options::default());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.kubeconfig(&kubeconfig);
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, server.ca_pem()).unwrap();

    let ke = env!("CARGO_BIN_EXE_ke");
    let mut ke_runs = Vec::new();
    let mut floor_runs = Vec::new();
    for run in 0..p.runs {
        server.reset_stats();
        let m = measure(
            // As the image runs it (deploy/Dockerfile).
            Command::new(ke).env(kubeeye::collect::ALLOCATOR_ENV.0, kubeeye::collect::ALLOCATOR_ENV.1).args([
                "diag",
                "--kubeconfig",
                kubeconfig.to_str().unwrap(),
                "-o",
                "json",
            ]),
            rss_profile,
        );
        let stats = server.stats();
        eprintln!(
            "run {run}: ke    {:>8.2} s {:>6} MiB {:>7} requests {:>6} MiB {:>8} findings",
            m.0.as_secs_f64(),
            m.1 / 1024,
            stats.requests,
            stats.body_bytes >> 20,
            m.3
        );
        ke_runs.push((m.0, m.1, stats.requests, stats.body_bytes, m.2, m.3));
        if !floor {
            continue;
        }
        server.reset_stats();
        let me = std::env::current_exe().unwrap();
        let m = measure(Command::new(me).args(["--floor", &server.url(), server.token(), ca.to_str().unwrap()]), 0);
        let stats = server.stats();
        eprintln!(
            "run {run}: floor {:>8.2} s {:>6} MiB {:>7} requests {:>6} MiB",
            m.0.as_secs_f64(),
            m.1 / 1024,
            stats.requests,
            stats.body_bytes >> 20
        );
        floor_runs.push((m.0, m.1, stats.requests, stats.body_bytes, m.2, m.3));
    }
    let median = |runs: &[Run]| {
        let mut t: Vec<Duration> = runs.iter().map(|r| r.0).collect();
        t.sort();
        t.get(t.len() / 2).copied().unwrap_or_default()
    };
    let (k, f) = (median(&ke_runs), median(&floor_runs));
    let peak = |runs: &[Run]| runs.iter().map(|r| r.1).max().unwrap_or(0);
    println!();
    println!(
        "cluster: {} nodes, {} deployments, {} pods, {} events; {} runs each",
        p.nodes, p.deployments, p.pods, p.events, p.runs
    );
    println!(
        "{:<8} {:>12} {:>14} {:>10} {:>10} {:>12} {:>12}",
        "client", "wall median", "peak RSS", "findings", "requests", "bytes", "stdout"
    );
    for (name, runs, wall) in [("ke", &ke_runs, k), ("floor", &floor_runs, f)] {
        let Some(l) = runs.last() else { continue };
        println!(
            "{:<8} {:>10.2} s {:>10.1} MiB {:>10} {:>10} {:>8.1} MiB {:>8.1} MiB",
            name,
            wall.as_secs_f64(),
            peak(runs) as f64 / 1024.0,
            l.5,
            l.2,
            l.3 as f64 / 1_048_576.0,
            l.4 as f64 / 1_048_576.0
        );
    }
    if floor {
        println!("ratio ke / floor (wall): {:.2}", k.as_secs_f64() / f.as_secs_f64());
    }
}

/// Wall time, peak RSS (KiB), requests, response bytes, stdout bytes, findings.
type Run = (Duration, u64, u64, u64, usize, u64);

/// Runs a child to completion through a measuring process (this binary with
/// `--measure`), so the peak RSS reported is the child's alone: wall time,
/// peak RSS in KiB, stdout bytes, findings (`"fingerprint"` keys on stdout).
fn measure(cmd: &mut Command, rss_profile_ms: usize) -> (Duration, u64, usize, u64) {
    let me = std::env::current_exe().unwrap();
    let mut wrapped = Command::new(me);
    wrapped.arg("--measure").arg(rss_profile_ms.to_string()).arg(cmd.get_program()).args(cmd.get_args());
    let out = wrapped.stderr(Stdio::inherit()).output().expect("start the measuring process");
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<u64> = text.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    assert_eq!(fields.len(), 5, "measure output: {text}");
    assert!(fields[3] <= 3, "child exited with {}", fields[3]);
    (Duration::from_millis(fields[0]), fields[1], usize::try_from(fields[2]).unwrap(), fields[4])
}

/// `--measure MS PROGRAM ARGS…`: runs the program, then prints wall
/// milliseconds, its peak RSS (KiB, from getrusage of children), stdout
/// bytes, exit code and findings. With MS > 0, samples the child's RSS from
/// `/proc` every MS milliseconds and prints each growth of 16 MiB or more to
/// stderr, with the time since start.
fn measure_child(args: &[String]) {
    use nix::sys::resource::{UsageWho, getrusage};
    let every: u64 = args[0].parse().expect("--measure MS PROGRAM");
    let args = &args[1..];
    let start = Instant::now();
    let mut child = Command::new(&args[0]).args(&args[1..]).stdout(Stdio::piped()).spawn().expect("start child");
    let sampler = (every > 0).then(|| {
        let status = format!("/proc/{}/status", child.id());
        std::thread::spawn(move || {
            let mut shown = 0u64;
            while let Ok(text) = std::fs::read_to_string(&status) {
                let rss = text
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                    .unwrap_or(0);
                if rss >= shown + 16 * 1024 || rss + 64 * 1024 < shown {
                    eprintln!("  rss {:>7.2} s {:>6} MiB", start.elapsed().as_secs_f64(), rss / 1024);
                    shown = rss;
                }
                std::thread::sleep(Duration::from_millis(every));
            }
        })
    });
    let mut stdout = child.stdout.take().unwrap();
    let (bytes, findings) = count_findings(&mut stdout);
    let status = child.wait().expect("wait for child");
    let elapsed = start.elapsed();
    if let Some(s) = sampler {
        let _ = s.join();
    }
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    println!("{} {} {} {} {}", elapsed.as_millis(), usage.max_rss(), bytes, status.code().unwrap_or(255), findings);
}

/// Reads a stream to its end: its length and how many `"fingerprint"` keys it
/// holds (one per finding in a JSON report), without keeping it.
fn count_findings(input: &mut impl std::io::Read) -> (u64, u64) {
    const KEY: &[u8] = b"\"fingerprint\"";
    let (mut bytes, mut found) = (0u64, 0u64);
    let mut buf = vec![0u8; 1 << 16];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        bytes += n as u64;
        carry.extend_from_slice(&buf[..n]);
        found += carry.windows(KEY.len()).filter(|w| *w == KEY).count() as u64;
        let keep = carry.len().min(KEY.len() - 1);
        carry.drain(..carry.len() - keep);
    }
    (bytes, found)
}

/// A cluster of the given size: nodes with metrics and summaries, Deployments
/// with ReplicaSets and running pods (a few crash-looping, a few with error
/// logs), one pod in ten a bare pod nobody hardened (so findings grow with the
/// cluster, about 1.3 per pod as in the clusters of issue 13), and Warning
/// events over a fixed set of objects.
fn generate(p: &Params) -> Vec<Value> {
    let mut v = Vec::with_capacity(p.nodes * 3 + p.pods + p.events + p.deployments * 2);
    let now = kubeeye::clock::now();
    let at = |ago: i64| kubeeye::clock::format(jiff::Timestamp::from_second(now.as_second() - ago).unwrap());
    v.push(json!({"apiVersion": "kubeeye.io/v1", "kind": "APIServerHealth", "metadata": {"name": "apiserver"},
        "readyz": {"status": 200, "body": "[+]ping ok\n[+]etcd ok\nreadyz check passed\n"}, "livez": {"status": 200, "body": "ok"}}));
    for name in ["kube-scheduler", "kube-controller-manager"] {
        v.push(json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name, "namespace": "kube-system"},
            "spec": {"holderIdentity": "cp-0", "leaseDurationSeconds": 15, "renewTime": at(3)}}));
    }
    for n in 0..p.nodes {
        let name = format!("node-{n:04}");
        let ready = if n % 250 == 7 {
            ("False", "KubeletNotReady", "PLEG is not healthy")
        } else {
            ("True", "KubeletReady", "kubelet is posting ready status")
        };
        v.push(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {"allocatable": {"cpu": "16", "memory": "64Gi", "pods": "110"}, "capacity": {"cpu": "16", "memory": "64Gi", "pods": "110"},
              "conditions": [
                {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": at(20)},
                {"type": "DiskPressure", "status": "False", "lastHeartbeatTime": at(20)},
                {"type": "KernelDeadlock", "status": "False", "reason": "KernelHasNoDeadlock", "lastHeartbeatTime": at(20)},
                {"type": "Ready", "status": ready.0, "reason": ready.1, "message": ready.2, "lastHeartbeatTime": at(20)}],
              "nodeInfo": {"kubeletVersion": "v1.35.0"}}}));
        v.push(json!({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics", "metadata": {"name": name},
            "timestamp": at(30), "window": "20s", "usage": {"cpu": format!("{}m", 2000 + (n * 37) % 13000), "memory": format!("{}Mi", 8000 + (n * 97) % 50000)}}));
        v.push(json!({"apiVersion": "kubeeye.io/v1", "kind": "KubeletSummary", "metadata": {"name": name},
            "node": {"nodeName": name, "fs": {"availableBytes": 20_000_000_000u64 + (n as u64 * 7_919_000_000) % 80_000_000_000, "capacityBytes": 107_374_182_400u64, "inodesFree": 5_000_000, "inodes": 6_553_600},
              "runtime": {"imageFs": {"availableBytes": 50_000_000_000u64, "capacityBytes": 107_374_182_400u64}}}}));
    }
    let namespaces = 20;
    for ns in 0..namespaces {
        v.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("team-{ns:02}")}}));
    }
    let per_deploy = p.pods.div_ceil(p.deployments.max(1));
    let mut pod_names = Vec::with_capacity(p.pods);
    for d in 0..p.deployments {
        let ns = format!("team-{:02}", d % namespaces);
        let app = format!("app-{d:04}");
        let hash = format!("{:09x}", 0x5c9f7b6d4u64 + d as u64);
        let container = json!({"name": "app", "image": format!("registry.example.com/{app}:1.{d}"), "imagePullPolicy": "Always",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}, "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
            "securityContext": {"runAsNonRoot": true, "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}});
        v.push(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app, "namespace": ns, "labels": {"app": app}},
            "spec": {"replicas": per_deploy, "selector": {"matchLabels": {"app": app}},
              "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [container], "automountServiceAccountToken": false}}}}));
        v.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": format!("{app}-{hash}"), "namespace": ns,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "controller": true, "uid": "u"}]},
            "spec": {"replicas": per_deploy, "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{"name": "app", "image": "x"}]}}}}));
        for r in 0..per_deploy {
            if pod_names.len() >= p.pods {
                break;
            }
            let i = pod_names.len();
            if p.bare_every > 0 && i % p.bare_every == p.bare_every - 1 {
                // A pod nothing owns (a debug pod, a CI runner, an operator's
                // worker): judged on its own, with the findings of a spec
                // nobody hardened: ten or so per pod, as in real clusters.
                let pod = format!("{app}-debug-{r:05}");
                v.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod, "namespace": ns, "labels": {"run": pod}},
                    "spec": {"nodeName": format!("node-{:04}", i % p.nodes.max(1)),
                      "containers": [{"name": "shell", "image": format!("registry.example.com/tools/debug-{}:latest", d % 50)}]},
                    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                      "containerStatuses": [{"name": "shell", "image": "x", "ready": true, "restartCount": 0,
                        "state": {"running": {"startedAt": at(3600)}}}]}}));
                pod_names.push((ns.clone(), pod));
                continue;
            }
            let pod = format!("{app}-{hash}-{r:05}");
            let state = if i % 997 == 5 {
                json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}})
            } else {
                json!({"running": {"startedAt": at(86_400 * 3)}})
            };
            v.push(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod, "namespace": ns,
                "labels": {"app": app, "pod-template-hash": hash},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{app}-{hash}"), "controller": true, "uid": "u"}]},
                "spec": {"nodeName": format!("node-{:04}", i % p.nodes.max(1)), "containers": [container]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                  "containerStatuses": [{"name": "app", "image": "x", "ready": true, "restartCount": 0, "state": state}]}}));
            if i % 100 == 3 {
                v.push(json!({"apiVersion": "kubeeye.io/v1", "kind": "ContainerLog", "metadata": {"namespace": ns, "name": format!("{pod}.app")},
                    "pod": pod, "container": "app",
                    "log": "INFO start\nERROR open /etc/app/config.yaml: no such file or directory\nINFO retry\n".repeat(20)}));
            }
            pod_names.push((ns.clone(), pod));
        }
    }
    // Events over a fixed set of objects, so the grouped result does not depend on the pod count.
    let targets = pod_names.len().clamp(1, 2000);
    let reasons = ["BackOff", "Unhealthy", "FailedMount"];
    for e in 0..p.events {
        let Some((ns, pod)) = pod_names.get(e % targets) else { break };
        let reason = reasons[(e / targets) % reasons.len()];
        v.push(json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("{pod}.{e:x}"), "namespace": ns},
            "type": "Warning", "reason": reason, "message": format!("{reason} for {pod}: readiness probe failed: HTTP probe failed with statuscode: 503"),
            "count": 1 + e % 5, "firstTimestamp": at(3600 + (e % 3600) as i64), "lastTimestamp": at((e % 3600) as i64),
            "involvedObject": {"kind": "Pod", "name": pod, "namespace": ns}, "source": {"component": "kubelet"}}));
    }
    v
}

/// The floor: a plain client that downloads every page ke downloads — the
/// same lists and page size, the same health, metrics, summary and log
/// requests at the same concurrency — and does nothing with them.
mod floor {
    use super::*;

    pub fn main(args: &[String]) {
        let (url, token, ca) = (args[0].clone(), args[1].clone(), args[2].clone());
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(run(url, token, ca));
    }

    async fn run(url: String, token: String, ca: String) {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let cert = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
        let client = reqwest::Client::builder().tls_certs_only([cert]).build().unwrap();
        let c = Arc::new(Client { http: client, url, token });
        let lists = Arc::new(tokio::sync::Semaphore::new(8));
        let logs = Arc::new(tokio::sync::Semaphore::new(16));
        let mut tasks = tokio::task::JoinSet::new();
        for path in ["/version", "/readyz?verbose", "/livez"] {
            let c = c.clone();
            tasks.spawn(async move {
                c.get(path).await;
            });
        }
        let mut paths: Vec<String> = kubeeye::collect::resources::RESOURCES.iter().map(|r| r.path(None)).collect();
        paths.push(kubeeye::collect::resources::LEASES.path(Some("kube-system")));
        paths.push(kubeeye::collect::resources::NODE_METRICS.path(None));
        for path in paths {
            let (c, lists, logs) = (c.clone(), lists.clone(), logs.clone());
            tasks.spawn(async move {
                let query = if path.ends_with("/events") { "&fieldSelector=type%3DWarning" } else { "" };
                let is_pods = path == "/api/v1/pods";
                let is_nodes = path == "/api/v1/nodes";
                let mut next: Option<String> = None;
                let mut inner = tokio::task::JoinSet::new();
                loop {
                    let mut p = format!("{path}?limit=500{query}");
                    if let Some(t) = &next {
                        p.push_str("&continue=");
                        p.push_str(&url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>());
                    }
                    let body = {
                        let _permit = lists.acquire().await.unwrap();
                        c.get(&p).await
                    };
                    let page: Page = serde_json::from_slice(&body).unwrap_or_default();
                    for item in page.items {
                        let name = item.metadata.name;
                        if is_nodes {
                            let (c, lists) = (c.clone(), lists.clone());
                            inner.spawn(async move {
                                let _permit = lists.acquire().await.unwrap();
                                c.get(&format!("/api/v1/nodes/{name}/proxy/stats/summary")).await;
                            });
                        } else if is_pods {
                            let ns = item.metadata.namespace.unwrap_or_default();
                            for cs in item.status.container_statuses.into_iter().filter(|c| c.state.get("running").is_some()) {
                                let (c, logs, ns, name) = (c.clone(), logs.clone(), ns.clone(), name.clone());
                                inner.spawn(async move {
                                    let _permit = logs.acquire().await.unwrap();
                                    c.get(&format!("/api/v1/namespaces/{ns}/pods/{name}/log?container={}&tailLines=200&limitBytes=262144&sinceSeconds=86400", cs.name)).await;
                                });
                            }
                        }
                    }
                    next = page.metadata.next.filter(|t| !t.is_empty());
                    if next.is_none() {
                        break;
                    }
                }
                while inner.join_next().await.is_some() {}
            });
        }
        while tasks.join_next().await.is_some() {}
    }

    struct Client {
        http: reqwest::Client,
        url: String,
        token: String,
    }

    impl Client {
        async fn get(&self, path: &str) -> bytes::Bytes {
            let response = self.http.get(format!("{}{path}", self.url)).bearer_auth(&self.token).send().await.unwrap();
            response.bytes().await.unwrap_or_default()
        }
    }

    #[derive(serde::Deserialize, Default)]
    struct Page {
        #[serde(default)]
        metadata: ListMeta,
        #[serde(default)]
        items: Vec<Item>,
    }

    #[derive(serde::Deserialize, Default)]
    struct ListMeta {
        #[serde(rename = "continue", default)]
        next: Option<String>,
    }

    #[derive(serde::Deserialize, Default)]
    struct Item {
        #[serde(default)]
        metadata: Meta,
        #[serde(default)]
        status: Status,
    }

    #[derive(serde::Deserialize, Default)]
    struct Meta {
        #[serde(default)]
        name: String,
        #[serde(default)]
        namespace: Option<String>,
    }

    #[derive(serde::Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Status {
        #[serde(default)]
        container_statuses: Vec<ContainerStatus>,
    }

    #[derive(serde::Deserialize, Default)]
    struct ContainerStatus {
        #[serde(default)]
        name: String,
        #[serde(default)]
        state: Value,
    }
}

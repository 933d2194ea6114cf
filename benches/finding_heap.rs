//! Heap held per finding: what a report of 200,000 findings costs in memory.
//!
//! dhat's counting global allocator measures the bytes still allocated after the
//! built-in rules evaluated a generated inventory (workloads half hardened
//! and half not, their pods, a few crash-looping, Warning events), less what
//! was allocated before: the findings, the vector holding them, and what the
//! evaluation keeps beside them. Divided by the number of findings, it is
//! the cost of one finding; the goal is at most 400 bytes.
//!
//! ```text
//! cargo bench --bench finding_heap                  # 10,000 workloads
//! cargo bench --bench finding_heap -- --workloads 2000
//! ```
//!
//! `cargo test --all-targets` runs it on 500 workloads and fails above the goal.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness: failing loudly is the report

use kubeeye::checks;
use kubeeye::inventory::{Inventory, Object};
use kubeeye::rules::RuleSet;
use serde_json::{Value, json};

/// Bytes of heap per finding the report may hold on average.
const GOAL: f64 = 400.0;

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = !args.iter().any(|a| a == "--bench");
    let workloads = args
        .iter()
        .position(|a| a == "--workloads")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 500 } else { 10_000 });
    let _profiler = dhat::Profiler::builder().testing().build();
    let rules = RuleSet::builtin().expect("built-in rules load");
    let inventory = generate(workloads);
    // Warm up what is allocated once per process (rule schemas, interned rule texts).
    drop(checks::evaluate(&generate(20), &rules));

    let before = dhat::HeapStats::get().curr_bytes;
    let evaluation = checks::evaluate(&inventory, &rules);
    let held = dhat::HeapStats::get().curr_bytes.saturating_sub(before);
    let findings = evaluation.findings.len();
    assert!(findings > workloads, "too few findings to measure: {findings}");
    let per = held as f64 / findings as f64;
    println!(
        "{workloads} workloads: {findings} findings hold {:.1} MiB: {per:.0} B per finding (goal ≤ {GOAL:.0}; {} B of it the Finding itself)",
        held as f64 / 1_048_576.0,
        std::mem::size_of::<kubeeye::report::Finding>()
    );
    assert!(per <= GOAL, "{per:.0} B of heap per finding, over the goal of {GOAL:.0}");
}

fn generate(workloads: usize) -> Inventory {
    let mut inv = Inventory::default();
    let kinds = [("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet")];
    for i in 0..workloads {
        let ns = format!("team-{:02}", i % 50);
        let (api, kind) = kinds[i % kinds.len()];
        let hardened = i % 2 == 0;
        let app = format!("app-{i:05}");
        let template = json!({
            "metadata": {"labels": {"app": app}},
            "spec": {
                "securityContext": if hardened { json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}) } else { json!({}) },
                "automountServiceAccountToken": !hardened,
                "containers": [container("app", hardened, i), container("proxy", hardened, i)]
            }
        });
        push(
            &mut inv,
            json!({"apiVersion": api, "kind": kind, "metadata": {"name": app, "namespace": ns},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": app}}, "template": template}}),
        );
        for r in 0..2 {
            let pod = format!("{app}-{r}");
            let state = if i % 10 == 3 {
                json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}})
            } else {
                json!({"running": {"startedAt": "2026-11-25T01:00:00Z"}})
            };
            push(
                &mut inv,
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod, "namespace": ns, "labels": {"app": app},
                    "ownerReferences": [{"apiVersion": api, "kind": kind, "name": app, "controller": true, "uid": "u"}]},
                    "spec": {"nodeName": "node-1", "containers": [container("app", hardened, i)]},
                    "status": {"phase": "Running", "containerStatuses": [{"name": "app", "ready": false, "restartCount": 9, "state": state}]}}),
            );
            if i % 4 == 1 {
                push(
                    &mut inv,
                    json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("{pod}.{r}"), "namespace": ns},
                        "type": "Warning", "reason": "Unhealthy", "message": format!("Readiness probe failed for {pod}: HTTP probe failed with statuscode: 503"),
                        "count": 3, "firstTimestamp": "2026-11-25T01:00:00Z", "lastTimestamp": "2026-11-25T01:50:00Z",
                        "involvedObject": {"kind": "Pod", "name": pod, "namespace": ns}}),
                );
            }
        }
    }
    inv.collected_at = Some("2026-11-25T02:00:00Z".into());
    inv
}

fn container(name: &str, hardened: bool, i: usize) -> Value {
    if hardened {
        json!({"name": name, "image": format!("registry.example.com/team/{name}:1.{i}"), "imagePullPolicy": "Always",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
            "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}})
    } else {
        json!({"name": name, "image": format!("{name}:latest"), "securityContext": {"privileged": i.is_multiple_of(7)}})
    }
}

fn push(inv: &mut Inventory, v: Value) {
    inv.push(Object::from_value(v).expect("generated object has kind and name"));
}

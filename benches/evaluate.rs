//! Rule evaluation over a generated inventory of 10,000 pod templates.
//!
//! Run with `cargo bench --bench evaluate`. The inventory mixes Deployments,
//! StatefulSets, DaemonSets and CronJobs with two containers each, half of
//! them hardened and half not, plus the PDBs, HPAs and NetworkPolicies the
//! relation checks look up, so every built-in rule does real work.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kubeeye::checks;
use kubeeye::inventory::{Inventory, Object};
use kubeeye::rules::RuleSet;
use serde_json::{Value, json};

const WORKLOADS: usize = 10_000;

fn container(name: &str, hardened: bool, i: usize) -> Value {
    if hardened {
        json!({
            "name": name, "image": format!("registry.example.com/team/{name}:1.{i}"), "imagePullPolicy": "Always",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
            "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                                "capabilities": {"drop": ["ALL"]}},
            "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}],
            "ports": [{"containerPort": 8080}]
        })
    } else {
        json!({
            "name": name, "image": format!("{name}:latest"),
            "securityContext": {"privileged": i.is_multiple_of(7)},
            "env": [{"name": "API_TOKEN", "value": "not-a-real-token"}],
            "ports": [{"containerPort": 80, "hostPort": if i.is_multiple_of(5) { 80 } else { 0 }}]
        })
    }
}

fn generate() -> Inventory {
    let mut inv = Inventory::default();
    let kinds =
        [("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"), ("batch/v1", "CronJob")];
    for i in 0..WORKLOADS {
        let ns = format!("team-{}", i % 50);
        let (api, kind) = kinds[i % kinds.len()];
        let hardened = i % 2 == 0;
        let template = json!({
            "metadata": {"labels": {"app": format!("app-{i}")}},
            "spec": {
                "securityContext": if hardened { json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}) } else { json!({}) },
                "automountServiceAccountToken": !hardened,
                "hostNetwork": !hardened && i % 3 == 0,
                "containers": [container("app", hardened, i), container("proxy", hardened, i)],
                "volumes": [{"name": "tmp", "emptyDir": {}}]
            }
        });
        let spec = if kind == "CronJob" {
            json!({"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": template}}})
        } else {
            json!({"replicas": if hardened { 3 } else { 1 }, "selector": {"matchLabels": {"app": format!("app-{i}")}}, "template": template})
        };
        push(
            &mut inv,
            json!({"apiVersion": api, "kind": kind, "metadata": {"name": format!("app-{i}"), "namespace": ns}, "spec": spec}),
        );
        if hardened {
            push(
                &mut inv,
                json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                "metadata": {"name": format!("app-{i}"), "namespace": ns},
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": format!("app-{i}")}}}}),
            );
        }
    }
    for n in 0..50 {
        push(
            &mut inv,
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", "namespace": format!("team-{n}")},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}),
        );
    }
    inv
}

fn push(inv: &mut Inventory, v: Value) {
    inv.push(Object::from_value(v).expect("generated object has kind and name"));
}

fn bench(c: &mut Criterion) {
    let inventory = generate();
    let mut rules = RuleSet::builtin().expect("built-in rules load");
    rules.enable_all();
    let workloads = checks::workload::workloads(&inventory).len();
    let findings = checks::evaluate(&inventory, &rules).findings.len();
    eprintln!("{workloads} workloads, {} rules, {findings} findings per evaluation", rules.rules.len());
    let mut group = c.benchmark_group("evaluate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(workloads as u64));
    group.bench_function("10k_pod_templates_all_rules", |b| {
        b.iter(|| black_box(checks::evaluate(black_box(&inventory), &rules)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

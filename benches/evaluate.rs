//! Rule evaluation over a generated inventory of 10,000 pod templates.
//!
//! Run with `cargo bench --bench evaluate`. The inventory mixes Deployments,
//! StatefulSets, DaemonSets and CronJobs with two containers each, half of
//! them hardened and half not, plus the PDBs, HPAs and NetworkPolicies the
//! relation checks look up, so every built-in rule does real work.
//!
//! The same inventory is then evaluated by 20 Rego modules written as
//! KubeEye wrote them (a `deny[msg]` per module, a helper with one body per
//! kind of workload), alone, for the cost of a Rego rule beside a built-in one.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kubeeye::checks;
use kubeeye::inventory::{Inventory, Object};
use kubeeye::rules::RuleSet;
use serde_json::{Value, json};

const WORKLOADS: usize = 10_000;
/// Under `cargo test --benches` each function runs once, unoptimised, only to
/// show the bench still works: a tenth of the inventory does that.
const WORKLOADS_IN_TEST_MODE: usize = 1_000;

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

fn generate(workloads: usize) -> Inventory {
    let mut inv = Inventory::default();
    let kinds =
        [("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"), ("batch/v1", "CronJob")];
    for i in 0..workloads {
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

/// Twenty KubeEye-style workload modules: `(id, predicate on container c and object o)`.
const REGO_RULES: &[(&str, &str)] = &[
    ("regoPrivileged", "c.securityContext.privileged == true"),
    ("regoHostNetwork", "pod_spec(o).hostNetwork == true"),
    ("regoHostPID", "pod_spec(o).hostPID == true"),
    ("regoHostIPC", "pod_spec(o).hostIPC == true"),
    ("regoLatestTag", "regex.match(`(:latest$)|(^[^:]+$)`, c.image)"),
    ("regoNoCpuLimits", "not c.resources.limits.cpu"),
    ("regoNoMemoryLimits", "not c.resources.limits.memory"),
    ("regoNoCpuRequests", "not c.resources.requests.cpu"),
    ("regoNoMemoryRequests", "not c.resources.requests.memory"),
    ("regoNoLivenessProbe", "not c.livenessProbe"),
    ("regoNoReadinessProbe", "not c.readinessProbe"),
    ("regoWritableRoot", "not c.securityContext.readOnlyRootFilesystem == true"),
    ("regoPrivilegeEscalation", "not c.securityContext.allowPrivilegeEscalation == false"),
    ("regoRunAsRoot", "not pod_spec(o).securityContext.runAsNonRoot == true"),
    ("regoHostPort", "c.ports[_].hostPort > 0"),
    ("regoAutomountToken", "not pod_spec(o).automountServiceAccountToken == false"),
    ("regoPullPolicy", "not c.imagePullPolicy == \"Always\""),
    ("regoCapabilitiesNotDropped", "not dropped_all(c)"),
    ("regoSecretInEnv", "e := c.env[_]; regex.match(`(?i)(password|token|secret)`, e.name); e.value"),
    ("regoNoSeccomp", "not pod_spec(o).securityContext.seccompProfile"),
];

/// One module, as KubeEye wrote them.
fn rego_module(id: &str, predicate: &str) -> String {
    format!(
        r#"package kubeeye_bench_{id}

workloadsType := {{"Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"}}

deny[msg] {{
    o := input.Object
    c := pod_spec(o).containers[_]
    bad(c, o)
    msg := {{
        "Name": o.metadata.name,
        "Namespace": o.metadata.namespace,
        "Type": o.kind,
        "Level": "warning",
        "Message": "{id}"
    }}
}}

pod_spec(o) = s {{ o.kind == "Pod"; s := o.spec }}
pod_spec(o) = s {{ workloadsType[o.kind]; s := o.spec.template.spec }}
pod_spec(o) = s {{ o.kind == "CronJob"; s := o.spec.jobTemplate.spec.template.spec }}

dropped_all(c) {{ c.securityContext.capabilities.drop[_] == "ALL" }}

bad(c, o) {{ {predicate} }}
"#
    )
}

/// The twenty Rego rules and nothing else.
fn rego_rules() -> RuleSet {
    let sources: Vec<(String, String, bool)> =
        REGO_RULES.iter().map(|(id, p)| (format!("{id}.rego"), rego_module(id, p), false)).collect();
    RuleSet::from_sources(&sources).expect("the Rego modules compile")
}

fn bench(c: &mut Criterion) {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    let measuring = std::env::args().any(|a| a == "--bench");
    let inventory = generate(if measuring { WORKLOADS } else { WORKLOADS_IN_TEST_MODE });
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
    let rego = rego_rules();
    // The modules run cleanly: checked on a slice, so test mode (`cargo test --benches`) stays quick.
    let mut sample = Inventory::default();
    for object in inventory.objects.iter().take(if measuring { 200 } else { 50 }) {
        sample.push(object.clone());
    }
    let evaluation = checks::evaluate(&sample, &rego);
    assert!(evaluation.gaps.is_empty() && !evaluation.findings.is_empty(), "{:?}", evaluation.gaps.first());
    // In test mode the whole inventory through regorus would take minutes, the slice a few seconds.
    let rego_inventory = if measuring { &inventory } else { &sample };
    eprintln!("{} objects, {} Rego rules", rego_inventory.objects.len(), rego.rules.len());
    group.bench_function("10k_pod_templates_20_rego_rules", |b| {
        b.iter(|| black_box(checks::evaluate(black_box(rego_inventory), &rego)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

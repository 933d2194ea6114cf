//! A generated report of any size, for the render benchmark and the browser
//! test of a large page: findings of the built-in rules spread over sections,
//! namespaces and objects the way a large cluster's are (mostly workloads,
//! then events, pods and logs, a few nodes and control plane components).

use kubeeye::checks;
use kubeeye::inventory::section;
use kubeeye::report::{Cluster, Finding, Report, RuleDoc, SCHEMA_VERSION, Summary, Text, Tool, sort_findings};
use kubeeye::rules::{Rule, RuleSet, Target};

/// A report with exactly `n` findings, deterministic for a given `n`.
pub fn report(n: usize) -> Report {
    let mut rules = RuleSet::builtin().expect("built-in rules load");
    rules.enable_all();
    let by_section = |wanted: &str| -> Vec<&Rule> {
        rules.rules.iter().filter(|r| r.severity.is_some() && checks::section_of(r) == wanted).collect()
    };
    let workload = by_section(section::WORKLOADS);
    let pools: [(&str, Vec<&Rule>, usize); 6] = [
        (section::WORKLOADS, workload, 70),
        (section::EVENTS, by_section(section::EVENTS), 10),
        (section::PODS, by_section(section::PODS), 8),
        (section::LOGS, by_section(section::LOGS), 8),
        (section::NODES, by_section(section::NODES), 3),
        (section::CONTROL_PLANE, by_section(section::CONTROL_PLANE), 1),
    ];
    let weights: usize = pools.iter().map(|p| p.2).sum();
    let mut findings = Vec::with_capacity(n);
    let mut i = 0usize;
    while findings.len() < n {
        let slot = i % weights;
        let mut acc = 0;
        let (sec, pool, _) = pools
            .iter()
            .find(|p| {
                acc += p.2;
                slot < acc
            })
            .expect("weights cover every slot");
        let rule = pool[(i / weights) % pool.len().max(1)];
        findings.push(finding(rule, sec, i));
        i += 1;
    }
    sort_findings(&mut findings);
    let docs =
        findings.iter().filter_map(|f| rules.get(&f.rule).map(|r| (f.rule.to_string(), RuleDoc::of(r)))).collect();
    Report {
        schema_version: SCHEMA_VERSION.into(),
        tool: Tool { name: "kubeeye".into(), version: "0.0.0-test".into() },
        cluster: Cluster { name: "synthetic".into(), sources: vec![format!("generated: {n} findings")] },
        started_at: "2026-11-25T02:00:00Z".into(),
        finished_at: "2026-11-25T02:03:10Z".into(),
        complete: true,
        health: Some(kubeeye::report::Health {
            status: kubeeye::report::HealthStatus::Degraded,
            reasons: vec!["2 nodes NotReady".into(), "PodCrashLooping in 3 workloads".into()],
        }),
        overview: Some(kubeeye::report::Overview {
            kubernetes_version: Some("v1.30.4".into()),
            nodes: kubeeye::report::NodesOverview {
                total: 40,
                ready: 38,
                roles: [("control-plane".to_string(), 3), ("<none>".to_string(), 37)].into(),
                kubelet_versions: [("v1.30.4".to_string(), 40)].into(),
                container_runtimes: [("containerd://1.7.13".to_string(), 40)].into(),
            },
            namespaces: 120,
            workloads: [("Deployment".to_string(), n / 10), ("StatefulSet".to_string(), n / 100)].into(),
            pods: [("Running".to_string(), n / 3), ("Pending".to_string(), 12)].into(),
            node_problem_detector: true,
            metrics_api: Some(true),
        }),
        summary: Summary::from_findings(&findings, n * 3),
        coverage: vec![],
        findings,
        exemptions: Vec::new(),
        scope: None,
        rules: docs,
        diff: None,
        node_checks: None,
        node_files: Default::default(),
    }
}

fn finding(rule: &Rule, sec: &str, i: usize) -> Finding {
    let ns = format!("team-{:02}", i % 60);
    let (kind, namespace, name, container) = match rule.target {
        Target::Node => ("Node", None, format!("node-{:03}", i % 200), None),
        Target::Cluster => ("ControlPlane", None, ["etcd", "kube-apiserver", "kube-scheduler"][i % 3].into(), None),
        Target::Event | Target::PodStatus | Target::ContainerLog => {
            ("Pod", Some(ns), format!("svc-{}-7d4b9c8f5-{:05x}", i % 700, i), Some("app".to_string()))
        }
        Target::Container => {
            ("Deployment", Some(ns), format!("svc-{}", i % 2000), Some(["app", "proxy"][i % 2].to_string()))
        }
        _ => (["Deployment", "StatefulSet", "DaemonSet"][i % 3], Some(ns), format!("svc-{}", i % 2000), None),
    };
    // Shared the way `Finding::new` shares them.
    let mut f = Finding {
        rule: Text::interned(&rule.id),
        severity: rule.severity.unwrap_or(kubeeye::report::Severity::Warning),
        category: Text::interned(&rule.category),
        section: Text::interned(sec),
        kind: Text::interned(kind),
        namespace: namespace.as_deref().map(Text::interned),
        name: name.into(),
        container: None,
        message: Text::interned(&rule.failure_message),
        remediation: Text::interned(&rule.remediation),
        fingerprint: Text::default(),
        reason: None,
        count: None,
        first_seen: None,
        last_seen: None,
        status: None,
        pods: None,
        source: None,
    }
    .with_container(container.as_deref());
    // Unique identity per finding, as the checks guarantee.
    f.name = format!("{}-{i}", f.name).into();
    f.fingerprint = Finding::fingerprint_of(&f.rule, &f.kind, f.namespace.as_deref(), &f.name, f.container.as_deref());
    if matches!(rule.target, Target::Event | Target::ContainerLog | Target::Node) {
        f.count = Some((i % 40 + 1) as u64);
        f.last_seen = Some(format!("2026-11-25T01:{:02}:00Z", i % 60).into());
    }
    if matches!(rule.target, Target::Event) {
        f.reason = Some(["BackOff", "FailedMount", "Unhealthy", "FailedScheduling"][i % 4].into());
        f.message = format!("Back-off restarting failed container app in pod {} (attempt {})", f.name, i % 97).into();
    }
    if matches!(rule.target, Target::ContainerLog) {
        f.message = format!(
            "{} (3 lines), e.g.: 2026-11-25T01:{:02}:30Z ERROR write /data/wal/{i:06}.log",
            rule.failure_message,
            i % 60
        )
        .into();
    }
    f
}

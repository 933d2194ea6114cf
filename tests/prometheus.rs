//! PromQL rules against a real Prometheus (Debian's package), started by the
//! tests on history they wrote: six hours of node-exporter and
//! kube-state-metrics series, so that `predict_linear`, `deriv` and
//! `max_over_time` have something to work on. Series planted to fire must
//! be findings; series planted not to fire must not. The snapshot inspected
//! is taken "now", and the queries are asked at its time.

use serde_json::{Value, json};

use crate::common::cli::{Run, ke_with};
use crate::support::apiserver::{FakeApiServer, FakeCluster, Options};
use crate::support::prometheus::{BearerProxy, History, PASSWORD, PromServer, USER};

const HOUR: i64 = 3600;

/// The inspection's time: two minutes ago, on a whole minute.
fn inspection_time() -> i64 {
    let now = jiff::Timestamp::now().as_second();
    now - now % 60 - 120
}

/// Six hours of node-exporter and kube-state-metrics history ending at `t`.
fn history(t: i64) -> History {
    let range = (t - 6 * HOUR, t, 60);
    let fraction = |at: i64| (at - range.0) as f64 / (6 * HOUR) as f64;
    let mut h = History::default();
    let fs = |instance: &'static str, mountpoint: &'static str| {
        [
            ("device", "/dev/sda1"),
            ("fstype", "ext4"),
            ("instance", instance),
            ("job", "node-exporter"),
            ("mountpoint", mountpoint),
        ]
    };
    // worker-1: `/` and `/var` lose 24 GB in six hours, down to 6 %: full within a day.
    for mountpoint in ["/", "/var"] {
        h.gauge("node_filesystem_avail_bytes", &fs("worker-1:9100", mountpoint), range, |at| {
            Some(30e9 - 24e9 * fraction(at))
        });
    }
    // worker-2: 60 % free and steady. worker-3: 10 % free but growing back.
    h.gauge("node_filesystem_avail_bytes", &fs("worker-2:9100", "/"), range, |_| Some(60e9));
    h.gauge("node_filesystem_avail_bytes", &fs("worker-3:9100", "/"), range, |at| Some(5e9 + 5e9 * fraction(at)));
    for (instance, mountpoints) in
        [("worker-1:9100", &["/", "/var"][..]), ("worker-2:9100", &["/"][..]), ("worker-3:9100", &["/"][..])]
    {
        for mountpoint in mountpoints {
            h.gauge("node_filesystem_size_bytes", &fs(instance, mountpoint), range, |_| Some(100e9));
            h.gauge("node_filesystem_readonly", &fs(instance, mountpoint), range, |_| Some(0.0));
        }
    }
    // Clock offset: worker-1 drifts away to +80 ms over the last hour; worker-2
    // stays at 1 ms; worker-3 is at -80 ms but coming back (deriv > 0).
    let timex = |instance: &'static str| [("instance", instance), ("job", "node-exporter")];
    h.gauge("node_timex_offset_seconds", &timex("worker-1:9100"), range, |at| {
        Some(if at < t - HOUR { 0.0 } else { 0.08 * (at - (t - HOUR)) as f64 / HOUR as f64 })
    });
    h.gauge("node_timex_offset_seconds", &timex("worker-2:9100"), range, |_| Some(0.001));
    h.gauge("node_timex_offset_seconds", &timex("worker-3:9100"), range, |at| Some(-0.2 + 0.12 * fraction(at)));
    // Crash loops: both pods of shop/web in the last three minutes; db-0 never;
    // old-0 two hours ago and not since.
    let waiting = |pod: &'static str| {
        [
            ("container", "app"),
            ("instance", "10.0.0.9:8080"),
            ("job", "kube-state-metrics"),
            ("namespace", "shop"),
            ("pod", pod),
            ("reason", "CrashLoopBackOff"),
        ]
    };
    for pod in ["web-5d9f7c8b6-abcde", "web-5d9f7c8b6-fghij"] {
        h.gauge("kube_pod_container_status_waiting_reason", &waiting(pod), range, |at| {
            Some(if at >= t - 180 { 1.0 } else { 0.0 })
        });
    }
    h.gauge("kube_pod_container_status_waiting_reason", &waiting("db-0"), range, |_| Some(0.0));
    h.gauge("kube_pod_container_status_waiting_reason", &waiting("old-0"), range, |at| {
        Some(if (t - 3 * HOUR..t - 2 * HOUR).contains(&at) { 1.0 } else { 0.0 })
    });
    // Quota: shop has used 95 % of its CPU quota, dev 50 %.
    for (ns, used) in [("shop", 9.5), ("dev", 5.0)] {
        for (kind, value) in [("used", used), ("hard", 10.0)] {
            let labels = [
                ("instance", "10.0.0.9:8080"),
                ("job", "kube-state-metrics"),
                ("namespace", ns),
                ("resource", "requests.cpu"),
                ("resourcequota", "compute"),
                ("type", kind),
            ];
            h.gauge("kube_resourcequota", &labels, range, move |_| Some(value));
        }
    }
    h
}

/// The cluster at `t`: three nodes, shop/web (a Deployment) with two pods of
/// its ReplicaSet.
fn cluster(t: i64) -> Vec<Value> {
    let at = kubeeye::clock::format(jiff::Timestamp::from_second(t).expect("a time"));
    let mut objects: Vec<Value> = ["worker-1", "worker-2", "worker-3"]
        .iter()
        .map(|node| {
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "uid": format!("uid-{node}")},
                   "status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": at}]}})
        })
        .collect();
    let container = json!([{"name": "app", "image": "registry.example.com/web:1.0"}]);
    objects.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "uid": "uid-web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": container}}}}));
    for pod in ["web-5d9f7c8b6-abcde", "web-5d9f7c8b6-fghij"] {
        objects.push(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod, "namespace": "shop", "uid": format!("uid-{pod}"),
                         "labels": {"app": "web", "pod-template-hash": "5d9f7c8b6"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9f7c8b6", "uid": "u1", "controller": true}]},
            "spec": {"containers": container}, "status": {"phase": "Running"}}));
    }
    objects
}

/// The cluster as a snapshot taken at `t`, in `dir/snapshot`.
fn snapshot(t: i64, dir: &std::path::Path) -> std::path::PathBuf {
    let dir = dir.join("snapshot");
    std::fs::create_dir(&dir).expect("snapshot dir");
    let at = kubeeye::clock::format(jiff::Timestamp::from_second(t).expect("a time"));
    let inspection = json!({"apiVersion": "kubeeye.io/v1", "kind": "Inspection", "metadata": {"name": "inspection"},
        "cluster": "prom-test", "collectedAt": at, "coverage": []});
    std::fs::write(dir.join("inspection.json"), inspection.to_string()).expect("write the snapshot");
    let list = json!({"apiVersion": "v1", "kind": "List", "items": cluster(t)});
    std::fs::write(dir.join("cluster.json"), list.to_string()).expect("write the snapshot");
    dir
}

fn report(run: &Run) -> Value {
    assert_ne!(run.code, 2, "ke refused its input:\n{}", run.stderr);
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}):\n{}\n{}", run.stdout, run.stderr))
}

fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"].as_array().expect("findings").iter().filter(|f| f["rule"] == rule).collect()
}

fn objects(report: &Value, rule: &str) -> Vec<String> {
    let mut names: Vec<String> = findings(report, rule)
        .iter()
        .map(|f| {
            let ns = f["namespace"].as_str().map(|n| format!("{n}/")).unwrap_or_default();
            format!("{}:{ns}{}", f["kind"].as_str().unwrap_or_default(), f["name"].as_str().unwrap_or_default())
        })
        .collect();
    names.sort();
    names
}

fn gaps(report: &Value) -> Vec<String> {
    report["coverage"]
        .as_array()
        .expect("coverage")
        .iter()
        .filter(|g| g["section"] == "prometheus")
        .map(|g| {
            format!("{}: {}", g["resource"].as_str().unwrap_or_default(), g["reason"].as_str().unwrap_or_default())
        })
        .collect()
}

/// KubeEye's own sample rules (kubeeye_v1alpha2_prometheusrule.yaml), as its users have them.
fn kubeeye_rules(endpoint: &str) -> String {
    format!(
        r#"apiVersion: kubeeye.kubesphere.io/v1alpha2
kind: InspectRule
metadata:
  labels:
    kubeeye.kubesphere.io/rule-group: kubeeye_workloads_rego
  name: prometheus-sample
spec:
  prometheusEndpoint: {endpoint}
  prometheus:
    - name: NodeFilesystemSpaceFillingUp
      desc: Filesystem is predicted to run out of space within the next 24 hours.
      rule: (node_filesystem_avail_bytes{{fstype!="",job="node-exporter"}} / node_filesystem_size_bytes{{fstype!="",job="node-exporter"}} * 100 < 20 and predict_linear(node_filesystem_avail_bytes{{fstype!="",job="node-exporter"}}[6h], 24 * 60 * 60) < 0 and node_filesystem_readonly{{fstype!="",job="node-exporter"}} == 0)
    - name: NodeClockSkewDetected
      rule: (node_timex_offset_seconds > 0.05 and deriv(node_timex_offset_seconds[5m]) >= 0) or (node_timex_offset_seconds < -0.05 and deriv(node_timex_offset_seconds[5m]) <= 0)
      desc: Clock skew detected.
      level: danger
    - name: KubePodCrashLooping
      rule: max_over_time(kube_pod_container_status_waiting_reason{{job="kube-state-metrics",reason="CrashLoopBackOff"}}[5m]) >= 1
      desc: Pod is crash looping.
    - name: KubeQuotaAlmostFull
      rule: kube_resourcequota{{job="kube-state-metrics",type="used"}} / ignoring(instance, job, type) (kube_resourcequota{{job="kube-state-metrics",type="hard"}} > 0) > 0.9 < 1
      desc: Namespace quota is going to be full.
  sysctl:
    - name: swappiness
      rule: vm.swappiness=0
"#
    )
}

#[test]
fn kubeeye_inspect_rules_run_unchanged_against_a_real_prometheus() {
    let t = inspection_time();
    let server = PromServer::start(&history(t), false);
    let dir = tempfile::tempdir().expect("temp dir");
    let snap = snapshot(t, dir.path());
    let rules = dir.path().join("prometheus-rules.yaml");
    std::fs::write(&rules, kubeeye_rules(&server.base)).expect("write rules");
    let run = ke_with(
        &["diag", "--snapshot", snap.to_str().expect("utf-8"), "-f", rules.to_str().expect("utf-8"), "-o", "json"],
        &[],
    );
    let report = report(&run);
    assert!(gaps(&report).is_empty(), "{:?}\n{}", gaps(&report), server.log());
    // predict_linear: worker-1's two filling filesystems are one finding; worker-3 (recovering) and worker-2 are not.
    assert_eq!(objects(&report, "NodeFilesystemSpaceFillingUp"), ["Node:worker-1"]);
    let fs = findings(&report, "NodeFilesystemSpaceFillingUp")[0];
    assert_eq!(fs["count"], 2, "{fs}");
    let message = fs["message"].as_str().expect("message");
    assert!(message.starts_with("Filesystem is predicted to run out of space within the next 24 hours."), "{message}");
    assert!(message.ends_with("24 hours. (value 6, device=/dev/sda1, fstype=ext4, mountpoint=/; value 6, device=/dev/sda1, fstype=ext4, mountpoint=/var)"), "{message}");
    assert_eq!(fs["section"], "nodes");
    assert_eq!(fs["severity"], "warning");
    // deriv: worker-1 drifting away fires; worker-3 at -0.15 s but coming back does not.
    assert_eq!(objects(&report, "NodeClockSkewDetected"), ["Node:worker-1"]);
    assert_eq!(findings(&report, "NodeClockSkewDetected")[0]["severity"], "danger");
    // max_over_time: both web pods, reported once on their Deployment; db-0 and old-0 not.
    assert_eq!(objects(&report, "KubePodCrashLooping"), ["Deployment:shop/web"]);
    let crash = findings(&report, "KubePodCrashLooping")[0];
    assert_eq!((crash["container"].as_str(), crash["count"].as_u64()), (Some("app"), Some(2)), "{crash}");
    assert_eq!(
        crash["message"],
        "Pod is crash looping. (value 1, reason=CrashLoopBackOff) [pod web-5d9f7c8b6-abcde, web-5d9f7c8b6-fghij]"
    );
    // Namespace-level series: shop at 95 % of its quota, dev at 50 % not.
    assert_eq!(objects(&report, "KubeQuotaAlmostFull"), ["Namespace:shop"]);
}

/// Our own format: templates, basic auth from the environment, and every way a query can fail.
const OWN_RULES: &str = include_str!("data/prometheus/own-rules.yaml");
fn config(dir: &std::path::Path, url: &str, timeout: &str) -> String {
    let path = dir.join(format!("kubeeye-{timeout}.yaml"));
    std::fs::write(
        &path,
        format!(
            "inspection:\n  prometheus:\n    url: {url}\n    usernameEnv: KE_TEST_PROM_USER\n    passwordEnv: KE_TEST_PROM_PASSWORD\n    timeout: {timeout}\n    concurrency: 2\n"
        ),
    )
    .expect("write config");
    path.display().to_string()
}

#[test]
fn own_rules_with_basic_auth_templates_and_every_kind_of_failure() {
    let t = inspection_time();
    let server = PromServer::start(&history(t), true);
    let dir = tempfile::tempdir().expect("temp dir");
    let snap = snapshot(t, dir.path());
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, OWN_RULES).expect("write rules");
    let rules = rules.display().to_string();
    let snap = snap.display().to_string();
    let env = |password: &str| {
        vec![
            ("KE_TEST_PROM_USER".to_string(), USER.to_string()),
            ("KE_TEST_PROM_PASSWORD".to_string(), password.to_string()),
        ]
    };
    let diag = |config: &str, password: &str| {
        report(&ke_with(&["diag", "--snapshot", &snap, "-f", &rules, "--config", config, "-o", "json"], &env(password)))
    };

    let good = diag(&config(dir.path(), &server.base, "3s"), PASSWORD);
    assert_eq!(
        objects(&good, "diskFillsWithinADay"),
        ["Node:worker-1"],
        "{:?}",
        findings(&good, "diskFillsWithinADay")
    );
    let disk = findings(&good, "diskFillsWithinADay")[0];
    let message = disk["message"].as_str().expect("message");
    assert!(message.starts_with("/ on worker-1:9100 will be full within 24 h (predicted -"), "{message}");
    assert!(message.contains("; also: /var on worker-1:9100"), "{message}");
    assert_eq!((disk["severity"].as_str(), disk["category"].as_str()), (Some("danger"), Some("Nodes")));
    assert_eq!(disk["remediation"], "Free space or grow the volume.");
    assert_eq!(objects(&good, "clockDrift"), ["Node:worker-1"]);
    assert!(findings(&good, "clockDrift")[0]["message"].as_str().unwrap_or_default().starts_with("clock off by 0.08"));
    let gaps_seen = gaps(&good);
    assert_eq!(gaps_seen.len(), 2, "{gaps_seen:?}");
    // Prometheus's own message for the syntax error.
    assert!(
        gaps_seen[0].starts_with("rule brokenQuery (")
            && gaps_seen[0].contains("bad_data")
            && gaps_seen[0].contains("parse error"),
        "{gaps_seen:?}"
    );
    // The slow query hits the 3 s timeout, Prometheus's or ours.
    let slow = &gaps_seen[1];
    assert!(
        slow.starts_with("rule slowQuery (")
            && (slow.contains("timed out") || slow.contains("did not answer within 3s")),
        "{gaps_seen:?}"
    );
    assert_eq!(good["complete"], false);

    // A wrong password: every query is a gap saying so; the rest of the report goes on.
    let denied = diag(&config(dir.path(), &server.base, "10s"), "wrong");
    let denied_gaps = gaps(&denied);
    assert_eq!(denied_gaps.len(), 4, "{denied_gaps:?}");
    assert!(denied_gaps.iter().all(|g| g.contains("refused the credentials (HTTP 401")), "{denied_gaps:?}");
    assert!(findings(&denied, "diskFillsWithinADay").is_empty());
    assert!(denied["findings"].as_array().is_some_and(|f| !f.is_empty()), "the built-in rules still ran");

    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port").port();
    let unreachable = diag(&config(dir.path(), &format!("http://127.0.0.1:{closed}"), "5s"), PASSWORD);
    assert!(
        gaps(&unreachable).iter().all(|g| g.contains("cannot reach Prometheus at http://127.0.0.1")),
        "{:?}",
        gaps(&unreachable)
    );
    assert_eq!(gaps(&unreachable).len(), 4);
}

#[test]
fn promql_rules_without_a_prometheus_or_credentials_are_refused_up_front() {
    let run =
        ke_with(&["diag", "--snapshot", "examples/demo-cluster", "-f", "tests/data/prometheus/own-rules.yaml"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("rule `brokenQuery` asks Prometheus, and no Prometheus is configured"),
        "{}",
        run.stderr
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path(), "http://127.0.0.1:9", "5s");
    let run = ke_with(
        &[
            "diag",
            "--snapshot",
            "examples/demo-cluster",
            "-f",
            "tests/data/prometheus/own-rules.yaml",
            "--config",
            &config,
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("the environment variable `KE_TEST_PROM_USER` is not set"), "{}", run.stderr);
}

#[test]
fn live_inspections_ask_prometheus_at_their_time_and_report_pods_on_their_controllers() {
    let t = inspection_time();
    let prometheus = PromServer::start(&history(t), false);
    let api = FakeApiServer::start(FakeCluster::from_values(cluster(t)), Options::default());
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    api.kubeconfig(&kubeconfig);
    let rules = dir.path().join("prometheus-rules.yaml");
    std::fs::write(&rules, kubeeye_rules(&prometheus.base)).expect("write rules");
    let run = ke_with(
        &[
            "diag",
            "--kubeconfig",
            kubeconfig.to_str().expect("utf-8"),
            "-f",
            rules.to_str().expect("utf-8"),
            "-o",
            "json",
        ],
        &[],
    );
    let report = report(&run);
    assert!(gaps(&report).is_empty(), "{:?}", gaps(&report));
    assert_eq!(objects(&report, "KubePodCrashLooping"), ["Deployment:shop/web"], "{}", run.stderr);
    assert_eq!(findings(&report, "KubePodCrashLooping")[0]["count"], 2);
    assert_eq!(objects(&report, "NodeFilesystemSpaceFillingUp"), ["Node:worker-1"]);
    assert_eq!(objects(&report, "NodeClockSkewDetected"), ["Node:worker-1"]);
}

#[test]
fn a_bearer_token_from_a_file_or_the_environment_reaches_prometheus_behind_a_proxy() {
    let t = inspection_time();
    let server = PromServer::start(&history(t), false);
    let proxy = BearerProxy::start(&server.base, "s3cret-token");
    let dir = tempfile::tempdir().expect("temp dir");
    let snap = snapshot(t, dir.path()).display().to_string();
    let rules = dir.path().join("rules.yaml");
    // The file names another endpoint: the configured one wins, and only it gets the token.
    std::fs::write(&rules, kubeeye_rules("http://127.0.0.1:9")).expect("write rules");
    let rules = rules.display().to_string();
    let token_file = dir.path().join("token");
    let config = |name: &str, auth: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("inspection:\n  prometheus:\n    url: {}\n{auth}", proxy.base)).expect("config");
        path.display().to_string()
    };
    let file_config = config("file.yaml", &format!("    bearerTokenFile: {}\n", token_file.display()));
    let env_config = config("env.yaml", "    bearerTokenEnv: KE_TEST_PROM_TOKEN\n");
    let diag = |config: &str, env: &[(String, String)]| {
        report(&ke_with(&["diag", "--snapshot", &snap, "-f", &rules, "--config", config, "-o", "json"], env))
    };

    std::fs::write(&token_file, "s3cret-token\n").expect("token");
    let by_file = diag(&file_config, &[]);
    assert!(gaps(&by_file).is_empty(), "{:?}", gaps(&by_file));
    assert_eq!(objects(&by_file, "NodeClockSkewDetected"), ["Node:worker-1"]);
    let by_env = diag(&env_config, &[("KE_TEST_PROM_TOKEN".into(), "s3cret-token".into())]);
    assert_eq!(objects(&by_env, "KubePodCrashLooping"), ["Deployment:shop/web"]);

    std::fs::write(&token_file, "stale-token").expect("token");
    let refused = diag(&file_config, &[]);
    let refused_gaps = gaps(&refused);
    assert_eq!(refused_gaps.len(), 4, "{refused_gaps:?}");
    assert!(
        refused_gaps
            .iter()
            .all(|g| g.ends_with("Prometheus refused the credentials (HTTP 401 Unauthorized): Unauthorized")),
        "{refused_gaps:?}"
    );
    // No secret in the report.
    assert!(!serde_json::to_string(&refused).unwrap_or_default().contains("stale-token"));
}

#[test]
fn prometheus_over_tls_with_a_ca_file_and_basic_auth() {
    let t = inspection_time();
    let server = PromServer::start_tls(&history(t));
    let ca = server.ca_file.clone().expect("a TLS server has a CA");
    let dir = tempfile::tempdir().expect("temp dir");
    let snap = snapshot(t, dir.path()).display().to_string();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, OWN_RULES).expect("write rules");
    let rules = rules.display().to_string();
    // Another CA, which did not sign Prometheus's certificate.
    let wrong_ca = dir.path().join("other-ca.crt");
    std::fs::write(&wrong_ca, crate::support::prometheus::test_certificate().2).expect("write");
    let config = |name: &str, ca: &std::path::Path| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "inspection:\n  prometheus:\n    url: {}\n    caFile: {}\n    usernameEnv: KE_TEST_PROM_USER\n    passwordEnv: KE_TEST_PROM_PASSWORD\n    timeout: 30s\n",
                server.base,
                ca.display()
            ),
        )
        .expect("write config");
        path.display().to_string()
    };
    let diag = |config: &str, password: &str| {
        let env = [
            ("KE_TEST_PROM_USER".to_string(), USER.to_string()),
            ("KE_TEST_PROM_PASSWORD".to_string(), password.to_string()),
        ];
        report(&ke_with(&["diag", "--snapshot", &snap, "-f", &rules, "--config", config, "-o", "json"], &env))
    };
    assert!(server.base.starts_with("https://"), "{}", server.base);

    let good = diag(&config("right-ca.yaml", &ca), PASSWORD);
    assert_eq!(objects(&good, "diskFillsWithinADay"), ["Node:worker-1"], "{:?}", gaps(&good));
    assert!(gaps(&good).iter().all(|g| !g.contains("TLS") && !g.contains("401")), "{:?}", gaps(&good));

    let untrusted = diag(&config("wrong-ca.yaml", &wrong_ca), PASSWORD);
    let untrusted_gaps = gaps(&untrusted);
    assert_eq!(untrusted_gaps.len(), 4, "{untrusted_gaps:?}");
    assert!(
        untrusted_gaps.iter().all(|g| g.contains("TLS handshake with Prometheus at https://127.0.0.1")
            && g.contains("certificate")
            && g.contains("caFile")),
        "{untrusted_gaps:?}"
    );
    assert!(findings(&untrusted, "diskFillsWithinADay").is_empty());

    let denied = diag(&config("right-ca-again.yaml", &ca), "wrong");
    let denied_gaps = gaps(&denied);
    assert_eq!(denied_gaps.len(), 4, "{denied_gaps:?}");
    assert!(denied_gaps.iter().all(|g| g.contains("HTTP 401")), "{denied_gaps:?}");
}

/// The sample rule set shipped in `examples/rules/`, against the history above.
#[test]
fn the_shipped_kubeeye_sample_rules_fire_where_the_history_says() {
    let t = inspection_time();
    let server = PromServer::start(&history(t), false);
    let dir = tempfile::tempdir().expect("temp dir");
    let snap = snapshot(t, dir.path()).display().to_string();
    let config = dir.path().join("kubeeye.yaml");
    std::fs::write(&config, format!("inspection:\n  prometheus: {{url: {}}}\n", server.base)).expect("write");
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/rules/kubeeye-prometheus.yaml");
    let run = ke_with(
        &["diag", "--snapshot", &snap, "-f", rules, "--config", config.to_str().expect("utf-8"), "-o", "json"],
        &[],
    );
    let report = report(&run);
    assert!(gaps(&report).is_empty(), "{:?}\n{}", gaps(&report), server.log());
    // predict_linear over 6 h: worker-1's / and /var fill within 4 h; worker-3 recovers, worker-2 is steady.
    assert_eq!(objects(&report, "NodeFilesystemFillingUp"), ["Node:worker-1"]);
    assert_eq!(findings(&report, "NodeFilesystemFillingUp")[0]["count"], 2);
    assert_eq!(findings(&report, "NodeFilesystemFillingUp")[0]["severity"], "danger");
    // worker-1 at 6 % free; worker-3 exactly at 10 % is not below it.
    assert_eq!(objects(&report, "NodeFilesystemAlmostFull"), ["Node:worker-1"]);
    // abs(): worker-1 at +80 ms and worker-3 at -80 ms; worker-2 at 1 ms not.
    assert_eq!(objects(&report, "NodeClockOffset"), ["Node:worker-1", "Node:worker-3"]);
    // Both crash-looping web pods, on their Deployment; old-0 (two hours ago) and db-0 not.
    assert_eq!(objects(&report, "PodContainerWaiting"), ["Deployment:shop/web"]);
    assert_eq!(findings(&report, "PodContainerWaiting")[0]["container"], "app");
    assert_eq!(objects(&report, "KubeQuotaAlmostFull"), ["Namespace:shop"]);
    // No kube_node_status_condition series: nothing to report, and no gap either.
    assert!(findings(&report, "KubeNodeNotReady").is_empty());
}

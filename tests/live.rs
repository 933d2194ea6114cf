//! The live path end to end: the real `ke` binary against the fake API server
//! (real TLS, token auth, pagination) through a written kubeconfig.
//!
//! The rule fixtures under `tests/fixtures/<rule>/` drive these tests too:
//! their timestamps are shifted so the fixture's `collectedAt` becomes now,
//! then they are served, and each health check must be found live from its
//! fail fixtures and not from its pass fixtures.
#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::path::{Path, PathBuf};

use kubeeye::rules::{RuleSet, Target};
use serde_json::Value;

use crate::common;
use crate::common::cli::{ke, shifted as shifted_kinds};
use crate::support::apiserver::{FakeApiServer, FakeCluster, Faults, Options};

/// Every object of a fixture, as if collected now.
fn shifted(path: &Path) -> Vec<Value> {
    shifted_kinds(path.to_str().unwrap(), &[])
}

/// A running fake cluster and a kubeconfig pointing at it.
struct Cluster {
    server: FakeApiServer,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Cluster {
    fn start(values: Vec<Value>, faults: Faults) -> Self {
        let server = FakeApiServer::start(FakeCluster::from_values(values), Options { faults, ..Options::default() });
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        server.kubeconfig(&kubeconfig);
        Cluster { server, dir, kubeconfig }
    }

    fn kc(&self) -> &str {
        self.kubeconfig.to_str().unwrap()
    }

    /// Writes a config file and returns its path.
    fn config(&self, text: &str) -> String {
        let path = self.dir.path().join("kubeeye.yaml");
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn diag(&self, extra: &[&str]) -> (i32, Value, String) {
        let mut args = vec!["diag", "--kubeconfig", self.kc(), "-o", "json"];
        args.extend(extra);
        let run = ke(&args);
        let report = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", run.stdout, run.stderr));
        common::schema::assert_valid_report(&report);
        (run.code, report, run.stderr)
    }
}

fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == rule).collect()
}

fn fixture_files(rule: &str) -> Vec<(PathBuf, bool)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rule);
    let mut files: Vec<(PathBuf, bool)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let fail = name.starts_with("fail");
            // `-offline` fixtures describe what cannot be served live (an expired serving certificate).
            ((fail || name.starts_with("pass")) && !name.contains("-offline")).then_some((p, fail))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_health_check_is_found_live_from_its_fixture_and_not_from_a_healthy_one() {
    let rules = RuleSet::builtin().unwrap();
    let health: Vec<String> = rules
        .rules
        .iter()
        .filter(|r| {
            matches!(
                r.target,
                Target::Node | Target::Cluster | Target::Event | Target::PodStatus | Target::ContainerLog
            )
        })
        .map(|r| r.id.clone())
        .collect();
    assert!(health.len() >= 38, "{health:?}");
    let cases: Vec<(String, PathBuf, bool)> = health
        .iter()
        .flat_map(|rule| fixture_files(rule).into_iter().map(move |(p, fail)| (rule.clone(), p, fail)))
        .collect();
    // NodeDisk reads kubelet summaries, an opt-in (nodes/proxy): switched on here.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kubeeye.yaml");
    std::fs::write(&config, "inspection: {collection: {kubeletSummary: true}}\n").unwrap();
    let config = config.to_str().unwrap();
    // Independent clusters, a few at a time.
    let problems = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for chunk in cases.chunks(cases.len().div_ceil(4)) {
            let problems = &problems;
            s.spawn(move || {
                for (rule, path, fail) in chunk {
                    let cluster = Cluster::start(shifted(path), Faults::default());
                    let (_, report, stderr) = cluster.diag(&["--config", config]);
                    let hits = findings(&report, rule);
                    let name = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path).display();
                    if *fail && hits.is_empty() {
                        problems.lock().unwrap().push(format!("{name}: expected `{rule}` live, got none; {stderr}"));
                    }
                    if !*fail && !hits.is_empty() {
                        problems
                            .lock()
                            .unwrap()
                            .push(format!("{name}: unexpected `{rule}` live: {}", hits[0]["message"]));
                    }
                }
            });
        }
    });
    let problems = problems.into_inner().unwrap();
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

/// The health-check test above covers health targets only; the RBAC role
/// checks read Roles and ClusterRoles the collector lists, so they are
/// served and found live too.
#[test]
fn rbac_role_checks_are_found_live_from_their_fixtures() {
    let mut problems = Vec::new();
    for rule in ["CanImpersonateUser", "CanDeleteResources", "CanModifyWorkloads"] {
        for (path, fail) in fixture_files(rule) {
            let cluster = Cluster::start(shifted(&path), Faults::default());
            let (_, report, stderr) = cluster.diag(&[]);
            let hits = findings(&report, rule);
            if fail && hits.is_empty() {
                problems.push(format!("{}: expected `{rule}` live, got none; {stderr}", path.display()));
            }
            if !fail && !hits.is_empty() {
                problems.push(format!("{}: unexpected `{rule}` live: {}", path.display(), hits[0]["message"]));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn certificate_expiry_is_read_from_the_tls_handshake() {
    let soon =
        Cluster::start(shifted(Path::new("tests/fixtures/NodeApiServerExpiredPeriod/fail.yaml")), Faults::default());
    let (_, report, _) = soon.diag(&[]);
    let hits = findings(&report, "NodeApiServerExpiredPeriod");
    assert_eq!(hits.len(), 1);
    let message = hits[0]["message"].as_str().unwrap();
    assert!(message.contains("expires in 19 day") || message.contains("expires in 20 day"), "{message}");
    let later =
        Cluster::start(shifted(Path::new("tests/fixtures/NodeApiServerExpiredPeriod/pass.yaml")), Faults::default());
    let (_, report, _) = later.diag(&[]);
    assert!(findings(&report, "NodeApiServerExpiredPeriod").is_empty());
}

/// A cluster with a node, metrics, a pod with a log, and a network policy.
fn small_cluster() -> Vec<Value> {
    let mut values = shifted(Path::new("tests/fixtures/NodeCPU/pass.yaml"));
    values.extend(shifted(Path::new("tests/fixtures/PodIOError/fail.yaml")));
    values.extend(shifted(Path::new("tests/fixtures/missingNetworkPolicy/pass-default-deny.yaml")));
    values.extend(shifted(Path::new("tests/fixtures/APIServerHealthStatus/pass.yaml")));
    values
}

#[test]
fn forbidden_resource_failing_metrics_and_a_hanging_log_are_coverage_not_crashes() {
    let faults = Faults::default()
        .forbid("networkpolicies")
        .fail("/apis/metrics.k8s.io", 500)
        .hang("/api/v1/namespaces/shop/pods/api-5c9f7b6d4-q8w2e/log");
    let cluster = Cluster::start(small_cluster(), faults);
    let config = cluster.config("inspection:\n  logs: {timeout: 2s}\n");
    let started = std::time::Instant::now();
    let (code, report, _) = cluster.diag(&["--config", &config]);
    assert!(started.elapsed().as_secs() < 30, "a hanging log must not hang the inspection");
    assert_eq!(code, 3, "partial inspection has its own exit code");
    assert_eq!(report["complete"], false);
    let coverage = report["coverage"].as_array().unwrap();
    let gap = |needle: &str| coverage.iter().find(|g| g["resource"].as_str().unwrap_or_default().contains(needle));
    let forbidden = gap("networkpolicies").expect("403 recorded");
    assert!(forbidden["reason"].as_str().unwrap().contains("403"), "{forbidden}");
    assert_eq!(forbidden["kind"], "error");
    let metrics = gap("metrics.k8s.io").expect("metrics 500 recorded");
    assert!(metrics["reason"].as_str().unwrap().contains("500"), "{metrics}");
    let log = gap("pods/log shop/api-5c9f7b6d4-q8w2e").expect("hanging log recorded");
    assert!(log["reason"].as_str().unwrap().contains("2s"), "{log}");
    // Everything else was still inspected.
    assert!(
        !findings(&report, "missingPodDisruptionBudget").is_empty()
            || !report["findings"].as_array().unwrap().is_empty()
    );
    let table = ke(&["diag", "--kubeconfig", cluster.kc(), "--config", &config]);
    assert!(table.stdout.contains("NOT INSPECTED"), "{}", table.stdout);
    assert!(table.stdout.contains("inspection incomplete"));
}

#[test]
fn a_kubeconfig_with_the_wrong_ca_fails_with_a_clear_tls_error() {
    let cluster = Cluster::start(small_cluster(), Faults::default());
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let kubeconfig = cluster
        .server
        .kubeconfig_yaml()
        .replace(&b64.encode(cluster.server.ca_pem()), &b64.encode(FakeApiServer::unrelated_ca_pem()));
    assert_ne!(kubeconfig, cluster.server.kubeconfig_yaml(), "the CA was replaced");
    let path = cluster.dir.path().join("wrong-ca");
    std::fs::write(&path, kubeconfig).unwrap();
    let run = ke(&["diag", "--kubeconfig", path.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("cannot reach the API server"), "{}", run.stderr);
    assert!(run.stderr.contains("TLS") && run.stderr.to_lowercase().contains("certificate"), "{}", run.stderr);
}

#[test]
fn an_expired_serving_certificate_is_named_as_the_reason_the_cluster_is_unreachable() {
    let cluster = Cluster::start(
        shifted(Path::new("tests/fixtures/NodeApiServerExpiredPeriod/fail-expired-offline.yaml")),
        Faults::default(),
    );
    let run = ke(&["diag", "--kubeconfig", cluster.kc()]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("serving certificate has expired"), "{}", run.stderr);
    assert!(run.stderr.contains("kubeadm certs renew"), "{}", run.stderr);
}

#[test]
fn a_wrong_token_is_refused_clearly() {
    let cluster = Cluster::start(small_cluster(), Faults::default());
    let kubeconfig = cluster.server.kubeconfig_yaml().replace(cluster.server.token(), "not-the-token");
    let path = cluster.dir.path().join("wrong-token");
    std::fs::write(&path, kubeconfig).unwrap();
    let run = ke(&["diag", "--kubeconfig", path.to_str().unwrap()]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("401"), "{}", run.stderr);
}

/// Pods of one Deployment stuck pulling their image, as many as asked.
fn pulling_pods(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            serde_json::json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("web-7d4b9c8f5-{i:05}"), "namespace": "shop",
                    "labels": {"app": "web", "pod-template-hash": "7d4b9c8f5"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c8f5", "controller": true, "uid": "u"}]},
                "spec": {"containers": [{"name": "web", "image": "registry.example.com/web:9.9"}]},
                "status": {"phase": "Pending", "containerStatuses": [{"name": "web", "image": "registry.example.com/web:9.9",
                    "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}}}]}
            })
        })
        .collect()
}

#[test]
fn lists_are_paginated_and_an_expired_continue_token_restarts_the_list_without_double_counting() {
    let cluster = Cluster::start(pulling_pods(23), Faults::default().expire_continue_once("pods"));
    let config = cluster.config("inspection:\n  collection: {pageSize: 4}\n");
    let (_, report, _) = cluster.diag(&["--config", &config]);
    let hits = findings(&report, "PodSetImagePullBackOff");
    assert_eq!(hits.len(), 1, "one finding for the controller");
    assert_eq!(hits[0]["count"], 23, "every pod once, none twice after the restart");
    assert_eq!(hits[0]["kind"], "Deployment");
    let log = cluster.server.stats().log;
    let pod_pages: Vec<_> = log.iter().filter(|r| r.path.starts_with("/api/v1/pods?")).collect();
    assert!(pod_pages.iter().all(|r| r.path.contains("limit=4")), "{pod_pages:?}");
    assert!(pod_pages.iter().any(|r| r.status == Some(410)), "the continue token expired once");
    assert!(pod_pages.len() >= 23 / 4 + 2, "paged: {}", pod_pages.len());
}

#[test]
fn reads_are_bounded_and_never_touch_secrets() {
    let cluster = Cluster::start(small_cluster(), Faults::default());
    cluster.diag(&[]);
    let log = cluster.server.stats().log;
    assert!(log.iter().all(|r| r.method == "GET"), "read-only");
    assert!(!log.iter().any(|r| r.path.contains("secrets")), "never reads Secrets");
    let events: Vec<_> = log.iter().filter(|r| r.path.starts_with("/api/v1/events")).collect();
    assert!(!events.is_empty() && events.iter().all(|r| r.path.contains("fieldSelector=type%3DWarning")), "{events:?}");
    let logs: Vec<_> = log.iter().filter(|r| r.path.contains("/log?")).collect();
    assert!(!logs.is_empty());
    for r in &logs {
        assert!(
            r.path.contains("tailLines=") && r.path.contains("limitBytes=") && r.path.contains("sinceSeconds="),
            "{}",
            r.path
        );
    }
}

#[test]
fn a_namespace_scope_reads_only_that_namespace() {
    let cluster = Cluster::start(small_cluster(), Faults::default());
    let (_, report, _) = cluster.diag(&["-n", "shop"]);
    for f in report["findings"].as_array().unwrap() {
        assert_eq!(f["namespace"], "shop", "{f}");
    }
    let log = cluster.server.stats().log;
    assert!(log.iter().any(|r| r.path.starts_with("/api/v1/namespaces/shop/pods?")));
    assert!(!log.iter().any(|r| r.path.starts_with("/api/v1/pods?")), "no cluster-wide pod list");
}

#[test]
fn a_snapshot_reproduces_the_live_findings() {
    let mut values = small_cluster();
    values.extend(shifted(Path::new("tests/fixtures/SchedulerHealthStatus/fail.yaml")));
    values.extend(shifted(Path::new("tests/fixtures/WarningEvent/fail.yaml")));
    values.extend(shifted(Path::new("tests/fixtures/NodeDisk/fail.yaml")));
    let cluster = Cluster::start(values, Faults::default());
    let (_, live, _) = cluster.diag(&[]);
    let dir = cluster.dir.path().join("bundle");
    let run = ke(&["snapshot", "--kubeconfig", cluster.kc(), "-o", dir.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("ke diag --snapshot"));
    let offline = ke(&["diag", "--snapshot", dir.to_str().unwrap(), "-o", "json"]);
    let offline: Value = serde_json::from_str(&offline.stdout).unwrap();
    let prints = |r: &Value| {
        let mut v: Vec<String> =
            r["findings"].as_array().unwrap().iter().map(|f| f["fingerprint"].as_str().unwrap().to_string()).collect();
        v.sort();
        v
    };
    assert!(!prints(&live).is_empty());
    assert_eq!(prints(&live), prints(&offline), "same findings offline as live");
    assert_eq!(offline["cluster"]["name"], live["cluster"]["name"]);
    // The overview: the version from /version, pods counted as they streamed by live and from the files offline.
    assert_eq!(live["overview"]["kubernetesVersion"], "v1.35.0", "{}", live["overview"]);
    assert!(live["overview"]["pods"].as_object().is_some_and(|p| !p.is_empty()), "{}", live["overview"]);
    assert_eq!(offline["overview"], live["overview"], "the same cluster offline as live");
    assert_eq!(offline["health"], live["health"]);
    let again = ke(&["snapshot", "--kubeconfig", cluster.kc(), "-o", dir.to_str().unwrap()]);
    assert_eq!(again.code, 2, "refuses to overwrite: {}", again.stderr);
}

/// Every file of a directory tree, as text.
fn all_text(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            text.push_str(&all_text(&path));
        } else {
            text.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    text
}

#[test]
fn a_snapshot_masks_values_by_default_and_keeps_the_findings() {
    let mut values = small_cluster();
    values.extend(shifted(Path::new("tests/fixtures/NodeDisk/fail.yaml")));
    values.extend(shifted(Path::new("tests/fixtures/sensitiveContainerEnvVar/fail-literal-password.yaml")));
    values.extend(shifted(Path::new("tests/fixtures/sensitiveContainerEnvVar/fail-private-key-value.yaml")));
    values.extend(shifted(Path::new("tests/fixtures/sensitiveConfigmapContent/fail-embedded-key.yaml")));
    for v in values.iter_mut() {
        match v["kind"].as_str() {
            Some("Deployment") => {
                if v.to_string().contains("TLS_PEM") {
                    v["metadata"]["name"] = "web-tls".into();
                }
                v["metadata"]["annotations"] = serde_json::json!({
                    "kubectl.kubernetes.io/last-applied-configuration": "{\"env\": [{\"value\": \"hunter2-applied\"}]}"});
                v["spec"]["template"]["spec"]["containers"][0]["args"] =
                    serde_json::json!(["--listen=:8080", "--password=hunter2-arg"]);
            }
            Some("ContainerLog") => {
                let log = format!("{}connect postgres://app:hunter2-log@db:5432 failed\n", v["log"].as_str().unwrap());
                v["log"] = log.into();
            }
            _ => {}
        }
    }
    let cluster = Cluster::start(values, Faults::default());
    let (_, live, _) = cluster.diag(&[]);
    let rules: Vec<&str> = live["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    for rule in ["sensitiveContainerEnvVar", "sensitiveConfigmapContent", "PodIOError"] {
        assert!(rules.contains(&rule), "{rule}: {rules:?}");
    }
    let masked = cluster.dir.path().join("masked");
    let run = ke(&["snapshot", "--kubeconfig", cluster.kc(), "-o", masked.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("values masked"), "{}", run.stdout);
    let text = all_text(&masked);
    // Before: every one of them was in the bundle verbatim.
    for secret in ["hunter2", "MIIEowIBAAKCAQEA", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"] {
        assert!(!text.contains(secret), "{secret} in the bundle");
    }
    assert!(text.contains("--listen=:8080") && text.contains("input/output error"), "the rest stays");
    let offline = ke(&["diag", "--snapshot", masked.to_str().unwrap(), "-o", "json"]);
    let offline: Value = serde_json::from_str(&offline.stdout).unwrap();
    let prints = |r: &Value| {
        let mut v: Vec<String> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["fingerprint"].as_str().unwrap(), f["message"].as_str().unwrap()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(prints(&live), prints(&offline), "the masked bundle gives the same findings");

    let kept = cluster.dir.path().join("kept");
    let run = ke(&["snapshot", "--kubeconfig", cluster.kc(), "-o", kept.to_str().unwrap(), "--keep-values"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let text = all_text(&kept);
    for secret in ["hunter2-prod", "hunter2-arg", "hunter2-log", "hunter2-applied", "MIIEowIBAAKCAQEA", "MIIEvQIBADAN"]
    {
        assert!(text.contains(secret), "--keep-values keeps {secret}");
    }
}

#[test]
fn a_plain_http_api_server_makes_the_certificate_check_unavailable_and_warns() {
    // As through `kubectl proxy`: http://, no TLS to read a certificate from.
    let mut values = small_cluster();
    values.extend(shifted(Path::new("tests/fixtures/NodeDisk/pass.yaml")));
    let server =
        FakeApiServer::start(FakeCluster::from_values(values), Options { plain_http: true, ..Options::default() });
    assert!(server.url().starts_with("http://"));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.kubeconfig(&kubeconfig);
    let run = ke(&["diag", "--kubeconfig", kubeconfig.to_str().unwrap(), "-o", "json"]);
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", run.stdout, run.stderr));
    common::schema::assert_valid_report(&report);
    let coverage = report["coverage"].as_array().unwrap();
    let gap = coverage
        .iter()
        .find(|g| g["resource"] == "apiserver serving certificate")
        .unwrap_or_else(|| panic!("{coverage:?}"));
    assert_eq!(gap["kind"], "unavailable", "{gap}");
    assert!(gap["reason"].as_str().unwrap().contains("plain http"), "{gap}");
    // Everything else was read: the run is complete, and it was inspected over http.
    assert_eq!(report["complete"], true, "{coverage:?}");
    assert!(report["findings"].as_array().unwrap().iter().any(|f| f["rule"] == "PodIOError"));
    assert!(server.stats().log.iter().any(|r| r.path.starts_with("/api/v1/")));
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.contains("sent in clear")).collect();
    assert_eq!(warnings.len(), 1, "warned once: {}", run.stderr);
    assert!(warnings[0].contains(&server.url()), "{}", warnings[0]);
}

#[test]
fn install_and_uninstall_node_problem_detector_with_server_side_apply() {
    let cluster = Cluster::start(small_cluster(), Faults::default());
    let first = ke(&["install", "npd", "--kubeconfig", cluster.kc()]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let applied = cluster.server.applied();
    assert!(
        applied
            .iter()
            .any(|a| a.object["kind"] == "DaemonSet" && a.object["metadata"]["name"] == "node-problem-detector")
    );
    assert!(applied.iter().all(|a| a.field_manager == "kubeeye"));
    assert!(first.stdout.contains("DaemonSet kube-system/node-problem-detector created"), "{}", first.stdout);
    let second = ke(&["install", "npd", "--kubeconfig", cluster.kc()]);
    assert!(second.stdout.contains("DaemonSet kube-system/node-problem-detector configured"), "{}", second.stdout);
    let removed = ke(&["uninstall", "npd", "--kubeconfig", cluster.kc()]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    assert!(cluster.server.deleted().iter().any(|d| d["kind"] == "DaemonSet"));
    let dry = ke(&["install", "npd", "--dry-run"]);
    assert!(dry.stdout.contains("kind: DaemonSet"), "{}", dry.stdout);
}

/// What a user does with `kubectl apply --server-side` (or an edit): writes `object` as another field manager.
fn apply_as_user(server: &FakeApiServer, path: &str, object: &Value) {
    let ca = reqwest::Certificate::from_pem(server.ca_pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    let request = client
        .patch(format!("{}{path}?fieldManager=kubectl&force=true", server.url()))
        .bearer_auth(server.token())
        .header("content-type", "application/apply-patch+yaml")
        .body(serde_json::to_vec(object).unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (status, text) = runtime.block_on(async {
        let answer = request.send().await.unwrap();
        (answer.status(), answer.text().await.unwrap_or_default())
    });
    assert!(status.is_success(), "{text}");
}

#[test]
fn reinstalling_npd_keeps_what_users_added_and_loads_it() {
    let cluster = Cluster::start(small_cluster(), Faults::default());
    let first = ke(&["install", "npd", "--kubeconfig", cluster.kc()]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let configmap = |cluster: &Cluster| {
        cluster
            .server
            .applied()
            .into_iter()
            .rev()
            .find(|a| a.object["kind"] == "ConfigMap" && a.object["metadata"]["name"] == "node-problem-detector-config")
            .unwrap()
            .object
    };
    let installed = configmap(&cluster);
    for key in ["kernel-monitor.json", "docker-monitor.json", "systemd-monitor.json", "systemd-monitor-counter.json"] {
        assert!(installed["data"][key].is_string(), "{key}");
    }
    let kernel = installed["data"]["kernel-monitor.json"].as_str().unwrap();
    for reason in ["MemoryReadError", "XfsHasShutdown"] {
        assert!(kernel.contains(reason), "{reason}");
    }
    assert!(installed["data"]["docker-monitor.json"].as_str().unwrap().contains("DockerContainerStartupFailure"));
    assert!(installed["data"]["systemd-monitor-counter.json"].as_str().unwrap().contains("FrequentKubeletRestart"));

    // The user adds a rule to ke's kernel monitor and a monitor file of their own.
    let mut edited = installed.clone();
    let mut monitor: Value = serde_json::from_str(kernel).unwrap();
    let mine = serde_json::json!({"type": "temporary", "reason": "MyDriverFault", "pattern": "mydriver: fault .*"});
    monitor["rules"].as_array_mut().unwrap().push(mine.clone());
    edited["data"]["kernel-monitor.json"] = Value::String(monitor.to_string());
    edited["data"]["my-monitor.json"] = Value::String(
        r#"{"plugin": "filelog", "pluginConfig": {"timestamp": "^.{15}", "message": "kernel: (.*)", "timestampFormat": "Jan _2 15:04:05"}, "logPath": "/var/log/kern.log", "lookback": "5m", "bufferSize": 10, "source": "my-monitor", "conditions": [], "rules": []}"#.into(),
    );
    edited["metadata"].as_object_mut().unwrap().remove("managedFields");
    apply_as_user(&cluster.server, "/api/v1/namespaces/kube-system/configmaps/node-problem-detector-config", &edited);

    // Reinstalling (an upgrade of ke, or by habit) keeps both.
    let second = ke(&["install", "npd", "--kubeconfig", cluster.kc()]);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert!(second.stdout.contains("kept my-monitor.json, which you added"), "{}", second.stdout);
    assert!(
        second.stdout.contains("kept 1 rule(s) or condition(s) you added to kernel-monitor.json"),
        "{}",
        second.stdout
    );
    let merged = configmap(&cluster);
    let kernel: Value = serde_json::from_str(merged["data"]["kernel-monitor.json"].as_str().unwrap()).unwrap();
    let rules = kernel["rules"].as_array().unwrap();
    assert!(rules.contains(&mine), "the user's rule survives: {kernel}");
    assert!(rules.iter().any(|r| r["reason"] == "MemoryReadError"), "ke's rules too");
    assert_eq!(merged["data"]["my-monitor.json"], edited["data"]["my-monitor.json"]);
    // And node-problem-detector loads it: the whole ConfigMap is mounted, every monitor named.
    let daemonset =
        cluster.server.applied().into_iter().rev().find(|a| a.object["kind"] == "DaemonSet").unwrap().object;
    let spec = &daemonset["spec"]["template"]["spec"];
    let volume = spec["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "config").unwrap();
    assert!(volume["configMap"].get("items").is_none(), "no items list: {volume}");
    let command: Vec<&str> =
        spec["containers"][0]["command"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let logs = command.iter().find(|a| a.starts_with("--config.system-log-monitor=")).unwrap();
    assert!(logs.contains("/config/my-monitor.json") && logs.contains("/config/kernel-monitor.json"), "{command:?}");
    assert!(command.contains(&"--config.custom-plugin-monitor=/config/systemd-monitor-counter.json"), "{command:?}");
}

/// `GET` of one object as a user would (`kubectl get -o json`).
fn get_as_user(server: &FakeApiServer, path: &str) -> Value {
    let ca = reqwest::Certificate::from_pem(server.ca_pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    let request = client.get(format!("{}{path}", server.url())).bearer_auth(server.token());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let answer = request.send().await.unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.unwrap()
    })
}

/// The opt-in health checker (issue 12) against the API: `--health-checker`
/// installs both monitors and exactly their host access, a reinstall keeps
/// a user's edit, a plain `ke install npd` keeps the opt-in, a new runtime
/// replaces ke's rule, and only `--no-health-checker` removes it, keys a user
/// edited included.
#[test]
fn npd_health_checker_is_an_opt_in_that_reinstalls_keep() {
    const CONFIGMAP: &str = "/api/v1/namespaces/kube-system/configmaps/node-problem-detector-config";
    const DAEMONSET: &str = "/apis/apps/v1/namespaces/kube-system/daemonsets/node-problem-detector";
    let cluster = Cluster::start(small_cluster(), Faults::default());
    let install = |extra: &[&str]| {
        let mut args = vec!["install", "npd", "--kubeconfig", cluster.kc()];
        args.extend(extra);
        let run = ke(&args);
        assert_eq!(run.code, 0, "{args:?}: {}{}", run.stdout, run.stderr);
        run.stdout
    };
    let pod = |cluster: &Cluster| get_as_user(&cluster.server, DAEMONSET)["spec"]["template"]["spec"].clone();
    let host_paths = |pod: &Value| -> Vec<String> {
        let mut paths: Vec<String> = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v["hostPath"]["path"].as_str().map(str::to_string))
            .collect();
        paths.sort();
        paths
    };
    let command = |pod: &Value| -> Vec<String> {
        pod["containers"][0]["command"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect()
    };

    // Plain: no health checker.
    install(&[]);
    assert_ne!(pod(&cluster)["hostNetwork"], true);
    assert_eq!(host_paths(&pod(&cluster)), ["/dev/kmsg", "/var/log"]);

    // Opted in: both monitors, loaded, and exactly their host access.
    let out = install(&["--health-checker"]);
    assert!(
        out.contains("health checker on (containerd at /run/containerd/containerd.sock, crictl at /usr/bin/crictl)"),
        "{out}"
    );
    let spec = pod(&cluster);
    assert_eq!(
        (spec["hostNetwork"].clone(), spec["dnsPolicy"].clone()),
        (Value::Bool(true), "ClusterFirstWithHostNet".into())
    );
    assert_eq!(host_paths(&spec), ["/dev/kmsg", "/run/containerd/containerd.sock", "/usr/bin/crictl", "/var/log"]);
    for mount in spec["containers"][0]["volumeMounts"].as_array().unwrap() {
        assert!(mount["name"] == "config" || mount["name"] == "tmp" || mount["readOnly"] == true, "{mount}");
    }
    assert!(command(&spec).contains(&"--config.custom-plugin-monitor=/config/health-checker-container-runtime.json,/config/health-checker-kubelet.json,/config/systemd-monitor-counter.json".to_string()), "{:?}", command(&spec));
    let installed = get_as_user(&cluster.server, CONFIGMAP);
    for key in ["health-checker-kubelet.json", "health-checker-container-runtime.json"] {
        let text = installed["data"][key].as_str().unwrap_or_else(|| panic!("{key}"));
        assert!(text.contains("--enable-repair=false"), "{key}: {text}");
    }

    // The user adds a check of their own to the kubelet's monitor (kube-proxy's health).
    let mut kubelet: Value =
        serde_json::from_str(installed["data"]["health-checker-kubelet.json"].as_str().unwrap()).unwrap();
    let mine = serde_json::json!({"type": "permanent", "condition": "KubeletUnhealthy", "reason": "KubeProxyUnhealthy",
        "path": "/home/kubernetes/bin/health-checker", "args": ["--component=kube-proxy", "--enable-repair=false"], "timeout": "1m"});
    kubelet["rules"].as_array_mut().unwrap().push(mine.clone());
    let mut edited = installed.clone();
    edited["data"]["health-checker-kubelet.json"] = Value::String(kubelet.to_string());
    edited["metadata"].as_object_mut().unwrap().remove("managedFields");
    apply_as_user(&cluster.server, CONFIGMAP, &edited);
    let has_mine = |cluster: &Cluster| {
        let data = get_as_user(&cluster.server, CONFIGMAP)["data"]["health-checker-kubelet.json"].clone();
        let monitor: Value = serde_json::from_str(data.as_str().unwrap_or("{}")).unwrap();
        monitor["rules"].as_array().is_some_and(|r| r.contains(&mine))
    };

    // Reinstall with the flag: the edit is kept.
    let out = install(&["--health-checker"]);
    assert!(out.contains("kept 1 rule(s) or condition(s) you added to health-checker-kubelet.json"), "{out}");
    assert!(has_mine(&cluster));

    // Plain reinstall: the opt-in is kept with its host access, and says so.
    let out = install(&[]);
    assert!(out.contains("health checker kept as installed (containerd"), "{out}");
    assert_eq!(pod(&cluster)["hostNetwork"], true);
    assert!(has_mine(&cluster));

    // Another runtime: its socket instead of containerd's, ke's old rule gone, the user's kept.
    install(&["--health-checker", "--container-runtime", "cri-o"]);
    assert_eq!(host_paths(&pod(&cluster)), ["/dev/kmsg", "/run/crio/crio.sock", "/usr/bin/crictl", "/var/log"]);
    let runtime = get_as_user(&cluster.server, CONFIGMAP)["data"]["health-checker-container-runtime.json"].clone();
    let runtime: Value = serde_json::from_str(runtime.as_str().unwrap()).unwrap();
    let reasons: Vec<&str> = runtime["rules"].as_array().unwrap().iter().filter_map(|r| r["reason"].as_str()).collect();
    assert_eq!(reasons, ["CRIOUnhealthy"], "{runtime}");

    // Removed on request only: no host network, no mounts, no keys (the edited one too), nothing loads them.
    let out = install(&["--no-health-checker"]);
    assert!(out.contains("health checker removed"), "{out}");
    let spec = pod(&cluster);
    assert_ne!(spec["hostNetwork"], true);
    assert_eq!(host_paths(&spec), ["/dev/kmsg", "/var/log"]);
    assert!(command(&spec).iter().all(|a| !a.contains("health-checker")), "{:?}", command(&spec));
    let data = get_as_user(&cluster.server, CONFIGMAP)["data"].clone();
    assert!(data.as_object().unwrap().keys().all(|k| !k.starts_with("health-checker")), "{data}");
    let out = install(&[]);
    assert!(!out.contains("health checker"), "stays off: {out}");
    assert_ne!(pod(&cluster)["hostNetwork"], true);
}

#[test]
fn the_inspection_deadline_cuts_a_hanging_list_and_reports_what_was_read() {
    let cluster = Cluster::start(small_cluster(), Faults::default().hang("/api/v1/pods"));
    let started = std::time::Instant::now();
    let (code, report, _) = cluster.diag(&["--timeout", "3s"]);
    assert!(started.elapsed().as_secs() < 15, "the deadline holds: {:?}", started.elapsed());
    assert_eq!(code, 3);
    let deadline =
        report["coverage"].as_array().unwrap().iter().find(|g| g["resource"] == "deadline").expect("deadline gap");
    assert!(deadline["reason"].as_str().unwrap().contains("3s"), "{deadline}");
    assert!(!report["findings"].as_array().unwrap().is_empty(), "what was read before the deadline is reported");
}

#[test]
fn a_missing_kubeconfig_is_bad_input_naming_the_file() {
    let run = ke(&["diag", "--kubeconfig", "/nonexistent/kubeconfig"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("/nonexistent/kubeconfig"), "{}", run.stderr);
}

/// A binding to a missing role fails, but when roles could not be listed
/// (403) a role absent from the inventory may exist: the binding is not judged.
#[test]
fn bindings_are_not_judged_missing_when_roles_could_not_be_listed() {
    let binding = shifted(Path::new("tests/fixtures/rolebindingRolePodExecAttach/fail-missing-role.yaml"));
    let readable = Cluster::start(binding.clone(), Faults::default());
    let (_, report, _) = readable.diag(&[]);
    assert_eq!(findings(&report, "rolebindingRolePodExecAttach").len(), 1, "the Role is missing");
    let forbidden = Cluster::start(binding, Faults::default().forbid("roles"));
    let (_, report, _) = forbidden.diag(&[]);
    assert!(findings(&report, "rolebindingRolePodExecAttach").is_empty(), "{}", report["findings"]);
    let coverage = report["coverage"].as_array().unwrap();
    assert!(coverage.iter().any(|g| g["resource"].as_str().unwrap_or_default().starts_with("roles.")), "{coverage:?}");
}

/// A Service in `shop` with a ClusterIP and TCP ports.
fn service(name: &str, cluster_ip: &str, ports: Value) -> Value {
    serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"},
                       "spec": {"clusterIP": cluster_ip, "selector": {"app": name}, "ports": ports}})
}

#[test]
fn service_connect_reports_refused_and_silent_ports_per_namespace_and_is_off_by_default() {
    use serde_json::json;
    // An open port (the kernel completes the handshake without accept), a
    // closed one, and one whose accept queue (backlog 0) a first connection
    // fills, so the next SYN is dropped and the connect times out.
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open_port = open.local_addr().unwrap().port();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let silent = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        socket.listen(0).unwrap()
    });
    let silent_port = silent.local_addr().unwrap().port();
    let _filler = std::net::TcpStream::connect(("127.0.0.1", silent_port)).unwrap();
    let cluster = Cluster::start(
        vec![
            service("up", "127.0.0.1", json!([{"name": "http", "port": open_port}])),
            service("web", "127.0.0.1", json!([{"port": open_port}, {"name": "admin", "port": closed_port}])),
            service("slow", "127.0.0.1", json!([{"port": silent_port}])),
            service("headless", "None", json!([{"port": closed_port}])),
            service("dns", "127.0.0.1", json!([{"port": closed_port, "protocol": "UDP"}])),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mail", "namespace": "shop"},
                   "spec": {"type": "ExternalName", "externalName": "localhost", "ports": [{"port": closed_port}]}}),
        ],
        Faults::default(),
    );

    let (_, report, _) = cluster.diag(&[]);
    assert!(findings(&report, "ServiceNotAnswering").is_empty(), "off by default");

    let config = cluster.config("inspection:\n  serviceConnect: {enabled: true, timeout: 2s}\n");
    let started = std::time::Instant::now();
    let (_, report, stderr) = cluster.diag(&["--config", &config]);
    assert!(started.elapsed().as_secs() < 20, "the silent port is bounded by the timeout");
    let hits = findings(&report, "ServiceNotAnswering");
    assert_eq!(hits.len(), 1, "one finding for the namespace: {hits:#?}\n{stderr}");
    let f = hits[0];
    assert_eq!(
        (f["kind"].as_str(), f["name"].as_str(), f["namespace"].as_str()),
        (Some("Namespace"), Some("shop"), Some("shop"))
    );
    assert_eq!(f["count"], 2, "{f}");
    assert_eq!(
        f["message"].as_str().unwrap(),
        format!(
            "Services whose ClusterIP ports do not answer: slow (port {silent_port} no answer within 2s), \
             web (port {closed_port} refused)"
        )
    );
    drop((open, silent, runtime));
}

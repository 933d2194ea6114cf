//! The node-check orchestrator against the fake API server's Jobs: one Job per
//! node, results read from pod logs, every fault a per-node gap (or one gap
//! for a 403), nothing left behind after a finished, stopped or timed-out run,
//! and never a Job of another run touched.

use std::time::Duration;

use kubeeye::collect::client::{Api, ClusterAccess};
use kubeeye::collect::job_spec::RUN_ID_LABEL;
use kubeeye::collect::node_jobs::{NodeChecksOutcome, run_node_checks, run_node_checks_until};
use kubeeye::config::NodeCheckSettings;
use serde_json::{Value, json};

use crate::support::apiserver::{FakeApiServer, FakeCluster, Options, PodScript};

fn node(name: &str, ready: bool, cordoned: bool) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": { "name": name },
        "spec": { "unschedulable": cordoned },
        "status": { "conditions": [{ "type": "Ready", "status": if ready { "True" } else { "False" },
                                     "reason": if ready { "KubeletReady" } else { "KubeletNotReady" },
                                     "message": if ready { "" } else { "container runtime is down" } }] },
    })
}

fn nodes(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("worker-{i:04}")).collect()
}

fn server(names: &[String], extra: Vec<Value>) -> (FakeApiServer, tempfile::TempDir) {
    let mut values: Vec<Value> = names.iter().map(|n| node(n, true, false)).collect();
    values.extend(extra);
    let server = FakeApiServer::start(FakeCluster::from_values(values), Options::default());
    let dir = tempfile::tempdir().expect("tempdir");
    server.kubeconfig(dir.path().join("kubeconfig"));
    (server, dir)
}

async fn api(dir: &tempfile::TempDir) -> Api {
    let access = ClusterAccess { kubeconfig: Some(dir.path().join("kubeconfig")), context: None };
    Api::new(&access, Duration::from_secs(10)).await.expect("client for the fake API server")
}

fn settings() -> NodeCheckSettings {
    NodeCheckSettings {
        image: Some("ghcr.io/kubeeye/kubeeye:test".into()),
        concurrency: 5,
        poll_interval: Duration::from_millis(20),
        pending_timeout: Duration::from_millis(600),
        per_node_timeout: Duration::from_secs(3),
        deadline: Duration::from_secs(60),
        result_max_bytes: 4096,
        ..NodeCheckSettings::default()
    }
}

fn result_for(node: &str) -> Value {
    json!({ "schemaVersion": 1, "node": node, "checks": [{ "rule": "ip-forward", "value": "1" }] })
}

fn requests(names: &[String]) -> Vec<(String, Value)> {
    names.iter().map(|n| (n.clone(), json!({ "rules": [{ "kind": "sysctl" }, { "kind": "clock" }] }))).collect()
}

/// A run that only the deadline stops: the real SIGTERM is sent by one test only, and every
/// run listening for it in this process would stop too.
async fn run(
    api: &Api,
    settings: &NodeCheckSettings,
    run_id: &str,
    requests: Vec<(String, Value)>,
) -> NodeChecksOutcome {
    run_node_checks_until(api, settings, run_id, requests, std::future::pending()).await
}

fn gap_for<'a>(outcome: &'a NodeChecksOutcome, node: &str) -> &'a str {
    outcome
        .gaps
        .iter()
        .find(|g| g.resource == format!("node {node}"))
        .map(|g| g.reason.as_str())
        .unwrap_or_else(|| panic!("no gap for {node}: {:#?}", outcome.gaps))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_returns_its_result_and_no_job_is_left() {
    let names = nodes(7);
    let (server, dir) = server(&names, vec![]);
    for n in &names {
        server.jobs().scripts.insert(n.clone(), PodScript::result(&result_for(n), Duration::from_millis(50)));
    }
    let outcome = run(&api(&dir).await, &settings(), "20261201T020000Z", requests(&names)).await;
    assert!(outcome.gaps.is_empty(), "{:#?}", outcome.gaps);
    assert_eq!(outcome.results.len(), 7);
    for (node, result) in &outcome.results {
        assert_eq!(result, &result_for(node));
    }
    assert!(!outcome.interrupted);
    let jobs = server.jobs();
    assert!(jobs.names().is_empty(), "left behind: {:?}", jobs.names());
    assert_eq!(jobs.created.len(), 7);
    assert!(jobs.peak <= 5, "concurrency cap exceeded: {}", jobs.peak);
    assert!(jobs.deleted.iter().all(|(_, policy)| policy.as_deref() == Some("Background")), "{:?}", jobs.deleted);
    drop(jobs);
    let stats = server.stats();
    let served = stats.log.len();
    assert_eq!(outcome.api_requests, served, "every request counted");
    assert!(stats.requests_to("/api/v1/namespaces/kubeeye-node-checks/pods?").len() < 7 * 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_is_a_gap_for_its_node_with_the_reason_from_status_and_events() {
    let names = nodes(9);
    let extra = vec![node("down", false, false), node("cordoned", true, true)];
    let (server, dir) = server(&names, extra);
    {
        let mut jobs = server.jobs();
        let s = &mut jobs.scripts;
        s.insert(names[0].clone(), PodScript::result(&result_for(&names[0]), Duration::ZERO));
        s.insert(
            names[1].clone(),
            PodScript::Pending {
                reason: "ImagePullBackOff".into(),
                message: "Back-off pulling image \"ghcr.io/kubeeye/kubeeye:test\"".into(),
            },
        );
        s.insert(
            names[2].clone(),
            PodScript::Fail { reason: "OOMKilled".into(), exit_code: 137, after: Duration::from_millis(30) },
        );
        s.insert(names[3].clone(), PodScript::Succeed { log: String::new(), after: Duration::ZERO });
        s.insert(
            names[4].clone(),
            PodScript::Succeed { log: "{\"schemaVersion\": 1, \"cut\n".into(), after: Duration::ZERO },
        );
        let big = json!({ "schemaVersion": 1, "pad": "x".repeat(10_000) });
        s.insert(names[5].clone(), PodScript::result(&big, Duration::ZERO));
        s.insert(names[6].clone(), PodScript::result(&json!({ "schemaVersion": 2 }), Duration::ZERO));
        s.insert(
            names[7].clone(),
            PodScript::NoPod {
                message: "Error creating: pods \"x\" is forbidden: violates PodSecurity \"restricted:latest\": hostPath volumes".into(),
            },
        );
        s.insert(names[8].clone(), PodScript::result(&result_for(&names[8]), Duration::from_secs(60)));
    }
    let mut all = names.clone();
    all.extend(["down".to_string(), "cordoned".to_string(), "gone".to_string()]);
    let outcome = run(&api(&dir).await, &settings(), "run-faults", requests(&all)).await;
    assert_eq!(outcome.results, vec![(names[0].clone(), result_for(&names[0]))]);
    let pending = gap_for(&outcome, &names[1]);
    assert!(
        pending.contains("still Pending") && pending.contains("ImagePullBackOff") && pending.contains("events"),
        "{pending}"
    );
    assert!(gap_for(&outcome, &names[2]).contains("OOMKilled (exit code 137)"));
    assert!(gap_for(&outcome, &names[3]).contains("printed no result"));
    assert!(gap_for(&outcome, &names[4]).contains("is not JSON"));
    assert!(gap_for(&outcome, &names[5]).contains("larger than 4096 bytes"));
    assert!(gap_for(&outcome, &names[6]).contains("schemaVersion 2"));
    let psa = gap_for(&outcome, &names[7]);
    assert!(psa.contains("has no pod") && psa.contains("FailedCreate") && psa.contains("PodSecurity"), "{psa}");
    assert!(gap_for(&outcome, &names[8]).contains("did not finish within 3s"));
    assert!(
        gap_for(&outcome, "down").contains("NotReady")
            && gap_for(&outcome, "down").contains("container runtime is down")
    );
    assert!(gap_for(&outcome, "cordoned").contains("cordoned"));
    assert!(gap_for(&outcome, "gone").contains("not in the cluster"));
    assert_eq!(outcome.gaps.len(), 11, "{:#?}", outcome.gaps);
    let jobs = server.jobs();
    assert!(jobs.names().is_empty(), "left behind: {:?}", jobs.names());
    assert_eq!(jobs.created.len(), 9, "no Job for skipped nodes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_job_creation_is_one_gap_naming_the_role() {
    let names = nodes(200);
    let (server, dir) = server(&names, vec![]);
    server.jobs().forbid_create = true;
    let outcome = run(&api(&dir).await, &settings(), "run-403", requests(&names)).await;
    assert!(outcome.results.is_empty());
    assert_eq!(outcome.gaps.len(), 1, "{:#?}", outcome.gaps);
    let reason = &outcome.gaps[0].reason;
    assert!(reason.contains("deploy/node-checks") && reason.contains("Role kubeeye-node-checks"), "{reason}");
    assert!(reason.contains("403"), "{reason}");
    let creates = server.stats().log.iter().filter(|r| r.method == "POST").count();
    assert!(creates <= 5, "stopped creating after the first 403s, sent {creates}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_is_one_gap_before_touching_the_cluster() {
    let names = nodes(3);
    let (server, dir) = server(&names, vec![]);
    let settings = NodeCheckSettings { image: Some(" ".into()), ..settings() };
    let outcome = run(&api(&dir).await, &settings, "run", requests(&names)).await;
    assert_eq!(outcome.gaps.len(), 1);
    assert!(outcome.gaps[0].reason.contains("nodeChecks.image"));
    assert_eq!(server.stats().log.len(), 0);
}

/// Waits until the fake holds some Jobs.
async fn until_jobs_exist(server: &FakeApiServer) {
    for _ in 0..500 {
        if !server.jobs().names().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no Job was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_run_deletes_every_job_of_the_run() {
    let names = nodes(30);
    let (server, dir) = server(&names, vec![]);
    server.jobs().default_script = PodScript::result(&json!({ "schemaVersion": 1 }), Duration::from_secs(30));
    let settings = NodeCheckSettings { per_node_timeout: Duration::from_secs(60), ..settings() };
    let api = api(&dir).await;
    let run = tokio::spawn(async move { run_node_checks(&api, &settings, "run-sigterm", requests(&names)).await });
    until_jobs_exist(&server).await;
    nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGTERM).expect("send SIGTERM");
    let outcome = tokio::time::timeout(Duration::from_secs(20), run).await.expect("stops promptly").expect("joins");
    assert!(outcome.interrupted);
    assert!(outcome.results.is_empty());
    assert_eq!(outcome.gaps.len(), 30);
    assert!(outcome.gaps.iter().all(|g| g.reason.contains("stopped (SIGTERM)")), "{:#?}", outcome.gaps);
    let jobs = server.jobs();
    assert!(jobs.names().is_empty(), "left behind: {:?}", jobs.names());
    assert!(!jobs.created.is_empty() && jobs.created.len() <= 5 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_ends_the_run_and_deletes_its_jobs() {
    let names = nodes(12);
    let (server, dir) = server(&names, vec![]);
    server.jobs().default_script = PodScript::result(&json!({ "schemaVersion": 1 }), Duration::from_millis(400));
    let settings = NodeCheckSettings { deadline: Duration::from_millis(700), ..settings() };
    let outcome = run(&api(&dir).await, &settings, "run-deadline", requests(&names)).await;
    assert_eq!(outcome.results.len(), 5, "the first five finished");
    assert_eq!(outcome.gaps.len(), 7, "{:#?}", outcome.gaps);
    assert!(outcome.gaps.iter().all(|g| g.reason.contains("nodeChecks.deadline")));
    assert!(server.jobs().names().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_never_touch_each_others_jobs() {
    let names = nodes(10);
    let (server, dir) = server(&names, vec![]);
    let stranger = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": { "name": "ke-node-check-worker-0000-0123456789", "namespace": "kubeeye-node-checks",
                      "labels": { RUN_ID_LABEL: "other-run" } },
        "spec": { "template": { "metadata": { "labels": { RUN_ID_LABEL: "other-run" } },
                                "spec": { "nodeName": "worker-0000" } } },
    });
    {
        let mut jobs = server.jobs();
        jobs.default_script = PodScript::result(&json!({ "schemaVersion": 1 }), Duration::from_millis(100));
        jobs.insert(stranger);
    }
    let api = api(&dir).await;
    let settings = settings();
    let (a, b) = tokio::join!(
        run_node_checks_until(&api, &settings, "run-a", requests(&names), std::future::pending()),
        run_node_checks_until(&api, &settings, "run-b", requests(&names[..4]), std::future::pending()),
    );
    assert_eq!((a.results.len(), b.results.len()), (10, 4), "{:#?} {:#?}", a.gaps, b.gaps);
    let jobs = server.jobs();
    assert_eq!(jobs.names(), vec!["ke-node-check-worker-0000-0123456789".to_string()]);
    assert!(!jobs.deleted.iter().any(|(name, _)| name.ends_with("0123456789")));
    assert_eq!(jobs.created.len(), 14);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_nodes_finish_with_capped_concurrency_and_few_requests() {
    let names = nodes(1000);
    let (server, dir) = server(&names, vec![]);
    server.jobs().default_script = PodScript::result(&json!({ "schemaVersion": 1 }), Duration::from_millis(20));
    // Generous timeouts: the machine running the suite may be busy; the test is about scale, not timing.
    let settings = NodeCheckSettings {
        concurrency: 20,
        pending_timeout: Duration::from_secs(30),
        per_node_timeout: Duration::from_secs(30),
        ..settings()
    };
    let started = std::time::Instant::now();
    let outcome = run(&api(&dir).await, &settings, "run-1000", requests(&names)).await;
    assert!(outcome.gaps.is_empty(), "{:#?}", &outcome.gaps[..outcome.gaps.len().min(5)]);
    assert_eq!(outcome.results.len(), 1000);
    let jobs = server.jobs();
    assert!(jobs.names().is_empty());
    assert!(jobs.peak <= 20, "{}", jobs.peak);
    // Per node: create, log, delete; plus one pod list per poll for the whole run.
    assert!(outcome.api_requests < 1000 * 3 + 1000, "{} requests", outcome.api_requests);
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
}

/// `deploy/node-checks` renders with kustomize and grants exactly what the orchestrator uses,
/// only in its namespace, whose Pod Security level allows the node pods.
#[test]
fn the_node_checks_component_renders_and_grants_only_namespaced_rights() {
    let out = std::process::Command::new("kubectl")
        .args(["kustomize", "deploy/node-checks"])
        .output()
        .expect("kubectl (scripts/install-test-deps installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let docs: Vec<Value> = text.split("\n---\n").map(|d| serde_norway::from_str(d).expect("YAML document")).collect();
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert!(!kinds.iter().any(|k| k.starts_with("Cluster")), "{kinds:?}");
    let ns = docs.iter().find(|d| d["kind"] == "Namespace").expect("namespace");
    assert_eq!(ns["metadata"]["name"], NodeCheckSettings::default().namespace);
    assert_eq!(ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "privileged");
    let sa = docs.iter().find(|d| d["kind"] == "ServiceAccount").expect("service account");
    assert_eq!(sa["metadata"]["name"], NodeCheckSettings::default().service_account);
    assert_eq!(sa["automountServiceAccountToken"], false);
    let role = docs.iter().find(|d| d["kind"] == "Role").expect("role");
    assert_eq!(role["metadata"]["name"], "kubeeye-node-checks", "the 403 gap names this Role");
    let rules = role["rules"].as_array().expect("rules");
    let verbs = |resource: &str| -> Vec<&str> {
        rules
            .iter()
            .filter(|r| r["resources"].as_array().is_some_and(|v| v.iter().any(|x| x == resource)))
            .flat_map(|r| r["verbs"].as_array().into_iter().flatten().filter_map(Value::as_str))
            .collect()
    };
    assert_eq!(verbs("jobs"), ["create", "get", "list", "delete"]);
    assert_eq!(verbs("pods"), ["get", "list"], "pods are only read; the Job controller owns them");
    assert_eq!(verbs("pods/log"), ["get"]);
    assert_eq!(verbs("events"), ["list"]);
    let binding = docs.iter().find(|d| d["kind"] == "RoleBinding").expect("binding");
    assert_eq!(binding["subjects"][0]["name"], "kubeeye");
    assert_eq!(binding["subjects"][0]["namespace"], "kubeeye");
}

/// What the real `ke node-check` answers on the fixture host
/// (tests/data/hostroot) for the request `rules_file` makes for a Linux node `worker-0000`.
fn fixture_host_answer(rules_file: &str) -> Value {
    let set = kubeeye::rules::RuleSet::load(&[std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rules_file)])
        .expect("sample rules load");
    let labels = std::collections::BTreeMap::from([("kubernetes.io/os".to_string(), "linux".to_string())]);
    let requests = kubeeye::nodecheck::requests(&set, &[("worker-0000".to_string(), labels)]);
    let dir = tempfile::tempdir().expect("tempdir");
    let request = dir.path().join("request.json");
    std::fs::write(&request, requests[0].1.to_string()).expect("request written");
    let answered = crate::common::cli::ke(&[
        "node-check",
        "--request",
        request.to_str().expect("utf-8"),
        "--host-root",
        "tests/data/hostroot",
    ]);
    assert_eq!(answered.code, 0, "{}", answered.stderr);
    serde_json::from_str(answered.stdout.trim()).expect("one JSON result")
}

/// End to end: `ke diag --node-checks` creates a Job for the node a KubeEye
/// sysctl rule selects, reads back what the real `ke node-check` answered on
/// the fixture host, and reports it in the node checks section; without the
/// flag the host rules are listed as not run.
#[test]
fn ke_diag_runs_host_rules_on_the_nodes_and_reports_them() {
    let rules_file = "tests/data/inspectrules/sysctl.yaml";
    let result = fixture_host_answer(rules_file);
    let dir = tempfile::tempdir().expect("tempdir");

    let mut linux = node("worker-0000", true, false);
    linux["metadata"]["labels"] = json!({ "kubernetes.io/os": "linux" });
    let server = FakeApiServer::start(FakeCluster::from_values(vec![linux]), Options::default());
    server.kubeconfig(dir.path().join("kubeconfig"));
    server.jobs().scripts.insert("worker-0000".into(), PodScript::result(&result, Duration::from_millis(50)));
    let config = dir.path().join("kubeeye.yaml");
    std::fs::write(&config, "nodeChecks:\n  image: ghcr.io/kubeeye/kubeeye:test\n  pollInterval: 1s\n")
        .expect("config written");
    let kubeconfig = dir.path().join("kubeconfig");
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "diag".to_string(),
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
            "--config".into(),
            config.display().to_string(),
            "-f".into(),
            rules_file.into(),
            "-o".into(),
            "json".into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run = |extra: &[&'static str]| {
        let a = args(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let run = crate::common::cli::ke(&a);
        let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
        report
    };

    let report = run(&["--node-checks"]);
    let host: Vec<&Value> =
        report["findings"].as_array().expect("findings").iter().filter(|f| f["section"] == "node checks").collect();
    let failed: Vec<&str> = host.iter().filter_map(|f| f["rule"].as_str()).collect();
    assert_eq!(failed, ["fs.inotify.max_user_watches", "vm.swappiness"], "{host:#?}");
    assert!(host.iter().all(|f| f["kind"] == "Node" && f["name"] == "worker-0000"), "{host:#?}");
    let swappiness = host.iter().find(|f| f["rule"] == "vm.swappiness").expect("swappiness");
    assert!(swappiness["message"].as_str().is_some_and(|m| m.contains("vm.swappiness is 60")), "{swappiness}");
    assert_eq!(server.jobs().created.len(), 1, "one Job for the one node");
    assert!(server.jobs().names().is_empty(), "the Job is deleted at the end");

    // The table shows them in a section of their own.
    let table = {
        let a = args(&["--node-checks"]);
        let a: Vec<&str> = a.iter().map(|s| if s == "json" { "table" } else { s.as_str() }).collect();
        crate::common::cli::ke(&a).stdout
    };
    let checks = table.split("NODE CHECKS").nth(1).unwrap_or_else(|| panic!("a NODE CHECKS section: {table}"));
    assert!(
        checks.contains("vm.swappiness") && checks.contains("1 of 1 node ") && checks.contains("(worker-0000)"),
        "{table}"
    );

    let without = run(&[]);
    assert!(
        without["findings"].as_array().expect("findings").iter().all(|f| f["section"] != "node checks"),
        "no host findings without --node-checks"
    );
    let gaps = without["coverage"]["gaps"].to_string() + &without.to_string();
    assert!(gaps.contains("host rule(s) were not run: pass --node-checks"), "{gaps}");
    assert_eq!(without["nodeChecks"]["status"], "notRun");
    assert!(without["nodeChecks"]["reason"].as_str().is_some_and(|r| r.contains("--node-checks")), "{without:#}");
    crate::common::schema::assert_valid_report(&without);
    crate::common::schema::assert_valid_report(&report);
}

/// The node checks section end to end: eleven nodes, vm.swappiness 60 on 7 of
/// the 9 that answer, two stuck Pending on the same pull error. The JSON has
/// `nodeChecks` with the counts and validates; the table, the HTML report and
/// the digest of `ke run` show one grouped line per rule and message, and one
/// per reason the nodes could not answer.
#[test]
fn node_checks_are_counted_in_the_json_and_grouped_in_every_view() {
    let rules_file = "tests/data/inspectrules/sysctl.yaml";
    // What the real `ke node-check` answers on the fixture host: vm.swappiness 60, too few inotify watches.
    let template = fixture_host_answer(rules_file);
    let dir = tempfile::tempdir().expect("tempdir");

    let names = nodes(11);
    let linux: Vec<Value> = names
        .iter()
        .map(|n| {
            let mut v = node(n, true, false);
            v["metadata"]["labels"] = json!({ "kubernetes.io/os": "linux" });
            v
        })
        .collect();
    let server = FakeApiServer::start(FakeCluster::from_values(linux), Options::default());
    server.kubeconfig(dir.path().join("kubeconfig"));
    for (i, n) in names.iter().enumerate() {
        let script = match i {
            0..=8 => {
                let mut result = template.clone();
                result["node"] = json!(n);
                if i >= 7 {
                    // Two nodes have swap off.
                    for r in result["results"].as_array_mut().expect("results") {
                        if r["rule"] == "vm.swappiness" {
                            *r = json!({ "rule": "vm.swappiness", "outcome": "pass", "observed": "0",
                                         "message": "vm.swappiness is 0 (rule `vm.swappiness = 0` holds)" });
                        }
                    }
                }
                PodScript::result(&result, Duration::from_millis(20))
            }
            _ => PodScript::Pending {
                reason: "ImagePullBackOff".into(),
                message: "Back-off pulling image \"ghcr.io/kubeeye/kubeeye:test\"".into(),
            },
        };
        server.jobs().scripts.insert(n.clone(), script);
    }
    let config = dir.path().join("kubeeye.yaml");
    std::fs::write(
        &config,
        format!(
            "nodeChecks:\n  image: ghcr.io/kubeeye/kubeeye:test\n  pollInterval: 1s\n  pendingTimeout: 4s\n\
             outputs:\n  directory: {}\n",
            dir.path().join("run").display()
        ),
    )
    .expect("config written");
    let kubeconfig = dir.path().join("kubeconfig").display().to_string();
    let config = config.display().to_string();
    let out = dir.path().join("out");
    let out_arg = out.display().to_string();
    let diag = crate::common::cli::ke(&[
        "diag",
        "--kubeconfig",
        &kubeconfig,
        "--config",
        &config,
        "-f",
        rules_file,
        "--node-checks",
        "-o",
        "table",
        "--output-dir",
        &out_arg,
    ]);
    assert!(diag.code == 0 || diag.code == 1 || diag.code == 3, "{}\n{}", diag.code, diag.stderr);

    // JSON: every finding, and the counts.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("report.json")).expect("JSON");
    crate::common::schema::assert_valid_report(&report);
    assert_eq!(report["schemaVersion"], "4");
    let checks = &report["nodeChecks"];
    assert_eq!(checks["status"], "ran", "{checks:#}");
    assert_eq!(
        (checks["nodesSelected"].as_u64(), checks["nodesAnswered"].as_u64()),
        (Some(11), Some(9)),
        "{:#}",
        report["coverage"]
    );
    let rule = |id: &str| {
        checks["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no rule {id}: {checks:#}"))
    };
    let swap = rule("vm.swappiness");
    assert_eq!(
        [&swap["selected"], &swap["evaluated"], &swap["failed"], &swap["errors"]],
        [&json!(11), &json!(9), &json!(7), &json!(0)],
        "{swap:#}"
    );
    assert_eq!(swap["values"], json!([{ "value": "60", "nodes": 7 }, { "value": "0", "nodes": 2 }]));
    assert_eq!(swap["kind"], "sysctl");
    assert_eq!(rule("fs.inotify.max_user_watches")["failed"], 9);
    assert_eq!(rule("net.ipv4.ip_forward")["failed"], 0);
    let host: Vec<&Value> =
        report["findings"].as_array().expect("findings").iter().filter(|f| f["section"] == "node checks").collect();
    assert_eq!(host.len(), 7 + 9, "one finding per rule and node in the JSON");

    // Table: one line per rule and message, and one for the two Pending nodes.
    let table = &diag.stdout;
    let section = table.split("NODE CHECKS").nth(1).unwrap_or_else(|| panic!("a NODE CHECKS section: {table}"));
    let section = section.split("\n\n").next().unwrap_or_default();
    assert!(section.starts_with("  4 rules on 9 nodes (of 11 asked), 2 failing\n"), "{section}");
    let swap_rows: Vec<&str> = section.lines().filter(|l| l.starts_with("vm.swappiness")).collect();
    assert_eq!(swap_rows.len(), 1, "{table}");
    assert!(swap_rows[0].contains("7 of 9 nodes"), "{}", swap_rows[0]);
    assert!(swap_rows[0].contains("vm.swappiness is 60"), "{}", swap_rows[0]);
    assert!(swap_rows[0].contains("(worker-0000, worker-0001, worker-0002 … and 4 more)"), "{}", swap_rows[0]);
    assert!(
        section.lines().any(|l| l.starts_with("fs.inotify.max_user_watches") && l.contains("9 of 9 nodes")),
        "{section}"
    );
    let nodes_section = table.split("\nNODES\n").nth(1).unwrap_or_default();
    assert!(!nodes_section.split("\n\n").next().unwrap_or_default().contains("vm.swappiness"), "{table}");
    let pending: Vec<&str> = table.lines().filter(|l| l.starts_with("node checks") && l.contains("Pending")).collect();
    assert_eq!(pending.len(), 1, "the two Pending nodes are one row: {table}");
    assert!(pending[0].contains("2 of 11 nodes (worker-0009, worker-0010)"), "{}", pending[0]);
    assert!(pending[0].contains("pod <pod> still Pending"), "{}", pending[0]);

    // HTML: a Node checks section and nav item; the Nodes section keeps only node findings.
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(html.contains("<a href=\"#node-checks\">Node checks"), "a nav item");
    let node_checks = html.split("<section id=\"node-checks\"").nth(1).expect("a node checks section");
    let node_checks = node_checks.split("</section>").next().unwrap_or_default();
    assert!(node_checks.contains("4 rules on 9 nodes (of 11 asked), 2 failing"), "{node_checks}");
    assert_eq!(node_checks.matches("7 of 9 nodes").count(), 1, "{node_checks}");
    assert!(node_checks.contains("2 of 11 nodes"), "{node_checks}");
    let nodes_html =
        html.split("<section id=\"nodes\"").nth(1).expect("nodes").split("</section>").next().unwrap_or_default();
    assert!(!nodes_html.contains("vm.swappiness"), "{nodes_html}");

    // CSV: a section column, since node-check findings share kind Node with the nodes section's.
    let csv = std::fs::read_to_string(out.join("report.csv")).expect("report.csv");
    assert!(csv.lines().next().is_some_and(|h| h.ends_with(",remediation,section")), "{csv}");
    assert_eq!(csv.lines().filter(|l| l.ends_with(",node checks")).count(), 16);

    // The digest `ke run` prints (what the email says): the headline and the grouped line.
    let run = crate::common::cli::ke(&["run", "--kubeconfig", &kubeconfig, "--config", &config, "-f", rules_file]);
    let digest = &run.stdout;
    assert!(
        digest.contains("\nNode checks: 4 rules on 9 nodes (of 11 asked), 2 failing\n"),
        "{digest}\n{}",
        run.stderr
    );
    let grouped: Vec<&str> = digest.lines().filter(|l| l.contains("[vm.swappiness]")).collect();
    assert_eq!(grouped.len(), 1, "{digest}");
    assert!(grouped[0].contains("on 7 of 9 nodes (worker-0000, worker-0001, worker-0002 … and 4 more)"), "{digest}");
    assert!(
        digest.contains("node checks: 2 of 11 nodes (worker-0009, worker-0010): pod <pod> still Pending"),
        "{digest}"
    );
    assert!(server.jobs().names().is_empty(), "every Job deleted");
}

/// `ke diag --node-checks` against the fake API server, one Linux node, `rules_file`
/// and the given extra arguments; the JSON report.
fn diag_json(dir: &std::path::Path, rules_file: &str, extra: &[&str]) -> Value {
    let kubeconfig = dir.join("kubeconfig").display().to_string();
    let config = dir.join("kubeeye.yaml").display().to_string();
    let mut args = vec!["diag", "--kubeconfig", &kubeconfig, "--config", &config, "-f", rules_file, "-o", "json"];
    args.push("--node-checks");
    args.extend_from_slice(extra);
    let run = crate::common::cli::ke(&args);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr))
}

fn linux_node(name: &str) -> Value {
    let mut linux = node(name, true, false);
    linux["metadata"]["labels"] = json!({ "kubernetes.io/os": "linux" });
    linux
}

/// A one-node cluster (`worker-0000`, kubeconfig at `dir/kubeconfig`) whose node
/// pods run the real `ke node-check` on the host `dir/host`, where
/// /var/lib/kubelet/config.yaml holds `content`. Returns the server and that file.
fn node_watching_kubelet_config(dir: &std::path::Path, content: &str) -> (FakeApiServer, std::path::PathBuf) {
    let host = dir.join("host");
    let watched = host.join("var/lib/kubelet/config.yaml");
    std::fs::create_dir_all(watched.parent().expect("parent")).expect("host dirs");
    std::fs::write(&watched, content).expect("file");
    let server = FakeApiServer::start(FakeCluster::from_values(vec![linux_node("worker-0000")]), Options::default());
    server.kubeconfig(dir.join("kubeconfig"));
    server.jobs().default_script = PodScript::NodeCheck { host_root: host, after: Duration::from_millis(50) };
    (server, watched)
}

/// fileChange over three nights with no state on the node: the first run records the
/// file's hash in the report's `nodeFiles`; a run given that report (`--previous`)
/// hands it to the node as the baseline, so an unchanged file is no finding and a
/// changed one is exactly one, naming the old and new hash and the modification time.
/// The node pod is the real `ke node-check`, run on the request of the Job as created.
#[test]
fn a_file_changed_since_the_previous_report_is_one_finding_with_both_hashes_and_its_mtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, watched) = node_watching_kubelet_config(dir.path(), "staticPodPath: /etc/kubernetes/manifests\n");
    let config = "nodeChecks:\n  image: ghcr.io/kubeeye/kubeeye:test\n  pollInterval: 1s\n";
    std::fs::write(dir.path().join("kubeeye.yaml"), config).expect("config written");
    let rules_file = "tests/data/inspectrules/filechange.yaml";
    let path = "/var/lib/kubelet/config.yaml";
    let changes = |report: &Value| -> Vec<Value> {
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["rule"] == "kubelet-config")
            .cloned()
            .collect()
    };

    let first = diag_json(dir.path(), rules_file, &[]);
    assert_eq!(changes(&first), Vec::<Value>::new(), "first run: a baseline, no finding");
    let recorded = first["nodeFiles"]["worker-0000"][path].clone();
    let content = std::fs::read(&watched).expect("read");
    assert_eq!(recorded["sha256"], hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&content)));
    assert_eq!(recorded["size"], content.len());
    crate::common::schema::assert_valid(&first);
    let previous = dir.path().join("previous.json");
    std::fs::write(&previous, first.to_string()).expect("previous report");
    let previous = previous.display().to_string();

    let unchanged = diag_json(dir.path(), rules_file, &["--previous", &previous]);
    assert_eq!(changes(&unchanged), Vec::<Value>::new(), "unchanged: no finding");
    let request = server.jobs().manifests[1].pointer("/spec/template/spec/containers/0/env/0/value").cloned();
    let request: Value =
        serde_json::from_str(request.and_then(|v| v.as_str().map(str::to_string)).as_deref().unwrap_or("null"))
            .expect("request JSON");
    assert_eq!(request["previous"][path]["sha256"], recorded["sha256"], "the baseline went to the node");

    std::fs::write(&watched, "staticPodPath: /etc/kubernetes/other-manifests\n").expect("changed");
    let changed = diag_json(dir.path(), rules_file, &["--previous", &previous]);
    let found = changes(&changed);
    assert_eq!(found.len(), 1, "{found:#?}");
    let now = &changed["nodeFiles"]["worker-0000"][path];
    let (old, new) = (recorded["sha256"].as_str().expect("old"), now["sha256"].as_str().expect("new"));
    assert_ne!(old, new);
    let message = found[0]["message"].as_str().expect("message");
    assert!(message.contains(&old[..12]) && message.contains(&new[..12]), "{message}");
    let modified = now["modified"].as_str().expect("modified");
    assert!(modified.starts_with("20") && message.contains(&format!("modified {modified}")), "{message}");
    assert_eq!((found[0]["kind"].as_str(), found[0]["name"].as_str()), (Some("Node"), Some("worker-0000")));
}

/// With node checks running, NodeDisk judges the filesystems the node measured
/// (nodeChecks.diskMounts, each mounted alone and read-only; never the host's `/`),
/// preferred to the kubelet Summary API's figures, and says where they come from.
#[test]
fn node_disk_judges_the_figures_the_node_measured_over_the_kubelet_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = json!({
        "apiVersion": "kubeeye.io/v1", "kind": "KubeletSummary", "metadata": { "name": "worker-0000" },
        "node": { "nodeName": "worker-0000",
                  "fs": { "availableBytes": 90_000_000_000u64, "capacityBytes": 100_000_000_000u64, "inodesFree": 900, "inodes": 1000 } },
    });
    let server =
        FakeApiServer::start(FakeCluster::from_values(vec![linux_node("worker-0000"), summary]), Options::default());
    server.kubeconfig(dir.path().join("kubeconfig"));
    let gib = 1u64 << 30;
    let result = json!({
        "schemaVersion": 1, "node": "worker-0000", "startedAt": "2026-12-01T02:00:00Z", "finishedAt": "2026-12-01T02:00:01Z",
        "results": [],
        "facts": { "filesystems": [
            { "mount": "/", "usedBytes": gib, "totalBytes": 100 * gib, "availableBytes": 99 * gib, "inodesUsed": 1, "inodesTotal": 1000 },
            { "mount": "/var/lib/kubelet", "usedBytes": 91 * gib, "totalBytes": 100 * gib, "availableBytes": 9 * gib, "inodesUsed": 10, "inodesTotal": 1000 },
            { "mount": "/var/lib/containerd", "usedBytes": 10 * gib, "totalBytes": 100 * gib, "availableBytes": 90 * gib, "inodesUsed": 10, "inodesTotal": 1000 }
        ], "load1": null, "cpuPercent": null, "memoryPercent": null, "clockOffsetSeconds": null, "ntpSynchronized": null },
    });
    server.jobs().default_script = PodScript::result(&result, Duration::from_millis(50));
    // The kubelet summary is read too (nodes/proxy granted): the node's figures win.
    let node_checks = "nodeChecks:\n  image: ghcr.io/kubeeye/kubeeye:test\n  pollInterval: 1s\n  \
                       diskMounts: [/var/lib/kubelet, /var/lib/containerd]\n";
    let config = format!("inspection: {{collection: {{kubeletSummary: true}}}}\n{node_checks}");
    std::fs::write(dir.path().join("kubeeye.yaml"), config).expect("config written");
    let report = diag_json(dir.path(), "tests/data/inspectrules/sysctl.yaml", &[]);
    assert!(server.stats().log.iter().any(|r| r.path.contains("/proxy/stats/summary")), "the summary was read");
    let disk: Vec<&Value> =
        report["findings"].as_array().expect("findings").iter().filter(|f| f["rule"] == "NodeDisk").collect();
    assert_eq!(disk.len(), 1, "{:#?}", report["findings"]);
    assert_eq!(
        disk[0]["message"],
        "/var/lib/kubelet 91% used (9.0 GiB free of 100.0 GiB), above 80% (measured on the node by ke node-check)"
    );
    // Without nodes/proxy (the default), NodeDisk is judged all the same, and no gap says otherwise.
    std::fs::write(dir.path().join("kubeeye.yaml"), node_checks).expect("config written");
    let without = diag_json(dir.path(), "tests/data/inspectrules/sysctl.yaml", &[]);
    let again = without["findings"].as_array().expect("findings").iter().filter(|f| f["rule"] == "NodeDisk").count();
    assert_eq!(again, 1);
    assert!(!without["coverage"].to_string().contains("stats/summary"), "{:#}", without["coverage"]);
    let jobs = server.jobs();
    let job = &jobs.manifests[0];
    let spec = &job["spec"]["template"]["spec"];
    let volumes: Vec<(&str, &str)> = spec["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .map(|v| (v["hostPath"]["path"].as_str().unwrap_or(""), v["hostPath"]["type"].as_str().unwrap_or("")))
        .collect();
    for disk in ["/var/lib/kubelet", "/var/lib/containerd"] {
        assert!(volumes.contains(&(disk, "Directory")), "{volumes:?}");
    }
    assert!(!volumes.iter().any(|(p, _)| *p == "/"), "never the host's root: {volumes:?}");
    assert!(spec["containers"][0]["volumeMounts"].as_array().expect("mounts").iter().all(|m| m["readOnly"] == true));
    let request: Value = serde_json::from_str(spec["containers"][0]["env"][0]["value"].as_str().expect("request"))
        .expect("request JSON");
    assert_eq!(request["diskMounts"], json!(["/var/lib/kubelet", "/var/lib/containerd"]));
}

/// The JSON reports under `dir`, oldest run first.
fn reports_under(dir: &std::path::Path) -> Vec<Value> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.file_name().is_some_and(|n| n == "report.json") {
                found.push(path);
            }
        }
    }
    found.sort();
    found.iter().map(|p| serde_json::from_slice(&std::fs::read(p).expect("report")).expect("JSON report")).collect()
}

/// `ke run` reads the previous run from the store before the node checks, so the
/// nightly job catches a changed file with no state on the node either.
#[test]
fn ke_run_compares_watched_files_with_the_previous_run_in_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, watched) = node_watching_kubelet_config(dir.path(), "maxPods: 110\n"); // held: it serves until dropped
    let kubeconfig = dir.path().join("kubeconfig");
    let (local, store) = (dir.path().join("local"), dir.path().join("store"));
    let config = dir.path().join("kubeeye.yaml");
    std::fs::write(
        &config,
        format!(
            "rules: [{}]\noutputs: {{directory: {}}}\nstorage: {{url: 'file://{}'}}\n\
             nodeChecks: {{image: 'ghcr.io/kubeeye/kubeeye:test', pollInterval: 1s}}\n",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/inspectrules/filechange.yaml").display(),
            local.display(),
            store.display()
        ),
    )
    .expect("config");
    let run = || {
        let args =
            ["run", "--config", config.to_str().expect("utf-8"), "--kubeconfig", kubeconfig.to_str().expect("utf-8")];
        let run = crate::common::cli::ke(&args);
        assert!(run.stdout.contains("wrote "), "{}\n{}", run.stdout, run.stderr);
    };
    let changes = |report: &Value| {
        report["findings"].as_array().expect("findings").iter().filter(|f| f["rule"] == "kubelet-config").count()
    };
    run();
    std::fs::write(&watched, "maxPods: 250\n").expect("changed");
    run();
    let reports = reports_under(&local);
    assert_eq!(reports.len(), 2, "two runs");
    assert_eq!((changes(&reports[0]), changes(&reports[1])), (0, 1), "the second run sees the change");
    let path = "/var/lib/kubelet/config.yaml";
    let (before, after) =
        (&reports[0]["nodeFiles"]["worker-0000"][path], &reports[1]["nodeFiles"]["worker-0000"][path]);
    assert_ne!(before["sha256"], after["sha256"]);
    let message = reports[1]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "kubelet-config")
        .expect("finding")["message"]
        .to_string();
    assert!(message.contains(&before["sha256"].as_str().expect("hash")[..12]), "{message}");
}

/// A clock rule is decided on the node's clock as read from its pod's log while it
/// runs (beacons), not on the node's own comparison with the Job's creation time:
/// a node 30 s off is a danger finding with the uncertainty of the reading, though
/// its own result passed. The result parser skips the beacons before the result.
#[test]
fn the_clock_is_read_from_the_running_pods_beacons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FakeApiServer::start(FakeCluster::from_values(vec![linux_node("worker-0000")]), Options::default());
    server.kubeconfig(dir.path().join("kubeconfig"));
    let result = json!({
        "schemaVersion": 1, "node": "worker-0000", "startedAt": "2026-12-01T02:00:00Z", "finishedAt": "2026-12-01T02:00:01Z",
        "results": [{ "rule": "nodeClock", "outcome": "pass", "message": "the clock is +0.400 s off the inspection's", "observed": "0.4" }],
        "facts": { "filesystems": [], "load1": null, "cpuPercent": null, "memoryPercent": null, "clockOffsetSeconds": 0.4, "ntpSynchronized": true },
    });
    // Running until its log has been read once, then done.
    server.jobs().default_script = PodScript::Beacons { offset_seconds: 30.0, result };
    std::fs::write(
        dir.path().join("kubeeye.yaml"),
        "nodeChecks:\n  image: ghcr.io/kubeeye/kubeeye:test\n  pollInterval: 1s\n",
    )
    .expect("config written");
    let rules = dir.path().join("clock.yaml");
    std::fs::write(&rules, "customChecks:\n  nodeClock: {target: Host, host: clock, severity: warning}\n")
        .expect("rules");
    let report = diag_json(dir.path(), rules.to_str().expect("utf-8"), &[]);
    let clock: Vec<&Value> =
        report["findings"].as_array().expect("findings").iter().filter(|f| f["rule"] == "nodeClock").collect();
    assert_eq!(clock.len(), 1, "{report:#}");
    assert_eq!(clock[0]["severity"], "danger", "over 10 s");
    let message = clock[0]["message"].as_str().expect("message");
    let offset: f64 = message
        .split("the clock is ")
        .nth(1)
        .and_then(|m| m.split(' ').next())
        .and_then(|o| o.parse().ok())
        .unwrap_or_else(|| panic!("{message}"));
    assert!((29.0..31.0).contains(&offset), "{message}");
    assert!(
        message.contains("± ")
            && message.contains("read from the pod's log")
            && message.ends_with("(NTP synchronised)"),
        "{message}"
    );
    let jobs = server.jobs();
    let request = jobs.manifests[0].pointer("/spec/template/spec/containers/0/env/0/value").and_then(Value::as_str);
    let request: Value = serde_json::from_str(request.expect("request")).expect("request JSON");
    assert_eq!(request["clockBeaconMillis"], 3000, "two polls and a second");
}

//! `ke run` as operators run it, with the faults they meet: a store that
//! accepts connections and never answers, nights the cluster cannot be
//! reached, an unset password variable, endpoints given by IP address, and
//! what reaches the log.
#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::time::{Duration, Instant};

use mail_parser::MessageParser;
use serde_json::Value;

use crate::common::cli::Run;
use crate::run::{BUCKET, Env, clock_passes, cluster, config_text, ke, run_dirs};
use crate::support::apiserver::{FakeApiServer, FakeCluster, Options};
use crate::support::http::{Receiver, Reply};
use crate::support::pushgateway::{self, Pushgateway};
use crate::support::s3::{ACCESS_KEY, S3Server, SECRET_KEY};
use crate::support::silent::SilentServer;
use crate::support::smtp::SmtpServer;

fn s3_vars() -> Vec<(String, String)> {
    vec![("TEST_S3_KEY".into(), ACCESS_KEY.into()), ("TEST_S3_SECRET".into(), SECRET_KEY.into())]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_store_does_not_hold_back_the_digest() {
    let silent = SilentServer::start().await;
    let smtp = SmtpServer::start();
    let slack = Receiver::start(Reply::Status(200, "ok".into())).await;
    let generic = Receiver::start(Reply::Status(200, "{}".into())).await;
    let mut env = Env::new();
    env.vars = s3_vars();
    env.vars.push(("TEST_SLACK_URL".into(), format!("{}/services/T1/B1/x", slack.base)));
    env.vars.push(("TEST_GENERIC_URL".into(), format!("{}/hooks", generic.base)));
    let deadline = Duration::from_secs(16);
    // The store answers nothing: neither the read of latest.json nor the upload.
    let text = config_text(&env.path("local"), &silent.endpoint, BUCKET, smtp.port, "")
        + &format!("delivery:\n  deadline: {}s\n", deadline.as_secs());
    let config = env.config(&text);
    let server = FakeApiServer::start(FakeCluster::from_values(cluster(false)), Options::default());
    let kubeconfig = env.kubeconfig(&server, "kubeconfig");

    let started = Instant::now();
    let run = tokio::spawn({
        let config = config.clone();
        async move { env.run(&config, &kubeconfig).await }
    });
    // When the digest arrives. The deadline's clock starts with delivery, whose
    // first act is asking the store for latest.json: the times are measured from
    // that first connection, so a slow inspection on a loaded machine does not count.
    let arrived_at = loop {
        if !smtp.messages().is_empty() {
            break Instant::now();
        }
        assert!(started.elapsed() < Duration::from_secs(120), "no digest within 120 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let run = run.await.unwrap();
    let ended_at = Instant::now();
    let asked = silent.first_accepted_at().expect("the store was asked");
    let (arrived, total) = (arrived_at - asked, ended_at - asked);
    eprintln!(
        "silent store: first asked {:?} after the start; then digest after {arrived:?}, run ended after {total:?} (deadline {deadline:?})",
        asked - started
    );
    assert!(arrived < deadline, "the digest went out after {arrived:?}, past the {deadline:?} deadline");
    assert!(total < deadline + Duration::from_secs(5), "the run took {total:?}");
    assert_eq!(run.code, 4, "the store failed: {}\n{}", run.stdout, run.stderr);
    let store_failures: Vec<&str> =
        run.stdout.lines().filter(|l| l.starts_with("FAILED") && l.contains(" store ")).collect();
    assert!(
        store_failures.iter().any(|l| l.contains("delivery deadline")),
        "the store line says why it was given up: {}",
        run.stdout
    );
    assert!(run.stdout.lines().any(|l| l.starts_with("ok") && l.contains("email")), "{}", run.stdout);

    let expected = "Archiving failed: ";
    let tail = "; no comparison with the previous run";
    let printed = run.stdout.lines().find(|l| l.starts_with(expected)).unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(printed.ends_with(tail) && printed.contains("delivery deadline"), "{printed}");
    let mails = smtp.messages();
    let mail = MessageParser::default().parse(&mails[0].data).unwrap();
    let text = mail.body_text(0).unwrap().to_string();
    assert!(text.contains(expected) && text.contains(tail), "{text}");
    assert!(!text.contains("Full report:"), "no link to a report that is not archived: {text}");
    let html = mail.body_html(0).unwrap().to_string();
    assert!(html.contains(expected) && html.contains(tail), "{html}");
    let hook = generic.requests()[0].json();
    let note = hook["archiveNote"].as_str().unwrap();
    assert!(note.starts_with(expected) && note.ends_with(tail), "{hook}");
    assert_eq!(hook["reportUrl"], Value::Null);
    let posted = slack.requests()[0].json().to_string();
    assert!(posted.contains(expected) && posted.contains(tail), "{posted}");
}

/// The config of the retention test: a store keeping one run, nothing else.
fn retention_config(env: &Env, s3: &S3Server) -> String {
    env.config(&format!(
        "cluster: prod-eu\noutputs: {{directory: {}}}\nstorage:\n  url: s3://{BUCKET}/nightly\n  endpoint: {}\n  \
         region: us-east-1\n  pathStyle: true\n  allowHttp: true\n  accessKeyIdEnv: TEST_S3_KEY\n  \
         secretAccessKeyEnv: TEST_S3_SECRET\n  retention: {{maxCount: 1}}\n",
        env.path("local").display(),
        s3.endpoint
    ))
}

/// The startedAt of the run `ke run` just wrote locally.
fn started_of(stdout: &str) -> String {
    let json = stdout.lines().find_map(|l| l.strip_prefix("wrote ").filter(|p| p.ends_with(".json"))).unwrap();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    report["startedAt"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_never_prunes_the_last_run_that_reached_the_cluster() {
    let s3 = S3Server::start(&[BUCKET]).await;
    let mut env = Env::new();
    env.vars = s3_vars();
    let config = retention_config(&env, &s3);

    // Night one: a good run.
    let good = FakeApiServer::start(FakeCluster::from_values(cluster(true)), Options::default());
    let run = env.run(&config, &env.kubeconfig(&good, "kubeconfig-good")).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let first = run_dirs(&s3.objects(BUCKET));
    assert_eq!(first.len(), 1);
    let mut started = started_of(&run.stdout);
    drop(good);

    // Two nights the cluster cannot be reached, with maxCount: 1.
    let gone = FakeApiServer::start(FakeCluster::from_values(Vec::new()), Options::default());
    let unreachable = env.kubeconfig(&gone, "kubeconfig-gone");
    drop(gone);
    for night in 2..=3 {
        clock_passes(&started).await;
        let run = env.run(&config, &unreachable).await;
        assert_eq!(run.code, 3, "night {night}: {}\n{}", run.stdout, run.stderr);
        started = started_of(&run.stdout);
        let runs = run_dirs(&s3.objects(BUCKET));
        assert_eq!(runs.len(), 2, "night {night}: the newest run and the last good one: {runs:?}");
        assert!(runs.contains(&first[0]), "night {night}: the last good run is kept: {runs:?}");
        let latest: Value = serde_json::from_slice(&s3.read(BUCKET, "nightly/prod-eu/latest.json").unwrap()).unwrap();
        let baseline = first[0].trim_start_matches("nightly/");
        assert_eq!(latest["baseline"]["reports"]["json"], format!("{baseline}/report.json"), "{latest}");
    }

    // Night four: the cluster is back, and compared with night one, not with nothing.
    clock_passes(&started).await;
    let back = FakeApiServer::start(FakeCluster::from_values(cluster(false)), Options::default());
    let run = env.run(&config, &env.kubeconfig(&back, "kubeconfig-back")).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let runs = run_dirs(&s3.objects(BUCKET));
    assert_eq!(runs.len(), 1, "the new good run replaces the old baseline: {runs:?}");
    let report: Value = serde_json::from_slice(&s3.read(BUCKET, &format!("{}/report.json", runs[0])).unwrap()).unwrap();
    let resolved = report["diff"]["resolved"].as_array().unwrap_or_else(|| panic!("no diff: {}", report["diff"]));
    assert!(resolved.iter().any(|f| f["rule"] == "NodeNotReady"), "compared with night one: {}", report["diff"]);
    assert!(run.stdout.contains("resolved"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_password_variable_is_named() {
    let env = Env::new();
    let config = env.config(
        "notify:\n  email: {host: relay.example.com, from: a@example.com, to: [b@example.com], \
         username: bot, passwordEnv: KE_TEST_SMTP_PASSWORD_UNSET}\n",
    );
    let run = ke(["run", "--config", &config, "--check-config"].map(String::from).to_vec(), vec![]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("notify.email.passwordEnv: environment variable KE_TEST_SMTP_PASSWORD_UNSET is not set"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("KE_SMTP_PASSWORD"),
        "the default is not read when passwordEnv is set: {}",
        run.stderr
    );

    let config = env.config(
        "notify:\n  email: {host: relay.example.com, from: a@example.com, to: [b@example.com], username: bot}\n",
    );
    let run = ke(["run", "--config", &config, "--check-config"].map(String::from).to_vec(), vec![]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("set passwordEnv or passwordFile, or the KE_SMTP_PASSWORD variable"), "{}", run.stderr);
    assert!(!run.stderr.contains("notify.email: notify.email"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_say_what_failed_once_and_library_lines_need_v() {
    let env = Env::new();
    let config = env.config(&format!("cluster: ops\noutputs: {{directory: {}}}\n", env.path("local").display()));
    // Its etcd readyz check fails: the report records it; the log repeats no library line about it.
    let server = FakeApiServer::start(
        FakeCluster::from_snapshot(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/apiserver")),
        Options::default(),
    );
    let kubeconfig = env.kubeconfig(&server, "kubeconfig");
    let run = env.run(&config, &kubeconfig).await;
    assert!(run.stdout.contains("etcd"), "the failing check is in the digest: {}", run.stdout);
    assert!(!run.stderr.contains("failed with status"), "no library line without -v: {}", run.stderr);
    assert!(!run.stderr.contains("ERROR"), "{}", run.stderr);
    let verbose =
        ke(["-v", "run", "--config", &config, "--kubeconfig", &kubeconfig].map(String::from).to_vec(), vec![]).await;
    assert!(verbose.stderr.contains("failed with status"), "-v shows the libraries' lines: {}", verbose.stderr);
    drop(server);

    // The cluster is gone: the digest says so, the log has no library line.
    let run = env.run(&config, &kubeconfig).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains("client error (Connect)"), "{}", run.stderr);
    assert!(run.stdout.contains("API server unreachable"), "{}", run.stdout);

    // A message names its key once.
    let bad = env.config("storage: {url: ftp://example.com/x}\n");
    let run = ke(["run", "--config", &bad, "--check-config"].map(String::from).to_vec(), vec![]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("kubeeye.yaml: storage.url `ftp://example.com/x`: unsupported scheme"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("storage: storage"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_and_localhost_endpoints_are_addressed_path_style() {
    let s3 = S3Server::start(&[BUCKET]).await;
    let port = s3.endpoint.rsplit(':').next().unwrap().to_string();
    for endpoint in [s3.endpoint.clone(), format!("http://localhost:{port}")] {
        let mut env = Env::new();
        env.vars = s3_vars();
        // No pathStyle: the endpoint alone decides.
        let config = env.config(&format!(
            "cluster: {name}\noutputs: {{directory: {dir}}}\nstorage:\n  url: s3://{BUCKET}/ip\n  endpoint: {endpoint}\n  \
             allowHttp: true\n  accessKeyIdEnv: TEST_S3_KEY\n  secretAccessKeyEnv: TEST_S3_SECRET\n",
            name = if endpoint.contains("localhost") { "by-name" } else { "by-ip" },
            dir = env.path("local").display(),
        ));
        let run = ke(
            ["run", "--config", &config, "--snapshot", "examples/demo-cluster"].map(String::from).to_vec(),
            env.vars.clone(),
        )
        .await;
        let store: Vec<&str> = run.stdout.lines().filter(|l| l.contains(" store ")).collect();
        assert!(!store.is_empty() && store.iter().all(|l| l.starts_with("ok")), "{endpoint}: {}", run.stdout);
    }
    let runs = run_dirs(&s3.objects(BUCKET));
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(runs.iter().any(|r| r.starts_with("ip/by-ip/")) && runs.iter().any(|r| r.starts_with("ip/by-name/")));
}

/// `ke run --config <config> --check-config` with `vars`.
async fn check(config: &str, vars: Vec<(String, String)>) -> crate::common::cli::Run {
    ke(["run", "--config", config, "--check-config"].map(String::from).to_vec(), vars).await
}

/// The `channels:` line of `channel` in a `--check-config` output.
fn probe_line<'a>(stdout: &'a str, channel: &str) -> &'a str {
    stdout
        .lines()
        .skip_while(|l| *l != "channels:")
        .find(|l| l.split_whitespace().nth(1) == Some(channel))
        .unwrap_or_else(|| panic!("no line for {channel}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_probes_every_channel_without_delivering() {
    let s3 = S3Server::start(&[BUCKET]).await;
    let smtp = SmtpServer::start_tls("kubeeye", "relay-password");
    let hook = Receiver::start(Reply::Status(200, "{}".into())).await;
    // A TLS server whose certificate no trust store knows.
    let untrusted = FakeApiServer::start(FakeCluster::from_values(Vec::new()), Options::default());
    let env = Env::new();
    let password = env.path("smtp-password");
    std::fs::write(&password, "relay-password\n").unwrap();
    let text = |bucket: &str, smtp_port: u16| {
        format!(
            "outputs: {{directory: {dir}}}\nstorage:\n  url: s3://{bucket}/nightly\n  endpoint: {s3}\n  \
             allowHttp: true\n  accessKeyIdEnv: TEST_S3_KEY\n  secretAccessKeyEnv: TEST_S3_SECRET\n\
             notify:\n  email: {{host: 127.0.0.1, port: {smtp_port}, tls: starttls, caFile: {ca}, username: kubeeye, \
             passwordFile: {password}, from: a@example.com, to: [b@example.com]}}\n  webhooks:\n    \
             - {{name: ops, format: generic, urlEnv: TEST_HOOK_URL}}\n    \
             - {{name: tls, format: generic, urlEnv: TEST_TLS_URL, timeout: 5s}}\n",
            dir = env.path("local").display(),
            s3 = s3.endpoint,
            ca = smtp.ca_file.as_ref().unwrap().display(),
            password = password.display(),
        )
    };
    let mut vars = s3_vars();
    vars.push(("TEST_HOOK_URL".into(), format!("{}/hooks/secret-path", hook.base)));
    vars.push(("TEST_TLS_URL".into(), format!("{}/hook", untrusted.url())));

    let config = env.config(&text(BUCKET, smtp.port));
    let run = check(&config, vars.clone()).await;
    assert!(run.stdout.starts_with("config OK"), "{}\n{}", run.stdout, run.stderr);
    assert!(probe_line(&run.stdout, "store").contains("ok"), "{}", run.stdout);
    assert!(probe_line(&run.stdout, "email").contains("authenticated"), "{}", run.stdout);
    assert!(probe_line(&run.stdout, "webhook:ops").trim_start().starts_with("ok"), "{}", run.stdout);
    let tls = probe_line(&run.stdout, "webhook:tls");
    assert!(tls.contains("FAILED") && tls.contains("TLS handshake"), "an unknown CA fails the probe: {tls}");
    assert_eq!(run.code, 4, "one channel cannot be reached: {}", run.stdout);
    assert!(!run.stdout.contains("secret-path"), "no webhook URL in the output");
    assert!(hook.requests().is_empty(), "nothing posted");
    assert!(smtp.messages().is_empty(), "nothing mailed");
    assert!(s3.objects(BUCKET).is_empty(), "nothing written");

    // Every channel reachable: exit 0.
    vars.retain(|(k, _)| k != "TEST_TLS_URL");
    vars.push(("TEST_TLS_URL".into(), format!("{}/other", hook.base)));
    let run = check(&config, vars.clone()).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);

    // A missing bucket, a wrong SMTP password, and a webhook host that is down.
    std::fs::write(&password, "wrong-password").unwrap();
    let config = env.config(&text("no-such-bucket", smtp.port));
    vars.retain(|(k, _)| k != "TEST_HOOK_URL");
    vars.push(("TEST_HOOK_URL".into(), format!("http://127.0.0.1:{}/x", crate::support::smtp::closed_port())));
    let run = check(&config, vars.clone()).await;
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    assert!(probe_line(&run.stdout, "store").contains("no-such-bucket does not exist"), "{}", run.stdout);
    assert!(probe_line(&run.stdout, "email").contains("535"), "{}", run.stdout);
    assert!(probe_line(&run.stdout, "webhook:ops").contains("cannot connect"), "{}", run.stdout);
    assert!(run.stdout.contains("3 of 4 channel(s) cannot be reached"), "{}", run.stdout);
    assert!(!run.stdout.contains("wrong-password"));
}

/// The value of the one sample of `name` in `samples` whose labels contain every one of `labels`.
fn value_of(samples: &[(String, f64)], labels: &[&str]) -> Option<f64> {
    let matching: Vec<f64> =
        samples.iter().filter(|(l, _)| labels.iter().all(|want| l.contains(want))).map(|(_, v)| *v).collect();
    assert!(matching.len() <= 1, "{labels:?} matches several samples: {samples:?}");
    matching.first().copied()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reach_a_pushgateway_and_the_archive() {
    let gateway = tokio::task::spawn_blocking(Pushgateway::start).await.unwrap();
    let mut env = Env::new();
    env.vars.push(("TEST_PG_PASSWORD".into(), pushgateway::PASSWORD.into()));
    let archive = env.path("archive");
    let config = env.config(&format!(
        "cluster: prod-eu\noutputs: {{directory: {}}}\nstorage: {{url: 'file://{}'}}\nnotify:\n  when: changes\n  \
         pushgateway:\n    url: {}\n    username: {}\n    passwordEnv: TEST_PG_PASSWORD\n    \
         grouping: {{environment: test}}\n",
        env.path("local").display(),
        archive.display(),
        gateway.url,
        pushgateway::USER,
    ));
    let group = ["job=\"kubeeye\"", "cluster=\"prod-eu\"", "environment=\"test\""];

    // Night one reaches the cluster.
    let server = FakeApiServer::start(FakeCluster::from_values(cluster(true)), Options::default());
    let kubeconfig = env.kubeconfig(&server, "kubeconfig");
    let run = env.run(&config, &kubeconfig).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.lines().any(|l| l.starts_with("ok") && l.contains("pushgateway")), "{}", run.stdout);
    let report: Value = {
        let json = run.stdout.lines().find_map(|l| l.strip_prefix("wrote ").filter(|p| p.ends_with(".json"))).unwrap();
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
    };
    let danger = report["summary"]["danger"].as_u64().unwrap() as f64;
    let findings = gateway.samples("kubeeye_findings");
    let pushed_danger: f64 = findings
        .iter()
        .filter(|(l, _)| l.contains("severity=\"danger\"") && group.iter().all(|g| l.contains(g)))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(pushed_danger, danger, "{findings:?}");
    let score = report["summary"]["score"].as_u64().unwrap() as f64;
    assert_eq!(value_of(&gateway.samples("kubeeye_score"), &group), Some(score));
    assert_eq!(value_of(&gateway.samples("kubeeye_coverage_gaps"), &group), Some(0.0));
    assert!(value_of(&gateway.samples("kubeeye_inspection_duration_seconds"), &group).is_some());
    let first_run = value_of(&gateway.samples("kubeeye_last_run_timestamp_seconds"), &group).unwrap();
    let first_success = value_of(&gateway.samples("kubeeye_last_success_timestamp_seconds"), &group).unwrap();
    assert_eq!(first_run, first_success);
    let finished = kubeeye::clock::parse(report["finishedAt"].as_str().unwrap()).unwrap().as_second() as f64;
    assert_eq!(first_run, finished);

    // The same metrics, as OpenMetrics, beside the reports in the archive.
    let prom = walk_files(&archive).into_iter().find(|p| p.ends_with("report.prom")).expect("report.prom archived");
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("# UNIT kubeeye_inspection_duration_seconds seconds"), "{text}");
    assert_eq!(value_of(&pushgateway::parse_samples(&text, "kubeeye_score"), &["cluster=\"prod-eu\""]), Some(score));
    assert_eq!(
        value_of(
            &pushgateway::parse_samples(&text, "kubeeye_last_success_timestamp_seconds"),
            &["cluster=\"prod-eu\""]
        ),
        Some(first_success)
    );

    // Night two cannot reach the cluster: the run is recorded, the last success stays.
    drop(server);
    // The metric is the finish time in whole seconds: the second run must finish in a later second.
    clock_passes(report["finishedAt"].as_str().unwrap()).await;
    let run = env.run(&config, &kubeconfig).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.lines().any(|l| l.starts_with("ok") && l.contains("pushgateway")), "{}", run.stdout);
    let second_run = value_of(&gateway.samples("kubeeye_last_run_timestamp_seconds"), &group).unwrap();
    assert!(second_run > first_run, "{second_run} after {first_run}");
    assert_eq!(value_of(&gateway.samples("kubeeye_last_success_timestamp_seconds"), &group), Some(first_success));
    assert_eq!(value_of(&gateway.samples("kubeeye_coverage_gaps"), &group), Some(1.0));

    // A wrong password is a failed delivery that says so.
    env.vars = vec![("TEST_PG_PASSWORD".into(), "wrong".into())];
    let run = env.run(&config, &kubeconfig).await;
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    let line = run.stdout.lines().find(|l| l.contains("pushgateway")).unwrap();
    assert!(line.starts_with("FAILED") && line.contains("401"), "{line}");
    assert!(!run.stdout.contains("wrong"), "{}", run.stdout);
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .flat_map(|e| if e.path().is_dir() { walk_files(&e.path()) } else { vec![e.path()] })
        .collect()
}

/// A valid-JSON `latest.json` of `bytes` bytes at `key` in the store, too large
/// to be read whole; then one `ke run` archiving to that store and mailing its
/// digest (no webhooks). Returns the servers, the run and how long it took.
async fn night_with_an_oversized_pointer(key: &str, bytes: usize) -> (S3Server, SmtpServer, Run, Duration) {
    let s3 = S3Server::start(&[BUCKET]).await;
    let mut pointer = br#"{"padding":""#.to_vec();
    pointer.resize(bytes, b'a');
    pointer.extend_from_slice(br#""}"#);
    s3.put_foreign(BUCKET, key, &pointer);
    let smtp = SmtpServer::start();
    let mut env = Env::new();
    env.vars = s3_vars();
    let text = config_text(&env.path("local"), &s3.endpoint, BUCKET, smtp.port, "");
    let text = text.split("  webhooks:").next().unwrap().to_string();
    let config = env.config(&text);
    let server = FakeApiServer::start(FakeCluster::from_values(cluster(true)), Options::default());
    let kubeconfig = env.kubeconfig(&server, "kubeconfig");
    let started = Instant::now();
    let run = env.run(&config, &kubeconfig).await;
    (s3, smtp, run, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_latest_json_is_refused_after_1_mib_and_the_night_goes_on() {
    // A pointer of 48 MiB that is valid JSON: read whole, it would parse.
    let (s3, smtp, run, took) = night_with_an_oversized_pointer("nightly/prod-eu/latest.json", 48 << 20).await;
    let refused = "is larger than 1048576 bytes; not read";
    let printed = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Reading the previous run failed"))
        .unwrap_or_else(|| panic!("the digest says why there is no comparison:\n{}\n{}", run.stdout, run.stderr));
    assert!(printed.contains("latest.json") && printed.contains(refused), "{printed}");
    assert!(took < Duration::from_secs(60), "the oversized pointer is not read to its end: {took:?}");
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "the digest still goes out: {}", run.stdout);
    // The run archived and replaced the pointer with its own.
    let latest = s3.read(BUCKET, "nightly/prod-eu/latest.json").unwrap();
    assert!(latest.len() < 1 << 20, "latest.json was rewritten by this run");
    let latest: Value = serde_json::from_slice(&latest).unwrap();
    assert!(latest["reports"]["json"].as_str().is_some_and(|k| k.ends_with("report.json")), "{latest}");
}

/// Another cluster's `latest.json` over the 1 MiB bound is skipped when the
/// fleet index is rebuilt, as a malformed one is: it does not stop the index
/// for every cluster sharing the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clusters_oversized_pointer_is_left_out_of_the_index_not_the_index() {
    let (s3, _smtp, run, _) = night_with_an_oversized_pointer("nightly/staging/latest.json", 2 << 20).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let index = s3.read(BUCKET, "nightly/index.html").unwrap_or_else(|| panic!("no index: {}", run.stdout));
    let index = String::from_utf8(index).unwrap();
    assert!(index.contains("prod-eu"), "{index}");
    assert!(!index.contains("staging"), "the oversized pointer's cluster is not listed: {index}");
    assert!(run.stderr.contains("staging/latest.json") && run.stderr.contains("larger than"), "{}", run.stderr);
}

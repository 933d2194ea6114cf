//! `ke run` end to end: the real binary inspects the fake API server, archives
//! to a real S3 protocol server, mails a real SMTP server and posts to HTTP
//! receivers; a second run diffs against the first and retention prunes it;
//! faults in every channel are reported without losing a report.
#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::path::{Path, PathBuf};
use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders};
use serde_json::Value;

use crate::common;
use crate::common::cli::{Run, ke_with, shifted};
use crate::support::apiserver::{FakeApiServer, FakeCluster, Options};
use crate::support::http::{Receiver, Reply};
use crate::support::s3::{ACCESS_KEY, S3Server, SECRET_KEY};
use crate::support::smtp::{SmtpServer, closed_port};

pub(crate) const BUCKET: &str = "kubeeye-reports";

/// Runs `ke` off the test's runtime, which keeps serving S3 and the receivers meanwhile.
pub(crate) async fn ke(args: Vec<String>, env: Vec<(String, String)>) -> Run {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ke_with(&args, &env)
    })
    .await
    .unwrap()
}

fn fixture(path: &str, kinds: &[&str]) -> Vec<Value> {
    shifted(path, kinds)
}

/// A small cluster: one node (NotReady when `broken`), its metrics and
/// summary, a crash-looping Deployment, a Warning event, healthy control plane.
pub(crate) fn cluster(broken: bool) -> Vec<Value> {
    let node = if broken { "tests/fixtures/NodeNotReady/fail.yaml" } else { "tests/fixtures/NodeNotReady/pass.yaml" };
    let mut v = fixture(node, &["Node"]);
    v.extend(fixture("tests/fixtures/NodeCPU/pass.yaml", &["NodeMetrics"]));
    v.extend(fixture("tests/fixtures/NodeDisk/pass.yaml", &["KubeletSummary"]));
    v.extend(fixture("tests/fixtures/APIServerHealthStatus/pass.yaml", &[]));
    v.extend(fixture("tests/fixtures/PodCrashLooping/fail.yaml", &["Pod"]));
    v.extend(fixture("tests/fixtures/WarningEvent/fail.yaml", &["Event"]));
    v.extend(fixture("tests/fixtures/missingNetworkPolicy/pass-default-deny.yaml", &[]));
    v
}

pub(crate) struct Env {
    dir: tempfile::TempDir,
    pub(crate) vars: Vec<(String, String)>,
}

impl Env {
    pub(crate) fn new() -> Self {
        Env { dir: tempfile::tempdir().unwrap(), vars: Vec::new() }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn kubeconfig(&self, server: &FakeApiServer, name: &str) -> String {
        let path = self.path(name);
        server.kubeconfig(&path);
        path.to_str().unwrap().to_string()
    }

    pub(crate) fn config(&self, text: &str) -> String {
        let path = self.path("kubeeye.yaml");
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    pub(crate) async fn run(&self, config: &str, kubeconfig: &str) -> Run {
        let args = ["run", "--config", config, "--kubeconfig", kubeconfig].map(String::from).to_vec();
        ke(args, self.vars.clone()).await
    }
}

pub(crate) fn config_text(local: &Path, s3: &str, bucket: &str, smtp_port: u16, extra_webhooks: &str) -> String {
    format!(
        r#"cluster: prod-eu
outputs:
  directory: {local}
storage:
  url: s3://{bucket}/nightly
  endpoint: {s3}
  region: us-east-1
  pathStyle: true
  allowHttp: true
  accessKeyIdEnv: TEST_S3_KEY
  secretAccessKeyEnv: TEST_S3_SECRET
  attempts: 3
  retention:
    maxCount: 1
notify:
  email:
    host: 127.0.0.1
    port: {smtp_port}
    tls: none
    from: kubeeye@example.com
    to: [ops@example.com, sre@example.com]
    attachCsv: true
    timeout: 5s
  webhooks:
    - {{name: slack, format: slack, urlEnv: TEST_SLACK_URL}}
    - {{name: ops, format: generic, urlEnv: TEST_GENERIC_URL}}
{extra_webhooks}"#,
        local = local.display()
    )
}

pub(crate) fn run_dirs(keys: &[String]) -> Vec<String> {
    let mut dirs: Vec<String> = keys
        .iter()
        .filter(|k| k.ends_with("/report.json"))
        .map(|k| k.trim_end_matches("/report.json").to_string())
        .collect();
    dirs.sort();
    dirs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nightly_job_archives_mails_posts_and_diffs_the_next_night() {
    let s3 = S3Server::start(&[BUCKET]).await;
    let smtp = SmtpServer::start();
    let slack = Receiver::start(Reply::Status(200, "ok".into())).await;
    let generic = Receiver::start(Reply::Status(200, "{}".into())).await;
    let mut env = Env::new();
    env.vars = vec![
        ("TEST_S3_KEY".into(), ACCESS_KEY.into()),
        ("TEST_S3_SECRET".into(), SECRET_KEY.into()),
        ("TEST_SLACK_URL".into(), format!("{}/services/T1/B1/secret", slack.base)),
        ("TEST_GENERIC_URL".into(), format!("{}/hooks/kubeeye", generic.base)),
    ];
    let local = env.path("local");
    let config = env.config(&config_text(&local, &s3.endpoint, BUCKET, smtp.port, ""));

    // Night one.
    let first = FakeApiServer::start(FakeCluster::from_values(cluster(true)), Options::default());
    let run = env.run(&config, &env.kubeconfig(&first, "kubeconfig-1")).await;
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("FAILED"), "{}", run.stdout);
    assert!(!run.stdout.contains("secret") && !run.stderr.contains("secret"), "no webhook URL in the output");

    let keys = s3.objects(BUCKET);
    let runs = run_dirs(&keys);
    assert_eq!(runs.len(), 1, "{keys:?}");
    let run_dir = &runs[0];
    let layout = regex::Regex::new(r"^nightly/prod-eu/\d{4}/\d{2}/\d{2}/\d{8}T\d{6}Z$").unwrap();
    assert!(layout.is_match(run_dir), "{run_dir}");
    for name in ["report.html", "report.csv", "report.json"] {
        assert!(keys.contains(&format!("{run_dir}/{name}")), "{name} missing: {keys:?}");
    }
    let report: Value = serde_json::from_slice(&s3.read(BUCKET, &format!("{run_dir}/report.json")).unwrap()).unwrap();
    common::schema::assert_valid_report(&report);
    let (danger, warning) =
        (report["summary"]["danger"].as_u64().unwrap(), report["summary"]["warning"].as_u64().unwrap());
    assert!(report["findings"].as_array().unwrap().iter().any(|f| f["rule"] == "NodeNotReady"));
    let latest: Value = serde_json::from_slice(&s3.read(BUCKET, "nightly/prod-eu/latest.json").unwrap()).unwrap();
    let relative = run_dir.trim_start_matches("nightly/");
    assert_eq!(latest["reports"]["json"], format!("{relative}/report.json"), "{latest}");
    let index = String::from_utf8(s3.read(BUCKET, "nightly/index.html").unwrap()).unwrap();
    assert!(index.contains("prod-eu"));
    // The local copy is the same report.
    let local_json = local.join(run_dir.trim_start_matches("nightly/")).join("report.json");
    assert!(local_json.exists(), "{}", local_json.display());

    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["ops@example.com", "sre@example.com"]);
    let mail = MessageParser::default().parse(&mails[0].data).unwrap();
    // Its only node is NotReady: the cluster is down, and the subject says so first.
    assert_eq!(report["health"]["status"], "down", "{}", report["health"]);
    assert_eq!(report["health"]["reasons"][0], "all nodes NotReady (1 of 1)");
    let headline = format!(
        "DOWN: {}",
        report["health"]["reasons"].as_array().unwrap().iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
    );
    assert_eq!(mail.subject().unwrap(), format!("[kubeeye] prod-eu {headline} · {danger} danger, {warning} warning"));
    assert_eq!(latest["health"], report["health"], "latest.json carries the health for the fleet index");
    let text = mail.body_text(0).unwrap().to_string();
    assert!(text.contains(&format!("Danger:  {danger}")) && text.contains("NodeNotReady"), "{text}");
    assert!(mail.body_html(0).unwrap().contains(&format!("{danger} danger")));
    assert_eq!(mail.attachment_count(), 1);
    assert!(mail.attachment(0).unwrap().attachment_name().unwrap().ends_with(".csv"));

    let slack_body = slack.requests()[0].json();
    assert!(slack_body["blocks"].as_array().is_some_and(|b| !b.is_empty()), "{slack_body}");
    assert_eq!(slack.requests()[0].path, "/services/T1/B1/secret");
    let hook = generic.requests()[0].json();
    assert_eq!(hook["cluster"], "prod-eu");
    assert_eq!(hook["summary"]["danger"].as_u64(), Some(danger));
    assert_eq!(hook["health"], report["health"]);
    assert!(hook["reportUrl"].as_str().is_some_and(|u| u.contains("report.html")), "{hook}");

    // Night two: the node was fixed. Run directories are named to the second,
    // so the second run starts once the clock has left the first run's second.
    drop(first);
    clock_passes(report["startedAt"].as_str().unwrap()).await;
    let second = FakeApiServer::start(FakeCluster::from_values(cluster(false)), Options::default());
    let run = env.run(&config, &env.kubeconfig(&second, "kubeconfig-2")).await;
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let runs_after = run_dirs(&s3.objects(BUCKET));
    assert_eq!(runs_after.len(), 1, "retention keeps one run: {runs_after:?}");
    assert_ne!(&runs_after[0], run_dir, "the oldest run was pruned");
    let report: Value =
        serde_json::from_slice(&s3.read(BUCKET, &format!("{}/report.json", runs_after[0])).unwrap()).unwrap();
    common::schema::assert_valid_report(&report);
    let resolved = report["diff"]["resolved"].as_array().unwrap();
    assert!(resolved.iter().any(|f| f["rule"] == "NodeNotReady"), "{}", report["diff"]);
    assert_ne!(report["health"]["status"], "down", "the node is back: {}", report["health"]);
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["status"] == "open" || f["status"] == "new"));
    let hook = generic.requests()[1].json();
    assert_eq!(hook["resolved"].as_u64(), Some(resolved.len() as u64), "{hook}");
    let mails = smtp.messages();
    let mail = MessageParser::default().parse(&mails[1].data).unwrap();
    assert!(mail.subject().unwrap().ends_with(" 0 new"), "{:?}", mail.subject());
    assert!(mail.body_text(0).unwrap().contains(&format!("0 new, {} resolved", resolved.len())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_channels_are_reported_and_no_report_is_lost() {
    let s3 = S3Server::start(&[BUCKET]).await;
    let hanging = Receiver::start(Reply::Hang).await;
    let good = Receiver::start(Reply::Status(200, "{}".into())).await;
    let mut env = Env::new();
    env.vars = vec![
        ("TEST_S3_KEY".into(), ACCESS_KEY.into()),
        ("TEST_S3_SECRET".into(), SECRET_KEY.into()),
        ("TEST_SLACK_URL".into(), format!("{}/slack", hanging.base)),
        ("TEST_GENERIC_URL".into(), format!("{}/ok", good.base)),
    ];
    let local = env.path("local");
    // The bucket does not exist, SMTP refuses connections, the Slack receiver never answers.
    let text = config_text(&local, &s3.endpoint, "no-such-bucket", closed_port(), "").replace(
        "{name: slack, format: slack, urlEnv: TEST_SLACK_URL}",
        "{name: slack, format: slack, urlEnv: TEST_SLACK_URL, timeout: 1s, attempts: 1}",
    );
    let config = env.config(&text);
    let server = FakeApiServer::start(FakeCluster::from_values(cluster(true)), Options::default());
    let started = std::time::Instant::now();
    let run = env.run(&config, &env.kubeconfig(&server, "kubeconfig")).await;
    assert!(started.elapsed() < Duration::from_secs(60), "a hanging webhook does not hang the run");
    assert_eq!(run.code, 4, "delivery failure has its own exit code:\n{}\n{}", run.stdout, run.stderr);
    let failed: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("FAILED")).collect();
    assert!(failed.iter().any(|l| l.contains("store") && l.contains("no-such-bucket")), "{failed:?}");
    assert!(failed.iter().any(|l| l.contains("email")), "{failed:?}");
    assert!(failed.iter().any(|l| l.contains("webhook:slack")), "{failed:?}");
    assert!(run.stdout.lines().any(|l| l.starts_with("ok") && l.contains("webhook:ops")), "{}", run.stdout);
    assert_eq!(good.requests().len(), 1, "the good webhook got the digest although others failed");
    // No report lost: all three are on disk, and the metrics file beside them.
    let written: Vec<PathBuf> =
        run.stdout.lines().filter_map(|l| l.strip_prefix("wrote ")).map(PathBuf::from).collect();
    assert_eq!(written.len(), 4, "{}", run.stdout);
    for path in &written {
        assert!(path.exists() && std::fs::metadata(path).unwrap().len() > 0, "{}", path.display());
    }

    // S3 answering 500 twice, then recovering: the upload succeeds on retry
    // (email still refused; only the store is looked at here).
    s3.fail_next(2);
    let config = env.config(&config_text(&local, &s3.endpoint, BUCKET, closed_port(), "").replace(
        "{name: slack, format: slack, urlEnv: TEST_SLACK_URL}",
        "{name: slack, format: slack, urlEnv: TEST_SLACK_URL, timeout: 1s, attempts: 1}",
    ));
    let before = s3.requests();
    let run = env.run(&config, &env.kubeconfig(&server, "kubeconfig")).await;
    let store_lines: Vec<&str> = run.stdout.lines().filter(|l| l.contains(" store ")).collect();
    assert!(!store_lines.is_empty() && store_lines.iter().all(|l| l.starts_with("ok")), "recovered: {}", run.stdout);
    assert!(s3.requests() >= before + 2 + 4, "the two failed requests were retried");
    assert_eq!(run_dirs(&s3.objects(BUCKET)).len(), 1);
    assert!(s3.read(BUCKET, "nightly/prod-eu/latest.json").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_still_reports_and_exits_incomplete() {
    let env = Env::new();
    let local = env.path("local");
    let config = env.config(&format!("cluster: lost\noutputs: {{directory: {}}}\n", local.display()));
    // A kubeconfig for a server that is gone.
    let server = FakeApiServer::start(FakeCluster::from_values(Vec::new()), Options::default());
    let kubeconfig = env.kubeconfig(&server, "kubeconfig");
    drop(server);
    let run = env.run(&config, &kubeconfig).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("INCOMPLETE"), "{}", run.stdout);
    let json = run.stdout.lines().find_map(|l| l.strip_prefix("wrote ").filter(|p| p.ends_with(".json"))).unwrap();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    common::schema::assert_valid_report(&report);
    assert_eq!(report["complete"], false);
    assert!(report["coverage"][0]["reason"].as_str().unwrap().contains("cannot reach the API server"));
    assert_eq!(report["health"]["status"], "down", "an unreachable API server is not a healthy cluster");
    assert!(run.stdout.contains("lost is DOWN: API server unreachable"), "the digest leads with it: {}", run.stdout);
    assert!(report.get("nodeChecks").is_none(), "no host rules, no nodeChecks");

    // With host rules, the report says they were not run, and why.
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/inspectrules/sysctl.yaml");
    let config = env.config(&format!(
        "cluster: lost\nrules: [{}]\noutputs: {{directory: {}}}\n",
        rules.display(),
        env.path("local-host-rules").display()
    ));
    let run = env.run(&config, &kubeconfig).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let json = run.stdout.lines().find_map(|l| l.strip_prefix("wrote ").filter(|p| p.ends_with(".json"))).unwrap();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    common::schema::assert_valid_report(&report);
    let checks = &report["nodeChecks"];
    assert_eq!(checks["status"], "notRun", "{checks:#}");
    let reason = checks["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("the cluster could not be reached: ") && reason.contains("cannot reach the API server"),
        "{reason}"
    );
    assert_eq!(checks["rules"].as_array().map(Vec::len), Some(4), "every host rule listed: {checks:#}");
    assert!(
        run.stdout.contains("\nNode checks: 4 rules not run (the cluster could not be reached: "),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_validates_without_running() {
    let env = Env::new();
    let good = env.config(&format!(
        "outputs: {{directory: {}}}\nnotify:\n  webhooks:\n    - {{name: ops, format: generic, urlEnv: X}}\n",
        env.path("local").display()
    ));
    let receiver = Receiver::start(Reply::Status(200, "{}".into())).await;
    let run = ke(vec!["run".into(), "--config".into(), good.clone(), "--check-config".into()], vec![]).await;
    assert_eq!(run.code, 2, "the webhook's URL variable is not set: {}", run.stderr);
    assert!(run.stderr.contains("kubeeye.yaml: notify.webhooks[ops]") && run.stderr.contains("X"), "{}", run.stderr);
    let with_env = vec![("X".to_string(), format!("{}/abc", receiver.base))];
    let run = ke(vec!["run".into(), "--config".into(), good, "--check-config".into()], with_env).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("config OK"));
    let cases = [
        ("notify:\n  webhooks:\n    - {name: ops, format: msn, urlEnv: X}\n", "msn"),
        ("notify:\n  webhooks:\n    - {name: ops, format: slack, url: https://hooks.slack.com/x}\n", "url"),
        ("storage: {url: ftp://example.com/x}\n", "ftp"),
        ("inspection: {thresholds: {nodeCpuPercent: 180}}\n", "nodeCpuPercent"),
        ("failOn: critical\n", "failOn"),
        ("rules: [does-not-exist.yaml]\n", "does-not-exist.yaml"),
        ("outputs: {formats: [pdf]}\n", "pdf"),
        ("inspection: {logs: {limitBytes: 0}}\n", "limitBytes"),
        (
            "notify: {email: {host: relay, tls: none, username: bot, from: a@b.c, to: [d@e.f]}}\n",
            "allowPlaintextAuth: true",
        ),
        ("inspection: {collection: {requestTimeout: 0s}}\n", "at least 1s"),
        ("inspection: {events: {window: 9223372036854775807s}}\n", "out of range"),
        ("namespaces: [\"default/secrets?x=\"]\n", "default/secrets?x="),
        ("excludeNamespaces: [Kube_System]\n", "Kube_System"),
    ];
    for (text, needle) in cases {
        let path = env.path("bad.yaml");
        std::fs::write(&path, text).unwrap();
        let run =
            ke(vec!["run".into(), "--config".into(), path.to_str().unwrap().into(), "--check-config".into()], vec![])
                .await;
        assert_eq!(run.code, 2, "{text}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{text}: `{needle}` not in {}", run.stderr);
    }
    let run = ke(vec!["run".into(), "--schedule".into(), "0 0 2 * * *".into(), "--check-config".into()], vec![]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("5 fields"), "{}", run.stderr);
    // Parses, but 31 February never comes: refused up front, on stderr.
    let run = ke(vec!["run".into(), "--schedule".into(), "0 0 31 2 *".into(), "--check-config".into()], vec![]).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stderr.contains("0 0 31 2 *") && run.stdout.is_empty(), "{}\n{}", run.stdout, run.stderr);
    // The same on the command line: a namespace is a DNS-1123 label, and timeouts have a range.
    for (args, needle) in [
        (["diag", "-n", "default/secrets?x="], "default/secrets?x="),
        (["diag", "--timeout", "9223372036854775807s"], "out of range"),
        (["diag", "--timeout", "0s"], "1s to 366d"),
    ] {
        let run = ke(args.map(String::from).to_vec(), vec![]).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: `{needle}` not in {}", run.stderr);
    }
}

#[test]
fn a_schedule_waits_for_its_time_and_stops_on_sigterm() {
    let env = Env::new();
    let config = env.config(&format!("outputs: {{directory: {}}}\n", env.path("local").display()));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ke"))
        .args([
            "run",
            "--config",
            &config,
            "--snapshot",
            "examples/demo-cluster",
            "--schedule",
            "0 2 * * *",
            "--time-zone",
            "Europe/Berlin",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its output line by line, as it comes.
    let (tx, lines) = std::sync::mpsc::channel();
    let reader = std::io::BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || std::io::BufRead::lines(reader).map_while(Result::ok).try_for_each(|l| tx.send(l)));
    let mut stdout = Vec::new();
    // The schedule loop announces the next run, then installs its SIGTERM
    // handler; the signal goes out once both are observed.
    let next = loop {
        let line = lines.recv_timeout(WAIT).unwrap_or_else(|e| panic!("no `next run at` line ({e}): {stdout:?}"));
        let next = line.strip_prefix("next run at ").map(str::to_string);
        stdout.push(line);
        if let Some(next) = next {
            break next;
        }
    };
    catches_sigterm(child.id());
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    stdout.extend(lines.iter());
    let stdout = stdout.join("\n");
    assert_eq!(status.code(), Some(0), "{stdout}");
    // 02:00 in Berlin, the next day or today.
    assert!(
        next.contains("T02:00:00+01:00[Europe/Berlin]") || next.contains("T02:00:00+02:00[Europe/Berlin]"),
        "{next}"
    );
    assert!(stdout.contains("stopping"), "{stdout}");
    let reports = walk(&env.path("local"));
    assert!(reports.iter().all(|p| !p.ends_with("report.json")), "no run before its time: {reports:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .flat_map(|e| if e.path().is_dir() { walk(&e.path()) } else { vec![e.path()] })
        .collect()
}

/// How long a child may take to reach a state the test waits for.
const WAIT: Duration = Duration::from_secs(60);

/// Returns once the wall clock is past the second of `started` (RFC 3339).
pub(crate) async fn clock_passes(started: &str) {
    let started = kubeeye::clock::parse(started).unwrap();
    while kubeeye::clock::now() <= started {
        let into_second = jiff::Timestamp::now().subsec_nanosecond().unsigned_abs();
        tokio::time::sleep(Duration::from_nanos(u64::from(1_000_000_000 - into_second))).await;
    }
}

/// Returns once process `pid` has a SIGTERM handler installed, read from the
/// `SigCgt` mask in Linux's `/proc/<pid>/status`; a signal sent earlier would
/// end it by the default action instead of by the handler under test.
fn catches_sigterm(pid: u32) {
    let bit = 1u64 << (nix::sys::signal::Signal::SIGTERM as u32 - 1);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let caught = status.lines().find_map(|l| l.strip_prefix("SigCgt:")).map(|m| m.trim().to_string());
        if caught.as_deref().and_then(|m| u64::from_str_radix(m, 16).ok()).is_some_and(|m| m & bit != 0) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no SIGTERM handler within {WAIT:?}; SigCgt: {caught:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Text a hostile cluster writes where `ke` prints one value: each value tries
/// to start lines of its own (a clean bill of health, a link, a finding).
const FORGED_VERSION: &str = "v1.30.0\nDanger:  0\nWarning: 0\r\nBest-practice score (Polaris): 100";
const FORGED_MESSAGE: &str = "Back-off pulling\n\nFull report: http://evil.example/report.html\n  [danger] AllGood Pod kube-system/x\n      run http://evil.example/fix.sh\u{2028}Since the previous run: 0 new";

/// Lines a forger added: a link or a finding of its own, or a second copy of
/// a line the digest prints once (`Danger:  0` below the real counts).
fn forged_lines(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut forged: Vec<String> = lines
        .iter()
        .filter(|l| {
            (l.starts_with("Full report:") && l.contains("evil.example"))
                || l.starts_with("[danger] AllGood")
                || l.starts_with("run http://evil")
        })
        .map(|l| l.to_string())
        .collect();
    for once in ["Danger:", "Warning:", "Best-practice score", "Since the previous run:"] {
        let copies: Vec<&&str> = lines.iter().filter(|l| l.starts_with(once)).collect();
        if copies.len() > 1 {
            forged.extend(copies.iter().map(|l| l.to_string()));
        }
    }
    forged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_event_and_version_forge_no_line_in_the_digest_the_mail_or_slack() {
    let smtp = SmtpServer::start();
    let slack = Receiver::start(Reply::Status(200, "ok".into())).await;
    let mut env = Env::new();
    env.vars = vec![("TEST_SLACK_URL".into(), format!("{}/services/T1/B1/secret", slack.base))];
    let snapshot = env.path("snapshot");
    std::fs::create_dir_all(&snapshot).unwrap();
    let record = serde_json::json!({
        "apiVersion": "kubeeye.io/v1", "kind": "Inspection", "metadata": {"name": "inspection"},
        "cluster": "prod-eu", "collectedAt": "2026-11-25T02:00:00Z", "kubernetesVersion": FORGED_VERSION,
    });
    let event = serde_json::json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web.17f3", "namespace": "shop", "creationTimestamp": "2026-11-25T01:10:00Z"},
        "type": "Warning", "reason": "Failed\nFull report: http://evil.example/", "message": FORGED_MESSAGE, "count": 14,
        "firstTimestamp": "2026-11-25T01:10:00Z", "lastTimestamp": "2026-11-25T01:55:00Z",
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "shop"},
    });
    std::fs::write(snapshot.join("inspection.json"), record.to_string()).unwrap();
    std::fs::write(snapshot.join("events.json"), event.to_string()).unwrap();
    let config = env.config(&format!(
        r#"cluster: prod-eu
outputs:
  directory: {}
notify:
  email:
    host: 127.0.0.1
    port: {}
    tls: none
    from: kubeeye@example.com
    to: [ops@example.com]
    timeout: 5s
  webhooks:
    - {{name: slack, format: slack, urlEnv: TEST_SLACK_URL}}
"#,
        env.path("local").display(),
        smtp.port
    ));
    let args = ["run", "--config", &config, "--snapshot", snapshot.to_str().unwrap()].map(String::from).to_vec();
    let run = ke(args, env.vars.clone()).await;
    assert!(!run.stdout.contains("FAILED"), "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);

    // The event and the version reached every channel, each on one line.
    assert!(run.stdout.contains("run http://evil.example/fix.sh"), "the event is in the digest:\n{}", run.stdout);
    assert!(
        run.stdout.contains("Cluster: Kubernetes v1.30.0 Danger: 0"),
        "the version is in the digest:\n{}",
        run.stdout
    );
    assert_eq!(forged_lines(&run.stdout), Vec::<String>::new(), "printed digest:\n{}", run.stdout);

    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "{}", run.stdout);
    let mail = MessageParser::default().parse(&mails[0].data).unwrap();
    let text = mail.body_text(0).unwrap().to_string();
    assert!(text.contains("run http://evil.example/fix.sh") && text.contains("v1.30.0 Danger: 0"), "{text}");
    assert_eq!(forged_lines(&text), Vec::<String>::new(), "mail text:\n{text}");
    assert!(!mail.subject().unwrap().contains('\n'));

    let post = slack.requests()[0].json();
    let mut texts = Vec::new();
    collect_mrkdwn(&post, &mut texts);
    assert!(!texts.is_empty(), "{post}");
    let all = texts.join("\n");
    assert!(all.contains("run http://evil.example/fix.sh") && all.contains("v1.30.0 Danger: 0"), "{all}");
    assert_eq!(forged_lines(&all), Vec::<String>::new(), "slack post:\n{all}");
}

/// Every mrkdwn text object of a Slack post; each must ask Slack to show it verbatim (no auto-links).
fn collect_mrkdwn(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("mrkdwn") {
                assert_eq!(map.get("verbatim"), Some(&Value::Bool(true)), "not verbatim: {value}");
                out.push(map["text"].as_str().unwrap().to_string());
            }
            map.values().for_each(|v| collect_mrkdwn(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_mrkdwn(v, out)),
        _ => {}
    }
}

/// A webhook receiver that answers `500` and then streams its body for ever
/// (until the client goes away); counts the bytes it managed to send.
async fn endless_receiver() -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sent = std::sync::Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut request = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut request).await;
                let head =
                    "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                while socket.write_all(&chunk).await.is_ok() {
                    counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
            });
        }
    });
    (base, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_answers_for_ever_fails_quickly_after_a_bounded_read() {
    let (base, sent) = endless_receiver().await;
    let mut env = Env::new();
    env.vars = vec![("TEST_FLOOD_URL".into(), format!("{base}/hook"))];
    let config = env.config(&format!(
        "cluster: prod-eu\noutputs: {{directory: {}}}\nnotify:\n  webhooks:\n    - {{name: flood, format: generic, urlEnv: TEST_FLOOD_URL, timeout: 30s, attempts: 1}}\n",
        env.path("local").display()
    ));
    let demo = format!("{}/examples/demo-cluster", env!("CARGO_MANIFEST_DIR"));
    let started = std::time::Instant::now();
    let run = ke(["run", "--config", &config, "--snapshot", &demo].map(String::from).to_vec(), env.vars.clone()).await;
    let took = started.elapsed();
    let failed: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("FAILED")).collect();
    assert!(
        failed.iter().any(|l| l.contains("webhook:flood") && l.contains("500")),
        "a clear failure naming the channel and the status:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(run.stdout.contains("Danger:"), "the digest was printed before the delivery:\n{}", run.stdout);
    assert!(took < Duration::from_secs(20), "the endless answer is not read to its end: {took:?}");
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(sent < 32 << 20, "ke stopped reading after a bounded head, yet {sent} bytes went out");
    let failed_line = failed.iter().find(|l| l.contains("webhook:flood")).unwrap();
    assert!(failed_line.len() < 1_000, "the answer is quoted in short: {failed_line}");
}

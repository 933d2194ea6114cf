//! The report archive against a real S3 protocol server (s3s, SigV4 verified)
//! and against a local directory: layout, latest.json, index.html, reading
//! the previous run, retention, and what happens when the store misbehaves.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kubeeye::config::{Retention, StorageSettings};
use kubeeye::deliver::retry::Backoff;
use kubeeye::deliver::store::{Latest, Rendered, ReportStore, StoreErrorKind};
use kubeeye::report::{Cluster, Finding, Report, Severity, Summary, Tool};

use crate::support::s3::{ACCESS_KEY, S3Server, SECRET_KEY};

const BUCKET: &str = "kubeeye-reports";

fn finding(rule: &str, severity: Severity, name: &str) -> Finding {
    Finding {
        rule: rule.into(),
        severity,
        category: "Security".into(),
        section: "workloads".into(),
        kind: "Deployment".into(),
        namespace: Some("shop".into()),
        name: name.into(),
        container: None,
        message: format!("{rule} on {name}").into(),
        remediation: "fix it".into(),
        fingerprint: Finding::fingerprint_of(rule, "Deployment", Some("shop"), name, None),
        reason: None,
        count: None,
        first_seen: None,
        last_seen: None,
        status: None,
        pods: None,
        source: None,
    }
}

fn report(cluster: &str, started_at: &str, danger: usize) -> Report {
    let findings: Vec<Finding> =
        (0..danger).map(|i| finding("runAsPrivileged", Severity::Danger, &format!("web-{i}"))).collect();
    Report {
        schema_version: kubeeye::report::SCHEMA_VERSION.into(),
        tool: Tool::default(),
        cluster: Cluster { name: cluster.into(), sources: vec!["test".into()] },
        started_at: started_at.into(),
        finished_at: started_at.into(),
        complete: true,
        health: Some(kubeeye::report::Health { status: kubeeye::report::HealthStatus::Healthy, reasons: vec![] }),
        overview: None,
        summary: Summary::from_findings(&findings, 10),
        coverage: vec![],
        findings,
        exemptions: Vec::new(),
        scope: None,
        rules: Default::default(),
        diff: None,
        node_checks: None,
        node_files: Default::default(),
    }
}

/// Writes a run's three reports locally, as `ke run` does before uploading.
fn write_local(dir: &Path, report: &Report) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).expect("test setup");
    let files = vec![dir.join("report.html"), dir.join("report.csv"), dir.join("report.json")];
    std::fs::write(&files[0], format!("<html><body>{}</body></html>", report.cluster.name)).expect("test setup");
    std::fs::write(&files[1], "severity,rule\ndanger,runAsPrivileged\n").expect("test setup");
    std::fs::write(&files[2], serde_json::to_vec_pretty(report).expect("test setup")).expect("test setup");
    files
}

/// The reports as `ke run` hands them to the store: rendered, in memory.
fn rendered(files: &[PathBuf]) -> Vec<Rendered> {
    files.iter().map(|f| Rendered::read(f).expect("test setup")).collect()
}

/// S3 settings for the test server, credentials from files as a mounted Secret would give them.
fn s3_settings(server: &S3Server, secrets: &Path, retention: Retention, attempts: u32) -> StorageSettings {
    std::fs::write(secrets.join("access-key-id"), format!("{ACCESS_KEY}\n")).expect("test setup");
    std::fs::write(secrets.join("secret-access-key"), format!("{SECRET_KEY}\n")).expect("test setup");
    StorageSettings {
        url: Some(format!("s3://{BUCKET}/nightly")),
        endpoint: Some(server.endpoint.clone()),
        region: Some("us-east-1".into()),
        path_style: Some(true),
        allow_http: true,
        access_key_id_file: Some(secrets.join("access-key-id")),
        secret_access_key_file: Some(secrets.join("secret-access-key")),
        presign_expiry: Some(Duration::from_secs(3600)),
        retention,
        attempts: Some(attempts),
        ..StorageSettings::default()
    }
}

fn fast() -> Backoff {
    Backoff { base: Duration::from_millis(5), cap: Duration::from_millis(20) }
}

fn ts(s: &str) -> kubeeye::clock::Timestamp {
    kubeeye::clock::parse(s).expect("test setup")
}

#[tokio::test]
async fn archive_writes_the_layout_reads_the_previous_run_and_prunes_only_its_own_runs() {
    let server = S3Server::start(&[BUCKET]).await;
    let work = tempfile::tempdir().unwrap();
    let retention = Retention { max_age_days: None, max_count: Some(2) };
    let settings = s3_settings(&server, work.path(), retention, 3);
    let store = ReportStore::open(&settings, work.path()).unwrap().with_backoff(fast());

    // Not ours: beside the runs, inside a run-like directory, and outside the prefix.
    server.put_foreign(BUCKET, "nightly/prod-eu/notes.txt", b"keep me");
    server.put_foreign(BUCKET, "nightly/prod-eu/2026/11/01/20261101T020000Z/report.pdf", b"keep me");
    server.put_foreign(BUCKET, "other-tool/prod-eu/2026/11/01/20261101T020000Z/report.json", b"keep me");

    assert_eq!(store.previous("prod-eu").await.unwrap(), None, "first run has no baseline");

    let days = ["2026-11-23T02:00:00Z", "2026-11-24T02:00:00Z", "2026-11-25T02:00:00Z"];
    let mut previous_reports = Vec::new();
    let mut last = None;
    for (i, day) in days.iter().enumerate() {
        let run = report("prod-eu", day, i + 1);
        let before = store.previous("prod-eu").await.unwrap();
        assert_eq!(before.as_ref(), previous_reports.last(), "run {i} reads the run before it");
        let files = write_local(&work.path().join(format!("run{i}")), &run);
        let archived = store.archive(&run, &rendered(&files), ts(day)).await;
        assert!(archived.ok(), "{:#?}", archived.deliveries);
        assert!(files.iter().all(|f| f.exists()), "local copies stay");
        previous_reports.push(run);
        last = Some(archived);
    }
    let archived = last.unwrap();
    let steps: Vec<&str> = archived.deliveries.iter().map(|d| d.target.as_str()).collect();
    assert_eq!(
        steps,
        [
            "s3://kubeeye-reports/nightly/prod-eu/2026/11/25/20261125T020000Z/",
            "s3://kubeeye-reports/nightly/prod-eu/latest.json",
            "s3://kubeeye-reports/nightly/index.html",
            "s3://kubeeye-reports/nightly/prod-eu/",
        ]
    );
    assert!(archived.deliveries.iter().all(|d| d.channel == "store" && d.attempts == 1));
    assert_eq!(archived.deliveries[3].detail, "retention removed 1 run(s), 3 object(s)");

    // Retention kept the two newest runs and everything that is not ours.
    let objects = server.objects(BUCKET);
    let expected = [
        "nightly/index.html",
        "nightly/prod-eu/2026/11/01/20261101T020000Z/report.pdf",
        "nightly/prod-eu/2026/11/24/20261124T020000Z/report.csv",
        "nightly/prod-eu/2026/11/24/20261124T020000Z/report.html",
        "nightly/prod-eu/2026/11/24/20261124T020000Z/report.json",
        "nightly/prod-eu/2026/11/25/20261125T020000Z/report.csv",
        "nightly/prod-eu/2026/11/25/20261125T020000Z/report.html",
        "nightly/prod-eu/2026/11/25/20261125T020000Z/report.json",
        "nightly/prod-eu/latest.json",
        "nightly/prod-eu/notes.txt",
        "other-tool/prod-eu/2026/11/01/20261101T020000Z/report.json",
    ];
    assert_eq!(objects, expected);

    // latest.json: a pointer plus the summary.
    let latest: Latest = serde_json::from_slice(&server.read(BUCKET, "nightly/prod-eu/latest.json").unwrap()).unwrap();
    assert_eq!(latest.schema_version, "1");
    assert_eq!(latest.cluster, "prod-eu");
    assert_eq!(latest.started_at, "2026-11-25T02:00:00Z");
    assert_eq!(latest.summary.danger, 3);
    assert_eq!(latest.reports.json.as_deref(), Some("prod-eu/2026/11/25/20261125T020000Z/report.json"));
    let raw: serde_json::Value =
        serde_json::from_slice(&server.read(BUCKET, "nightly/prod-eu/latest.json").unwrap()).unwrap();
    for key in ["schemaVersion", "cluster", "startedAt", "complete", "summary", "reports"] {
        assert!(raw.get(key).is_some(), "latest.json has {key}");
    }

    // The second run read back the first one whole.
    assert_eq!(store.previous("prod-eu").await.unwrap().as_ref(), previous_reports.last());

    // The link is a presigned GET the server honours without other credentials.
    let url = archived.report_url.expect("a link to the HTML report");
    assert!(url.contains("X-Amz-Signature=") && url.contains("report.html"), "{url}");
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.text().await.unwrap(), "<html><body>prod-eu</body></html>");
    let unsigned = reqwest::get(url.split('?').next().unwrap()).await.unwrap();
    assert_eq!(unsigned.status(), 403, "the bucket is not public: the signature is what opens it");

    // A second cluster in the same bucket: the index becomes a fleet overview.
    let staging = report("staging <b>&</b>", "2026-11-25T03:00:00Z", 0);
    let files = write_local(&work.path().join("staging"), &staging);
    let archived = store.archive(&staging, &rendered(&files), ts("2026-11-25T03:00:00Z")).await;
    assert!(archived.ok(), "{:#?}", archived.deliveries);
    assert_eq!(archived.deliveries[2].detail, "lists 2 cluster(s)");
    let index = String::from_utf8(server.read(BUCKET, "nightly/index.html").unwrap()).unwrap();
    assert!(index.contains("<td>prod-eu</td>"), "{index}");
    assert!(index.contains("staging &lt;b&gt;&amp;&lt;/b&gt;"), "cluster names are escaped: {index}");
    assert!(index.contains("href=\"prod-eu/2026/11/25/20261125T020000Z/report.html\""), "{index}");
    assert!(index.contains("href=\"staging--b----b-/2026/11/25/20261125T030000Z/report.html\""), "{index}");
    assert!(!index.contains("<script"), "self-contained, no scripts");
    assert_eq!(store.clusters().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_missing_bucket_fails_the_upload_by_name_and_leaves_the_local_files() {
    let server = S3Server::start(&[]).await;
    let work = tempfile::tempdir().unwrap();
    let settings = s3_settings(&server, work.path(), Retention::default(), 4);
    let store = ReportStore::open(&settings, work.path()).unwrap().with_backoff(fast());
    let run = report("prod-eu", "2026-11-25T02:00:00Z", 1);
    let files = write_local(&work.path().join("run"), &run);
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();

    let archived = store.archive(&run, &rendered(&files), ts("2026-11-25T02:00:00Z")).await;
    assert_eq!(archived.deliveries.len(), 1, "nothing after a failed upload: {:#?}", archived.deliveries);
    let upload = &archived.deliveries[0];
    assert!(!upload.ok);
    assert_eq!(upload.detail, "bucket kubeeye-reports does not exist (NoSuchBucket)");
    assert_eq!(upload.attempts, 1, "a missing bucket is not retried");
    assert_eq!(upload.target, "s3://kubeeye-reports/nightly/prod-eu/2026/11/25/20261125T020000Z/");
    assert!(archived.report_url.is_none());
    let after: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert_eq!(before, after, "local reports untouched");

    let previous = store.previous("prod-eu").await.unwrap_err();
    assert_eq!(previous.kind, StoreErrorKind::NoSuchBucket);
    assert!(previous.to_string().contains("kubeeye-reports"));
    assert!(!format!("{previous:?}{upload:?}").contains(SECRET_KEY));
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_until_the_store_recovers() {
    let server = S3Server::start(&[BUCKET]).await;
    let work = tempfile::tempdir().unwrap();
    let settings = s3_settings(&server, work.path(), Retention::default(), 4);
    let store = ReportStore::open(&settings, work.path()).unwrap().with_backoff(fast());
    let run = report("prod-eu", "2026-11-25T02:00:00Z", 1);
    let files = write_local(&work.path().join("run"), &run);

    server.fail_next(2);
    let archived = store.archive(&run, &rendered(&files), ts("2026-11-25T02:00:00Z")).await;
    assert!(archived.ok(), "{:#?}", archived.deliveries);
    assert_eq!(archived.deliveries[0].attempts, 3, "two 500s, then success");
    assert_eq!(server.objects(BUCKET).len(), 5, "three reports, latest.json, index.html");
}

#[tokio::test]
async fn a_store_that_keeps_failing_is_reported_after_the_last_attempt() {
    let server = S3Server::start(&[BUCKET]).await;
    let work = tempfile::tempdir().unwrap();
    let settings = s3_settings(&server, work.path(), Retention::default(), 3);
    let store = ReportStore::open(&settings, work.path()).unwrap().with_backoff(fast());
    let run = report("prod-eu", "2026-11-25T02:00:00Z", 1);
    let files = write_local(&work.path().join("run"), &run);

    server.fail_next(1000);
    let archived = store.archive(&run, &rendered(&files), ts("2026-11-25T02:00:00Z")).await;
    let upload = &archived.deliveries[0];
    assert!(!upload.ok);
    assert_eq!(upload.attempts, 3);
    assert!(upload.detail.contains("HTTP 500 (InternalError)"), "{}", upload.detail);
    assert!(upload.detail.contains("report.json"), "names the object: {}", upload.detail);
    assert!(files.iter().all(|f| f.exists()));
}

#[tokio::test]
async fn wrong_credentials_are_named_not_shown() {
    let server = S3Server::start(&[BUCKET]).await;
    let work = tempfile::tempdir().unwrap();
    let mut settings = s3_settings(&server, work.path(), Retention::default(), 3);
    std::fs::write(work.path().join("wrong-secret"), "not-the-secret").unwrap();
    settings.secret_access_key_file = Some(work.path().join("wrong-secret"));
    let store = ReportStore::open(&settings, work.path()).unwrap().with_backoff(fast());
    let run = report("prod-eu", "2026-11-25T02:00:00Z", 1);
    let files = write_local(&work.path().join("run"), &run);
    let archived = store.archive(&run, &rendered(&files), ts("2026-11-25T02:00:00Z")).await;
    let upload = &archived.deliveries[0];
    assert!(!upload.ok);
    assert_eq!(upload.attempts, 1);
    assert!(upload.detail.contains("credentials for bucket kubeeye-reports were rejected"), "{}", upload.detail);
    assert!(!upload.detail.contains("not-the-secret"));
}

#[tokio::test]
async fn a_local_directory_is_the_default_store() {
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("archive");
    let retention = Retention { max_age_days: Some(1), max_count: None };
    let settings = StorageSettings { retention, ..StorageSettings::default() };
    let store = ReportStore::open(&settings, &archive).unwrap().with_backoff(fast());

    for day in ["2026-11-20T02:00:00Z", "2026-11-25T02:00:00Z"] {
        let run = report("prod-eu", day, 2);
        let files = write_local(&work.path().join(&day[..10]), &run);
        let archived = store.archive(&run, &rendered(&files), ts(day)).await;
        assert!(archived.ok(), "{:#?}", archived.deliveries);
        let url = archived.report_url.unwrap();
        let stamp = format!("{}T020000Z/report.html", day[..10].replace('-', ""));
        assert!(url.starts_with("file:///") && url.ends_with(&stamp), "{url}");
    }
    let run_dir = archive.join("prod-eu/2026/11/25/20261125T020000Z");
    for name in ["report.html", "report.csv", "report.json"] {
        assert!(run_dir.join(name).is_file(), "{name}");
    }
    assert!(archive.join("prod-eu/latest.json").is_file());
    assert!(archive.join("index.html").is_file());
    assert!(!archive.join("prod-eu/2026/11/20/20261120T020000Z/report.json").exists(), "older than a day: pruned");
    assert_eq!(store.previous("prod-eu").await.unwrap().unwrap().started_at, "2026-11-25T02:00:00Z");
    assert_eq!(store.previous("elsewhere").await.unwrap(), None);
}

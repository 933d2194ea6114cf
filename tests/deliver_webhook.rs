//! Webhooks against a local HTTP receiver: every body format received and
//! checked, receivers' own error answers, retries, and a receiver that never
//! answers while another webhook in the same run succeeds.

use std::time::{Duration, Instant};

use kubeeye::config::WebhookSettings;
use kubeeye::deliver::retry::Backoff;
use kubeeye::deliver::{Digest, DigestFinding, webhook};
use kubeeye::inventory::CoverageGap;
use kubeeye::report::{Health, HealthStatus, Severity, Summary};
use serde_json::Value;

use crate::support::http::{Receiver, Reply};

const REPORT_URL: &str = "https://reports.example.com/nightly/prod-eu/report.html";
const SECRET_PATH: &str = "/services/T000/B000/XXXXSECRETXXXX";

fn digest() -> Digest {
    Digest {
        cluster: "prod-eu \"blue\"".into(),
        started_at: "2026-11-25T02:00:00Z".into(),
        complete: false,
        health: Some(Health {
            status: HealthStatus::Degraded,
            reasons: vec!["etcd unhealthy".into(), "2 nodes NotReady".into()],
        }),
        overview: None,
        summary: Summary { danger: 3, warning: 12, info: 4, score: Some(61), ..Summary::default() },
        new: Some(2),
        resolved: Some(5),
        top: vec![
            DigestFinding {
                severity: Severity::Danger,
                rule: "runAsPrivileged".into(),
                object: "Deployment shop/web".into(),
                message: "Privileged container\nwith a second line".into(),
                new: true,
            },
            DigestFinding {
                severity: Severity::Warning,
                rule: "cpuLimitsMissing".into(),
                object: "Deployment shop/cart".into(),
                message: "No CPU limit".into(),
                new: false,
            },
        ],
        gaps: vec![CoverageGap::error("nodes", "nodes", "403 forbidden")],
        node_checks: None,
        report_url: Some(REPORT_URL.into()),
        archive_note: None,
    }
}

/// Settings pointing at `receiver`, the URL in a file as a mounted Secret gives it.
fn settings(name: &str, format: &str, receiver: &Receiver, dir: &std::path::Path) -> WebhookSettings {
    let file = dir.join(name);
    std::fs::write(&file, format!("{}{SECRET_PATH}?token=abc\n", receiver.base)).expect("test setup");
    WebhookSettings {
        name: name.into(),
        format: format.parse().expect("a webhook format"),
        url_env: None,
        url_file: Some(file),
        timeout: Some(Duration::from_secs(2)),
        attempts: Some(3),
    }
}

fn fast() -> Backoff {
    Backoff { base: Duration::from_millis(5), cap: Duration::from_millis(20) }
}

/// Posts to a receiver answering `answer` and returns the delivery and the body it got.
async fn post(format: &str, answer: &str) -> (kubeeye::deliver::Delivery, Value) {
    let receiver = Receiver::start(Reply::Status(200, answer.into())).await;
    let dir = tempfile::tempdir().expect("test setup");
    let delivery = webhook::post_with(&settings(format, format, &receiver, dir.path()), &digest(), fast()).await;
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "{format}: {delivery:?}");
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, format!("{SECRET_PATH}?token=abc"));
    assert!(requests[0].content_type.as_deref().unwrap_or("").starts_with("application/json"));
    // The URL's path and query are the secret: the delivery names the host only.
    assert_eq!(delivery.target, receiver.base.trim_start_matches("http://"));
    assert!(!format!("{delivery:?}").contains("SECRET"), "{delivery:?}");
    (delivery, requests[0].json())
}

fn text_of(value: &Value) -> String {
    value.to_string()
}

#[tokio::test]
async fn slack_gets_blocks_with_counts_findings_and_a_button() {
    let (delivery, body) = post("slack", "ok").await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(delivery.channel, "webhook:slack");
    assert_eq!(
        body["text"],
        "🟠 [kubeeye] prod-eu \"blue\" DEGRADED: etcd unhealthy, 2 nodes NotReady · 3 danger, 12 warning, 2 new, incomplete"
    );
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["text"], "🟠 prod-eu \"blue\" DEGRADED · kubeeye");
    assert_eq!(blocks[1]["text"]["text"], "*DEGRADED:* etcd unhealthy, 2 nodes NotReady");
    let fields: Vec<&str> =
        blocks[2]["fields"].as_array().unwrap().iter().map(|f| f["text"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        ["*Danger:* 3", "*Warning:* 12", "*Info:* 4", "*Best-practice score:* 61/100", "*New:* 2", "*Resolved:* 5"]
    );
    let findings =
        blocks.iter().find(|b| b["text"]["text"].as_str().is_some_and(|t| t.starts_with("*Top findings*"))).unwrap();
    let findings = findings["text"]["text"].as_str().unwrap();
    assert!(
        findings.contains(
            "• *danger* _new_ `runAsPrivileged` Deployment shop/web: Privileged container\nwith a second line"
        ),
        "{findings}"
    );
    assert!(findings.contains("• *warning* `cpuLimitsMissing`"), "{findings}");
    let actions = blocks.last().unwrap();
    assert_eq!(actions["type"], "actions");
    assert_eq!(actions["elements"][0]["url"], REPORT_URL);
}

#[tokio::test]
async fn generic_gets_the_digest_and_the_report_url() {
    let (delivery, body) = post("generic", "").await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(body["cluster"], "prod-eu \"blue\"");
    assert_eq!(body["reportUrl"], REPORT_URL);
    assert_eq!(body["summary"]["danger"], 3);
    assert_eq!(body["summary"]["warning"], 12);
    assert_eq!(body["new"], 2);
    assert_eq!(body["resolved"], 5);
    assert_eq!(body["complete"], false);
    assert_eq!(body["top"][0]["rule"], "runAsPrivileged");
    assert_eq!(body["top"][0]["new"], true);
    assert_eq!(body["gaps"][0]["reason"], "403 forbidden");
    assert_eq!(body["health"]["status"], "degraded");
    assert_eq!(body["health"]["reasons"][1], "2 nodes NotReady");
    assert_eq!(
        body["subject"],
        "[kubeeye] prod-eu \"blue\" DEGRADED: etcd unhealthy, 2 nodes NotReady · 3 danger, 12 warning, 2 new, incomplete"
    );
}

#[tokio::test]
async fn teams_gets_an_adaptive_card_in_a_message() {
    let (delivery, body) = post("teams", "1").await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(body["type"], "message");
    let attachment = &body["attachments"][0];
    assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
    let card = &attachment["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["body"][0]["text"], "prod-eu \"blue\" DEGRADED · kubeeye");
    assert_eq!(card["body"][0]["color"], "Warning", "the colour is the health's, not the worst severity's");
    assert_eq!(card["body"][1]["text"], "etcd unhealthy, 2 nodes NotReady");
    let facts: Vec<(String, String)> = card["body"][3]["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["title"].as_str().unwrap().into(), f["value"].as_str().unwrap().into()))
        .collect();
    assert_eq!(facts[0], ("Danger".into(), "3".into()));
    assert_eq!(facts[1], ("Warning".into(), "12".into()));
    assert_eq!(facts[4], ("New".into(), "2".into()));
    assert!(text_of(&card["body"]).contains("runAsPrivileged"));
    assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
    assert_eq!(card["actions"][0]["url"], REPORT_URL);
}

#[tokio::test]
async fn dingtalk_gets_markdown() {
    let (delivery, body) = post("dingtalk", r#"{"errcode":0,"errmsg":"ok"}"#).await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(body["msgtype"], "markdown");
    assert_eq!(
        body["markdown"]["title"],
        "[kubeeye] prod-eu \"blue\" DEGRADED: etcd unhealthy, 2 nodes NotReady · 3 danger, 12 warning, 2 new, incomplete"
    );
    let text = body["markdown"]["text"].as_str().unwrap();
    for expected in [
        "🟠 prod-eu \"blue\" DEGRADED · kubeeye",
        "**DEGRADED**: etcd unhealthy, 2 nodes NotReady",
        "Danger: **3**",
        "Warning: **12**",
        "New: 2, resolved: 5",
        "`runAsPrivileged`",
        &format!("]({REPORT_URL})"),
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
}

#[tokio::test]
async fn feishu_gets_an_interactive_card() {
    let (delivery, body) = post("feishu", r#"{"code":0,"msg":"success","data":{}}"#).await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(body["msg_type"], "interactive");
    let card = &body["card"];
    assert_eq!(card["header"]["template"], "orange");
    assert_eq!(
        card["header"]["title"]["content"],
        "[kubeeye] prod-eu \"blue\" DEGRADED: etcd unhealthy, 2 nodes NotReady · 3 danger, 12 warning, 2 new, incomplete"
    );
    let all = text_of(&card["elements"]);
    assert!(all.contains("**DEGRADED**: etcd unhealthy, 2 nodes NotReady"), "{all}");
    assert!(all.contains("**Danger** 3") && all.contains("**Warning** 12") && all.contains("runAsPrivileged"), "{all}");
    let action = card["elements"].as_array().unwrap().last().unwrap();
    assert_eq!(action["tag"], "action");
    assert_eq!(action["actions"][0]["url"], REPORT_URL);
}

#[tokio::test]
async fn wecom_gets_markdown() {
    let (delivery, body) = post("wecom", r#"{"errcode":0,"errmsg":"ok"}"#).await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(body["msgtype"], "markdown");
    let content = body["markdown"]["content"].as_str().unwrap();
    for expected in [
        "prod-eu \"blue\" DEGRADED · kubeeye",
        "**DEGRADED**: etcd unhealthy, 2 nodes NotReady",
        "Danger: <font color=\"warning\">3</font>",
        "Warning: <font color=\"comment\">12</font>",
        "`runAsPrivileged`",
        REPORT_URL,
    ] {
        assert!(content.contains(expected), "{expected:?} missing from:\n{content}");
    }
}

#[tokio::test]
async fn errors_reported_inside_200_answers_fail_the_delivery() {
    for (format, answer) in [
        ("slack", "invalid_blocks"),
        ("dingtalk", r#"{"errcode":310000,"errmsg":"keywords not in content"}"#),
        ("feishu", r#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#),
        ("wecom", r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#),
    ] {
        let (delivery, _) = post(format, answer).await;
        assert!(!delivery.ok, "{format}: {delivery:?}");
        assert_eq!(delivery.attempts, 1, "{format}: an API error is not retried");
        assert!(delivery.detail.starts_with("HTTP 200 OK but "), "{format}: {}", delivery.detail);
    }
}

#[tokio::test]
async fn server_errors_are_retried_and_client_errors_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = Receiver::scripted(vec![
        Reply::Status(503, "busy".into()),
        Reply::Status(500, "oops".into()),
        Reply::Status(200, "".into()),
    ])
    .await;
    let delivery = webhook::post_with(&settings("flaky", "generic", &flaky, dir.path()), &digest(), fast()).await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(delivery.attempts, 3);
    assert_eq!(flaky.requests().len(), 3);

    let gone = Receiver::start(Reply::Status(404, "no such hook".into())).await;
    let delivery = webhook::post_with(&settings("gone", "generic", &gone, dir.path()), &digest(), fast()).await;
    assert!(!delivery.ok);
    assert_eq!(delivery.attempts, 1);
    assert_eq!(delivery.detail, "HTTP 404 Not Found: no such hook");
}

#[tokio::test]
async fn a_hanging_webhook_times_out_while_another_one_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let hanging = Receiver::start(Reply::Hang).await;
    let healthy = Receiver::start(Reply::Status(200, "ok".into())).await;
    let mut slow = settings("hanging", "generic", &hanging, dir.path());
    slow.timeout = Some(Duration::from_millis(300));
    slow.attempts = Some(2);
    let fine = settings("healthy", "slack", &healthy, dir.path());

    let d = digest();
    let start = Instant::now();
    let (slow_delivery, fine_delivery) =
        tokio::join!(webhook::post_with(&slow, &d, fast()), webhook::post_with(&fine, &d, fast()));
    let elapsed = start.elapsed();
    assert!(fine_delivery.ok, "{fine_delivery:?}");
    assert!(!slow_delivery.ok);
    assert_eq!(slow_delivery.attempts, 2);
    assert_eq!(slow_delivery.detail, "no answer within 300ms");
    assert_eq!(hanging.requests().len(), 2);
    assert!(elapsed >= Duration::from_millis(600) && elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn post_all_reports_every_channel() {
    let dir = tempfile::tempdir().unwrap();
    let healthy = Receiver::start(Reply::Status(200, "".into())).await;
    let mut missing = settings("missing", "generic", &healthy, dir.path());
    missing.url_file = None;
    missing.url_env = Some("KE_TEST_WEBHOOK_URL_SURELY_UNSET".into());
    // An unknown format can no longer get this far (the config load refuses it); a URL that is not http(s) can.
    let not_http = settings("not-http", "generic", &healthy, dir.path());
    std::fs::write(not_http.url_file.as_ref().expect("a URL file"), "ftp://example.com/hook\n").expect("test setup");
    let good = settings("good", "generic", &healthy, dir.path());

    let deliveries = webhook::post_all(&[missing, not_http, good], &digest()).await;
    let summary: Vec<(&str, bool)> = deliveries.iter().map(|d| (d.channel.as_str(), d.ok)).collect();
    assert_eq!(summary, [("webhook:missing", false), ("webhook:not-http", false), ("webhook:good", true)]);
    assert_eq!(deliveries[0].detail, "no URL: environment variable KE_TEST_WEBHOOK_URL_SURELY_UNSET is not set");
    assert_eq!(deliveries[0].target, "$KE_TEST_WEBHOOK_URL_SURELY_UNSET");
    assert_eq!(deliveries[0].attempts, 0);
    assert!(deliveries[1].detail.ends_with("is not an http(s) URL"), "{:?}", deliveries[1]);
    assert!(!deliveries[1].detail.contains("example.com"), "the URL is a secret: {:?}", deliveries[1]);
}

//! The email digest against a real SMTP server (mailin-embedded, in-process):
//! the received message is parsed and its headers, both parts, the counts,
//! the link and the CSV attachment checked.

use std::time::{Duration, Instant};

use kubeeye::config::{EmailSettings, EmailTls};
use kubeeye::deliver::retry::Backoff;
use kubeeye::deliver::{Digest, DigestFinding, email};
use kubeeye::report::{Health, HealthStatus, Severity, Summary};
use mail_parser::{MessageParser, MimeHeaders};

use crate::support::smtp::{SmtpServer, closed_port};

const REPORT_URL: &str = "https://reports.example.com/nightly/prod-eu/2026/11/25/20261125T020000Z/report.html";

fn digest() -> Digest {
    Digest {
        cluster: "prod-eu".into(),
        started_at: "2026-11-25T02:00:00Z".into(),
        complete: true,
        health: Some(Health { status: HealthStatus::Down, reasons: vec!["etcd unhealthy".into()] }),
        overview: Some(
            "Kubernetes v1.30.4 · 3 nodes (2 Ready) · 4 namespaces · 9 workloads · 30 pods (1 Pending)".into(),
        ),
        summary: Summary { danger: 3, warning: 12, info: 4, score: Some(61), ..Summary::default() },
        new: Some(2),
        resolved: Some(5),
        top: vec![DigestFinding {
            severity: Severity::Danger,
            rule: "runAsPrivileged".into(),
            object: "Deployment shop/<web>".into(),
            message: "Privileged containers can do anything on the node & more".into(),
            new: true,
        }],
        gaps: vec![],
        node_checks: None,
        report_url: Some(REPORT_URL.into()),
        archive_note: None,
    }
}

fn settings(port: u16) -> EmailSettings {
    EmailSettings {
        host: "127.0.0.1".into(),
        port: Some(port),
        tls: EmailTls::None,
        ca_file: None,
        allow_plaintext_auth: false,
        username: None,
        password_env: None,
        password_file: None,
        from: "kubeeye <kubeeye@example.com>".into(),
        to: vec!["ops@example.com".into(), "Platform Team <platform@example.com>".into()],
        attach_csv: true,
        timeout: Some(Duration::from_secs(5)),
    }
}

fn fast() -> Backoff {
    Backoff { base: Duration::from_millis(5), cap: Duration::from_millis(20) }
}

const CSV: &[u8] = b"severity,rule,kind,namespace,name\ndanger,runAsPrivileged,Deployment,shop,web\n";

#[tokio::test]
async fn the_digest_arrives_with_headers_both_parts_the_link_and_the_csv() {
    let server = SmtpServer::start();
    let delivery = email::send_with(&settings(server.port), &digest(), Some(CSV), fast()).await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(delivery.channel, "email");
    assert_eq!(delivery.attempts, 1);
    assert_eq!(
        delivery.target,
        format!("ops@example.com, Platform Team <platform@example.com> via 127.0.0.1:{}", server.port)
    );

    let received = server.messages();
    assert_eq!(received.len(), 1);
    let envelope = &received[0];
    assert_eq!(envelope.from, "kubeeye@example.com");
    assert_eq!(envelope.to, ["ops@example.com", "platform@example.com"]);

    let message = MessageParser::default().parse(&envelope.data).expect("a MIME message");
    assert_eq!(message.subject(), Some("[kubeeye] prod-eu DOWN: etcd unhealthy · 3 danger, 12 warning, 2 new"));
    let from = message.from().and_then(|a| a.first()).unwrap();
    assert_eq!((from.name(), from.address()), (Some("kubeeye"), Some("kubeeye@example.com")));
    let to: Vec<_> = message.to().unwrap().iter().map(|a| a.address().unwrap().to_string()).collect();
    assert_eq!(to, ["ops@example.com", "platform@example.com"]);
    assert!(message.message_id().is_some() && message.date().is_some());

    let text = message.body_text(0).expect("a text part").to_string();
    assert_eq!(text.lines().next(), Some("prod-eu is DOWN: etcd unhealthy"), "health first:\n{text}");
    for expected in [
        "Danger:  3",
        "Warning: 12",
        "Best-practice score (Polaris): 61/100",
        "Cluster: Kubernetes v1.30.4 · 3 nodes (2 Ready) · 4 namespaces · 9 workloads · 30 pods (1 Pending)",
        "2 new, 5 resolved",
        "runAsPrivileged",
        REPORT_URL,
    ] {
        assert!(text.contains(expected), "text part lacks {expected:?}:\n{text}");
    }
    assert!(text.contains("Deployment shop/<web>"), "the text part is not HTML-escaped:\n{text}");

    let html = message.body_html(0).expect("an HTML part").to_string();
    for expected in [
        "<strong>DOWN</strong>: etcd unhealthy",
        "3 danger",
        "12 warning",
        "2 new</strong>",
        &format!("href=\"{REPORT_URL}\""),
    ] {
        assert!(html.contains(expected), "HTML part lacks {expected:?}:\n{html}");
    }
    assert!(html.contains("Deployment shop/&lt;web&gt;") && html.contains("node &amp; more"), "escaped:\n{html}");

    assert_eq!(message.attachment_count(), 1);
    let csv = message.attachment(0).unwrap();
    assert_eq!(csv.attachment_name(), Some("kubeeye-prod-eu-20261125T020000Z.csv"));
    assert_eq!(csv.content_type().map(|c| (c.ctype(), c.subtype())), Some(("text", Some("csv"))));
    assert_eq!(csv.contents(), CSV);
}

#[tokio::test]
async fn without_attach_csv_there_is_no_attachment() {
    let server = SmtpServer::start();
    let settings = EmailSettings { attach_csv: false, ..settings(server.port) };
    // A report written before health existed: the subject says what it knows.
    let quiet = Digest { new: None, resolved: None, report_url: None, health: None, ..digest() };
    let delivery = email::send_with(&settings, &quiet, Some(CSV), fast()).await;
    assert!(delivery.ok, "{delivery:?}");
    let received = server.messages();
    let message = MessageParser::default().parse(&received[0].data).unwrap();
    assert_eq!(message.subject(), Some("[kubeeye] prod-eu: 3 danger, 12 warning"));
    assert_eq!(message.attachment_count(), 0);
    assert!(message.body_text(0).is_some() && message.body_html(0).is_some());
}

#[tokio::test]
async fn starttls_with_a_private_ca_and_authentication() {
    let server = SmtpServer::start_tls("kubeeye", "relay-password");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("password"), "relay-password\n").unwrap();
    let settings = EmailSettings {
        tls: EmailTls::StartTls,
        ca_file: server.ca_file.clone(),
        username: Some("kubeeye".into()),
        password_file: Some(dir.path().join("password")),
        ..settings(server.port)
    };
    let delivery = email::send_with(&settings, &digest(), None, fast()).await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(server.messages().len(), 1);

    // Without the CA the certificate is not trusted, and that is not retried.
    let untrusted = EmailSettings { ca_file: None, ..settings.clone() };
    let delivery = email::send_with(&untrusted, &digest(), None, fast()).await;
    assert!(!delivery.ok);
    assert_eq!(delivery.attempts, 1, "{delivery:?}");

    // A wrong password is a permanent failure, reported without the password.
    std::fs::write(dir.path().join("password"), "wrong-password").unwrap();
    let delivery = email::send_with(&settings, &digest(), None, fast()).await;
    assert!(!delivery.ok);
    assert_eq!(delivery.attempts, 1, "{delivery:?}");
    assert!(delivery.detail.contains("535"), "{delivery:?}");
    assert!(!format!("{delivery:?}").contains("wrong-password"));
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_fails_quickly_after_its_retries() {
    let start = Instant::now();
    let delivery = email::send_with(&settings(closed_port()), &digest(), Some(CSV), fast()).await;
    assert!(!delivery.ok);
    assert_eq!(delivery.attempts, email::ATTEMPTS);
    assert!(delivery.detail.to_lowercase().contains("connect"), "{delivery:?}");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
}

#[tokio::test]
async fn a_missing_password_or_bad_settings_fail_clearly_without_sending() {
    let server = SmtpServer::start();
    let no_password = EmailSettings {
        username: Some("kubeeye".into()),
        password_env: Some("KE_TEST_SMTP_PASSWORD_SURELY_UNSET".into()),
        ..settings(server.port)
    };
    let delivery = email::send_with(&no_password, &digest(), None, fast()).await;
    assert!(!delivery.ok);
    assert_eq!(delivery.attempts, 0);
    assert!(delivery.detail.contains("KE_TEST_SMTP_PASSWORD_SURELY_UNSET is not set"), "{delivery:?}");

    // An unknown `tls:` never reaches delivery: the settings do not load.
    let bad_tls = serde_norway::from_str::<EmailSettings>("{host: h, from: a@b.c, to: [d@e.f], tls: ssl}").unwrap_err();
    assert!(bad_tls.to_string().starts_with("tls: unknown variant `ssl`, expected one of `starttls`, `tls`, `none`"));
    let nobody = EmailSettings { to: vec![], ..settings(server.port) };
    assert!(email::send_with(&nobody, &digest(), None, fast()).await.detail.contains("no recipient"));
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_server_that_floods_its_replies_is_left_after_a_bounded_read() {
    use crate::support::smtp::{Flood, start_flooding};
    for flood in [Flood::EndlessGreeting, Flood::EndlessEhloReply] {
        let (port, sent) = start_flooding(flood);
        let started = Instant::now();
        let delivery = email::send_with(&settings(port), &digest(), None, fast()).await;
        let took = started.elapsed();
        assert!(!delivery.ok, "{flood:?}: {delivery:?}");
        // Before: read until the exchange's bound (15 s here) three times over,
        // as much as the server could send in that time.
        assert!(took < Duration::from_secs(5), "{flood:?}: {took:?}");
        assert!(delivery.detail.contains("without waiting for a command"), "{flood:?}: {}", delivery.detail);
        assert_eq!(delivery.attempts, 1, "{flood:?}: a flood is not retried");
        let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
        assert!(sent < 64 << 20, "{flood:?}: the server got {sent} bytes out before ke hung up");
    }
}

#[tokio::test]
async fn implicit_tls_with_a_private_ca() {
    let server = SmtpServer::start_implicit_tls();
    let settings = EmailSettings { tls: EmailTls::Tls, ca_file: server.ca_file.clone(), ..settings(server.port) };
    let delivery = email::send_with(&settings, &digest(), None, fast()).await;
    assert!(delivery.ok, "{delivery:?}");
    assert_eq!(server.messages().len(), 1);
    // Without the CA the handshake fails, once.
    let delivery = email::send_with(&EmailSettings { ca_file: None, ..settings }, &digest(), None, fast()).await;
    assert!(!delivery.ok && delivery.attempts == 1, "{delivery:?}");
}

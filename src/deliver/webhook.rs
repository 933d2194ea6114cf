//! Posting the digest to chat and automation webhooks: Slack, Microsoft
//! Teams, DingTalk, Feishu/Lark, WeCom, or a generic JSON receiver. Bodies
//! come from `templates/webhooks/*.json.hbs`.
//!
//! A webhook URL is a credential (whoever has it can post), so it is read
//! from the environment or a file, and only its host ever appears in a
//! [`Delivery`], a log line or an error.

use std::time::Duration;

use super::retry::{Backoff, Retryable, retry};
use super::templates::{self, DigestView, Escape};
use super::{Delivery, Digest};
use crate::config::{WebhookFormat, WebhookSettings};
use crate::deliver::secret;
use crate::text::truncate;

/// Default for a webhook's `timeout` (per attempt).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for a webhook's `attempts`.
pub const DEFAULT_ATTEMPTS: u32 = 3;

/// The template of `format`'s body.
fn template(format: WebhookFormat) -> &'static str {
    let name = format.name();
    templates::WEBHOOKS.iter().find(|(n, _)| *n == name).map_or("", |(_, t)| t)
}

/// The body `format` posts for `digest`: always valid JSON, whatever the
/// digest's strings contain.
pub fn body(format: WebhookFormat, digest: &Digest) -> Result<String, templates::TemplateError> {
    let name = format!("webhooks/{}.json", format.name());
    let text = templates::render(&name, template(format), Escape::None, &DigestView::of(digest))?;
    // Normalise: a template edit that produced invalid JSON fails here, not at the receiver.
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| templates::TemplateError { name, source: e.into() })?;
    Ok(value.to_string())
}

/// Why one attempt failed.
#[derive(Debug)]
struct AttemptError {
    message: String,
    retryable: bool,
}

impl Retryable for AttemptError {
    fn is_retryable(&self) -> bool {
        self.retryable
    }
}

/// Posts the digest to one webhook with the default backoff.
pub async fn post(settings: &WebhookSettings, digest: &Digest) -> Delivery {
    post_with(settings, digest, Backoff::default()).await
}

/// Posts the digest to every webhook at once; one slow or failing receiver
/// delays or fails only its own [`Delivery`].
pub async fn post_all(settings: &[WebhookSettings], digest: &Digest) -> Vec<Delivery> {
    futures::future::join_all(settings.iter().map(|s| post(s, digest))).await
}

/// Where a webhook's URL comes from (`$VAR` or the file), to name it without its value.
pub fn target_of(settings: &WebhookSettings) -> String {
    match (&settings.url_file, &settings.url_env) {
        (Some(file), _) => file.display().to_string(),
        (None, Some(env)) => format!("${env}"),
        (None, None) => "(no URL)".to_string(),
    }
}

/// Posts the digest to one webhook, waiting `backoff` between attempts.
pub async fn post_with(settings: &WebhookSettings, digest: &Digest, backoff: Backoff) -> Delivery {
    let channel = format!("webhook:{}", settings.name);
    let source = target_of(settings);
    let failed =
        |target: String, detail: String| Delivery { channel: channel.clone(), target, ok: false, attempts: 0, detail };

    let format = settings.format;
    let url = match secret::read(settings.url_env.as_deref(), settings.url_file.as_deref(), None) {
        Ok(Some(url)) => url,
        Ok(None) => return failed(source, "no URL: set urlEnv or urlFile".into()),
        Err(e) => return failed(source, format!("no URL: {e}")),
    };
    let url = match reqwest::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
        // Never echo the value: it is the secret.
        _ => return failed(source.clone(), format!("the URL in {source} is not an http(s) URL")),
    };
    let target = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => String::new(),
    };
    let body = match body(format, digest) {
        Ok(b) => b,
        Err(e) => return failed(target, e.to_string()),
    };
    let timeout = settings.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let client = match reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).build() {
        Ok(c) => c,
        Err(e) => return failed(target, format!("cannot build an HTTP client: {}", e.without_url())),
    };
    let attempts = settings.attempts.unwrap_or(DEFAULT_ATTEMPTS);
    let outcome = retry(attempts, backoff, |_| send(&client, &url, &body, format, timeout)).await;
    let (ok, detail) = match outcome.result {
        Ok(detail) => (true, detail),
        Err(e) => (false, e.message),
    };
    if !ok {
        tracing::warn!(
            "posting the digest to {channel} ({target}) failed after {} attempt(s): {detail}",
            outcome.attempts
        );
    }
    Delivery { channel, target, ok, attempts: outcome.attempts, detail }
}

/// The most of a receiver's answer read: its verdict (`ok`, an error code) is at the start.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// The first [`MAX_ANSWER_BYTES`] of an answer; the rest, however long (or
/// endless), is never read: the connection is dropped.
async fn answer_head(mut response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut head = Vec::new();
    while head.len() < MAX_ANSWER_BYTES
        && let Some(chunk) = response.chunk().await?
    {
        let room = MAX_ANSWER_BYTES - head.len();
        head.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// One POST. Success is a 2xx whose body does not report an error in the
/// receiver's own terms (DingTalk, Feishu and WeCom answer 200 with an error code).
async fn send(
    client: &reqwest::Client,
    url: &reqwest::Url,
    body: &str,
    format: WebhookFormat,
    timeout: Duration,
) -> Result<String, AttemptError> {
    let response = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| transport_error(e, timeout))?;
    let status = response.status();
    let text = answer_head(response).await.map_err(|e| transport_error(e, timeout))?;
    let snippet = truncate(&scrub(&text, url), 200);
    if !status.is_success() {
        let retryable = status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
        let detail = if snippet.is_empty() { String::new() } else { format!(": {snippet}") };
        return Err(AttemptError { message: format!("HTTP {status}{detail}"), retryable });
    }
    match api_error(format, &text) {
        Some(problem) => Err(AttemptError { message: format!("HTTP {status} but {problem}"), retryable: false }),
        None => Ok(format!("HTTP {}", status.as_u16())),
    }
}

/// A receiver's answer without the webhook URL's path and query, which are
/// the secret (some receivers echo them: `Cannot POST /hooks/<token>`).
fn scrub(text: &str, url: &reqwest::Url) -> String {
    let mut out = text.to_string();
    let path = url.path();
    if path.len() > 1 {
        out = out.replace(path, "/…");
    }
    if let Some(query) = url.query().filter(|q| !q.is_empty()) {
        out = out.replace(query, "…");
    }
    out
}

/// The error a receiver reports inside a 200 answer, if any.
fn api_error(format: WebhookFormat, text: &str) -> Option<String> {
    let json = || serde_json::from_str::<serde_json::Value>(text).ok();
    let code_error = |value: &serde_json::Value, code: &str, message: &str| {
        let n = value.get(code)?.as_i64()?;
        (n != 0).then(|| {
            let msg = value.get(message).and_then(|m| m.as_str()).unwrap_or("");
            format!("the receiver answered {code} {n}: {}", truncate(msg, 200))
        })
    };
    match format {
        // Slack answers a plain `ok`; anything else is its error name.
        WebhookFormat::Slack => (text.trim() != "ok").then(|| format!("Slack answered `{}`", truncate(text, 200))),
        WebhookFormat::DingTalk | WebhookFormat::WeCom => code_error(&json()?, "errcode", "errmsg"),
        WebhookFormat::Feishu => {
            let value = json()?;
            code_error(&value, "code", "msg").or_else(|| code_error(&value, "StatusCode", "StatusMessage"))
        }
        WebhookFormat::Teams | WebhookFormat::Generic => None,
    }
}

/// `10s`, `2m`, or `300ms` for timeouts below a whole second.
fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 { crate::config::format_duration(d) } else { format!("{}ms", d.as_millis()) }
}

/// A failed request in words, without the URL (it is the secret).
fn transport_error(e: reqwest::Error, timeout: Duration) -> AttemptError {
    if e.is_timeout() {
        return AttemptError { message: format!("no answer within {}", human(timeout)), retryable: true };
    }
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    AttemptError { message, retryable: e.is_connect() || e.is_request() || e.is_body() }
}

#[cfg(test)]
mod scrub_tests {
    use super::scrub;

    #[test]
    fn echoed_secret_paths_are_removed() {
        let url = reqwest::Url::parse("https://hooks.example.com/services/T1/B2/secret?token=abc").unwrap();
        let answer = "Cannot POST /services/T1/B2/secret?token=abc";
        let clean = scrub(answer, &url);
        assert!(!clean.contains("secret") && !clean.contains("abc"), "{clean}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::{DigestFinding, DigestNodeChecks};
    use crate::inventory::CoverageGap;
    use crate::report::{Health, HealthStatus, Severity, Summary};

    fn hostile() -> Digest {
        let evil = "prod\"eu\n</script><script>alert(1)</script> \\ {{cluster}} 🚨 <!channel> ünïcødé\u{0}";
        Digest {
            cluster: evil.into(),
            started_at: "2026-11-25T02:00:00Z".into(),
            complete: false,
            health: Some(Health {
                status: HealthStatus::Down,
                reasons: vec![format!("{evil} unhealthy"), "<!here>".into()],
            }),
            overview: Some(format!("Kubernetes {evil} · 3 nodes")),
            summary: Summary { danger: 3, warning: 12, info: 1, score: Some(42), ..Summary::default() },
            new: Some(2),
            resolved: Some(1),
            top: vec![DigestFinding {
                severity: Severity::Danger,
                rule: "runAsPrivileged\"".into(),
                object: format!("Pod {evil}/web"),
                message: format!("line1\nline2 \t {evil}"),
                new: true,
            }],
            gaps: vec![CoverageGap::error("nodes", "nodes \"x\"", "403 \n forbidden")],
            node_checks: Some(DigestNodeChecks {
                headline: "Node checks: 3 rules on 300 nodes, 1 failing".into(),
                lines: vec![
                    "[vm.swappiness] swap: vm.swappiness is 60 (expected 0) on 212 of 300 nodes (worker-1 … and 209 more)"
                        .into(),
                    format!("[hosts] {evil} <!here> on 1 of 300 nodes (worker-9)"),
                ],
                more: 4,
            }),
            report_url: Some("https://reports.example.com/a b?x=\"1\"&y=<2>".into()),
            archive_note: Some(format!("Archiving failed: {evil} [x](https://evil.example) <!here>")),
        }
    }

    #[test]
    fn every_template_renders_valid_json_for_a_hostile_digest() {
        let digest = hostile();
        let quiet = Digest {
            new: None,
            resolved: None,
            top: vec![],
            gaps: vec![],
            report_url: None,
            archive_note: None,
            complete: true,
            node_checks: None,
            ..hostile()
        };
        let healthy = Digest { health: Some(Health { status: HealthStatus::Healthy, reasons: vec![] }), ..hostile() };
        let unknown = Digest { health: None, ..hostile() };
        for format in WebhookFormat::ALL {
            let name = format.name();
            for d in [&digest, &quiet, &healthy, &unknown] {
                let text = body(format, d).unwrap_or_else(|e| panic!("{name}: {e}"));
                let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                let all = value.to_string();
                assert!(all.contains("prod\\\"eu"), "{name} lost the cluster name: {all}");
            }
        }
        let generic: serde_json::Value = serde_json::from_str(&body(WebhookFormat::Generic, &digest).unwrap()).unwrap();
        assert_eq!(generic["cluster"], digest.cluster.as_str());
        assert_eq!(generic["reportUrl"], digest.report_url.as_deref().unwrap());
        assert_eq!(generic["summary"]["danger"], 3);
        let slack = body(WebhookFormat::Slack, &digest).unwrap();
        assert!(!slack.contains("<!channel>") && !slack.contains("<!here>"), "Slack mentions must be escaped: {slack}");
        assert_eq!(generic["health"]["status"], "down");
    }

    #[test]
    fn every_chat_post_carries_the_overview_and_the_score_or_n_a() {
        let overview = "Kubernetes v1.30.4 · 6 nodes (5 Ready) · 12 namespaces · 84 workloads · 230 pods";
        let digest = Digest { overview: Some(overview.into()), ..hostile() };
        let unscored = Digest { summary: Summary { score: None, ..hostile().summary }, overview: None, ..hostile() };
        for format in WebhookFormat::ALL {
            let name = format.name();
            let value: serde_json::Value = serde_json::from_str(&body(format, &digest).unwrap()).unwrap();
            let all = value.to_string();
            assert!(all.contains("12 namespaces · 84 workloads · 230 pods"), "{name} lacks the overview: {all}");
            if format != WebhookFormat::Generic {
                assert!(all.contains("42/100"), "{name} lacks the score: {all}");
            }
            let value: serde_json::Value = serde_json::from_str(&body(format, &unscored).unwrap()).unwrap();
            let all = value.to_string();
            assert!(!all.contains("/100"), "{name} shows a score for nothing evaluated: {all}");
            if format == WebhookFormat::Generic {
                assert!(value["summary"].get("score").is_none(), "{all}");
                assert_eq!(value["overview"], serde_json::Value::Null);
            } else {
                assert!(all.contains("n/a"), "{name} does not say n/a: {all}");
            }
        }
    }

    #[test]
    fn every_chat_post_carries_the_node_checks_headline_and_grouped_lines() {
        let digest = hostile();
        for format in WebhookFormat::ALL {
            let name = format.name();
            let value: serde_json::Value = serde_json::from_str(&body(format, &digest).unwrap()).unwrap();
            let all = value.to_string();
            assert!(all.contains("Node checks: 3 rules on 300 nodes, 1 failing"), "{name} lacks the headline: {all}");
            assert!(all.contains("vm.swappiness is 60"), "{name} lacks the grouped line: {all}");
            assert!(all.contains("212 of 300 nodes"), "{name}: {all}");
            let more = if format == WebhookFormat::Generic {
                value["nodeChecks"]["more"] == 4
            } else {
                all.contains("4 more")
            };
            assert!(more, "{name} does not say how many groups are not listed: {all}");
            if format == WebhookFormat::Slack {
                assert!(!all.contains("<!here>"), "Slack mentions must be escaped: {all}");
            }
        }
        let quiet = Digest { node_checks: None, ..hostile() };
        for format in WebhookFormat::ALL {
            let all = body(format, &quiet).unwrap();
            assert!(!all.contains("Node checks:"), "{}: {all}", format.name());
        }
    }

    #[test]
    fn receivers_errors_in_200_answers() {
        assert_eq!(api_error(WebhookFormat::Slack, "ok"), None);
        assert!(api_error(WebhookFormat::Slack, "invalid_payload").is_some());
        assert_eq!(api_error(WebhookFormat::DingTalk, r#"{"errcode":0,"errmsg":"ok"}"#), None);
        assert!(
            api_error(WebhookFormat::WeCom, r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#)
                .unwrap()
                .contains("93000")
        );
        assert!(api_error(WebhookFormat::Feishu, r#"{"code":19001,"msg":"param invalid"}"#).is_some());
        assert_eq!(api_error(WebhookFormat::Feishu, r#"{"StatusCode":0,"StatusMessage":"success"}"#), None);
        assert_eq!(api_error(WebhookFormat::Teams, "1"), None);
        assert_eq!("Lark".parse(), Ok(WebhookFormat::Feishu));
        assert!("discord".parse::<WebhookFormat>().is_err());
    }
}

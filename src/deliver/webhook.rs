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
use crate::config::WebhookSettings;
use crate::deliver::secret;
use crate::text::truncate;

/// Default for a webhook's `timeout` (per attempt).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for a webhook's `attempts`.
pub const DEFAULT_ATTEMPTS: u32 = 3;

/// The body formats a webhook can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Slack incoming webhook (Block Kit).
    Slack,
    /// The digest as JSON, plus `reportUrl`.
    Generic,
    /// Microsoft Teams (an Adaptive Card in a `message`).
    Teams,
    /// DingTalk robot (markdown).
    DingTalk,
    /// Feishu / Lark bot (interactive card).
    Feishu,
    /// WeCom (WeChat Work) group robot (markdown).
    WeCom,
}

impl Format {
    /// Every format, by its config name.
    pub const ALL: [(&'static str, Format); 6] = [
        ("slack", Format::Slack),
        ("generic", Format::Generic),
        ("teams", Format::Teams),
        ("dingtalk", Format::DingTalk),
        ("feishu", Format::Feishu),
        ("wecom", Format::WeCom),
    ];

    /// The format called `name` in a config (`lark` is Feishu's international name).
    pub fn parse(name: &str) -> Option<Format> {
        let name = name.trim().to_ascii_lowercase();
        let name = if name == "lark" { "feishu".to_string() } else { name };
        Format::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// The config name.
    pub fn name(self) -> &'static str {
        Format::ALL.iter().find(|(_, f)| *f == self).map_or("generic", |(n, _)| n)
    }

    fn template(self) -> &'static str {
        let name = self.name();
        templates::WEBHOOKS.iter().find(|(n, _)| *n == name).map_or("", |(_, t)| t)
    }
}

/// The body `format` posts for `digest`: always valid JSON, whatever the
/// digest's strings contain.
pub fn body(format: Format, digest: &Digest) -> Result<String, templates::TemplateError> {
    let name = format!("webhooks/{}.json", format.name());
    let text = templates::render(&name, format.template(), Escape::None, &DigestView::of(digest))?;
    // Normalise: a template edit that produced invalid JSON fails here, not at the receiver.
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| templates::TemplateError { name, cause: format!("not JSON: {e}") })?;
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

/// Posts the digest to one webhook, waiting `backoff` between attempts.
pub async fn post_with(settings: &WebhookSettings, digest: &Digest, backoff: Backoff) -> Delivery {
    let channel = format!("webhook:{}", settings.name);
    let source = match (&settings.url_file, &settings.url_env) {
        (Some(file), _) => file.display().to_string(),
        (None, Some(env)) => format!("${env}"),
        (None, None) => "(no URL)".to_string(),
    };
    let failed =
        |target: String, detail: String| Delivery { channel: channel.clone(), target, ok: false, attempts: 0, detail };

    let Some(format) = Format::parse(&settings.format) else {
        let names: Vec<&str> = Format::ALL.iter().map(|(n, _)| *n).collect();
        return failed(source, format!("unknown format `{}` (use {})", settings.format, names.join(", ")));
    };
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
        tracing::warn!(channel = %channel, target = %target, attempts = outcome.attempts, detail = %detail, "webhook failed");
    }
    Delivery { channel, target, ok, attempts: outcome.attempts, detail }
}

/// One POST. Success is a 2xx whose body does not report an error in the
/// receiver's own terms (DingTalk, Feishu and WeCom answer 200 with an error code).
async fn send(
    client: &reqwest::Client,
    url: &reqwest::Url,
    body: &str,
    format: Format,
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
    let text = response.text().await.map_err(|e| transport_error(e, timeout))?;
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
fn api_error(format: Format, text: &str) -> Option<String> {
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
        Format::Slack => (text.trim() != "ok").then(|| format!("Slack answered `{}`", truncate(text, 200))),
        Format::DingTalk | Format::WeCom => code_error(&json()?, "errcode", "errmsg"),
        Format::Feishu => {
            let value = json()?;
            code_error(&value, "code", "msg").or_else(|| code_error(&value, "StatusCode", "StatusMessage"))
        }
        Format::Teams | Format::Generic => None,
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
    use crate::deliver::DigestFinding;
    use crate::inventory::CoverageGap;
    use crate::report::{Severity, Summary};

    fn hostile() -> Digest {
        let evil = "prod\"eu\n</script><script>alert(1)</script> \\ {{cluster}} 🚨 <!channel> ünïcødé\u{0}";
        Digest {
            cluster: evil.into(),
            started_at: "2026-11-25T02:00:00Z".into(),
            complete: false,
            summary: Summary { danger: 3, warning: 12, info: 1, score: 42, ..Summary::default() },
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
            report_url: Some("https://reports.example.com/a b?x=\"1\"&y=<2>".into()),
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
            complete: true,
            ..hostile()
        };
        for (name, format) in Format::ALL {
            for d in [&digest, &quiet] {
                let text = body(format, d).unwrap_or_else(|e| panic!("{name}: {e}"));
                let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                let all = value.to_string();
                assert!(all.contains("prod\\\"eu"), "{name} lost the cluster name: {all}");
            }
        }
        let generic: serde_json::Value = serde_json::from_str(&body(Format::Generic, &digest).unwrap()).unwrap();
        assert_eq!(generic["cluster"], digest.cluster.as_str());
        assert_eq!(generic["reportUrl"], digest.report_url.as_deref().unwrap());
        assert_eq!(generic["summary"]["danger"], 3);
        let slack = body(Format::Slack, &digest).unwrap();
        assert!(!slack.contains("<!channel>"), "Slack mentions must be escaped: {slack}");
    }

    #[test]
    fn receivers_errors_in_200_answers() {
        assert_eq!(api_error(Format::Slack, "ok"), None);
        assert!(api_error(Format::Slack, "invalid_payload").is_some());
        assert_eq!(api_error(Format::DingTalk, r#"{"errcode":0,"errmsg":"ok"}"#), None);
        assert!(
            api_error(Format::WeCom, r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#).unwrap().contains("93000")
        );
        assert!(api_error(Format::Feishu, r#"{"code":19001,"msg":"param invalid"}"#).is_some());
        assert_eq!(api_error(Format::Feishu, r#"{"StatusCode":0,"StatusMessage":"success"}"#), None);
        assert_eq!(api_error(Format::Teams, "1"), None);
        assert_eq!(Format::parse("Lark"), Some(Format::Feishu));
        assert_eq!(Format::parse("discord"), None);
    }
}

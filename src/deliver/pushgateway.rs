//! Pushing the run's metrics to a Prometheus Pushgateway, so the nightly job
//! itself can be alerted on
//! (`time() - kubeeye_last_success_timestamp_seconds > 26 * 3600`). The body is rendered by the caller (the text exposition
//! format); this module only moves it.
//!
//! The group is `job` / `cluster` / the configured `grouping` labels, every
//! value base64url-encoded in the path so any cluster name fits. Pushes use
//! POST, which replaces only the metrics of the same names in the group: a
//! failed run, which pushes no last-success time, leaves the previous one.

use std::time::Duration;

use base64::Engine as _;

use super::retry::{Backoff, Retryable, retry};
use super::{Delivery, secret};
use crate::config::PushgatewaySettings;

/// Default for `timeout` (per attempt).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for `attempts`.
pub const DEFAULT_ATTEMPTS: u32 = 3;
/// The media type of the pushed body.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The group's URL: `<url>/metrics/job@base64/<job>/cluster@base64/<cluster>/<label>@base64/<value>…`.
pub fn group_url(settings: &PushgatewaySettings, cluster: &str) -> String {
    let encode = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.as_bytes());
    let mut url = format!(
        "{}/metrics/job@base64/{}/cluster@base64/{}",
        settings.url.trim_end_matches('/'),
        encode(&settings.job),
        encode(cluster)
    );
    for (name, value) in &settings.grouping {
        url.push_str(&format!("/{name}@base64/{}", encode(value)));
    }
    url
}

/// Pushes `body` with the default backoff.
pub async fn push(settings: &PushgatewaySettings, cluster: &str, body: &str) -> Delivery {
    push_with(settings, cluster, body, Backoff::default()).await
}

/// Pushes `body` to the group of `cluster`, retrying server and network errors.
pub async fn push_with(settings: &PushgatewaySettings, cluster: &str, body: &str, backoff: Backoff) -> Delivery {
    let target = url::Url::parse(&settings.url)
        .ok()
        .and_then(|u| u.host_str().map(|h| format!("{h}{}", u.port().map(|p| format!(":{p}")).unwrap_or_default())))
        .unwrap_or_else(|| settings.url.clone());
    let failed = |detail: String| Delivery {
        channel: "pushgateway".into(),
        target: target.clone(),
        ok: false,
        attempts: 0,
        detail,
    };
    let password = match &settings.username {
        Some(_) => match secret::read(settings.password_env.as_deref(), settings.password_file.as_deref(), None) {
            Ok(p) => p,
            Err(e) => return failed(format!("password: {e}")),
        },
        None => None,
    };
    let timeout = settings.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let client = match reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).build() {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot build an HTTP client: {}", e.without_url())),
    };
    let url = group_url(settings, cluster);
    let attempts = settings.attempts.unwrap_or(DEFAULT_ATTEMPTS);
    let outcome = retry(attempts, backoff, |_| {
        let mut request = client.post(&url).header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE).body(body.to_string());
        if let Some(user) = &settings.username {
            request = request.basic_auth(user, password.as_deref());
        }
        async move {
            let response = request.send().await.map_err(|e| PushError {
                message: if e.is_timeout() {
                    format!("no answer within {}", crate::config::format_duration(timeout))
                } else {
                    format!("cannot reach the Pushgateway: {}", causes(&e.without_url()))
                },
                retryable: true,
            })?;
            let status = response.status();
            if status.is_success() {
                return Ok(format!("pushed ({} bytes), HTTP {}", body.len(), status.as_u16()));
            }
            let text = response.text().await.unwrap_or_default();
            Err(PushError {
                message: format!("HTTP {status}: {}", crate::text::truncate(text.trim(), 300)),
                retryable: status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS,
            })
        }
    })
    .await;
    let (ok, detail) = match outcome.result {
        Ok(d) => (true, d),
        Err(e) => (false, e.message),
    };
    if !ok {
        tracing::warn!(
            "pushing the metrics to the Pushgateway {target} failed after {} attempt(s): {detail}",
            outcome.attempts
        );
    }
    Delivery { channel: "pushgateway".into(), target, ok, attempts: outcome.attempts, detail }
}

/// An error and its causes on one line.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// One failed push.
#[derive(Debug)]
struct PushError {
    message: String,
    retryable: bool,
}

impl Retryable for PushError {
    fn is_retryable(&self) -> bool {
        self.retryable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_encode_every_value() {
        let settings = PushgatewaySettings {
            url: "http://pg:9091/".into(),
            job: "kubeeye".into(),
            grouping: [("env".to_string(), "prod/eu".to_string())].into(),
            username: None,
            password_env: None,
            password_file: None,
            timeout: None,
            attempts: None,
        };
        assert_eq!(
            group_url(&settings, "prod eu/1"),
            "http://pg:9091/metrics/job@base64/a3ViZWV5ZQ/cluster@base64/cHJvZCBldS8x/env@base64/cHJvZC9ldQ"
        );
    }
}

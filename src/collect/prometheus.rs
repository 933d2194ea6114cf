//! Instant queries against Prometheus for the PromQL rules.
//!
//! [`Prometheus::connect`] reads the settings and credentials before
//! anything is inspected (a missing token is bad input, exit 2);
//! [`Prometheus::query`] asks every enabled rule's query at the inspection's
//! time, a few at a time, each within its timeout. What Prometheus refuses
//! or cannot answer becomes a coverage gap carrying Prometheus's own message;
//! the rest of the inspection goes on.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;

use crate::clock::Timestamp;
use crate::config::PrometheusSettings;
use crate::inventory::{CoverageGap, Series};
use crate::rules::RuleSet;

/// The coverage section of Prometheus gaps.
pub const SECTION: &str = "prometheus";

/// The longest error body quoted in a gap.
const MAX_MESSAGE: usize = 500;

/// How requests authenticate.
#[derive(Clone)]
enum Auth {
    None,
    Bearer(String),
    Basic(String, String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret itself.
        f.write_str(match self {
            Auth::None => "none",
            Auth::Bearer(_) => "bearer token",
            Auth::Basic(..) => "basic auth",
        })
    }
}

/// A connection to the Prometheus the rules ask.
#[derive(Debug)]
pub struct Prometheus {
    client: reqwest::Client,
    /// The configured endpoint; it overrides every rule's own.
    configured: Option<String>,
    auth: Auth,
    timeout: Duration,
    concurrency: usize,
}

/// One query to run.
struct Job {
    rule: String,
    query: String,
    base: String,
    with_auth: bool,
}

impl Prometheus {
    /// Reads the settings, credentials and CA; `None` when no enabled rule is a PromQL rule.
    /// Errors name the setting, the variable or the file, and the rule without an endpoint.
    pub fn connect(settings: &PrometheusSettings, rules: &RuleSet) -> Result<Option<Self>, String> {
        if !rules.needs().prometheus {
            return Ok(None);
        }
        let configured = settings.base_url()?;
        if configured.is_none()
            && let Some((rule, _)) = rules.prometheus_queries().find(|(_, q)| q.endpoint.is_none())
        {
            return Err(format!(
                "{}: rule `{}` asks Prometheus, and no Prometheus is configured: set `inspection.prometheus.url` \
                 (or `service`) in the config file (--config), or give the rule an `endpoint`",
                rule.origin, rule.id
            ));
        }
        let auth = auth(settings)?;
        let mut builder = reqwest::Client::builder().timeout(settings.timeout).connect_timeout(settings.timeout);
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| format!("inspection.prometheus.caFile: cannot read {}: {e}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                format!("inspection.prometheus.caFile: {} is not a PEM certificate: {e}", path.display())
            })?;
            if certs.is_empty() {
                return Err(format!("inspection.prometheus.caFile: no certificate in {}", path.display()));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client =
            builder.build().map_err(|e| format!("inspection.prometheus: cannot build the HTTP client: {e}"))?;
        Ok(Some(Prometheus {
            client,
            configured,
            auth,
            timeout: settings.timeout,
            concurrency: settings.concurrency.max(1),
        }))
    }

    /// Runs every enabled rule's query as an instant query at `at`: the
    /// series returned, and a gap per query that failed.
    pub async fn query(&self, rules: &RuleSet, at: Timestamp) -> (Vec<Series>, Vec<CoverageGap>) {
        let jobs: Vec<Job> = rules
            .prometheus_queries()
            .filter_map(|(rule, q)| {
                let (base, with_auth) = match (&self.configured, &q.endpoint) {
                    (Some(base), _) => (base.clone(), true),
                    // Credentials go to the configured endpoint only, never to one a rule file names.
                    (None, Some(endpoint)) => (endpoint.trim_end_matches('/').to_string(), false),
                    (None, None) => return None,
                };
                Some(Job { rule: rule.id.clone(), query: q.query.clone(), base, with_auth })
            })
            .collect();
        let time = format!("{:.3}", at.as_millisecond() as f64 / 1000.0);
        let results: Vec<(Job, Result<Vec<Series>, String>)> = futures::stream::iter(jobs)
            .map(|job| {
                let time = time.clone();
                async move {
                    let result = self.one(&job, &time).await;
                    (job, result)
                }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let (mut series, mut gaps) = (Vec::new(), Vec::new());
        for (job, result) in results {
            match result {
                Ok(found) => series.extend(found),
                Err(reason) => {
                    gaps.push(CoverageGap::error(SECTION, format!("rule {} ({})", job.rule, job.base), reason))
                }
            }
        }
        // Queries finish in any order; reports are reproducible.
        series.sort_by(|a, b| (&a.rule, &a.labels).cmp(&(&b.rule, &b.labels)));
        gaps.sort_by(|a, b| a.resource.cmp(&b.resource));
        (series, gaps)
    }

    async fn one(&self, job: &Job, time: &str) -> Result<Vec<Series>, String> {
        let url = format!("{}/api/v1/query", job.base);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("query", &job.query)
            .append_pair("time", time)
            .append_pair("timeout", &format!("{}ms", self.timeout.as_millis()))
            .finish();
        let mut request = self
            .client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        if job.with_auth {
            request = match &self.auth {
                Auth::None => request,
                Auth::Bearer(token) => request.bearer_auth(token),
                Auth::Basic(user, password) => request.basic_auth(user, Some(password)),
            };
        }
        let response = request.send().await.map_err(|e| describe(&e, &url, self.timeout))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| describe(&e, &url, self.timeout))?;
        parse_answer(&job.rule, status, &text)
    }
}

/// Credentials from the environment or a file, as the settings name them.
fn auth(settings: &PrometheusSettings) -> Result<Auth, String> {
    let env = |key: &str, var: &str| match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(format!("inspection.prometheus.{key}: the environment variable `{var}` is not set or empty")),
    };
    if let Some(var) = &settings.bearer_token_env {
        return Ok(Auth::Bearer(env("bearerTokenEnv", var)?));
    }
    if let Some(path) = &settings.bearer_token_file {
        let token = std::fs::read_to_string(path)
            .map_err(|e| format!("inspection.prometheus.bearerTokenFile: cannot read {}: {e}", path.display()))?;
        let token = token.trim();
        if token.is_empty() {
            return Err(format!("inspection.prometheus.bearerTokenFile: {} is empty", path.display()));
        }
        return Ok(Auth::Bearer(token.to_string()));
    }
    if let (Some(user), Some(password)) = (&settings.username_env, &settings.password_env) {
        return Ok(Auth::Basic(env("usernameEnv", user)?, env("passwordEnv", password)?));
    }
    Ok(Auth::None)
}

/// A transport failure in words: unreachable, timed out, TLS.
fn describe(e: &reqwest::Error, url: &str, timeout: Duration) -> String {
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = format!("{cause}: {s}");
        source = s.source();
    }
    if e.is_timeout() {
        format!(
            "Prometheus did not answer within {}s ({url}); raise inspection.prometheus.timeout or simplify the query",
            timeout.as_secs_f64()
        )
    } else if e.is_connect() && (cause.contains("certificate") || cause.contains("TLS") || cause.contains("tls")) {
        format!(
            "TLS handshake with Prometheus at {url} failed: {cause}; set inspection.prometheus.caFile to the CA \
             that signed its certificate"
        )
    } else if e.is_connect() {
        format!("cannot reach Prometheus at {url}: {cause}")
    } else {
        format!("request to {url} failed: {cause}")
    }
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Value,
}

#[derive(Deserialize)]
struct VectorSample {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: (Value, String),
}

/// Prometheus's answer to an instant query: the series, or its own error message.
fn parse_answer(rule: &str, status: reqwest::StatusCode, text: &str) -> Result<Vec<Series>, String> {
    let answer: Answer = match serde_json::from_str(text) {
        Ok(a) => a,
        Err(_) => {
            let excerpt = crate::text::truncate(text.trim(), MAX_MESSAGE);
            return Err(match status.as_u16() {
                401 | 403 => format!("Prometheus refused the credentials (HTTP {status}): {excerpt}"),
                _ => format!("not a Prometheus API answer (HTTP {status}): {excerpt}"),
            });
        }
    };
    if answer.status != "success" {
        let kind = answer.error_type.unwrap_or_else(|| "error".into());
        let message = crate::text::truncate(answer.error.as_deref().unwrap_or("no message"), MAX_MESSAGE);
        return Err(format!("Prometheus: {kind}: {message}"));
    }
    let Some(data) = answer.data else { return Err("Prometheus answered success without data".into()) };
    let value_of =
        |text: &str| text.parse::<f64>().map_err(|_| format!("Prometheus sent the value `{text}`, not a number"));
    match data.result_type.as_str() {
        "vector" => {
            let samples: Vec<VectorSample> =
                serde_json::from_value(data.result).map_err(|e| format!("Prometheus sent a malformed vector: {e}"))?;
            samples
                .into_iter()
                .map(|s| Ok(Series { rule: rule.to_string(), labels: s.metric, value: value_of(&s.value.1)? }))
                .collect()
        }
        "scalar" => {
            let (_, value): (Value, String) =
                serde_json::from_value(data.result).map_err(|e| format!("Prometheus sent a malformed scalar: {e}"))?;
            Ok(vec![Series { rule: rule.to_string(), labels: BTreeMap::new(), value: value_of(&value)? }])
        }
        other => Err(format!(
            "the query returns a {other}, not an instant vector: a rule's query must select current values (no `[5m]` range at the outside)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_series_or_prometheus_messages() {
        let ok = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"instance":"n1:9100"},"value":[1700000000.5,"0.07"]},
            {"metric":{},"value":[1700000000.5,"NaN"]}]}}"#;
        let series = parse_answer("r", reqwest::StatusCode::OK, ok).unwrap();
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].labels["instance"], "n1:9100");
        assert!((series[0].value - 0.07).abs() < 1e-12);
        assert!(series[1].value.is_nan());
        let err = r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected"}"#;
        let e = parse_answer("r", reqwest::StatusCode::BAD_REQUEST, err).unwrap_err();
        assert_eq!(e, "Prometheus: bad_data: 1:5: parse error: unexpected");
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#;
        assert_eq!(parse_answer("r", reqwest::StatusCode::OK, scalar).unwrap()[0].value, 2.0);
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(parse_answer("r", reqwest::StatusCode::OK, matrix).unwrap_err().contains("matrix"));
        let denied = parse_answer("r", reqwest::StatusCode::UNAUTHORIZED, "Unauthorized\n").unwrap_err();
        assert!(denied.contains("refused the credentials (HTTP 401 Unauthorized): Unauthorized"), "{denied}");
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        assert_eq!(format!("{:?}", Auth::Bearer("s3cret".into())), "bearer token");
    }
}

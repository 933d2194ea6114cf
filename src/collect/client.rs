//! Talking to the API server: finding credentials (kubeconfig, `--context`,
//! `KUBECONFIG`, the in-cluster service account), bounded requests, and
//! errors turned into sentences an administrator can act on.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use kube::client::Body;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// Where the cluster's credentials come from.
#[derive(Debug, Clone, Default)]
pub struct ClusterAccess {
    /// `--kubeconfig`; otherwise `KUBECONFIG`, `~/.kube/config`, then the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`; otherwise the kubeconfig's current context.
    pub context: Option<String>,
}

/// The cluster cannot be reached at all: nothing can be inspected.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No usable configuration.
    #[error("no cluster configuration: {0}")]
    Config(#[from] NoConfig),
    /// The API server did not answer, or TLS / authentication failed.
    #[error("cannot reach the API server at {url}: {reason}")]
    Unreachable {
        /// The server URL.
        url: String,
        /// Why, with a hint.
        reason: String,
        /// The failed request.
        #[source]
        source: RequestError,
    },
}

/// Why there is no usable cluster configuration. Each message names the file
/// or the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum NoConfig {
    /// `--kubeconfig` names a file that cannot be read or parsed.
    #[error("cannot read kubeconfig {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// The kubeconfig (`--kubeconfig`, or found through `KUBECONFIG` / `~/.kube/config`) cannot be used.
    #[error("kubeconfig{}: {}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default(), chain(source))]
    Kubeconfig {
        /// The file, when named by `--kubeconfig`.
        path: Option<PathBuf>,
        /// Why (a missing context, unreadable credentials …).
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// `--context` without any kubeconfig.
    #[error("--context needs a kubeconfig (--kubeconfig, KUBECONFIG or ~/.kube/config)")]
    ContextWithoutKubeconfig,
    /// No kubeconfig, and no service account either.
    #[error(
        "no kubeconfig found (--kubeconfig, KUBECONFIG, ~/.kube/config) and not running in a pod: {}",
        chain(.0)
    )]
    NotInCluster(#[source] kube::config::InClusterError),
    /// The configuration is there but a client cannot be built from it.
    #[error("cannot build the API client: {}", chain(.0))]
    Client(#[source] kube::Error),
}

/// A failed request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RequestError {
    /// No answer in time.
    #[error("no answer within {}s", .0.as_secs())]
    Timeout(Duration),
    /// The request could not be built.
    #[error("bad request {path}: {source}")]
    Build {
        /// The request's path and query.
        path: String,
        /// Why.
        #[source]
        source: Arc<http::Error>,
    },
    /// Connection, TLS or protocol failure while sending (the message quotes every cause,
    /// as it becomes a coverage gap's reason).
    #[error("{}", chain(.0.as_ref()))]
    Send(#[source] Arc<kube::Error>),
    /// The answer's body could not be read.
    #[error("reading the answer: {}", chain(.0.as_ref()))]
    Read(#[source] Arc<kube::Error>),
    /// A transport failure described in words (an answer that is not what it should be, shutdown).
    #[error("{0}")]
    Transport(String),
    /// The server answered with an error status.
    #[error("HTTP {code} {reason}: {message}")]
    Status {
        /// HTTP status.
        code: u16,
        /// Kubernetes reason (`Forbidden`, `NotFound`, `Expired` …).
        reason: String,
        /// The server's message.
        message: String,
    },
}

impl RequestError {
    /// The HTTP status, when the server answered.
    pub fn code(&self) -> Option<u16> {
        match self {
            RequestError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// An answer: status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: Bytes,
}

/// Request and byte counts, for the record.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests sent.
    pub requests: AtomicU64,
    /// Response body bytes received.
    pub bytes: AtomicU64,
}

/// A connected API client with a per-request timeout.
#[derive(Clone)]
pub struct Api {
    client: kube::Client,
    timeout: Duration,
    /// The server URL.
    pub url: String,
    /// What was inspected, for the report (`kubeconfig context prod (https://…)`).
    pub source: String,
    /// The cluster's display name (context name or `in-cluster`).
    pub cluster: String,
    /// Requests and bytes so far.
    pub counters: Arc<Counters>,
}

impl Api {
    /// Builds a client from the access settings. Does not contact the server.
    pub async fn new(access: &ClusterAccess, timeout: Duration) -> Result<Self, ConnectError> {
        let options = KubeConfigOptions { context: access.context.clone(), ..Default::default() };
        let (mut config, name) = match &access.kubeconfig {
            Some(path) => {
                let file = Kubeconfig::read_from(path)
                    .map_err(|source| NoConfig::Unreadable { path: path.clone(), source })?;
                let name = access.context.clone().or_else(|| file.current_context.clone()).unwrap_or_default();
                let config = kube::Config::from_custom_kubeconfig(file, &options)
                    .await
                    .map_err(|source| NoConfig::Kubeconfig { path: Some(path.clone()), source })?;
                (config, name)
            }
            None if std::env::var_os("KUBECONFIG").is_some() || default_kubeconfig().is_some_and(|p| p.exists()) => {
                let name = match &access.context {
                    Some(c) => c.clone(),
                    None => Kubeconfig::read().ok().and_then(|k| k.current_context).unwrap_or_default(),
                };
                let config = kube::Config::from_kubeconfig(&options)
                    .await
                    .map_err(|source| NoConfig::Kubeconfig { path: None, source })?;
                (config, name)
            }
            None => {
                if access.context.is_some() {
                    return Err(NoConfig::ContextWithoutKubeconfig.into());
                }
                let config = kube::Config::incluster().map_err(NoConfig::NotInCluster)?;
                (config, "in-cluster".to_string())
            }
        };
        // Retries are ours to decide (a 503 from one kubelet is a coverage gap, not a reason to stall).
        config.default_retry = false;
        config.read_timeout = Some(timeout);
        config.connect_timeout = Some(timeout.min(Duration::from_secs(10)));
        let url = config.cluster_url.to_string().trim_end_matches('/').to_string();
        let source = if name == "in-cluster" {
            format!("in-cluster service account ({url})")
        } else {
            format!("kubeconfig context {name} ({url})")
        };
        let client = kube::Client::try_from(config).map_err(NoConfig::Client)?;
        Ok(Api {
            client,
            timeout,
            url,
            source,
            cluster: if name.is_empty() { "kubernetes".into() } else { name },
            counters: Arc::default(),
        })
    }

    /// Checks the server answers and accepts our credentials (`GET /version`);
    /// its `gitVersion` when it says.
    pub async fn probe(&self) -> Result<Option<String>, ConnectError> {
        let unreachable =
            |reason: String, source: RequestError| ConnectError::Unreachable { url: self.url.clone(), reason, source };
        match self.get_ok("/version").await {
            Ok(body) => Ok(serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("gitVersion")?.as_str().map(str::to_string))),
            Err(e @ RequestError::Status { code: 401, .. }) => Err(unreachable(
                "401 Unauthorized: the credentials were refused (expired token or certificate?); check the kubeconfig user".into(),
                e,
            )),
            Err(RequestError::Status { code: 403, .. }) => Ok(None),
            Err(e) => match tls_hint(&e) {
                Some(hint) => Err(unreachable(format!("TLS error: {e}. {hint}"), e)),
                None => Err(unreachable(format!("{e}. Check the server address, network and --context"), e)),
            },
        }
    }

    /// `GET path` with the per-request timeout; any status is returned as is.
    pub async fn get(&self, path_and_query: &str) -> Result<Answer, RequestError> {
        self.get_within(path_and_query, self.timeout).await
    }

    /// `GET path` with a specific timeout (container logs have their own).
    pub async fn get_within(&self, path_and_query: &str, timeout: Duration) -> Result<Answer, RequestError> {
        let request = http::Request::get(path_and_query)
            .header(http::header::ACCEPT, "application/json, */*")
            .body(Body::empty())
            .map_err(|e| RequestError::Build { path: path_and_query.to_string(), source: Arc::new(e) })?;
        self.exchange(request, timeout).await
    }

    /// Sends one request and reads the whole answer within `timeout`, counting both.
    async fn exchange(&self, request: http::Request<Body>, timeout: Duration) -> Result<Answer, RequestError> {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let call = async {
            let response = self.client.send(request).await.map_err(|e| RequestError::Send(Arc::new(e)))?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map_err(|e| RequestError::Read(Arc::new(e)))?.to_bytes();
            Ok::<_, RequestError>(Answer { status, body })
        };
        let answer = tokio::time::timeout(timeout, call).await.map_err(|_| RequestError::Timeout(timeout))??;
        self.counters.bytes.fetch_add(answer.body.len() as u64, Ordering::Relaxed);
        Ok(answer)
    }

    /// Sends a write (server-side apply `PATCH`, `DELETE`) and returns the answer, any status.
    pub async fn send(
        &self,
        method: http::Method,
        path_and_query: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Answer, RequestError> {
        let mut request = http::Request::builder().method(method).uri(path_and_query);
        request = request.header(http::header::ACCEPT, "application/json");
        if let Some(ct) = content_type {
            request = request.header(http::header::CONTENT_TYPE, ct);
        }
        let request = request
            .body(Body::from(body))
            .map_err(|e| RequestError::Build { path: path_and_query.to_string(), source: Arc::new(e) })?;
        self.exchange(request, self.timeout).await
    }

    /// `GET path`, mapping any status ≥ 400 to [`RequestError::Status`].
    pub async fn get_ok(&self, path_and_query: &str) -> Result<Bytes, RequestError> {
        let answer = self.get(path_and_query).await?;
        if answer.status >= 400 {
            return Err(status_error(&answer));
        }
        Ok(answer.body)
    }
}

/// The error a non-success answer stands for, from its Kubernetes `Status` body when it has one.
pub fn status_error(answer: &Answer) -> RequestError {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Status {
        reason: String,
        message: String,
    }
    let parsed: Status = serde_json::from_slice(&answer.body).unwrap_or_default();
    let text = String::from_utf8_lossy(&answer.body);
    let message = if parsed.message.is_empty() { text.trim().chars().take(300).collect() } else { parsed.message };
    let reason = if parsed.reason.is_empty() {
        http::StatusCode::from_u16(answer.status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error").to_string()
    } else {
        parsed.reason
    };
    RequestError::Status { code: answer.status, reason, message }
}

fn default_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
}

/// What to do about a TLS failure talking to the API server, recognised from
/// the `rustls::Error` among the request error's causes; `None` when the
/// failure is not TLS, or TLS with no advice beyond the generic one.
fn tls_hint(e: &RequestError) -> Option<&'static str> {
    use rustls::{AlertDescription as Alert, CertificateError as Cert, Error as Tls};
    Some(match crate::error::find_cause::<Tls>(e)? {
        Tls::InvalidCertificate(Cert::Expired | Cert::ExpiredContext { .. }) => {
            "the API server's serving certificate has expired: every client refuses it until it is renewed \
             (kubeadm: `kubeadm certs renew apiserver` on each control-plane node, then restart kube-apiserver)"
        }
        Tls::InvalidCertificate(Cert::NotValidForName | Cert::NotValidForNameContext { .. }) => {
            "the server's certificate does not name the address in the kubeconfig (check clusters[].cluster.server)"
        }
        Tls::InvalidCertificate(_) => {
            "the server's certificate is not signed by the CA in the kubeconfig (certificate-authority-data); \
             check --kubeconfig and --context"
        }
        Tls::AlertReceived(
            Alert::BadCertificate
            | Alert::CertificateExpired
            | Alert::CertificateRevoked
            | Alert::CertificateUnknown
            | Alert::CertificateRequired
            | Alert::UnknownCA,
        ) => {
            "the API server refused the client certificate of the kubeconfig user (expired, or signed by a CA \
             it does not trust); check users[].user.client-certificate-data"
        }
        _ => return None,
    })
}

/// An error and its causes on one line (`a: b: c`), without repeats.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

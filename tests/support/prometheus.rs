//! A real Prometheus server (Debian's `prometheus` package) with history
//! the test wrote: OpenMetrics text backfilled into a TSDB with
//! `promtool tsdb create-blocks-from openmetrics`, then served on a free
//! port, optionally behind Prometheus's own basic auth (`--web.config.file`).
//! Readiness is Prometheus's "Server is ready" log line, not a sleep.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where Debian installs the server and its tool (`scripts/install-test-deps`).
pub const PROMETHEUS: &str = "/usr/bin/prometheus";
/// `promtool`, from the same package.
pub const PROMTOOL: &str = "/usr/bin/promtool";

/// The basic-auth user the web config accepts, and its password.
pub const USER: &str = "ke";
/// The password of [`USER`]; its bcrypt hash (cost 4, to keep requests cheap) is in the web config.
pub const PASSWORD: &str = "ke-test-password";
const PASSWORD_BCRYPT: &str = "$2b$04$ftfvVadLW2NuKlxhucCp5e4R.HKwPV6zBaA63ZyUeMswoQki4v/v.";

/// Series history in OpenMetrics text: gauges sampled at given times.
#[derive(Default)]
pub struct History {
    /// family name → series (labels as written) → samples (unix seconds, value).
    families: BTreeMap<String, BTreeMap<String, Vec<(i64, f64)>>>,
}

impl History {
    /// Adds one series of a gauge family, sampled every `step` seconds from
    /// `from` to `to` (inclusive) with `value(t)`; `None` leaves a sample out.
    pub fn gauge(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        (from, to, step): (i64, i64, i64),
        value: impl Fn(i64) -> Option<f64>,
    ) -> &mut Self {
        let mut text = String::new();
        for (i, (k, v)) in labels.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(text, "{sep}{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
        }
        let samples = self.families.entry(name.to_string()).or_default().entry(text).or_default();
        let mut t = from;
        while t <= to {
            if let Some(v) = value(t) {
                samples.push((t, v));
            }
            t += step;
        }
        self
    }

    /// The OpenMetrics exposition, `# EOF` included.
    pub fn openmetrics(&self) -> String {
        let mut out = String::new();
        for (name, series) in &self.families {
            let _ = writeln!(out, "# TYPE {name} gauge");
            for (labels, samples) in series {
                for (t, v) in samples {
                    let _ = writeln!(out, "{name}{{{labels}}} {v} {t}");
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

/// A running Prometheus; stopped when dropped.
pub struct PromServer {
    /// `http://127.0.0.1:PORT` (`https://` with TLS).
    pub base: String,
    /// With TLS: the PEM file of the test CA that signed the server's certificate.
    pub ca_file: Option<std::path::PathBuf>,
    child: Child,
    log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl PromServer {
    /// Backfills `history` and serves it; with `basic_auth`, every request
    /// needs [`USER`] and [`PASSWORD`].
    pub fn start(history: &History, basic_auth: bool) -> PromServer {
        Self::start_with(history, basic_auth, false)
    }

    /// As [`start`](Self::start), serving HTTPS (`tls_server_config` in the
    /// web config) with a certificate for 127.0.0.1 from a CA made for this
    /// server ([`ca_file`](Self::ca_file)), and basic auth.
    pub fn start_tls(history: &History) -> PromServer {
        Self::start_with(history, true, true)
    }

    fn start_with(history: &History, basic_auth: bool, tls: bool) -> PromServer {
        for binary in [PROMETHEUS, PROMTOOL] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: the PromQL tests need Debian's `prometheus` package; run scripts/install-test-deps"
            );
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("history.om");
        std::fs::write(&data, history.openmetrics()).expect("write the history");
        let tsdb = dir.path().join("tsdb");
        let out = Command::new(PROMTOOL)
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&data)
            .arg(&tsdb)
            .output()
            .expect("promtool runs");
        assert!(
            out.status.success(),
            "promtool could not backfill the history: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 1m\n").expect("write the config");
        let mut web_config = String::new();
        if basic_auth {
            web_config.push_str(&format!("basic_auth_users:\n  {USER}: '{PASSWORD_BCRYPT}'\n"));
        }
        let ca_file = tls.then(|| {
            let (cert, key, ca) = test_certificate();
            let (cert_path, key_path, ca_path) =
                (dir.path().join("tls.crt"), dir.path().join("tls.key"), dir.path().join("ca.crt"));
            for (path, pem) in [(&cert_path, cert), (&key_path, key), (&ca_path, ca)] {
                std::fs::write(path, pem).expect("write a TLS file");
            }
            web_config.push_str(&format!(
                "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
                cert_path.display(),
                key_path.display()
            ));
            ca_path
        });
        let web = (!web_config.is_empty()).then(|| {
            let path = dir.path().join("web.yml");
            std::fs::write(&path, &web_config).expect("web config");
            path
        });
        let scheme = if tls { "https" } else { "http" };
        // A port taken between probing and binding makes Prometheus exit; try another.
        let mut last = String::new();
        for _ in 0..3 {
            match Self::serve(&config, &tsdb, web.as_deref(), scheme) {
                Ok((base, child, log)) => return PromServer { base, ca_file, child, log, _dir: dir },
                Err(log) => last = log,
            }
        }
        panic!("Prometheus did not start:\n{last}");
    }

    fn serve(
        config: &Path,
        tsdb: &Path,
        web: Option<&Path>,
        scheme: &str,
    ) -> Result<(String, Child, Arc<Mutex<String>>), String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut command = Command::new(PROMETHEUS);
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=3650d")
            .arg("--log.level=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(web) = web {
            command.arg(format!("--web.config.file={}", web.display()));
        }
        let mut child = command.spawn().expect("prometheus starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let ready = line.contains("Server is ready to receive web requests");
                sink.lock().expect("log lock").push_str(&format!("{line}\n"));
                if ready {
                    let _ = ready_tx.send(true);
                }
            }
            // Prometheus exited (or closed stderr) before saying it was ready.
            let _ = ready_tx.send(false);
        });
        match ready_rx.recv_timeout(Duration::from_secs(120)) {
            Ok(true) => Ok((format!("{scheme}://127.0.0.1:{port}"), child, log)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err(log.lock().expect("log lock").clone())
            }
        }
    }

    /// What Prometheus logged so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }
}

/// A server certificate for 127.0.0.1, its key, and the CA that signed it (PEM).
pub fn test_certificate() -> (String, String, String) {
    let t = super::tls::localhost();
    (t.cert.pem(), t.key.serialize_pem(), t.ca_pem)
}

impl Drop for PromServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reverse proxy in front of Prometheus that wants a bearer token, as a
/// kube-rbac-proxy or an OAuth proxy does: 401 without the right
/// `Authorization: Bearer …`, otherwise the request passed on as it is.
pub struct BearerProxy {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    _runtime: tokio::runtime::Runtime,
}

impl BearerProxy {
    /// Serves on a free port, passing authorised requests to `upstream`.
    pub fn start(upstream: &str, token: &str) -> BearerProxy {
        use bytes::Bytes;
        use http_body_util::{BodyExt, Full};
        use hyper_util::rt::{TokioExecutor, TokioIo};
        use hyper_util::server::conn::auto::Builder as ConnBuilder;

        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let expected = format!("Bearer {token}");
        let upstream = upstream.to_string();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let client = reqwest::Client::new();
            loop {
                let Ok((socket, _)) = listener.accept().await else { continue };
                let (client, upstream, expected) = (client.clone(), upstream.clone(), expected.clone());
                let handler = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (client, upstream, expected) = (client.clone(), upstream.clone(), expected.clone());
                    async move {
                        let (parts, body) = req.into_parts();
                        let authorised =
                            parts.headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
                        if !authorised {
                            return http::Response::builder()
                                .status(401)
                                .body(Full::new(Bytes::from("Unauthorized\n")))
                                .map_err(|e| std::io::Error::other(e.to_string()));
                        }
                        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let path = parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
                        let mut request = client.request(parts.method.clone(), format!("{upstream}{path}")).body(body);
                        if let Some(ct) = parts.headers.get("content-type") {
                            request = request.header("content-type", ct.clone());
                        }
                        let (status, text) = match request.send().await {
                            Ok(r) => (r.status().as_u16(), r.bytes().await.unwrap_or_default()),
                            Err(e) => (502, Bytes::from(e.to_string())),
                        };
                        http::Response::builder()
                            .status(status)
                            .header("content-type", "application/json")
                            .body(Full::new(text))
                            .map_err(|e| std::io::Error::other(e.to_string()))
                    }
                });
                tokio::spawn(async move {
                    let _ =
                        ConnBuilder::new(TokioExecutor::new()).serve_connection(TokioIo::new(socket), handler).await;
                });
            }
        });
        BearerProxy { base, _runtime: runtime }
    }
}

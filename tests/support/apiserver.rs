//! An in-process fake Kubernetes API server: real TLS, bearer-token auth, paginated lists,
//! selectors, pod logs, probes, metrics, the kubelet summary and server-side apply, served
//! from a snapshot (docs/snapshot-format.md), with faults a test can plant.
//!
//! ```ignore
//! let server = FakeApiServer::start(FakeCluster::from_snapshot("tests/fixtures/apiserver"), Options::default());
//! server.kubeconfig(&kubeconfig_path);
//! ```

mod cluster;
mod discovery;
mod faults;
mod health;
mod jobs;
mod kubeconfig;
mod kubelet;
mod list;
mod logs;
mod objects;
mod reply;
mod resources;
mod routes;
mod selectors;
mod service;
mod state;
mod stats;
mod tls;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

// Each including test uses a different subset of these.
#[allow(unused_imports)]
pub use self::{
    cluster::FakeCluster,
    faults::Faults,
    health::GIT_VERSION,
    jobs::{Jobs, PodScript},
    kubeconfig::CONTEXT,
    list::EXPIRED_MESSAGE,
    reply::USER,
    state::Applied,
    stats::{LoggedRequest, Stats},
};

use state::Shared;

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Options {
    /// The bearer token every request must carry.
    pub token: String,
    /// Faults planted from the start.
    pub faults: Faults,
    /// Serve plain `http://` instead of TLS, as `kubectl proxy` does.
    pub plain_http: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { token: "kubeeye-test-token".into(), faults: Faults::default(), plain_http: false }
    }
}

/// A running fake API server on `https://127.0.0.1:PORT` (or `http://` with
/// [`Options::plain_http`]); stops when dropped.
pub struct FakeApiServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    ca_pem: String,
    plain_http: bool,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeApiServer {
    /// Starts serving `cluster` on its own thread and runtime; returns once the port listens.
    pub fn start(cluster: FakeCluster, options: Options) -> Self {
        let pki = tls::issue(&cluster.health);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("make the listener non-blocking for tokio");
        let addr = listener.local_addr().expect("listener has an address");
        let shared = Arc::new(Shared::new(cluster, options.faults, options.token));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-apiserver-worker")
            .enable_all()
            .build()
            .expect("build the fake API server's runtime");
        let (shutdown, stop) = oneshot::channel();
        let served = shared.clone();
        let acceptor = (!options.plain_http).then(|| TlsAcceptor::from(pki.server_config));
        let thread = std::thread::Builder::new()
            .name("fake-apiserver".into())
            .spawn(move || {
                runtime.block_on(serve(listener, acceptor, served, stop));
                // Hung requests never finish on their own; do not wait for them.
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .expect("spawn the fake API server thread");
        Self {
            shared,
            addr,
            ca_pem: pki.ca_pem,
            plain_http: options.plain_http,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `https://127.0.0.1:PORT`, or `http://` for a plain-http server.
    pub fn url(&self) -> String {
        let scheme = if self.plain_http { "http" } else { "https" };
        format!("{scheme}://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token the server accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The CA that signed the serving certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A CA that signed nothing this server serves, for "wrong CA" tests.
    pub fn unrelated_ca_pem() -> String {
        tls::unrelated_ca_pem()
    }

    /// The kubeconfig for this server (context [`CONTEXT`], the CA inline
    /// unless plain http, the token).
    pub fn kubeconfig_yaml(&self) -> String {
        let ca = (!self.plain_http).then_some(self.ca_pem.as_str());
        kubeconfig::render(&self.url(), ca, self.token())
    }

    /// Writes [`Self::kubeconfig_yaml`] to `path`.
    pub fn kubeconfig(&self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        std::fs::write(path, self.kubeconfig_yaml())
            .unwrap_or_else(|e| panic!("cannot write kubeconfig {}: {e}", path.display()));
    }

    /// Requests, body bytes and the request log so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats.snapshot()
    }

    /// Forgets the requests so far.
    pub fn reset_stats(&self) {
        self.shared.stats.reset();
    }

    /// Objects received by server-side apply, in order.
    pub fn applied(&self) -> Vec<Applied> {
        self.shared.writes().applied.clone()
    }

    /// Objects deleted, in order, as they were before deletion.
    pub fn deleted(&self) -> Vec<Value> {
        self.shared.writes().deleted.clone()
    }

    /// The planted faults, to read or change while the server runs. Do not hold the guard
    /// across a request: every request reads the faults.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.shared.faults()
    }

    /// The Jobs namespace (`kubeeye-node-checks` unless changed): its Jobs, pods and the
    /// per-node pod scripts. Do not hold the guard across a request.
    pub fn jobs(&self) -> MutexGuard<'_, Jobs> {
        self.shared.jobs()
    }

    /// Replaces the planted faults.
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults() = faults;
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("register the listener with tokio");
    loop {
        let (tcp, _) = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(_) => continue,
            },
        };
        // Small Status answers should not wait for Nagle.
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(service::handle(shared, request).await) }
            });
            let builder = Builder::new(TokioExecutor::new());
            match acceptor {
                Some(acceptor) => {
                    // A failed handshake (a client that does not trust the CA) is the client's error to report.
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                }
                None => {
                    let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                }
            }
        });
    }
}

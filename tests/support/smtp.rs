//! A real SMTP server: mailin-embedded on 127.0.0.1 in a background thread,
//! keeping every message it accepts so tests can parse it (mail-parser).
//! Optionally offers STARTTLS with a certificate from a fresh CA and AUTH
//! PLAIN/LOGIN with one account.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use mailin_embedded::{AuthMechanism, Handler, Response, Server, SslConfig, response};

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope sender.
    pub from: String,
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The message as sent (headers and body).
    pub data: Vec<u8>,
}

#[derive(Clone)]
struct Capture {
    messages: Arc<Mutex<Vec<Received>>>,
    account: Option<(String, String)>,
    current: Option<Received>,
}

impl Handler for Capture {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received { from: from.to_string(), to: to.to_vec(), data: Vec::new() });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(m) = &mut self.current {
            m.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(m) = self.current.take() {
            self.messages.lock().expect("lock").push(m);
        }
        response::OK
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        self.check(user, password)
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        self.check(user, password)
    }
}

impl Capture {
    fn check(&self, user: &str, password: &str) -> Response {
        match &self.account {
            Some((u, p)) if u == user && p == password => response::AUTH_OK,
            _ => response::INVALID_CREDENTIALS,
        }
    }
}

/// A running server.
pub struct SmtpServer {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// With TLS: the PEM file of the CA that signed the server certificate.
    pub ca_file: Option<PathBuf>,
    messages: Arc<Mutex<Vec<Received>>>,
    _dir: Option<tempfile::TempDir>,
}

impl SmtpServer {
    /// A plain server (no TLS, no authentication), like an in-cluster relay.
    pub fn start() -> SmtpServer {
        Self::launch(None, None)
    }

    /// A server offering STARTTLS (certificate for 127.0.0.1 from a fresh CA)
    /// and AUTH for one account.
    pub fn start_tls(user: &str, password: &str) -> SmtpServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let super::tls::LocalCert { cert, key, ca_pem } = super::tls::localhost();
        let (cert_path, key_path, ca_path) =
            (dir.path().join("tls.crt"), dir.path().join("tls.key"), dir.path().join("ca.crt"));
        std::fs::write(&cert_path, cert.pem()).expect("write");
        std::fs::write(&key_path, key.serialize_pem()).expect("write");
        std::fs::write(&ca_path, ca_pem).expect("write");
        let ssl = SslConfig::SelfSigned {
            cert_path: cert_path.display().to_string(),
            key_path: key_path.display().to_string(),
        };
        let mut server = Self::launch(Some(ssl), Some((user.to_string(), password.to_string())));
        server.ca_file = Some(ca_path);
        server._dir = Some(dir);
        server
    }

    /// A server speaking TLS from the first byte (SMTPS, port 465 style): a
    /// TLS front (certificate for 127.0.0.1 from a fresh CA) on a plain server.
    pub fn start_implicit_tls() -> SmtpServer {
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        let plain = Self::launch(None, None);
        let dir = tempfile::tempdir().expect("temp dir");
        let super::tls::LocalCert { cert, key, ca_pem } = super::tls::localhost();
        let ca_path = dir.path().join("ca.crt");
        std::fs::write(&ca_path, ca_pem).expect("write");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("certificate and key match");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("non-blocking");
        let upstream = plain.port;
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                while let Ok((tcp, _)) = listener.accept().await {
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                        let Ok(mut plain) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else {
                            return;
                        };
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    });
                }
            });
        });
        SmtpServer { port, ca_file: Some(ca_path), messages: plain.messages, _dir: Some(dir) }
    }

    fn launch(ssl: Option<SslConfig>, account: Option<(String, String)>) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let handler = Capture { messages: messages.clone(), account: account.clone(), current: None };
        let mut server = Server::new(handler);
        server.with_name("smtp.kubeeye.test").with_tcp_listener(listener);
        if let Some(ssl) = ssl {
            server.with_ssl(ssl).expect("tls");
        }
        if account.is_some() {
            server.with_auth(AuthMechanism::Plain).with_auth(AuthMechanism::Login);
        }
        // Runs until the test process exits.
        std::thread::spawn(move || {
            if let Err(e) = server.serve() {
                eprintln!("test SMTP server stopped: {e}");
            }
        });
        SmtpServer { port, ca_file: None, messages, _dir: None }
    }

    /// Messages accepted so far.
    pub fn messages(&self) -> Vec<Received> {
        self.messages.lock().expect("lock").clone()
    }
}

/// A port on 127.0.0.1 where nothing listens: connections are refused.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// How a hostile SMTP server answers.
#[derive(Debug, Clone, Copy)]
pub enum Flood {
    /// A greeting that never ends: `220 ` and then bytes without a line end.
    EndlessGreeting,
    /// A proper greeting, then an EHLO reply that never ends.
    EndlessEhloReply,
}

/// A server on 127.0.0.1 that floods every client as `flood` says, until the
/// client hangs up; returns the port and a counter of the bytes it sent.
pub fn start_flooding(flood: Flood) -> (u16, Arc<std::sync::atomic::AtomicU64>) {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::{AtomicU64, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let counter = counter.clone();
            std::thread::spawn(move || {
                let chunk = vec![b'a'; 64 << 10];
                let prefix: &[u8] = match flood {
                    Flood::EndlessGreeting => b"220 ",
                    Flood::EndlessEhloReply => {
                        if stream.write_all(b"220 flood.kubeeye.test ESMTP\r\n").is_err() {
                            return;
                        }
                        let mut ehlo = String::new();
                        let Ok(reader) = stream.try_clone() else { return };
                        if BufReader::new(reader).read_line(&mut ehlo).is_err() {
                            return;
                        }
                        b"250-"
                    }
                };
                if stream.write_all(prefix).is_err() {
                    return;
                }
                // Until ke hangs up.
                while stream.write_all(&chunk).is_ok() {
                    counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
            });
        }
    });
    (port, sent)
}

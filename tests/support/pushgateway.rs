//! A real Prometheus Pushgateway (Debian's `prometheus-pushgateway`, installed
//! by scripts/install-test-deps), started on 127.0.0.1 with basic auth for one
//! user and no persistence; stopped when dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user the Pushgateway accepts.
pub const USER: &str = "kubeeye";
/// Its password.
pub const PASSWORD: &str = "push-pass";
/// bcrypt (cost 4) of [`PASSWORD`], as the Pushgateway's web config wants it.
const PASSWORD_BCRYPT: &str = "$2b$04$ZnKqJC9NDn1GqxMmM6IwWORPlxSSVGBOWFpVQcj9KD66p384xorFy";

/// A running Pushgateway.
pub struct Pushgateway {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Pushgateway {
    /// Starts the Pushgateway and returns once it answers `/-/ready`.
    pub fn start() -> Pushgateway {
        let binary = "/usr/bin/prometheus-pushgateway";
        assert!(
            std::path::Path::new(binary).exists(),
            "{binary} is missing: run scripts/install-test-deps (Debian package prometheus-pushgateway)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let web = dir.path().join("web.yml");
        std::fs::write(&web, format!("basic_auth_users:\n  {USER}: {PASSWORD_BCRYPT}\n")).expect("web config");
        // A free port: bound, read, released; the Pushgateway binds it next.
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let child = Command::new(binary)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--web.config.file={}", web.display()))
            .arg("--persistence.file=")
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the Pushgateway starts");
        let gateway = Pushgateway { url: format!("http://127.0.0.1:{port}"), child, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while gateway.get("/-/ready").is_none() {
            assert!(Instant::now() < deadline, "the Pushgateway did not become ready on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        gateway
    }

    /// `GET path` with the credentials; the body of a 200 answer.
    pub fn get(&self, path: &str) -> Option<String> {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).ok()?;
        let auth = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{USER}:{PASSWORD}"));
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\n\r\n").ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        let (head, body) = answer.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.0 200")
            .then(|| body.to_string())
            .or_else(|| head.starts_with("HTTP/1.1 200").then(|| body.to_string()))
    }

    /// Every sample of `/metrics` named `name`: its labels and value.
    pub fn samples(&self, name: &str) -> Vec<(String, f64)> {
        let text = self.get("/metrics").unwrap_or_default();
        parse_samples(&text, name)
    }
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The samples named `name` in a text exposition: `{labels}` and value.
pub fn parse_samples(text: &str, name: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            let (labels, value) = match rest.strip_prefix('{') {
                Some(r) => {
                    let (labels, value) = r.rsplit_once("} ")?;
                    (labels.to_string(), value)
                }
                None => (String::new(), rest.strip_prefix(' ')?),
            };
            Some((labels, value.trim().parse().ok()?))
        })
        .collect()
}

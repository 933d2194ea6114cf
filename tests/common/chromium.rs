//! Headless Chromium (Debian's `/usr/bin/chromium`, or the browser binary
//! `KE_CHROMIUM` names) driven over the DevTools protocol with a plain
//! WebSocket, for tests that open a report the way an administrator does and
//! look at what the page did.
//!
//! Chromium starts on a fresh profile with remote debugging on a port it
//! picks (`--remote-debugging-port=0`, read back from the `DevTools listening
//! on ws://…` line it prints on stderr once it listens), without the
//! background networking that this machine's closed network refuses. One
//! page target is attached in flattened mode, so every command goes over the
//! browser's single socket. JavaScript dialogs (`alert`) are
//! recorded and dismissed so a page that opens one cannot hang the test.
//! The whole process group is killed on drop.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// Where Debian installs Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The environment variable naming another Chromium binary.
pub const CHROMIUM_ENV: &str = "KE_CHROMIUM";
/// How long one protocol answer or event may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A running headless Chromium with one attached page.
pub struct Chromium {
    child: Child,
    profile: tempfile::TempDir,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    session: String,
    /// Events received and not yet consumed, oldest first.
    pub events: Vec<Value>,
    /// Messages of JavaScript dialogs the page opened (each was dismissed).
    pub dialogs: Vec<String>,
    /// Uncaught exceptions the page threw.
    pub exceptions: Vec<String>,
}

impl Chromium {
    /// Starts Chromium and attaches to a blank page with the Page, Runtime
    /// and Log domains enabled. Fails, naming the install script and
    /// `KE_CHROMIUM`, when Chromium is not installed.
    pub fn launch() -> Chromium {
        let binary = binary();
        assert!(
            binary.exists(),
            "{} is missing: the HTML report test needs Chromium; run scripts/install-test-deps \
             (Debian's chromium) or set {CHROMIUM_ENV} to a Chromium binary",
            binary.display()
        );
        let profile = tempfile::tempdir().expect("temp dir");
        let log = std::fs::File::create(profile.path().join("chromium.log")).expect("log file");
        let mut child = Command::new(&binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().join("profile").display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Its own process group, so drop can end the renderers and helpers with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", binary.display()));
        let endpoint = watch_stderr(child.stderr.take().expect("piped stderr"), log);
        let mut browser = PartialChromium { child: Some(child), profile: Some(profile) };
        let url = browser.devtools_endpoint(&endpoint);
        let port = url.port().expect("DevTools URL has a port");
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to DevTools");
        stream.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
        let (ws, _) =
            tungstenite::client(url.as_str(), stream).map_err(|e| e.to_string()).expect("DevTools WebSocket handshake");
        let (child, profile) = browser.take();
        let mut chromium = Chromium {
            child,
            profile,
            ws,
            next_id: 0,
            session: String::new(),
            events: Vec::new(),
            dialogs: Vec::new(),
            exceptions: Vec::new(),
        };
        let target = chromium.browser_call("Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().expect("targetId").to_string();
        let attached = chromium.browser_call("Target.attachToTarget", json!({"targetId": target_id, "flatten": true}));
        chromium.session = attached["sessionId"].as_str().expect("sessionId").to_string();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            chromium.call(domain, json!({}));
        }
        chromium
    }

    /// Sends a command to the page and returns its result.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(method, params, Some(&session))
    }

    fn browser_call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, None)
    }

    fn post(&mut self, method: &str, params: Value, session: Option<&str>) -> u64 {
        self.next_id += 1;
        let mut message = json!({"id": self.next_id, "method": method, "params": params});
        if let Some(s) = session {
            message["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(message.to_string())).unwrap_or_else(|e| panic!("send {method}: {e}"));
        self.next_id
    }

    fn send(&mut self, method: &str, params: Value, session: Option<&str>) -> Value {
        let id = self.post(method, params, session);
        loop {
            let Some(message) = self.receive(method) else { continue };
            if message["id"].as_u64() == Some(id) {
                if let Some(error) = message.get("error") {
                    panic!("{method} failed: {error}");
                }
                return message["result"].clone();
            }
        }
    }

    /// Reads one message: an answer is returned, an event recorded (a dialog
    /// also dismissed) and `None` returned.
    fn receive(&mut self, waiting_for: &str) -> Option<Value> {
        let started = Instant::now();
        loop {
            let frame = match self.ws.read() {
                Ok(frame) => frame,
                Err(e) => {
                    let seen: Vec<&str> = self.events.iter().filter_map(|e| e["method"].as_str()).collect();
                    panic!(
                        "no answer from Chromium while waiting for {waiting_for} ({:?}): {e}\nevents so far: {seen:?}\nchromium's stderr:\n{}",
                        started.elapsed(),
                        self.stderr()
                    );
                }
            };
            let Message::Text(text) = frame else { continue };
            let message: Value = serde_json::from_str(text.as_str()).expect("DevTools sends JSON");
            match message["method"].as_str() {
                Some("Page.javascriptDialogOpening") => {
                    self.dialogs.push(message["params"]["message"].as_str().unwrap_or_default().to_string());
                    // Answer without waiting: the page is blocked until the dialog is gone.
                    let session = self.session.clone();
                    self.post("Page.handleJavaScriptDialog", json!({"accept": false}), Some(&session));
                }
                Some("Runtime.exceptionThrown") => {
                    self.exceptions.push(message["params"]["exceptionDetails"].to_string());
                }
                Some(_) => self.events.push(message),
                None => return Some(message),
            }
            return None;
        }
    }

    /// Waits for an event (`Page.loadEventFired` …) and consumes it.
    pub fn wait_event(&mut self, method: &str) -> Value {
        loop {
            if let Some(at) = self.events.iter().position(|e| e["method"] == method) {
                return self.events.remove(at);
            }
            // An answer nobody waits for (a dialog dismissal) is dropped.
            let _ = self.receive(method);
        }
    }

    /// Opens a URL and waits for its load event.
    pub fn navigate(&mut self, url: &str) {
        self.events.clear();
        let result = self.call("Page.navigate", json!({"url": url}));
        assert!(result.get("errorText").is_none(), "navigating to {url}: {result}");
        self.wait_event("Page.loadEventFired");
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call("Runtime.evaluate", json!({"expression": expression, "returnByValue": true, "awaitPromise": true}));
        if let Some(details) = result.get("exceptionDetails") {
            panic!("{expression} threw: {details}");
        }
        result["result"]["value"].clone()
    }

    /// Console and browser log entries of a level (`error`, `warning` …) so far.
    pub fn log_entries(&self, level: &str) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["method"] == "Log.entryAdded" && e["params"]["entry"]["level"] == level)
            .map(|e| e["params"]["entry"]["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Sets the viewport size in CSS pixels.
    pub fn viewport(&mut self, width: u32, height: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
    }

    /// A PNG screenshot of the viewport.
    pub fn screenshot(&mut self) -> Vec<u8> {
        use base64::Engine;
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().expect("data")).expect("base64 PNG")
    }

    /// Presses and releases one key (`Backspace`, `Enter` …) with its Windows key code.
    pub fn key(&mut self, key: &str, code: u32) {
        for kind in ["rawKeyDown", "keyUp"] {
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code}),
            );
        }
    }

    /// Chromium's own stderr so far, for failure messages.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.profile.path().join("chromium.log")).unwrap_or_default()
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// A starting Chromium that is not attached yet: still killed if the start fails.
struct PartialChromium {
    child: Option<Child>,
    profile: Option<tempfile::TempDir>,
}

impl PartialChromium {
    /// Waits for the DevTools WebSocket URL Chromium prints once it listens.
    fn devtools_endpoint(&mut self, endpoint: &mpsc::Receiver<url::Url>) -> url::Url {
        let log = || {
            let path = self.profile.as_ref().expect("profile").path().join("chromium.log");
            std::fs::read_to_string(path).unwrap_or_default()
        };
        match endpoint.recv_timeout(TIMEOUT) {
            Ok(url) => url,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("chromium did not open DevTools within {TIMEOUT:?}:\n{}", log())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Its stderr closed without the line: it is exiting.
                let status = self.child.as_mut().expect("child").wait().expect("wait for chromium");
                panic!("chromium exited ({status}) before opening DevTools:\n{}", log())
            }
        }
    }

    fn take(&mut self) -> (Child, tempfile::TempDir) {
        (self.child.take().expect("child"), self.profile.take().expect("profile"))
    }
}

impl Drop for PartialChromium {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            kill_group(child);
        }
    }
}

/// Copies Chromium's stderr into `log` line by line, on a thread of its own
/// that drains the pipe as long as Chromium writes to it, and sends the URL of
/// the first `DevTools listening on ws://…` line.
fn watch_stderr(stderr: std::process::ChildStderr, mut log: std::fs::File) -> mpsc::Receiver<url::Url> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        // Bytes, not `lines()`: a line that is not UTF-8 must not stop the draining.
        for line in BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line);
            let _ = writeln!(log, "{line}");
            if let Some(url) = line.strip_prefix("DevTools listening on ").and_then(|u| url::Url::parse(u.trim()).ok())
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(url);
            }
        }
    });
    rx
}

/// The Chromium binary: `KE_CHROMIUM` when set, else Debian's.
fn binary() -> PathBuf {
    std::env::var_os(CHROMIUM_ENV).filter(|v| !v.is_empty()).map_or_else(|| PathBuf::from(CHROMIUM), PathBuf::from)
}

/// Ends Chromium and every process it started (they share its process group).
fn kill_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
    let _ = child.kill();
    let _ = child.wait();
}

/// Checks PNG magic and reads the image size from the IHDR chunk.
pub fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.len() < 24 || &png[..8] != b"\x89PNG\r\n\x1a\n" || &png[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&png[16..20]), be(&png[20..24])))
}

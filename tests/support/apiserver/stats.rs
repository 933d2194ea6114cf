//! What the fake served: request count, body bytes and a request log.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// HTTP method.
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// HTTP status answered; `None` for a request held open by a `hang` fault.
    pub status: Option<u16>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Requests received (including unauthenticated and hung ones).
    pub requests: u64,
    /// Response body bytes sent.
    pub body_bytes: u64,
    /// Every request, in the order answered.
    pub log: Vec<LoggedRequest>,
}

impl Stats {
    /// Logged requests whose path starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<&LoggedRequest> {
        self.log.iter().filter(|r| r.path.starts_with(prefix)).collect()
    }
}

/// The live counters, shared by every connection.
#[derive(Debug, Default)]
pub struct Recorder {
    requests: AtomicU64,
    body_bytes: AtomicU64,
    log: Mutex<Vec<LoggedRequest>>,
}

impl Recorder {
    /// Counts a request on arrival.
    pub fn arrived(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Logs a request once its fate is known.
    pub fn answered(&self, method: &str, path: &str, status: Option<u16>, body_bytes: usize) {
        self.body_bytes.fetch_add(body_bytes as u64, Ordering::Relaxed);
        let entry = LoggedRequest { method: method.into(), path: path.into(), status };
        self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(entry);
    }

    /// The counters now.
    pub fn snapshot(&self) -> Stats {
        Stats {
            requests: self.requests.load(Ordering::Relaxed),
            body_bytes: self.body_bytes.load(Ordering::Relaxed),
            log: self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone(),
        }
    }

    /// Starts counting afresh (between benchmark iterations).
    pub fn reset(&self) {
        self.requests.store(0, Ordering::Relaxed);
        self.body_bytes.store(0, Ordering::Relaxed);
        self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}

//! A server that accepts TCP connections and never says a word: what a hung
//! S3 endpoint (or a black-holing proxy) looks like to a client.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// A running silent server; it stops when the test's runtime ends.
pub struct SilentServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    first: Arc<OnceLock<Instant>>,
}

impl SilentServer {
    /// Starts listening on 127.0.0.1; every connection is accepted and held open, unread.
    pub async fn start() -> SilentServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let first = Arc::new(OnceLock::new());
        let first_seen = first.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                first_seen.get_or_init(Instant::now);
                held.push(socket);
            }
        });
        SilentServer { endpoint, first }
    }

    /// When the first connection was accepted, if one was.
    pub fn first_accepted_at(&self) -> Option<Instant> {
        self.first.get().copied()
    }
}

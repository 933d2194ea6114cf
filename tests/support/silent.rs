//! A server that accepts TCP connections and never says a word: what a hung
//! S3 endpoint (or a black-holing proxy) looks like to a client.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running silent server; it stops when the test's runtime ends.
pub struct SilentServer {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    accepted: Arc<AtomicU32>,
}

impl SilentServer {
    /// Starts listening on 127.0.0.1; every connection is accepted and held open, unread.
    pub async fn start() -> SilentServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let accepted = Arc::new(AtomicU32::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                held.push(socket);
            }
        });
        SilentServer { endpoint, accepted }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u32 {
        self.accepted.load(Ordering::SeqCst)
    }
}

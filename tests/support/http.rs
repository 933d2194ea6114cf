//! A tiny HTTP receiver for webhooks: records every request and answers as
//! scripted, or never answers at all (a hung receiver).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status with this body.
    Status(u16, String),
    /// Nothing, ever: the connection stays open and silent.
    Hang,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `POST`.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The `content-type` header.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl Recorded {
    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// A running receiver.
pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Receiver {
    /// Answers every request with `reply`.
    pub async fn start(reply: Reply) -> Receiver {
        Self::scripted(vec![reply]).await
    }

    /// Answers the n-th request with `replies[n]`, and the last one after that.
    pub async fn scripted(replies: Vec<Reply>) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let replies = Arc::new(replies);
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { continue };
                let (recorded, replies) = (recorded.clone(), replies.clone());
                let handler = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (recorded, replies) = (recorded.clone(), replies.clone());
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let n = {
                            let mut all = recorded.lock().expect("lock");
                            all.push(Recorded {
                                method: parts.method.to_string(),
                                path: parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
                                content_type: parts
                                    .headers
                                    .get("content-type")
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_string),
                                body,
                            });
                            all.len() - 1
                        };
                        let reply =
                            replies.get(n).or(replies.last()).cloned().unwrap_or(Reply::Status(200, String::new()));
                        match reply {
                            Reply::Status(status, text) => http::Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::from(text)))
                                .map_err(|e| std::io::Error::other(e.to_string())),
                            Reply::Hang => std::future::pending().await,
                        }
                    }
                });
                tokio::spawn(async move {
                    let _ =
                        ConnBuilder::new(TokioExecutor::new()).serve_connection(TokioIo::new(socket), handler).await;
                });
            }
        });
        Receiver { base, requests }
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }
}

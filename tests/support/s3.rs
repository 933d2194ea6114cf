//! A real S3 protocol server: s3s over a temporary directory (s3s-fs), on
//! 127.0.0.1, verifying SigV4 signatures (headers and presigned URLs) with
//! one access key. A fault switch answers 500 to the next N requests.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

/// The access key the server accepts.
pub const ACCESS_KEY: &str = "AKIAKUBEEYETEST";
/// Its secret.
pub const SECRET_KEY: &str = "kubeeye-test-secret-key-0123456789";

/// A running server; it stops when the test's runtime ends.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`, for `storage.endpoint` (path style).
    pub endpoint: String,
    root: tempfile::TempDir,
    faults: Arc<AtomicU32>,
    requests: Arc<AtomicU32>,
}

impl S3Server {
    /// Starts a server holding the given (empty) buckets.
    pub async fn start(buckets: &[&str]) -> S3Server {
        let root = tempfile::tempdir().expect("temp dir");
        for bucket in buckets {
            std::fs::create_dir(root.path().join(bucket)).expect("bucket dir");
        }
        let fs = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let faults = Arc::new(AtomicU32::new(0));
        let requests = Arc::new(AtomicU32::new(0));
        let bucket_root = root.path().to_path_buf();
        let (f, r) = (faults.clone(), requests.clone());
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { continue };
                let service = service.clone();
                let (faults, requests, bucket_root) = (f.clone(), r.clone(), bucket_root.clone());
                let handler = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let service = service.clone();
                    let (faults, requests, bucket_root) = (faults.clone(), requests.clone(), bucket_root.clone());
                    async move {
                        requests.fetch_add(1, Ordering::SeqCst);
                        if faults.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                            return Ok(error_response(500, "InternalError", "injected fault"));
                        }
                        if let Some(bucket) = bucket_of(req.uri().path())
                            && !bucket_root.join(&bucket).is_dir()
                        {
                            return Ok(error_response(404, "NoSuchBucket", "The specified bucket does not exist"));
                        }
                        service.call(req.map(s3s::Body::from)).await
                    }
                });
                tokio::spawn(async move {
                    let _ =
                        ConnBuilder::new(TokioExecutor::new()).serve_connection(TokioIo::new(socket), handler).await;
                });
            }
        });
        S3Server { endpoint, root, faults, requests }
    }

    /// Answers the next `n` requests with 500 InternalError.
    pub fn fail_next(&self, n: u32) {
        self.faults.store(n, Ordering::SeqCst);
    }

    /// Requests received so far.
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Every object key in `bucket`, sorted.
    pub fn objects(&self, bucket: &str) -> Vec<String> {
        let base = self.root.path().join(bucket);
        let mut keys = Vec::new();
        walk(&base, &base, &mut keys);
        keys.sort();
        keys
    }

    /// An object's bytes.
    pub fn read(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.root.path().join(bucket).join(key)).ok()
    }

    /// Writes an object behind the tool's back (something else in the bucket).
    pub fn put_foreign(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let path = self.root.path().join(bucket).join(key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(path, bytes).expect("write");
    }
}

/// The bucket of a path-style request (`/bucket/key…`), none for `/`.
fn bucket_of(path: &str) -> Option<String> {
    let first = path.trim_start_matches('/').split('/').next()?;
    (!first.is_empty()).then(|| first.to_string())
}

/// An S3 error document, as S3 sends it.
fn error_response(status: u16, code: &str, message: &str) -> s3s::HttpResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    http::Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(s3s::Body::from(body))
        .expect("response")
}

fn walk(base: &Path, dir: &Path, keys: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path: PathBuf = entry.path();
        if path.is_dir() {
            walk(base, &path, keys);
        } else if let Ok(rel) = path.strip_prefix(base) {
            keys.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

//! Store failures in plain words: which bucket or key, and what went wrong
//! (`bucket kubeeye-reports does not exist (NoSuchBucket)`), plus whether
//! another attempt could help.

use crate::deliver::retry::Retryable;

/// What kind of failure, for callers that act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The storage settings cannot be used (bad URL, half-named credentials).
    Settings,
    /// A local report file could not be read.
    Local,
    /// The bucket (or container) does not exist.
    NoSuchBucket,
    /// The object does not exist.
    NotFound,
    /// The store refused the credentials or the operation.
    Denied,
    /// The store answered with a server error (5xx): worth retrying.
    Server,
    /// The store could not be reached or did not answer in time: worth retrying.
    Network,
    /// An object this tool reads back is not what it wrote.
    Corrupt,
    /// The delivery deadline passed before the store answered.
    Deadline,
    /// Anything else the store said no to.
    Other,
}

/// A failed store operation. The message names the location and the cause,
/// never a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    /// The kind.
    pub kind: StoreErrorKind,
    /// The message.
    pub message: String,
    /// Attempts made before giving up (0 when nothing was sent).
    pub attempts: u32,
}

impl StoreError {
    /// An error of `kind` with `message`.
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        StoreError { kind, message: message.into(), attempts: 0 }
    }

    /// The failed [`Delivery`](crate::deliver::Delivery) (channel `store`) this error amounts to,
    /// for a step whose target is `target` (e.g. [`ReportStore::location`](super::ReportStore::location)).
    pub fn delivery(&self, target: impl Into<String>) -> crate::deliver::Delivery {
        crate::deliver::Delivery {
            channel: "store".into(),
            target: target.into(),
            ok: false,
            attempts: self.attempts,
            detail: self.message.clone(),
        }
    }

    /// Translates an `object_store` error met while doing `action` (`upload`,
    /// `read`, `list`, `delete`) on `location` (`s3://bucket/key`) in `bucket`.
    pub fn from_object_store(e: &object_store::Error, action: &str, location: &str, bucket: &str) -> Self {
        let chain = error_chain(e);
        let code = s3_code(&chain);
        let status = http_status(&chain);
        let code_note = |fallback: Option<u16>| match (&code, fallback) {
            (Some(c), _) => format!(" ({c})"),
            (None, Some(s)) => format!(" (HTTP {s})"),
            (None, None) => String::new(),
        };
        use object_store::Error as E;
        let (kind, message) = match e {
            _ if code.as_deref() == Some("NoSuchBucket") => {
                (StoreErrorKind::NoSuchBucket, format!("bucket {bucket} does not exist (NoSuchBucket)"))
            }
            E::NotFound { .. } => (StoreErrorKind::NotFound, format!("{location} does not exist{}", code_note(None))),
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
                let what = match code.as_deref() {
                    Some("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken" | "InvalidToken") => {
                        format!("the credentials for bucket {bucket} were rejected")
                    }
                    _ => format!("{action} of {location} was denied"),
                };
                (StoreErrorKind::Denied, format!("{what}{}", code_note(status)))
            }
            E::Generic { .. } => match status {
                Some(s) if s >= 500 || s == 429 || s == 408 => (
                    StoreErrorKind::Server,
                    format!("{action} of {location} failed: the store answered HTTP {s}{}", code_note(None)),
                ),
                Some(s) => {
                    (StoreErrorKind::Other, format!("{action} of {location} was refused: HTTP {s}{}", code_note(None)))
                }
                None if is_network(&chain) => (
                    StoreErrorKind::Network,
                    format!("{action} of {location} failed: {}", chain.last().map_or("no answer", String::as_str)),
                ),
                None => (StoreErrorKind::Other, format!("{action} of {location} failed: {}", chain.join(": "))),
            },
            _ => (StoreErrorKind::Other, format!("{action} of {location} failed: {e}")),
        };
        StoreError { kind, message: redact_queries(&message), attempts: 1 }
    }
}

impl Retryable for StoreError {
    fn is_retryable(&self) -> bool {
        matches!(self.kind, StoreErrorKind::Server | StoreErrorKind::Network)
    }
}

/// Drops the query of every URL quoted in `text`: a SAS token or a presigned
/// signature there is a credential, and object_store's messages quote request URLs.
fn redact_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let (before, url) = rest.split_at(start);
        out.push_str(before);
        let end = url.find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>')).unwrap_or(url.len());
        let (url, after) = url.split_at(end);
        match url.find('?') {
            Some(q) => {
                out.push_str(&url[..q]);
                out.push_str("?…");
            }
            None => out.push_str(url),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Every message in the error's source chain, outermost first.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut chain = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    chain
}

/// The S3 error code (`<Code>NoSuchBucket</Code>`) in a response body quoted by the error.
fn s3_code(chain: &[String]) -> Option<String> {
    chain.iter().find_map(|m| {
        let start = m.find("<Code>")? + "<Code>".len();
        let end = m[start..].find("</Code>")? + start;
        Some(m[start..end].to_string())
    })
}

/// The HTTP status quoted by object_store (`… non-2xx status code: 500 Internal Server Error …`).
fn http_status(chain: &[String]) -> Option<u16> {
    chain.iter().find_map(|m| {
        let start = m.find("status code: ")? + "status code: ".len();
        m.get(start..start + 3)?.parse().ok()
    })
}

/// Whether the chain describes a connection or timeout problem rather than an answer.
fn is_network(chain: &[String]) -> bool {
    chain.iter().any(|m| {
        let m = m.to_ascii_lowercase();
        ["connect", "timed out", "timeout", "dns", "connection", "sending request", "broken pipe"]
            .iter()
            .any(|w| m.contains(w))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_are_found_in_quoted_bodies() {
        let chain = vec![
            "Generic S3 error: Error performing PUT http://127.0.0.1:1/b/k in 1ms - Server returned non-2xx status code: 404 Not Found: <?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code></Error>".to_string(),
        ];
        assert_eq!(s3_code(&chain).as_deref(), Some("NoSuchBucket"));
        assert_eq!(http_status(&chain), Some(404));
        assert!(!is_network(&["HTTP 500".to_string()]));
        assert!(is_network(&["tcp connect error".to_string(), "Connection refused (os error 111)".to_string()]));
        assert_eq!(
            redact_queries("GET https://acct.blob.core.windows.net/c/k?sv=1&sig=SECRET failed (see http://x/y)"),
            "GET https://acct.blob.core.windows.net/c/k?… failed (see http://x/y)"
        );
    }
}

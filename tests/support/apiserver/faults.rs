//! Failures a test plants in the fake API server, set at start and changeable while it runs.

use std::time::Duration;

/// Planted failures. Every field is public so a test can also edit them in place through
/// [`super::FakeApiServer::faults`].
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Resources answered 403 Forbidden, by plural (`networkpolicies`), by plural and group
    /// (`nodes.metrics.k8s.io`) or by subresource (`pods/log`, `nodes/proxy`).
    pub forbidden: Vec<String>,
    /// (path prefix, HTTP status): requests whose `path?query` starts with the prefix get
    /// that status as a `Status` object.
    pub fail: Vec<(String, u16)>,
    /// Path prefixes whose requests are never answered; the connection stays open until
    /// the client gives up or the server stops. Other requests are unaffected.
    pub hang: Vec<String>,
    /// Resource plurals whose next list request with a `continue` token is answered
    /// 410 Gone (reason `Expired`). Each entry is used up by the 410 it causes.
    pub expire_continue_once: Vec<String>,
    /// Delay before every answer, to emulate a network.
    pub latency: Duration,
}

impl Faults {
    /// Adds a forbidden resource.
    pub fn forbid(mut self, resource: &str) -> Self {
        self.forbidden.push(resource.into());
        self
    }

    /// Adds a failing path prefix.
    pub fn fail(mut self, path_prefix: &str, status: u16) -> Self {
        self.fail.push((path_prefix.into(), status));
        self
    }

    /// Adds a hanging path prefix.
    pub fn hang(mut self, path_prefix: &str) -> Self {
        self.hang.push(path_prefix.into());
        self
    }

    /// Makes the next continued list of `plural` expire.
    pub fn expire_continue_once(mut self, plural: &str) -> Self {
        self.expire_continue_once.push(plural.into());
        self
    }

    /// Sets the per-request latency.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Whether `resource` (a plural, or `plural/subresource`) of `group` is forbidden.
    pub(super) fn is_forbidden(&self, group: &str, resource: &str) -> bool {
        self.forbidden.iter().any(|f| {
            f == resource
                || (!group.is_empty() && f.strip_suffix(group).and_then(|p| p.strip_suffix('.')) == Some(resource))
        })
    }

    /// The status planted for this request, if any.
    pub(super) fn failure(&self, path_and_query: &str) -> Option<u16> {
        self.fail.iter().find(|(prefix, _)| path_and_query.starts_with(prefix.as_str())).map(|&(_, status)| status)
    }

    /// Whether this request should hang.
    pub(super) fn hangs(&self, path_and_query: &str) -> bool {
        self.hang.iter().any(|prefix| path_and_query.starts_with(prefix.as_str()))
    }

    /// Uses up the continue expiry planted for `plural`; true when there was one.
    pub(super) fn take_expiry(&mut self, plural: &str) -> bool {
        let before = self.expire_continue_once.len();
        if let Some(at) = self.expire_continue_once.iter().position(|p| p == plural) {
            self.expire_continue_once.remove(at);
        }
        self.expire_continue_once.len() < before
    }
}

//! Paginated lists: `limit` and `continue`, restarting a list whose continue
//! token expired (410 Gone), and turning list items into objects.

use serde::Deserialize;
use serde_json::Value;

use super::client::{Api, RequestError, status_error};
use super::resources::Resource;
use crate::inventory::Object;

/// Restarts allowed per list after 410 Gone before giving up.
const MAX_RESTARTS: u32 = 3;

/// One page of a list answer: its items and the token of the next page.
#[derive(Deserialize, Default)]
pub(super) struct ListPage {
    #[serde(default)]
    pub(super) metadata: ListMeta,
    #[serde(default)]
    pub(super) items: Vec<Value>,
}

/// A list answer's metadata: `continue` names the next page.
#[derive(Deserialize, Default)]
pub(super) struct ListMeta {
    #[serde(rename = "continue", default)]
    pub(super) next: Option<String>,
}

/// One page of a list.
#[derive(Debug)]
pub struct Page {
    /// The objects of the page.
    pub objects: Vec<Object>,
    /// The list started over (its continue token expired): objects already
    /// seen may come again.
    pub restarted: bool,
}

/// Walks one list page by page.
pub struct Pager {
    api: Api,
    resource: Resource,
    path: String,
    query: String,
    limit: u32,
    next: Option<String>,
    restarts: u32,
    done: bool,
    restarted: bool,
}

impl Pager {
    /// A pager over `resource` in `namespace` (or cluster-wide), with extra
    /// query parameters such as `fieldSelector=type%3DWarning`.
    pub fn new(api: Api, resource: Resource, namespace: Option<&str>, query: &str, limit: u32) -> Self {
        Pager {
            api,
            path: resource.path(namespace),
            resource,
            query: query.to_string(),
            limit,
            next: None,
            restarts: 0,
            done: false,
            restarted: false,
        }
    }

    /// The next page, `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Page>, RequestError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let mut url = format!("{}?limit={}", self.path, self.limit);
            if !self.query.is_empty() {
                url.push('&');
                url.push_str(&self.query);
            }
            if let Some(token) = &self.next {
                url.push_str("&continue=");
                url.push_str(&encode(token));
            }
            let answer = self.get_retrying(&url).await?;
            if answer.status == 410 && self.next.is_some() && self.restarts < MAX_RESTARTS {
                // The continue token expired: the API server wants a fresh list.
                tracing::info!(
                    resource = self.resource.plural,
                    "continue token expired (410 Gone); restarting the list"
                );
                self.restarts += 1;
                self.next = None;
                self.restarted = true;
                continue;
            }
            if answer.status >= 400 {
                return Err(status_error(&answer));
            }
            let page: ListPage = serde_json::from_slice(&answer.body).map_err(|e| {
                RequestError::Transport(format!("the {} list is not valid JSON: {e}", self.resource.plural))
            })?;
            self.next = page.metadata.next.filter(|t| !t.is_empty());
            self.done = self.next.is_none();
            let api_version = self.resource.api_version();
            let objects =
                page.items.into_iter().filter_map(|item| to_object(item, self.resource.kind, &api_version)).collect();
            let restarted = std::mem::take(&mut self.restarted);
            return Ok(Some(Page { objects, restarted }));
        }
    }
}

impl Pager {
    /// One page request; an overloaded server (429, 503, 504) gets two more tries.
    async fn get_retrying(&self, url: &str) -> Result<super::client::Answer, RequestError> {
        let mut delay = std::time::Duration::from_millis(500);
        for _ in 0..2 {
            let answer = self.api.get(url).await?;
            if !matches!(answer.status, 429 | 503 | 504) {
                return Ok(answer);
            }
            tracing::info!(status = answer.status, url, "API server overloaded; retrying the page");
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        self.api.get(url).await
    }
}

/// An item of a typed list as an object: list items come without `kind` and
/// `apiVersion`, and `managedFields` (large, useless here) is dropped.
pub fn to_object(mut item: Value, kind: &str, api_version: &str) -> Option<Object> {
    crate::inventory::fill_list_item(&mut item, Some(kind), Some(api_version));
    if let Some(Value::Object(meta)) = item.get_mut("metadata") {
        meta.remove("managedFields");
    }
    Object::from_value(item)
}

/// Percent-encodes one URL path segment (RFC 3986 `pchar`): a name from
/// input can never add a segment (`/`), a query (`?`) or a fragment (`#`).
pub fn encode_segment(value: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@!$&'()*+,;=".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Percent-encodes a query value (`application/x-www-form-urlencoded`).
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn items_get_kind_and_lose_managed_fields() {
        let o = to_object(json!({"metadata": {"name": "p", "namespace": "n", "managedFields": [{}]}}), "Pod", "v1")
            .unwrap();
        assert_eq!(o.raw["kind"], "Pod");
        assert!(o.raw["metadata"].get("managedFields").is_none());
        assert_eq!(encode("a b&c=d"), "a+b%26c%3Dd");
    }
}

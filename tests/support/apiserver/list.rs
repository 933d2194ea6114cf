//! List requests: selectors, `limit`/`continue` paging, and pages built by concatenating
//! pre-serialized objects.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::cluster::Collection;
use super::reply::{Denial, Reply};
use super::routes::{Query, Target};
use super::selectors::Selectors;
use super::state::Shared;

/// The message the real server sends when a continue token's resourceVersion was compacted.
pub const EXPIRED_MESSAGE: &str = "The provided continue parameter is too old to display a consistent list result. \
     You can start a new list without the continue parameter.";

/// Answers `GET` on a collection.
pub fn list(shared: &Shared, target: &Target<'_>, query: &Query) -> Reply {
    let (collection, current_rv) = {
        let cluster = shared.cluster();
        match cluster.collection(target.group, target.plural) {
            Some(c) => (c, cluster.resource_version),
            None => return Reply::no_such_resource(),
        }
    };
    let resource = &collection.resource;
    if target.namespace.is_some() && !resource.namespaced {
        return Reply::no_such_resource();
    }
    if shared.faults().is_forbidden(target.group, target.plural) {
        let denial = Denial { verb: "list", resource, subresource: None, namespace: target.namespace, name: None };
        return Reply::forbidden(&denial);
    }
    if query.get("watch").is_some_and(|w| w == "true" || w == "1") {
        return Reply::bad_request("watch is not supported by the fake API server");
    }
    let field_selector = query.get("fieldSelector").unwrap_or_default();
    let label_selector = query.get("labelSelector").unwrap_or_default();
    let selectors = match Selectors::parse(&resource.kind, field_selector, label_selector) {
        Ok(s) => s,
        Err(reason) => {
            return Reply::bad_request(&format!(
                "Unable to find \"{}, Resource={}\" that match label selector \"{label_selector}\", field selector \"{field_selector}\": {reason}",
                resource.api_version(target.version),
                resource.plural
            ));
        }
    };
    let limit = match query.integer("limit") {
        // Like the real server, a limit of zero or less means no limit.
        Ok(l) => l.filter(|&l| l > 0).map(|l| usize::try_from(l).unwrap_or(usize::MAX)),
        Err(message) => return Reply::bad_request(&message),
    };
    let range = collection.range(target.namespace);
    let mut start = range.start;
    let mut rv = current_rv;
    if let Some(token) = query.get("continue").filter(|t| !t.is_empty()) {
        let Some(position) = ContinueToken::decode(token, &collection) else {
            return Reply::bad_request(
                "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
            );
        };
        if shared.faults().take_expiry(target.plural) {
            return Reply::status(410, "Expired", EXPIRED_MESSAGE);
        }
        rv = position.rv;
        start = start.max(collection.after(&position.namespace, &position.name));
    }
    let page = Page::collect(&collection, start..range.end, limit, &selectors);
    let mut metadata = json!({ "resourceVersion": rv.to_string() });
    if let Some(last) = page.continue_after {
        let item = &collection.items[last];
        metadata["continue"] = json!(ContinueToken::encode(rv, item.key()));
        if selectors.is_empty() {
            metadata["remainingItemCount"] = json!(range.end - last - 1);
        }
    }
    let head = format!(
        r#"{{"kind":"{}List","apiVersion":{},"metadata":{},"items":["#,
        resource.kind,
        Value::String(resource.api_version(target.version)),
        metadata
    );
    let size = head.len() + page.indices.iter().map(|&i| collection.items[i].json.len() + 1).sum::<usize>() + 2;
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(head.as_bytes());
    for (n, &i) in page.indices.iter().enumerate() {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&collection.items[i].json);
    }
    body.extend_from_slice(b"]}");
    Reply::json(200, body)
}

/// The objects of one page, by index into the collection.
struct Page {
    indices: Vec<usize>,
    /// Index of the last object sent, when more objects match after it.
    continue_after: Option<usize>,
}

impl Page {
    fn collect(
        collection: &Collection,
        range: std::ops::Range<usize>,
        limit: Option<usize>,
        selectors: &Selectors,
    ) -> Self {
        let matches = |i: &usize| {
            let item = &collection.items[*i];
            selectors.is_empty() || selectors.matches(&item.fields, &item.labels)
        };
        let mut candidates = range.filter(matches);
        let indices: Vec<usize> = match limit {
            Some(limit) => candidates.by_ref().take(limit).collect(),
            None => candidates.by_ref().collect(),
        };
        // A continue token only when another object would follow, so the last page never has one.
        let continue_after = if candidates.next().is_some() { indices.last().copied() } else { None };
        Self { indices, continue_after }
    }
}

/// Where a continued list resumes; encoded like the real server's opaque token.
struct ContinueToken {
    rv: u64,
    namespace: String,
    name: String,
}

impl ContinueToken {
    fn encode(rv: u64, (namespace, name): (&str, &str)) -> String {
        let start = if namespace.is_empty() { format!("{name}\u{0}") } else { format!("{namespace}/{name}\u{0}") };
        let token = json!({ "v": "meta.k8s.io/v1", "rv": rv, "start": start });
        URL_SAFE_NO_PAD.encode(token.to_string())
    }

    fn decode(token: &str, collection: &Collection) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok()?;
        let token: Value = serde_json::from_slice(&bytes).ok()?;
        let rv = token.get("rv")?.as_u64()?;
        let start = token.get("start")?.as_str()?.trim_end_matches('\u{0}');
        let (namespace, name) = if collection.resource.namespaced { start.split_once('/')? } else { ("", start) };
        Some(Self { rv, namespace: namespace.into(), name: name.into() })
    }
}

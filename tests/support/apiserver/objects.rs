//! Requests about one object: `GET`, server-side apply and JSON merge patch (`PATCH`) and `DELETE`.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::cluster::{Collection, Item};
use super::reply::{Denial, Reply};
use super::routes::{Query, Target};
use super::state::{Applied, Shared};

/// The content type of server-side apply.
pub const APPLY_PATCH: &str = "application/apply-patch+yaml";
/// The content type of a JSON merge patch (RFC 7386).
pub const MERGE_PATCH: &str = "application/merge-patch+json";

/// Finds the collection and checks scope and permission; `Err` is the answer to send.
fn resolve(shared: &Shared, target: &Target<'_>, verb: &str) -> Result<Collection, Reply> {
    let collection = shared.cluster().collection(target.group, target.plural).ok_or_else(Reply::no_such_resource)?;
    if collection.resource.namespaced != target.namespace.is_some() {
        return Err(Reply::no_such_resource());
    }
    if shared.faults().is_forbidden(target.group, target.plural) {
        let denial = Denial {
            verb,
            resource: &collection.resource,
            subresource: None,
            namespace: target.namespace,
            name: target.name,
        };
        return Err(Reply::forbidden(&denial));
    }
    Ok(collection)
}

/// `GET` of one object.
pub fn get(shared: &Shared, target: &Target<'_>) -> Reply {
    let collection = match resolve(shared, target, "get") {
        Ok(c) => c,
        Err(reply) => return reply,
    };
    let name = target.name.unwrap_or_default();
    match collection.get(target.namespace, name) {
        Some(item) => Reply::json(200, item.full_json(&collection.resource)),
        None => Reply::not_found(&collection.resource, name),
    }
}

/// `DELETE` of one object: answers the object as it was.
pub fn delete(shared: &Shared, target: &Target<'_>) -> Reply {
    let resource = match resolve(shared, target, "delete") {
        Ok(c) => c.resource,
        Err(reply) => return reply,
    };
    let name = target.name.unwrap_or_default();
    let removed = {
        let mut cluster = shared.cluster_mut();
        let removed =
            cluster.collection_mut(target.group, target.plural).and_then(|c| c.remove(target.namespace, name));
        if removed.is_some() {
            cluster.resource_version += 1;
        }
        removed
    };
    match removed {
        Some(item) => {
            shared.writes().deleted.push(item.value(&resource));
            Reply::json(200, item.full_json(&resource))
        }
        None => Reply::not_found(&resource, name),
    }
}

/// A JSON merge patch of an existing object (`null` deletes a field); 404 when
/// there is none. Not recorded in [`Shared::writes`]: read the object back.
fn merge_patch(shared: &Shared, target: &Target<'_>, body: &[u8]) -> Reply {
    fn merge(target: &mut Value, patch: &Value) {
        let Value::Object(fields) = patch else {
            *target = patch.clone();
            return;
        };
        if !target.is_object() {
            *target = json!({});
        }
        let object = target.as_object_mut().expect("made an object above");
        for (key, value) in fields {
            if value.is_null() {
                object.remove(key);
            } else {
                merge(object.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
    let resource = match resolve(shared, target, "patch") {
        Ok(c) => c.resource,
        Err(reply) => return reply,
    };
    let patch: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Reply::bad_request(&format!("error decoding JSON: {e}")),
    };
    let name = target.name.unwrap_or_default();
    let mut cluster = shared.cluster_mut();
    cluster.resource_version += 1;
    let rv = cluster.resource_version;
    let collection = cluster.collection_mut(target.group, target.plural).expect("resolved above");
    let Some(previous) = collection.get(target.namespace, name).map(|item| item.value(&resource)) else {
        return Reply::not_found(&resource, name);
    };
    let mut object = previous.clone();
    merge(&mut object, &patch);
    stamp(&mut object, Some(&previous), rv);
    let item = Item::new(object, &resource).expect("the name is unchanged");
    let json = item.full_json(&resource);
    collection.upsert(item);
    Reply::json(200, json)
}

/// Server-side apply: create or replace the object, 201 when created, 200 when
/// updated; a JSON merge patch changes an existing object.
pub fn apply(shared: &Shared, target: &Target<'_>, query: &Query, content_type: &str, body: &[u8]) -> Reply {
    if content_type.starts_with(MERGE_PATCH) {
        return merge_patch(shared, target, body);
    }
    if !content_type.starts_with(APPLY_PATCH) {
        return Reply::status(
            415,
            "UnsupportedMediaType",
            &format!(
                "the body of the request was in an unknown format - accepted media types include: {APPLY_PATCH}, {MERGE_PATCH} (the fake supports no other, got {content_type:?})"
            ),
        );
    }
    let resource = match resolve(shared, target, "patch") {
        Ok(c) => c.resource,
        Err(reply) => return reply,
    };
    let Some(field_manager) = query.get("fieldManager").filter(|m| !m.is_empty()) else {
        return Reply::bad_request(
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
        );
    };
    let force = match query.get("force") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Reply::bad_request(&format!("force: Invalid value: \"{other}\": must be true or false")),
    };
    let mut object: Value = match serde_norway::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return Reply::bad_request("error decoding YAML: the object is not a mapping"),
        Err(e) => return Reply::bad_request(&format!("error decoding YAML: {e}")),
    };
    if let Err(message) = check_identity(&mut object, &resource, target) {
        return Reply::bad_request(&message);
    }
    if let Some(ns) = target.namespace
        && !shared.cluster().namespace_exists(ns)
    {
        let namespaces = super::resources::built_in_by_plural("", "namespaces").expect("namespaces is built in");
        return Reply::not_found(&namespaces, ns);
    }
    let name = target.name.unwrap_or_default();
    let (created, item_json) = {
        let mut cluster = shared.cluster_mut();
        cluster.resource_version += 1;
        let rv = cluster.resource_version;
        let collection = cluster.collection_mut(target.group, target.plural).expect("resolved above");
        let previous = collection.get(target.namespace, name).map(|item| item.value(&resource));
        stamp(&mut object, previous.as_ref(), rv);
        let item = Item::new(object.clone(), &resource).expect("the name was checked");
        let json = item.full_json(&resource);
        (collection.upsert(item).is_none(), json)
    };
    let stored = serde_json::from_slice(&item_json).expect("stored JSON parses");
    shared.writes().applied.push(Applied { field_manager: field_manager.into(), force, object: stored });
    Reply::json(if created { 201 } else { 200 }, item_json)
}

/// Checks kind, group, name and namespace against the URL, filling in what the body leaves out.
fn check_identity(
    object: &mut Value,
    resource: &super::resources::Resource,
    target: &Target<'_>,
) -> Result<(), String> {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    if kind != resource.kind || super::resources::group_of(api_version) != resource.group || api_version.is_empty() {
        return Err(format!(
            "the kind and apiVersion of the object ({api_version:?}, {kind:?}) do not match the URL ({}, {})",
            resource.api_version(target.version),
            resource.kind
        ));
    }
    let name = target.name.unwrap_or_default();
    let metadata =
        object.as_object_mut().expect("checked to be a mapping").entry("metadata").or_insert_with(|| json!({}));
    let Some(metadata) = metadata.as_object_mut() else {
        return Err("metadata: Invalid value: must be a mapping".into());
    };
    match metadata.get("name").and_then(Value::as_str) {
        Some(n) if n != name => {
            return Err(format!("the name of the object ({n}) does not match the name on the URL ({name})"));
        }
        Some(_) => {}
        None => {
            metadata.insert("name".into(), json!(name));
        }
    }
    if let Some(ns) = target.namespace {
        match metadata.get("namespace").and_then(Value::as_str) {
            Some(n) if n != ns => {
                return Err(
                    "the namespace of the provided object does not match the namespace sent on the request".into()
                );
            }
            _ => {
                metadata.insert("namespace".into(), json!(ns));
            }
        }
    }
    Ok(())
}

/// Sets what the server owns in metadata: uid and creationTimestamp survive updates.
fn stamp(object: &mut Value, previous: Option<&Value>, rv: u64) {
    let kept = |field: &str| previous.and_then(|p| p.pointer(&format!("/metadata/{field}"))).cloned();
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).expect("zero nanoseconds is valid");
    let metadata = &mut object["metadata"];
    metadata["uid"] = kept("uid").unwrap_or_else(|| json!(format!("00000000-0000-4000-8000-{rv:012x}")));
    metadata["creationTimestamp"] =
        kept("creationTimestamp").unwrap_or_else(|| json!(now.format(&Rfc3339).expect("RFC 3339 formats")));
    metadata["resourceVersion"] = json!(rv.to_string());
    let generation = previous.and_then(|p| p.pointer("/metadata/generation")).and_then(Value::as_u64).unwrap_or(0);
    metadata["generation"] = json!(generation + 1);
}

//! Answers before they become HTTP responses; errors are Kubernetes `Status` objects.

use bytes::Bytes;
use serde_json::{Value, json};

use super::resources::Resource;

/// The account every forbidden message names, as a ServiceAccount-based kubeeye would run.
pub const USER: &str = "system:serviceaccount:kubeeye:kubeeye";

/// One answer: status, content type and the body as sent.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body bytes.
    pub body: Bytes,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, body: impl Into<Bytes>) -> Self {
        Self { status, content_type: "application/json", body: body.into() }
    }

    /// A plain-text answer.
    pub fn text(status: u16, body: impl Into<Bytes>) -> Self {
        Self { status, content_type: "text/plain; charset=utf-8", body: body.into() }
    }

    /// A failure `Status`.
    pub fn status(code: u16, reason: &str, message: &str) -> Self {
        Self::status_with_details(code, reason, message, None)
    }

    /// A failure `Status` with `details` (name, group, kind) as the real server fills them.
    pub fn status_with_details(code: u16, reason: &str, message: &str, details: Option<Value>) -> Self {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        });
        if let Some(details) = details {
            status["details"] = details;
        }
        Self::json(code, serde_json::to_vec(&status).expect("a JSON value serializes"))
    }

    /// The status a planted `fail` fault answers, with the reason the real server uses for the code.
    pub fn planted(code: u16) -> Self {
        let (reason, message) = match code {
            400 => ("BadRequest", "the server rejected our request for an unknown reason"),
            401 => ("Unauthorized", "Unauthorized"),
            403 => ("Forbidden", "forbidden"),
            404 => ("NotFound", "the server could not find the requested resource"),
            409 => ("Conflict", "the object has been modified; please apply your changes to the latest version"),
            410 => ("Expired", "the resource version is too old"),
            429 => ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
            503 => ("ServiceUnavailable", "the server is currently unable to handle the request"),
            504 => ("Timeout", "the server was unable to return a response in the time allotted"),
            _ => ("InternalError", "Internal error occurred: planted fault"),
        };
        Self::status(code, reason, message)
    }

    /// 401 for a missing or wrong bearer token.
    pub fn unauthorized() -> Self {
        Self::status(401, "Unauthorized", "Unauthorized")
    }

    /// 404 for a path that names no resource.
    pub fn no_such_resource() -> Self {
        Self::status_with_details(
            404,
            "NotFound",
            "the server could not find the requested resource",
            Some(json!({"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]})),
        )
    }

    /// 404 for a missing object: `pods "web" not found`.
    pub fn not_found(resource: &Resource, name: &str) -> Self {
        Self::status_with_details(
            404,
            "NotFound",
            &format!("{} \"{name}\" not found", qualified(resource)),
            Some(json!({"name": name, "group": resource.group, "kind": resource.plural})),
        )
    }

    /// 400 with a message.
    pub fn bad_request(message: &str) -> Self {
        Self::status(400, "BadRequest", message)
    }

    /// 405 for a verb the resource does not support here.
    pub fn method_not_allowed(method: &str) -> Self {
        Self::status(
            405,
            "MethodNotAllowed",
            &format!("the server does not allow this method on the requested resource ({method})"),
        )
    }

    /// 403 in the shape of an RBAC denial: `networkpolicies.networking.k8s.io is forbidden: User
    /// "…" cannot list resource "networkpolicies" in API group "networking.k8s.io" at the cluster scope`.
    pub fn forbidden(denial: &Denial<'_>) -> Self {
        let resource = denial.resource;
        let subject = match denial.name {
            Some(name) => format!("{} \"{name}\"", qualified(resource)),
            None => qualified(resource),
        };
        let what = match denial.subresource {
            Some(sub) => format!("{}/{sub}", resource.plural),
            None => resource.plural.clone(),
        };
        let scope = match denial.namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".into(),
        };
        let message = format!(
            "{subject} is forbidden: User \"{USER}\" cannot {} resource \"{what}\" in API group \"{}\" {scope}",
            denial.verb, resource.group
        );
        let mut details = json!({"group": resource.group, "kind": resource.plural});
        if let Some(name) = denial.name {
            details["name"] = json!(name);
        }
        Self::status_with_details(403, "Forbidden", &message, Some(details))
    }
}

/// What an RBAC denial is about.
#[derive(Debug)]
pub struct Denial<'a> {
    /// `list`, `get`, `patch`, `delete`.
    pub verb: &'a str,
    /// The resource.
    pub resource: &'a Resource,
    /// `log`, `proxy`.
    pub subresource: Option<&'a str>,
    /// Namespace of the request, `None` at the cluster scope.
    pub namespace: Option<&'a str>,
    /// Object name, for requests about one object.
    pub name: Option<&'a str>,
}

/// `pods` or `networkpolicies.networking.k8s.io`, as Kubernetes names a group resource.
fn qualified(resource: &Resource) -> String {
    if resource.group.is_empty() { resource.plural.clone() } else { format!("{}.{}", resource.plural, resource.group) }
}

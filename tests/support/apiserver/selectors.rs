//! `fieldSelector` and `labelSelector`, parsed and applied as the API server does.
//!
//! Like the real server, only the field labels a kind registers are accepted;
//! anything else is a 400, so a client cannot come to rely on a selector a
//! real cluster would refuse.

use serde_json::Value;

/// (field label, dotted path in the object, value when the field is absent).
type FieldLabel = (&'static str, &'static str, &'static str);

const METADATA: &[FieldLabel] =
    &[("metadata.name", "metadata.name", ""), ("metadata.namespace", "metadata.namespace", "")];

fn kind_fields(kind: &str) -> &'static [FieldLabel] {
    match kind {
        "Pod" => &[
            ("spec.nodeName", "spec.nodeName", ""),
            ("spec.restartPolicy", "spec.restartPolicy", ""),
            ("spec.schedulerName", "spec.schedulerName", ""),
            ("spec.serviceAccountName", "spec.serviceAccountName", ""),
            ("spec.hostNetwork", "spec.hostNetwork", "false"),
            ("status.phase", "status.phase", ""),
            ("status.podIP", "status.podIP", ""),
            ("status.nominatedNodeName", "status.nominatedNodeName", ""),
        ],
        "Event" => &[
            ("involvedObject.kind", "involvedObject.kind", ""),
            ("involvedObject.namespace", "involvedObject.namespace", ""),
            ("involvedObject.name", "involvedObject.name", ""),
            ("involvedObject.uid", "involvedObject.uid", ""),
            ("involvedObject.apiVersion", "involvedObject.apiVersion", ""),
            ("involvedObject.resourceVersion", "involvedObject.resourceVersion", ""),
            ("involvedObject.fieldPath", "involvedObject.fieldPath", ""),
            ("reason", "reason", ""),
            ("reportingComponent", "reportingComponent", ""),
            ("source", "source.component", ""),
            ("type", "type", ""),
        ],
        "Node" => &[("spec.unschedulable", "spec.unschedulable", "false")],
        "Namespace" => &[("status.phase", "status.phase", "")],
        "Secret" => &[("type", "type", "")],
        "ReplicaSet" | "ReplicationController" => &[("status.replicas", "status.replicas", "0")],
        "Job" => &[("status.successful", "status.successful", "0")],
        "Service" => &[("spec.clusterIP", "spec.clusterIP", ""), ("spec.type", "spec.type", "")],
        _ => &[],
    }
}

/// The selectable fields of an object, computed once so that selecting never re-reads JSON.
pub fn extract_fields(kind: &str, object: &Value) -> Vec<(&'static str, String)> {
    METADATA
        .iter()
        .chain(kind_fields(kind))
        .map(|&(label, path, default)| {
            let value = path.split('.').try_fold(object, |v, key| v.get(key));
            let text = match value {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => default.to_string(),
            };
            (label, text)
        })
        .collect()
}

/// `metadata.labels` as pairs.
pub fn extract_labels(object: &Value) -> Vec<(String, String)> {
    let Some(labels) = object.pointer("/metadata/labels").and_then(Value::as_object) else {
        return Vec::new();
    };
    labels.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect()
}

#[derive(Debug)]
struct FieldRequirement {
    label: String,
    value: String,
    equal: bool,
}

#[derive(Debug)]
enum LabelRequirement {
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

/// Both selectors of one list request.
#[derive(Debug, Default)]
pub struct Selectors {
    fields: Vec<FieldRequirement>,
    labels: Vec<LabelRequirement>,
}

impl Selectors {
    /// Parses the query parameters; the error is the message of a 400 answer.
    pub fn parse(kind: &str, field_selector: &str, label_selector: &str) -> Result<Self, String> {
        let supported: Vec<&str> = METADATA.iter().chain(kind_fields(kind)).map(|f| f.0).collect();
        let mut fields = Vec::new();
        for term in field_selector.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (label, value, equal) = if let Some((l, v)) = term.split_once("!=") {
                (l, v, false)
            } else if let Some((l, v)) = term.split_once("==") {
                (l, v, true)
            } else if let Some((l, v)) = term.split_once('=') {
                (l, v, true)
            } else {
                return Err(format!("invalid field selector: '{term}'; expected 'key=value' or 'key!=value'"));
            };
            let label = label.trim();
            if !supported.contains(&label) {
                return Err(format!("field label not supported: {label}"));
            }
            fields.push(FieldRequirement { label: label.into(), value: value.trim().into(), equal });
        }
        let labels = split_outside_parens(label_selector)
            .into_iter()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(parse_label_term)
            .collect::<Result<_, _>>()?;
        Ok(Self { fields, labels })
    }

    /// Whether no selector was given (the server then reports `remainingItemCount`).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.labels.is_empty()
    }

    /// Whether an object with these selectable fields and labels is selected.
    pub fn matches(&self, fields: &[(&'static str, String)], labels: &[(String, String)]) -> bool {
        let field_ok = self.fields.iter().all(|req| {
            let actual = fields.iter().find(|(l, _)| *l == req.label).map_or("", |(_, v)| v.as_str());
            (actual == req.value) == req.equal
        });
        let label = |key: &str| labels.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        field_ok
            && self.labels.iter().all(|req| match req {
                LabelRequirement::Exists(k) => label(k).is_some(),
                LabelRequirement::NotExists(k) => label(k).is_none(),
                LabelRequirement::In(k, values) => label(k).is_some_and(|v| values.iter().any(|x| x == v)),
                LabelRequirement::NotIn(k, values) => !label(k).is_some_and(|v| values.iter().any(|x| x == v)),
            })
    }
}

fn split_outside_parens(selector: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&selector[start..]);
    terms
}

fn parse_label_term(term: &str) -> Result<LabelRequirement, String> {
    let invalid = || format!("unable to parse requirement: invalid label selector term '{term}'");
    if let Some(key) = term.strip_prefix('!') {
        return Ok(LabelRequirement::NotExists(key.trim().into()));
    }
    if let Some((key, value)) = term.split_once("!=") {
        return Ok(LabelRequirement::NotIn(key.trim().into(), vec![value.trim().into()]));
    }
    if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Ok(LabelRequirement::In(key.trim().into(), vec![value.trim().into()]));
    }
    if let Some((key, rest)) = term.split_once(char::is_whitespace) {
        let rest = rest.trim();
        let (negate, set) = if let Some(set) = rest.strip_prefix("notin") {
            (true, set)
        } else if let Some(set) = rest.strip_prefix("in") {
            (false, set)
        } else {
            return Err(invalid());
        };
        let set = set.trim().strip_prefix('(').and_then(|s| s.strip_suffix(')')).ok_or_else(invalid)?;
        let values = set.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
        let key = key.trim().to_string();
        return Ok(if negate { LabelRequirement::NotIn(key, values) } else { LabelRequirement::In(key, values) });
    }
    Ok(LabelRequirement::Exists(term.into()))
}

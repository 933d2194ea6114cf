//! Kubernetes label selectors (`matchLabels` + `matchExpressions`).

use serde_json::{Map, Value};

/// Whether `selector` (a LabelSelector object) selects an object with `labels`.
/// An empty selector (`{}`) selects everything; a missing one (`null`) nothing.
pub fn matches(selector: Option<&Value>, labels: Option<&Map<String, Value>>) -> bool {
    let Some(Value::Object(selector)) = selector else { return false };
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    if let Some(Value::Object(want)) = selector.get("matchLabels") {
        for (k, v) in want {
            if label(k) != v.as_str() {
                return false;
            }
        }
    }
    if let Some(Value::Array(exprs)) = selector.get("matchExpressions") {
        for e in exprs {
            let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
            let values: Vec<&str> =
                e.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
            let ok = match e.get("operator").and_then(Value::as_str).unwrap_or_default() {
                "In" => label(key).is_some_and(|v| values.contains(&v)),
                "NotIn" => label(key).is_none_or(|v| !values.contains(&v)),
                "Exists" => label(key).is_some(),
                "DoesNotExist" => label(key).is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::matches;
    use serde_json::json;

    #[test]
    fn selectors() {
        let labels = json!({"app": "web", "tier": "front"});
        let l = labels.as_object();
        assert!(matches(Some(&json!({})), l));
        assert!(!matches(None, l));
        assert!(matches(Some(&json!({"matchLabels": {"app": "web"}})), l));
        assert!(!matches(Some(&json!({"matchLabels": {"app": "api"}})), l));
        assert!(matches(
            Some(&json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]})),
            l
        ));
        assert!(!matches(
            Some(&json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]})),
            l
        ));
        assert!(matches(Some(&json!({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]})), l));
        assert!(!matches(Some(&json!({"matchExpressions": [{"key": "x", "operator": "Exists"}]})), l));
    }
}

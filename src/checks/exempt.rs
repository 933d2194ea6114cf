//! Exemptions: config entries (Polaris format) and annotations on the object.
//!
//! Annotation forms, on the object or its pod template:
//! `polaris.fairwinds.com/exempt: "true"` (every rule),
//! `polaris.fairwinds.com/<rule>-exempt: "true"`, and
//! `kubeeye.io/exempt: "rule1,rule2"` (or `"*"` / `"all"` for every rule).

use serde_json::Value;

use crate::inventory::ObjectRef;
use crate::rules::{Exemption, Rule, RuleSet};

/// Whether `rule` is exempted for the object `id` (container `container`), given the
/// annotation maps that apply (object metadata and pod template metadata) and
/// the rule set's config exemptions; annotations count unless the rule files disallow them.
pub fn is_exempt(
    rule: &Rule,
    id: &ObjectRef,
    container: Option<&str>,
    annotations: &[Option<&Value>],
    rules: &RuleSet,
) -> bool {
    (!rules.annotation_exemptions_disallowed && annotations.iter().flatten().any(|a| annotated(rule, a)))
        || rules.exemptions.iter().any(|e| config_matches(e, rule, id, container))
}

fn annotated(rule: &Rule, annotations: &Value) -> bool {
    let truthy =
        |key: &str| annotations.get(key).and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if truthy("polaris.fairwinds.com/exempt") {
        return true;
    }
    let names = || std::iter::once(rule.id.as_str()).chain(rule.aliases.iter().map(String::as_str));
    if names().any(|n| truthy(&format!("polaris.fairwinds.com/{n}-exempt"))) {
        return true;
    }
    annotations.get("kubeeye.io/exempt").and_then(Value::as_str).is_some_and(|list| {
        list.split(',').map(str::trim).any(|item| item == "*" || item == "all" || names().any(|n| n == item))
    })
}

fn config_matches(e: &Exemption, rule: &Rule, id: &ObjectRef, container: Option<&str>) -> bool {
    let rule_ok = e.rules.is_empty() || e.rules.iter().any(|r| *r == rule.id || rule.aliases.contains(r));
    let ns_ok = e.namespace.as_deref().is_none_or(|ns| id.namespace.as_deref() == Some(ns));
    let name_ok = e.controller_names.is_empty() || e.controller_names.iter().any(|p| id.name.starts_with(p.as_str()));
    // A container-name exemption applies to container-level findings only.
    let container_ok =
        e.container_names.is_empty() || container.is_some_and(|c| e.container_names.iter().any(|n| n == c));
    rule_ok && ns_ok && name_ok && container_ok
}

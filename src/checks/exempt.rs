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
    // A namespace-less manifest's object is in `default` once applied.
    let namespace = crate::inventory::applied_namespace(&id.kind, id.namespace.as_deref());
    let ns_ok = e.namespace.as_deref().is_none_or(|ns| namespace == Some(ns));
    let name_ok = e.controller_names.is_empty() || e.controller_names.iter().any(|p| id.name.starts_with(p.as_str()));
    // A container-name exemption applies to container-level findings only.
    let container_ok =
        e.container_names.is_empty() || container.is_some_and(|c| e.container_names.iter().any(|n| n == c));
    rule_ok && ns_ok && name_ok && container_ok
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rules::RuleSet;

    /// KubeEye v0.3–v0.5's rule names and the built-in rule each means.
    const KUBEEYE_V0_NAMES: &[(&str, &str)] = &[
        ("NoCPULimits", "cpuLimitsMissing"),
        ("NoCPURequests", "cpuRequestsMissing"),
        ("NoMemoryLimits", "memoryLimitsMissing"),
        ("NoMemoryRequests", "memoryRequestsMissing"),
        ("HostIPCAllowed", "hostIPCSet"),
        ("HostNetworkAllowed", "hostNetworkSet"),
        ("HostPIDAllowed", "hostPIDSet"),
        ("HostPortAllowed", "hostPortSet"),
        ("ImagePullPolicyNotAlways", "pullPolicyNotAlways"),
        ("ImageTagMiss", "tagNotSpecified"),
        ("ImageTagIsLatest", "tagNotSpecified"),
        ("NoLivenessProbe", "livenessProbeMissing"),
        ("NoReadinessProbe", "readinessProbeMissing"),
        ("NoPriorityClassName", "priorityClassNotSet"),
        ("NotReadOnlyRootFilesystem", "notReadOnlyRootFilesystem"),
        ("NotRunAsNonRoot", "runAsRootAllowed"),
        ("PrivilegedAllowed", "runAsPrivileged"),
        ("PrivilegeEscalationAllowed", "privilegeEscalationAllowed"),
        ("HighRiskCapabilities", "dangerousCapabilities"),
        ("InsecureCapabilities", "insecureCapabilities"),
    ];

    #[test]
    fn a_namespace_exemption_of_default_covers_namespace_less_manifests() {
        let rules = RuleSet::builtin().expect("built-in rules load");
        let rule = rules.get("tagNotSpecified").expect("a rule");
        let config = |ns: &str| RuleSet {
            exemptions: vec![Exemption { namespace: Some(ns.into()), ..Exemption::default() }],
            ..RuleSet::default()
        };
        let id =
            |kind: &str| ObjectRef { group: String::new(), kind: kind.into(), namespace: None, name: "web".into() };
        assert!(is_exempt(rule, &id("Deployment"), None, &[], &config("default")));
        assert!(!is_exempt(rule, &id("Deployment"), None, &[], &config("shop")));
        assert!(!is_exempt(rule, &id("ClusterRole"), None, &[], &config("default")), "cluster-scoped");
    }

    #[test]
    fn kubeeye_v0_names_exempt_the_rule_they_mean() {
        let rules = RuleSet::builtin().expect("built-in rules load");
        let web = ObjectRef {
            group: "apps".into(),
            kind: "Deployment".into(),
            namespace: Some("shop".into()),
            name: "web".into(),
        };
        for (old, id) in KUBEEYE_V0_NAMES {
            let rule = rules.get(old).unwrap_or_else(|| panic!("`{old}` names no rule"));
            assert_eq!(rule.id, *id, "`{old}`");
            let config = RuleSet {
                exemptions: vec![Exemption { rules: vec![(*old).to_string()], ..Exemption::default() }],
                ..RuleSet::default()
            };
            let none = RuleSet::default();
            assert!(is_exempt(rule, &web, None, &[], &config), "config exemption naming `{old}`");
            let kubeeye = json!({"kubeeye.io/exempt": format!("someOtherRule, {old}")});
            assert!(is_exempt(rule, &web, None, &[Some(&kubeeye)], &none), "kubeeye.io/exempt naming `{old}`");
            let polaris = json!({format!("polaris.fairwinds.com/{old}-exempt"): "true"});
            assert!(is_exempt(rule, &web, None, &[Some(&polaris)], &none), "polaris annotation naming `{old}`");
            let other = rules.rules.iter().find(|r| r.id != *id && !r.aliases.iter().any(|a| a == old));
            let other = other.expect("another rule");
            assert!(!is_exempt(other, &web, None, &[Some(&kubeeye)], &config), "`{old}` exempts {} only", id);
        }
    }
}

//! Exemptions: config entries (Polaris format) and annotations on the object.
//!
//! Annotation forms, on the object or its pod template:
//! `polaris.fairwinds.com/exempt: "true"` (every rule),
//! `polaris.fairwinds.com/<rule>-exempt: "true"`, and
//! `kubeeye.io/exempt: "rule1,rule2"` (or `"*"` / `"all"` for every rule).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::inventory::ObjectRef;
use crate::report::{ExemptedObject, ExemptionSource};
use crate::rules::{Exemption, Rule, RuleSet};

/// What exempted an object from a rule: the annotation key, or the config exemption's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExemptedBy {
    /// Annotation or config.
    pub source: ExemptionSource,
    /// The annotation key, or the rule file (`built-in` for the defaults).
    pub origin: String,
}

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
    exemption(rule, id, container, annotations, rules).is_some()
}

/// What exempts the object `id` (container `container`) from `rule`, if
/// anything: an annotation first (it is the object's own say), then a config
/// exemption. Annotations count unless the rule files or the config disallow them.
pub fn exemption(
    rule: &Rule,
    id: &ObjectRef,
    container: Option<&str>,
    annotations: &[Option<&Value>],
    rules: &RuleSet,
) -> Option<ExemptedBy> {
    if !rules.annotation_exemptions_disallowed
        && let Some(key) = annotations.iter().flatten().find_map(|a| annotated(rule, a))
    {
        return Some(ExemptedBy { source: ExemptionSource::Annotation, origin: key });
    }
    let config = rules.exemptions.iter().find(|e| config_matches(e, rule, id, container))?;
    Some(ExemptedBy { source: ExemptionSource::Config, origin: config.origin.clone() })
}

/// The annotation key that exempts the object from `rule`, if one does.
fn annotated(rule: &Rule, annotations: &Value) -> Option<String> {
    let truthy =
        |key: &str| annotations.get(key).and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    const ALL: &str = "polaris.fairwinds.com/exempt";
    if truthy(ALL) {
        return Some(ALL.into());
    }
    let names = || std::iter::once(rule.id.as_str()).chain(rule.aliases.iter().map(String::as_str));
    if let Some(key) = names().map(|n| format!("polaris.fairwinds.com/{n}-exempt")).find(|k| truthy(k)) {
        return Some(key);
    }
    const KUBEEYE: &str = "kubeeye.io/exempt";
    let listed = annotations.get(KUBEEYE).and_then(Value::as_str).is_some_and(|list| {
        list.split(',').map(str::trim).any(|item| item == "*" || item == "all" || names().any(|n| n == item))
    });
    listed.then(|| KUBEEYE.into())
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

/// The exemptions that applied during an inspection, by object and source,
/// for the report's list of exempted objects.
#[derive(Debug, Default)]
pub struct Exempted {
    by_object: BTreeMap<Key, BTreeSet<String>>,
}

/// An exempted object and what exempted it, ordered as reports list them.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    namespace: Option<String>,
    kind: String,
    name: String,
    source: ExemptionSource,
    origin: String,
}

impl Exempted {
    /// Notes that `by` took the object `id` out of `rule`.
    pub fn record(&mut self, id: &ObjectRef, rule: &Rule, by: ExemptedBy) {
        let key = Key {
            namespace: id.namespace.clone(),
            kind: id.kind.clone(),
            name: id.name.clone(),
            source: by.source,
            origin: by.origin,
        };
        let rules = self.by_object.entry(key).or_default();
        if !rules.contains(&rule.id) {
            rules.insert(rule.id.clone());
        }
    }

    /// The list a report carries: by namespace, kind, name, then source.
    pub fn into_list(self) -> Vec<ExemptedObject> {
        self.by_object
            .into_iter()
            .map(|(k, rules)| ExemptedObject {
                kind: k.kind,
                namespace: k.namespace,
                name: k.name,
                source: k.source,
                origin: k.origin,
                rules: rules.into_iter().collect(),
            })
            .collect()
    }
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

    #[test]
    fn an_exemption_says_where_it_comes_from() {
        let rules = RuleSet::builtin().expect("built-in rules load");
        let rule = rules.get("runAsPrivileged").expect("rule");
        let web = ObjectRef {
            group: "apps".into(),
            kind: "DaemonSet".into(),
            namespace: Some("ops".into()),
            name: "web".into(),
        };
        let by = |annotations: Value, set: &RuleSet| exemption(rule, &web, None, &[Some(&annotations)], set);
        let annotation = |key: &str| Some(ExemptedBy { source: ExemptionSource::Annotation, origin: key.into() });
        let none = RuleSet::default();
        assert_eq!(
            by(json!({"polaris.fairwinds.com/exempt": "TRUE"}), &none),
            annotation("polaris.fairwinds.com/exempt")
        );
        assert_eq!(
            by(json!({"polaris.fairwinds.com/runAsPrivileged-exempt": "true"}), &none),
            annotation("polaris.fairwinds.com/runAsPrivileged-exempt")
        );
        assert_eq!(by(json!({"kubeeye.io/exempt": "x, runAsPrivileged"}), &none), annotation("kubeeye.io/exempt"));
        assert_eq!(by(json!({"kubeeye.io/exempt": "hostPIDSet"}), &none), None);
        let config = RuleSet {
            exemptions: vec![Exemption {
                namespace: Some("ops".into()),
                origin: "team.yaml".into(),
                ..Exemption::default()
            }],
            ..RuleSet::default()
        };
        let from_config = Some(ExemptedBy { source: ExemptionSource::Config, origin: "team.yaml".into() });
        assert_eq!(by(json!({}), &config), from_config);
        // Annotations ignored: only the config decides.
        let strict = RuleSet { annotation_exemptions_disallowed: true, ..RuleSet::default() };
        assert_eq!(by(json!({"polaris.fairwinds.com/exempt": "true"}), &strict), None);

        let mut exempted = Exempted::default();
        exempted.record(&web, rule, annotation("kubeeye.io/exempt").expect("some"));
        exempted.record(&web, rules.get("hostPIDSet").expect("rule"), annotation("kubeeye.io/exempt").expect("some"));
        exempted.record(&web, rule, annotation("kubeeye.io/exempt").expect("some"));
        let list = exempted.into_list();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].rules, ["hostPIDSet", "runAsPrivileged"]);
    }
}

//! Findings about Services (their endpoints, their probes) reported once per namespace: a namespace where a
//! release broke several Services gets one finding naming them (KubeEye's
//! `serviceConnect` listed them per namespace too), not one line each. Each
//! Service is still judged, exempted and counted on its own first.

use std::collections::BTreeMap;

use crate::inventory::ObjectRef;
use crate::report::Finding;
use crate::rules::{Logic, RuleSet};

/// The code checks whose per-Service findings are grouped.
const GROUPED: &[&str] = &["ServiceWithoutEndpoints", "ServiceNotAnswering"];

/// Services named one by one in a grouped finding's message; more are counted.
pub const SHOWN: usize = 5;

/// Replaces the per-Service findings of the grouped rules with one finding
/// per rule and namespace, about the Namespace, naming the Services (each
/// with the reason its check gave) and counting them.
pub fn group(findings: &mut Vec<Finding>, rules: &RuleSet) {
    let grouped_rule =
        |id: &str| rules.get(id).is_some_and(|r| matches!(r.logic, Logic::Code(c) if GROUPED.contains(&c.name)));
    let mut groups: BTreeMap<(String, String), Vec<Finding>> = BTreeMap::new();
    let mut kept = Vec::with_capacity(findings.len());
    for f in findings.drain(..) {
        // ServiceNotAnswering judges the probe recorded for each Service.
        if matches!(f.kind.as_str(), "Service" | "ServiceProbe") && grouped_rule(&f.rule) {
            let key = (f.rule.to_string(), f.namespace.as_deref().unwrap_or_default().to_string());
            groups.entry(key).or_default().push(f);
        } else {
            kept.push(f);
        }
    }
    for ((rule_id, namespace), mut services) in groups {
        let Some(rule) = rules.get(&rule_id) else { continue };
        services.sort_by(|a, b| a.name.cmp(&b.name));
        let first = &services[0];
        // The namespace is set too, so `-n`/`--exclude-namespace` and reports
        // by namespace place the finding where its Services are.
        let namespace_ref = ObjectRef {
            group: String::new(),
            kind: "Namespace".into(),
            namespace: Some(namespace.clone()),
            name: namespace,
        };
        let mut finding = Finding::new(rule, &first.section, &namespace_ref)
            .with_message(message(&rule.failure_message, &services))
            .at(first.source.as_ref(), None);
        finding.severity = first.severity;
        finding.count = Some(services.len() as u64);
        kept.push(finding);
    }
    *findings = kept;
}

/// The rule's message, then each Service with the reason its check gave:
/// "…: old (selects no pod), payments (its one endpoint is not ready) and 3 more".
fn message(headline: &str, services: &[Finding]) -> String {
    let named: Vec<String> = services
        .iter()
        .take(SHOWN)
        .map(|f| match f.message.as_str() {
            m if m.is_empty() || m == headline => f.name.to_string(),
            m => format!("{} ({m})", f.name),
        })
        .collect();
    let more = services.len().saturating_sub(SHOWN);
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!("{headline}: {}{more}", named.join(", "))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::checks::evaluate_values;
    use crate::rules::RuleSet;

    fn service(namespace: &str, name: &str, annotations: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
               "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}})
    }

    fn slice(namespace: &str, service: &str, ready: Option<bool>) -> Value {
        let endpoints = match ready {
            Some(r) => json!([{"addresses": ["10.0.0.1"], "conditions": {"ready": r}}]),
            None => json!([]),
        };
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
               "metadata": {"name": format!("{service}-x"), "namespace": namespace,
                            "labels": {"kubernetes.io/service-name": service}},
               "addressType": "IPv4", "endpoints": endpoints})
    }

    #[test]
    fn services_without_endpoints_make_one_finding_per_namespace() {
        let mut rules = RuleSet::builtin().expect("built-in rules load");
        rules.enable_all();
        let mut objects = Vec::new();
        // shop: seven broken Services, one healthy, one exempted by annotation.
        for i in 0..7 {
            let name = format!("svc-{i}");
            objects.push(service("shop", &name, json!({})));
            objects.push(slice("shop", &name, if i == 0 { Some(false) } else { None }));
        }
        objects.push(service("shop", "up", json!({})));
        objects.push(slice("shop", "up", Some(true)));
        let exempt = json!({"kubeeye.io/exempt": "ServiceWithoutEndpoints"});
        objects.push(service("shop", "parked", exempt));
        objects.push(slice("shop", "parked", None));
        // blog: one broken Service.
        objects.push(service("blog", "web", json!({})));
        objects.push(slice("blog", "web", None));
        let eval = evaluate_values(objects, &rules);
        let found: Vec<_> = eval.findings.iter().filter(|f| f.rule == "ServiceWithoutEndpoints").collect();
        assert_eq!(found.len(), 2, "{found:#?}");
        let (blog, shop) = (found[0], found[1]);
        assert_eq!(
            (blog.kind.as_str(), blog.name.as_str(), blog.namespace.as_deref()),
            ("Namespace", "blog", Some("blog"))
        );
        assert_eq!(
            blog.message,
            "Services without a ready endpoint, so connections to them fail: web (selects no pod)"
        );
        assert_eq!(blog.count, Some(1));
        assert_eq!((shop.kind.as_str(), shop.name.as_str()), ("Namespace", "shop"));
        assert_eq!(
            shop.message,
            "Services without a ready endpoint, so connections to them fail: svc-0 (its one endpoint is not ready), \
             svc-1 (selects no pod), svc-2 (selects no pod), svc-3 (selects no pod), svc-4 (selects no pod) and 2 more"
        );
        assert_eq!(shop.count, Some(7));
        // Each Service is still judged and exempted on its own.
        let exempted = eval.exempted.into_list();
        assert!(exempted.iter().any(|e| e.kind == "Service" && e.name == "parked"), "{exempted:?}");
    }
}

//! `missingNetworkPolicy`: no NetworkPolicy selects the workload's pods (for ingress and egress).

use serde_json::Value;

use super::{CodeCheck, Run};
use crate::checks::Outcome;
use crate::checks::index::Index;
use crate::checks::selector;
use crate::checks::workload::Workload;

pub(super) const CHECK: CodeCheck = CodeCheck { name: "missingNetworkPolicy", run: Run::Workload(run) };

fn run(w: &Workload<'_>, index: &Index<'_>) -> Outcome {
    if w.pod_spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        // NetworkPolicies do not apply to pods in the node's network namespace.
        return Outcome::Skip;
    }
    let labels = w.pod_labels();
    let (mut ingress, mut egress) = (false, false);
    for p in index.in_namespace("NetworkPolicy", w.id.namespace.as_deref()) {
        let Some(spec) = p.raw.get("spec") else { continue };
        if !selector::matches(spec.get("podSelector"), labels) {
            continue;
        }
        let (i, e) = policy_types(spec);
        ingress |= i;
        egress |= e;
    }
    match (ingress, egress) {
        (true, true) => Outcome::Pass,
        (false, false) => Outcome::Fail(None),
        (true, false) => Outcome::Fail(Some("NetworkPolicies select these pods for ingress but not egress".into())),
        (false, true) => Outcome::Fail(Some("NetworkPolicies select these pods for egress but not ingress".into())),
    }
}

/// Which directions a NetworkPolicy covers. Without `policyTypes`, Ingress is
/// implied and Egress only when the policy has egress rules.
fn policy_types(spec: &Value) -> (bool, bool) {
    match spec.get("policyTypes").and_then(Value::as_array) {
        Some(types) => {
            let has = |t: &str| types.iter().any(|v| v.as_str() == Some(t));
            (has("Ingress"), has("Egress"))
        }
        None => (true, spec.get("egress").is_some()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn network_policy_types() {
        assert_eq!(policy_types(&json!({})), (true, false));
        assert_eq!(policy_types(&json!({"egress": []})), (true, true));
        assert_eq!(policy_types(&json!({"policyTypes": ["Egress"]})), (false, true));
    }
}

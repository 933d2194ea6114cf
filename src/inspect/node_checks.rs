//! The report's `nodeChecks` from what the nodes were asked and what they
//! answered: per host rule, on how many nodes it was selected, evaluated,
//! failed or could not be checked, and the values most nodes read.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::inventory::{CoverageGap, section};
use crate::nodecheck::protocol::{NodeResult, Outcome};
use crate::report::{NodeCheckRule, NodeChecks, NodeChecksStatus, Severity, node_checks::tally_values};
use crate::rules::RuleSet;

/// The rule ids a request (the JSON a node's Job carries) asks for.
pub fn requested_rules(request: &Value) -> Vec<String> {
    request
        .get("rules")
        .and_then(Value::as_array)
        .map(|rules| rules.iter().filter_map(|r| r.get("id")?.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// What the host rules came to: `asked` holds each node asked and the rule
/// ids of its request, `answered` each node's validated result, `gaps` the
/// node checks' coverage gaps. When no node answered and a gap concerns the
/// whole run (Jobs forbidden, no image), the checks were not run, for that reason.
pub fn summarize(
    rules: &RuleSet,
    asked: &[(String, Vec<String>)],
    answered: &[(String, NodeResult)],
    gaps: &[CoverageGap],
) -> NodeChecks {
    let mut out = rule_list(rules);
    for entry in &mut out {
        entry.selected = asked.iter().filter(|(_, ids)| ids.contains(&entry.id)).count();
        let outcomes: Vec<(Outcome, Option<&str>)> = answered
            .iter()
            .filter_map(|(_, result)| result.results.iter().find(|r| r.rule == entry.id))
            .map(|r| (r.outcome, r.observed.as_deref()))
            .collect();
        entry.evaluated = outcomes.len();
        entry.failed = outcomes.iter().filter(|(o, _)| *o == Outcome::Fail).count();
        entry.errors = outcomes.iter().filter(|(o, _)| *o == Outcome::Error).count();
        let (values, other_values) =
            tally_values(outcomes.iter().filter(|(o, _)| *o != Outcome::Error).filter_map(|(_, v)| *v));
        entry.values = values;
        entry.other_values = other_values;
    }
    let run_wide = gaps.iter().find(|g| g.section == section::NODE_CHECKS && !g.resource.starts_with("node "));
    match run_wide {
        Some(gap) if answered.is_empty() => NodeChecks {
            nodes_selected: asked.len(),
            ..NodeChecks::not_run(crate::text::one_line(&format!("{}: {}", gap.resource, gap.reason)), out)
        },
        _ => NodeChecks {
            status: NodeChecksStatus::Ran,
            reason: None,
            nodes_selected: asked.len(),
            nodes_answered: answered.len(),
            rules: out,
        },
    }
}

/// The enabled host rules, not run, and why; `None` without host rules.
pub fn not_run(rules: &RuleSet, reason: impl Into<String>) -> Option<NodeChecks> {
    let list = rule_list(rules);
    (!list.is_empty()).then(|| NodeChecks::not_run(crate::text::one_line(&reason.into()), list))
}

/// One entry per enabled host rule, by id, counts at zero.
fn rule_list(rules: &RuleSet) -> Vec<NodeCheckRule> {
    let by_id: BTreeMap<&str, NodeCheckRule> = rules
        .host_rules()
        .map(|(rule, host)| {
            let entry = NodeCheckRule {
                id: rule.id.to_string(),
                kind: host.kind.name().to_string(),
                severity: rule.severity.unwrap_or(Severity::Warning),
                selected: 0,
                evaluated: 0,
                failed: 0,
                errors: 0,
                values: Vec::new(),
                other_values: 0,
            };
            (rule.id.as_str(), entry)
        })
        .collect();
    by_id.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nodecheck::protocol::{Facts, RuleResult};

    fn rules() -> RuleSet {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/inspectrules/sysctl.yaml");
        RuleSet::load(&[dir]).unwrap()
    }

    fn result(node: &str, swappiness: &str) -> (String, NodeResult) {
        let r = |rule: &str, outcome, observed: Option<&str>| RuleResult {
            rule: rule.into(),
            outcome,
            message: String::new(),
            observed: observed.map(str::to_string),
            file: None,
        };
        let results = vec![
            r("vm.swappiness", if swappiness == "0" { Outcome::Pass } else { Outcome::Fail }, Some(swappiness)),
            r("net.ipv4.ip_forward", Outcome::Error, None),
        ];
        let facts: Facts = serde_json::from_value(serde_json::json!({ "filesystems": [] })).unwrap();
        let result = NodeResult {
            schema_version: 1,
            node: node.into(),
            started_at: String::new(),
            finished_at: String::new(),
            results,
            facts,
        };
        (node.to_string(), result)
    }

    #[test]
    fn counts_per_rule_and_the_common_values() {
        let set = rules();
        let nodes: Vec<String> = (0..10).map(|i| format!("n{i}")).collect();
        let ids = vec!["vm.swappiness".to_string(), "net.ipv4.ip_forward".to_string()];
        let asked: Vec<(String, Vec<String>)> = nodes.iter().map(|n| (n.clone(), ids.clone())).collect();
        let answered: Vec<(String, NodeResult)> =
            nodes.iter().take(9).enumerate().map(|(i, n)| result(n, if i < 7 { "60" } else { "0" })).collect();
        let gaps = vec![CoverageGap::error(section::NODE_CHECKS, "node n9", "pod Pending")];
        let checks = summarize(&set, &asked, &answered, &gaps);
        assert_eq!(checks.status, NodeChecksStatus::Ran);
        assert_eq!((checks.nodes_selected, checks.nodes_answered), (10, 9));
        let ids: Vec<&str> = checks.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            ["fs.inotify.max_user_watches", "net.ipv4.ip_forward", "net.ipv4.ip_local_reserved_ports", "vm.swappiness"],
            "every enabled host rule, by id"
        );
        let swap = checks.rule("vm.swappiness").unwrap();
        assert_eq!((swap.selected, swap.evaluated, swap.failed, swap.errors), (10, 9, 7, 0));
        assert_eq!(swap.kind, "sysctl");
        let values: Vec<(&str, usize)> = swap.values.iter().map(|v| (v.value.as_str(), v.nodes)).collect();
        assert_eq!(values, [("60", 7), ("0", 2)]);
        let forward = checks.rule("net.ipv4.ip_forward").unwrap();
        assert_eq!((forward.evaluated, forward.failed, forward.errors), (9, 0, 9));
        assert_eq!(forward.severity, Severity::Danger);
        assert!(forward.values.is_empty());
        let unasked = checks.rule("fs.inotify.max_user_watches").unwrap();
        assert_eq!((unasked.selected, unasked.evaluated), (0, 0));
    }

    #[test]
    fn a_run_wide_failure_with_no_answer_is_not_run() {
        let asked = vec![("n0".to_string(), vec!["vm.swappiness".to_string()])];
        let gaps = vec![CoverageGap::error(section::NODE_CHECKS, "jobs in kubeeye-node-checks", "403: forbidden")];
        let checks = summarize(&rules(), &asked, &[], &gaps);
        assert_eq!(checks.status, NodeChecksStatus::NotRun);
        assert_eq!(checks.reason.as_deref(), Some("jobs in kubeeye-node-checks: 403: forbidden"));
        assert_eq!(checks.nodes_selected, 1);
        assert!(not_run(&RuleSet::default(), "x").is_none(), "no host rules, no nodeChecks");
        assert_eq!(not_run(&rules(), "a\nb").and_then(|n| n.reason).as_deref(), Some("a b"));
    }
}

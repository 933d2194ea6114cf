use super::*;

fn finding(rule: &str, node: &str, message: &str) -> Finding {
    serde_json::from_value(serde_json::json!({
        "rule": rule, "severity": "warning", "category": "Node", "section": section::NODE_CHECKS,
        "kind": "Node", "name": node, "message": message, "remediation": "", "fingerprint": format!("{rule}/{node}"),
        "reason": "sysctl",
    }))
    .unwrap()
}

fn rule(id: &str, evaluated: usize, failed: usize) -> NodeCheckRule {
    NodeCheckRule {
        id: id.into(),
        kind: "sysctl".into(),
        severity: Severity::Warning,
        selected: evaluated,
        evaluated,
        failed,
        errors: 0,
        values: Vec::new(),
        other_values: 0,
    }
}

fn report(findings: Vec<Finding>, coverage: Vec<CoverageGap>, node_checks: Option<NodeChecks>) -> Report {
    Report { complete: coverage.is_empty(), coverage, node_checks, ..Report::of_findings(findings) }
}

fn node(i: usize) -> String {
    format!("worker-{i:04}")
}

/// 300 nodes, vm.swappiness 60 on 212 of them, one odd value on another.
fn swappiness() -> Report {
    let mut findings: Vec<Finding> = (0..212)
        .map(|i| finding("vm.swappiness", &node(i), "swap pressure: vm.swappiness is 60 (expected 0)"))
        .collect();
    findings.push(finding("vm.swappiness", &node(250), "swap pressure: vm.swappiness is 10 (expected 0)"));
    // The node's own name in a message is taken out before grouping.
    for i in [260, 261] {
        findings.push(finding("hosts", &node(i), &format!("/etc/hosts on {} changed", node(i))));
    }
    let checks = NodeChecks {
        status: NodeChecksStatus::Ran,
        reason: None,
        nodes_selected: 300,
        nodes_answered: 300,
        rules: vec![rule("vm.swappiness", 300, 213), rule("hosts", 300, 2), rule("ip-forward", 300, 0)],
    };
    report(findings, Vec::new(), Some(checks))
}

#[test]
fn a_rule_failing_on_212_of_300_nodes_is_one_group() {
    let groups = group_findings(&swappiness());
    assert_eq!(groups.len(), 3, "{groups:#?}");
    assert_eq!(
        groups[0].line(),
        "[vm.swappiness] swap pressure: vm.swappiness is 60 (expected 0) on 212 of 300 nodes \
         (worker-0000, worker-0001, worker-0002 … and 209 more)"
    );
    assert_eq!(groups[0].count_text(), "212 of 300 nodes");
    assert_eq!(groups[1].line(), "[hosts] /etc/hosts on <node> changed on 2 of 300 nodes (worker-0260, worker-0261)");
    assert_eq!(
        groups[2].line(),
        "[vm.swappiness] swap pressure: vm.swappiness is 10 (expected 0) on 1 of 300 nodes (worker-0250)"
    );
}

#[test]
fn the_summary_counts_rules_nodes_and_failing_rules() {
    assert_eq!(headline(&swappiness()).as_deref(), Some("Node checks: 3 rules on 300 nodes, 2 failing"));
    let mut partial = swappiness();
    if let Some(n) = partial.node_checks.as_mut() {
        n.nodes_answered = 298;
    }
    assert_eq!(headline(&partial).as_deref(), Some("Node checks: 3 rules on 298 nodes (of 300 asked), 2 failing"));
    let not_run = report(
        Vec::new(),
        Vec::new(),
        Some(NodeChecks::not_run("pass --node-checks\n(needs deploy/node-checks/)", vec![rule("ip-forward", 0, 0)])),
    );
    assert_eq!(
        headline(&not_run).as_deref(),
        Some("Node checks: 1 rule not run (pass --node-checks (needs deploy/node-checks/))"),
        "flattened"
    );
    assert_eq!(headline(&report(Vec::new(), Vec::new(), None)), None, "no host rules, no line");
    // A report written before `nodeChecks` existed: the findings alone.
    let old = report(swappiness().findings, Vec::new(), None);
    assert_eq!(headline(&old).as_deref(), Some("Node checks: 2 rules failing on 215 nodes"));
    assert_eq!(group_findings(&old)[0].count_text(), "212 nodes", "of how many is unknown");
}

#[test]
fn identical_per_node_gaps_are_one_group_with_the_names_taken_out() {
    let mut coverage: Vec<CoverageGap> = (0..40)
        .map(|i| {
            let n = node(i);
            CoverageGap::error(
                section::NODE_CHECKS,
                format!("node {n}"),
                format!(
                    "pod ke-node-check-{n}-0a1b2c3d4e-x{i}k2p still Pending after 1m: ImagePullBackOff; \
                     events: Scheduled: Successfully assigned kubeeye-node-checks/ke-node-check-{n}-0a1b2c3d4e-x{i}k2p to {n}"
                ),
            )
        })
        .collect();
    coverage.insert(0, CoverageGap::error("workloads", "cronjobs", "403"));
    coverage.push(CoverageGap::error(
        section::NODE_CHECKS,
        format!("node {}", node(41)),
        format!("Job ke-node-check-{}-99aa00bb11 did not finish within 2m (nodeChecks.perNodeTimeout)", node(41)),
    ));
    coverage.push(CoverageGap::error(section::NODE_CHECKS, "jobs in kubeeye-node-checks", "403 Forbidden"));
    let mut checks = swappiness().node_checks;
    if let Some(n) = checks.as_mut() {
        n.nodes_answered = 259;
    }
    let r = report(Vec::new(), coverage, checks);
    let (groups, others) = group_gaps(&r);
    assert_eq!(groups.len(), 2, "{groups:#?}");
    assert_eq!(
        groups[0].reason,
        "pod <pod> still Pending after 1m: ImagePullBackOff; events: Scheduled: Successfully assigned \
         kubeeye-node-checks/<job> to <node>"
    );
    assert_eq!(groups[0].resource(), "40 of 300 nodes (worker-0000, worker-0001, worker-0002 … and 37 more)");
    assert_eq!(groups[1].reason, "Job <job> did not finish within 2m (nodeChecks.perNodeTimeout)");
    assert_eq!(others.len(), 1, "a run-wide gap stays as it is");
    let summarised = summarised_coverage(&r);
    let shown: Vec<(&str, &str)> = summarised.iter().map(|g| (g.section.as_str(), g.resource.as_str())).collect();
    assert_eq!(
        shown,
        [
            ("workloads", "cronjobs"),
            (section::NODE_CHECKS, "40 of 300 nodes (worker-0000, worker-0001, worker-0002 … and 37 more)"),
            (section::NODE_CHECKS, "1 of 300 nodes (worker-0041)"),
            (section::NODE_CHECKS, "jobs in kubeeye-node-checks"),
        ]
    );
}

#[test]
fn the_most_common_values_are_kept() {
    let values: Vec<&str> = [("1", 40), ("60", 212), ("0", 47), ("x\ny", 1)]
        .iter()
        .flat_map(|(v, n)| std::iter::repeat_n(*v, *n))
        .collect();
    let (kept, others) = tally_values(values);
    let shown: Vec<(&str, usize)> = kept.iter().map(|v| (v.value.as_str(), v.nodes)).collect();
    assert_eq!(shown, [("60", 212), ("0", 47), ("1", 40), ("x y", 1)], "most common first, flattened");
    assert_eq!(others, 0);
    let many: Vec<String> = (0..20).map(|i| format!("v{}", i / 2)).collect();
    let (kept, others) = tally_values(many.iter().map(String::as_str));
    assert_eq!(kept.len(), VALUES_KEPT);
    assert_eq!(others, 10);
}

#[test]
fn a_node_name_is_taken_out_only_where_it_stands_alone() {
    assert_eq!(without_node("swap on a is 60", "a"), "swap on <node> is 60");
    assert_eq!(without_node("worker-1 and worker-10 differ", "worker-1"), "<node> and worker-10 differ");
    assert_eq!(without_node("seen on n1.", "n1"), "seen on <node>.");
    assert_eq!(without_node("n1.example.com is n1", "n1"), "n1.example.com is <node>");
    assert_eq!(without_node("n1n1 n1", "n1"), "n1n1 <node>");
    assert_eq!(without_node("nothing", ""), "nothing");
}

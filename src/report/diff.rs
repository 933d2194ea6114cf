//! A report compared with the previous one: which findings are new, which are
//! still open, which were resolved.
//!
//! Findings are matched by fingerprint (rule, kind, namespace, name,
//! container), so a finding whose message or severity changed is still the
//! same finding. A finding can only be called resolved when this inspection
//! looked where it was: previous findings in a section this inspection could
//! not read completely (an `error` coverage gap) are listed as unverified.

use std::collections::HashSet;

use super::{Diff, Finding, FindingStatus, Report};
use crate::inventory::GapKind;

/// Marks each finding of `report` `new` or `open` relative to `previous`, and
/// records the comparison (counts, resolved and unverified findings) in
/// `report.diff`. The summary is not changed: it describes this inspection.
pub fn apply_diff(report: &mut Report, previous: &Report) {
    let before: HashSet<&str> = previous.findings.iter().map(|f| f.fingerprint.as_str()).collect();
    let (mut new, mut open) = (0, 0);
    for f in &mut report.findings {
        let status = if before.contains(f.fingerprint.as_str()) {
            open += 1;
            FindingStatus::Open
        } else {
            new += 1;
            FindingStatus::New
        };
        f.status = Some(status);
    }

    let now: HashSet<&str> = report.findings.iter().map(|f| f.fingerprint.as_str()).collect();
    let unread: HashSet<&str> =
        report.coverage.iter().filter(|g| g.kind == GapKind::Error).map(|g| g.section.as_str()).collect();
    // The cluster unreachable or the deadline hit: no section was read completely.
    let nothing_verified = unread.contains("inspection");
    let scope = report.scope.clone().unwrap_or_default();
    let mut seen = HashSet::new();
    let (mut resolved, mut unverified) = (Vec::new(), Vec::new());
    for f in &previous.findings {
        if now.contains(f.fingerprint.as_str()) || !seen.insert(f.fingerprint.as_str()) {
            continue;
        }
        // The previous report's own status (new/open against the one before) means nothing here.
        let gone = Finding { status: None, ..f.clone() };
        let looked = !nothing_verified
            && !unread.contains(f.section.as_str())
            && scope.covers(crate::inventory::applied_namespace(&f.kind, f.namespace.as_deref()));
        if looked { resolved.push(gone) } else { unverified.push(gone) }
    }
    report.diff = Some(Diff { previous_started_at: previous.started_at.clone(), new, open, resolved, unverified });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::CoverageGap;
    use crate::report::{Cluster, Severity};

    fn finding(rule: &str, name: &str, section: &str) -> Finding {
        Finding {
            rule: rule.into(),
            severity: Severity::Warning,
            category: "Reliability".into(),
            section: section.into(),
            kind: "Deployment".into(),
            namespace: Some("shop".into()),
            name: name.into(),
            container: None,
            message: "m".into(),
            remediation: "r".into(),
            fingerprint: Finding::fingerprint_of(rule, "Deployment", Some("shop"), name, None),
            reason: None,
            count: None,
            first_seen: None,
            last_seen: None,
            status: None,
            pods: None,
            source: None,
        }
    }

    fn report(started_at: &str, findings: Vec<Finding>) -> Report {
        Report {
            cluster: Cluster { name: "c".into(), sources: vec![] },
            started_at: started_at.into(),
            finished_at: started_at.into(),
            ..Report::of_findings(findings)
        }
    }

    #[test]
    fn new_open_and_resolved_by_fingerprint() {
        let previous = report(
            "2026-11-24T02:00:00Z",
            vec![finding("a", "web", "workloads"), finding("b", "web", "workloads"), finding("c", "db", "workloads")],
        );
        let mut changed = finding("a", "web", "workloads");
        changed.message = "worded differently".into();
        changed.severity = Severity::Danger;
        let mut current = report("2026-11-25T02:00:00Z", vec![changed, finding("d", "web", "workloads")]);
        apply_diff(&mut current, &previous);

        let status: Vec<_> = current.findings.iter().map(|f| (f.rule.as_str(), f.status)).collect();
        assert_eq!(status, [("a", Some(FindingStatus::Open)), ("d", Some(FindingStatus::New))]);
        let diff = current.diff.expect("diff is set");
        assert_eq!(diff.previous_started_at, "2026-11-24T02:00:00Z");
        assert_eq!((diff.new, diff.open), (1, 1));
        let resolved: Vec<_> = diff.resolved.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(resolved, ["b", "c"]);
        assert!(diff.unverified.is_empty());
    }

    #[test]
    fn statuses_of_the_previous_diff_do_not_leak_into_resolved() {
        let mut old = finding("a", "web", "workloads");
        old.status = Some(FindingStatus::Open);
        let previous = report("p", vec![old]);
        let mut current = report("c", vec![]);
        apply_diff(&mut current, &previous);
        let diff = current.diff.expect("diff is set");
        assert_eq!(diff.resolved.len(), 1);
        assert_eq!(diff.resolved[0].status, None);
        assert_eq!((diff.new, diff.open), (0, 0));
    }

    #[test]
    fn findings_in_unread_sections_are_unverified_not_resolved() {
        let previous = report("p", vec![finding("PodIOError", "api", "logs"), finding("a", "web", "workloads")]);
        let mut current = report("c", vec![]);
        current.coverage.push(CoverageGap::error("logs", "pods/log", "HTTP 403"));
        current.coverage.push(CoverageGap::unavailable("workloads", "x", "not offered"));
        apply_diff(&mut current, &previous);
        let diff = current.diff.expect("diff is set");
        assert_eq!(diff.unverified.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(), ["PodIOError"]);
        assert_eq!(diff.resolved.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn duplicate_previous_findings_resolve_once() {
        let previous = report("p", vec![finding("a", "web", "workloads"), finding("a", "web", "workloads")]);
        let mut current = report("c", vec![]);
        apply_diff(&mut current, &previous);
        assert_eq!(current.diff.expect("diff is set").resolved.len(), 1);
    }
}

//! Reports built from snapshot fixtures through the library, made
//! deterministic: fixed start and finish times, tool version and sources
//! (the fixtures' `collectedAt` fixes everything the checks measure).

use std::path::{Path, PathBuf};

use kubeeye::collect::offline;
use kubeeye::config::InspectSettings;
use kubeeye::inspect::Inspected;
use kubeeye::report::{Finding, Report, Severity, Summary};
use kubeeye::rules::RuleSet;

/// The start time every fixture report carries.
pub const STARTED_AT: &str = "2026-11-25T02:00:00Z";
/// The finish time every fixture report carries.
pub const FINISHED_AT: &str = "2026-11-25T02:00:07Z";

/// A path below the crate root.
pub fn path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The report of the snapshot files or directories at `paths` (relative to
/// the crate root) with the built-in rules at their default severities.
pub fn report(paths: &[&str]) -> Report {
    let files: Vec<PathBuf> = paths.iter().map(|p| path(p)).collect();
    let inventory = offline::load(&files).expect("fixture loads");
    let rules = RuleSet::builtin().expect("built-in rules load");
    let evaluation = kubeeye::checks::evaluate_with(&inventory, &rules, &InspectSettings::default());
    let cluster = inventory.cluster.clone().unwrap_or_else(|| "fixture".into());
    let readiness = kubeeye::checks::verdict::node_readiness(&inventory);
    let health = kubeeye::checks::verdict::assess(&readiness, &rules, &evaluation.findings);
    let overview = kubeeye::inspect::overview::overview(&inventory, &inventory.gaps);
    let inspected = Inspected {
        cluster: None,
        sources: paths.iter().map(|p| format!("snapshot:{p}")).collect(),
        started_at: STARTED_AT.into(),
        finished_at: None,
        gaps: inventory.gaps,
        evaluation,
        scope: None,
        health: Some(health),
        overview: Some(overview),
        node_checks: None,
    };
    let mut report = inspected.into_report(&rules, cluster);
    report.finished_at = FINISHED_AT.into();
    report.tool.version = "0.0.0-test".into();
    // Sources as a user in the crate root would name them, whatever the checkout's path.
    let root = format!("{}/", env!("CARGO_MANIFEST_DIR"));
    for source in report.findings.iter_mut().filter_map(|f| f.source.as_mut()) {
        if let Some(relative) = source.file.strip_prefix(&root) {
            source.file = relative.to_string().into();
        }
    }
    report
}

/// The report of `tests/fixtures/report`: something in every section.
pub fn cluster_report() -> Report {
    report(&["tests/fixtures/report"])
}

/// What a previous inspection of `tests/fixtures/report` might have found a
/// day earlier: today's control-plane and NotReady findings were not there
/// yet, and a hostPath finding since resolved was.
pub fn previous_report() -> Report {
    let mut previous = cluster_report();
    previous.started_at = "2026-11-24T02:00:00Z".into();
    previous.finished_at = "2026-11-24T02:00:06Z".into();
    // Today's first control-plane and node findings are new.
    previous.findings.retain(|f| f.rule != "ETCDHealthStatus" && f.rule != "NodeNotReady");
    let (rule, kind, namespace, name) = ("hostPathSet", "DaemonSet", Some("monitoring"), "node-exporter");
    previous.findings.push(Finding {
        rule: rule.into(),
        severity: Severity::Warning,
        category: "Security".into(),
        section: "workloads".into(),
        kind: kind.into(),
        namespace: namespace.map(Into::into),
        name: name.into(),
        container: None,
        message: "HostPath volumes should not be used".into(),
        remediation: "Use a PersistentVolumeClaim, ConfigMap or emptyDir instead of a hostPath volume.".into(),
        fingerprint: Finding::fingerprint_of(rule, kind, namespace, name, None),
        reason: None,
        count: None,
        first_seen: None,
        last_seen: None,
        status: None,
        pods: None,
        source: None,
    });
    previous.summary = Summary::from_findings(&previous.findings, previous.summary.passed);
    previous
}

/// Payloads that must show up as text in the HTML report of [`xss_report`]
/// (each would set `window.__xss` or open a dialog if it ran).
pub const XSS_TEXTS: &[&str] = &[
    "</script><script>window.__xss='event';alert('event')</script>",
    "\"><img src=x onerror=\"window.__xss='node';alert('node')\">",
    "<script>window.__xss='readyz';alert('readyz')</script>",
    "<script>window.__xss='log';alert('log')</script>",
    "<svg onload=window.__xss='waiting'>",
    "<script>window.__xss='name';alert('name')</script>",
    "javascript:window.__xss='ref';alert('ref')",
    "HTTP 403 </td></tr></table><script>window.__xss='coverage2'</script>",
];

/// The report of `tests/fixtures/xss`, plus what a snapshot cannot hold but
/// a renderer must not trust either: an object name, namespace, container,
/// category and rule id made of markup, a rule whose references are
/// `javascript:` and `data:` URLs, and a resolved finding with a payload name.
pub fn xss_report() -> Report {
    let mut report = report(&["tests/fixtures/xss"]);
    let rule = "evil\"><svg onload=window.__xss='rule'>";
    let (kind, namespace, name) = (
        "Deployment",
        Some("\"><img src=x onerror=\"window.__xss='ns'\">"),
        "<script>window.__xss='name';alert('name')</script>",
    );
    let container = Some("<svg onload=window.__xss='container'>");
    let finding = Finding {
        rule: rule.into(),
        severity: Severity::Danger,
        category: "<b onmouseover=window.__xss='category'>Evil</b>".into(),
        section: "workloads".into(),
        kind: kind.into(),
        namespace: namespace.map(Into::into),
        name: name.into(),
        container: container.map(Into::into),
        message: "' onmouseover='window.__xss=5' x='".into(),
        remediation: "<script>window.__xss='remediation'</script>".into(),
        fingerprint: Finding::fingerprint_of(rule, kind, namespace, name, container),
        reason: None,
        count: None,
        first_seen: None,
        last_seen: None,
        status: None,
        pods: None,
        source: None,
    };
    report.rules.insert(
        rule.into(),
        kubeeye::report::RuleDoc {
            category: finding.category.to_string(),
            description: "A rule from a user file <script>window.__xss='description'</script>".into(),
            why: "\"><img src=x onerror=\"window.__xss='why'\">".into(),
            remediation: "Line one\n  <script>window.__xss='remediation'</script>\nline three".into(),
            references: vec![
                "javascript:window.__xss='ref';alert('ref')".into(),
                "data:text/html,<script>window.__xss='data'</script>".into(),
                " JavaScript:window.__xss='ref2'".into(),
                "https://kubernetes.io/docs/concepts/security/pod-security-standards/".into(),
            ],
        },
    );
    report.findings.insert(0, finding);
    report.summary = Summary::from_findings(&report.findings, report.summary.passed);

    let mut previous = report.clone();
    previous.started_at = "2026-11-24T02:00:00Z".into();
    let mut gone = previous.findings[0].clone();
    gone.name = "<script>window.__xss='resolved'</script>".into();
    gone.fingerprint = Finding::fingerprint_of(&gone.rule, &gone.kind, gone.namespace.as_deref(), &gone.name, None);
    previous.findings.push(gone);
    kubeeye::report::apply_diff(&mut report, &previous);
    report
}

//! The report as Prometheus metrics, for alerting on the nightly job itself
//! ("no successful run in 26 h", "a new danger finding"): the OpenMetrics
//! file archived beside the reports (`report.prom`) and the body pushed to a
//! Pushgateway (the text exposition format it reads), from one function.
//!
//! Every series carries `cluster`. `kubeeye_last_success_timestamp_seconds`
//! is written only for a run that reached the cluster, so a Pushgateway keeps
//! the last success across failed nights.

use std::fmt::Write as _;
use std::io::Write;

use crate::inventory::GapKind;
use crate::report::Report;

/// Which text format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenMetrics 1.0 (`# UNIT` lines, `# EOF`): the archived file.
    OpenMetrics,
    /// The Prometheus text format 0.0.4: what a Pushgateway accepts.
    Prometheus,
}

/// Writes the report's metrics.
pub fn write_metrics(report: &Report, dialect: Dialect, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(render(report, dialect).as_bytes())
}

/// The report's metrics as text.
pub fn render(report: &Report, dialect: Dialect) -> String {
    let cluster = format!("cluster=\"{}\"", escape(&report.cluster.name));
    let mut text = String::new();
    let mut family = |name: &str, unit: Option<&str>, help: &str, samples: &[(String, String)]| {
        let _ = writeln!(text, "# HELP {name} {help}");
        let _ = writeln!(text, "# TYPE {name} gauge");
        if let (Dialect::OpenMetrics, Some(unit)) = (dialect, unit) {
            let _ = writeln!(text, "# UNIT {name} {unit}");
        }
        for (labels, value) in samples {
            let _ = writeln!(text, "{name}{{{labels}}} {value}");
        }
    };

    let mut findings = Vec::new();
    for (category, counts) in &report.summary.by_category {
        for (severity, n) in [("danger", counts.danger), ("warning", counts.warning), ("info", counts.info)] {
            let labels = format!("{cluster},severity=\"{severity}\",category=\"{}\"", escape(category));
            findings.push((labels, n.to_string()));
        }
    }
    family("kubeeye_findings", None, "Findings of the latest run, by severity and category.", &findings);
    // No sample when nothing was evaluated: a score of 0 or 100 would be made up.
    let score: Vec<(String, String)> =
        report.summary.score.map(|s| (cluster.clone(), s.to_string())).into_iter().collect();
    family(
        "kubeeye_score",
        None,
        "Polaris's best-practice score of the latest run (0-100); no sample when nothing was evaluated.",
        &score,
    );
    let started = crate::clock::parse(&report.started_at);
    let finished = crate::clock::parse(&report.finished_at).or(started);
    if let (Some(s), Some(f)) = (started, finished) {
        let seconds = f.duration_since(s).as_secs_f64().max(0.0);
        family(
            "kubeeye_inspection_duration_seconds",
            Some("seconds"),
            "How long the latest inspection took.",
            &[(cluster.clone(), format!("{seconds:.3}"))],
        );
    }
    if let Some(f) = finished {
        let at = f.as_second().to_string();
        family(
            "kubeeye_last_run_timestamp_seconds",
            Some("seconds"),
            "When the latest run finished (Unix time).",
            &[(cluster.clone(), at.clone())],
        );
        if report.reached_cluster() {
            family(
                "kubeeye_last_success_timestamp_seconds",
                Some("seconds"),
                "When the latest run that reached the cluster finished (Unix time).",
                &[(cluster.clone(), at)],
            );
        }
    }
    let gaps = report.coverage.iter().filter(|g| g.kind == GapKind::Error).count();
    family(
        "kubeeye_coverage_gaps",
        None,
        "Parts of the cluster the latest run could not inspect because reading failed.",
        &[(cluster, gaps.to_string())],
    );
    if dialect == Dialect::OpenMetrics {
        text.push_str("# EOF\n");
    }
    text
}

/// A label value as the exposition formats quote it.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}

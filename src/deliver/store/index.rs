//! `latest.json`, each cluster's pointer to its newest archived run, and the
//! fleet overview (`index.html`) rendered from all of them.

use serde::{Deserialize, Serialize};

use crate::deliver::templates::{self, Escape, TemplateError};
use crate::report::{Health, HealthStatus, Report, Summary};

/// Current [`Latest::schema_version`].
pub const LATEST_SCHEMA_VERSION: &str = "1";

/// `<cluster>/latest.json`: small enough to read for every cluster when the
/// index is rebuilt; the full report is one more read away.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Latest {
    /// Version of this structure.
    pub schema_version: String,
    /// The cluster's display name.
    pub cluster: String,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// Whether everything could be inspected.
    pub complete: bool,
    /// Whether the cluster is up (absent for runs before health existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Counts and score.
    pub summary: Summary,
    /// The run's reports, as keys relative to the store prefix.
    pub reports: ReportKeys,
    /// The newest run that reached the cluster (this one, when it did): what
    /// the next run compares with, and a run retention never prunes. Absent in
    /// pointers written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
}

/// A run kept as the baseline: when it started and its reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Baseline {
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// Its reports, as keys relative to the store prefix.
    pub reports: ReportKeys,
}

/// The keys of one run's reports, relative to the store prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportKeys {
    /// `report.html`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// `report.csv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<String>,
    /// `report.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    /// `report.prom`: the run's metrics (OpenMetrics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<String>,
}

impl ReportKeys {
    /// Records the key of one format.
    pub fn set(&mut self, format: &str, key: String) {
        match format {
            "html" => self.html = Some(key),
            "csv" => self.csv = Some(key),
            "json" => self.json = Some(key),
            "prom" => self.metrics = Some(key),
            _ => {}
        }
    }

    /// Drops every key that is not a report of cluster directory `segment` in
    /// the archive layout, with its own format: a `latest.json` written by
    /// another cluster (or by hand) cannot make the index link `javascript:`,
    /// `data:`, `../` or another cluster's files.
    pub fn keep_own(&mut self, segment: &str) {
        for (format, key) in
            [("html", &mut self.html), ("csv", &mut self.csv), ("json", &mut self.json), ("prom", &mut self.metrics)]
        {
            let own = key
                .as_deref()
                .and_then(super::layout::parse_report_key)
                .is_some_and(|k| k.cluster == segment && k.format == format);
            if !own {
                *key = None;
            }
        }
    }

    /// The keys present, in html, csv, json, metrics order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        [&self.html, &self.csv, &self.json, &self.metrics].into_iter().flatten().map(String::as_str)
    }
}

impl Latest {
    /// The pointer to a run just archived. `previous` is the pointer it
    /// replaces: a run that could not reach the cluster keeps its baseline.
    pub fn of(report: &Report, reports: ReportKeys, previous: Option<&Latest>) -> Self {
        let baseline = if report.reached_cluster() {
            Some(Baseline { started_at: report.started_at.clone(), reports: reports.clone() })
        } else {
            // A pointer from before baselines existed: its run is one when it was complete.
            previous.and_then(|p| {
                p.baseline.clone().or_else(|| {
                    p.complete.then(|| Baseline { started_at: p.started_at.clone(), reports: p.reports.clone() })
                })
            })
        };
        Latest {
            baseline,
            schema_version: LATEST_SCHEMA_VERSION.into(),
            cluster: report.cluster.name.clone(),
            started_at: report.started_at.clone(),
            complete: report.complete,
            health: report.health.clone(),
            summary: report.summary.clone(),
            reports,
        }
    }
}

/// One row of the fleet overview.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Row<'a> {
    #[serde(flatten)]
    latest: &'a Latest,
    /// `danger`, `warning` or `ok`: a CSS class, from the health (the worst severity without one).
    status: &'static str,
    /// What the status column says: `down`, `degraded`, `healthy` (or the severity without health).
    status_text: &'static str,
    /// The health reasons, comma-separated.
    reasons: String,
    /// The best-practice score (`91`), or `n/a` when the run evaluated nothing.
    score: String,
}

/// What `index.html.hbs` sees.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexView<'a> {
    generated_at: String,
    clusters: Vec<Row<'a>>,
    danger: usize,
    warning: usize,
    incomplete: usize,
}

/// Renders the fleet overview from every cluster's `latest.json`. Links are
/// relative to the index, which sits at the top of the prefix, so the page
/// works wherever the bucket is served from.
pub fn render_index(clusters: &[Latest], generated_at: &str) -> Result<String, TemplateError> {
    let mut rows: Vec<Row> = clusters
        .iter()
        .map(|latest| {
            let worst = if latest.summary.danger > 0 {
                "danger"
            } else if latest.summary.warning > 0 {
                "warning"
            } else {
                "ok"
            };
            let (status, status_text) = match latest.health.as_ref().map(|h| h.status) {
                Some(HealthStatus::Down) => ("danger", "down"),
                Some(HealthStatus::Degraded) => ("warning", "degraded"),
                Some(HealthStatus::Healthy) => ("ok", "healthy"),
                None => (worst, worst),
            };
            let reasons = latest.health.as_ref().map(|h| h.reasons.join(", ")).unwrap_or_default();
            let score = latest.summary.score.map_or_else(|| "n/a".to_string(), |s| s.to_string());
            Row { latest, status, status_text, reasons, score }
        })
        .collect();
    rows.sort_by(|a, b| a.latest.cluster.cmp(&b.latest.cluster));
    let view = IndexView {
        generated_at: generated_at.to_string(),
        danger: clusters.iter().map(|c| c.summary.danger).sum(),
        warning: clusters.iter().map(|c| c.summary.warning).sum(),
        incomplete: clusters.iter().filter(|c| !c.complete).count(),
        clusters: rows,
    };
    templates::render("index.html", templates::INDEX_HTML, Escape::Html, &view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_escapes_cluster_names_and_links_relatively() {
        let latest = Latest {
            schema_version: "1".into(),
            cluster: "<script>alert(1)</script>".into(),
            started_at: "2026-11-25T02:00:00Z".into(),
            complete: false,
            health: Some(Health { status: HealthStatus::Degraded, reasons: vec!["1 node NotReady".into()] }),
            summary: Summary { danger: 3, warning: 12, score: Some(71), ..Summary::default() },
            reports: ReportKeys {
                html: Some("x/2026/11/25/20261125T020000Z/report.html".into()),
                csv: None,
                json: Some("x/2026/11/25/20261125T020000Z/report.json".into()),
                metrics: None,
            },
            baseline: None,
        };
        let unscored = Latest {
            cluster: "empty".into(),
            summary: Summary { score: None, ..Summary::default() },
            ..latest.clone()
        };
        let html = render_index(&[latest, unscored], "2026-11-25T02:05:00Z").unwrap();
        assert!(html.contains("<td class=\"num\">n/a</td>"), "a run that evaluated nothing: {html}");
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("href=\"x/2026/11/25/20261125T020000Z/report.html\""));
        assert!(html.contains(">71<"));
        assert!(html.contains("<td class=\"warning\">degraded"), "health, not the worst severity: {html}");
        assert!(html.contains("1 node NotReady"));
    }

    #[test]
    fn a_foreign_latest_json_links_only_its_own_reports() {
        let mut keys = ReportKeys {
            html: Some("javascript:alert(1)".into()),
            csv: Some("../../other/2026/11/25/20261125T020000Z/report.csv".into()),
            json: Some("other/2026/11/25/20261125T020000Z/report.json".into()),
            metrics: Some("other/2026/11/25/20261125T020000Z/report.prom".into()),
        };
        keys.keep_own("prod");
        assert_eq!(keys, ReportKeys::default());
        let mut mine = ReportKeys {
            html: Some("prod/2026/11/25/20261125T020000Z/report.html".into()),
            csv: Some("data:text/html,x".into()),
            json: Some("prod/2026/11/25/20261125T020000Z/report.csv".into()),
            metrics: Some("prod/2026/11/25/20261125T020000Z/report.prom".into()),
        };
        mine.keep_own("prod");
        assert_eq!(mine.html.as_deref(), Some("prod/2026/11/25/20261125T020000Z/report.html"));
        assert_eq!((mine.csv, mine.json), (None, None));
        assert_eq!(mine.metrics.as_deref(), Some("prod/2026/11/25/20261125T020000Z/report.prom"));
    }
}

//! Where this tool writes in the store, and how it recognises its own
//! objects again. All keys here are relative to the configured prefix:
//!
//! ```text
//! <cluster>/<YYYY>/<MM>/<DD>/<YYYYMMDDTHHMMSSZ>/report.{html,csv,json}
//! <cluster>/latest.json
//! index.html
//! ```
//!
//! Pruning deletes only keys that [`parse_report_key`] accepts, so anything
//! else a bucket holds is never touched. Pure functions, no I/O.

use crate::clock::Timestamp;
use crate::config::Retention;

/// The report formats the layout knows (`report.prom`: the run's metrics in
/// OpenMetrics). JSON last: uploads go in reverse order, the baseline first.
pub const FORMATS: [&str; 4] = ["html", "csv", "prom", "json"];

/// The name of each cluster's pointer to its latest run.
pub const LATEST: &str = "latest.json";

/// The fleet overview at the top of the prefix.
pub const INDEX: &str = "index.html";

/// A cluster name as one safe key segment: letters, digits, `.`, `_` and `-`
/// stay, anything else (slashes, spaces, unicode) becomes `-`. The store's
/// own file names ([`INDEX`], [`LATEST`]) are reserved: a cluster named so
/// gets `-cluster` appended, so it never shadows the shared index.
pub fn cluster_segment(name: &str) -> String {
    let segment: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' }).collect();
    // `.` and `..` are not segments an object store (or a file system) keeps.
    if segment.chars().all(|c| c == '.') {
        "cluster".into()
    } else if is_reserved(&segment) {
        format!("{segment}-cluster")
    } else {
        segment
    }
}

/// Whether a name is one of the store's own files, which no cluster may be named.
pub fn is_reserved(name: &str) -> bool {
    [INDEX, LATEST].iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// `20261125T020000Z`: a run's directory name, from its start time (UTC).
pub fn run_stamp(started: Timestamp) -> String {
    started.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Reads a run stamp back; `None` for anything that is not exactly one.
pub fn parse_run_stamp(stamp: &str) -> Option<Timestamp> {
    let b = stamp.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    if b.len() != 16 || !digits(0..8) || b[8] != b'T' || !digits(9..15) || b[15] != b'Z' {
        return None;
    }
    let s = stamp;
    crate::clock::parse(&format!("{}-{}-{}T{}:{}:{}Z", &s[0..4], &s[4..6], &s[6..8], &s[9..11], &s[11..13], &s[13..15]))
}

/// `<cluster>/<YYYY>/<MM>/<DD>/<stamp>`: the directory of one run.
pub fn run_dir(cluster: &str, started: Timestamp) -> String {
    let day = started.strftime("%Y/%m/%d");
    format!("{}/{day}/{}", cluster_segment(cluster), run_stamp(started))
}

/// `<run dir>/report.<format>`.
pub fn report_key(cluster: &str, started: Timestamp, format: &str) -> String {
    format!("{}/report.{format}", run_dir(cluster, started))
}

/// `<cluster>/latest.json`.
pub fn latest_key(cluster: &str) -> String {
    format!("{}/{LATEST}", cluster_segment(cluster))
}

/// A key this tool wrote for one run's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportKey {
    /// The cluster segment.
    pub cluster: String,
    /// The run's start.
    pub started: Timestamp,
    /// `html`, `csv` or `json`.
    pub format: String,
}

/// Recognises `<cluster>/YYYY/MM/DD/<stamp>/report.<format>` where the date
/// directories agree with the stamp. Everything else is not ours.
pub fn parse_report_key(key: &str) -> Option<ReportKey> {
    let parts: Vec<&str> = key.split('/').collect();
    let [cluster, year, month, day, stamp, file] = parts.as_slice() else { return None };
    let format = file.strip_prefix("report.").filter(|f| FORMATS.contains(f))?;
    let started = parse_run_stamp(stamp)?;
    if cluster.is_empty() || cluster_segment(cluster) != *cluster || format!("{year}{month}{day}") != stamp[..8] {
        return None;
    }
    Some(ReportKey { cluster: cluster.to_string(), started, format: format.to_string() })
}

/// Which runs retention removes, given every run's start time. The newest
/// run is always kept, whatever its age, so `latest.json` never points at a
/// deleted report; so are the runs in `kept` (the baseline).
pub fn runs_to_prune(runs: &[Timestamp], retention: &Retention, now: Timestamp, kept: &[Timestamp]) -> Vec<Timestamp> {
    let mut runs = runs.to_vec();
    runs.sort_unstable_by(|a, b| b.cmp(a));
    runs.dedup();
    let cutoff = retention.max_age_days.map(|days| now.as_second() - i64::from(days) * 86_400);
    let keep = retention.max_count.unwrap_or(usize::MAX).max(1);
    runs.into_iter()
        .enumerate()
        .skip(1)
        .filter(|(i, ts)| *i >= keep || cutoff.is_some_and(|c| ts.as_second() < c))
        .map(|(_, ts)| ts)
        .filter(|ts| !kept.contains(ts))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        crate::clock::parse(s).unwrap()
    }

    #[test]
    fn keys_follow_the_documented_layout_and_parse_back() {
        let started = ts("2026-11-25T02:00:00.5Z");
        assert_eq!(report_key("prod-eu", started, "html"), "prod-eu/2026/11/25/20261125T020000Z/report.html");
        assert_eq!(latest_key("prod eu/1"), "prod-eu-1/latest.json");
        assert_eq!(cluster_segment(".."), "cluster");
        assert_eq!(cluster_segment("index.html"), "index.html-cluster");
        assert_eq!(cluster_segment("LATEST.json"), "LATEST.json-cluster");
        assert_eq!(latest_key("latest.json"), "latest.json-cluster/latest.json");
        assert!(parse_report_key("index.html/2026/11/25/20261125T020000Z/report.json").is_none());
        let parsed = parse_report_key("prod-eu/2026/11/25/20261125T020000Z/report.json").unwrap();
        assert_eq!(parsed.cluster, "prod-eu");
        assert_eq!(parsed.started, ts("2026-11-25T02:00:00Z"));
        assert_eq!(parsed.format, "json");
    }

    #[test]
    fn foreign_keys_are_not_ours() {
        for key in [
            "prod-eu/latest.json",
            "prod-eu/2026/11/25/20261125T020000Z/report.pdf",
            "prod-eu/2026/11/25/20261125T020000Z/notes.html",
            "prod-eu/2026/11/24/20261125T020000Z/report.html",
            "prod-eu/2026/11/25/2026-11-25/report.html",
            "prod-eu/2026/11/25/20261125T020000Z/extra/report.html",
            "backups/2026/11/25/20261125T020000Z",
            "prod eu/2026/11/25/20261125T020000Z/report.html",
            "prod-eu/2026/13/45/20261345T020000Z/report.html",
        ] {
            assert_eq!(parse_report_key(key), None, "{key}");
        }
    }

    #[test]
    fn retention_by_count_and_age_always_keeps_the_newest() {
        let now = ts("2026-11-25T02:00:00Z");
        let runs: Vec<_> =
            ["2026-11-25T02:00:00Z", "2026-11-24T02:00:00Z", "2026-11-20T02:00:00Z", "2026-11-01T02:00:00Z"]
                .map(ts)
                .to_vec();
        let by_count = Retention { max_age_days: None, max_count: Some(2) };
        assert_eq!(runs_to_prune(&runs, &by_count, now, &[]), runs[2..].to_vec());
        let by_age = Retention { max_age_days: Some(7), max_count: None };
        assert_eq!(runs_to_prune(&runs, &by_age, now, &[]), vec![runs[3]]);
        assert!(runs_to_prune(&runs, &Retention::default(), now, &[]).is_empty());
        let all_old = Retention { max_age_days: Some(1), max_count: Some(0) };
        assert_eq!(runs_to_prune(&runs[2..], &all_old, now, &[]), vec![runs[3]]);
        assert_eq!(runs_to_prune(&runs, &by_count, now, &[runs[3]]), vec![runs[2]], "the baseline stays");
    }
}

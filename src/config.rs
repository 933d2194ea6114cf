//! Inspection settings: thresholds, windows and collection limits, with their
//! defaults in one place. Loaded from the `inspection:` part of a config file
//! (`ke run --config`, `ke diag --config`) and validated before any I/O.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything that tunes one inspection. Every field has a default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct InspectSettings {
    /// Usage and age thresholds of the code checks.
    pub thresholds: Thresholds,
    /// Warning events.
    pub events: EventSettings,
    /// Container logs.
    pub logs: LogSettings,
    /// How the live collector talks to the API server.
    pub collection: CollectionSettings,
}

/// Thresholds of the node, certificate, lease and pod checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Thresholds {
    /// `NodeCPU`: usage ÷ allocatable above this percentage.
    pub node_cpu_percent: f64,
    /// `NodeMemory`: working set ÷ allocatable above this percentage.
    pub node_memory_percent: f64,
    /// `NodeDisk`: filesystem bytes or inodes used above this percentage.
    pub node_disk_percent: f64,
    /// `NodeApiServerExpiredPeriod`: warning when the certificate expires within this many days.
    pub certificate_warning_days: u32,
    /// `NodeApiServerExpiredPeriod`: danger within this many days.
    pub certificate_danger_days: u32,
    /// `KubeletHealthStatus`: a Ready heartbeat older than this many seconds means the kubelet stopped
    /// posting. The kubelet rewrites an unchanged status only every 5 minutes (nodeStatusReportFrequency),
    /// so the default leaves room beyond that.
    pub heartbeat_stale_seconds: u64,
    /// Scheduler / controller-manager leases: allowed clock skew on top of the lease duration, seconds.
    pub lease_skew_seconds: u64,
    /// `PodCrashLooping`: restarts at or above this count (with a restart inside the window) are reported.
    pub restart_count: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            node_cpu_percent: 80.0,
            node_memory_percent: 80.0,
            node_disk_percent: 80.0,
            certificate_warning_days: 30,
            certificate_danger_days: 7,
            heartbeat_stale_seconds: 600,
            lease_skew_seconds: 30,
            restart_count: 10,
        }
    }
}

/// How Warning events are read and grouped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EventSettings {
    /// Only events seen within this window count (also the log window).
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Reasons never reported as `WarningEvent` (noisy in your cluster).
    pub ignore_reasons: Vec<String>,
}

impl Default for EventSettings {
    fn default() -> Self {
        EventSettings { window: Duration::from_secs(24 * 3600), ignore_reasons: Vec::new() }
    }
}

/// Bounds on container log collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LogSettings {
    /// Read logs at all.
    pub enabled: bool,
    /// Lines from the end of each log.
    pub tail_lines: u32,
    /// At most this many bytes per log.
    pub limit_bytes: u64,
    /// Logs read at once.
    pub concurrency: usize,
    /// Give up on one log after this long.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Longest sample line kept in a finding.
    pub sample_chars: usize,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            enabled: true,
            tail_lines: 200,
            limit_bytes: 256 * 1024,
            concurrency: 16,
            timeout: Duration::from_secs(10),
            sample_chars: 200,
        }
    }
}

/// How the live collector reads the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CollectionSettings {
    /// Items per list page (`limit`).
    pub page_size: u32,
    /// Lists read at once.
    pub concurrency: usize,
    /// Give up on one request after this long.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Read node filesystem usage from the kubelet Summary API through the node proxy.
    /// Needs `nodes/proxy` (a broad grant); off means `NodeDisk` is not evaluated.
    pub kubelet_summary: bool,
    /// `--snapshot`: a file larger than this many bytes is not read (a coverage gap).
    pub max_file_bytes: u64,
}

impl Default for CollectionSettings {
    fn default() -> Self {
        CollectionSettings {
            page_size: 500,
            concurrency: 8,
            request_timeout: Duration::from_secs(30),
            kubelet_summary: true,
            max_file_bytes: crate::collect::offline::DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// Durations written as `90s`, `10m`, `24h`, `1h30m` (humantime).
mod humantime_serde {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

/// Optional durations, same syntax.
mod humantime_serde_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format_duration(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| super::parse_duration(&t).map_err(serde::de::Error::custom)).transpose()
    }
}

/// Parses `90s`, `10m`, `24h`, `7d`, `1h30m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return Err(format!("`{text}` is not a duration (use e.g. 90s, 10m, 24h, 7d)")),
        };
        let n: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration (use e.g. 90s, 10m, 24h, 7d)"))?;
        total += n * unit;
        number.clear();
    }
    if !number.is_empty() || total == 0 && text != "0s" {
        return Err(format!("`{text}` is not a duration (use e.g. 90s, 10m, 24h, 7d)"));
    }
    Ok(Duration::from_secs(total))
}

/// Formats a duration the way [`parse_duration`] reads it.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".into(),
        s if s % 86400 == 0 => format!("{}d", s / 86400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_duration("600"), Ok(Duration::from_secs(600)));
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("m").is_err());
        assert_eq!(format_duration(Duration::from_secs(86400)), "1d");
    }

    #[test]
    fn partial_settings_fill_defaults_and_unknown_keys_fail() {
        let s: InspectSettings =
            serde_norway::from_str("thresholds: {nodeCpuPercent: 90}\nevents: {window: 6h}\n").unwrap();
        assert_eq!(s.thresholds.node_cpu_percent, 90.0);
        assert_eq!(s.thresholds.node_memory_percent, 80.0);
        assert_eq!(s.events.window, Duration::from_secs(6 * 3600));
        assert!(serde_norway::from_str::<InspectSettings>("thresholds: {nodeCpu: 90}\n").is_err());
    }
}

/// A config file: what `ke run` (and `ke diag --config`) reads. Unknown keys
/// are errors, so a typo never silently falls back to a default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct FileConfig {
    /// The cluster's display name in reports (default: the kubeconfig context, or `in-cluster`).
    pub cluster: Option<String>,
    /// Rule files (KubeEye or Polaris format), relative to the config file.
    pub rules: Vec<std::path::PathBuf>,
    /// Only these namespaces (empty = all).
    pub namespaces: Vec<String>,
    /// Never these namespaces.
    pub exclude_namespaces: Vec<String>,
    /// Thresholds, windows and collection limits.
    pub inspection: InspectSettings,
    /// `ke run`: exit with code 1 when a finding reaches this severity (`danger` or `warning`).
    pub fail_on: Option<String>,
    /// `ke run`: where reports are written locally first.
    pub outputs: OutputSettings,
    /// `ke run`: the object store reports are archived in.
    pub storage: StorageSettings,
    /// `ke run`: who hears about the result.
    pub notify: NotifySettings,
}

/// The local copy of each run's reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct OutputSettings {
    /// Directory the reports are written to before any upload (default `kubeeye-reports`).
    pub directory: std::path::PathBuf,
    /// Which reports to render: `html`, `csv`, `json` (default all three).
    pub formats: Vec<String>,
}

impl Default for OutputSettings {
    fn default() -> Self {
        OutputSettings {
            directory: "kubeeye-reports".into(),
            formats: vec!["html".into(), "csv".into(), "json".into()],
        }
    }
}

/// Object storage for the report archive. Credentials never live here: they
/// come from the environment or from files mounted from a Secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct StorageSettings {
    /// `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`, or
    /// `file:///path` (default: `file://` + the outputs directory).
    pub url: Option<String>,
    /// S3-compatible endpoint (MinIO, Ceph RGW, Garage), e.g. `http://minio.minio:9000`.
    pub endpoint: Option<String>,
    /// Region (S3); default `us-east-1`.
    pub region: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), as most S3-compatible servers need.
    pub path_style: bool,
    /// Allow plain HTTP endpoints (in-cluster MinIO).
    pub allow_http: bool,
    /// Environment variable holding the access key id (default `AWS_ACCESS_KEY_ID`).
    pub access_key_id_env: Option<String>,
    /// Environment variable holding the secret access key (default `AWS_SECRET_ACCESS_KEY`).
    pub secret_access_key_env: Option<String>,
    /// File holding the access key id (a mounted Secret), instead of the environment.
    pub access_key_id_file: Option<std::path::PathBuf>,
    /// File holding the secret access key (a mounted Secret).
    pub secret_access_key_file: Option<std::path::PathBuf>,
    /// Base URL the archived reports are served from, for links in notifications
    /// (otherwise a presigned URL where the store supports it).
    pub public_base_url: Option<String>,
    /// Lifetime of presigned links (default `7d`).
    #[serde(with = "humantime_serde_opt")]
    pub presign_expiry: Option<Duration>,
    /// Pruning of old runs.
    pub retention: Retention,
    /// Attempts per upload before giving up (default 4), with exponential backoff.
    pub attempts: Option<u32>,
}

/// How long archived runs are kept. Only runs this tool wrote are pruned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Retention {
    /// Delete runs older than this many days.
    pub max_age_days: Option<u32>,
    /// Keep at most this many runs per cluster.
    pub max_count: Option<usize>,
}

/// Notification channels. Secrets (SMTP password, webhook URLs) are named by
/// environment variable or file, never written here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NotifySettings {
    /// When to notify: `always` (default), `findings` (danger or warning present), `changes` (new or resolved findings).
    pub when: Option<String>,
    /// The email digest.
    pub email: Option<EmailSettings>,
    /// Webhooks: Slack, Teams, DingTalk, Feishu, WeCom, or generic JSON.
    pub webhooks: Vec<WebhookSettings>,
}

/// SMTP delivery of the digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailSettings {
    /// SMTP server host.
    pub host: String,
    /// Port (default 587 for starttls, 465 for tls, 25 for none).
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` (implicit), or `none` (an in-cluster relay).
    #[serde(default)]
    pub tls: Option<String>,
    /// PEM file of an extra CA to trust (a private relay).
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// Username, when the server wants authentication.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the password (default `KE_SMTP_PASSWORD`).
    #[serde(default)]
    pub password_env: Option<String>,
    /// File holding the password (a mounted Secret).
    #[serde(default)]
    pub password_file: Option<std::path::PathBuf>,
    /// Sender address.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Attach the CSV report.
    #[serde(default)]
    pub attach_csv: bool,
    /// Give up on the server after this long (default 30s).
    #[serde(default, with = "humantime_serde_opt")]
    pub timeout: Option<Duration>,
}

/// One webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookSettings {
    /// A name for logs and the delivery summary.
    pub name: String,
    /// `slack`, `generic`, `teams`, `dingtalk`, `feishu` or `wecom`.
    pub format: String,
    /// Environment variable holding the URL (webhook URLs are credentials).
    #[serde(default)]
    pub url_env: Option<String>,
    /// File holding the URL (a mounted Secret).
    #[serde(default)]
    pub url_file: Option<std::path::PathBuf>,
    /// Give up on one attempt after this long (default 10s).
    #[serde(default, with = "humantime_serde_opt")]
    pub timeout: Option<Duration>,
    /// Attempts before giving up (default 3), with exponential backoff.
    #[serde(default)]
    pub attempts: Option<u32>,
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// What is wrong, and where.
    pub problem: String,
}

impl FileConfig {
    /// Reads and validates a config file; rule paths become relative to its directory.
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let err = |problem: String| ConfigError { file: path.display().to_string(), problem };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let text = crate::yaml::prepare(&text).map_err(err)?.to_owned();
        let mut config: FileConfig = if text.trim().is_empty() {
            FileConfig::default()
        } else {
            serde_norway::from_str(&text).map_err(|e| err(e.to_string()))?
        };
        let base = path.parent().unwrap_or(std::path::Path::new("."));
        for rule in &mut config.rules {
            if rule.is_relative() {
                *rule = base.join(&*rule);
            }
        }
        config.validate().map_err(err)?;
        Ok(config)
    }

    /// Checks values serde cannot: ranges and relations.
    pub fn validate(&self) -> Result<(), String> {
        let t = &self.inspection.thresholds;
        for (name, v) in [
            ("inspection.thresholds.nodeCpuPercent", t.node_cpu_percent),
            ("inspection.thresholds.nodeMemoryPercent", t.node_memory_percent),
            ("inspection.thresholds.nodeDiskPercent", t.node_disk_percent),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return Err(format!("{name} must be between 0 and 100, not {v}"));
            }
        }
        if t.certificate_danger_days > t.certificate_warning_days {
            return Err("inspection.thresholds.certificateDangerDays must not exceed certificateWarningDays".into());
        }
        let l = &self.inspection.logs;
        if l.tail_lines == 0 || l.limit_bytes == 0 {
            return Err("inspection.logs.tailLines and inspection.logs.limitBytes must be at least 1 (set logs.enabled: false to read no logs)".into());
        }
        let c = &self.inspection.collection;
        if c.page_size == 0 || c.concurrency == 0 || self.inspection.logs.concurrency == 0 {
            return Err(
                "inspection.collection.pageSize, collection.concurrency and logs.concurrency must be at least 1".into(),
            );
        }
        Ok(())
    }
}

//! Inspection settings: thresholds, windows and collection limits, with their
//! defaults in one place. Loaded from the `inspection:` part of a config file
//! (`ke run --config`, `ke diag --config`) and validated before any I/O.

use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::report::Severity;

pub mod reference;

/// Everything that tunes one inspection. Every field has a default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// Which exemptions apply.
    pub exemptions: ExemptionSettings,
    /// The Prometheus that `target: Prometheus` rules ask.
    pub prometheus: PrometheusSettings,
    /// TCP connects to each Service's ClusterIP ports (`ServiceNotAnswering`).
    pub service_connect: ServiceConnectSettings,
}

/// Whether the job connects to each Service's ClusterIP TCP ports, as
/// KubeEye's `serviceConnect` did: a port that refuses or does not answer in
/// time is a `ServiceNotAnswering` finding. Off by default: it needs egress
/// from the job's pod to every Service (a NetworkPolicy that allows it), and
/// it opens a connection to each port (closed at once, nothing is sent).
/// Headless and ExternalName Services and UDP/SCTP ports are skipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ServiceConnectSettings {
    /// Connect to the Services' ports.
    pub enabled: bool,
    /// Give up on one port after this long (it is then reported as not answering).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationText")]
    pub timeout: Duration,
    /// Connections in flight at once.
    pub concurrency: usize,
}

impl Default for ServiceConnectSettings {
    fn default() -> Self {
        ServiceConnectSettings { enabled: false, timeout: Duration::from_secs(3), concurrency: 16 }
    }
}

impl ServiceConnectSettings {
    fn validate(&self) -> Result<(), String> {
        if self.timeout.is_zero() || self.concurrency == 0 {
            return Err("inspection.serviceConnect.timeout and concurrency must be above 0".into());
        }
        Ok(())
    }
}

/// Which exemptions apply. Every exemption that applied is listed in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ExemptionSettings {
    /// Exemption annotations on objects (`polaris.fairwinds.com/exempt`,
    /// `kubeeye.io/exempt` …) apply. `false`: they are ignored, so whoever can
    /// annotate a workload cannot take it out of the inspection (Polaris's
    /// `disallowAnnotationExemptions` in a rule file does the same).
    pub annotations: bool,
}

impl Default for ExemptionSettings {
    fn default() -> Self {
        ExemptionSettings { annotations: true }
    }
}

/// Where PromQL rules send their instant queries, and how. Credentials come
/// from environment variables or files, never from the config itself, and
/// go only to this endpoint (never to one a rule file names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PrometheusSettings {
    /// Base URL of the Prometheus HTTP API (`https://prometheus.example.com`,
    /// `http://prometheus-k8s.monitoring.svc:9090`, a path prefix included).
    /// Used for every PromQL rule, also those whose KubeEye file names a
    /// `prometheusEndpoint`.
    pub url: Option<String>,
    /// An in-cluster Service instead of `url`: `namespace/name:port`,
    /// reached as `http://name.namespace.svc:port` (`https://` with `caFile`).
    pub service: Option<String>,
    /// Environment variable holding a bearer token.
    pub bearer_token_env: Option<String>,
    /// File holding a bearer token (a projected service-account token, a mounted Secret).
    pub bearer_token_file: Option<PathBuf>,
    /// Environment variable holding the basic-auth user name.
    pub username_env: Option<String>,
    /// Environment variable holding the basic-auth password.
    pub password_env: Option<String>,
    /// PEM file of the CA that signed Prometheus's certificate (default: the system roots).
    pub ca_file: Option<PathBuf>,
    /// Give up on one query after this long (also sent as Prometheus's own `timeout`).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationText")]
    pub timeout: Duration,
    /// Queries in flight at once.
    pub concurrency: usize,
}

impl Default for PrometheusSettings {
    fn default() -> Self {
        PrometheusSettings {
            url: None,
            service: None,
            bearer_token_env: None,
            bearer_token_file: None,
            username_env: None,
            password_env: None,
            ca_file: None,
            timeout: Duration::from_secs(30),
            concurrency: 4,
        }
    }
}

impl PrometheusSettings {
    /// The configured base URL: `url`, or the Service's cluster DNS name.
    pub fn base_url(&self) -> Result<Option<String>, String> {
        match (&self.url, &self.service) {
            (Some(_), Some(_)) => Err("inspection.prometheus: set either `url` or `service`, not both".into()),
            (Some(url), None) => Ok(Some(url.trim_end_matches('/').to_string())),
            (None, Some(service)) => {
                let bad = || {
                    format!(
                        "inspection.prometheus.service: `{service}` is not `namespace/name:port` (e.g. monitoring/prometheus-k8s:9090)"
                    )
                };
                let (namespace, rest) = service.split_once('/').ok_or_else(bad)?;
                let (name, port) = rest.rsplit_once(':').ok_or_else(bad)?;
                check_namespace(namespace).map_err(|e| format!("inspection.prometheus.service: {e}"))?;
                check_namespace(name).map_err(|_| bad())?;
                let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(bad)?;
                let scheme = if self.ca_file.is_some() { "https" } else { "http" };
                Ok(Some(format!("{scheme}://{name}.{namespace}.svc:{port}")))
            }
            (None, None) => Ok(None),
        }
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(url) = self.base_url()? {
            let parsed = url::Url::parse(&url).map_err(|e| format!("inspection.prometheus.url: `{url}`: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
                return Err(format!("inspection.prometheus.url: `{url}` is not an http(s) URL with a host"));
            }
        }
        let bearer = self.bearer_token_env.is_some() || self.bearer_token_file.is_some();
        if self.bearer_token_env.is_some() && self.bearer_token_file.is_some() {
            return Err("inspection.prometheus: set either `bearerTokenEnv` or `bearerTokenFile`, not both".into());
        }
        if self.username_env.is_some() != self.password_env.is_some() {
            return Err("inspection.prometheus: basic auth needs both `usernameEnv` and `passwordEnv`".into());
        }
        if bearer && self.username_env.is_some() {
            return Err("inspection.prometheus: set either a bearer token or basic auth, not both".into());
        }
        if self.timeout.is_zero() || self.concurrency == 0 {
            return Err("inspection.prometheus.timeout and concurrency must be at least 1s and 1".into());
        }
        Ok(())
    }
}

/// Thresholds of the node, certificate, lease and pod checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// `AbnormalPodStatus`: a pod neither Running nor Succeeded for longer than this many minutes is reported.
    pub abnormal_pod_grace_minutes: u64,
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
            abnormal_pod_grace_minutes: 15,
        }
    }
}

/// How Warning events are read and grouped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct EventSettings {
    /// Only events seen within this window count (also the log window).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationText")]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LogSettings {
    /// Read container logs (on by default: part of a complete inspection; needs
    /// `get pods/log`, in the base RBAC). Samples in findings are redacted.
    pub enabled: bool,
    /// Lines from the end of each log.
    pub tail_lines: u32,
    /// At most this many bytes per log.
    pub limit_bytes: u64,
    /// Logs read at once.
    pub concurrency: usize,
    /// Give up on one log after this long.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationText")]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CollectionSettings {
    /// Items per list page (`limit`).
    pub page_size: u32,
    /// Lists read at once.
    pub concurrency: usize,
    /// Give up on one request after this long.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationText")]
    pub request_timeout: Duration,
    /// Read node filesystem usage from the kubelet Summary API through the node proxy.
    /// Off by default: it needs `nodes/proxy`, which reaches every kubelet endpoint
    /// (deploy/rbac-optional.yaml); off means `NodeDisk` is not evaluated.
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
            kubelet_summary: false,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// Durations written as `90s`, `10m`, `24h`, `1h30m` (humantime).
mod humantime_serde {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_str(super::DurationVisitor)
    }
}

/// Optional durations, same syntax.
mod humantime_serde_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format_duration(*d)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        struct Human(Duration);
        impl<'de> Deserialize<'de> for Human {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                super::humantime_serde::deserialize(d).map(Human)
            }
        }
        Ok(Option::<Human>::deserialize(d)?.map(|h| h.0))
    }
}

/// Reads a duration. A bad one fails inside the visitor, while the YAML
/// deserializer still knows the key, so the message names it
/// (`inspection.events.window: `10x` is not a duration …`).
struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as 90s, 10m, 24h or 7d")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse_duration(v).map_err(E::custom)
    }
}

/// Checks what the Pushgateway settings can be checked for without I/O: an
/// http(s) URL, label names Prometheus accepts, a password with a username.
fn check_pushgateway(push: &PushgatewaySettings) -> Result<(), String> {
    match url::Url::parse(&push.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
        _ => return Err(format!("notify.pushgateway.url `{}` is not an http(s) URL", push.url)),
    }
    let label = |name: &str| {
        let mut chars = name.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with("__")
    };
    if push.job.is_empty() {
        return Err("notify.pushgateway.job must not be empty".into());
    }
    for (name, value) in &push.grouping {
        if !label(name) || matches!(name.as_str(), "job" | "cluster") {
            return Err(format!(
                "notify.pushgateway.grouping: `{name}` cannot be a grouping label (letters, digits and `_`, not \
                 starting with a digit or `__`; `job` and `cluster` are set by ke)"
            ));
        }
        if value.is_empty() {
            return Err(format!("notify.pushgateway.grouping.{name} must not be empty"));
        }
    }
    if push.username.is_none() && (push.password_env.is_some() || push.password_file.is_some()) {
        return Err("notify.pushgateway: a password is named but no username".into());
    }
    Ok(())
}

/// Checks a namespace name is a DNS-1123 label, as Kubernetes requires
/// (lower-case letters, digits and `-`, at most 63, starting and ending
/// alphanumeric), so no name can smuggle a path or query into a request.
pub fn check_namespace(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a namespace name (lower-case letters, digits and `-`, at most 63, starting and ending with a letter or digit)",
            name.escape_debug()
        ))
    }
}

/// The largest snapshot file read by default (`inspection.collection.maxFileBytes`).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// The longest duration any setting accepts: a year. Longer values are
/// typos, and beyond the clock's range they would overflow a deadline.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 86400);

/// Parses `90s`, `10m`, `24h`, `7d`, `1h30m`, or a bare number of seconds, up to [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid = || format!("`{text}` is not a duration (use e.g. 90s, 10m, 24h, 7d)");
    let too_long = || format!("`{text}` is out of range: durations go from 0s to 366d");
    if let Ok(secs) = text.parse::<u64>() {
        return if secs > MAX_DURATION.as_secs() { Err(too_long()) } else { Ok(Duration::from_secs(secs)) };
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(too_long());
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
            _ => return Err(invalid()),
        };
        let n: u64 = number.parse().map_err(|e: std::num::ParseIntError| match e.kind() {
            std::num::IntErrorKind::PosOverflow => too_long(),
            _ => invalid(),
        })?;
        total = n.checked_mul(unit).and_then(|v| v.checked_add(total)).ok_or_else(too_long)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 && text != "0s" {
        return Err(invalid());
    }
    if total > MAX_DURATION.as_secs() {
        return Err(too_long());
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

    fn validated(yaml: &str) -> Result<(), String> {
        let config: FileConfig = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
        config.validate()
    }

    #[test]
    fn disk_mounts_must_be_absolute_paths_below_the_root() {
        for bad in ["/", "var/lib/kubelet", "/var/lib/../etc", "/var/./lib"] {
            let e = validated(&format!("nodeChecks: {{diskMounts: ['{bad}']}}\n")).unwrap_err();
            assert!(e.contains(&format!("nodeChecks.diskMounts: `{bad}` must be an absolute path")), "{e}");
        }
        assert_eq!(validated("nodeChecks: {diskMounts: [/var/lib/containers, /var/lib/kubelet]}\n"), Ok(()));
        assert_eq!(validated("nodeChecks: {diskMounts: []}\n"), Ok(()), "empty: the Summary API only");
    }

    #[test]
    fn zero_timeouts_and_clear_text_passwords_are_refused() {
        let zero = validated("inspection: {collection: {requestTimeout: 0s}}\n").unwrap_err();
        assert!(zero.contains("inspection.collection.requestTimeout must be at least 1s"), "{zero}");
        let hook = validated("notify: {webhooks: [{name: a, format: slack, urlEnv: X, timeout: 0s}]}\n").unwrap_err();
        assert!(hook.contains("notify.webhooks[0].timeout must be at least 1s"), "{hook}");
        let email = "notify: {email: {host: relay, tls: none, username: bot, from: a@b.c, to: [d@e.f]";
        let clear = validated(&format!("{email}}}}}\n")).unwrap_err();
        assert!(clear.contains("allowPlaintextAuth: true"), "{clear}");
        assert_eq!(validated(&format!("{email}, allowPlaintextAuth: true}}}}\n")), Ok(()));
        let huge = validated("inspection: {events: {window: 9223372036854775807s}}\n").unwrap_err();
        assert!(huge.contains("out of range"), "{huge}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_duration("600"), Ok(Duration::from_secs(600)));
        for huge in ["9223372036854775807s", "18446744073709551616", "99999999999999999999d", "400d", "367d"] {
            let err = parse_duration(huge).unwrap_err();
            assert!(err.contains("out of range"), "{huge}: {err}");
        }
        assert_eq!(parse_duration("366d"), Ok(MAX_DURATION));
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
        let bad = serde_norway::from_str::<InspectSettings>("events: {window: 10x}\n").unwrap_err().to_string();
        assert!(bad.starts_with("events.window: `10x` is not a duration"), "{bad}");
        let s: InspectSettings = serde_norway::from_str("logs: {timeout: 600}\n").unwrap();
        assert_eq!(s.logs.timeout, Duration::from_secs(600));
    }

    fn load(text: &str) -> Result<FileConfig, String> {
        serde_norway::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn words_accept_todays_spellings() {
        let config = load(
            "failOn: danger\noutputs: {formats: [html, csv, json]}\nnotify:\n  when: changes\n  \
             email: {host: h, from: a@b.c, to: [d@e.f], tls: none}\n  \
             webhooks: [{name: a, format: lark, urlEnv: X}, {name: b, format: WeCom, urlEnv: X}]\n",
        )
        .unwrap();
        assert_eq!(config.fail_on, Some(Severity::Danger));
        assert_eq!(config.outputs.formats, [ReportFormat::Html, ReportFormat::Csv, ReportFormat::Json]);
        assert_eq!(config.notify.when, NotifyWhen::Changes);
        assert_eq!(config.notify.email.unwrap().tls, EmailTls::None);
        let formats: Vec<_> = config.notify.webhooks.iter().map(|w| w.format).collect();
        assert_eq!(formats, [WebhookFormat::Feishu, WebhookFormat::WeCom]);
        for (text, severity) in [("Warning", Severity::Warning), ("error", Severity::Danger), ("info", Severity::Info)]
        {
            assert_eq!(load(&format!("failOn: {text}\n")).unwrap().fail_on, Some(severity));
        }
        let defaults = load("notify: {email: {host: h, from: a@b.c, to: [d@e.f]}}\n").unwrap();
        assert_eq!((defaults.fail_on, defaults.notify.when), (None, NotifyWhen::Always));
        assert_eq!(defaults.notify.email.unwrap().tls, EmailTls::StartTls);
        assert_eq!(load("failOn:\n").unwrap().fail_on, None);
        let hook = load("notify: {webhooks: [{name: a, format: slack, urlEnv: X, timeout: 5s}]}\n").unwrap();
        assert_eq!(hook.notify.webhooks[0].timeout, Some(Duration::from_secs(5)));
        let unset = load("notify: {webhooks: [{name: a, format: slack, urlEnv: X, timeout: null}]}\n").unwrap();
        assert_eq!(unset.notify.webhooks[0].timeout, None);
        let bad = load("storage: {presignExpiry: soon}\n").unwrap_err();
        assert!(bad.starts_with("storage.presignExpiry: `soon` is not a duration"), "{bad}");
        for format in WebhookFormat::ALL {
            assert_eq!(format.name().parse(), Ok(format));
        }
    }

    #[test]
    fn a_bad_file_is_named_and_its_cause_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeeye.yaml");
        std::fs::write(&path, "notify: {when: daily}\n").unwrap();
        let err = FileConfig::load(&path).unwrap_err();
        assert!(err.to_string().starts_with(&format!("{}: notify.when: unknown variant `daily`", path.display())));
        let cause = std::error::Error::source(&err).and_then(|s| s.downcast_ref::<serde_norway::Error>());
        assert!(cause.is_some(), "{err:?}");
        let missing = FileConfig::load(&dir.path().join("nope.yaml")).unwrap_err();
        assert!(matches!(&missing, ConfigError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound));
        std::fs::write(&path, "inspection: {thresholds: {nodeCpuPercent: 180}}\n").unwrap();
        assert!(matches!(FileConfig::load(&path), Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn an_unknown_word_is_named_with_its_path_and_the_words_accepted() {
        let cases = [
            (
                "notify:\n  webhooks:\n    - {name: a, format: slack, urlEnv: X}\n    - {name: b, format: slak, urlEnv: X}\n",
                "notify.webhooks[1].format: unknown variant `slak`, expected one of `slack`, `generic`, `teams`, \
                 `dingtalk`, `feishu`, `wecom` at line 4",
            ),
            ("failOn: critical\n", "failOn: unknown variant `critical`, expected one of `danger`, `warning`, `info`"),
            ("failOn: ignore\n", "failOn: unknown variant `ignore`"),
            (
                "outputs: {formats: [html, pdf]}\n",
                "outputs.formats[1]: unknown variant `pdf`, expected one of `html`, `csv`, `json`",
            ),
            (
                "notify: {when: daily}\n",
                "notify.when: unknown variant `daily`, expected one of `always`, `findings`, `changes`",
            ),
            (
                "notify: {email: {host: h, from: a@b.c, to: [d@e.f], tls: ssl}}\n",
                "notify.email.tls: unknown variant `ssl`, expected one of `starttls`, `tls`, `none`",
            ),
        ];
        for (text, expected) in cases {
            let err = load(text).unwrap_err();
            assert!(err.starts_with(expected), "{text}: {err}");
        }
    }
}

/// A config file: what `ke run` (and `ke diag --config`) reads. Unknown keys
/// are errors, so a typo never silently falls back to a default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// `ke run`: exit with code 1 when a finding reaches this severity (`danger`, `warning` or `info`).
    #[serde(deserialize_with = "fail_on", serialize_with = "serialize_fail_on")]
    #[schemars(with = "Option<FailOn>")]
    pub fail_on: Option<Severity>,
    /// `ke run`: where reports are written locally first.
    pub outputs: OutputSettings,
    /// `ke run`: the object store reports are archived in.
    pub storage: StorageSettings,
    /// `ke run`: who hears about the result.
    pub notify: NotifySettings,
    /// `ke run`: how long delivery (archive and notifications) may take.
    pub delivery: DeliverySettings,
    /// Host checks run on every node by short-lived Jobs (opt-in: `deploy/node-checks/`).
    pub node_checks: NodeCheckSettings,
}

/// How the host checks run on the nodes: one short-lived Job per node in a
/// namespace of their own (`deploy/node-checks/`), a few at a time, each
/// bounded in time, every one deleted at the end of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NodeCheckSettings {
    /// Namespace the node Jobs run in. Its Pod Security level must allow
    /// host paths (`deploy/node-checks/` labels it `privileged`); never the
    /// restricted namespace of the CronJob.
    pub namespace: String,
    /// Image of the node pods (default: the `KE_IMAGE` environment variable,
    /// which the CronJob sets to its own image).
    pub image: Option<String>,
    /// ServiceAccount of the node pods (it needs no rights; its token is not mounted).
    pub service_account: String,
    /// Node Jobs in flight at once.
    pub concurrency: usize,
    /// How long one node's pod may take from creation to its result; also
    /// the Job's `activeDeadlineSeconds`.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationText")]
    pub per_node_timeout: Duration,
    /// How long a pod may stay Pending (image pull, quota, scheduling) before
    /// its node is given up with the reason from its status and events.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationText")]
    pub pending_timeout: Duration,
    /// The whole node-check phase ends by then; nodes not done are coverage
    /// gaps and every Job of the run is deleted.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationText")]
    pub deadline: Duration,
    /// How often the run's pods are listed to follow their progress (one
    /// request per interval for all nodes).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationText")]
    pub poll_interval: Duration,
    /// Largest result a node pod may print (its last log line); a larger one
    /// is a coverage gap for that node.
    pub result_max_bytes: usize,
    /// Allow `customCommand` host rules at all: they run as root on every node
    /// they select. Without it, a rule set with one is refused (exit 2) before
    /// anything is inspected.
    pub allow_custom_commands: bool,
    /// The exact command lines `customCommand` rules may run (`sh -c`); any
    /// other is refused (exit 2), naming the rule.
    pub command_allowlist: Vec<String>,
    /// How long a custom command may run on a node before it is killed.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationText")]
    pub command_timeout: Duration,
    /// The most bytes of a custom command's output kept (the rest is read and dropped).
    pub command_output_bytes: u64,
    /// fileFilter rules read at most this many bytes from the end of the file.
    pub file_filter_tail_bytes: u64,
    /// Host paths whose filesystems NodeDisk judges when the node checks run.
    /// The default is the kubelet's root (nodefs), which every node has; add the
    /// container runtime's (imagefs) where it is a filesystem of its own:
    /// `/var/lib/containerd`, `/var/lib/containers` (CRI-O), `/var/lib/docker`,
    /// `/var/lib/rancher` (k3s, RKE2). Every node then gets a Job, each path
    /// mounted read-only on its own, and a path missing on a node keeps that
    /// node's pod from starting (a coverage gap for its host rules). The node's
    /// figures are preferred to the kubelet Summary API's, which needs
    /// `nodes/proxy`. Empty: NodeDisk reads only the Summary API.
    pub disk_mounts: Vec<String>,
}

impl Default for NodeCheckSettings {
    fn default() -> Self {
        NodeCheckSettings {
            namespace: "kubeeye-node-checks".into(),
            image: None,
            service_account: "kubeeye-node-check".into(),
            concurrency: 20,
            per_node_timeout: Duration::from_secs(120),
            pending_timeout: Duration::from_secs(90),
            deadline: Duration::from_secs(30 * 60),
            poll_interval: Duration::from_secs(2),
            result_max_bytes: 1024 * 1024,
            allow_custom_commands: false,
            command_allowlist: Vec::new(),
            command_timeout: Duration::from_secs(10),
            command_output_bytes: 64 * 1024,
            file_filter_tail_bytes: 1024 * 1024,
            disk_mounts: vec!["/var/lib/kubelet".into()],
        }
    }
}

impl NodeCheckSettings {
    /// The node pods' image: `image`, else `KE_IMAGE`; `None` when neither says.
    pub fn resolved_image(&self) -> Option<String> {
        self.image.clone().or_else(|| std::env::var("KE_IMAGE").ok()).filter(|i| !i.trim().is_empty())
    }

    fn validate(&self) -> Result<(), String> {
        check_namespace(&self.namespace).map_err(|e| format!("nodeChecks.namespace: {e}"))?;
        check_namespace(&self.service_account).map_err(|e| format!("nodeChecks.serviceAccount: {e}"))?;
        if self.command_timeout.is_zero() || self.command_output_bytes == 0 || self.file_filter_tail_bytes == 0 {
            return Err(
                "nodeChecks.commandTimeout, commandOutputBytes and fileFilterTailBytes must be at least 1s and 1 byte"
                    .into(),
            );
        }
        for mount in &self.disk_mounts {
            let parts: Vec<&str> = mount.split('/').filter(|p| !p.is_empty()).collect();
            if !mount.starts_with('/') || parts.is_empty() || parts.iter().any(|p| *p == "." || *p == "..") {
                return Err(format!(
                    "nodeChecks.diskMounts: `{mount}` must be an absolute path below `/`, without `.` or `..`"
                ));
            }
        }
        if self.concurrency == 0 || self.result_max_bytes == 0 {
            return Err("nodeChecks.concurrency and resultMaxBytes must be at least 1".into());
        }
        if self.per_node_timeout < Duration::from_secs(1)
            || self.pending_timeout < Duration::from_secs(1)
            || self.deadline < Duration::from_secs(1)
            || self.poll_interval.is_zero()
        {
            return Err("nodeChecks.perNodeTimeout, pendingTimeout and deadline must be at least 1s, \
                        pollInterval more than 0"
                .into());
        }
        Ok(())
    }
}

/// Bounds on delivery as a whole, so a store that stops answering cannot hold
/// back the morning digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// From the end of the inspection, the time by which every channel has
    /// finished (default `3m`). The store gets this less a reserve for the
    /// notifications (a quarter of it, at most a minute); then the digest goes
    /// out, whatever the store is doing, and the store is reported as failed.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationText")]
    pub deadline: Duration,
}

/// Default for `delivery.deadline`.
pub const DEFAULT_DELIVERY_DEADLINE: Duration = Duration::from_secs(180);

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings { deadline: DEFAULT_DELIVERY_DEADLINE }
    }
}

impl DeliverySettings {
    /// The time the notifications are left: a quarter of the deadline, at most a minute.
    pub fn notify_reserve(&self) -> Duration {
        (self.deadline / 4).min(Duration::from_secs(60))
    }

    /// The time the store is given before the digest goes out.
    pub fn store_budget(&self) -> Duration {
        self.deadline.saturating_sub(self.notify_reserve())
    }
}

/// The local copy of each run's reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct OutputSettings {
    /// Directory the reports are written to before any upload (default `kubeeye-reports`).
    pub directory: std::path::PathBuf,
    /// Which reports to render: `html`, `csv`, `json` (default all three).
    pub formats: Vec<ReportFormat>,
}

impl Default for OutputSettings {
    fn default() -> Self {
        OutputSettings {
            directory: "kubeeye-reports".into(),
            formats: vec![ReportFormat::Html, ReportFormat::Csv, ReportFormat::Json],
        }
    }
}

/// Object storage for the report archive. Credentials never live here: they
/// come from the environment or from files mounted from a Secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// Default: on for an endpoint given by IP address or as `localhost` (no
    /// `bucket.` host name can exist there, as the AWS SDKs reason), off otherwise.
    pub path_style: Option<bool>,
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
    #[schemars(with = "Option<DurationText>")]
    pub presign_expiry: Option<Duration>,
    /// Pruning of old runs.
    pub retention: Retention,
    /// Attempts per upload before giving up (default 4), with exponential backoff.
    pub attempts: Option<u32>,
    /// Give up on one request to the store after this long (default `30s`).
    #[serde(with = "humantime_serde_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<Duration>,
}

/// How long archived runs are kept. Only runs this tool wrote are pruned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Retention {
    /// Delete runs older than this many days.
    pub max_age_days: Option<u32>,
    /// Keep at most this many runs per cluster.
    pub max_count: Option<usize>,
}

/// Notification channels. Secrets (SMTP password, webhook URLs) are named by
/// environment variable or file, never written here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NotifySettings {
    /// When to notify: `always` (default), `findings` (danger or warning present), `changes` (new or resolved findings).
    pub when: NotifyWhen,
    /// The email digest.
    pub email: Option<EmailSettings>,
    /// Webhooks: Slack, Teams, DingTalk, Feishu, WeCom, or generic JSON.
    pub webhooks: Vec<WebhookSettings>,
    /// A Prometheus Pushgateway the run's metrics are pushed to (every run,
    /// whatever `when` says: alerts need every run).
    pub pushgateway: Option<PushgatewaySettings>,
}

/// Pushing the run's metrics to a Prometheus Pushgateway, grouped by `job`,
/// `cluster` and the extra `grouping` labels. Each push replaces the metrics
/// of the same names in its group; `kubeeye_last_success_timestamp_seconds` is
/// pushed only by runs that reached the cluster, so it survives failed nights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushgatewaySettings {
    /// The Pushgateway's base URL, e.g. `http://pushgateway.monitoring:9091`.
    pub url: String,
    /// The `job` grouping label (default `kubeeye`).
    #[serde(default = "default_push_job")]
    pub job: String,
    /// More grouping labels (`{environment: prod}`); `cluster` is always one.
    #[serde(default)]
    pub grouping: std::collections::BTreeMap<String, String>,
    /// Basic-auth username, when the Pushgateway (or its proxy) wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the basic-auth password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// File holding the basic-auth password (a mounted Secret).
    #[serde(default)]
    pub password_file: Option<std::path::PathBuf>,
    /// Give up on one attempt after this long (default 10s).
    #[serde(default, with = "humantime_serde_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<Duration>,
    /// Attempts before giving up (default 3), with exponential backoff.
    #[serde(default)]
    pub attempts: Option<u32>,
}

fn default_push_job() -> String {
    "kubeeye".into()
}

/// SMTP delivery of the digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailSettings {
    /// SMTP server host.
    pub host: String,
    /// Port (default 587 for starttls, 465 for tls, 25 for none).
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` (implicit), or `none` (an in-cluster relay).
    #[serde(default)]
    pub tls: EmailTls,
    /// PEM file of an extra CA to trust (a private relay).
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// With `tls: none`, allow a username and password to be sent in clear
    /// (an in-cluster relay on a trusted network). Off: such a config is refused.
    #[serde(default)]
    pub allow_plaintext_auth: bool,
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
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<Duration>,
}

/// One webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookSettings {
    /// A name for logs and the delivery summary.
    pub name: String,
    /// `slack`, `generic`, `teams`, `dingtalk`, `feishu` (or `lark`) or `wecom`.
    pub format: WebhookFormat,
    /// Environment variable holding the URL (webhook URLs are credentials).
    #[serde(default)]
    pub url_env: Option<String>,
    /// File holding the URL (a mounted Secret).
    #[serde(default)]
    pub url_file: Option<std::path::PathBuf>,
    /// Give up on one attempt after this long (default 10s).
    #[serde(default, with = "humantime_serde_opt")]
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<Duration>,
    /// Attempts before giving up (default 3), with exponential backoff.
    #[serde(default)]
    pub attempts: Option<u32>,
}

/// A setting spelled as one of a few words (`format: slack`). Case and
/// surrounding blanks do not matter; an unknown word fails the load with the
/// key's path and the words accepted
/// (`notify.webhooks[1].format: unknown variant `slak`, expected one of `slack`, …`).
trait Word: Copy + 'static {
    /// The words listed when one is unknown: each value's name, in order.
    const NAMES: &'static [&'static str];
    /// Every accepted word (names and aliases, lowercase) and its value.
    const WORDS: &'static [(&'static str, Self)];
}

/// The value `text` names, if any.
fn word<T: Word>(text: &str) -> Option<T> {
    let text = text.trim().to_ascii_lowercase();
    T::WORDS.iter().find(|(w, _)| *w == text).map(|(_, v)| *v)
}

/// Reads a [`Word`]. The error is raised inside the visitor, while the YAML
/// deserializer still knows the key, so its message names the full path.
fn deserialize_word<'de, D: Deserializer<'de>, T: Word>(d: D) -> Result<T, D::Error> {
    struct WordVisitor<T>(PhantomData<T>);
    impl<T: Word> Visitor<'_> for WordVisitor<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "one of {}", T::NAMES.join(", "))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            word(v).ok_or_else(|| E::unknown_variant(v, T::NAMES))
        }
    }
    d.deserialize_str(WordVisitor(PhantomData))
}

/// Serde, `Display` and `FromStr` for [`Word`] enums with a `name()`.
macro_rules! word_impls {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize_word(d)
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                word(s).ok_or_else(|| format!("`{s}` is not one of {}", <$t as Word>::NAMES.join(", ")))
            }
        }
    )*};
}

/// The schema of a [`Word`]: one of its spellings (in any case; the schema lists them lower-case).
fn word_schema<T: Word>() -> schemars::Schema {
    let words: Vec<&str> = T::WORDS.iter().map(|(w, _)| *w).collect();
    schemars::json_schema!({ "type": "string", "enum": words })
}

/// `JsonSchema` for [`Word`] enums.
macro_rules! word_schemas {
    ($($t:ty),*) => {$(
        impl JsonSchema for $t {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($t).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                word_schema::<$t>()
            }
        }
    )*};
}

/// A duration as written in the config: `90s`, `10m`, `24h`, `7d`, `1h30m`, or seconds.
pub struct DurationText;

impl JsonSchema for DurationText {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "integer"],
            "pattern": "^([0-9]+|([0-9]+[smhd])+)$",
            "minimum": 0,
            "description": "A duration: 90s, 10m, 24h, 7d, 1h30m, or a number of seconds (0s to 366d)."
        })
    }
}

/// The name of `value` in `T::WORDS` (its first spelling).
fn name_of<T: Word + PartialEq>(value: T) -> &'static str {
    T::WORDS.iter().find(|(_, v)| *v == value).map_or("", |(w, _)| w)
}

/// `outputs.formats`: the reports `ke run` renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// The self-contained HTML page.
    Html,
    /// One row per finding.
    Csv,
    /// The JSON report (always written: the next run compares with it).
    Json,
}

impl Word for ReportFormat {
    const NAMES: &'static [&'static str] = &["html", "csv", "json"];
    const WORDS: &'static [(&'static str, Self)] =
        &[("html", ReportFormat::Html), ("csv", ReportFormat::Csv), ("json", ReportFormat::Json)];
}

impl ReportFormat {
    /// The config name.
    pub fn name(self) -> &'static str {
        name_of(self)
    }
}

/// `notify.when`: which runs notify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NotifyWhen {
    /// Every run.
    #[default]
    Always,
    /// Runs with a danger or warning finding, or an incomplete inspection.
    Findings,
    /// Runs with new or resolved findings, or an incomplete inspection.
    Changes,
}

impl Word for NotifyWhen {
    const NAMES: &'static [&'static str] = &["always", "findings", "changes"];
    const WORDS: &'static [(&'static str, Self)] =
        &[("always", NotifyWhen::Always), ("findings", NotifyWhen::Findings), ("changes", NotifyWhen::Changes)];
}

impl NotifyWhen {
    /// The config name.
    pub fn name(self) -> &'static str {
        name_of(self)
    }
}

/// `notify.email.tls`: how the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmailTls {
    /// Plain connection upgraded with STARTTLS (required, not opportunistic).
    #[default]
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// No TLS: an in-cluster relay.
    None,
}

impl Word for EmailTls {
    const NAMES: &'static [&'static str] = &["starttls", "tls", "none"];
    const WORDS: &'static [(&'static str, Self)] =
        &[("starttls", EmailTls::StartTls), ("tls", EmailTls::Tls), ("none", EmailTls::None)];
}

impl EmailTls {
    /// The config name.
    pub fn name(self) -> &'static str {
        name_of(self)
    }

    /// The usual port: 587, 465 or 25.
    pub fn default_port(self) -> u16 {
        match self {
            EmailTls::StartTls => 587,
            EmailTls::Tls => 465,
            EmailTls::None => 25,
        }
    }
}

/// `notify.webhooks[].format`: the body a webhook is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// Slack incoming webhook (Block Kit).
    Slack,
    /// The digest as JSON, plus `reportUrl`.
    Generic,
    /// Microsoft Teams (an Adaptive Card in a `message`).
    Teams,
    /// DingTalk robot (markdown).
    DingTalk,
    /// Feishu / Lark bot (interactive card).
    Feishu,
    /// WeCom (WeChat Work) group robot (markdown).
    WeCom,
}

impl Word for WebhookFormat {
    const NAMES: &'static [&'static str] = &["slack", "generic", "teams", "dingtalk", "feishu", "wecom"];
    const WORDS: &'static [(&'static str, Self)] = &[
        ("slack", WebhookFormat::Slack),
        ("generic", WebhookFormat::Generic),
        ("teams", WebhookFormat::Teams),
        ("dingtalk", WebhookFormat::DingTalk),
        ("feishu", WebhookFormat::Feishu),
        ("wecom", WebhookFormat::WeCom),
        // Feishu's international name.
        ("lark", WebhookFormat::Feishu),
    ];
}

impl WebhookFormat {
    /// Every format.
    pub const ALL: [WebhookFormat; 6] = [
        WebhookFormat::Slack,
        WebhookFormat::Generic,
        WebhookFormat::Teams,
        WebhookFormat::DingTalk,
        WebhookFormat::Feishu,
        WebhookFormat::WeCom,
    ];

    /// The config name (`feishu` for Lark).
    pub fn name(self) -> &'static str {
        name_of(self)
    }
}

word_impls!(ReportFormat, NotifyWhen, EmailTls, WebhookFormat);
word_schemas!(ReportFormat, NotifyWhen, EmailTls, WebhookFormat, FailOn);

/// `failOn` is a severity; `error` is accepted for `danger`, as in Polaris configs.
#[derive(Clone, Copy, PartialEq)]
pub struct FailOn(Severity);

impl Word for FailOn {
    const NAMES: &'static [&'static str] = &["danger", "warning", "info"];
    const WORDS: &'static [(&'static str, Self)] = &[
        ("danger", FailOn(Severity::Danger)),
        ("warning", FailOn(Severity::Warning)),
        ("info", FailOn(Severity::Info)),
        ("error", FailOn(Severity::Danger)),
    ];
}

impl<'de> Deserialize<'de> for FailOn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_word(d)
    }
}

/// Writes `failOn` as its word.
fn serialize_fail_on<S: Serializer>(value: &Option<Severity>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(severity) => s.serialize_str(severity.as_str()),
        None => s.serialize_none(),
    }
}

/// Reads `failOn` (absent or null: no threshold).
fn fail_on<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Severity>, D::Error> {
    Ok(Option::<FailOn>::deserialize(d)?.map(|f| f.0))
}

/// A config file that cannot be used. The message names the file, then the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{}: cannot read: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML, or a key or value is unknown or of the wrong type.
    #[error("{}: {source}", file.display())]
    Parse {
        /// The file.
        file: PathBuf,
        /// Where (the key's path, the line) and what is wrong.
        #[source]
        source: serde_norway::Error,
    },
    /// The values read but do not go together (a range, a relation).
    #[error("{}: {problem}", file.display())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Which key, and what is wrong.
        problem: String,
    },
}

impl FileConfig {
    /// Reads and validates a config file; rule paths become relative to its directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = || path.to_path_buf();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { file: file(), source })?;
        let text =
            crate::yaml::prepare(&text).map_err(|problem| ConfigError::Invalid { file: file(), problem })?.to_owned();
        let mut config: FileConfig = if text.trim().is_empty() {
            FileConfig::default()
        } else {
            serde_norway::from_str(&text).map_err(|source| ConfigError::Parse { file: file(), source })?
        };
        let base = path.parent().unwrap_or(Path::new("."));
        for rule in &mut config.rules {
            if rule.is_relative() {
                *rule = base.join(&*rule);
            }
        }
        config.validate().map_err(|problem| ConfigError::Invalid { file: file(), problem })?;
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
        let positive = [
            ("inspection.collection.requestTimeout", Some(self.inspection.collection.request_timeout)),
            ("inspection.logs.timeout", Some(self.inspection.logs.timeout)),
            ("inspection.events.window", Some(self.inspection.events.window)),
            ("storage.timeout", self.storage.timeout),
            ("notify.email.timeout", self.notify.email.as_ref().and_then(|e| e.timeout)),
        ];
        let webhooks = self.notify.webhooks.iter().enumerate().map(|(i, w)| (i, w.timeout));
        if let Some(push) = &self.notify.pushgateway {
            if push.timeout.is_some_and(|d| d.is_zero()) {
                return Err("notify.pushgateway.timeout must be at least 1s".into());
            }
            check_pushgateway(push)?;
        }
        for (name, value) in positive
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .chain(webhooks.map(|(i, t)| (format!("notify.webhooks[{i}].timeout"), t)))
        {
            if value.is_some_and(|d| d.is_zero()) {
                return Err(format!("{name} must be at least 1s (accepted: 1s to 366d); 0s would fail every attempt"));
            }
        }
        for (key, list) in [("namespaces", &self.namespaces), ("excludeNamespaces", &self.exclude_namespaces)] {
            for ns in list {
                check_namespace(ns).map_err(|e| format!("{key}: {e}"))?;
            }
        }
        if let Some(email) = &self.notify.email
            && email.tls == EmailTls::None
            && email.username.is_some()
            && !email.allow_plaintext_auth
        {
            return Err("notify.email: `tls: none` with a username would send the SMTP password in clear; use \
                        `tls: starttls` or `tls: tls`, or set `allowPlaintextAuth: true` for a relay on a trusted network"
                .into());
        }
        if self.delivery.deadline < Duration::from_secs(4) {
            return Err(format!(
                "delivery.deadline must be at least 4s, not {} (the store and the notifications share it)",
                format_duration(self.delivery.deadline)
            ));
        }
        self.inspection.prometheus.validate()?;
        self.inspection.service_connect.validate()?;
        self.node_checks.validate()?;
        let c = &self.inspection.collection;
        if c.page_size == 0 || c.concurrency == 0 || self.inspection.logs.concurrency == 0 {
            return Err(
                "inspection.collection.pageSize, collection.concurrency and logs.concurrency must be at least 1".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod prometheus_tests {
    use super::*;

    fn settings(yaml: &str) -> Result<PrometheusSettings, String> {
        let config: FileConfig =
            serde_norway::from_str(&format!("inspection:\n  prometheus:\n{yaml}")).map_err(|e| e.to_string())?;
        config.validate()?;
        Ok(config.inspection.prometheus)
    }

    #[test]
    fn an_in_cluster_service_is_its_cluster_dns_name() {
        let s = settings("    service: monitoring/prometheus-k8s:9090\n").expect("valid");
        assert_eq!(s.base_url(), Ok(Some("http://prometheus-k8s.monitoring.svc:9090".into())));
        let tls = settings("    service: monitoring/prometheus-k8s:9091\n    caFile: /ca.pem\n").expect("valid");
        assert_eq!(tls.base_url(), Ok(Some("https://prometheus-k8s.monitoring.svc:9091".into())));
        let url = settings("    url: https://prom.example.com/prometheus/\n").expect("valid");
        assert_eq!(url.base_url(), Ok(Some("https://prom.example.com/prometheus".into())));
        assert_eq!(PrometheusSettings::default().base_url(), Ok(None));
    }

    #[test]
    fn contradictions_are_refused() {
        let err = |yaml: &str| settings(yaml).expect_err("invalid");
        assert!(err("    service: prometheus:9090\n").contains("is not `namespace/name:port`"));
        assert!(err("    service: monitoring/prom:http\n").contains("is not `namespace/name:port`"));
        assert!(err("    url: http://a\n    service: m/p:1\n").contains("either `url` or `service`"));
        assert!(err("    url: prometheus:9090\n").contains("not an http(s) URL"));
        assert!(err("    usernameEnv: U\n").contains("both `usernameEnv` and `passwordEnv`"));
        assert!(err("    bearerTokenEnv: T\n    bearerTokenFile: /t\n").contains("not both"));
        assert!(
            err("    bearerTokenEnv: T\n    usernameEnv: U\n    passwordEnv: P\n")
                .contains("bearer token or basic auth")
        );
        assert!(err("    timeout: 0s\n").contains("at least 1s"));
        assert!(err("    token: abc\n").contains("unknown field `token`"));
    }
}

//! What passes between the inspection and `ke node-check` on a node: the
//! request (in the Job's environment or a file) and the result (one JSON
//! line on the pod's stdout). `schemas/node-check-result.schema.json` is
//! generated from [`NodeResult`]; a test keeps the two the same.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of both documents; a node answering another is a gap.
pub const SCHEMA_VERSION: u32 = 1;

/// What one node is asked to check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Request {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The node's name, echoed in the result.
    pub node: String,
    /// The host rules selected for this node.
    pub rules: Vec<RequestRule>,
    /// Bounds on what the checks read and run.
    #[serde(default)]
    pub limits: Limits,
    /// fileChange baselines from the previous report: host path → hash and size.
    #[serde(default)]
    pub previous: BTreeMap<String, Baseline>,
    /// The inspection's clock when it made the request (RFC 3339), for clock rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_time: Option<String>,
    /// Host paths whose filesystems NodeDisk judges (`nodeChecks.diskMounts`), measured into `facts`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disk_mounts: Vec<String>,
    /// Clock rules: print [`Beacon`] lines every [`BEACON_INTERVAL`] for this long before the
    /// checks, for the inspection to read the clock from the log while the pod runs (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub clock_beacon_millis: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// How often a node prints a [`Beacon`].
pub const BEACON_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// One line of the pod's log while it beacons: its clock now, so the
/// inspection can compare it with its own while the pod runs. The last one
/// of the window says so: a log ending with it is past the window, its time stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beacon {
    /// The node's clock (RFC 3339, nanoseconds).
    pub clock: String,
    /// The window's last beacon.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub last: bool,
}

impl Beacon {
    /// A log line as a beacon; `None` for any other line (the result, a warning).
    pub fn parse(line: &str) -> Option<Beacon> {
        let line = line.trim();
        if !line.starts_with("{\"clock\"") {
            return None;
        }
        serde_json::from_str(line).ok()
    }
}

/// One host rule, as the node needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestRule {
    /// The rule id.
    pub id: String,
    /// sysctl, systemd, fileChange, fileFilter, customCommand, nodeInfo or clock.
    pub kind: String,
    /// The rule's severity (informational on the node).
    pub severity: String,
    /// The rule's message.
    pub message: String,
    /// The expression (sysctl, systemd, nodeInfo, customCommand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The host path (fileChange, fileFilter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The problem-line regex (fileFilter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The command line (customCommand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The mount point of `filesystem` and `inode` (nodeInfo; default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
    /// Clock: fail over this offset in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning_seconds: Option<f64>,
    /// Clock: danger over this offset in seconds (judged by the inspection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub danger_seconds: Option<f64>,
}

/// Bounds on what a node check reads and runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Limits {
    /// A custom command is killed after this many seconds.
    pub command_timeout_seconds: f64,
    /// The most bytes of a command's output kept.
    pub command_output_bytes: u64,
    /// fileFilter reads at most this many bytes from the end of a file.
    pub file_filter_tail_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        let settings = crate::config::NodeCheckSettings::default();
        Limits::from(&settings)
    }
}

impl From<&crate::config::NodeCheckSettings> for Limits {
    fn from(s: &crate::config::NodeCheckSettings) -> Self {
        Limits {
            command_timeout_seconds: s.command_timeout.as_secs_f64(),
            command_output_bytes: s.command_output_bytes,
            file_filter_tail_bytes: s.file_filter_tail_bytes,
        }
    }
}

/// A file's identity in the previous run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// SHA-256, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// What a node answers: one JSON document, one line, on stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "ke node-check result")]
pub struct NodeResult {
    /// [`SCHEMA_VERSION`].
    #[schemars(range(min = 1, max = 1))]
    pub schema_version: u32,
    /// The node, as named in the request.
    pub node: String,
    /// When the checks started, on the node's clock (RFC 3339).
    pub started_at: String,
    /// When they finished, on the node's clock (RFC 3339).
    pub finished_at: String,
    /// One entry per requested rule.
    pub results: Vec<RuleResult>,
    /// The node's figures, each absent when it could not be read.
    pub facts: Facts,
}

/// How one rule went on the node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleResult {
    /// The rule id.
    pub rule: String,
    /// pass, fail or error (could not be checked).
    pub outcome: Outcome,
    /// What was found, for people.
    pub message: String,
    /// The value read (sysctl value, unit state, percent, match count, offset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
    /// fileChange: the file as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileState>,
}

/// A rule's outcome on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The node complies.
    Pass,
    /// The node does not.
    Fail,
    /// The rule could not be checked (missing file, unknown sysctl, no D-Bus).
    Error,
}

/// A file's identity now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileState {
    /// The host path.
    pub path: String,
    /// SHA-256, hex.
    #[schemars(regex(pattern = "^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification (RFC 3339).
    pub modified: String,
}

/// The node's own figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Facts {
    /// The host's root filesystem, every mount a nodeInfo rule names and every disk mount of the request.
    pub filesystems: Vec<Filesystem>,
    /// The 1-minute load average.
    pub load1: Option<f64>,
    /// CPU busy, percent, over a short sample.
    pub cpu_percent: Option<f64>,
    /// Memory used (total less available), percent.
    pub memory_percent: Option<f64>,
    /// The node's clock less the request's reference time, seconds.
    pub clock_offset_seconds: Option<f64>,
    /// Whether the kernel's clock is NTP-synchronised; absent when unknown.
    pub ntp_synchronized: Option<bool>,
}

/// One filesystem's usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filesystem {
    /// The mount point on the host.
    pub mount: String,
    /// Bytes used.
    pub used_bytes: u64,
    /// Bytes in all.
    pub total_bytes: u64,
    /// Bytes available to unprivileged users (what the kubelet's eviction and its Summary
    /// API count as free); absent from nodes of an older ke, then taken as total less used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_bytes: Option<u64>,
    /// Inodes used.
    pub inodes_used: u64,
    /// Inodes in all.
    pub inodes_total: u64,
}

/// The result's JSON Schema, as shipped in `schemas/node-check-result.schema.json`.
pub fn result_schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft07().into_generator().into_root_schema_for::<NodeResult>();
    serde_json::to_value(schema).unwrap_or_default()
}

/// The shipped schema file's text.
pub const RESULT_SCHEMA: &str = include_str!("../../schemas/node-check-result.schema.json");

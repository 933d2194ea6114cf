//! Host rules (`target: Host`): checks `ke node-check` runs on each node
//! rather than through the API server. Each has a kind, what the kind reads
//! (an expression, a path, a command), and the nodes it runs on. This
//! module decides everything at load time; the request a node receives is
//! [`HostRule::request_entry`].

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use super::expr::Expr;

/// What a host rule inspects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// Kernel parameters under `/proc/sys`, compared by `rule`.
    Sysctl,
    /// systemd units' `ActiveState`, read over D-Bus as `systemctl is-active` does.
    Systemd,
    /// A file's SHA-256 and size against the previous run's.
    FileChange,
    /// Lines in the tail of a file matching a pattern.
    FileFilter,
    /// A command on the host (allowlisted in the config), by its output or exit code.
    CustomCommand,
    /// The node's CPU, memory, load, filesystem and inode figures.
    NodeInfo,
    /// The node's clock against the inspection's.
    Clock,
}

/// Every kind, with its name in rule files and the request.
pub const KINDS: &[(HostKind, &str)] = &[
    (HostKind::Sysctl, "sysctl"),
    (HostKind::Systemd, "systemd"),
    (HostKind::FileChange, "fileChange"),
    (HostKind::FileFilter, "fileFilter"),
    (HostKind::CustomCommand, "customCommand"),
    (HostKind::NodeInfo, "nodeInfo"),
    (HostKind::Clock, "clock"),
];

impl HostKind {
    /// Parses a kind's name.
    pub fn parse(text: &str) -> Result<Self, String> {
        KINDS.iter().find(|(_, n)| *n == text).map(|(k, _)| *k).ok_or_else(|| {
            let names: Vec<&str> = KINDS.iter().map(|(_, n)| *n).collect();
            format!("host: unknown kind `{text}` (expected one of {})", names.join(", "))
        })
    }

    /// The kind's name in rule files and the request.
    pub fn name(self) -> &'static str {
        KINDS.iter().find(|(k, _)| *k == self).map_or("", |(_, n)| n)
    }
}

impl fmt::Display for HostKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The figures a `nodeInfo` rule can compare.
pub const NODE_INFO_NAMES: &[&str] = &["cpu", "memory", "load", "load1", "load5", "load15", "filesystem", "inode"];

/// Which nodes a host rule runs on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeSelection {
    /// Only this node.
    pub node_name: Option<String>,
    /// Only nodes with all these labels.
    pub node_selector: BTreeMap<String, String>,
}

impl NodeSelection {
    /// Whether a node with this name and labels is selected.
    pub fn selects(&self, name: &str, labels: &BTreeMap<String, String>) -> bool {
        self.node_name.as_deref().is_none_or(|n| n == name)
            && self.node_selector.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

/// How a host rule decides.
#[derive(Debug, Clone)]
pub struct HostRule {
    /// What it inspects.
    pub kind: HostKind,
    /// `rule`: sysctl, systemd, nodeInfo and customCommand. For sysctl,
    /// systemd and customCommand it describes a healthy node; for nodeInfo
    /// (`cpu > 80`), as in KubeEye, the problem.
    pub expr: Option<Expr>,
    /// fileChange and fileFilter: the host path.
    pub path: Option<String>,
    /// fileFilter: the regular expression a problem line matches.
    pub pattern: Option<String>,
    /// customCommand: the command line, run with `sh -c`.
    pub command: Option<String>,
    /// nodeInfo: the mount point `filesystem` and `inode` are read for (default `/`).
    pub mount: Option<String>,
    /// clock: warning over this many seconds of offset.
    pub warning_seconds: f64,
    /// clock: danger over this many seconds of offset.
    pub danger_seconds: f64,
    /// Which nodes it runs on.
    pub nodes: NodeSelection,
}

/// The host fields of a rule definition, as read from a rule file.
#[derive(Debug, Default)]
pub struct HostFields {
    /// `host:` the kind.
    pub kind: Option<String>,
    /// `rule:` the expression (fileFilter: the pattern, as KubeEye writes it).
    pub rule: Option<String>,
    /// `path:`.
    pub path: Option<String>,
    /// `pattern:`.
    pub pattern: Option<String>,
    /// `command:`.
    pub command: Option<String>,
    /// `resourcesType:` (KubeEye's nodeInfo; informational).
    pub resources_type: Option<String>,
    /// `mount:`.
    pub mount: Option<String>,
    /// `warningSeconds:`.
    pub warning_seconds: Option<f64>,
    /// `dangerSeconds:`.
    pub danger_seconds: Option<f64>,
    /// `nodeName:`.
    pub node_name: Option<String>,
    /// `nodeSelector:`.
    pub node_selector: BTreeMap<String, String>,
}

impl HostFields {
    /// Whether any host-only field is set (they need `target: Host`).
    pub fn any(&self) -> bool {
        self.kind.is_some()
            || self.rule.is_some()
            || self.path.is_some()
            || self.command.is_some()
            || self.resources_type.is_some()
            || self.mount.is_some()
            || self.warning_seconds.is_some()
            || self.danger_seconds.is_some()
            || self.node_name.is_some()
            || !self.node_selector.is_empty()
    }
}

impl HostRule {
    /// Validates a definition's host fields; errors say which field and why.
    pub fn compile(fields: HostFields) -> Result<Self, String> {
        let Some(kind) = fields.kind.as_deref() else {
            let names: Vec<&str> = KINDS.iter().map(|(_, n)| *n).collect();
            return Err(format!("target `Host` needs `host:`, one of {}", names.join(", ")));
        };
        let kind = HostKind::parse(kind)?;
        let has = |set: bool, field: &str, kinds: &[HostKind]| -> Result<(), String> {
            if set && !kinds.contains(&kind) {
                let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
                return Err(format!("`{field}` applies to host rules of kind {}, not {kind}", names.join(", ")));
            }
            Ok(())
        };
        use HostKind::*;
        has(fields.path.is_some(), "path", &[FileChange, FileFilter])?;
        has(fields.command.is_some(), "command", &[CustomCommand])?;
        has(fields.resources_type.is_some() || fields.mount.is_some(), "mount` and `resourcesType", &[NodeInfo])?;
        has(
            fields.warning_seconds.is_some() || fields.danger_seconds.is_some(),
            "warningSeconds` and `dangerSeconds",
            &[Clock],
        )?;
        has(fields.pattern.is_some(), "pattern", &[FileFilter])?;
        has(fields.rule.is_some(), "rule", &[Sysctl, Systemd, NodeInfo, CustomCommand, FileFilter])?;
        let (expr, pattern) = match kind {
            FileFilter => {
                let pattern = match (fields.pattern, fields.rule) {
                    (Some(_), Some(_)) => return Err("set either `pattern` or `rule` (the regex), not both".into()),
                    (Some(p), None) | (None, Some(p)) => p,
                    (None, None) => return Err("a fileFilter rule needs a `pattern` (a regular expression)".into()),
                };
                crate::checks::schema::check_pattern_length("`pattern`", &pattern)?;
                regex::RegexBuilder::new(&pattern)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("invalid regex in `pattern`: {e}"))?;
                (None, Some(pattern))
            }
            Clock | FileChange => (None, None),
            _ => match fields.rule.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
                Some(text) => (Some(Expr::parse(text)?), None),
                None if kind == CustomCommand => (None, None),
                None => return Err(format!("a {kind} rule needs a `rule` expression, e.g. {}", example(kind))),
            },
        };
        if let Some(expr) = &expr {
            let names = expr.names();
            if kind == NodeInfo
                && let Some(bad) = names.iter().find(|n| !NODE_INFO_NAMES.contains(&n.as_str()))
            {
                return Err(format!(
                    "rule `{expr}`: `{bad}` is not a node figure (expected one of {})",
                    NODE_INFO_NAMES.join(", ")
                ));
            }
            if kind == CustomCommand
                && let Some(bad) = names.iter().find(|n| !matches!(n.as_str(), "output" | "exitCode"))
            {
                return Err(format!(
                    "rule `{expr}`: `{bad}` is not known (a command's rule compares `output` or `exitCode`)"
                ));
            }
            if kind == Sysctl
                && let Some(bad) = names.iter().find(|n| n.contains("..") || n.starts_with('/'))
            {
                return Err(format!("rule `{expr}`: `{bad}` is not a sysctl key"));
            }
        }
        if let Some(t) = fields.resources_type.as_deref()
            && !matches!(t, "cpu" | "memory" | "filesystem" | "inode" | "load")
        {
            return Err(format!("resourcesType `{t}` is not one of cpu, memory, filesystem, inode, load"));
        }
        let path = match kind {
            FileChange | FileFilter => {
                let Some(path) = fields.path.filter(|p| !p.trim().is_empty()) else {
                    return Err(format!("a {kind} rule needs a `path` (an absolute path on the node)"));
                };
                check_host_path("path", &path)?;
                Some(path)
            }
            _ => None,
        };
        if let Some(mount) = &fields.mount {
            check_host_path("mount", mount)?;
        }
        let command = match kind {
            CustomCommand => match fields.command.filter(|c| !c.trim().is_empty()) {
                Some(c) => Some(c),
                None => return Err("a customCommand rule needs a `command`".into()),
            },
            _ => None,
        };
        let warning_seconds = fields.warning_seconds.unwrap_or(1.0);
        let danger_seconds = fields.danger_seconds.unwrap_or(10.0);
        if !(warning_seconds > 0.0 && danger_seconds >= warning_seconds) {
            return Err(format!(
                "clock: warningSeconds ({warning_seconds}) must be above 0 and dangerSeconds ({danger_seconds}) at least as large"
            ));
        }
        Ok(HostRule {
            kind,
            expr,
            path,
            pattern,
            command,
            mount: fields.mount,
            warning_seconds,
            danger_seconds,
            nodes: NodeSelection { node_name: fields.node_name, node_selector: fields.node_selector },
        })
    }

    /// This rule's entry in a node's request (`rules[]`), with its id, severity and message.
    pub fn request_entry(&self, id: &str, severity: &str, message: &str) -> Value {
        let mut entry = Map::new();
        entry.insert("id".into(), Value::from(id));
        entry.insert("kind".into(), Value::from(self.kind.name()));
        entry.insert("severity".into(), Value::from(severity));
        entry.insert("message".into(), Value::from(message));
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(v) = value {
                entry.insert(key.into(), v);
            }
        };
        put("rule", self.expr.as_ref().map(|e| Value::from(e.to_string())));
        put("path", self.path.clone().map(Value::from));
        put("pattern", self.pattern.clone().map(Value::from));
        put("command", self.command.clone().map(Value::from));
        put("mount", self.mount.clone().map(Value::from));
        if self.kind == HostKind::Clock {
            put("warningSeconds", Some(Value::from(self.warning_seconds)));
            put("dangerSeconds", Some(Value::from(self.danger_seconds)));
        }
        Value::Object(entry)
    }
}

/// An absolute path without `..`, NUL or newlines: it names a host path the
/// node-check Job mounts.
pub fn check_host_path(field: &str, path: &str) -> Result<(), String> {
    if !path.starts_with('/') || path.split('/').any(|c| c == "..") || path.contains(['\0', '\n']) {
        return Err(format!("{field} `{path}` must be an absolute path on the node, without `..`"));
    }
    Ok(())
}

fn example(kind: HostKind) -> &'static str {
    match kind {
        HostKind::Sysctl => "`net.ipv4.ip_forward = 1`",
        HostKind::Systemd => "`kubelet == \"active\"`",
        HostKind::NodeInfo => "`cpu > 80`",
        _ => "`exitCode = 0`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(kind: &str) -> HostFields {
        HostFields { kind: Some(kind.into()), ..HostFields::default() }
    }

    #[test]
    fn each_kind_needs_its_own_fields() {
        assert!(HostRule::compile(fields("sysctl")).unwrap_err().contains("needs a `rule`"));
        assert!(HostRule::compile(fields("fileChange")).unwrap_err().contains("needs a `path`"));
        assert!(HostRule::compile(fields("customCommand")).unwrap_err().contains("needs a `command`"));
        assert!(HostRule::compile(fields("clock")).is_ok());
        assert!(HostRule::compile(fields("kernel")).unwrap_err().contains("unknown kind `kernel`"));
        let bad_path = HostFields { path: Some("etc/x".into()), ..fields("fileChange") };
        assert!(HostRule::compile(bad_path).unwrap_err().contains("absolute path"));
        let wrong_field = HostFields { command: Some("ls".into()), rule: Some("a = 1".into()), ..fields("sysctl") };
        assert!(
            HostRule::compile(wrong_field)
                .unwrap_err()
                .contains("`command` applies to host rules of kind customCommand")
        );
        let bad_info = HostFields { rule: Some("disk > 80".into()), ..fields("nodeInfo") };
        assert!(HostRule::compile(bad_info).unwrap_err().contains("`disk` is not a node figure"));
        let bad_regex =
            HostFields { path: Some("/var/log/x".into()), pattern: Some("(".into()), ..fields("fileFilter") };
        assert!(HostRule::compile(bad_regex).unwrap_err().contains("invalid regex"));
    }

    #[test]
    fn selection_by_name_and_labels() {
        let labels = BTreeMap::from([("role".to_string(), "worker".to_string())]);
        assert!(NodeSelection::default().selects("a", &labels));
        let by_name = NodeSelection { node_name: Some("a".into()), ..NodeSelection::default() };
        assert!(by_name.selects("a", &labels) && !by_name.selects("b", &labels));
        let by_label = NodeSelection { node_selector: labels.clone(), ..NodeSelection::default() };
        assert!(by_label.selects("b", &labels) && !by_label.selects("b", &BTreeMap::new()));
    }
}

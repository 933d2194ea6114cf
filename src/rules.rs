//! Rule definitions: loading the built-in catalogue and user rule files.
//!
//! Built-in rules are data in `rules/*.yaml`, compiled into the binary, and
//! go through the same loader as user files: the KubeEye format
//! (`checks:` + `customChecks:` with `promptMessage`) and Polaris config files
//! (`successMessage`/`failureMessage`, `schemaTarget`, `exemptions`). Every
//! problem is found here, before anything is inspected, and names the file,
//! the rule and what is wrong.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::checks::code::CodeCheck;
use crate::checks::health::HealthCheck;
use crate::checks::schema::{self, CompiledSchema};
use crate::report::Severity;
use host::{HostFields, HostRule};
use prometheus::{ObjectFrom, PromQuery, Template};
use rego::RegoModule;

mod compat;
pub mod docs;
pub mod expr;
mod finding;
pub mod host;
mod inspect_rule;
pub mod prometheus;
pub mod rego;
#[cfg(test)]
mod tests;

/// The built-in rule files, in load order.
pub const BUILTIN_FILES: &[(&str, &str)] = &[
    ("rules/reliability.yaml", include_str!("../rules/reliability.yaml")),
    ("rules/efficiency.yaml", include_str!("../rules/efficiency.yaml")),
    ("rules/security.yaml", include_str!("../rules/security.yaml")),
    ("rules/rbac.yaml", include_str!("../rules/rbac.yaml")),
    ("rules/control-plane.yaml", include_str!("../rules/control-plane.yaml")),
    ("rules/nodes.yaml", include_str!("../rules/nodes.yaml")),
    ("rules/events.yaml", include_str!("../rules/events.yaml")),
    ("rules/logs.yaml", include_str!("../rules/logs.yaml")),
    ("rules/exemptions.yaml", include_str!("../rules/exemptions.yaml")),
];

/// A rule file that cannot be used. Always names the file; names the rule when one is at fault.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The file as a whole is unreadable or malformed.
    #[error("{file}: {problem}")]
    File {
        /// The rule file.
        file: String,
        /// What is wrong.
        problem: String,
    },
    /// One rule in the file is wrong.
    #[error("{file}: rule `{rule}`: {problem}")]
    Rule {
        /// The rule file.
        file: String,
        /// The rule id.
        rule: String,
        /// What is wrong.
        problem: String,
    },
}

/// What a rule is evaluated against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The controller object (Deployment, StatefulSet … or a pod without controller).
    Controller,
    /// The pod spec of a workload.
    PodSpec,
    /// The pod template (metadata + spec) of a workload.
    PodTemplate,
    /// Each container of a workload.
    Container,
    /// Each node (conditions, usage, node-problem-detector problems).
    Node,
    /// The control plane as a whole (apiserver, etcd, scheduler, controller-manager, certificates).
    Cluster,
    /// Warning events, grouped by reason and object.
    Event,
    /// The status of running pods (image pulls, crash loops), reported per controller.
    PodStatus,
    /// The last lines of each running container's log.
    ContainerLog,
    /// The series a PromQL query returns from the cluster's Prometheus, each mapped to an object by its labels.
    Prometheus,
    /// Every object collected, as `{"Object": obj}` to a Rego module's `deny` rule.
    Rego,
    /// Each selected node's host, inspected by `ke node-check` there (sysctl, systemd, files …).
    Host,
    /// Every object of one kind, e.g. `policy/PodDisruptionBudget` (empty group = core).
    Kind {
        /// API group (`""` for the core group).
        group: String,
        /// Kind.
        kind: String,
    },
}

impl Target {
    /// Parses a Polaris target: `Controller`, `PodSpec`, `PodTemplate`,
    /// `Container`, `group/Kind`, or a bare Kubernetes kind (`StatefulSet`,
    /// `Pod`: the whole object of that kind, as Polaris reads it).
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "Controller" => Ok(Target::Controller),
            "PodSpec" => Ok(Target::PodSpec),
            "PodTemplate" => Ok(Target::PodTemplate),
            "Container" => Ok(Target::Container),
            "Node" => Ok(Target::Node),
            "Cluster" | "ControlPlane" => Ok(Target::Cluster),
            "Event" => Ok(Target::Event),
            "PodStatus" => Ok(Target::PodStatus),
            "ContainerLog" | "Log" => Ok(Target::ContainerLog),
            "Prometheus" => Ok(Target::Prometheus),
            "Rego" => Ok(Target::Rego),
            "Host" => Ok(Target::Host),
            other => match other.rsplit_once('/') {
                Some((group, kind)) if !kind.is_empty() && kind.starts_with(|c: char| c.is_ascii_uppercase()) => {
                    let group = if matches!(group, "core" | "v1") { "" } else { group };
                    Ok(Target::Kind { group: group.to_string(), kind: kind.to_string() })
                }
                None if let Some((group, kind)) = KNOWN_KINDS.iter().find(|(_, k)| *k == other) => {
                    Ok(Target::Kind { group: (*group).to_string(), kind: (*kind).to_string() })
                }
                _ => Err(format!(
                    "unknown target `{other}` (expected Controller, PodSpec, PodTemplate, Container, Node, Cluster, Event, PodStatus, ContainerLog, Prometheus, Rego, Host, a Kubernetes kind such as StatefulSet, or group/Kind such as apps/Deployment or cert-manager.io/Certificate)"
                )),
            },
        }
    }

    /// Parses a `schemaTarget`: a workload level, where `Pod` is the pod spec
    /// (the name Polaris before `PodSpec`, and KubeEye v0.1, used).
    pub fn parse_schema_target(s: &str) -> Result<Self, String> {
        if s == "Pod" { Ok(Target::PodSpec) } else { Self::parse(s) }
    }

    /// Whether an object of `kind` is one this `group/Kind` target evaluates.
    /// As in Polaris, the kind decides, not the group or version: a
    /// `policy/v1beta1` PDB, an `autoscaling/v1` HPA or an
    /// `extensions/v1beta1` Ingress is still a PDB, an HPA, an Ingress.
    pub fn selects_object(&self, kind: &str) -> bool {
        self.kinds().any(|k| k == kind)
    }

    /// Whether the target is a workload level (evaluated per controller).
    pub fn is_workload(&self) -> bool {
        matches!(self, Target::Controller | Target::PodSpec | Target::PodTemplate | Target::Container)
    }

    /// The kinds a `group/Kind` target names: one, or several of one group
    /// written `group/Kind|Kind` (`rbac.authorization.k8s.io/Role|ClusterRole`),
    /// for a rule that means the same on each. Empty for other targets.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        let kinds = match self {
            Target::Kind { kind, .. } => Some(kind.split('|')),
            _ => None,
        };
        kinds.into_iter().flatten()
    }

    /// Whether the target names objects of this API group and kind.
    pub fn names_kind(&self, group: &str, kind: &str) -> bool {
        matches!(self, Target::Kind { group: g, .. } if g == group) && self.kinds().any(|k| k == kind)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Controller => f.write_str("Controller"),
            Target::PodSpec => f.write_str("PodSpec"),
            Target::PodTemplate => f.write_str("PodTemplate"),
            Target::Container => f.write_str("Container"),
            Target::Node => f.write_str("Node"),
            Target::Cluster => f.write_str("Cluster"),
            Target::Event => f.write_str("Event"),
            Target::PodStatus => f.write_str("PodStatus"),
            Target::ContainerLog => f.write_str("ContainerLog"),
            Target::Prometheus => f.write_str("Prometheus"),
            Target::Rego => f.write_str("Rego"),
            Target::Host => f.write_str("Host"),
            Target::Kind { group, kind } => write!(f, "{group}/{kind}"),
        }
    }
}

/// Kubernetes kinds a target may name bare (`target: StatefulSet`), with
/// their API group. Any other kind is written `group/Kind`, so a typo is an
/// error rather than a rule that never matches.
const KNOWN_KINDS: &[(&str, &str)] = &[
    ("", "Pod"),
    ("", "Service"),
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "ServiceAccount"),
    ("", "Namespace"),
    ("", "PersistentVolume"),
    ("", "PersistentVolumeClaim"),
    ("", "ReplicationController"),
    ("", "Endpoints"),
    ("", "LimitRange"),
    ("", "ResourceQuota"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("policy", "PodDisruptionBudget"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("storage.k8s.io", "StorageClass"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("coordination.k8s.io", "Lease"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("gateway.networking.k8s.io", "Gateway"),
    ("gateway.networking.k8s.io", "HTTPRoute"),
];

/// How a rule decides.
#[derive(Debug)]
pub enum Logic {
    /// A JSON Schema; [`Polarity`] says whether validating is passing or failing.
    Schema(CompiledSchema, Polarity),
    /// A check written in Rust on one workload, container or object (cross-object logic).
    Code(&'static CodeCheck),
    /// A built-in health check (control plane, certificates, events, pod status) written in Rust.
    Health(&'static HealthCheck),
    /// A node rule: conditions, node-problem-detector events and usage, bound by data.
    Node(NodeLogic),
    /// Text lines (container logs, event messages) against a pattern; events also by reason.
    Pattern(LinePattern),
    /// A PromQL query asked of Prometheus at the inspection's time; every series returned is a finding.
    Prometheus(PromQuery),
    /// A Rego module whose `deny` set, for each object, is its findings.
    Rego(Box<RegoModule>),
    /// A host rule `ke node-check` evaluates on each selected node.
    Host(Box<HostRule>),
}

/// How a `target: Node` rule finds its problems: every field is data in the
/// rule's entry, so a rule for a new node-problem-detector condition or event
/// reason needs no code.
#[derive(Debug, Default)]
pub struct NodeLogic {
    /// A health check in Rust deciding the rule from the node (the Ready condition's causes).
    pub code: Option<&'static HealthCheck>,
    /// Node conditions that are a problem when their status is `True`.
    pub conditions: Vec<ConditionBinding>,
    /// Reasons of Warning events about the node (as node-problem-detector raises them).
    pub events: Vec<String>,
    /// Usage of a node resource over a threshold.
    pub usage: Option<UsageBinding>,
}

/// `nodeConditions: [{type, reasons}]`: a node condition feeding a rule.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConditionBinding {
    /// The condition type (`KernelDeadlock`, `MemoryPressure`, a plugin's own …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Only when the condition's reason is one of these. A condition whose
    /// reason some rule lists goes to that rule alone; other reasons go to
    /// the rules that list none.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Only while the node is Ready. On a NotReady node the condition is part
    /// of the outage: NodeNotReady names it, so one outage is one finding.
    #[serde(default, rename = "whileReady")]
    pub while_ready: bool,
}

/// `usage: {resource, percent}`: a node resource used over a threshold.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UsageBinding {
    /// What is measured.
    pub resource: UsageResource,
    /// The threshold in percent; without it, the inspection's configured
    /// threshold for the resource (`inspection.thresholds.node*Percent`).
    #[serde(default)]
    pub percent: Option<f64>,
}

/// A node resource whose usage a rule bounds.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UsageResource {
    /// CPU from metrics.k8s.io against allocatable.
    Cpu,
    /// Memory from metrics.k8s.io against allocatable.
    Memory,
    /// Root and image filesystem bytes and inodes from the kubelet summary.
    Disk,
}

/// A line pattern: a line matches when `pattern` matches and `exclude` (if any) does not.
/// For events, `reasons` (when given) must also list the event's reason.
#[derive(Debug, Clone)]
pub struct LinePattern {
    /// What a problem line looks like; `None` matches every line (a rule on event reasons alone).
    pub pattern: Option<regex::Regex>,
    /// Lines that match `pattern` but are known to be harmless.
    pub exclude: Option<regex::Regex>,
    /// Event reasons the rule is about (empty = any).
    pub reasons: Vec<String>,
}

impl LinePattern {
    /// Whether a line is reported.
    pub fn matches(&self, line: &str) -> bool {
        self.pattern.as_ref().is_none_or(|p| p.is_match(line))
            && !self.exclude.as_ref().is_some_and(|e| e.is_match(line))
    }

    /// Whether an event with this reason and message is reported.
    pub fn matches_event(&self, reason: &str, message: &str) -> bool {
        (self.reasons.is_empty() || self.reasons.iter().any(|r| r == reason)) && self.matches(message)
    }
}

/// What validating against a rule's schema means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polarity {
    /// Polaris format (`failureMessage`): the schema describes a compliant object;
    /// an object that does not validate is reported.
    ReportInvalid,
    /// KubeEye format (`promptMessage`): the schema describes the problem;
    /// an object that validates is reported.
    ReportValid,
}

/// `controllers: {include, exclude}` of a Polaris check.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControllerFilter {
    /// Only these controller kinds (empty = all).
    #[serde(default)]
    pub include: Vec<String>,
    /// Never these controller kinds.
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl ControllerFilter {
    /// Whether a controller kind is selected.
    pub fn selects(&self, kind: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|k| k == kind)) && !self.exclude.iter().any(|k| k == kind)
    }
}

/// A loaded, compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// Stable id.
    pub id: String,
    /// Other names the rule answers to (KubeEye's historic names).
    pub aliases: Vec<String>,
    /// Severity in effect; `None` = disabled.
    pub severity: Option<Severity>,
    /// Severity of the built-in default (or of the file that defined it).
    pub default_severity: Option<Severity>,
    /// Category (Security, Reliability, Efficiency …).
    pub category: String,
    /// Level reported at.
    pub target: Target,
    /// Level validated, when it differs from `target`.
    pub schema_target: Option<Target>,
    /// Which controller kinds the rule applies to.
    pub controllers: ControllerFilter,
    /// Validate containers with the pod's securityContext filled in under theirs.
    pub inherit_pod_security_context: bool,
    /// Skip init containers.
    pub skip_init_containers: bool,
    /// Skip regular containers.
    pub skip_containers: bool,
    /// Message on success.
    pub success_message: String,
    /// Message on failure.
    pub failure_message: String,
    /// What the rule detects.
    pub description: String,
    /// Why it matters.
    pub why: String,
    /// What to do.
    pub remediation: String,
    /// Further reading.
    pub references: Vec<String>,
    /// The decision procedure.
    pub logic: Logic,
    /// Where it was defined (`built-in` or a file path).
    pub origin: String,
}

impl Rule {
    /// Whether the rule is enabled.
    pub fn enabled(&self) -> bool {
        self.severity.is_some()
    }
}

/// What rules need collected beyond the objects every inspection keeps.
/// Each kind of rule says what it reads; the collector asks the rule set
/// ([`RuleSet::needs`]) and fetches nothing no enabled rule reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Tails of running containers' logs (`ContainerLog` rules).
    pub container_logs: bool,
    /// Kinds streamed page by page and dropped after evaluation (`ConfigMap`;
    /// all of them for Rego rules).
    pub streamed_kinds: std::collections::BTreeSet<String>,
    /// Node CPU and memory usage from metrics.k8s.io (`usage` rules on cpu or memory).
    pub node_metrics: bool,
    /// Node filesystem figures from the kubelet Summary API (`usage` rules on disk).
    pub kubelet_summaries: bool,
    /// Instant queries against Prometheus (`target: Prometheus` rules; see [`RuleSet::prometheus_queries`]).
    pub prometheus: bool,
    /// TCP connects to the Services' ClusterIP ports (`kubeeye.io/ServiceProbe`
    /// rules), made only when `inspection.serviceConnect.enabled` allows them.
    pub service_probes: bool,
    /// `ke node-check` on the nodes (`target: Host` rules; see [`RuleSet::host_rules`]).
    pub node_checks: bool,
}

/// Kinds the live collector streams instead of keeping.
const STREAMED_KINDS: &[&str] = &["ConfigMap"];

impl Needs {
    /// Everything a rule could read from the cluster (`ke snapshot`, which does
    /// not know the rules of a later run). Not Prometheus: its answers depend
    /// on the queries, and a later run asks them at the snapshot's time.
    pub fn everything() -> Self {
        Needs {
            container_logs: true,
            streamed_kinds: STREAMED_KINDS.iter().map(|k| (*k).to_string()).collect(),
            node_metrics: true,
            kubelet_summaries: true,
            prometheus: false,
            service_probes: false,
            node_checks: false,
        }
    }

    fn add(&mut self, other: Needs) {
        self.container_logs |= other.container_logs;
        self.streamed_kinds.extend(other.streamed_kinds);
        self.node_metrics |= other.node_metrics;
        self.kubelet_summaries |= other.kubelet_summaries;
        self.prometheus |= other.prometheus;
        self.service_probes |= other.service_probes;
        self.node_checks |= other.node_checks;
    }
}

impl Rule {
    /// What this rule reads beyond the kept objects.
    pub fn needs(&self) -> Needs {
        let mut needs = Needs::default();
        match (&self.target, &self.logic) {
            (Target::ContainerLog, _) => needs.container_logs = true,
            (Target::Kind { group, kind }, _) if group == "kubeeye.io" && kind == "ServiceProbe" => {
                needs.service_probes = true;
            }
            (Target::Kind { group, .. }, _) if group.is_empty() => {
                let streamed = self.target.kinds().filter(|k| STREAMED_KINDS.contains(k));
                needs.streamed_kinds.extend(streamed.map(str::to_string));
            }
            (_, Logic::Prometheus(_)) => needs.prometheus = true,
            (_, Logic::Host(_)) => needs.node_checks = true,
            // A Rego module may judge any object: every kind collected streams by it.
            (_, Logic::Rego(_)) => needs.streamed_kinds.extend(STREAMED_KINDS.iter().map(|k| (*k).to_string())),
            (_, Logic::Node(NodeLogic { usage: Some(usage), .. })) => match usage.resource {
                UsageResource::Cpu | UsageResource::Memory => needs.node_metrics = true,
                UsageResource::Disk => needs.kubelet_summaries = true,
            },
            _ => {}
        }
        needs
    }
}

/// A Polaris-style exemption.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Exemption {
    /// Only objects in this namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Object (controller) name prefixes.
    #[serde(default)]
    pub controller_names: Vec<String>,
    /// Container names.
    #[serde(default)]
    pub container_names: Vec<String>,
    /// Rule ids; empty = every rule.
    #[serde(default)]
    pub rules: Vec<String>,
    /// The rule file it comes from (`built-in` for kubeeye's defaults), for reports.
    #[serde(skip)]
    pub origin: String,
}

/// Every rule in effect, plus exemptions.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// Rules in definition order.
    pub rules: Vec<Rule>,
    /// Config exemptions from every file.
    pub exemptions: Vec<Exemption>,
    /// Registries images may come from (`allowedRegistries:`); enables `PodSetImageRegistry`.
    pub allowed_registries: Vec<String>,
    /// Exemption annotations on objects do not apply (Polaris's
    /// `disallowExemptions` / `disallowAnnotationExemptions`).
    pub annotation_exemptions_disallowed: bool,
}

impl RuleSet {
    /// The built-in rules with their default severities.
    pub fn builtin() -> Result<Self, RuleError> {
        let none: &[&Path] = &[];
        Self::load(none)
    }

    /// Built-ins, then each user file in order (a directory: its `*.yaml` files, sorted).
    pub fn load(files: &[impl AsRef<Path>]) -> Result<Self, RuleError> {
        let mut sources = Vec::new();
        for (name, text) in BUILTIN_FILES {
            sources.push(((*name).to_string(), (*text).to_string(), true));
        }
        for path in files.iter().map(|f| compat::files_of(f.as_ref())).collect::<Result<Vec<_>, _>>()?.concat() {
            let text = std::fs::read_to_string(&path).map_err(|e| RuleError::File {
                file: path.display().to_string(),
                problem: format!("cannot read rule file: {e}"),
            })?;
            sources.push((path.display().to_string(), text, false));
        }
        Self::from_sources(&sources)
    }

    /// Applies the config's say on exemptions (`inspection.exemptions`).
    pub fn with_settings(mut self, settings: &crate::config::InspectSettings) -> Self {
        self.annotation_exemptions_disallowed |= !settings.exemptions.annotations;
        self
    }

    /// Loads rules from `(file name, text, is_builtin)` triples.
    pub fn from_sources(sources: &[(String, String, bool)]) -> Result<Self, RuleError> {
        let mut set = RuleSet::default();
        let mut overrides: Vec<(String, String, Option<Severity>)> = Vec::new();
        // Built-in exemptions come first and are dropped when a user file says `defaultExemptions: false`.
        let (mut builtin_exemptions, mut default_exemptions) = (Vec::new(), true);
        let mut config_exemptions_disallowed = false;
        for (file, text, builtin) in sources {
            let parsed = parse_file(file, text)?;
            config_exemptions_disallowed |= parsed.disallow_exemptions || parsed.disallow_config_exemptions;
            set.annotation_exemptions_disallowed |= parsed.disallow_exemptions || parsed.disallow_annotation_exemptions;
            for (id, mut def) in parsed.custom_checks {
                if parsed.kubeeye_v01 && def.severity.is_none() && !set.rules.iter().any(|r| r.id == id) {
                    // A KubeEye v0.1 check file carries no severity: given on its own, it is meant to run.
                    def.severity = Some(Value::String("warning".into()));
                }
                let (rule, inline) = compile(file, &id, def, *builtin)?;
                match set.rules.iter_mut().find(|r| r.id == id) {
                    Some(existing) => {
                        let severity = existing.severity;
                        *existing = rule;
                        if inline.is_none() {
                            existing.severity = severity;
                        }
                    }
                    None => set.rules.push(rule),
                }
            }
            for (id, setting) in parsed.checks {
                let severity = parse_severity(file, &id, &setting)?;
                if *builtin && let Some(rule) = set.rules.iter_mut().find(|r| r.id == id) {
                    rule.severity = severity;
                    rule.default_severity = severity;
                    continue;
                }
                overrides.push((file.clone(), id, severity));
            }
            let origin = if *builtin { "built-in".to_string() } else { file.clone() };
            let exemptions = parsed.exemptions.into_iter().map(|e| Exemption { origin: origin.clone(), ..e });
            if *builtin {
                builtin_exemptions.extend(exemptions);
            } else {
                set.exemptions.extend(exemptions);
                default_exemptions &= parsed.default_exemptions.unwrap_or(true);
            }
            set.allowed_registries.extend(parsed.allowed_registries);
        }
        if default_exemptions {
            set.exemptions.splice(0..0, builtin_exemptions);
        }
        if config_exemptions_disallowed {
            set.exemptions.clear();
        }
        for (old, new) in compat::REDIRECTS {
            if let Some(rule) = set.rules.iter_mut().find(|r| r.id == *new)
                && !rule.aliases.iter().any(|a| a == old)
            {
                rule.aliases.push((*old).to_string());
            }
        }
        let registry_rule_set_explicitly = overrides.iter().any(|(_, id, _)| id == "PodSetImageRegistry");
        if !set.allowed_registries.is_empty()
            && !registry_rule_set_explicitly
            && let Some(rule) = set.rules.iter_mut().find(|r| r.id == "PodSetImageRegistry")
        {
            rule.severity = Some(Severity::Warning);
        }
        for (file, id, severity) in overrides {
            if let Some(new) = compat::redirect(&id) {
                tracing::warn!("{file}: `{id}` is Polaris's earlier name of `{new}`; the setting applies to `{new}`");
            }
            if compat::NOT_IMPLEMENTED.contains(&id.as_str()) && set.get(&id).is_none() {
                tracing::warn!("{file}: Polaris check `{id}` is not implemented by kubeeye; the setting is ignored");
                continue;
            }
            let Some(rule) = set.rules.iter_mut().find(|r| r.id == id || r.aliases.contains(&id)) else {
                return Err(RuleError::Rule {
                    file,
                    rule: id,
                    problem: "unknown check id in `checks:` (not built in and not defined under `customChecks:`; see `ke rules list`)"
                        .into(),
                });
            };
            rule.severity = severity;
        }
        for rule in &set.rules {
            if matches!(rule.origin.as_str(), o if o != "built-in") && rule.severity.is_none() {
                tracing::warn!(
                    "{}: custom check `{}` has no severity (under `checks:` or its own `severity:`), so it is disabled",
                    rule.origin,
                    rule.id
                );
            }
        }
        for e in &set.exemptions {
            for id in &e.rules {
                if let Some(new) = compat::redirect(id) {
                    tracing::warn!("exemption names `{id}`, Polaris's earlier name of `{new}`; it applies to `{new}`");
                } else if set.get(id).is_none() {
                    tracing::warn!("exemption names unknown rule `{id}`; it has no effect");
                }
            }
        }
        Ok(set)
    }

    /// A rule by id or alias.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id).or_else(|| self.rules.iter().find(|r| r.aliases.iter().any(|a| a == id)))
    }

    /// What the enabled rules need collected.
    pub fn needs(&self) -> Needs {
        let mut needs = Needs::default();
        for rule in self.enabled() {
            needs.add(rule.needs());
        }
        needs
    }

    /// The queries of the enabled PromQL rules, with their rules.
    pub fn prometheus_queries(&self) -> impl Iterator<Item = (&Rule, &PromQuery)> {
        self.enabled().filter_map(|r| match &r.logic {
            Logic::Prometheus(q) => Some((r, q)),
            _ => None,
        })
    }

    /// The enabled host rules, with their rules.
    pub fn host_rules(&self) -> impl Iterator<Item = (&Rule, &HostRule)> {
        self.enabled().filter_map(|r| match &r.logic {
            Logic::Host(h) => Some((r, h.as_ref())),
            _ => None,
        })
    }

    /// Refuses enabled `customCommand` rules the config does not allow: all of
    /// them unless `nodeChecks.allowCustomCommands`, and any whose
    /// command is not on `nodeChecks.commandAllowlist`.
    pub fn check_node_checks(&self, settings: &crate::config::NodeCheckSettings) -> Result<(), RuleError> {
        for (rule, host) in self.host_rules() {
            let Some(command) = &host.command else { continue };
            let problem = if !settings.allow_custom_commands {
                format!(
                    "customCommand `{command}` runs as root on every selected node; it is refused unless the config sets \
                     `nodeChecks.allowCustomCommands: true` and lists the command in `commandAllowlist`"
                )
            } else if !settings.command_allowlist.iter().any(|c| c == command) {
                format!(
                    "customCommand `{command}` is not on `nodeChecks.commandAllowlist`; add it there verbatim to allow it"
                )
            } else {
                continue;
            };
            return Err(RuleError::Rule { file: rule.origin.clone(), rule: rule.id.clone(), problem });
        }
        Ok(())
    }

    /// Enabled rules.
    pub fn enabled(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|r| r.enabled())
    }

    /// Turns every rule on at its default severity, or `warning` when it has none
    /// (used by the fixture tests, so that off-by-default rules are tested too).
    pub fn enable_all(&mut self) {
        for rule in &mut self.rules {
            rule.severity = rule.severity.or(rule.default_severity).or(Some(Severity::Warning));
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    checks: BTreeMap<String, Value>,
    #[serde(default)]
    custom_checks: BTreeMap<String, CheckDef>,
    #[serde(default)]
    exemptions: Vec<Exemption>,
    #[serde(default)]
    allowed_registries: Vec<String>,
    /// `false` drops the built-in exemptions (`rules/exemptions.yaml`).
    #[serde(default)]
    default_exemptions: Option<bool>,
    /// Polaris mutation settings: accepted so Polaris files load; kubeeye never mutates.
    #[serde(default)]
    #[allow(dead_code)]
    mutations: Option<Value>,
    /// Polaris: no exemption applies, from config or annotations.
    #[serde(default)]
    disallow_exemptions: bool,
    /// Polaris: config exemptions (this file's and the built-in defaults) do not apply.
    #[serde(default)]
    disallow_config_exemptions: bool,
    /// Polaris: exemption annotations on objects do not apply.
    #[serde(default)]
    disallow_annotation_exemptions: bool,
    /// A KubeEye v0.1 check file (set by the loader, not read).
    #[serde(skip)]
    kubeeye_v01: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckDef {
    #[serde(default)]
    success_message: Option<String>,
    #[serde(default)]
    failure_message: Option<String>,
    #[serde(default)]
    prompt_message: Option<String>,
    #[serde(default)]
    category: Option<String>,
    target: String,
    #[serde(default)]
    schema_target: Option<String>,
    #[serde(default)]
    controllers: Option<ControllerFilter>,
    #[serde(default)]
    containers: Option<ContainerFilter>,
    #[serde(default)]
    schema: Option<Value>,
    #[serde(default)]
    schema_string: Option<String>,
    /// Polaris before 4.0: the name of `schemaString`.
    #[serde(default)]
    json_schema: Option<String>,
    #[serde(default)]
    additional_schemas: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    additional_schema_strings: Option<BTreeMap<String, String>>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    exclude_pattern: Option<String>,
    /// `target: Event`: event reasons the rule is about.
    #[serde(default)]
    reasons: Vec<String>,
    /// `target: Node`: conditions that are problems when True.
    #[serde(default)]
    node_conditions: Vec<ConditionBinding>,
    /// `target: Node`: reasons of Warning events about the node.
    #[serde(default)]
    node_events: Vec<String>,
    /// `target: Node`: a resource's usage over a threshold.
    #[serde(default)]
    usage: Option<UsageBinding>,
    /// `target: Prometheus`: the PromQL query.
    #[serde(default)]
    query: Option<String>,
    /// `target: Prometheus`: the Prometheus to ask instead of the configured one.
    #[serde(default)]
    endpoint: Option<String>,
    /// `target: Prometheus`: which labels name the finding's object.
    #[serde(default)]
    object: Option<String>,
    /// `target: Rego`: the module's source (a `.rego` file's text, `spec.opas[].rule`).
    #[serde(default)]
    rego: Option<String>,
    /// `target: Host`: the kind of host rule (sysctl, systemd, fileChange …).
    #[serde(default)]
    host: Option<String>,
    /// `target: Host`: the expression (`net.ipv4.ip_forward = 1`); fileFilter: the pattern.
    #[serde(default)]
    rule: Option<String>,
    /// `target: Host`: the file of a fileChange or fileFilter rule.
    #[serde(default)]
    path: Option<String>,
    /// `target: Host`: the command of a customCommand rule.
    #[serde(default)]
    command: Option<String>,
    /// `target: Host`, nodeInfo: KubeEye's resource type (informational).
    #[serde(default)]
    resources_type: Option<String>,
    /// `target: Host`, nodeInfo: the mount point of `filesystem` and `inode`.
    #[serde(default)]
    mount: Option<String>,
    /// `target: Host`, clock: warning threshold in seconds.
    #[serde(default)]
    warning_seconds: Option<f64>,
    /// `target: Host`, clock: danger threshold in seconds.
    #[serde(default)]
    danger_seconds: Option<f64>,
    /// `target: Host`: only this node.
    #[serde(default)]
    node_name: Option<String>,
    /// `target: Host`: only nodes with these labels.
    #[serde(default)]
    node_selector: BTreeMap<String, String>,
    /// The default severity, as an alternative to an entry under `checks:`.
    #[serde(default)]
    severity: Option<Value>,
    #[serde(default)]
    inherit_pod_security_context: bool,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    why: Option<String>,
    #[serde(default)]
    remediation: Option<String>,
    #[serde(default)]
    references: Vec<String>,
    /// Polaris's mutation patches: accepted, never applied.
    #[serde(default)]
    #[allow(dead_code)]
    mutations: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ContainerFilter {
    /// Only these container types (empty = both).
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

fn parse_file(file: &str, text: &str) -> Result<RuleFile, RuleError> {
    if file.ends_with(".rego") {
        return Ok(compat::rego_file(file, text));
    }
    let text = crate::yaml::prepare(text).map_err(|problem| RuleError::File { file: file.to_string(), problem })?;
    compat::parse(file, text)
}

fn parse_severity(file: &str, id: &str, setting: &Value) -> Result<Option<Severity>, RuleError> {
    let text = match setting {
        Value::String(s) => s.as_str(),
        Value::Null => "ignore",
        other => {
            return Err(RuleError::Rule {
                file: file.into(),
                rule: id.into(),
                problem: format!("severity must be a string, got {other}"),
            });
        }
    };
    Severity::parse_setting(text).map_err(|problem| RuleError::Rule { file: file.into(), rule: id.into(), problem })
}

/// Compiles one `customChecks` entry; also returns its inline `severity:` when it has one.
fn compile(
    file: &str,
    id: &str,
    mut def: CheckDef,
    builtin: bool,
) -> Result<(Rule, Option<Option<Severity>>), RuleError> {
    let err = |problem: String| RuleError::Rule { file: file.into(), rule: id.into(), problem };
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err(err("rule ids are letters, digits, `-`, `_` and `.`".into()));
    }
    let target = Target::parse(&def.target).map_err(err)?;
    if let Some(bad) = target.kinds().find(|k| !k.starts_with(|c: char| c.is_ascii_uppercase())) {
        return Err(err(format!("target `{target}`: `{bad}` is not a kind (kinds start with a capital letter)")));
    }
    let schema_target = def.schema_target.as_deref().map(Target::parse_schema_target).transpose().map_err(err)?;
    if let (Some(st), false) = (&schema_target, target.is_workload()) {
        return Err(err(format!("schemaTarget `{st}` needs a workload target, not `{target}`")));
    }
    if def.prompt_message.is_some() && (def.failure_message.is_some() || def.success_message.is_some()) {
        return Err(err(
            "set either `promptMessage` (KubeEye format: the schema describes the problem) or `failureMessage`/`successMessage` \
             (Polaris format: the schema describes a compliant object), not both"
                .into(),
        ));
    }
    let inline_severity = def.severity.take().map(|v| parse_severity(file, id, &v)).transpose()?;
    // A module inside a YAML file is named `file#rule`; its line numbers count from the module's first line.
    let source = if file.ends_with(".rego") { file.to_string() } else { format!("{file}#{id}") };
    let logic = logic_of(&source, &mut def, &target, builtin).map_err(err)?;
    if def.additional_schemas.is_some() || def.additional_schema_strings.is_some() {
        return Err(err(
            "`additionalSchemas` (cross-object schemas) are not supported in custom checks; the built-in relation checks \
             (missingPodDisruptionBudget, missingNetworkPolicy …) cover Polaris's uses"
                .into(),
        ));
    }
    if let Some(filter) = &def.controllers {
        let known = crate::checks::workload::CONTROLLER_KINDS;
        if let Some(kind) = filter.include.iter().chain(&filter.exclude).find(|k| !known.contains(&k.as_str())) {
            return Err(err(format!("controllers: unknown kind `{kind}` (expected one of {})", known.join(", "))));
        }
    }
    let containers = def.containers.unwrap_or_default();
    for c in containers.include.iter().chain(&containers.exclude) {
        if !matches!(c.as_str(), "initContainer" | "container") {
            return Err(err(format!("containers: unknown value `{c}` (expected initContainer or container)")));
        }
    }
    // As in Polaris: a type is checked when `include` is empty or names it, and `exclude` does not.
    let skips = |kind: &str| {
        containers.exclude.iter().any(|c| c == kind)
            || (!containers.include.is_empty() && !containers.include.iter().any(|c| c == kind))
    };
    let failure_message = def.prompt_message.or(def.failure_message).unwrap_or_else(|| match &logic {
        Logic::Prometheus(q) => q.message.to_string(),
        _ => format!("Failed check {id}"),
    });
    let rule = Rule {
        id: id.to_string(),
        aliases: def.aliases,
        severity: inline_severity.flatten(),
        default_severity: inline_severity.flatten(),
        category: def.category.unwrap_or_else(|| "Custom".into()),
        target,
        schema_target,
        controllers: def.controllers.unwrap_or_default(),
        inherit_pod_security_context: def.inherit_pod_security_context,
        skip_init_containers: skips("initContainer"),
        skip_containers: skips("container"),
        success_message: def.success_message.unwrap_or_default(),
        description: def.description.unwrap_or_else(|| failure_message.clone()),
        failure_message,
        why: def.why.unwrap_or_default(),
        remediation: def.remediation.unwrap_or_default(),
        references: def.references,
        logic,
        origin: if builtin { "built-in".into() } else { file.to_string() },
    };
    Ok((rule, inline_severity))
}

/// How a rule decides, from its `code`, binding fields (`pattern`, `reasons`,
/// `nodeConditions`, `nodeEvents`, `usage`), `schema` or `schemaString`.
/// Every field must be one the rule's target uses: a field the target
/// ignores is an error, never a silent no-op.
fn logic_of(source: &str, def: &mut CheckDef, target: &Target, builtin: bool) -> Result<Logic, String> {
    let node_fields = !def.node_conditions.is_empty() || !def.node_events.is_empty() || def.usage.is_some();
    if node_fields && *target != Target::Node {
        return Err(format!("`nodeConditions`, `nodeEvents` and `usage` apply to target Node, not `{target}`"));
    }
    let prometheus_fields = def.query.is_some() || def.endpoint.is_some() || def.object.is_some();
    if prometheus_fields && *target != Target::Prometheus {
        return Err(format!("`query`, `endpoint` and `object` apply to target Prometheus, not `{target}`"));
    }
    if def.rego.is_some() && *target != Target::Rego {
        return Err(format!("`rego` applies to target Rego, not `{target}`"));
    }
    let is_host = *target == Target::Host;
    let host = HostFields {
        kind: def.host.take(),
        rule: def.rule.take(),
        path: def.path.take(),
        pattern: if is_host { def.pattern.take() } else { None },
        command: def.command.take(),
        resources_type: def.resources_type.take(),
        mount: def.mount.take(),
        warning_seconds: def.warning_seconds.take(),
        danger_seconds: def.danger_seconds.take(),
        node_name: def.node_name.take(),
        node_selector: std::mem::take(&mut def.node_selector),
    };
    if host.any() && !is_host {
        return Err(format!(
            "`host`, `rule`, `path`, `command`, `mount`, `nodeName` and `nodeSelector` apply to target Host, not `{target}`"
        ));
    }
    if is_host {
        if def.code.is_some() || def.schema.is_some() || def.schema_string.is_some() || def.exclude_pattern.is_some() {
            return Err("target `Host` takes `host:` and its fields, not a schema, `code` or `excludePattern`".into());
        }
        return Ok(Logic::Host(Box::new(HostRule::compile(host)?)));
    }
    let line_target = matches!(target, Target::ContainerLog | Target::Event);
    if (def.pattern.is_some() || def.exclude_pattern.is_some()) && !line_target {
        return Err(format!("`pattern` applies to targets ContainerLog and Event, not `{target}`"));
    }
    if !def.reasons.is_empty() && *target != Target::Event {
        return Err(format!("`reasons` applies to target Event, not `{target}`"));
    }
    let code = def.code.take();
    if code.is_some() && !builtin {
        return Err(
            "`code` is reserved for built-in rules; use `schema`, `pattern`, or the node and event bindings".into()
        );
    }
    match target {
        Target::Node => {
            if def.schema.is_some() || def.schema_string.is_some() {
                return Err("target `Node` takes `nodeConditions`, `nodeEvents` or `usage`, not a schema".into());
            }
            let code = code.map(|c| HealthCheck::bind(&c, target)).transpose()?;
            if code.is_none() && !node_fields {
                return Err("target `Node` needs `nodeConditions`, `nodeEvents` or `usage`".into());
            }
            let conditions = std::mem::take(&mut def.node_conditions);
            if let Some(c) = conditions.iter().find(|c| c.kind.is_empty() || c.kind == "Ready") {
                return Err(format!(
                    "nodeConditions: `{}` cannot be bound (the Ready condition is judged by NodeNotReady)",
                    c.kind
                ));
            }
            if let Some(percent) = def.usage.as_ref().and_then(|u| u.percent)
                && !(0.0..=100.0).contains(&percent)
            {
                return Err(format!("usage.percent must be between 0 and 100, got {percent}"));
            }
            Ok(Logic::Node(NodeLogic {
                code,
                conditions,
                events: std::mem::take(&mut def.node_events),
                usage: def.usage.take(),
            }))
        }
        Target::ContainerLog | Target::Event => {
            if def.schema.is_some() || def.schema_string.is_some() {
                return Err(format!("target `{target}` takes a `pattern`, not a schema"));
            }
            let bound = def.pattern.is_some() || !def.reasons.is_empty();
            match code {
                Some(code) if !bound => return Ok(Logic::Health(HealthCheck::bind(&code, target)?)),
                Some(_) => return Err("set either `code` or a `pattern`/`reasons`, not both".into()),
                None => {}
            }
            if def.pattern.is_none() && def.exclude_pattern.is_some() {
                return Err("`excludePattern` needs a `pattern`".into());
            }
            if !bound {
                return Err(match target {
                    Target::Event => "target `Event` needs a `pattern` (a regular expression) or `reasons`".into(),
                    _ => format!("target `{target}` needs a `pattern` (a regular expression)"),
                });
            }
            let compile = |what: &str, text: &str| {
                schema::check_pattern_length(&format!("`{what}`"), text)?;
                regex::RegexBuilder::new(text)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("invalid regex in `{what}`: {e}"))
            };
            let pattern = def.pattern.take().map(|p| compile("pattern", &p)).transpose()?;
            let exclude = def.exclude_pattern.as_deref().map(|p| compile("excludePattern", p)).transpose()?;
            Ok(Logic::Pattern(LinePattern { pattern, exclude, reasons: std::mem::take(&mut def.reasons) }))
        }
        Target::Prometheus => {
            if code.is_some() || def.schema.is_some() || def.schema_string.is_some() {
                return Err("target `Prometheus` takes a `query` (PromQL), not a schema or `code`".into());
            }
            let query = def.query.take().map(|q| q.trim().to_string()).filter(|q| !q.is_empty());
            let Some(query) = query else { return Err("target `Prometheus` needs a `query` (PromQL)".into()) };
            let endpoint = def.endpoint.take().map(|e| e.trim().to_string()).filter(|e| !e.is_empty());
            if let Some(url) = &endpoint {
                inspect_rule::check_endpoint(url).map_err(|e| format!("endpoint: {e}"))?;
            }
            let object = def.object.as_deref().map(ObjectFrom::parse).transpose()?.unwrap_or_default();
            let text = def.prompt_message.clone().or(def.failure_message.clone());
            let message = match text {
                Some(text) => Template::parse(&text)?,
                None => Template::parse("the query returned {{ $value }}")?,
            };
            Ok(Logic::Prometheus(PromQuery { query, endpoint, object, message }))
        }
        Target::Rego => {
            if code.is_some() || def.schema.is_some() || def.schema_string.is_some() {
                return Err("target `Rego` takes a `rego` module, not a schema or `code`".into());
            }
            let Some(text) = def.rego.take() else { return Err("target `Rego` needs a `rego` module".into()) };
            Ok(Logic::Rego(Box::new(RegoModule::compile(source, &text)?)))
        }
        Target::Host => Err("target `Host` needs `host:`".into()),
        Target::Cluster | Target::PodStatus => match code {
            Some(code) => Ok(Logic::Health(HealthCheck::bind(&code, target)?)),
            None => Err(format!(
                "target `{target}` is evaluated by built-in checks only; custom rules can target Container, PodSpec, \
                 PodTemplate, Controller or group/Kind with a schema, ContainerLog/Event with a `pattern`, or Node \
                 with `nodeConditions`, `nodeEvents` or `usage`"
            )),
        },
        Target::Controller | Target::PodSpec | Target::PodTemplate | Target::Container | Target::Kind { .. } => {
            let polarity = if def.prompt_message.is_some() { Polarity::ReportValid } else { Polarity::ReportInvalid };
            match (code, def.schema.take(), def.schema_string.take()) {
                (Some(code), None, None) => Ok(Logic::Code(CodeCheck::bind(&code, target)?)),
                (Some(_), _, _) => Err("set either `code` or a schema, not both".into()),
                (None, Some(schema), None) => Ok(Logic::Schema(CompiledSchema::new(schema)?, polarity)),
                (None, None, Some(text)) => Ok(Logic::Schema(CompiledSchema::from_string(&text)?, polarity)),
                (None, Some(_), Some(_)) => Err("set either `schema` or `schemaString`, not both".into()),
                (None, None, None) => Err("no `schema` or `schemaString`".into()),
            }
        }
    }
}

#[cfg(test)]
mod needs_tests {
    use super::*;

    fn with_user_file(text: &str) -> RuleSet {
        let mut sources: Vec<(String, String, bool)> =
            BUILTIN_FILES.iter().map(|(n, t)| ((*n).to_string(), (*t).to_string(), true)).collect();
        sources.push(("user.yaml".into(), text.into(), false));
        match RuleSet::from_sources(&sources) {
            Ok(set) => set,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn the_collector_fetches_only_what_enabled_rules_read() {
        let all = with_user_file("checks: {}\n").needs();
        assert!(all.container_logs && all.node_metrics && all.kubelet_summaries);
        assert!(all.streamed_kinds.contains("ConfigMap"));
        let logs_off = [
            "PodNoSuchFileOrDirectory",
            "PodIOError",
            "PodNoSuchDeviceOrAddress",
            "PodInvalidArgument",
            "PodDeviceOrResourceBusy",
            "PodFileExists",
            "PodTooManyOpenFiles",
            "PodNoSpaceLeftOnDevice",
        ]
        .map(|id| format!("  {id}: ignore\n"))
        .concat();
        let off = format!(
            "checks:\n{logs_off}  NodeCPU: ignore\n  NodeMemory: ignore\n  NodeDisk: ignore\n  sensitiveConfigmapContent: ignore\n  ServiceNotAnswering: ignore\n"
        );
        // Service connects are asked for by the built-in rule; the config's
        // `serviceConnect.enabled` (off by default) decides whether they happen.
        assert!(with_user_file("checks: {}\n").needs().service_probes);
        let none = with_user_file(&off).needs();
        assert_eq!(none, Needs::default());
        let custom = with_user_file(
            "customChecks:\n  NodeCPU95:\n    target: Node\n    severity: danger\n    usage: {resource: cpu, percent: 95}\n"
                .to_string()
                .as_str(),
        );
        assert!(custom.needs().node_metrics);
        assert_eq!(custom.get("NodeCPU95").and_then(|r| r.severity), Some(Severity::Danger));
    }

    #[test]
    fn bindings_on_the_wrong_target_are_load_errors() {
        let sources = |text: &str| vec![("user.yaml".to_string(), text.to_string(), false)];
        let err = |text: &str| RuleSet::from_sources(&sources(text)).map(|_| ()).unwrap_err().to_string();
        assert!(
            err("customChecks:\n  x: {target: Container, nodeConditions: [{type: Foo}]}\n")
                .contains("user.yaml: rule `x`: `nodeConditions`, `nodeEvents` and `usage` apply to target Node")
        );
        assert!(
            err("customChecks:\n  x: {target: Node}\n").contains("needs `nodeConditions`, `nodeEvents` or `usage`")
        );
        assert!(err("customChecks:\n  x: {target: Node, code: nodeNotReady}\n").contains("`code` is reserved"));
        assert!(err("customChecks:\n  x: {target: Node, nodeConditions: [{type: Ready}]}\n").contains("Ready"));
        assert!(
            err("customChecks:\n  x: {target: Pod, reasons: [BackOff]}\n")
                .contains("`reasons` applies to target Event")
        );
        assert!(err("customChecks:\n  x: {target: Node, usage: {resource: gpu}}\n").contains("unknown variant `gpu`"));
        let ok = RuleSet::from_sources(&sources(
            "customChecks:\n  x: {target: Event, reasons: [MyReason], severity: warning}\n",
        ));
        assert!(ok.is_ok());
    }
}

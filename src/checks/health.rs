//! What the health checks (control plane, certificates, nodes, events, pod
//! status, logs) share: the context they read and the ids they implement.
//! Each family lives in its own module; their ids, severities and texts are
//! data in `rules/`.

use serde_json::Value;

use super::Evaluation;
use super::exempt;
use super::index::Index;
use crate::clock::Timestamp;
use crate::config::InspectSettings;
use crate::inventory::{Inventory, ObjectRef};
use crate::report::Finding;
use crate::rules::{Rule, RuleSet};

/// Rule ids implemented by the health checks (`code: <id>` in `rules/`).
pub const BUILTIN: &[&str] = &[
    "APIServerHealthStatus",
    "ETCDHealthStatus",
    "SchedulerHealthStatus",
    "ControllerManagerHealthStatus",
    "NodeApiServerExpiredPeriod",
    "NodeNotReady",
    "KubeletHealthStatus",
    "DockerHealthStatus",
    "NodeMemoryPressure",
    "NodeDiskPressure",
    "NodePIDPressure",
    "NodeNetworkUnavailable",
    "NodeCPU",
    "NodeMemory",
    "NodeDisk",
    "NodeOOM",
    "NodeTaskHung",
    "NodeDeadlock",
    "NodeKernelNULLPointer",
    "NodeExt4Error",
    "NodeReadonlyFilesystem",
    "NodeUnregisterNetDevice",
    "NodeCorruptOverlay2",
    "NodeCorruptDockerImage",
    "NodeAUFSUmountHung",
    "NodeDockerHung",
    "NodeFrequentRestarts",
    "WarningEvent",
    "PodSetImagePullBackOff",
    "PodCrashLooping",
];

/// Whether `id` names a built-in health check.
pub fn is_builtin(id: &str) -> bool {
    BUILTIN.contains(&id)
}

/// What every health check reads.
pub struct Context<'a> {
    /// Everything kept.
    pub inventory: &'a Inventory,
    /// Lookups by kind, namespace and name.
    pub index: &'a Index<'a>,
    /// Rules in effect.
    pub rules: &'a RuleSet,
    /// Thresholds and windows.
    pub settings: &'a InspectSettings,
    /// The inspection's clock.
    pub now: Timestamp,
}

impl Context<'_> {
    /// The rule with this id when it is enabled.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.rules.iter().find(|r| r.id == id).filter(|r| r.enabled())
    }

    /// Whether a config exemption or the object's annotations exempt it from `rule`.
    pub fn exempt(&self, rule: &Rule, object: &ObjectRef, annotations: Option<&Value>) -> bool {
        exempt::is_exempt(rule, object, None, &[annotations], &self.rules.exemptions)
    }

    /// Whether a timestamp lies inside the inspection window (events, restarts).
    pub fn in_window(&self, ts: Timestamp) -> bool {
        let window = i64::try_from(self.settings.events.window.as_secs()).unwrap_or(i64::MAX);
        crate::clock::seconds_between(ts, self.now) <= window
    }
}

/// Records a failing finding for `rule` on `object` unless exempt.
pub fn emit(ctx: &Context<'_>, eval: &mut Evaluation, finding: Finding, annotations: Option<&Value>) {
    let Some(rule) = ctx.rule(&finding.rule) else { return };
    let object = ObjectRef {
        group: String::new(),
        kind: finding.kind.clone(),
        namespace: finding.namespace.clone(),
        name: finding.name.clone(),
    };
    if !ctx.exempt(rule, &object, annotations) {
        eval.findings.push(finding);
    }
}

/// A string at a path of nested objects.
pub fn str_at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter().try_fold(value, |v, key| v.get(key))?.as_str()
}

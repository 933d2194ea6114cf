//! What the health checks (control plane, certificates, nodes, events, pod
//! status, logs) share: the context they read and the ids they implement.
//! Each family lives in its own module; their ids, severities and texts are
//! data in `rules/`.

use serde_json::Value;

use super::Evaluation;
use super::exempt::{self, ExemptedBy};
use super::index::Index;
use crate::clock::Timestamp;
use crate::config::InspectSettings;
use crate::inventory::{Inventory, ObjectRef};
use crate::report::Finding;
use crate::rules::{Logic, Rule, RuleSet, Target};

/// A health check written in Rust, named by a rule's `code:`. Families
/// (control plane, certificates, nodes, events, pod status) evaluate the
/// enabled rules bound to their checks and hand each check its rule, so no
/// code looks a rule up by its id.
#[derive(Debug)]
pub struct HealthCheck {
    /// The name a rule gives in `code:`.
    pub name: &'static str,
    /// The target a rule using it must have.
    pub target: HealthTarget,
}

/// The targets health checks serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthTarget {
    /// `target: Cluster`.
    Cluster,
    /// `target: Node`.
    Node,
    /// `target: Event`.
    Event,
    /// `target: PodStatus`.
    PodStatus,
}

impl HealthTarget {
    fn of(target: &Target) -> Option<Self> {
        Some(match target {
            Target::Cluster => Self::Cluster,
            Target::Node => Self::Node,
            Target::Event => Self::Event,
            Target::PodStatus => Self::PodStatus,
            _ => return None,
        })
    }
}

/// Every health check. Adding one: its function in the family's module, a const here, a line in [`REGISTRY`].
pub const REGISTRY: &[&HealthCheck] = &[
    &APISERVER_HEALTH,
    &ETCD_HEALTH,
    &SCHEDULER_HEALTH,
    &CONTROLLER_MANAGER_HEALTH,
    &APISERVER_CERTIFICATE,
    &KUBELET_NOT_POSTING,
    &NODE_NOT_READY,
    &WARNING_EVENTS,
    &IMAGE_PULL_FAILURES,
    &CRASH_LOOPS,
    &ABNORMAL_PODS,
];

/// The API server's /readyz, /livez and pods.
pub const APISERVER_HEALTH: HealthCheck = HealthCheck { name: "apiserverHealth", target: HealthTarget::Cluster };
/// etcd through /readyz, its pods, or componentstatuses.
pub const ETCD_HEALTH: HealthCheck = HealthCheck { name: "etcdHealth", target: HealthTarget::Cluster };
/// The scheduler's leader lease and pods.
pub const SCHEDULER_HEALTH: HealthCheck = HealthCheck { name: "schedulerHealth", target: HealthTarget::Cluster };
/// The controller-manager's leader lease and pods.
pub const CONTROLLER_MANAGER_HEALTH: HealthCheck =
    HealthCheck { name: "controllerManagerHealth", target: HealthTarget::Cluster };
/// The API server's serving certificate expiry.
pub const APISERVER_CERTIFICATE: HealthCheck =
    HealthCheck { name: "apiserverCertificate", target: HealthTarget::Cluster };
/// A node that still says Ready while its kubelet stopped posting status (a stale heartbeat).
pub const KUBELET_NOT_POSTING: HealthCheck = HealthCheck { name: "kubeletNotPosting", target: HealthTarget::Node };
/// A node whose Ready condition is not True, whatever the cause (named in the finding).
pub const NODE_NOT_READY: HealthCheck = HealthCheck { name: "nodeNotReady", target: HealthTarget::Node };
/// Warning events grouped by object and reason.
pub const WARNING_EVENTS: HealthCheck = HealthCheck { name: "warningEvents", target: HealthTarget::Event };
/// Containers that cannot pull their image.
pub const IMAGE_PULL_FAILURES: HealthCheck = HealthCheck { name: "imagePullFailures", target: HealthTarget::PodStatus };
/// Containers in a crash loop or restarting often.
pub const CRASH_LOOPS: HealthCheck = HealthCheck { name: "crashLoops", target: HealthTarget::PodStatus };
/// Pods stuck outside Running (Pending, Unknown, Failed) beyond a grace period.
pub const ABNORMAL_PODS: HealthCheck = HealthCheck { name: "abnormalPods", target: HealthTarget::PodStatus };

impl HealthCheck {
    /// The registered check named `name` for a rule with `target`, or what is wrong.
    pub fn bind(name: &str, target: &Target) -> Result<&'static HealthCheck, String> {
        let check = REGISTRY.iter().copied().find(|c| c.name == name).ok_or_else(|| {
            let names: Vec<&str> = REGISTRY.iter().map(|c| c.name).collect();
            format!("no built-in health check `{name}` (known: {})", names.join(", "))
        })?;
        if HealthTarget::of(target) != Some(check.target) {
            return Err(format!("health check `{name}` serves target `{:?}`, not `{target}`", check.target));
        }
        Ok(check)
    }
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

impl<'a> Context<'a> {
    /// The enabled rules a health check decides.
    pub fn bound(&self, check: &'static HealthCheck) -> impl Iterator<Item = &'a Rule> + use<'a> {
        let bound = move |r: &&Rule| match &r.logic {
            Logic::Health(c) => c.name == check.name,
            Logic::Node(n) => n.code.is_some_and(|c| c.name == check.name),
            _ => false,
        };
        self.rules.enabled().filter(bound)
    }

    /// The enabled rule with this id (for a finding built before its rule was known).
    fn rule(&self, id: &str) -> Option<&'a Rule> {
        self.rules.rules.iter().find(|r| r.id == id).filter(|r| r.enabled())
    }

    /// What exempts the object from `rule`, if a config exemption or its annotations do.
    pub fn exemption(&self, rule: &Rule, object: &ObjectRef, annotations: Option<&Value>) -> Option<ExemptedBy> {
        exempt::exemption(rule, object, None, &[annotations], self.rules)
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
        kind: finding.kind.to_string(),
        namespace: finding.namespace.as_deref().map(str::to_string),
        name: finding.name.to_string(),
    };
    match ctx.exemption(rule, &object, annotations) {
        Some(by) => eval.exempted.record(&object, rule, by),
        None => eval.findings.push(finding),
    }
}

/// A string at a path of nested objects.
pub fn str_at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter().try_fold(value, |v, key| v.get(key))?.as_str()
}

//! Control plane health: the apiserver's `/readyz?verbose` and `/livez`, etcd,
//! and the scheduler's and controller-manager's leader leases and pods.
//! Component statuses are only a last fallback (deprecated upstream).

use serde::Deserialize;
use serde_json::Value;

use super::Evaluation;
use super::health::{
    APISERVER_HEALTH, CONTROLLER_MANAGER_HEALTH, Context, ETCD_HEALTH, SCHEDULER_HEALTH, emit, str_at,
};
use crate::clock;
use crate::inventory::{CoverageGap, ObjectRef, section};
use crate::report::{Finding, Text};
use crate::rules::Rule;
use crate::text::truncate;

/// A kube-system pod of a control-plane component, as seen while pods streamed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlPlanePod {
    /// `etcd`, `kube-apiserver`, `kube-scheduler` or `kube-controller-manager`.
    pub component: String,
    /// Pod name.
    pub name: String,
    /// Whether the pod is Ready.
    pub ready: bool,
    /// Why not, when not ready (phase, container state).
    pub detail: String,
}

/// A control-plane pod's readiness, from its status.
pub fn control_plane_pod(pod: &Value, component: &str) -> ControlPlanePod {
    let name = str_at(pod, &["metadata", "name"]).unwrap_or_default().to_string();
    let conditions = pod.get("status").and_then(|s| s.get("conditions")).and_then(Value::as_array);
    let ready = conditions.into_iter().flatten().any(|c| {
        c.get("type").and_then(Value::as_str) == Some("Ready")
            && c.get("status").and_then(Value::as_str) == Some("True")
    });
    let detail = if ready {
        String::new()
    } else {
        let phase = str_at(pod, &["status", "phase"]).unwrap_or("Unknown");
        let waiting = pod
            .get("status")
            .and_then(|s| s.get("containerStatuses"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find_map(|c| {
                let w = c.get("state")?.get("waiting")?;
                Some(format!(
                    "{}: {}",
                    w.get("reason").and_then(Value::as_str).unwrap_or("Waiting"),
                    w.get("message").and_then(Value::as_str).unwrap_or("")
                ))
            });
        match waiting {
            Some(w) => format!("phase {phase}, {}", w.trim_end_matches(": ")),
            None => format!("phase {phase}, not Ready"),
        }
    };
    ControlPlanePod { component: component.to_string(), name, ready, detail }
}

/// The stored answers of the apiserver's health endpoints.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApiServerHealth {
    /// `GET /readyz?verbose`.
    pub readyz: Option<Probe>,
    /// `GET /livez`.
    pub livez: Option<Probe>,
}

/// One health endpoint's answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Probe {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub body: String,
}

impl Probe {
    /// The `[-]` lines of a verbose health body: the checks that failed.
    pub fn failed_checks(&self) -> Vec<&str> {
        self.body.lines().filter_map(|l| l.trim().strip_prefix("[-]")).collect()
    }

    fn healthy(&self) -> bool {
        self.status == 200 && self.failed_checks().is_empty()
    }
}

fn component(name: &str) -> ObjectRef {
    ObjectRef { group: String::new(), kind: "ControlPlane".into(), namespace: None, name: name.into() }
}

/// Runs the control-plane checks.
pub fn check(ctx: &Context<'_>, pods: &[ControlPlanePod], eval: &mut Evaluation) {
    let health =
        ctx.index.named("APIServerHealth", None, "apiserver").and_then(|o| ApiServerHealth::deserialize(&o.raw).ok());
    for rule in ctx.bound(&APISERVER_HEALTH) {
        apiserver(ctx, rule, health.as_ref(), pods, eval);
    }
    for rule in ctx.bound(&ETCD_HEALTH) {
        etcd(ctx, rule, health.as_ref(), pods, eval);
    }
    for (check, name) in
        [(&SCHEDULER_HEALTH, "kube-scheduler"), (&CONTROLLER_MANAGER_HEALTH, "kube-controller-manager")]
    {
        for rule in ctx.bound(check) {
            leader(ctx, rule, name, pods, eval);
        }
    }
}

fn apiserver(
    ctx: &Context<'_>,
    rule: &Rule,
    health: Option<&ApiServerHealth>,
    pods: &[ControlPlanePod],
    eval: &mut Evaluation,
) {
    let mut problems = Vec::new();
    let mut seen = false;
    if let Some(readyz) = health.and_then(|h| h.readyz.as_ref()) {
        seen = true;
        let all = readyz.failed_checks();
        // etcd's own lines are ETCDHealthStatus's to report; one cause, one finding.
        let etcd_reported = ctx.bound(&ETCD_HEALTH).next().is_some();
        let failed: Vec<&str> = all.iter().copied().filter(|c| !(etcd_reported && c.starts_with("etcd"))).collect();
        if !failed.is_empty() {
            problems.push(format!("/readyz reports failing checks: {}", failed.join("; ")));
        } else if readyz.status != 200 && all.is_empty() {
            problems.push(format!("/readyz answered HTTP {}: {}", readyz.status, truncate(&readyz.body, 200)));
        }
    }
    if let Some(livez) = health.and_then(|h| h.livez.as_ref()) {
        seen = true;
        if !livez.healthy() {
            problems.push(format!("/livez answered HTTP {}: {}", livez.status, truncate(&livez.body, 200)));
        }
    }
    for pod in pods.iter().filter(|p| p.component == "kube-apiserver") {
        seen = true;
        if !pod.ready {
            problems.push(format!("pod {} is not ready ({})", pod.name, pod.detail));
        }
    }
    if seen {
        conclude(ctx, eval, rule, "kube-apiserver", "API server", &problems, None);
    }
}

fn etcd(
    ctx: &Context<'_>,
    rule: &Rule,
    health: Option<&ApiServerHealth>,
    pods: &[ControlPlanePod],
    eval: &mut Evaluation,
) {
    let mut problems = Vec::new();
    let mut seen = false;
    if let Some(readyz) = health.and_then(|h| h.readyz.as_ref()) {
        seen = true;
        problems.extend(
            readyz.failed_checks().into_iter().filter(|c| c.starts_with("etcd")).map(|c| format!("/readyz: [-]{c}")),
        );
    }
    for pod in pods.iter().filter(|p| p.component == "etcd") {
        seen = true;
        if !pod.ready {
            problems.push(format!("pod {} is not ready ({})", pod.name, pod.detail));
        }
    }
    if !seen {
        // Last resort: the deprecated componentstatuses API.
        for cs in
            ctx.inventory.objects.iter().filter(|o| o.id.kind == "ComponentStatus" && o.id.name.starts_with("etcd"))
        {
            seen = true;
            if let Some(problem) = unhealthy_component_status(&cs.raw) {
                problems.push(format!("componentstatus {}: {problem}", cs.id.name));
            }
        }
    }
    if seen {
        conclude(ctx, eval, rule, "etcd", "etcd", &problems, None);
    }
}

/// The error of a ComponentStatus whose Healthy condition is not True.
fn unhealthy_component_status(cs: &Value) -> Option<String> {
    let conditions = cs.get("conditions").and_then(Value::as_array)?;
    let healthy = conditions.iter().find(|c| c.get("type").and_then(Value::as_str) == Some("Healthy"))?;
    if healthy.get("status").and_then(Value::as_str) == Some("True") {
        return None;
    }
    Some(
        healthy
            .get("error")
            .or_else(|| healthy.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("not healthy")
            .to_string(),
    )
}

/// The scheduler or controller-manager: a leader lease renewed within its
/// duration, and ready pods where they are visible.
fn leader(ctx: &Context<'_>, rule: &Rule, name: &str, pods: &[ControlPlanePod], eval: &mut Evaluation) {
    let mut problems = Vec::new();
    let mut last_seen = None;
    let lease = ctx.index.named("Lease", Some("kube-system"), name);
    if let Some(lease) = lease {
        let spec = lease.raw.get("spec").unwrap_or(&Value::Null);
        let holder = spec.get("holderIdentity").and_then(Value::as_str).unwrap_or("nobody");
        let duration = spec.get("leaseDurationSeconds").and_then(Value::as_i64).unwrap_or(15);
        let renewed = spec.get("renewTime").and_then(Value::as_str).and_then(clock::parse);
        match renewed {
            Some(renewed) => {
                last_seen = Some(clock::format(renewed));
                let age = clock::seconds_between(renewed, ctx.now);
                let allowed = duration + i64::try_from(ctx.settings.thresholds.lease_skew_seconds).unwrap_or(0);
                if age > allowed {
                    problems.push(format!(
                        "leader lease kube-system/{name} last renewed {} ago by {holder} (lease duration {duration}s): no {name} is leading",
                        human_age(age)
                    ));
                }
            }
            None => problems.push(format!("leader lease kube-system/{name} has no renewTime: no {name} holds it")),
        }
    }
    let component_pods: Vec<_> = pods.iter().filter(|p| p.component == name).collect();
    for pod in &component_pods {
        if !pod.ready {
            problems.push(format!("pod {} is not ready ({})", pod.name, pod.detail));
        }
    }
    if lease.is_none() && component_pods.is_empty() {
        let fallback = ctx.inventory.objects.iter().find(|o| {
            o.id.kind == "ComponentStatus" && (o.id.name == name.trim_start_matches("kube-") || o.id.name == name)
        });
        match fallback {
            Some(cs) => problems.extend(unhealthy_component_status(&cs.raw).map(|p| format!("componentstatus: {p}"))),
            None => {
                if is_cluster_snapshot(ctx) {
                    eval.gaps.push(CoverageGap::unavailable(
                        section::CONTROL_PLANE,
                        format!("lease kube-system/{name}"),
                        format!(
                            "no {name} leader lease or pods are visible (a managed control plane hides them); its health is unknown"
                        ),
                    ));
                }
                return;
            }
        }
    }
    conclude(ctx, eval, rule, name, name, &problems, last_seen);
}

/// A pass when a component showed no problem, otherwise one finding listing them all.
fn conclude(
    ctx: &Context<'_>,
    eval: &mut Evaluation,
    rule: &crate::rules::Rule,
    name: &str,
    label: &str,
    problems: &[String],
    last_seen: Option<String>,
) {
    if problems.is_empty() {
        eval.passed += 1;
        return;
    }
    let mut f = Finding::new(rule, section::CONTROL_PLANE, &component(name))
        .with_message(format!("{label} not healthy: {}", problems.join("; ")));
    f.last_seen = last_seen.map(Text::from);
    emit(ctx, eval, f, None);
}

/// Whether the inventory came from a cluster (not a directory of manifests):
/// cluster-level gaps are only worth reporting then.
pub fn is_cluster_snapshot(ctx: &Context<'_>) -> bool {
    ctx.index.has_any("APIServerHealth") || ctx.index.has_any("Inspection") || ctx.inventory.collected_at.is_some()
}

/// `90` → `1m30s`, `7200` → `2h`.
pub fn human_age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::control_plane_component;
    use serde_json::json;

    #[test]
    fn readyz_failures() {
        let p = Probe { status: 500, body: "[+]ping ok\n[-]etcd failed: reason withheld\n[+]log ok\n".into() };
        assert_eq!(p.failed_checks(), ["etcd failed: reason withheld"]);
        assert!(!p.healthy());
        assert!(Probe { status: 200, body: "ok".into() }.healthy());
    }

    #[test]
    fn control_plane_pods() {
        let pod = json!({"metadata": {"name": "etcd-cp-1", "labels": {"component": "etcd", "tier": "control-plane"}},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
              "containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}}}]}});
        assert_eq!(control_plane_component(&pod), Some("etcd"));
        let p = control_plane_pod(&pod, "etcd");
        assert!(!p.ready);
        assert_eq!(p.detail, "phase Running, CrashLoopBackOff: back-off 5m0s");
        assert_eq!(human_age(90), "90s");
        assert_eq!(human_age(7300), "2h");
    }
}

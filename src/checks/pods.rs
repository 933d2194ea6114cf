//! Pod status: containers that cannot pull their image or keep crashing,
//! reported once per controller and container with the number of pods hit,
//! and pods stuck outside Running (Pending, Unknown, Failed) beyond a grace
//! period, once per controller. Pods arrive page by page; only the problems
//! are kept.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::Evaluation;
use super::control_plane::human_age;
use super::events::PodControllers;
use super::health::{ABNORMAL_PODS, CRASH_LOOPS, Context, HealthCheck, IMAGE_PULL_FAILURES, emit};
use super::workload::controller_of;
use crate::clock;
use crate::inventory::{Object, ObjectRef, section};
use crate::report::{Finding, Text};
use crate::text::truncate;

/// Waiting reasons that mean the image cannot be pulled.
const IMAGE_PULL: &[&str] =
    &["ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable"];

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PodStatusView {
    phase: Option<String>,
    /// Why the pod is in its phase (`Evicted`, `NodeLost` …).
    reason: Option<String>,
    message: Option<String>,
    conditions: Vec<PodCondition>,
    container_statuses: Vec<ContainerStatus>,
    init_container_statuses: Vec<ContainerStatus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PodCondition {
    #[serde(rename = "type")]
    kind: String,
    status: String,
    reason: Option<String>,
    message: Option<String>,
    last_transition_time: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ContainerStatus {
    name: String,
    image: String,
    restart_count: u32,
    state: State,
    last_state: State,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct State {
    waiting: Option<Waiting>,
    terminated: Option<Terminated>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Waiting {
    reason: Option<String>,
    message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Terminated {
    reason: Option<String>,
    exit_code: Option<i32>,
    finished_at: Option<String>,
}

/// One problem on one controller's container, over all its pods.
#[derive(Debug, Default)]
struct Problem {
    pods: u64,
    sample_pod: String,
    /// Where the sample pod was read from (snapshots), for a controller that was not.
    source: Option<crate::inventory::SourceLocation>,
    reason: String,
    message: String,
}

/// Accumulates pod status problems page by page.
#[derive(Debug, Default)]
pub struct PodTracker {
    /// By check, controller and container (`None`: the pod as a whole).
    problems: HashMap<(&'static str, ObjectRef, Option<String>), (&'static HealthCheck, Problem)>,
    /// Pods reported here (namespace, name): their BackOff and pull-failure
    /// events say the same thing again and are not reported separately.
    pub reported_pods: HashSet<(Option<String>, String)>,
    /// Every pod seen that has a controller, to the controller it is
    /// reported under: events and log findings of pods are grouped by it.
    pub controllers: PodControllers,
}

impl PodTracker {
    /// Takes one pod.
    pub fn add(&mut self, ctx: &Context<'_>, pod: &Object) {
        let controller = controller_of(pod);
        if controller != pod.id {
            self.controllers.insert((pod.id.namespace.clone(), pod.id.name.clone()), controller);
        }
        let Some(status) = pod.raw.get("status") else { return };
        let Ok(status) = PodStatusView::deserialize(status) else { return };
        match status.phase.as_deref() {
            Some("Succeeded") => {}
            Some("Failed") => self.abnormal(ctx, pod, &status),
            _ => {
                self.containers(ctx, pod, &status);
                self.abnormal(ctx, pod, &status);
            }
        }
    }

    /// Containers that cannot pull their image or keep crashing.
    fn containers(&mut self, ctx: &Context<'_>, pod: &Object, status: &PodStatusView) {
        let restarts = ctx.settings.thresholds.restart_count;
        for c in status.container_statuses.iter().chain(&status.init_container_statuses) {
            let waiting = c.state.waiting.as_ref();
            let waiting_reason = waiting.and_then(|w| w.reason.as_deref()).unwrap_or_default();
            let problem = if IMAGE_PULL.contains(&waiting_reason) {
                let detail = waiting.and_then(|w| w.message.as_deref()).unwrap_or_default();
                Some((
                    &IMAGE_PULL_FAILURES,
                    format!(
                        "container {} cannot pull image {} ({waiting_reason}): {}",
                        c.name,
                        c.image,
                        truncate(detail, 300)
                    ),
                ))
            } else if waiting_reason == "CrashLoopBackOff" {
                Some((
                    &CRASH_LOOPS,
                    format!(
                        "container {} is in CrashLoopBackOff after {} restarts{}",
                        c.name,
                        c.restart_count,
                        last_exit(c)
                    ),
                ))
            } else if c.restart_count >= restarts && restarts > 0 && recently_restarted(ctx, c) {
                Some((
                    &CRASH_LOOPS,
                    format!("container {} restarted {} times{}", c.name, c.restart_count, last_exit(c)),
                ))
            } else {
                None
            };
            let Some((check, message)) = problem else { continue };
            let reason = if waiting_reason.is_empty() { "Restarting" } else { waiting_reason };
            self.record(check, pod, Some(&c.name), message, reason);
        }
    }

    /// A pod neither Running nor Succeeded for longer than the grace period
    /// (`thresholds.abnormalPodGraceMinutes`), unless its containers were
    /// reported already (a pod stuck pulling its image is Pending too). A
    /// Failed pod that a controller replaces is a leftover, not an outage,
    /// and is left to the controller; one without a controller is reported.
    fn abnormal(&mut self, ctx: &Context<'_>, pod: &Object, status: &PodStatusView) {
        let Some(phase) = status.phase.as_deref() else { return };
        if phase == "Running" || phase == "Succeeded" || pod.metadata().get("deletionTimestamp").is_some() {
            return;
        }
        if phase == "Failed" && pod.controller_owner().is_some_and(|o| o.kind != "Node") {
            return;
        }
        if self.reported_pods.contains(&(pod.id.namespace.clone(), pod.id.name.clone())) {
            return;
        }
        let ready = status.conditions.iter().find(|c| c.kind == "Ready");
        let since = ready
            .filter(|c| c.status != "True")
            .and_then(|c| c.last_transition_time.as_deref())
            .or_else(|| pod.metadata().get("creationTimestamp").and_then(serde_json::Value::as_str))
            .and_then(clock::parse);
        let Some(since) = since else { return };
        let age = clock::seconds_between(since, ctx.now);
        let grace =
            i64::try_from(ctx.settings.thresholds.abnormal_pod_grace_minutes.saturating_mul(60)).unwrap_or(i64::MAX);
        if age <= grace {
            return;
        }
        let (reason, detail) = why_not_running(status);
        let reason = reason.unwrap_or(phase);
        let detail = detail.map(|d| format!(": {}", truncate(&d, 300))).unwrap_or_default();
        let message = if reason == phase {
            format!("{phase} for {}{detail}", human_age(age))
        } else {
            format!("{phase} for {} ({reason}){detail}", human_age(age))
        };
        self.record(&ABNORMAL_PODS, pod, None, message, reason);
    }

    fn record(
        &mut self,
        check: &'static HealthCheck,
        pod: &Object,
        container: Option<&str>,
        message: String,
        reason: &str,
    ) {
        self.reported_pods.insert((pod.id.namespace.clone(), pod.id.name.clone()));
        let key = (check.name, controller_of(pod), container.map(str::to_string));
        let (_, p) = self.problems.entry(key).or_insert_with(|| (check, Problem::default()));
        p.pods += 1;
        if p.sample_pod.is_empty() {
            p.sample_pod.clone_from(&pod.id.name);
            p.source.clone_from(&pod.source);
            p.message = message;
            p.reason = reason.to_string();
        }
    }

    /// Emits the findings.
    pub fn finish(&self, ctx: &Context<'_>, eval: &mut Evaluation) {
        for ((_, controller, container), (check, p)) in &self.problems {
            let Some(rule) = ctx.bound(check).next() else { continue };
            let pods = if p.pods == 1 {
                format!("pod {}", p.sample_pod)
            } else {
                format!("{} pods (e.g. {})", p.pods, p.sample_pod)
            };
            let mut f = Finding::new(rule, section::PODS, controller)
                .with_container(container.as_deref())
                .with_message(format!("{pods}: {}", p.message));
            f.reason = Some(Text::interned(&p.reason));
            f.count = Some(p.pods);
            f.pods = Some(p.pods);
            f.source.clone_from(&p.source);
            emit(ctx, eval, f, None);
        }
    }
}

fn last_exit(c: &ContainerStatus) -> String {
    match &c.last_state.terminated {
        Some(t) => format!(
            "; last exit: {} (code {})",
            t.reason.as_deref().unwrap_or("terminated"),
            t.exit_code.map_or_else(|| "?".to_string(), |c| c.to_string())
        ),
        None => String::new(),
    }
}

/// Whether the container's last termination was a crash inside the inspection
/// window. A container that restarted often months ago and has run since is
/// not crashing, and one stopped by a node reboot (reason `Unknown`) did not
/// crash: with weekly reboots every long-lived pod would otherwise qualify.
fn recently_restarted(ctx: &Context<'_>, c: &ContainerStatus) -> bool {
    let Some(t) = c.last_state.terminated.as_ref() else { return false };
    if matches!(t.reason.as_deref(), Some("Unknown" | "ContainerStatusUnknown" | "Completed")) {
        return false;
    }
    t.finished_at.as_deref().and_then(clock::parse).is_some_and(|at| ctx.in_window(at))
}

/// Why a pod is not running, most specific first: the pod's own reason
/// (`Evicted`, `NodeLost`), a waiting container (`ContainerCreating`,
/// `CreateContainerConfigError`, init containers first), or a condition that
/// is not met (`Unschedulable`). The reason and its message, when known.
fn why_not_running(status: &PodStatusView) -> (Option<&str>, Option<String>) {
    if let Some(reason) = nonempty(&status.reason) {
        return (Some(reason), nonempty(&status.message).map(str::to_string));
    }
    let waiting = status
        .init_container_statuses
        .iter()
        .chain(&status.container_statuses)
        .filter_map(|c| c.state.waiting.as_ref())
        .find(|w| nonempty(&w.reason).is_some());
    if let Some(w) = waiting {
        return (nonempty(&w.reason), nonempty(&w.message).map(str::to_string));
    }
    let failed = status.init_container_statuses.iter().chain(&status.container_statuses).find_map(|c| {
        let t = c.state.terminated.as_ref().filter(|t| t.exit_code.is_some_and(|code| code != 0))?;
        Some((c.name.as_str(), t))
    });
    if let Some((name, t)) = failed {
        let code = t.exit_code.unwrap_or_default();
        return (
            Some(t.reason.as_deref().unwrap_or("Error")),
            Some(format!("container {name} exited with code {code}")),
        );
    }
    let unmet = ["PodScheduled", "Initialized", "ContainersReady", "Ready"]
        .iter()
        .filter_map(|kind| status.conditions.iter().find(|c| c.kind == *kind && c.status != "True"))
        .find(|c| nonempty(&c.reason).is_some());
    match unmet {
        Some(c) => (nonempty(&c.reason), nonempty(&c.message).map(str::to_string)),
        None => (None, nonempty(&status.message).map(str::to_string)),
    }
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::checks::evaluate_with;
    use crate::config::InspectSettings;
    use crate::inventory::{Inventory, Object};
    use crate::rules::RuleSet;

    /// A pod of `web` Pending since 01:00, inspected at 02:00.
    fn pending(name: &str) -> Object {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "shop", "creationTimestamp": "2026-11-25T01:00:00Z",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "controller": true, "uid": "u"}]},
            "spec": {"containers": [{"name": "web", "image": "web:1"}]},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}
        });
        Object::from_value(pod).expect("a pod")
    }

    fn abnormal(grace_minutes: u64) -> Vec<(Option<u64>, String)> {
        let mut inventory = Inventory { collected_at: Some("2026-11-25T02:00:00Z".into()), ..Inventory::default() };
        inventory.push(pending("web-1-a"));
        inventory.push(pending("web-1-b"));
        let rules = RuleSet::builtin().expect("built-in rules");
        let mut settings = InspectSettings::default();
        settings.thresholds.abnormal_pod_grace_minutes = grace_minutes;
        let eval = evaluate_with(&inventory, &rules, &settings);
        eval.findings
            .into_iter()
            .filter(|f| f.rule == "AbnormalPodStatus")
            .map(|f| (f.count, f.name.to_string()))
            .collect()
    }

    #[test]
    fn pods_pending_beyond_the_grace_period_are_one_finding_per_controller() {
        assert_eq!(abnormal(15), [(Some(2), "web-1".to_string())]);
        assert_eq!(abnormal(59), [(Some(2), "web-1".to_string())]);
        assert!(abnormal(60).is_empty(), "an hour is within a 60-minute grace period");
    }
}

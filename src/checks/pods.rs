//! Pod status: containers that cannot pull their image or keep crashing,
//! reported once per controller and container with the number of pods hit.
//! Pods arrive page by page; only the problems are kept.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::Evaluation;
use super::health::{CRASH_LOOPS, Context, HealthCheck, IMAGE_PULL_FAILURES, emit};
use super::workload::controller_of;
use crate::clock;
use crate::inventory::{Object, ObjectRef, section};
use crate::report::Finding;
use crate::text::truncate;

/// Waiting reasons that mean the image cannot be pulled.
const IMAGE_PULL: &[&str] =
    &["ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable"];

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PodStatusView {
    phase: Option<String>,
    container_statuses: Vec<ContainerStatus>,
    init_container_statuses: Vec<ContainerStatus>,
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
    reason: String,
    message: String,
}

/// Accumulates pod status problems page by page.
#[derive(Debug, Default)]
pub struct PodTracker {
    problems: HashMap<(&'static str, ObjectRef, String), (&'static HealthCheck, Problem)>,
    /// Pods reported here (namespace, name): their BackOff and pull-failure
    /// events say the same thing again and are not reported separately.
    pub reported_pods: HashSet<(Option<String>, String)>,
}

impl PodTracker {
    /// Takes one pod.
    pub fn add(&mut self, ctx: &Context<'_>, pod: &Object) {
        let Some(status) = pod.raw.get("status") else { return };
        let Ok(status) = PodStatusView::deserialize(status) else { return };
        if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
            return;
        }
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
            self.reported_pods.insert((pod.id.namespace.clone(), pod.id.name.clone()));
            let key = (check.name, controller_of(pod), c.name.clone());
            let (_, p) = self.problems.entry(key).or_insert_with(|| (check, Problem::default()));
            p.pods += 1;
            if p.sample_pod.is_empty() {
                p.sample_pod.clone_from(&pod.id.name);
                p.message = message;
                p.reason = if waiting_reason.is_empty() { "Restarting".into() } else { waiting_reason.to_string() };
            }
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
                .with_container(Some(container))
                .with_message(format!("{pods}: {}", p.message));
            f.reason = Some(p.reason.clone());
            f.count = Some(p.pods);
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

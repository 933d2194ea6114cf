//! Container logs for the live collector: which containers of a page of pods
//! are read, and one bounded read of each. A 403 is reported once, with the
//! grant to add; a container that went away meanwhile is nothing to report.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use tokio::sync::Semaphore;

use super::client::{Api, status_error};
use super::live::Msg;
use super::pager::encode;
use crate::config::InspectSettings;
use crate::inventory::{CoverageGap, Object, section};

/// The containers of a page of pods whose logs are read: running ones, and
/// not on a NotReady node, where logs would only time out one by one.
pub(super) fn targets<'a>(page: &'a [Object], unready: &'a HashSet<String>) -> impl Iterator<Item = LogTarget> + 'a {
    page.iter()
        .filter(|p| {
            p.raw
                .get("spec")
                .and_then(|s| s.get("nodeName"))
                .and_then(Value::as_str)
                .is_none_or(|n| !unready.contains(n))
        })
        .flat_map(running_containers)
}

/// One container whose log is read.
pub(super) struct LogTarget {
    namespace: String,
    pod: String,
    container: String,
}

/// The running containers of a pod: only they have a current log worth reading.
fn running_containers(pod: &Object) -> Vec<LogTarget> {
    let Some(namespace) = pod.id.namespace.as_deref() else { return Vec::new() };
    pod.raw
        .get("status")
        .and_then(|s| s.get("containerStatuses"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| c.get("state").and_then(|s| s.get("running")).is_some())
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .map(|container| LogTarget {
            namespace: namespace.to_string(),
            pod: pod.id.name.clone(),
            container: container.to_string(),
        })
        .collect()
}

/// The tail of one container's log within the event window, or the gap that says why not;
/// `None` when there is nothing to report (the container went away, a 403 already reported).
pub(super) async fn read_log(
    api: Api,
    target: LogTarget,
    settings: InspectSettings,
    logs: Arc<Semaphore>,
    forbidden: Arc<AtomicBool>,
) -> Option<Msg> {
    let _permit = logs.acquire().await.ok()?;
    if forbidden.load(Ordering::Relaxed) {
        return None;
    }
    let l = &settings.logs;
    let path = format!(
        "/api/v1/namespaces/{}/pods/{}/log?container={}&tailLines={}&limitBytes={}&sinceSeconds={}",
        encode(&target.namespace),
        encode(&target.pod),
        encode(&target.container),
        l.tail_lines,
        l.limit_bytes,
        settings.events.window.as_secs().max(1)
    );
    let resource = format!("pods/log {}/{} container {}", target.namespace, target.pod, target.container);
    Some(match api.get_within(&path, l.timeout).await {
        Ok(answer) if answer.status < 400 => Msg::Log {
            namespace: target.namespace,
            pod: target.pod,
            container: target.container,
            text: String::from_utf8_lossy(&answer.body).into_owned(),
        },
        Ok(answer) => {
            let e = status_error(&answer);
            if answer.status == 403 {
                if forbidden.swap(true, Ordering::Relaxed) {
                    return None;
                }
                Msg::Gap(CoverageGap::error(
                    section::LOGS,
                    "pods/log",
                    format!(
                        "{e}; grant `get` on pods/log (deploy/rbac-optional.yaml) or set inspection.logs.enabled: false"
                    ),
                ))
            } else if answer.status == 404 || answer.status == 400 {
                // The pod or container went away while we read: nothing to inspect.
                return None;
            } else {
                Msg::Gap(CoverageGap::error(section::LOGS, resource, e.to_string()))
            }
        }
        Err(e) => Msg::Gap(CoverageGap::error(section::LOGS, resource, format!("log not read: {e}"))),
    })
}

//! Listing one resource for the live collector: kept whole or as identities
//! (phase one), or streamed page by page to the main loop (phase two). A
//! failed list becomes a coverage gap that says which grant is missing.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};

use super::client::{Api, RequestError};
use super::live::Msg;
use super::pager::Pager;
use super::resources::{Handling, Resource};
use crate::inventory::{CoverageGap, Object, ObjectRef};

/// Lists one kept resource; owned ReplicaSets and Jobs are reduced to their identity page by page.
pub(super) async fn list_kept(
    api: Api,
    res: Resource,
    namespace: Option<&str>,
    limit: u32,
    semaphore: Arc<Semaphore>,
) -> Result<(Vec<Object>, Vec<ObjectRef>), RequestError> {
    let mut pager = Pager::new(api, res, namespace, "", limit);
    let mut kept: Vec<Object> = Vec::new();
    let mut known = Vec::new();
    loop {
        let page = {
            let _permit = semaphore.acquire().await.map_err(|_| RequestError::Transport("shutting down".into()))?;
            pager.next().await?
        };
        let Some(page) = page else { break };
        if page.restarted {
            kept.clear();
            known.clear();
        }
        for object in page.objects {
            // Only owners that carry their children's findings (a Deployment for its ReplicaSets, a
            // CronJob for its Jobs) let the child shrink to an identity; under anything else (an Argo
            // Rollout, an operator) the child is the workload ke can see.
            let carried = object
                .controller_owner()
                .is_some_and(|o| matches!((res.kind, o.kind), ("ReplicaSet", "Deployment") | ("Job", "CronJob")));
            if res.handling == Handling::KeepUnowned && carried {
                known.push(object.id);
            } else {
                kept.push(object);
            }
        }
    }
    Ok((kept, known))
}

/// Streams one list to the main loop, skipping objects seen before a restart.
#[allow(clippy::too_many_arguments)]
pub(super) async fn stream_list(
    api: Api,
    res: Resource,
    namespace: Option<String>,
    query: String,
    limit: u32,
    lists: Arc<Semaphore>,
    tx: mpsc::Sender<Msg>,
    what: &'static str,
) {
    let mut pager = Pager::new(api, res, namespace.as_deref(), &query, limit);
    let mut seen: HashSet<u64> = HashSet::new();
    loop {
        let page = {
            let Ok(_permit) = lists.acquire().await else { break };
            pager.next().await
        };
        match page {
            Ok(Some(page)) => {
                let objects: Vec<Object> = page.objects.into_iter().filter(|o| seen.insert(identity_hash(o))).collect();
                let msg = match what {
                    "pods" => Msg::Pods(objects),
                    "events" => Msg::Events(objects),
                    _ => Msg::ConfigMaps(objects),
                };
                if tx.send(msg).await.is_err() {
                    return;
                }
            }
            Ok(None) => break,
            Err(e) => {
                let _ = tx.send(Msg::Gap(list_gap(&res, namespace.as_deref(), &e))).await;
                break;
            }
        }
    }
}

fn identity_hash(o: &Object) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    o.id.hash(&mut h);
    h.finish()
}

/// The coverage gap for a list that failed.
pub(super) fn list_gap(res: &Resource, namespace: Option<&str>, e: &RequestError) -> CoverageGap {
    let what = match namespace {
        Some(ns) => format!("{} in {ns}", res.qualified()),
        None => res.qualified(),
    };
    match e.code() {
        Some(403) => CoverageGap::error(
            res.section,
            what,
            format!(
                "{e}; grant `list` on {} to the inspecting identity (deploy/rbac.yaml lists every rule ke needs)",
                res.qualified()
            ),
        ),
        Some(404) => {
            CoverageGap::unavailable(res.section, what, format!("{} is not served by this cluster", res.qualified()))
        }
        _ => CoverageGap::error(res.section, what, e.to_string()),
    }
}

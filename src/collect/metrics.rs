//! Node usage for the live collector: node metrics from metrics.k8s.io, and
//! kubelet summaries through the node proxy reduced to filesystem statistics.
//! Both arrive late; a cluster without them gets an `unavailable` gap naming
//! the rules that were not evaluated.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::client::{Api, status_error};
use super::live::Msg;
use super::pager::{Pager, encode};
use super::resources;
use crate::inventory::{CoverageGap, METRICS_RESOURCE, Object, SUMMARY_RESOURCE, section};

/// Node metrics from metrics.k8s.io, page by page; a cluster without metrics-server gets an `unavailable` gap.
pub(super) async fn node_metrics(api: Api, limit: u32, lists: Arc<Semaphore>, tx: mpsc::Sender<Msg>) {
    let res = resources::NODE_METRICS;
    let mut pager = Pager::new(api, res, None, "", limit);
    loop {
        let page = {
            let Ok(_permit) = lists.acquire().await else { return };
            pager.next().await
        };
        match page {
            Ok(Some(page)) => {
                if tx.send(Msg::Late(page.objects)).await.is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                let gap = match e.code() {
                    Some(404) => CoverageGap::unavailable(
                        section::NODES,
                        METRICS_RESOURCE,
                        "metrics.k8s.io is not served (metrics-server is not installed); NodeCPU and NodeMemory were not evaluated",
                    ),
                    _ => CoverageGap::error(
                        section::NODES,
                        METRICS_RESOURCE,
                        format!("{e}; NodeCPU and NodeMemory were not evaluated"),
                    ),
                };
                let _ = tx.send(Msg::Gap(gap)).await;
                return;
            }
        }
    }
}

/// Kubelet summaries through the node proxy, reduced to node filesystem statistics.
pub(super) async fn summaries(api: Api, nodes: Vec<String>, lists: Arc<Semaphore>, tx: mpsc::Sender<Msg>) {
    let forbidden = Arc::new(AtomicBool::new(false));
    let mut tasks = JoinSet::new();
    for node in nodes {
        let (api, lists, tx, forbidden) = (api.clone(), lists.clone(), tx.clone(), forbidden.clone());
        tasks.spawn(async move {
            let Ok(_permit) = lists.acquire().await else { return };
            if forbidden.load(Ordering::Relaxed) {
                return;
            }
            let path = format!("/api/v1/nodes/{}/proxy/stats/summary", encode(&node));
            let msg = match api.get(&path).await {
                Ok(answer) if answer.status < 400 => match reduce_summary(&node, &answer.body) {
                    Some(object) => Msg::Late(vec![object]),
                    None => Msg::Gap(CoverageGap::error(section::NODES, format!("{SUMMARY_RESOURCE} {node}"), "the kubelet summary has no node statistics")),
                },
                Ok(answer) if answer.status == 403 => {
                    if forbidden.swap(true, Ordering::Relaxed) {
                        return;
                    }
                    Msg::Gap(CoverageGap::error(
                        section::NODES,
                        SUMMARY_RESOURCE,
                        format!(
                            "{}; NodeDisk needs `get` on nodes/proxy (a broad grant, see deploy/rbac-optional.yaml), or set inspection.collection.kubeletSummary: false",
                            status_error(&answer)
                        ),
                    ))
                }
                Ok(answer) => Msg::Gap(CoverageGap::error(section::NODES, format!("{SUMMARY_RESOURCE} {node}"), status_error(&answer).to_string())),
                Err(e) => Msg::Gap(CoverageGap::error(section::NODES, format!("{SUMMARY_RESOURCE} {node}"), e.to_string())),
            };
            let _ = tx.send(msg).await;
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// The `node` part of a Summary API answer as a `KubeletSummary` object.
fn reduce_summary(node: &str, body: &[u8]) -> Option<Object> {
    let summary: Value = serde_json::from_slice(body).ok()?;
    let stats = summary.get("node")?;
    let pick = |v: Option<&Value>| -> Value {
        let Some(v) = v else { return Value::Null };
        let mut out = serde_json::Map::new();
        for key in ["availableBytes", "capacityBytes", "usedBytes", "inodesFree", "inodes", "inodesUsed"] {
            if let Some(x) = v.get(key) {
                out.insert(key.into(), x.clone());
            }
        }
        Value::Object(out)
    };
    Object::from_value(json!({
        "apiVersion": "kubeeye.io/v1",
        "kind": "KubeletSummary",
        "metadata": {"name": node},
        "node": {
            "nodeName": node,
            "fs": pick(stats.get("fs")),
            "runtime": {"imageFs": pick(stats.get("runtime").and_then(|r| r.get("imageFs")))},
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_are_reduced_to_node_filesystems() {
        let body = br#"{"node": {"nodeName": "n1", "fs": {"availableBytes": 1, "capacityBytes": 2, "time": "x"},
            "runtime": {"imageFs": {"availableBytes": 3, "capacityBytes": 4}}, "cpu": {}}, "pods": [{"big": true}]}"#;
        let o = reduce_summary("n1", body).unwrap();
        assert_eq!(o.raw["node"]["fs"], json!({"availableBytes": 1, "capacityBytes": 2}));
        assert_eq!(o.raw["node"]["runtime"]["imageFs"]["capacityBytes"], 4);
        assert!(o.raw.get("pods").is_none());
    }
}

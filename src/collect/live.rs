//! Live collection from the API server, in two phases.
//!
//! 1. [`LiveCollector::keep`] lists, concurrently and page by page, what the
//!    cross-object checks need: controllers, nodes, RBAC, PDBs, HPAs,
//!    network policies, service accounts, leases.
//! 2. [`LiveCollector::stream`] streams pods, Warning events and config maps
//!    into a [`StreamSink`] one page at a time, reads container logs as pods
//!    go by, and meanwhile fetches what arrives late (health endpoints, the
//!    serving certificate, node metrics, kubelet summaries).
//!
//! Every failure becomes a coverage gap; nothing here panics or stops the
//! inspection, and the whole run respects one deadline.
//!
//! This module orchestrates; the producers it starts live beside it in
//! `collect/`: `lists` reads one resource, `logs` one container's log,
//! `control_plane` the apiserver's health, `metrics` node metrics and kubelet
//! summaries. They send a `Msg` each to the main loop of
//! [`stream`](LiveCollector::stream); `gaps` summarises repeated failures
//! and `progress` prints the progress line.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::client::{Api, ClusterAccess, ConnectError};
use super::gaps::Gaps;
use super::pager::encode;
use super::progress::Progress;
use super::resources::{self, Handling, Resource};
use super::{control_plane, lists, logs, metrics};
use crate::clock::{self, Timestamp};
use crate::config::InspectSettings;
use crate::inventory::{CoverageGap, Inventory, LogRecord, NamespaceFilter, Object, SUMMARY_RESOURCE, section};
use crate::rules::Needs;

/// Where streamed pages go: the inspector, a snapshot writer, or both.
pub trait StreamSink {
    /// A page of pods.
    fn pods(&mut self, page: &[Object]);
    /// A page of Warning events.
    fn events(&mut self, page: &[Object]);
    /// A page of config maps.
    fn configmaps(&mut self, page: &[Object]);
    /// The tail of one container's log.
    fn log(&mut self, record: &LogRecord<'_>);
}

/// A live inspection in progress.
pub struct LiveCollector {
    api: Api,
    settings: InspectSettings,
    scope: NamespaceFilter,
    gaps: Gaps,
    collected_at: Timestamp,
    deadline: tokio::time::Instant,
    total: Duration,
    kubernetes_version: Option<String>,
    pod_phases: std::collections::BTreeMap<String, usize>,
}

impl LiveCollector {
    /// Connects and checks the server answers; `total` bounds the whole inspection.
    pub async fn connect(
        access: &ClusterAccess,
        settings: &InspectSettings,
        scope: &NamespaceFilter,
        total: Duration,
    ) -> Result<Self, ConnectError> {
        let api = Api::new(access, settings.collection.request_timeout).await?;
        if api.url.starts_with("http://") {
            tracing::warn!(
                "the API server {} is plain http: any token or password in the kubeconfig is sent in clear, and the \
                 certificate expiry check is skipped",
                api.url
            );
        }
        let kubernetes_version = api.probe().await?;
        Ok(LiveCollector {
            kubernetes_version,
            pod_phases: std::collections::BTreeMap::new(),
            api,
            settings: settings.clone(),
            scope: scope.clone(),
            gaps: Gaps::default(),
            collected_at: clock::now(),
            deadline: tokio::time::Instant::now() + total,
            total,
        })
    }

    /// The inspection's time: when collection started.
    pub fn collected_at(&self) -> Timestamp {
        self.collected_at
    }

    /// The API client, for the node-check Jobs that run after collection.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// Whether cluster-level sections (nodes, control plane) are in scope:
    /// not when only some namespaces were asked for.
    fn cluster_scope(&self) -> bool {
        self.scope.only.is_empty()
    }

    /// Phase one: everything kept for the cross-object checks.
    pub async fn keep(&mut self) -> Inventory {
        let mut inventory = Inventory {
            sources: vec![self.api.source.clone()],
            cluster: Some(self.api.cluster.clone()),
            collected_at: Some(clock::format(self.collected_at)),
            kubernetes_version: self.kubernetes_version.clone(),
            ..Default::default()
        };
        let semaphore = Arc::new(Semaphore::new(self.settings.collection.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        let mut jobs: Vec<(Resource, Option<String>)> = Vec::new();
        for res in resources::RESOURCES.iter().filter(|r| r.handling != Handling::Stream) {
            if !res.namespaced && res.kind == "Node" && !self.cluster_scope() {
                continue;
            }
            for ns in self.namespaces_for(res) {
                jobs.push((*res, ns));
            }
        }
        if self.cluster_scope() {
            jobs.push((resources::LEASES, Some("kube-system".into())));
        }
        for (res, ns) in jobs {
            let api = self.api.clone();
            let semaphore = semaphore.clone();
            let limit = self.settings.collection.page_size;
            tasks.spawn(async move {
                let result = lists::list_kept(api, res, ns.as_deref(), limit, semaphore).await;
                (res, ns, result)
            });
        }
        let deadline = self.deadline;
        loop {
            let next = tokio::select! {
                next = tasks.join_next() => next,
                () = tokio::time::sleep_until(deadline) => {
                    tasks.abort_all();
                    inventory.gaps.push(self.deadline_gap("listing controllers, nodes and RBAC"));
                    break;
                }
            };
            let Some(joined) = next else { break };
            let Ok((res, ns, result)) = joined else { continue };
            match result {
                Ok((kept, known)) => {
                    inventory.objects.extend(kept.into_iter().filter(|o| self.scope.keeps_object(o)));
                    inventory.known.extend(known);
                }
                // In the inventory now, not at the end: the checks of kept objects
                // run before streaming and must know what could not be read
                // (a binding to a Role that was not listed cannot be judged).
                Err(e) => inventory.gaps.push(lists::list_gap(&res, ns.as_deref(), &e)),
            }
        }
        // Lists finish in any order; sort so reports are reproducible.
        inventory.objects.sort_by(|a, b| a.id.cmp(&b.id));
        inventory
    }

    fn namespaces_for(&self, res: &Resource) -> Vec<Option<String>> {
        if res.namespaced && !self.scope.only.is_empty() {
            self.scope.only.iter().cloned().map(Some).collect()
        } else {
            vec![None]
        }
    }

    fn deadline_gap(&self, doing: &str) -> CoverageGap {
        CoverageGap::error(
            "inspection",
            "deadline",
            format!(
                "the inspection deadline ({}s, --timeout) passed while {doing}; what was not read is missing",
                self.total.as_secs()
            ),
        )
    }

    /// Phase two: pods, events, config maps and logs into `sink`, page by page.
    /// Returns the objects that arrived late, for the caller to add to the inventory.
    pub async fn stream(&mut self, inventory: &Inventory, sink: &mut dyn StreamSink, needs: &Needs) -> Vec<Object> {
        let (tx, mut rx) = mpsc::channel::<Msg>(4);
        let lists = Arc::new(Semaphore::new(self.settings.collection.concurrency.max(1)));
        let mut producers = JoinSet::new();
        let limit = self.settings.collection.page_size;
        let mut streamed: Vec<(Resource, &'static str, String)> = vec![
            (*res("Pod"), "pods", String::new()),
            (*res("Event"), "events", format!("fieldSelector={}", encode("type=Warning"))),
        ];
        if needs.streamed_kinds.contains("ConfigMap") {
            streamed.push((*res("ConfigMap"), "configmaps", String::new()));
        }
        for (resource, what, query) in streamed {
            // Config maps can be up to 1 MiB each (dashboards, Helm releases): smaller pages keep memory flat.
            let limit = if what == "configmaps" { limit.min(50) } else { limit };
            for ns in self.namespaces_for(&resource) {
                let (api, tx, lists, query) = (self.api.clone(), tx.clone(), lists.clone(), query.clone());
                producers.spawn(lists::stream_list(api, resource, ns, query, limit, lists, tx, what));
            }
        }
        if self.cluster_scope() {
            // A NotReady node's kubelet does not answer: asking costs a timeout each and tells nothing new.
            let nodes: Vec<String> = inventory
                .objects
                .iter()
                .filter(|o| o.id.kind == "Node" && node_ready(&o.raw))
                .map(|o| o.id.name.clone())
                .collect();
            producers.spawn(control_plane::health(self.api.clone(), tx.clone()));
            if needs.node_metrics {
                producers.spawn(metrics::node_metrics(self.api.clone(), limit, lists.clone(), tx.clone()));
            }
            if !needs.kubelet_summaries {
                // No enabled rule reads filesystem figures.
            } else if self.settings.collection.kubelet_summary {
                // Their own cap, so slow kubelets never hold up pod and event pages.
                let kubelets = Arc::new(Semaphore::new(self.settings.collection.concurrency.max(1)));
                producers.spawn(metrics::summaries(self.api.clone(), nodes, kubelets, tx.clone()));
            } else {
                self.gaps.push(CoverageGap::unavailable(
                    section::NODES,
                    SUMMARY_RESOURCE,
                    "kubelet summaries are switched off (inspection.collection.kubeletSummary: false); NodeDisk was not evaluated",
                ));
            }
        }
        // Producers hold the only senders: the channel closes when they are all done.
        drop(tx);
        let unready: HashSet<String> = inventory
            .objects
            .iter()
            .filter(|o| o.id.kind == "Node" && !node_ready(&o.raw))
            .map(|o| o.id.name.clone())
            .collect();
        let logs = Arc::new(Semaphore::new(self.settings.logs.concurrency.max(1)));
        let logs_forbidden = Arc::new(AtomicBool::new(false));
        let max_pending = self.settings.logs.concurrency.max(1) * 8;
        let mut log_tasks: JoinSet<Option<Msg>> = JoinSet::new();
        let mut channel_open = true;
        let mut late = Vec::new();
        let mut progress = Progress::new();
        let deadline = self.deadline;
        while channel_open || !log_tasks.is_empty() {
            let msg = tokio::select! {
                msg = rx.recv(), if channel_open => match msg {
                    Some(msg) => msg,
                    None => {
                        channel_open = false;
                        continue;
                    }
                },
                done = log_tasks.join_next(), if !log_tasks.is_empty() => match done {
                    Some(Ok(Some(msg))) => msg,
                    _ => continue,
                },
                () = tokio::time::sleep_until(deadline) => {
                    producers.abort_all();
                    log_tasks.abort_all();
                    self.gaps.push(self.deadline_gap("streaming pods, events and logs"));
                    break;
                }
            };
            match msg {
                Msg::Pods(page) => {
                    let page: Vec<Object> = page.into_iter().filter(|p| self.scope.keeps_object(p)).collect();
                    sink.pods(&page);
                    for pod in &page {
                        let phase = pod.raw.get("status").and_then(|s| s.get("phase")).and_then(|p| p.as_str());
                        *self.pod_phases.entry(phase.unwrap_or("Unknown").to_string()).or_default() += 1;
                    }
                    progress.pods += page.len();
                    progress.tick();
                    if !(needs.container_logs && self.settings.logs.enabled) {
                        continue;
                    }
                    for target in logs::targets(&page, &unready) {
                        // Bounded backlog: memory does not grow with the number of pods.
                        while log_tasks.len() >= max_pending {
                            if let Some(Ok(Some(msg))) = log_tasks.join_next().await {
                                progress.logs += 1;
                                self.take_message(msg, sink, &mut late);
                            }
                        }
                        let (api, logs, forbidden) = (self.api.clone(), logs.clone(), logs_forbidden.clone());
                        log_tasks.spawn(logs::read_log(api, target, self.settings.clone(), logs, forbidden));
                    }
                }
                Msg::Events(page) => {
                    let page: Vec<Object> = page.into_iter().filter(|e| self.scope.keeps_object(e)).collect();
                    sink.events(&page);
                    progress.events += page.len();
                    progress.tick();
                }
                Msg::ConfigMaps(page) => {
                    let page: Vec<Object> =
                        page.into_iter().filter(|c| self.scope.keeps(c.id.namespace.as_deref())).collect();
                    sink.configmaps(&page);
                }
                other => {
                    if matches!(other, Msg::Log { .. }) {
                        progress.logs += 1;
                    }
                    self.take_message(other, sink, &mut late);
                }
            }
        }
        progress.done();
        if !self.settings.logs.enabled && needs.container_logs {
            self.gaps.push(CoverageGap::unavailable(
                section::LOGS,
                "pods/log",
                "container logs are switched off (inspection.logs.enabled: false); the log rules were not evaluated",
            ));
        }
        late
    }

    /// Handles the messages that are neither pods nor pages: logs, late objects, gaps.
    fn take_message(&mut self, msg: Msg, sink: &mut dyn StreamSink, late: &mut Vec<Object>) {
        match msg {
            Msg::Log { namespace, pod, container, text } => {
                sink.log(&LogRecord { namespace: &namespace, pod: &pod, container: &container, text: &text });
            }
            Msg::Late(objects) => late.extend(objects),
            Msg::Gap(gap) => self.gaps.push(gap),
            Msg::Pods(_) | Msg::Events(_) | Msg::ConfigMaps(_) => {}
        }
    }

    /// Hands over what was recorded: coverage gaps, request counts.
    pub fn finish(self, inventory: &mut Inventory) {
        inventory.gaps.extend(self.gaps.into_vec());
        inventory.streamed_pod_phases = self.pod_phases;
        tracing::info!(
            requests = self.api.counters.requests.load(Ordering::Relaxed),
            bytes = self.api.counters.bytes.load(Ordering::Relaxed),
            "collection finished"
        );
    }
}

fn res(kind: &str) -> &'static Resource {
    // The table holds every kind asked for here; a miss is a programming error caught by tests.
    resources::by_kind(kind).unwrap_or(&resources::RESOURCES[0])
}

/// What the producers (lists, logs, control plane, metrics) send the main loop.
pub(super) enum Msg {
    /// A page of pods.
    Pods(Vec<Object>),
    /// A page of Warning events.
    Events(Vec<Object>),
    /// A page of config maps.
    ConfigMaps(Vec<Object>),
    /// One container's log.
    Log { namespace: String, pod: String, container: String, text: String },
    /// Objects for the inventory that arrive after phase one (health, metrics, summaries).
    Late(Vec<Object>),
    /// Something that could not be read.
    Gap(CoverageGap),
}

/// Whether a node's Ready condition is True.
fn node_ready(node: &Value) -> bool {
    node.get("status").and_then(|s| s.get("conditions")).and_then(Value::as_array).into_iter().flatten().any(|c| {
        c.get("type").and_then(Value::as_str) == Some("Ready")
            && c.get("status").and_then(Value::as_str) == Some("True")
    })
}

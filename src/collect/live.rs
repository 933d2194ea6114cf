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

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use super::client::{Api, ClusterAccess, ConnectError, RequestError, status_error};
use super::pager::{Pager, encode};
use super::resources::{self, Handling, Resource};
use crate::clock::{self, Timestamp};
use crate::config::InspectSettings;
use crate::inventory::{
    CoverageGap, Inventory, LogRecord, METRICS_RESOURCE, NamespaceFilter, Object, SUMMARY_RESOURCE, section,
};

/// Individual gaps recorded per kind of failure before they are summarised.
const GAPS_PER_KIND: usize = 20;

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

/// What phase two reads besides pods and events.
#[derive(Debug, Clone, Copy)]
pub struct Wants {
    /// Container logs (some enabled rule reads them).
    pub logs: bool,
    /// Config maps (some enabled rule inspects them).
    pub configmaps: bool,
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
        api.probe().await?;
        Ok(LiveCollector {
            api,
            settings: settings.clone(),
            scope: scope.clone(),
            gaps: Gaps::default(),
            collected_at: clock::now(),
            deadline: tokio::time::Instant::now() + total,
            total,
        })
    }

    /// The client, for counters and the server URL.
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
                let result = list_kept(api, res, ns.as_deref(), limit, semaphore).await;
                (res, ns, result)
            });
        }
        let deadline = self.deadline;
        loop {
            let next = tokio::select! {
                next = tasks.join_next() => next,
                () = tokio::time::sleep_until(deadline) => {
                    tasks.abort_all();
                    self.gaps.push(self.deadline_gap("listing controllers, nodes and RBAC"));
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
                Err(e) => self.gaps.push(list_gap(&res, ns.as_deref(), &e)),
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
    pub async fn stream(&mut self, inventory: &Inventory, sink: &mut dyn StreamSink, wants: Wants) -> Vec<Object> {
        let (tx, mut rx) = mpsc::channel::<Msg>(4);
        let lists = Arc::new(Semaphore::new(self.settings.collection.concurrency.max(1)));
        let mut producers = JoinSet::new();
        let limit = self.settings.collection.page_size;
        let mut streamed: Vec<(Resource, &'static str, String)> = vec![
            (*res("Pod"), "pods", String::new()),
            (*res("Event"), "events", format!("fieldSelector={}", encode("type=Warning"))),
        ];
        if wants.configmaps {
            streamed.push((*res("ConfigMap"), "configmaps", String::new()));
        }
        for (resource, what, query) in streamed {
            // Config maps can be up to 1 MiB each (dashboards, Helm releases): smaller pages keep memory flat.
            let limit = if what == "configmaps" { limit.min(50) } else { limit };
            for ns in self.namespaces_for(&resource) {
                let (api, tx, lists, query) = (self.api.clone(), tx.clone(), lists.clone(), query.clone());
                producers.spawn(stream_list(api, resource, ns, query, limit, lists, tx, what));
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
            producers.spawn(control_plane(self.api.clone(), tx.clone()));
            producers.spawn(node_metrics(self.api.clone(), limit, lists.clone(), tx.clone()));
            if self.settings.collection.kubelet_summary {
                // Their own cap, so slow kubelets never hold up pod and event pages.
                let kubelets = Arc::new(Semaphore::new(self.settings.collection.concurrency.max(1)));
                producers.spawn(summaries(self.api.clone(), nodes, kubelets, tx.clone()));
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
                    progress.pods += page.len();
                    progress.tick();
                    if !(wants.logs && self.settings.logs.enabled) {
                        continue;
                    }
                    // Logs of pods on a NotReady node would only time out one by one.
                    let readable = page.iter().filter(|p| {
                        p.raw
                            .get("spec")
                            .and_then(|s| s.get("nodeName"))
                            .and_then(Value::as_str)
                            .is_none_or(|n| !unready.contains(n))
                    });
                    for target in readable.flat_map(running_containers) {
                        // Bounded backlog: memory does not grow with the number of pods.
                        while log_tasks.len() >= max_pending {
                            if let Some(Ok(Some(msg))) = log_tasks.join_next().await {
                                progress.logs += 1;
                                self.take_message(msg, sink, &mut late);
                            }
                        }
                        let (api, logs, forbidden) = (self.api.clone(), logs.clone(), logs_forbidden.clone());
                        log_tasks.spawn(read_log(api, target, self.settings.clone(), logs, forbidden));
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
        if !self.settings.logs.enabled && wants.logs {
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

enum Msg {
    Pods(Vec<Object>),
    Events(Vec<Object>),
    ConfigMaps(Vec<Object>),
    Log { namespace: String, pod: String, container: String, text: String },
    Late(Vec<Object>),
    Gap(CoverageGap),
}

/// Lists one kept resource; owned ReplicaSets and Jobs are reduced to their identity page by page.
async fn list_kept(
    api: Api,
    res: Resource,
    namespace: Option<&str>,
    limit: u32,
    semaphore: Arc<Semaphore>,
) -> Result<(Vec<Object>, Vec<crate::inventory::ObjectRef>), RequestError> {
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
async fn stream_list(
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

/// Whether a node's Ready condition is True.
fn node_ready(node: &Value) -> bool {
    node.get("status").and_then(|s| s.get("conditions")).and_then(Value::as_array).into_iter().flatten().any(|c| {
        c.get("type").and_then(Value::as_str) == Some("Ready")
            && c.get("status").and_then(Value::as_str) == Some("True")
    })
}

fn identity_hash(o: &Object) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    o.id.hash(&mut h);
    h.finish()
}

/// One container whose log is read.
struct LogTarget {
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

async fn read_log(
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

/// `/readyz?verbose`, `/livez` and the serving certificate as one `APIServerHealth` object.
async fn control_plane(api: Api, tx: mpsc::Sender<Msg>) {
    let mut health =
        json!({"apiVersion": "kubeeye.io/v1", "kind": "APIServerHealth", "metadata": {"name": "apiserver"}});
    let mut readyz_read = false;
    for (key, path) in [("readyz", "/readyz?verbose"), ("livez", "/livez")] {
        match api.get(path).await {
            Ok(answer) if answer.status != 401 && answer.status != 403 => {
                readyz_read |= key == "readyz";
                health[key] = json!({"status": answer.status, "body": String::from_utf8_lossy(&answer.body)});
            }
            Ok(answer) => {
                let _ = tx
                    .send(Msg::Gap(CoverageGap::error(section::CONTROL_PLANE, path, status_error(&answer).to_string())))
                    .await;
            }
            Err(e) => {
                let _ = tx.send(Msg::Gap(CoverageGap::error(section::CONTROL_PLANE, path, e.to_string()))).await;
            }
        }
    }
    match super::cert::serving_certificate(&api.url, Duration::from_secs(10)).await {
        Ok(cert) => health["certificate"] = cert,
        Err(e) => {
            let gap = CoverageGap::error(section::CONTROL_PLANE, "apiserver serving certificate", e);
            let _ = tx.send(Msg::Gap(gap)).await;
        }
    }
    let mut late: Vec<Object> = Object::from_value(health).into_iter().collect();
    if !readyz_read {
        // Without /readyz, the deprecated component statuses are all there is.
        let res = resources::COMPONENT_STATUSES;
        if let Ok(body) = api.get_ok(&res.path(None)).await
            && let Ok(list) = serde_json::from_slice::<Value>(&body)
        {
            let items = list.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
            late.extend(items.into_iter().filter_map(|i| super::pager::to_object(i, res.kind, &res.api_version())));
        }
    }
    let _ = tx.send(Msg::Late(late)).await;
}

async fn node_metrics(api: Api, limit: u32, lists: Arc<Semaphore>, tx: mpsc::Sender<Msg>) {
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
async fn summaries(api: Api, nodes: Vec<String>, lists: Arc<Semaphore>, tx: mpsc::Sender<Msg>) {
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

/// The coverage gap for a list that failed.
fn list_gap(res: &Resource, namespace: Option<&str>, e: &RequestError) -> CoverageGap {
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

/// Progress on stderr while pages stream by, on a terminal only, at most a few times a second.
struct Progress {
    enabled: bool,
    pods: usize,
    events: usize,
    logs: usize,
    last: std::time::Instant,
}

impl Progress {
    fn new() -> Self {
        use std::io::IsTerminal;
        Progress {
            enabled: std::io::stderr().is_terminal(),
            pods: 0,
            events: 0,
            logs: 0,
            last: std::time::Instant::now(),
        }
    }

    fn tick(&mut self) {
        if self.enabled && self.last.elapsed() >= Duration::from_millis(250) {
            self.last = std::time::Instant::now();
            eprint!("\rinspecting: {} pods, {} warning events, {} logs read ", self.pods, self.events, self.logs);
        }
    }

    fn done(&self) {
        if self.enabled {
            eprintln!("\rinspected: {} pods, {} warning events, {} logs read      ", self.pods, self.events, self.logs);
        }
    }
}

/// Coverage gaps, with repeated failures of one kind (one per log, one per
/// node) summarised after the first few.
#[derive(Default)]
struct Gaps {
    list: Vec<CoverageGap>,
    per_kind: std::collections::HashMap<(String, String), usize>,
}

impl Gaps {
    fn push(&mut self, gap: CoverageGap) {
        let kind = (gap.section.clone(), gap.resource.split_whitespace().next().unwrap_or_default().to_string());
        let n = self.per_kind.entry(kind).or_default();
        *n += 1;
        if *n <= GAPS_PER_KIND {
            self.list.push(gap);
        }
    }

    fn into_vec(mut self) -> Vec<CoverageGap> {
        let mut more: Vec<_> = self.per_kind.into_iter().filter(|(_, n)| *n > GAPS_PER_KIND).collect();
        more.sort();
        for ((section, resource), n) in more {
            self.list.push(CoverageGap::error(
                &section,
                format!("{resource} (more)"),
                format!("{} more failures like the above were not listed one by one", n - GAPS_PER_KIND),
            ));
        }
        self.list
    }
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

    #[test]
    fn repeated_gaps_are_summarised() {
        let mut gaps = Gaps::default();
        for i in 0..25 {
            gaps.push(CoverageGap::error("logs", format!("pods/log ns/p{i} container c"), "timeout"));
        }
        let v = gaps.into_vec();
        assert_eq!(v.len(), GAPS_PER_KIND + 1);
        assert!(v[GAPS_PER_KIND].reason.starts_with("5 more"));
    }
}

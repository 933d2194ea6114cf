//! Runs `ke node-check` on the nodes: one short-lived Job per node in the
//! node-check namespace, a few at a time, each followed to its result (the
//! last line of its pod's log), every one deleted at the end — also when the
//! run is stopped (SIGTERM) or its deadline passes. Jobs carry the run id in
//! a label and only Jobs with this run's id are ever listed or deleted, so two
//! overlapping runs never touch each other's.
//!
//! Progress is followed with one pod list per poll interval for the whole
//! run (label `kubeeye.io/run-id`), not one request per node.
//!
//! Requests and results are opaque here: a request is the JSON the node pod
//! receives, a result is the JSON document it prints; the caller validates
//! and judges the results.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use super::client::{Answer, Api, RequestError, status_error};
use super::job_spec::{self, CONTAINER, JOB_LABEL, JobInput, RUN_ID_LABEL};
use super::pager::{ListPage, encode, encode_segment};
use crate::config::NodeCheckSettings;
use crate::inventory::CoverageGap;
use crate::nodecheck::ClockReading;
use crate::nodecheck::protocol::Beacon;

/// The coverage section node-check gaps are recorded under.
pub const SECTION: &str = "node checks";
/// The result document version the node pods print.
pub const RESULT_SCHEMA_VERSION: u64 = 1;
/// Objects per page when listing nodes, pods and Jobs.
const PAGE: u32 = 500;

/// What a node-check run produced.
#[derive(Debug, Default)]
pub struct NodeChecksOutcome {
    /// One result document per node that delivered one, in request order.
    pub results: Vec<(String, Value)>,
    /// Nodes that were skipped or failed, and run-wide failures (one gap, not one per node).
    pub gaps: Vec<CoverageGap>,
    /// API requests sent by the node-check phase.
    pub api_requests: usize,
    /// The run was stopped (SIGTERM, Ctrl-C) before every node finished; the
    /// caller should end the run too.
    pub interrupted: bool,
    /// The nodes' clocks as read from their pods' beacons while they ran (see [`beacon_window`]).
    pub clocks: HashMap<String, ClockReading>,
}

/// How long a node with a clock rule beacons its clock before its checks: long
/// enough for two polls of the pods to see it running and read its log once.
pub fn beacon_window(settings: &NodeCheckSettings) -> std::time::Duration {
    (settings.poll_interval * 2 + std::time::Duration::from_secs(1)).min(settings.per_node_timeout / 2)
}

/// Runs the node checks, stopping early (and deleting this run's Jobs) on
/// SIGTERM or Ctrl-C. The signal is reported in
/// [`NodeChecksOutcome::interrupted`].
pub async fn run_node_checks(
    api: &Api,
    settings: &NodeCheckSettings,
    run_id: &str,
    requests: Vec<(String, Value)>,
) -> NodeChecksOutcome {
    run_node_checks_until(api, settings, run_id, requests, terminate_signal()).await
}

/// Runs the node checks until they finish, the deadline passes or `stop`
/// resolves; in every case this run's Jobs are deleted before returning.
pub async fn run_node_checks_until(
    api: &Api,
    settings: &NodeCheckSettings,
    run_id: &str,
    requests: Vec<(String, Value)>,
    stop: impl Future<Output = ()>,
) -> NodeChecksOutcome {
    let run_id = match job_spec::label_value(run_id) {
        id if id.is_empty() => "run".to_string(),
        id => id,
    };
    let Some(image) = settings.resolved_image() else {
        return NodeChecksOutcome {
            gaps: vec![CoverageGap::error(
                SECTION,
                "all nodes",
                "no image for the node pods: set nodeChecks.image in the config, or KE_IMAGE in the environment \
                 (the CronJob of deploy/ sets it to its own image)",
            )],
            ..NodeChecksOutcome::default()
        };
    };
    let run = Arc::new(Run::new(api.clone(), settings.clone(), run_id, image));
    let deadline = Instant::now() + settings.deadline;
    let order: Vec<String> = requests.iter().map(|(node, _)| node.clone()).collect();

    let mut work = Box::pin(run.clone().all(requests));
    tokio::pin!(stop);
    let ended = tokio::select! {
        () = &mut work => None,
        () = &mut stop => Some(Ended::Stopped),
        () = tokio::time::sleep_until(deadline) => Some(Ended::Deadline),
    };
    // Dropping `work` cancels every node in flight; their Jobs are swept below,
    // once the creations already sent have been answered.
    drop(work);
    run.creations_settled(CREATIONS_SETTLE).await;
    run.sweep().await;
    let mut outcome = run.outcome(&order, ended);
    outcome.api_requests = run.requests.load(Ordering::Relaxed);
    outcome
}

/// How long a stopped run waits for its Job creations in flight before the
/// sweep: well inside the 30 s a pod gets between SIGTERM and SIGKILL.
const CREATIONS_SETTLE: std::time::Duration = std::time::Duration::from_secs(10);

/// Why the run ended before every node finished.
#[derive(Debug, Clone, Copy)]
enum Ended {
    Stopped,
    Deadline,
}

/// How one node ended.
#[derive(Debug)]
enum NodeEnd {
    Result(Value),
    Gap(String),
    /// Not attempted because the whole run cannot create Jobs (one run-wide gap says why).
    Blocked,
}

/// A pod of this run, as the last poll saw it.
#[derive(Debug, Clone, Default)]
struct PodView {
    name: String,
    phase: String,
    /// Why it is not running yet, or why it ended (from container states and conditions).
    detail: String,
}

/// One node-check run's shared state.
struct Run {
    api: Api,
    settings: NodeCheckSettings,
    run_id: String,
    image: String,
    requests: AtomicUsize,
    /// The run-wide reason no Job can be created (403, missing namespace), once known.
    blocked: Mutex<Option<CoverageGap>>,
    blocked_flag: AtomicBool,
    /// Run-wide gaps that do not stop the run (the node list could not be read).
    extra_gaps: Mutex<Vec<CoverageGap>>,
    ends: Mutex<HashMap<String, NodeEnd>>,
    clocks: Mutex<HashMap<String, ClockReading>>,
    pods: watch::Sender<Arc<HashMap<String, PodView>>>,
    in_flight: AtomicUsize,
    /// The last failure to list the run's pods, quoted in the gaps it may explain.
    poll_error: Mutex<Option<String>>,
    /// Job creations sent and not answered yet. Each runs as a task of its own,
    /// so stopping the run does not cut a request the API server may still
    /// carry out; the sweep waits for them, or a Job created after its list
    /// would be left behind.
    creating: AtomicUsize,
    created: tokio::sync::Notify,
}

impl Run {
    fn new(api: Api, settings: NodeCheckSettings, run_id: String, image: String) -> Self {
        Run {
            api,
            settings,
            run_id,
            image,
            requests: AtomicUsize::new(0),
            blocked: Mutex::new(None),
            blocked_flag: AtomicBool::new(false),
            extra_gaps: Mutex::new(Vec::new()),
            ends: Mutex::new(HashMap::new()),
            clocks: Mutex::new(HashMap::new()),
            pods: watch::Sender::new(Arc::new(HashMap::new())),
            in_flight: AtomicUsize::new(0),
            poll_error: Mutex::new(None),
            creating: AtomicUsize::new(0),
            created: tokio::sync::Notify::new(),
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("/apis/batch/v1/namespaces/{}/{rest}", encode_segment(&self.settings.namespace))
    }

    fn core_path(&self, rest: &str) -> String {
        format!("/api/v1/namespaces/{}/{rest}", encode_segment(&self.settings.namespace))
    }

    async fn get(&self, path: &str) -> Result<Answer, RequestError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.api.get(path).await
    }

    async fn send(&self, method: http::Method, path: &str, body: Option<Vec<u8>>) -> Result<Answer, RequestError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let content_type = body.as_ref().map(|_| "application/json");
        self.api.send(method, path, content_type, body.unwrap_or_default()).await
    }

    fn end(&self, node: &str, end: NodeEnd) {
        lock(&self.ends).insert(node.to_string(), end);
    }

    /// Every node, at most `concurrency` at a time, with the pod poller beside them.
    async fn all(self: Arc<Self>, requests: Vec<(String, Value)>) {
        let schedulable = self.schedulable(&requests).await;
        let nodes = futures::stream::iter(requests.into_iter().filter(|(node, _)| schedulable.contains(node)))
            .map(|(node, request)| {
                let run = self.clone();
                async move {
                    let end = Run::node(&run, &node, &request).await;
                    run.end(&node, end);
                }
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect::<Vec<()>>();
        let poller = self.clone().poll_pods();
        tokio::pin!(poller);
        tokio::select! {
            _ = nodes => {}
            () = &mut poller => {}
        }
    }

    /// The requested nodes that can run a pod; the others get a gap each
    /// (NotReady, cordoned or unschedulable, unknown).
    async fn schedulable(&self, requests: &[(String, Value)]) -> HashSet<String> {
        let wanted: HashSet<String> = requests.iter().map(|(n, _)| n.clone()).collect();
        let nodes = match self.list("/api/v1/nodes", "").await {
            Ok(nodes) => nodes,
            Err(e) => {
                // Without the node list, try every node: an unschedulable one ends as a Pending gap.
                lock(&self.extra_gaps).push(CoverageGap::error(
                    SECTION,
                    "nodes",
                    format!("cannot list nodes to skip NotReady and cordoned ones ({e}); trying every node"),
                ));
                return wanted;
            }
        };
        let mut seen = HashSet::new();
        let mut ok = HashSet::new();
        for node in nodes {
            let node: NodeView = match serde_json::from_value(node) {
                Ok(n) => n,
                Err(_) => continue,
            };
            let name = node.metadata.name.clone();
            if !wanted.contains(&name) {
                continue;
            }
            seen.insert(name.clone());
            match node.skip_reason() {
                Some(reason) => self.end(&name, NodeEnd::Gap(reason)),
                None => {
                    ok.insert(name);
                }
            }
        }
        for node in wanted.difference(&seen) {
            self.end(node, NodeEnd::Gap("the node is not in the cluster (deleted during the run?)".into()));
        }
        ok
    }

    /// Pages through a list at `path` with `selector`; the items.
    async fn list(&self, path: &str, selector: &str) -> Result<Vec<Value>, RequestError> {
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let mut url = format!("{path}?limit={PAGE}");
            if !selector.is_empty() {
                url.push_str(&format!("&labelSelector={}", encode(selector)));
            }
            if let Some(token) = &next {
                url.push_str(&format!("&continue={}", encode(token)));
            }
            let answer = self.get(&url).await?;
            if answer.status >= 400 {
                return Err(status_error(&answer));
            }
            let page: ListPage = serde_json::from_slice(&answer.body)
                .map_err(|e| RequestError::Transport(format!("the list of {path} is not JSON: {e}")))?;
            items.extend(page.items);
            match page.metadata.next.filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token),
                None => return Ok(items),
            }
        }
    }

    fn selector(&self) -> String {
        format!("{RUN_ID_LABEL}={}", self.run_id)
    }

    /// Lists this run's pods every poll interval while Jobs are in flight and publishes them by Job name.
    async fn poll_pods(self: Arc<Self>) {
        let path = self.core_path("pods");
        loop {
            tokio::time::sleep(self.settings.poll_interval).await;
            if self.in_flight.load(Ordering::Relaxed) == 0 {
                continue;
            }
            match self.list(&path, &self.selector()).await {
                Ok(items) => {
                    *lock(&self.poll_error) = None;
                    let map = items.into_iter().filter_map(pod_view).collect();
                    self.pods.send_replace(Arc::new(map));
                }
                Err(e) => *lock(&self.poll_error) = Some(format!("listing the node pods failed: {e}")),
            }
        }
    }

    /// One node: create its Job, follow its pod, read the result, delete the Job.
    async fn node(self: &Arc<Self>, node: &str, request: &Value) -> NodeEnd {
        if self.blocked_flag.load(Ordering::Relaxed) {
            return NodeEnd::Blocked;
        }
        let input = JobInput {
            node,
            request,
            run_id: &self.run_id,
            namespace: &self.settings.namespace,
            image: &self.image,
            service_account: &self.settings.service_account,
            active_deadline: self.settings.per_node_timeout,
        };
        let manifest = match job_spec::job_manifest(&input) {
            Ok(m) => m,
            Err(e) => return NodeEnd::Gap(format!("the node's request cannot become a Job: {e}")),
        };
        let job = job_spec::job_name(&self.run_id, node);
        let body = serde_json::to_vec(&manifest).unwrap_or_default();
        match self.create(body).await {
            Some(Ok(answer)) if answer.status < 300 => {}
            Some(Ok(answer)) => return self.create_failed(&job, status_error(&answer)),
            Some(Err(e)) => return NodeEnd::Gap(format!("creating Job {job} failed: {e}")),
            None => return NodeEnd::Gap(format!("creating Job {job} did not finish")),
        }
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let beacons = request.get("clockBeaconMillis").and_then(Value::as_u64).is_some_and(|ms| ms > 0);
        let end = self.follow(&job, node, beacons).await;
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.delete_job(&job).await;
        end
    }

    /// POSTs a Job in a task of its own (see [`Run::creating`]); `None` if that task died.
    async fn create(self: &Arc<Self>, body: Vec<u8>) -> Option<Result<Answer, RequestError>> {
        self.creating.fetch_add(1, Ordering::SeqCst);
        let run = self.clone();
        let task = tokio::spawn(async move {
            let answer = run.send(http::Method::POST, &run.path("jobs"), Some(body)).await;
            run.creating.fetch_sub(1, Ordering::SeqCst);
            run.created.notify_waiters();
            answer
        });
        task.await.ok()
    }

    /// Waits until no Job creation is in flight, at most `bound`.
    async fn creations_settled(&self, bound: std::time::Duration) {
        let settled = async {
            loop {
                let notified = self.created.notified();
                if self.creating.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(bound, settled).await;
    }

    fn create_failed(&self, job: &str, e: RequestError) -> NodeEnd {
        let ns = &self.settings.namespace;
        let run_wide = match e.code() {
            Some(403) => Some(format!(
                "not allowed to create Jobs in namespace {ns} ({e}): apply deploy/node-checks \
                 (Role kubeeye-node-checks and its RoleBinding to the CronJob's ServiceAccount), \
                 or set nodeChecks.namespace to where they are"
            )),
            Some(404) => Some(format!(
                "namespace {ns} does not exist ({e}): apply deploy/node-checks, or set nodeChecks.namespace"
            )),
            _ => None,
        };
        match run_wide {
            Some(reason) => {
                self.blocked_flag.store(true, Ordering::Relaxed);
                lock(&self.blocked).get_or_insert_with(|| CoverageGap::error(SECTION, format!("jobs in {ns}"), reason));
                NodeEnd::Blocked
            }
            None => NodeEnd::Gap(format!("creating Job {job} failed: {e}")),
        }
    }

    /// Waits for the Job's pod to succeed, fail, or overstay; then reads its result.
    /// With `beacons`, reads the node's clock from its log the first time it is seen running.
    async fn follow(&self, job: &str, node: &str, mut beacons: bool) -> NodeEnd {
        let started = Instant::now();
        let pending_until = started + self.settings.pending_timeout;
        let until = started + self.settings.per_node_timeout;
        let mut pods = self.pods.subscribe();
        loop {
            let seen = pods.borrow_and_update().get(job).cloned();
            let now = Instant::now();
            match seen {
                Some(pod) if pod.phase == "Succeeded" => return self.result(&pod).await,
                Some(pod) if pod.phase == "Running" && beacons => {
                    beacons = false;
                    if let Some(reading) = self.read_clock(&pod).await {
                        lock(&self.clocks).insert(node.to_string(), reading);
                    }
                }
                Some(pod) if pod.phase == "Failed" => {
                    let events = self.events("Pod", &pod.name).await;
                    return NodeEnd::Gap(format!("pod {} failed: {}{events}", pod.name, pod.detail));
                }
                Some(pod) if pod.phase == "Pending" && now >= pending_until => {
                    let events = self.events("Pod", &pod.name).await;
                    return NodeEnd::Gap(format!(
                        "pod {} still Pending after {}: {}{events}",
                        pod.name,
                        crate::config::format_duration(self.settings.pending_timeout),
                        pod.detail
                    ));
                }
                None if now >= pending_until => {
                    let events = self.events("Job", job).await;
                    let poll = lock(&self.poll_error).clone().map(|e| format!(" ({e})")).unwrap_or_default();
                    return NodeEnd::Gap(format!(
                        "Job {job} has no pod after {}{poll}{}",
                        crate::config::format_duration(self.settings.pending_timeout),
                        if events.is_empty() { " (no events)".to_string() } else { events }
                    ));
                }
                _ if now >= until => {
                    return NodeEnd::Gap(format!(
                        "Job {job} did not finish within {} (nodeChecks.perNodeTimeout)",
                        crate::config::format_duration(self.settings.per_node_timeout)
                    ));
                }
                _ => {}
            }
            let next = if seen_pending(&pods, job) { pending_until.min(until) } else { until };
            let wake = if next > now { next } else { now + self.settings.poll_interval };
            tokio::select! {
                changed = pods.changed() => if changed.is_err() { return NodeEnd::Gap("stopped".into()) },
                () = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// The node's clock from the last line of its running pod's log, when that is a
    /// beacon of the window (not its last one): one short read, timed on this clock.
    async fn read_clock(&self, pod: &PodView) -> Option<ClockReading> {
        let path = self.core_path(&format!(
            "pods/{}/log?container={CONTAINER}&tailLines=1&limitBytes=256",
            encode_segment(&pod.name)
        ));
        let t0 = jiff::Timestamp::now();
        let answer = self.get(&path).await.ok().filter(|a| a.status < 300)?;
        let t1 = jiff::Timestamp::now();
        let text = String::from_utf8_lossy(&answer.body);
        let beacon = Beacon::parse(text.lines().rev().find(|l| !l.trim().is_empty())?)?;
        ClockReading::from_beacon(&beacon, t0, t1)
    }

    /// The result: the last line of the pod's log, bounded, JSON, `schemaVersion` 1.
    async fn result(&self, pod: &PodView) -> NodeEnd {
        let max = self.settings.result_max_bytes;
        let path = self.core_path(&format!(
            "pods/{}/log?container={CONTAINER}&tailLines=1&limitBytes={}",
            encode_segment(&pod.name),
            max + 1
        ));
        let body = match self.get(&path).await {
            Ok(a) if a.status < 300 => a.body,
            Ok(a) => return NodeEnd::Gap(format!("reading the log of pod {} failed: {}", pod.name, status_error(&a))),
            Err(e) => return NodeEnd::Gap(format!("reading the log of pod {} failed: {e}", pod.name)),
        };
        if body.len() > max {
            return NodeEnd::Gap(format!(
                "the result of pod {} is larger than {max} bytes (nodeChecks.resultMaxBytes)",
                pod.name
            ));
        }
        let text = String::from_utf8_lossy(&body);
        // Clock beacons come before the result; a log that ends with one has none.
        let last = text.lines().rev().map(str::trim).find(|l| !l.is_empty());
        let Some(line) = last.filter(|l| Beacon::parse(l).is_none()) else {
            return NodeEnd::Gap(format!("pod {} succeeded but printed no result", pod.name));
        };
        match serde_json::from_str::<Value>(line) {
            Ok(v) if v.get("schemaVersion").and_then(Value::as_u64) == Some(RESULT_SCHEMA_VERSION) => {
                NodeEnd::Result(v)
            }
            Ok(v) if v.is_object() => NodeEnd::Gap(format!(
                "the result of pod {} has schemaVersion {} (expected {RESULT_SCHEMA_VERSION}): \
                 the node pods run a different ke version (nodeChecks.image)",
                pod.name,
                v.get("schemaVersion").map_or("missing".to_string(), Value::to_string)
            )),
            Ok(_) => NodeEnd::Gap(format!("the result of pod {} is not a JSON object", pod.name)),
            Err(e) => NodeEnd::Gap(format!("the result of pod {} is not JSON: {e}", pod.name)),
        }
    }

    /// `; events: Reason: message; …` for an object of this run, empty when none could be read.
    async fn events(&self, kind: &str, name: &str) -> String {
        let selector = format!("involvedObject.kind={kind},involvedObject.name={name}");
        let path = self.core_path(&format!("events?fieldSelector={}&limit=20", encode(&selector)));
        let Ok(answer) = self.get(&path).await else { return String::new() };
        if answer.status >= 300 {
            return String::new();
        }
        let page: ListPage = serde_json::from_slice(&answer.body).unwrap_or_default();
        let mut lines: Vec<String> = Vec::new();
        for event in page.items {
            let reason = event.get("reason").and_then(Value::as_str).unwrap_or_default();
            let message = event.get("message").and_then(Value::as_str).unwrap_or_default();
            let line = format!("{reason}: {}", crate::text::truncate(message, 300));
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
        if lines.is_empty() { String::new() } else { format!("; events: {}", lines.join("; ")) }
    }

    async fn delete_job(&self, job: &str) {
        let path = self.path(&format!("jobs/{}?propagationPolicy=Background", encode_segment(job)));
        // A Job that could not be deleted here is found again by the sweep at the end.
        let _ = self.send(http::Method::DELETE, &path, None).await;
    }

    /// Deletes every Job still carrying this run's id (and only those).
    async fn sweep(&self) {
        let Ok(jobs) = self.list(&self.path("jobs"), &self.selector()).await else { return };
        let names: Vec<String> = jobs
            .iter()
            .filter(|j| {
                j.pointer(&format!("/metadata/labels/{}", RUN_ID_LABEL.replace('/', "~1"))).and_then(Value::as_str)
                    == Some(self.run_id.as_str())
            })
            .filter_map(|j| j.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string))
            .collect();
        futures::stream::iter(names)
            .map(|name| async move { self.delete_job(&name).await })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect::<Vec<()>>()
            .await;
    }

    /// Results and gaps in request order; nodes without an end get the reason the run ended.
    fn outcome(&self, order: &[String], ended: Option<Ended>) -> NodeChecksOutcome {
        let mut outcome =
            NodeChecksOutcome { interrupted: matches!(ended, Some(Ended::Stopped)), ..Default::default() };
        if let Some(gap) = lock(&self.blocked).take() {
            outcome.gaps.push(gap);
        }
        outcome.gaps.extend(lock(&self.extra_gaps).drain(..));
        outcome.clocks = std::mem::take(&mut *lock(&self.clocks));
        let mut ends = std::mem::take(&mut *lock(&self.ends));
        for node in order {
            match ends.remove(node) {
                Some(NodeEnd::Result(v)) => outcome.results.push((node.clone(), v)),
                Some(NodeEnd::Gap(reason)) => {
                    outcome.gaps.push(CoverageGap::error(SECTION, format!("node {node}"), reason))
                }
                Some(NodeEnd::Blocked) => {}
                None => {
                    let reason = match ended {
                        Some(Ended::Stopped) => {
                            "the run was stopped (SIGTERM) before this node finished; its Job was deleted".to_string()
                        }
                        Some(Ended::Deadline) => format!(
                            "the node checks did not finish within {} (nodeChecks.deadline); its Job was deleted",
                            crate::config::format_duration(self.settings.deadline)
                        ),
                        None => "not run".to_string(),
                    };
                    if !self.blocked_flag.load(Ordering::Relaxed) {
                        outcome.gaps.push(CoverageGap::error(SECTION, format!("node {node}"), reason));
                    }
                }
            }
        }
        outcome
    }
}

fn seen_pending(pods: &watch::Receiver<Arc<HashMap<String, PodView>>>, job: &str) -> bool {
    pods.borrow().get(job).is_none_or(|p| p.phase == "Pending")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NodeView {
    metadata: Meta,
    spec: NodeSpec,
    status: NodeStatus,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Meta {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NodeSpec {
    unschedulable: bool,
    taints: Vec<Taint>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Taint {
    key: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NodeStatus {
    conditions: Vec<Condition>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Condition {
    #[serde(rename = "type")]
    kind: String,
    status: String,
    reason: String,
    message: String,
}

impl NodeView {
    /// Why no pod should be sent to this node, if so.
    fn skip_reason(&self) -> Option<String> {
        if self.spec.unschedulable {
            return Some("skipped: the node is cordoned (spec.unschedulable)".into());
        }
        if self.spec.taints.iter().any(|t| t.key == "node.kubernetes.io/unschedulable") {
            return Some("skipped: the node is unschedulable (taint node.kubernetes.io/unschedulable)".into());
        }
        match self.status.conditions.iter().find(|c| c.kind == "Ready") {
            Some(c) if c.status == "True" => None,
            Some(c) => Some(format!(
                "skipped: the node is NotReady (Ready={}{}{})",
                c.status,
                if c.reason.is_empty() { String::new() } else { format!(", {}", c.reason) },
                if c.message.is_empty() { String::new() } else { format!(": {}", c.message) },
            )),
            None => Some("skipped: the node reports no Ready condition".into()),
        }
    }
}

/// A pod of this run by its Job label, with the phase and the words that explain it.
fn pod_view(pod: Value) -> Option<(String, PodView)> {
    let job = pod.pointer(&format!("/metadata/labels/{}", JOB_LABEL.replace('/', "~1")))?.as_str()?.to_string();
    let name = pod.pointer("/metadata/name")?.as_str()?.to_string();
    let status = pod.get("status").cloned().unwrap_or_default();
    let phase = status.get("phase").and_then(Value::as_str).unwrap_or("Pending").to_string();
    let mut details: Vec<String> = Vec::new();
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    for container in status.get("containerStatuses").and_then(Value::as_array).into_iter().flatten() {
        if let Some(waiting) = container.pointer("/state/waiting") {
            details.push(join(&text(waiting, "reason"), &text(waiting, "message")));
        }
        if let Some(done) = container.pointer("/state/terminated") {
            let code = done.get("exitCode").and_then(Value::as_i64).unwrap_or_default();
            details.push(join(&format!("{} (exit code {code})", text(done, "reason")), &text(done, "message")));
        }
    }
    for condition in status.get("conditions").and_then(Value::as_array).into_iter().flatten() {
        if text(condition, "status") == "False" && text(condition, "type") == "PodScheduled" {
            details.push(join(&format!("not scheduled, {}", text(condition, "reason")), &text(condition, "message")));
        }
    }
    if !text(&status, "reason").is_empty() || !text(&status, "message").is_empty() {
        details.push(join(&text(&status, "reason"), &text(&status, "message")));
    }
    details.retain(|d| !d.is_empty());
    let detail = if details.is_empty() { format!("phase {phase}, no reason given") } else { details.join("; ") };
    Some((job, PodView { name, phase, detail }))
}

fn join(reason: &str, message: &str) -> String {
    match (reason.is_empty(), message.is_empty()) {
        (true, true) => String::new(),
        (false, true) => reason.to_string(),
        (true, false) => crate::text::truncate(message, 300),
        (false, false) => format!("{reason}: {}", crate::text::truncate(message, 300)),
    }
}

/// Resolves on SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
async fn terminate_signal() {
    #[cfg(unix)]
    {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

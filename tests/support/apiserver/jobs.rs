//! `batch/v1` Jobs in one namespace, with a pod per Job whose progress each
//! test scripts per node (succeed with a log, stay Pending, fail, never get a
//! pod, take a while), the pods' logs, their events, and a 403 on create.
//! The pod's state is computed from the time since its Job was created, so
//! the fake needs no background work.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::reply::Reply;
use super::routes::{Query, Target};

/// What the pod of one node's Job does.
#[derive(Debug, Clone)]
pub enum PodScript {
    /// Runs for `after`, then succeeds having printed `log`.
    Succeed {
        /// The whole log.
        log: String,
        /// Time from the Job's creation to success.
        after: Duration,
    },
    /// Stays Pending forever with this container waiting reason and message.
    Pending {
        /// `ErrImagePull`, `ContainerCreating` …
        reason: String,
        /// The waiting message (also the pod's event).
        message: String,
    },
    /// Fails after `after`.
    Fail {
        /// Terminated reason (`Error`, `OOMKilled`).
        reason: String,
        /// Exit code.
        exit_code: i64,
        /// Time from the Job's creation to failure.
        after: Duration,
    },
    /// The Job never gets a pod (PodSecurity rejection, quota): an event on the Job says why.
    NoPod {
        /// The Job event's message.
        message: String,
    },
    /// Runs printing clock beacons `offset_seconds` off this machine's clock (as
    /// `ke node-check` does for clock rules) until its log has been read once, then
    /// succeeds with `result` last.
    Beacons {
        /// The node's clock less this one.
        offset_seconds: f64,
        /// The result line printed after the beacons.
        result: Value,
    },
    /// Runs for `after`, then succeeds having printed what the real `ke node-check`
    /// answers to the Job's own request (its environment) on `host_root`, run when
    /// the log is read: what the node pod would do with the Job as created.
    NodeCheck {
        /// Stands for the host as the pod sees it (`/host`).
        host_root: PathBuf,
        /// Time from the Job's creation to success.
        after: Duration,
    },
}

impl PodScript {
    /// Succeeds after `after` with one JSON line as the log.
    pub fn result(result: &Value, after: Duration) -> Self {
        PodScript::Succeed { log: format!("starting\n{result}\n"), after }
    }
}

/// A stored Job.
#[derive(Debug, Clone)]
struct StoredJob {
    object: Value,
    created: Instant,
    script: PodScript,
    /// Its pod's log has been read.
    log_read: bool,
}

/// The Jobs of the namespace and what the tests planted.
#[derive(Debug)]
pub struct Jobs {
    /// The namespace the Jobs live in.
    pub namespace: String,
    /// Per node (the Job's `nodeName`).
    pub scripts: HashMap<String, PodScript>,
    /// For nodes without a script.
    pub default_script: PodScript,
    /// Answer 403 to every Job creation.
    pub forbid_create: bool,
    jobs: BTreeMap<String, StoredJob>,
    /// Names of Jobs created, in order.
    pub created: Vec<String>,
    /// The Jobs created, as posted, in order.
    pub manifests: Vec<Value>,
    /// Names of Jobs deleted, with the propagation policy asked for.
    pub deleted: Vec<(String, Option<String>)>,
    /// Most Jobs that existed at once.
    pub peak: usize,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            namespace: "kubeeye-node-checks".into(),
            scripts: HashMap::new(),
            default_script: PodScript::result(&json!({ "schemaVersion": 1, "checks": [] }), Duration::ZERO),
            forbid_create: false,
            jobs: BTreeMap::new(),
            created: Vec::new(),
            manifests: Vec::new(),
            deleted: Vec::new(),
            peak: 0,
        }
    }
}

impl Jobs {
    /// Names of the Jobs that exist now.
    pub fn names(&self) -> Vec<String> {
        self.jobs.keys().cloned().collect()
    }

    /// A Job that exists now, as stored.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.jobs.get(name).map(|j| j.object.clone())
    }

    /// Adds a Job as another party would have created it (bypassing the API).
    pub fn insert(&mut self, object: Value) {
        let node = object.pointer("/spec/template/spec/nodeName").and_then(Value::as_str).unwrap_or_default();
        let script = self.scripts.get(node).cloned().unwrap_or_else(|| self.default_script.clone());
        let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
        self.jobs.insert(name, StoredJob { object, created: Instant::now(), script, log_read: false });
        self.peak = self.peak.max(self.jobs.len());
    }

    /// Whether this request is about the Jobs' namespace (jobs, its pods, logs, events).
    pub fn serves(&self, target: &Target<'_>) -> bool {
        target.namespace == Some(self.namespace.as_str())
            && matches!((target.group, target.plural), ("batch", "jobs") | ("", "pods" | "events"))
    }

    /// Answers a request `serves` accepted.
    pub fn handle(&mut self, method: &str, target: &Target<'_>, query: &Query, log: bool, body: &[u8]) -> Reply {
        match (target.plural, target.name, method, log) {
            ("jobs", None, "POST", _) => self.create(body),
            ("jobs", None, "GET", _) => list("JobList", self.matching(query).map(|j| j.object.clone()).collect()),
            ("jobs", Some(name), "GET", _) => match self.jobs.get(name) {
                Some(j) => Reply::json(200, j.object.to_string()),
                None => not_found("jobs.batch", name),
            },
            ("jobs", Some(name), "DELETE", _) => match self.jobs.remove(name) {
                Some(j) => {
                    self.deleted.push((name.to_string(), query.get("propagationPolicy").map(str::to_string)));
                    Reply::json(200, j.object.to_string())
                }
                None => not_found("jobs.batch", name),
            },
            ("pods", None, "GET", _) => list("PodList", self.matching_pods(query)),
            ("pods", Some(pod), "GET", true) => self.log(pod, query),
            ("events", None, "GET", _) => list("EventList", self.events(query)),
            (_, _, method, _) => Reply::status(405, "MethodNotAllowed", &format!("{method} is not supported here")),
        }
    }

    fn create(&mut self, body: &[u8]) -> Reply {
        if self.forbid_create {
            return Reply::status(
                403,
                "Forbidden",
                &format!(
                    "jobs.batch is forbidden: User \"{}\" cannot create resource \"jobs\" in API group \"batch\" in the namespace \"{}\"",
                    super::reply::USER,
                    self.namespace
                ),
            );
        }
        let Ok(mut object) = serde_json::from_slice::<Value>(body) else {
            return Reply::bad_request("the body is not JSON");
        };
        let Some(name) = object.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string) else {
            return Reply::status(422, "Invalid", "metadata.name: Required value");
        };
        if self.jobs.contains_key(&name) {
            return Reply::status(409, "AlreadyExists", &format!("jobs.batch \"{name}\" already exists"));
        }
        object["metadata"]["namespace"] = json!(self.namespace);
        object["metadata"]["uid"] = json!(format!("uid-{name}"));
        self.created.push(name.clone());
        self.manifests.push(object.clone());
        self.insert(object.clone());
        Reply::json(201, object.to_string())
    }

    fn matching<'a>(&'a self, query: &Query) -> impl Iterator<Item = &'a StoredJob> + 'a {
        let wanted = selector(query.get("labelSelector"));
        self.jobs.values().filter(move |j| labels_match(j.object.pointer("/metadata/labels"), &wanted))
    }

    fn matching_pods(&self, query: &Query) -> Vec<Value> {
        let wanted = selector(query.get("labelSelector"));
        self.jobs
            .values()
            .filter_map(|j| self.pod(j))
            .filter(|p| labels_match(p.pointer("/metadata/labels"), &wanted))
            .collect()
    }

    /// The Job's pod now, `None` before it has one.
    fn pod(&self, job: &StoredJob) -> Option<Value> {
        if matches!(job.script, PodScript::NoPod { .. }) {
            return None;
        }
        let name = job.object.pointer("/metadata/name")?.as_str()?;
        let mut labels = job.object.pointer("/spec/template/metadata/labels").cloned().unwrap_or(json!({}));
        labels["job-name"] = json!(name);
        let elapsed = job.created.elapsed();
        let running = json!([{ "name": "node-check", "state": { "running": {} } }]);
        let status = match &job.script {
            PodScript::Succeed { after, .. } | PodScript::NodeCheck { after, .. } if elapsed >= *after => {
                json!({
                    "phase": "Succeeded",
                    "containerStatuses": [{ "name": "node-check", "state": { "terminated": { "reason": "Completed", "exitCode": 0 } } }],
                })
            }
            PodScript::Beacons { .. } if job.log_read => json!({
                "phase": "Succeeded",
                "containerStatuses": [{ "name": "node-check", "state": { "terminated": { "reason": "Completed", "exitCode": 0 } } }],
            }),
            PodScript::Succeed { .. } | PodScript::NodeCheck { .. } | PodScript::Beacons { .. } => {
                json!({ "phase": "Running", "containerStatuses": running })
            }
            PodScript::Pending { reason, message } => json!({
                "phase": "Pending",
                "containerStatuses": [{ "name": "node-check", "state": { "waiting": { "reason": reason, "message": message } } }],
            }),
            PodScript::Fail { reason, exit_code, after } if elapsed >= *after => json!({
                "phase": "Failed",
                "containerStatuses": [{ "name": "node-check", "state": { "terminated": { "reason": reason, "exitCode": exit_code } } }],
            }),
            PodScript::Fail { .. } => json!({ "phase": "Running", "containerStatuses": running }),
            PodScript::NoPod { .. } => return None,
        };
        Some(json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": { "name": format!("{name}-x7k2p"), "namespace": self.namespace, "labels": labels },
            "spec": job.object.pointer("/spec/template/spec").cloned().unwrap_or_default(),
            "status": status,
        }))
    }

    fn job_of_pod(&self, pod: &str) -> Option<&StoredJob> {
        self.jobs.get(pod.strip_suffix("-x7k2p")?)
    }

    fn log(&mut self, pod: &str, query: &Query) -> Reply {
        let Some(job) = pod.strip_suffix("-x7k2p").and_then(|name| self.jobs.get_mut(name)) else {
            return not_found("pods", pod);
        };
        // A Beacons pod is running until its log is read once.
        let running = !std::mem::replace(&mut job.log_read, true);
        let job = &*job;
        let text = match &job.script {
            PodScript::Succeed { log, after } if job.created.elapsed() >= *after => log.clone(),
            PodScript::NodeCheck { host_root, after } if job.created.elapsed() >= *after => {
                node_check(&job.object, host_root)
            }
            PodScript::Beacons { offset_seconds, result } => {
                let beacon = |last: bool| {
                    let clock = jiff::Timestamp::now() + jiff::SignedDuration::from_secs_f64(*offset_seconds);
                    let mut line = json!({ "clock": format!("{clock:.9}") });
                    if last {
                        line["last"] = json!(true);
                    }
                    format!("{line}\n")
                };
                match running {
                    true => format!("{}{}", beacon(false), beacon(false)),
                    false => format!("{}{}{result}\n", beacon(false), beacon(true)),
                }
            }
            PodScript::Succeed { .. } | PodScript::Fail { .. } | PodScript::NodeCheck { .. } => String::new(),
            PodScript::Pending { .. } | PodScript::NoPod { .. } => {
                return Reply::bad_request(&format!(
                    "container \"node-check\" in pod \"{pod}\" is waiting to start: ContainerCreating"
                ));
            }
        };
        let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
        if let Some(Ok(n)) = query.get("tailLines").map(str::parse::<usize>) {
            lines = lines.split_off(lines.len().saturating_sub(n));
        }
        let mut out = lines.concat().into_bytes();
        if let Some(Ok(limit)) = query.get("limitBytes").map(str::parse::<usize>) {
            out.truncate(limit);
        }
        Reply::text(200, out)
    }

    fn events(&self, query: &Query) -> Vec<Value> {
        let fields = selector(query.get("fieldSelector"));
        let name = fields.iter().find(|(k, _)| k == "involvedObject.name").map(|(_, v)| v.as_str()).unwrap_or_default();
        let kind = fields.iter().find(|(k, _)| k == "involvedObject.kind").map(|(_, v)| v.as_str()).unwrap_or_default();
        let event = |reason: &str, message: &str| json!({ "reason": reason, "message": message, "type": "Warning", "involvedObject": { "kind": kind, "name": name } });
        match kind {
            "Job" => match self.jobs.get(name).map(|j| &j.script) {
                Some(PodScript::NoPod { message }) => vec![event("FailedCreate", message)],
                _ => vec![],
            },
            "Pod" => match self.job_of_pod(name).map(|j| &j.script) {
                Some(PodScript::Pending { reason, message }) => vec![event("Failed", &format!("{reason}: {message}"))],
                Some(PodScript::Fail { reason, .. }) => vec![event("BackOff", &format!("container ended: {reason}"))],
                _ => vec![],
            },
            _ => vec![],
        }
    }
}

/// The log of `ke node-check` run as the Job's container would run it, on `host_root`.
fn node_check(job: &Value, host_root: &std::path::Path) -> String {
    let container = job.pointer("/spec/template/spec/containers/0").cloned().unwrap_or_default();
    let env: Vec<(String, String)> = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| Some((e["name"].as_str()?.to_string(), e["value"].as_str()?.to_string())))
        .collect();
    let args: Vec<String> = container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_string))
        .map(|a| if a == "/host" { host_root.display().to_string() } else { a })
        .collect();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ke"))
        .args(&args)
        .env_clear()
        .envs(env)
        .output()
        .expect("ke node-check runs");
    format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout))
}

fn list(kind: &str, items: Vec<Value>) -> Reply {
    Reply::json(200, json!({ "kind": kind, "apiVersion": "v1", "metadata": {}, "items": items }).to_string())
}

fn not_found(resource: &str, name: &str) -> Reply {
    Reply::status(404, "NotFound", &format!("{resource} \"{name}\" not found"))
}

/// `a=b,c=d` (equality only, which is all the node checks send).
fn selector(text: Option<&str>) -> Vec<(String, String)> {
    text.unwrap_or_default()
        .split(',')
        .filter_map(|term| term.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn labels_match(labels: Option<&Value>, wanted: &[(String, String)]) -> bool {
    wanted.iter().all(|(k, v)| labels.and_then(|l| l.get(k)).and_then(Value::as_str) == Some(v.as_str()))
}

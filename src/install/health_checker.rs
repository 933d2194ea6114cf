//! node-problem-detector's health checker, the opt-in of
//! `ke install npd --health-checker`: two custom-plugin monitors that run the
//! image's `/home/kubernetes/bin/health-checker` and set the node conditions
//! `KubeletUnhealthy` and `ContainerRuntimeUnhealthy`, and the host access
//! they need. The monitors and the DaemonSet patch are the files of the
//! kustomize component `deploy/npd/health-checker/` (compiled in), so the CLI
//! and `kubectl apply -k` install the same thing.
//!
//! Repair is always off (`--enable-repair=false`): the checker reports, it
//! never restarts a service.

use serde_json::{Map, Value};

use super::{InstallError, NPD_CONFIGMAP};
use crate::inventory::Object;

/// The ConfigMap key of the kubelet's health check.
pub const KUBELET_KEY: &str = "health-checker-kubelet.json";
/// The ConfigMap key of the container runtime's health check.
pub const RUNTIME_KEY: &str = "health-checker-container-runtime.json";
/// The component's directory, for messages.
const DIR: &str = "deploy/npd/health-checker";

const KUBELET_CONFIG: &str = include_str!("../../deploy/npd/health-checker/health-checker-kubelet.json");
const RUNTIME_CONFIG: &str = include_str!("../../deploy/npd/health-checker/health-checker-container-runtime.json");
/// The component's kustomization: its first patch is the DaemonSet's (inline,
/// so that `ke diag --snapshot deploy/` does not take it for a DaemonSet).
const KUSTOMIZATION: &str = include_str!("../../deploy/npd/health-checker/kustomization.yaml");

/// The container runtime whose CRI socket crictl asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Runtime {
    /// containerd, at /run/containerd/containerd.sock.
    Containerd,
    /// CRI-O, at /run/crio/crio.sock.
    #[value(name = "cri-o")]
    CriO,
    /// Docker Engine through cri-dockerd, at /run/cri-dockerd.sock.
    Docker,
}

impl Runtime {
    const ALL: [Runtime; 3] = [Runtime::Containerd, Runtime::CriO, Runtime::Docker];

    /// The runtime's CRI socket on the node (and in the container).
    pub fn socket(self) -> &'static str {
        match self {
            Runtime::Containerd => "/run/containerd/containerd.sock",
            Runtime::CriO => "/run/crio/crio.sock",
            Runtime::Docker => "/run/cri-dockerd.sock",
        }
    }

    /// The condition's reason while the runtime is unhealthy (upstream's names).
    fn reason(self) -> &'static str {
        match self {
            Runtime::Containerd => "ContainerdUnhealthy",
            Runtime::CriO => "CRIOUnhealthy",
            Runtime::Docker => "DockerUnhealthy",
        }
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Containerd => "containerd",
            Runtime::CriO => "cri-o",
            Runtime::Docker => "docker",
        }
    }
}

/// How the health checker is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthChecker {
    /// The runtime checked.
    pub runtime: Runtime,
    /// Where crictl is on every node (mounted read-only at the same path).
    pub crictl: String,
}

/// Where kubeadm's cri-tools package installs crictl.
pub const DEFAULT_CRICTL: &str = "/usr/bin/crictl";

impl Default for HealthChecker {
    fn default() -> Self {
        Self { runtime: Runtime::Containerd, crictl: DEFAULT_CRICTL.into() }
    }
}

/// What `ke install npd` was asked to do with the health checker.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Choice {
    /// No flag: keep it if the cluster has it (with its settings), else leave it out.
    #[default]
    AsInstalled,
    /// `--health-checker`, each setting from its flag, else as installed, else the default.
    Enable {
        /// `--container-runtime`.
        runtime: Option<Runtime>,
        /// `--crictl`.
        crictl: Option<String>,
    },
    /// `--no-health-checker`: remove it.
    Disable,
}

impl Choice {
    /// The settings without a cluster to read (`--dry-run`): only what the flags say.
    pub fn offline(&self) -> Option<HealthChecker> {
        match self {
            Choice::Enable { .. } => Some(self.resolve(None)),
            Choice::AsInstalled | Choice::Disable => None,
        }
    }

    /// The settings given those installed (`None`: not installed).
    fn resolve(&self, installed: Option<&HealthChecker>) -> HealthChecker {
        let base = installed.cloned().unwrap_or_default();
        match self {
            Choice::Enable { runtime, crictl } => HealthChecker {
                runtime: runtime.unwrap_or(base.runtime),
                crictl: crictl.clone().unwrap_or(base.crictl),
            },
            Choice::AsInstalled | Choice::Disable => base,
        }
    }
}

/// What to install, decided from the choice and the cluster.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// The settings to install; `None`: no health checker.
    pub settings: Option<HealthChecker>,
    /// The cluster's monitors ConfigMap data, made ready for the merge.
    pub theirs: Map<String, Value>,
    /// A line saying what happens, if anything does.
    pub note: Option<String>,
    /// ConfigMap keys to delete after the apply. Server-side apply only drops
    /// a key no other field manager owns; one a user edited (`kubectl edit`,
    /// `kubectl apply`) would stay, and the next plain install would take it
    /// for a health checker still installed.
    pub remove: Vec<&'static str>,
}

/// Decides from the cluster's monitors ConfigMap data (`theirs`) what to
/// install: with `--no-health-checker` nothing of the health checker; with
/// `--health-checker` the settings of its flags, else those installed, else
/// the defaults; with neither, the health checker as installed, if it is.
pub fn plan(choice: &Choice, theirs: &Map<String, Value>) -> Plan {
    let present = theirs.contains_key(KUBELET_KEY) || theirs.contains_key(RUNTIME_KEY);
    let installed =
        present.then(|| theirs.get(RUNTIME_KEY).and_then(Value::as_str).and_then(settings_of).unwrap_or_default());
    let mut theirs = theirs.clone();
    match choice {
        Choice::Disable if present => {
            theirs.remove(KUBELET_KEY);
            theirs.remove(RUNTIME_KEY);
            let note = format!(
                "health checker removed: {KUBELET_KEY} and {RUNTIME_KEY} (your edits to them too), the host network \
                 and the runtime socket and crictl mounts"
            );
            Plan { settings: None, theirs, note: Some(note), remove: vec![KUBELET_KEY, RUNTIME_KEY] }
        }
        Choice::Disable | Choice::AsInstalled if !present => Plan { theirs, ..Plan::default() },
        Choice::Disable | Choice::AsInstalled | Choice::Enable { .. } => {
            let settings = choice.resolve(installed.as_ref());
            drop_stale_rules(&mut theirs, &settings);
            let how =
                format!("{} at {}, crictl at {}", settings.runtime.name(), settings.runtime.socket(), settings.crictl);
            let note = if matches!(choice, Choice::AsInstalled) {
                format!("health checker kept as installed ({how}); --no-health-checker removes it")
            } else {
                format!("health checker on ({how}): the pod uses the node's network and can reach the runtime socket")
            };
            Plan { settings: Some(settings), theirs, note: Some(note), remove: Vec::new() }
        }
    }
}

/// Removes from the cluster's runtime check the rules ke wrote for other
/// settings (an earlier `--container-runtime` or `--crictl`), so a change
/// replaces ke's rule instead of keeping the old one beside it as if a user
/// had added it. Rules that ke would not have written are kept.
fn drop_stale_rules(theirs: &mut Map<String, Value>, settings: &HealthChecker) {
    let Some(mut config) =
        theirs.get(RUNTIME_KEY).and_then(Value::as_str).and_then(|t| serde_json::from_str::<Value>(t).ok())
    else {
        return;
    };
    let current = runtime_rule(settings);
    let Some(rules) = config.get_mut("rules").and_then(Value::as_array_mut) else { return };
    let before = rules.len();
    rules.retain(|rule| current.as_ref() == Some(rule) || !is_kes_rule(rule));
    if rules.len() != before {
        let text = serde_json::to_string_pretty(&config).unwrap_or_default();
        theirs.insert(RUNTIME_KEY.into(), Value::String(format!("{text}\n")));
    }
}

/// Whether `rule` is exactly the runtime rule ke writes for some settings.
fn is_kes_rule(rule: &Value) -> bool {
    rule_settings(rule).is_some_and(|s| runtime_rule(&s).as_ref() == Some(rule))
}

/// The settings a runtime check file was written for: its first `--component=cri` rule's.
pub fn settings_of(text: &str) -> Option<HealthChecker> {
    let config: Value = serde_json::from_str(text).ok()?;
    config.get("rules")?.as_array()?.iter().find_map(rule_settings)
}

fn rule_settings(rule: &Value) -> Option<HealthChecker> {
    let args: Vec<&str> = rule.get("args")?.as_array()?.iter().filter_map(Value::as_str).collect();
    if !args.contains(&"--component=cri") {
        return None;
    }
    let value = |flag: &str| args.iter().find_map(|a| a.strip_prefix(flag));
    let socket = value("--cri-socket-path=")?;
    let socket = socket.strip_prefix("unix://").unwrap_or(socket);
    let runtime = Runtime::ALL.into_iter().find(|r| r.socket() == socket)?;
    Some(HealthChecker { runtime, crictl: value("--crictl-path=")?.to_string() })
}

/// The runtime check's rule for `settings`: the component's, with the socket,
/// crictl and reason set.
fn runtime_rule(settings: &HealthChecker) -> Option<Value> {
    let config: Value = serde_json::from_str(RUNTIME_CONFIG).ok()?;
    let mut rule = config.get("rules")?.get(0)?.clone();
    rule["reason"] = Value::String(settings.runtime.reason().into());
    for arg in rule.get_mut("args")?.as_array_mut()? {
        let Some(text) = arg.as_str() else { continue };
        if text.starts_with("--crictl-path=") {
            *arg = Value::String(format!("--crictl-path={}", settings.crictl));
        } else if text.starts_with("--cri-socket-path=") {
            *arg = Value::String(format!("--cri-socket-path=unix://{}", settings.runtime.socket()));
        }
    }
    Some(rule)
}

/// The two monitor files for `settings`: the component's as written for the
/// default settings, rewritten otherwise.
pub fn files(settings: &HealthChecker) -> Result<[(&'static str, String); 2], InstallError> {
    let problem =
        |problem: &str| InstallError::Manifest { file: format!("{DIR}/{RUNTIME_KEY}"), problem: problem.into() };
    let runtime = if *settings == HealthChecker::default() {
        RUNTIME_CONFIG.to_string()
    } else {
        let mut config: Value = serde_json::from_str(RUNTIME_CONFIG).map_err(|e| problem(&e.to_string()))?;
        config["rules"] = Value::Array(vec![runtime_rule(settings).ok_or_else(|| problem("no rule with args"))?]);
        format!("{}\n", serde_json::to_string_pretty(&config).map_err(|e| problem(&e.to_string()))?)
    };
    Ok([(KUBELET_KEY, KUBELET_CONFIG.to_string()), (RUNTIME_KEY, runtime)])
}

/// The component's DaemonSet patch for `settings`.
fn daemonset_patch(settings: &HealthChecker) -> Result<Value, InstallError> {
    let file = format!("{DIR}/kustomization.yaml");
    let yaml = |text: &str| {
        serde_norway::from_str::<Value>(text).map_err(|source| InstallError::Yaml {
            file: file.clone(),
            document: 1,
            source,
        })
    };
    let kustomization = yaml(KUSTOMIZATION)?;
    let mut patch = Value::Null;
    for text in kustomization["patches"].as_array().into_iter().flatten().filter_map(|p| p["patch"].as_str()) {
        let value = yaml(text)?;
        if value["kind"] == "DaemonSet" {
            patch = value;
            break;
        }
    }
    let spec = patch.pointer_mut("/spec/template/spec").ok_or_else(|| InstallError::Manifest {
        file: file.clone(),
        problem: "no DaemonSet patch with spec.template.spec".into(),
    })?;
    let paths = [("runtime-socket", settings.runtime.socket()), ("crictl", settings.crictl.as_str())];
    for (name, path) in paths {
        for volume in spec["volumes"].as_array_mut().into_iter().flatten().filter(|v| v["name"] == name) {
            volume["hostPath"]["path"] = Value::String(path.into());
        }
        let mounts = spec.pointer_mut("/containers/0/volumeMounts").and_then(Value::as_array_mut);
        for mount in mounts.into_iter().flatten().filter(|m| m["name"] == name) {
            mount["mountPath"] = Value::String(path.into());
        }
    }
    Ok(patch)
}

/// Adds the health checker to the compiled-in objects: its two monitor files
/// to the ConfigMap, and to the DaemonSet what the component's patch adds
/// (annotations, host network, DNS policy, the two read-only mounts). The
/// monitor flags are set afterwards from the ConfigMap, like every monitor's.
pub fn enable(objects: &mut [Object], settings: &HealthChecker) -> Result<(), InstallError> {
    let problem = |problem: &str| InstallError::Manifest { file: "deploy/npd".into(), problem: problem.into() };
    let configmap = objects
        .iter_mut()
        .find(|o| o.id.kind == "ConfigMap" && o.id.name == NPD_CONFIGMAP)
        .ok_or_else(|| problem("no monitors ConfigMap"))?;
    let data = configmap.raw["data"].as_object_mut().ok_or_else(|| problem("the monitors ConfigMap has no data"))?;
    for (key, text) in files(settings)? {
        data.insert(key.into(), Value::String(text));
    }
    let patch = daemonset_patch(settings)?;
    let daemonset = objects.iter_mut().find(|o| o.id.kind == "DaemonSet").ok_or_else(|| problem("no DaemonSet"))?;
    if let Some(annotations) = patch.pointer("/metadata/annotations").and_then(Value::as_object) {
        let ours = daemonset.raw["metadata"]
            .as_object_mut()
            .ok_or_else(|| problem("the DaemonSet has no metadata"))?
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        for (key, value) in annotations {
            ours[key] = value.clone();
        }
    }
    let pod = daemonset.raw.pointer_mut("/spec/template/spec").ok_or_else(|| problem("no pod template"))?;
    for field in ["hostNetwork", "dnsPolicy"] {
        if let Some(value) = patch.pointer(&format!("/spec/template/spec/{field}")) {
            pod[field] = value.clone();
        }
    }
    let lists = [
        ("/spec/template/spec/volumes", "/volumes"),
        ("/spec/template/spec/containers/0/volumeMounts", "/containers/0/volumeMounts"),
    ];
    for (from, to) in lists {
        let added = patch.pointer(from).and_then(Value::as_array).cloned().unwrap_or_default();
        let list = pod.pointer_mut(to).and_then(Value::as_array_mut).ok_or_else(|| problem(&format!("no {to}")))?;
        for item in added {
            list.retain(|existing| existing["name"] != item["name"]);
            list.push(item);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_the_runtime_file() {
        assert_eq!(settings_of(RUNTIME_CONFIG), Some(HealthChecker::default()), "the component is the default");
        for runtime in Runtime::ALL {
            let settings = HealthChecker { runtime, crictl: "/opt/bin/crictl".into() };
            let [_, (_, text)] = files(&settings).unwrap();
            assert_eq!(settings_of(&text), Some(settings.clone()), "{text}");
            assert!(text.contains(runtime.reason()) && text.contains(runtime.socket()), "{text}");
            assert!(is_kes_rule(&runtime_rule(&settings).unwrap()));
        }
        let mut edited = runtime_rule(&HealthChecker::default()).unwrap();
        edited["args"].as_array_mut().unwrap().push("--health-check-timeout=5s".into());
        assert!(!is_kes_rule(&edited), "an edited rule is the user's");
    }

    #[test]
    fn a_new_runtime_replaces_kes_old_rule_but_not_a_users() {
        let mut users = runtime_rule(&HealthChecker::default()).unwrap();
        users["args"].as_array_mut().unwrap().push("--loopback-time=5m".into());
        let mut config: Value = serde_json::from_str(RUNTIME_CONFIG).unwrap();
        config["rules"].as_array_mut().unwrap().push(users.clone());
        let theirs: Map<String, Value> =
            [(RUNTIME_KEY.to_string(), Value::String(config.to_string()))].into_iter().collect();
        let choice = Choice::Enable { runtime: Some(Runtime::CriO), crictl: None };
        let planned = plan(&choice, &theirs);
        assert_eq!(planned.settings, Some(HealthChecker { runtime: Runtime::CriO, crictl: DEFAULT_CRICTL.into() }));
        let kept: Value = serde_json::from_str(planned.theirs[RUNTIME_KEY].as_str().unwrap()).unwrap();
        assert_eq!(kept["rules"], Value::Array(vec![users]), "ke's containerd rule dropped, the user's kept");
        assert!(planned.note.unwrap().contains("cri-o at /run/crio/crio.sock"));
        // No flag: kept with the settings the cluster has.
        let planned = plan(&Choice::AsInstalled, &theirs);
        assert_eq!(planned.settings, Some(HealthChecker::default()));
        assert!(planned.note.unwrap().contains("kept as installed"));
        // Removed on request, never silently.
        let planned = plan(&Choice::Disable, &theirs);
        assert_eq!(planned.settings, None);
        assert!(planned.theirs.is_empty() && planned.note.unwrap().contains("removed"));
        assert_eq!(planned.remove, [KUBELET_KEY, RUNTIME_KEY]);
        assert_eq!(plan(&Choice::AsInstalled, &Map::new()), Plan::default());
        assert_eq!(plan(&Choice::Disable, &Map::new()), Plan::default());
    }
}

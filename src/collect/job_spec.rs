//! The Job that runs `ke node-check` on one node, built from the node's
//! request alone (pure: no I/O). The pod gets exactly what its rules need:
//! read-only host paths by rule kind and path, the host PID namespace and
//! privilege only for custom commands, never an API token.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

/// Label carrying the run id on every Job and pod of a run: the run finds,
/// follows and deletes its own Jobs by it and never touches another run's.
pub const RUN_ID_LABEL: &str = "kubeeye.io/run-id";
/// Label carrying the node name (label-safe form; the full name is in [`NODE_ANNOTATION`]).
pub const NODE_LABEL: &str = "kubeeye.io/node";
/// Annotation carrying the node name as it is.
pub const NODE_ANNOTATION: &str = "kubeeye.io/node";
/// Label on the pod template naming its Job, so pods map back to nodes.
pub const JOB_LABEL: &str = "kubeeye.io/job";
/// The node pod's container.
pub const CONTAINER: &str = "node-check";
/// The environment variable carrying the request JSON.
pub const REQUEST_ENV: &str = "KE_NODE_CHECK_REQUEST";
/// Where the host's paths appear in the node pod.
pub const HOST_ROOT: &str = "/host";
/// Finished Jobs are removed by the cluster after this long even if the run
/// that created them died before deleting them.
pub const TTL_AFTER_FINISHED: Duration = Duration::from_secs(600);
/// The system D-Bus socket systemd rules talk to.
pub const DBUS_SOCKET: &str = "/run/dbus/system_bus_socket";

/// What the Job is built from.
#[derive(Debug, Clone)]
pub struct JobInput<'a> {
    /// The node the pod is pinned to.
    pub node: &'a str,
    /// The node's request (`{"rules": [...]}`), passed through unchanged.
    pub request: &'a Value,
    /// The run id (already label-safe, see [`label_value`]).
    pub run_id: &'a str,
    /// Namespace of the Job.
    pub namespace: &'a str,
    /// Image of the node pod.
    pub image: &'a str,
    /// ServiceAccount of the node pod.
    pub service_account: &'a str,
    /// The Job's `activeDeadlineSeconds`.
    pub active_deadline: Duration,
}

/// A request the Job cannot be built from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// `rules` is missing or not a list.
    #[error("the request has no `rules` list")]
    NoRules,
    /// A rule's `kind` is missing or unknown.
    #[error(
        "rule {index}: unknown kind `{kind}` (sysctl, systemd, fileChange, fileFilter, nodeInfo, customCommand, clock)"
    )]
    UnknownKind {
        /// Position in `rules`.
        index: usize,
        /// The kind as written.
        kind: String,
    },
    /// A file rule's path is missing, relative or climbs with `..`.
    #[error("rule {index}: path `{path}` must be absolute, without `..`")]
    BadPath {
        /// Position in `rules`.
        index: usize,
        /// The path as written.
        path: String,
    },
    /// A disk mount is not an absolute path below `/`.
    #[error("disk mount `{0}` must be an absolute path below `/`, without `..` (nodeChecks.diskMounts)")]
    BadDiskMount(String),
}

/// What a node pod needs from its host, derived from its rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostNeeds {
    /// Host paths mounted read-only under [`HOST_ROOT`], as `(path, hostPath type)`.
    pub mounts: Vec<(String, &'static str)>,
    /// Host PID namespace and a privileged container (custom commands).
    pub privileged: bool,
}

/// The host paths and privileges the rules of `request` need.
pub fn host_needs(request: &Value) -> Result<HostNeeds, SpecError> {
    let rules = request.get("rules").and_then(Value::as_array).ok_or(SpecError::NoRules)?;
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    let mut files: BTreeSet<String> = BTreeSet::new();
    let mut socket = false;
    let mut privileged = false;
    for (index, rule) in rules.iter().enumerate() {
        let kind = rule.get("kind").and_then(Value::as_str).unwrap_or_default();
        match kind {
            "sysctl" => {
                dirs.insert("/proc".into());
                dirs.insert("/sys".into());
            }
            "systemd" => socket = true,
            "fileChange" | "fileFilter" => {
                let path = rule.get("path").and_then(Value::as_str).unwrap_or_default();
                files.insert(clean_path(path).ok_or_else(|| SpecError::BadPath { index, path: path.into() })?);
            }
            "nodeInfo" => {
                dirs.insert("/".into());
                dirs.insert("/proc".into());
            }
            "customCommand" => privileged = true,
            "clock" => {}
            other => return Err(SpecError::UnknownKind { index, kind: other.into() }),
        }
    }
    // Each disk mount exactly, even under a mounted `/`: it is usually a filesystem of its
    // own, and statvfs must see that one.
    let mut disks: BTreeSet<String> = BTreeSet::new();
    for mount in request.get("diskMounts").and_then(Value::as_array).into_iter().flatten() {
        let text = mount.as_str().unwrap_or_default();
        match clean_path(text) {
            Some(path) if path != "/" => disks.insert(path),
            _ => return Err(SpecError::BadDiskMount(text.to_string())),
        };
    }
    // `/` is mounted without its submounts, so /proc and /sys stay mounts of their own.
    let covered = |path: &str| {
        dirs.iter().any(|d| d != "/" && (path == d || path.starts_with(&format!("{d}/"))))
            || (dirs.contains("/") && !path.starts_with("/proc/") && !path.starts_with("/sys/"))
    };
    let mut mounts: Vec<(String, &'static str)> = dirs.iter().map(|d| (d.clone(), "Directory")).collect();
    if socket && !covered(DBUS_SOCKET) {
        mounts.push((DBUS_SOCKET.into(), "Socket"));
    }
    for file in &files {
        if !covered(file) {
            mounts.push((file.clone(), "File"));
        }
    }
    for disk in disks {
        if !mounts.iter().any(|(path, _)| *path == disk) {
            mounts.push((disk, "Directory"));
        }
    }
    Ok(HostNeeds { mounts, privileged })
}

/// An absolute path without `.`/`..` segments or repeated slashes; `None` when it is not one.
fn clean_path(path: &str) -> Option<String> {
    if !path.starts_with('/') || path.contains('\0') {
        return None;
    }
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if parts.iter().any(|p| *p == ".." || *p == ".") {
        return None;
    }
    Some(format!("/{}", parts.join("/")))
}

/// A label value from any text: at most 63 characters of `[A-Za-z0-9._-]`,
/// starting and ending with a letter or digit (other characters become `-`).
pub fn label_value(text: &str) -> String {
    let mapped: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' }).collect();
    let cut: String = mapped.chars().take(63).collect();
    cut.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string()
}

/// The Job's name: unique per run and node, at most 63 characters (it
/// becomes a label value on the pods), readable when the node name is short.
pub fn job_name(run_id: &str, node: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{run_id}\n{node}").as_bytes());
    let hash = hex::encode(&digest[..5]);
    let readable: String =
        node.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).take(36).collect();
    let readable = readable.trim_matches('-');
    if readable.is_empty() { format!("ke-node-check-{hash}") } else { format!("ke-node-check-{readable}-{hash}") }
}

/// The Job manifest (`batch/v1`) for one node.
pub fn job_manifest(input: &JobInput<'_>) -> Result<Value, SpecError> {
    let needs = host_needs(input.request)?;
    let name = job_name(input.run_id, input.node);
    let labels = json!({
        "app.kubernetes.io/name": "kubeeye",
        "app.kubernetes.io/component": "node-check",
        RUN_ID_LABEL: input.run_id,
        NODE_LABEL: label_value(input.node),
    });
    let mut pod_labels = labels.clone();
    pod_labels[JOB_LABEL] = json!(name);
    let annotations = json!({ NODE_ANNOTATION: input.node });
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    for (i, (path, kind)) in needs.mounts.iter().enumerate() {
        let volume = format!("host-{i}");
        volumes.push(json!({ "name": volume, "hostPath": { "path": path, "type": kind } }));
        let at = if path == "/" { HOST_ROOT.to_string() } else { format!("{HOST_ROOT}{path}") };
        mounts.push(json!({ "name": volume, "mountPath": at, "readOnly": true }));
    }
    let security = if needs.privileged {
        json!({ "privileged": true, "runAsUser": 0, "readOnlyRootFilesystem": true })
    } else {
        json!({
            "privileged": false,
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            // Root, to read root-only files such as /var/lib/kubelet/config.yaml, with no capabilities.
            "runAsUser": 0,
            "runAsNonRoot": false,
            "capabilities": { "drop": ["ALL"] },
            "seccompProfile": { "type": "RuntimeDefault" },
        })
    };
    let request = serde_json::to_string(input.request).unwrap_or_default();
    let secs = input.active_deadline.as_secs().max(1);
    Ok(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": input.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": secs,
            "ttlSecondsAfterFinished": TTL_AFTER_FINISHED.as_secs(),
            "template": {
                "metadata": { "labels": pod_labels, "annotations": annotations },
                "spec": {
                    "nodeName": input.node,
                    "restartPolicy": "Never",
                    "tolerations": [{ "operator": "Exists" }],
                    "serviceAccountName": input.service_account,
                    "automountServiceAccountToken": false,
                    "enableServiceLinks": false,
                    "hostPID": needs.privileged,
                    "terminationGracePeriodSeconds": 5,
                    "containers": [{
                        "name": CONTAINER,
                        "image": input.image,
                        "imagePullPolicy": "IfNotPresent",
                        "args": ["node-check", "--request-env", REQUEST_ENV, "--host-root", HOST_ROOT],
                        "env": [
                            { "name": REQUEST_ENV, "value": request },
                            { "name": "NODE_NAME", "valueFrom": { "fieldRef": { "fieldPath": "spec.nodeName" } } },
                            // As in the image; explicit, for an image built another way.
                            { "name": super::ALLOCATOR_ENV.0, "value": super::ALLOCATOR_ENV.1 },
                        ],
                        "resources": {
                            "requests": { "cpu": "10m", "memory": "32Mi" },
                            "limits": { "cpu": "500m", "memory": "128Mi" },
                        },
                        "securityContext": security,
                        "volumeMounts": mounts,
                    }],
                    "volumes": volumes,
                },
            },
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(request: &Value) -> JobInput<'_> {
        JobInput {
            node: "worker-1",
            request,
            run_id: "20261201t020000z",
            namespace: "kubeeye-node-checks",
            image: "ghcr.io/kubeeye/kubeeye:0.1.0",
            service_account: "kubeeye-node-check",
            active_deadline: Duration::from_secs(120),
        }
    }

    type Mount = (String, String, String, bool);

    fn mounts(job: &Value) -> Vec<Mount> {
        let spec = &job["spec"]["template"]["spec"];
        let volumes = spec["volumes"].as_array().expect("volumes");
        spec["containers"][0]["volumeMounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .map(|m| {
                let v = volumes.iter().find(|v| v["name"] == m["name"]).expect("volume of mount");
                (
                    v["hostPath"]["path"].as_str().unwrap_or_default().to_string(),
                    v["hostPath"]["type"].as_str().unwrap_or_default().to_string(),
                    m["mountPath"].as_str().unwrap_or_default().to_string(),
                    m["readOnly"] == true,
                )
            })
            .collect()
    }

    fn m(path: &str, kind: &str, at: &str) -> Mount {
        (path.into(), kind.into(), at.into(), true)
    }

    #[test]
    fn sysctl_mounts_proc_and_sys_read_only_and_nothing_else() {
        let request = json!({ "rules": [{ "kind": "sysctl" }, { "kind": "sysctl" }] });
        let job = job_manifest(&input(&request)).expect("job");
        assert_eq!(mounts(&job), vec![m("/proc", "Directory", "/host/proc"), m("/sys", "Directory", "/host/sys")]);
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(pod["hostPID"], false);
        assert_eq!(pod["containers"][0]["securityContext"]["privileged"], false);
        assert_eq!(pod["containers"][0]["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
    }

    #[test]
    fn each_kind_gets_exactly_its_paths() {
        let cases = [
            (json!({ "kind": "systemd" }), vec![m(DBUS_SOCKET, "Socket", "/host/run/dbus/system_bus_socket")]),
            (
                json!({ "kind": "fileChange", "path": "/var/lib/kubelet//config.yaml" }),
                vec![m("/var/lib/kubelet/config.yaml", "File", "/host/var/lib/kubelet/config.yaml")],
            ),
            (
                json!({ "kind": "fileFilter", "path": "/var/log/syslog" }),
                vec![m("/var/log/syslog", "File", "/host/var/log/syslog")],
            ),
            (json!({ "kind": "nodeInfo" }), vec![m("/", "Directory", "/host"), m("/proc", "Directory", "/host/proc")]),
            (json!({ "kind": "clock" }), vec![]),
            (json!({ "kind": "customCommand", "command": "uptime" }), vec![]),
        ];
        for (rule, expected) in cases {
            let request = json!({ "rules": [rule] });
            let job = job_manifest(&input(&request)).expect("job");
            assert_eq!(mounts(&job), expected, "{rule}");
        }
    }

    #[test]
    fn files_under_a_mounted_directory_are_not_mounted_twice() {
        let request = json!({ "rules": [
            { "kind": "nodeInfo" },
            { "kind": "fileChange", "path": "/etc/kubernetes/kubelet.conf" },
            { "kind": "fileChange", "path": "/proc/cmdline" },
            { "kind": "systemd" },
        ] });
        let job = job_manifest(&input(&request)).expect("job");
        assert_eq!(mounts(&job), vec![m("/", "Directory", "/host"), m("/proc", "Directory", "/host/proc")]);
        let request = json!({ "rules": [{ "kind": "sysctl" }, { "kind": "fileFilter", "path": "/sys/kernel/x" }] });
        assert_eq!(mounts(&job_manifest(&input(&request)).expect("job")).len(), 2);
    }

    #[test]
    fn disk_mounts_are_mounted_exactly_and_read_only_never_the_host_root() {
        let request = json!({ "rules": [], "diskMounts": ["/var/lib/kubelet", "/var/lib/containerd/"] });
        let job = job_manifest(&input(&request)).expect("job");
        assert_eq!(
            mounts(&job),
            vec![
                m("/var/lib/containerd", "Directory", "/host/var/lib/containerd"),
                m("/var/lib/kubelet", "Directory", "/host/var/lib/kubelet"),
            ]
        );
        // With nodeInfo's `/`, the disk mount is still its own (a separate filesystem is not in `/`'s mount).
        let request = json!({ "rules": [{ "kind": "nodeInfo" }], "diskMounts": ["/var/lib/kubelet"] });
        let job = job_manifest(&input(&request)).expect("job");
        assert!(mounts(&job).contains(&m("/var/lib/kubelet", "Directory", "/host/var/lib/kubelet")));
        for bad in ["/", "relative", "/var/../etc"] {
            let request = json!({ "rules": [], "diskMounts": [bad] });
            assert_eq!(job_manifest(&input(&request)).unwrap_err(), SpecError::BadDiskMount(bad.into()), "{bad}");
        }
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(pod["containers"][0]["securityContext"]["privileged"], false);
    }

    #[test]
    fn only_custom_commands_get_host_pid_and_privilege() {
        let request = json!({ "rules": [{ "kind": "customCommand", "command": "uptime" }, { "kind": "clock" }] });
        let job = job_manifest(&input(&request)).expect("job");
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(pod["hostPID"], true);
        assert_eq!(pod["containers"][0]["securityContext"]["privileged"], true);
    }

    #[test]
    fn job_is_pinned_bounded_labelled_and_tokenless() {
        let request = json!({ "rules": [{ "kind": "clock" }] });
        let job = job_manifest(&input(&request)).expect("job");
        let spec = &job["spec"];
        assert_eq!(spec["backoffLimit"], 0);
        assert_eq!(spec["activeDeadlineSeconds"], 120);
        assert_eq!(spec["ttlSecondsAfterFinished"], TTL_AFTER_FINISHED.as_secs());
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["nodeName"], "worker-1");
        assert_eq!(pod["tolerations"], json!([{ "operator": "Exists" }]));
        assert_eq!(pod["automountServiceAccountToken"], false);
        assert_eq!(pod["restartPolicy"], "Never");
        assert_eq!(job["metadata"]["labels"][RUN_ID_LABEL], "20261201t020000z");
        assert_eq!(job["metadata"]["labels"][NODE_LABEL], "worker-1");
        let template_labels = &spec["template"]["metadata"]["labels"];
        assert_eq!(template_labels[RUN_ID_LABEL], "20261201t020000z");
        assert_eq!(template_labels[JOB_LABEL], job["metadata"]["name"]);
        let container = &pod["containers"][0];
        assert_eq!(
            container["args"],
            json!(["node-check", "--request-env", "KE_NODE_CHECK_REQUEST", "--host-root", "/host"])
        );
        let env: Value =
            serde_json::from_str(container["env"][0]["value"].as_str().expect("request env")).expect("json");
        assert_eq!(env, request);
        assert_eq!(container["resources"]["limits"]["memory"], "128Mi");
        assert!(
            container["env"]
                .as_array()
                .expect("env")
                .iter()
                .any(|e| e["name"] == "MIMALLOC_ARENA_EAGER_COMMIT" && e["value"] == "0")
        );
    }

    #[test]
    fn bad_requests_are_refused() {
        let no_rules = json!({});
        assert_eq!(job_manifest(&input(&no_rules)).err(), Some(SpecError::NoRules));
        let unknown = json!({ "rules": [{ "kind": "kernelModule" }] });
        assert!(matches!(job_manifest(&input(&unknown)), Err(SpecError::UnknownKind { index: 0, .. })));
        for path in ["etc/passwd", "/etc/../root/.ssh/id_rsa", ""] {
            let bad = json!({ "rules": [{ "kind": "clock" }, { "kind": "fileChange", "path": path }] });
            assert!(matches!(job_manifest(&input(&bad)), Err(SpecError::BadPath { index: 1, .. })), "{path}");
        }
    }

    #[test]
    fn names_and_labels_stay_within_kubernetes_limits() {
        let long = "a".repeat(253);
        for node in ["worker-1", long.as_str(), "Node.With_Odd/Chars", "..."] {
            let name = job_name("run", node);
            assert!(name.len() <= 63 && name.starts_with("ke-node-check-"), "{name}");
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{name}");
            assert!(label_value(node).len() <= 63);
        }
        assert_ne!(job_name("run-a", "n"), job_name("run-b", "n"));
        assert_eq!(label_value("-ip-10-0-0-1.ec2.internal-"), "ip-10-0-0-1.ec2.internal");
    }
}

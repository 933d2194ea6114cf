//! `/version` and the probes `/readyz`, `/livez`, `/healthz`, answered from `APIServerHealth`.

use serde_json::json;

use super::cluster::Probe;
use super::reply::Reply;
use super::routes::Query;
use super::state::Shared;

/// The Kubernetes version the fake claims to be.
pub const GIT_VERSION: &str = "v1.35.0";

/// `GET /version`.
pub fn version() -> Reply {
    let body = json!({
        "major": "1",
        "minor": "35",
        "emulationMajor": "1",
        "emulationMinor": "35",
        "gitVersion": GIT_VERSION,
        "gitCommit": "66452049f3d692768c39c797b21b793dce80314e",
        "gitTreeState": "clean",
        "buildDate": "2025-12-17T12:32:06Z",
        "goVersion": "go1.25.5",
        "compiler": "gc",
        "platform": "linux/amd64",
    });
    Reply::json(200, body.to_string())
}

const READYZ_CHECKS: &[&str] = &[
    "ping",
    "log",
    "etcd",
    "etcd-readiness",
    "kms-providers",
    "informer-sync",
    "poststarthook/start-apiserver-admission-initializer",
    "poststarthook/generic-apiserver-start-informers",
    "poststarthook/priority-and-fairness-config-consumer",
    "poststarthook/start-apiextensions-informers",
    "poststarthook/crd-informer-synced",
    "poststarthook/rbac/bootstrap-roles",
    "poststarthook/scheduling/bootstrap-system-priority-classes",
    "poststarthook/bootstrap-controller",
    "poststarthook/apiservice-registration-controller",
    "poststarthook/apiservice-status-available-controller",
    "shutdown",
];

/// `GET /readyz`, `/livez`, `/healthz`: the planted answer, else a healthy server's.
pub fn probe(shared: &Shared, name: &str, query: &Query) -> Reply {
    let planted = {
        let cluster = shared.cluster();
        match name {
            "readyz" => cluster.health.readyz.clone(),
            "livez" => cluster.health.livez.clone(),
            _ => None,
        }
    };
    let verbose = query.has("verbose");
    match planted {
        // A failing probe lists its checks whether or not `verbose` was asked for.
        Some(Probe { status, body }) if verbose || status != 200 => Reply::text(status, body),
        Some(_) => Reply::text(200, "ok"),
        None if verbose => {
            let checks = if name == "readyz" { READYZ_CHECKS } else { &READYZ_CHECKS[..4] };
            let mut body: String = checks.iter().map(|c| format!("[+]{c} ok\n")).collect();
            body.push_str(&format!("{name} check passed\n"));
            Reply::text(200, body)
        }
        None => Reply::text(200, "ok"),
    }
}

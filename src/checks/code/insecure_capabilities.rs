//! `insecureCapabilities`: a container keeps capabilities of the runtime's default set.

use serde_json::Value;

use super::{CodeCheck, Run};
use crate::checks::index::Index;
use crate::checks::workload::Workload;
use crate::checks::{ContainerRef, Outcome};

pub(super) const CHECK: CodeCheck = CodeCheck { name: "insecureCapabilities", run: Run::Container(run) };

/// Capabilities of the container runtime's default set that few programs need (Polaris's list).
const INSECURE_CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

fn run(_: &Workload<'_>, c: &ContainerRef<'_>, _: &Index<'_>) -> Outcome {
    insecure_capabilities(c.raw)
}

/// The runtime's default capabilities a container keeps: those it neither drops
/// (by name or with `ALL`) nor adds back. Adding back NET_BIND_SERVICE after
/// dropping ALL is the Pod Security Standards' restricted pattern and passes.
fn insecure_capabilities(container: &Value) -> Outcome {
    let caps = container.get("securityContext").and_then(|s| s.get("capabilities"));
    let list = |key: &str| -> Vec<String> {
        caps.and_then(|c| c.get(key))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|s| s.to_ascii_uppercase().trim_start_matches("CAP_").to_string())
            .collect()
    };
    let (drop, add) = (list("drop"), list("add"));
    if add.iter().any(|a| a == "ALL") {
        return Outcome::Fail(Some("Container adds ALL capabilities".into()));
    }
    let drops_all = drop.iter().any(|d| d == "ALL");
    let has = |list: &[String], cap: &str| list.iter().any(|x| x == cap);
    let added: Vec<&str> =
        INSECURE_CAPABILITIES.iter().copied().filter(|cap| has(&add, cap) && *cap != "NET_BIND_SERVICE").collect();
    let not_dropped: Vec<&str> =
        INSECURE_CAPABILITIES.iter().copied().filter(|cap| !has(&add, cap) && !drops_all && !has(&drop, cap)).collect();
    if !not_dropped.is_empty() {
        Outcome::Fail(Some(format!(
            "Container keeps insecure capabilities ({}); drop them with drop: [ALL]",
            not_dropped.join(", ")
        )))
    } else if !added.is_empty() {
        Outcome::Fail(Some(format!("Container adds insecure capabilities: {}", added.join(", "))))
    } else {
        Outcome::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn capability_sets() {
        let caps = |v: Value| json!({"securityContext": {"capabilities": v}});
        assert_eq!(insecure_capabilities(&caps(json!({"drop": ["ALL"]}))), Outcome::Pass);
        assert_eq!(insecure_capabilities(&caps(json!({"drop": ["all"], "add": ["NET_BIND_SERVICE"]}))), Outcome::Pass);
        assert!(matches!(
            insecure_capabilities(&caps(json!({"drop": ["ALL"], "add": ["CAP_NET_RAW"]}))),
            Outcome::Fail(_)
        ));
        assert!(matches!(insecure_capabilities(&caps(json!({"drop": ["ALL"], "add": ["ALL"]}))), Outcome::Fail(_)));
        assert!(matches!(insecure_capabilities(&json!({})), Outcome::Fail(_)));
        let each: Vec<&str> = INSECURE_CAPABILITIES.to_vec();
        assert_eq!(insecure_capabilities(&caps(json!({ "drop": each }))), Outcome::Pass, "dropped one by one");
    }
}

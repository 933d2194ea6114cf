//! `linuxHardening`: a container uses none of seccomp, AppArmor, SELinux or dropped capabilities.

use serde_json::Value;

use super::{CodeCheck, Run, pass_if};
use crate::checks::index::Index;
use crate::checks::workload::Workload;
use crate::checks::{ContainerRef, Outcome};

pub(super) const CHECK: CodeCheck = CodeCheck { name: "linuxHardening", run: Run::Container(run) };

/// Passes when any one of Polaris's hardening measures applies to the container:
/// seccomp or AppArmor (field or the pod-template annotation) other than
/// Unconfined, SELinux options, or a non-empty capability drop list that does
/// not add ALL back. The pod-level securityContext counts as the container's.
fn run(w: &Workload<'_>, c: &ContainerRef<'_>, _: &Index<'_>) -> Outcome {
    let name = c.raw.get("name").and_then(Value::as_str).unwrap_or_default();
    let annotation = w
        .pod_template
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(format!("container.apparmor.security.beta.kubernetes.io/{name}")))
        .and_then(Value::as_str);
    if annotation.is_some_and(|v| !v.is_empty() && !v.eq_ignore_ascii_case("unconfined")) {
        return Outcome::Pass;
    }
    let sc = c.effective.get("securityContext");
    let profile = |key: &str| {
        sc.and_then(|s| s.get(key))
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            .is_some_and(|t| !t.is_empty() && t != "Unconfined")
    };
    let selinux = sc.and_then(|s| s.get("seLinuxOptions")).and_then(Value::as_object).is_some_and(|o| !o.is_empty());
    let caps = sc.and_then(|s| s.get("capabilities"));
    let drops = caps.and_then(|c| c.get("drop")).and_then(Value::as_array).is_some_and(|d| !d.is_empty());
    let adds_all = caps
        .and_then(|c| c.get("add"))
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().filter_map(Value::as_str).any(|c| c.eq_ignore_ascii_case("ALL")));
    pass_if(profile("seccompProfile") || profile("appArmorProfile") || selinux || (drops && !adds_all))
}

//! Loading rule files: targets, and the formats of other tools' releases.

use super::*;

#[test]
fn bare_kinds_are_kind_targets_and_pod_is_the_pod_object() {
    let kind = |group: &str, kind: &str| Target::Kind { group: group.into(), kind: kind.into() };
    assert_eq!(Target::parse("StatefulSet"), Ok(kind("apps", "StatefulSet")));
    assert_eq!(Target::parse("Pod"), Ok(kind("", "Pod")));
    assert_eq!(Target::parse("apps/Deployment"), Ok(kind("apps", "Deployment")));
    assert_eq!(Target::parse("PodSpec"), Ok(Target::PodSpec));
    assert_eq!(Target::parse_schema_target("Pod"), Ok(Target::PodSpec), "schemaTarget: Pod is the pod spec");
    let typo = Target::parse("Deploymnt").unwrap_err();
    assert!(typo.contains("unknown target `Deploymnt`"), "{typo}");
}

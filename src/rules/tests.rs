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

fn load(files: &[(&str, &str)]) -> RuleSet {
    let mut sources: Vec<(String, String, bool)> =
        BUILTIN_FILES.iter().map(|(name, text)| ((*name).to_string(), (*text).to_string(), true)).collect();
    sources.extend(files.iter().map(|(name, text)| ((*name).to_string(), (*text).to_string(), false)));
    RuleSet::from_sources(&sources).expect("loads")
}

#[test]
fn renamed_polaris_ids_are_aliases_of_ours() {
    let set = load(&[]);
    for (old, new) in compat::REDIRECTS {
        assert!(set.rules.iter().all(|r| r.id != *old), "{old} is one of our ids");
        assert_eq!(set.get(old).map(|r| r.id.as_str()), Some(*new), "{old}");
    }
    for id in compat::NOT_IMPLEMENTED {
        assert!(set.get(id).is_none(), "{id} is implemented: drop it from NOT_IMPLEMENTED");
    }
}

#[test]
fn container_include_selects_container_types_as_in_polaris() {
    let set = load(&[(
        "include.yaml",
        "customChecks:\n  initOnly:\n    failureMessage: x\n    target: Container\n    containers: {include: [initContainer]}\n    schema: {type: object}\n",
    )]);
    let rule = set.get("initOnly").expect("defined");
    assert!(rule.skip_containers && !rule.skip_init_containers);
}

#[test]
fn polaris_can_disallow_exemptions() {
    let annotations = load(&[("a.yaml", "disallowAnnotationExemptions: true\n")]);
    assert!(annotations.annotation_exemptions_disallowed);
    assert!(!annotations.exemptions.is_empty(), "config exemptions still apply");
    let config = load(&[("c.yaml", "disallowConfigExemptions: true\n")]);
    assert!(!config.annotation_exemptions_disallowed && config.exemptions.is_empty());
    let all = load(&[("e.yaml", "disallowExemptions: true\n")]);
    assert!(all.annotation_exemptions_disallowed && all.exemptions.is_empty());
}

#[test]
fn kubeeye_v01_check_files_are_named_by_the_file() {
    let set = load(&[
        (
            "checks/priorityClassNotSet.yaml",
            "promptMessage: Priority class should be set\ncategory: Security\ntarget: Pod\nschema:\n  type: object\n  required: [priorityClassName]\n",
        ),
        (
            "checks/hostAliasesSet.yaml",
            "promptMessage: Host aliases should not be set\ncategory: Networking\ntarget: Pod\nschema:\n  type: object\n  required:\n  not: {required: [hostAliases]}\n",
        ),
    ]);
    let replaced = set.get("priorityClassNotSet").expect("replaces the built-in");
    assert_eq!(replaced.target, Target::PodSpec, "v0.1's `Pod` is the pod spec");
    assert_eq!(replaced.failure_message, "Priority class should be set");
    assert!(matches!(replaced.logic, Logic::Schema(_, Polarity::ReportInvalid)), "the schema describes compliance");
    assert_eq!(replaced.severity, Some(Severity::Warning), "keeps the built-in's severity");
    let new = set.get("hostAliasesSet").expect("a new check");
    assert_eq!(new.severity, Some(Severity::Warning), "a check file on its own is meant to run");
}

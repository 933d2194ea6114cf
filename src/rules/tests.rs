//! Loading rule files: targets, and the formats of other tools' releases.

use super::*;
use host::HostKind;

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

fn load_err(files: &[(&str, &str)]) -> String {
    let sources: Vec<(String, String, bool)> =
        files.iter().map(|(name, text)| ((*name).to_string(), (*text).to_string(), false)).collect();
    RuleSet::from_sources(&sources).map(|_| ()).expect_err("a load error").to_string()
}

const INSPECT_RULE: &str = r#"apiVersion: kubeeye.kubesphere.io/v1alpha2
kind: InspectRule
metadata: {name: prometheus-sample}
spec:
  prometheusEndpoint: http://prometheus.monitoring.svc:9090
  prometheus:
    - name: NodeClockSkewDetected
      rule: node_timex_offset_seconds > 0.05
      desc: Clock skew detected.
    - name: KubeCPUOvercommit
      rule: sum(kube_pod_container_resource_requests{resource="cpu"}) > sum(kube_node_status_allocatable{resource="cpu"})
      level: danger
    - name: quiet
      rule: up == 0
      level: ignore
"#;

#[test]
fn kubeeye_inspect_rules_load_as_promql_rules() {
    let set = load(&[("inspect.yaml", INSPECT_RULE)]);
    let skew = set.get("NodeClockSkewDetected").expect("loaded");
    assert_eq!(skew.target, Target::Prometheus);
    assert_eq!(skew.severity, Some(Severity::Warning), "no level: warning");
    assert_eq!(skew.failure_message, "Clock skew detected.");
    let Logic::Prometheus(q) = &skew.logic else { panic!("a PromQL rule") };
    assert_eq!(q.query, "node_timex_offset_seconds > 0.05");
    assert_eq!(q.endpoint.as_deref(), Some("http://prometheus.monitoring.svc:9090"));
    let overcommit = set.get("KubeCPUOvercommit").expect("loaded");
    assert_eq!(overcommit.severity, Some(Severity::Danger));
    assert_eq!(overcommit.failure_message, "KubeCPUOvercommit", "no desc: the name");
    assert_eq!(set.get("quiet").and_then(|r| r.severity), None, "level: ignore disables");
    assert!(set.needs().prometheus);
    assert_eq!(set.prometheus_queries().count(), 2);
    assert!(!load(&[]).needs().prometheus, "no PromQL rule, no Prometheus");
}

#[test]
fn inspect_rule_mistakes_name_the_file_rule_and_field() {
    let with = |spec: &str| {
        format!("apiVersion: kubeeye.kubesphere.io/v1alpha2\nkind: InspectRule\nmetadata: {{name: r}}\nspec:\n{spec}")
    };
    let e = load_err(&[("a.yaml", &with("  prometheus:\n    - {name: x, desc: no query}\n"))]);
    assert_eq!(e, "a.yaml: rule `x`: no `rule` (the PromQL query)");
    let e = load_err(&[("a.yaml", &with("  prometheus:\n    - {name: x, rule: up, level: critical}\n"))]);
    assert!(e.contains("rule `x`: level `critical` is not one of danger, warning, info, ignore"), "{e}");
    let e = load_err(&[("a.yaml", &with("  prometheus:\n    - {rule: up}\n"))]);
    assert!(e.contains("rule `spec.prometheus[0]`: no `name`"), "{e}");
    let e = load_err(&[("a.yaml", &with("  promethus: []\n"))]);
    assert!(e.contains("InspectRule `r`: unknown section `spec.promethus`"), "{e}");
    let e = load_err(&[("a.yaml", &with("  prometheusEndpoint: prometheus:9090\n  prometheus: []\n"))]);
    assert!(e.contains("spec.prometheusEndpoint: `prometheus:9090` is not an http(s) URL"), "{e}");
    let e = load_err(&[("a.yaml", &with("  prometheus:\n    - {name: x, rule: up}\n    - {name: x, rule: up}\n"))]);
    assert!(e.contains("two rules named `x`"), "{e}");
    let plan = "apiVersion: kubeeye.kubesphere.io/v1alpha2\nkind: InspectPlan\nmetadata: {name: p}\nspec: {}\n";
    assert!(load_err(&[("plan.yaml", plan)]).contains("a KubeEye `InspectPlan` is not a rule file"));
    // Host sections load as host rules, named as KubeEye names them (dots included).
    let host = with(
        "  sysctl:\n    - {name: vm.swappiness, rule: vm.swappiness=0, level: danger, nodeSelector: {role: db}}\n  \
         systemd:\n    - {name: kubelet, rule: 'kubelet == \"active\"'}\n  \
         fileChange:\n    - {name: kubelet-config, path: /var/lib/kubelet/config.yaml, desc: kubelet config changed}\n  \
         fileFilter:\n    - {name: syslog-errors, path: /var/log/syslog, rule: 'error|fail'}\n  \
         nodeInfo:\n    - {name: root-disk, rule: filesystem > 80, resourcesType: filesystem, mount: /}\n",
    );
    let set = load(&[("host.yaml", &host)]);
    assert_eq!(set.rules.len(), load(&[]).rules.len() + 5);
    let swappiness = set.get("vm.swappiness").expect("loaded");
    assert_eq!(swappiness.severity, Some(Severity::Danger));
    assert_eq!(swappiness.needs(), Needs { node_checks: true, ..Needs::default() });
    let Logic::Host(h) = &swappiness.logic else { panic!("a host rule") };
    assert_eq!((h.kind, h.expr.as_ref().map(ToString::to_string)), (HostKind::Sysctl, Some("vm.swappiness=0".into())));
    assert_eq!(h.nodes.node_selector.get("role").map(String::as_str), Some("db"));
    assert_eq!(set.host_rules().count(), 5);
    assert_eq!(set.get("kubelet-config").map(|r| r.failure_message.as_str()), Some("kubelet config changed"));
    let e = load_err(&[("a.yaml", &with("  sysctl:\n    - {name: bad, rule: vm.swappiness = = 0}\n"))]);
    assert!(e.starts_with("a.yaml: rule `bad`: rule `vm.swappiness = = 0` does not parse at column 17"), "{e}");
    let e = load_err(&[("a.yaml", &with("  fileChange:\n    - {name: f, path: /etc/x, command: ls}\n"))]);
    assert!(e.contains("rule `f`: unknown field `command`"), "{e}");
}

#[test]
fn custom_commands_need_the_config_and_the_allowlist() {
    let file = "customChecks:\n  uptime:\n    target: Host\n    host: customCommand\n    command: uptime -p\n    severity: info\n";
    let set = load(&[("cmd.yaml", file)]);
    let mut settings = crate::config::NodeCheckSettings::default();
    let e = set.check_node_checks(&settings).unwrap_err().to_string();
    assert!(e.starts_with("cmd.yaml: rule `uptime`: customCommand `uptime -p` runs as root"), "{e}");
    assert!(e.contains("allowCustomCommands: true"), "{e}");
    settings.allow_custom_commands = true;
    let e = set.check_node_checks(&settings).unwrap_err().to_string();
    assert!(e.contains("is not on `nodeChecks.commandAllowlist`"), "{e}");
    settings.command_allowlist = vec!["uptime".into()];
    assert!(set.check_node_checks(&settings).is_err(), "the command must match verbatim");
    settings.command_allowlist.push("uptime -p".into());
    assert!(set.check_node_checks(&settings).is_ok());
    // A disabled rule runs nowhere, so it needs no permission.
    let off = load(&[("cmd.yaml", &file.replace("severity: info", "severity: ignore"))]);
    assert!(off.check_node_checks(&crate::config::NodeCheckSettings::default()).is_ok());
}

#[test]
fn promql_rule_fields_are_checked_at_load() {
    let rule = |body: &str| format!("customChecks:\n  r:\n    target: Prometheus\n    severity: warning\n{body}");
    let e = load_err(&[("p.yaml", &rule(""))]);
    assert_eq!(e, "p.yaml: rule `r`: target `Prometheus` needs a `query` (PromQL)");
    let e = load_err(&[("p.yaml", &rule("    query: up\n    promptMessage: '{{ $labels }} down'\n"))]);
    assert!(e.contains("unknown placeholder `{{ $labels }}`"), "{e}");
    let e = load_err(&[("p.yaml", &rule("    query: up\n    object: Deployment\n"))]);
    assert!(e.contains("object: unknown value `Deployment`"), "{e}");
    let e = load_err(&[("p.yaml", &rule("    query: up\n    endpoint: ftp://x\n"))]);
    assert!(e.contains("endpoint: `ftp://x` is not an http(s) URL"), "{e}");
    let e = load_err(&[("p.yaml", "customChecks:\n  r: {target: Container, query: up, schema: {}}\n")]);
    assert!(e.contains("`query`, `endpoint` and `object` apply to target Prometheus"), "{e}");
    let set = load(&[("p.yaml", &rule("    query: up == 0\n"))]);
    let r = set.get("r").expect("loaded");
    assert_eq!(r.failure_message, "the query returned {{ $value }}");
    assert_eq!(r.needs(), Needs { prometheus: true, ..Needs::default() });
}

#[test]
fn kubeeye_service_connect_sets_service_without_endpoints() {
    let file = |level: &str| {
        format!(
            "apiVersion: kubeeye.kubesphere.io/v1alpha2\nkind: InspectRule\nmetadata: {{name: services-connect}}\nspec:\n  serviceConnect:\n    - workSpaces: system-workspace\n      level: {level}\n"
        )
    };
    let danger = load(&[("connect.yaml", &file("danger"))]);
    assert_eq!(danger.get("ServiceWithoutEndpoints").and_then(|r| r.severity), Some(Severity::Danger));
    assert_eq!(danger.get("ServiceNotAnswering").and_then(|r| r.severity), Some(Severity::Danger));
    let off = load(&[("connect.yaml", &file("ignore"))]);
    assert_eq!(off.get("ServiceWithoutEndpoints").and_then(|r| r.severity), None);
    assert_eq!(off.get("ServiceNotAnswering").and_then(|r| r.severity), None);
    assert!(load_err(&[("connect.yaml", &file("loud"))]).contains("spec.serviceConnect: level `loud`"));
}

#[test]
fn rego_rules_see_every_kind_collected() {
    let module =
        "package p\n\ndeny[msg] {\n    input.Object.kind == \"ConfigMap\"\n    msg := {\"Message\": \"x\"}\n}\n";
    let set = load(&[("cm.rego", module)]);
    let rule = set.get("cm").expect("loaded from the file name");
    assert_eq!(rule.target, Target::Rego);
    assert_eq!(rule.severity, Some(Severity::Warning), "KubeEye ran every module it was given");
    assert!(rule.needs().streamed_kinds.contains("ConfigMap"));
}

#[test]
fn inspect_rule_files_of_several_documents_load_and_errors_name_the_document() {
    let doc = |name: &str, rule: &str, query: &str| {
        format!(
            "apiVersion: kubeeye.kubesphere.io/v1alpha2\nkind: InspectRule\nmetadata: {{name: {name}}}\nspec:\n  prometheusEndpoint: http://prometheus:9090\n  prometheus:\n    - name: {rule}\n      rule: {query}\n      desc: {rule} fired\n      level: danger\n"
        )
    };
    let connect = "apiVersion: kubeeye.kubesphere.io/v1alpha2\nkind: InspectRule\nmetadata: {name: connect}\nspec:\n  serviceConnect:\n    - level: warning\n";
    let text = format!(
        "---\n{}---\n{}---\n{connect}",
        doc("nodes", "clockSkew", "up == 0"),
        doc("pods", "podsWaiting", "up == 1")
    );
    let set = load(&[("kubeeye.yaml", &text)]);
    assert_eq!(set.get("clockSkew").and_then(|r| r.severity), Some(Severity::Danger));
    assert_eq!(set.get("podsWaiting").and_then(|r| r.severity), Some(Severity::Danger));
    assert_eq!(set.get("ServiceNotAnswering").and_then(|r| r.severity), Some(Severity::Warning));

    let broken = format!(
        "{}---\n{}",
        doc("nodes", "clockSkew", "up == 0"),
        doc("pods", "podsWaiting", "up").replace("danger", "loud")
    );
    let e = load_err(&[("kubeeye.yaml", &broken)]);
    assert!(e.starts_with("kubeeye.yaml: rule `podsWaiting`: document 2: ") && e.contains("loud"), "{e}");
    let twice = format!("{}---\n{}", doc("a", "clockSkew", "up == 0"), doc("b", "clockSkew", "up == 1"));
    let e = load_err(&[("kubeeye.yaml", &twice)]);
    assert!(e.contains("document 2: already defined in document 1"), "{e}");
    let mixed = format!("{}---\ncustomChecks: {{}}\n", doc("a", "clockSkew", "up == 0"));
    assert!(load_err(&[("kubeeye.yaml", &mixed)]).contains("document 2 is not a KubeEye InspectRule"));
    let bad_yaml = format!("{}---\nspec: [unclosed\n", doc("a", "clockSkew", "up == 0"));
    let e = load_err(&[("kubeeye.yaml", &bad_yaml)]);
    assert!(e.starts_with("kubeeye.yaml: document 2: "), "{e}");
}

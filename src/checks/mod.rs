//! Checks: pure functions from an inventory and rules to findings. No I/O here.

pub mod code;
pub mod exempt;
pub mod index;
pub mod schema;
pub mod selector;
pub mod sensitive;
pub mod workload;

use serde_json::Value;

use crate::inventory::{Inventory, Object, ObjectRef};
use crate::report::{Finding, Severity};
use crate::rules::{Logic, Polarity, Rule, RuleSet, Target};
use index::Index;
use workload::Workload;

/// What one rule concluded about one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The subject complies.
    Pass,
    /// It does not; an optional message more specific than the rule's.
    Fail(Option<String>),
    /// The rule does not apply to this subject.
    Skip,
}

/// What a rule looks at.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A workload, at controller, pod-spec or pod-template level.
    Workload(&'a Workload<'a>),
    /// One container of a workload.
    Container(&'a Workload<'a>, &'a ContainerRef<'a>),
    /// Any object (for `group/Kind` targets).
    Object(&'a Object),
}

/// One container as the rules see it.
#[derive(Debug, Clone, Copy)]
pub struct ContainerRef<'a> {
    /// The container as written.
    pub raw: &'a Value,
    /// The container with the pod-level securityContext filled in under its own.
    pub effective: &'a Value,
    /// Whether it is an init container.
    pub init: bool,
}

/// Findings plus how many evaluations passed (for the score).
#[derive(Debug, Default)]
pub struct Evaluation {
    /// Failed evaluations, one finding each.
    pub findings: Vec<Finding>,
    /// Passed evaluations.
    pub passed: usize,
}

/// Evaluates every enabled rule on the inventory.
pub fn evaluate(inventory: &Inventory, rules: &RuleSet) -> Evaluation {
    let mut index = Index::build(inventory);
    index.allowed_registries.clone_from(&rules.allowed_registries);
    let mut eval = Evaluation::default();
    let enabled: Vec<&Rule> = rules.enabled().collect();
    let (workload_rules, kind_rules): (Vec<&Rule>, Vec<&Rule>) =
        enabled.into_iter().partition(|r| r.target.is_workload());
    let (container_rules, pod_rules): (Vec<&Rule>, Vec<&Rule>) =
        workload_rules.into_iter().partition(|r| r.target == Target::Container);
    for w in workload::workloads(inventory) {
        let annotations =
            [w.object.metadata().get("annotations"), w.pod_template.get("metadata").and_then(|m| m.get("annotations"))];
        for rule in pod_rules.iter().filter(|r| r.controllers.selects(w.kind())) {
            if !exempt::is_exempt(rule, &w.id, None, &annotations, &rules.exemptions) {
                let outcome = run(rule, Subject::Workload(&w), &index);
                record(rule, outcome, &w.id, None, &mut eval);
            }
        }
        for (raw, init) in w.containers() {
            // Merged once per container, shared by every rule that inherits the pod's securityContext.
            let merged = with_pod_security_context(raw, w.pod_spec);
            let container = ContainerRef { raw, effective: merged.as_ref().unwrap_or(raw), init };
            let name = raw.get("name").and_then(Value::as_str);
            for rule in container_rules.iter().filter(|r| r.controllers.selects(w.kind())) {
                if (init && rule.skip_init_containers) || (!init && rule.skip_containers) {
                    continue;
                }
                if exempt::is_exempt(rule, &w.id, name, &annotations, &rules.exemptions) {
                    continue;
                }
                let outcome = run(rule, Subject::Container(&w, &container), &index);
                record(rule, outcome, &w.id, name, &mut eval);
            }
        }
    }
    for object in &inventory.objects {
        for rule in kind_rules.iter().filter(|r| targets_object(&r.target, object)) {
            if exempt::is_exempt(rule, &object.id, None, &[object.metadata().get("annotations")], &rules.exemptions) {
                continue;
            }
            let outcome = run(rule, Subject::Object(object), &index);
            record(rule, outcome, &object.id, None, &mut eval);
        }
    }
    crate::report::sort_findings(&mut eval.findings);
    eval
}

fn targets_object(target: &Target, object: &Object) -> bool {
    matches!(target, Target::Kind { group, kind } if *kind == object.id.kind && *group == object.id.group)
}

/// Runs one rule on one subject.
pub fn run(rule: &Rule, subject: Subject<'_>, index: &Index<'_>) -> Outcome {
    match &rule.logic {
        Logic::Code(check) => check.run(subject, index),
        Logic::Schema(schema, polarity) => {
            let level = rule.schema_target.as_ref().unwrap_or(&rule.target);
            let Some(instance) = instance_for(level, subject) else { return Outcome::Skip };
            let instance = match subject {
                Subject::Container(_, c) if rule.inherit_pod_security_context && *level == Target::Container => {
                    c.effective
                }
                _ => instance,
            };
            let valid = schema.is_valid(instance, || context_for(subject));
            let reported = match polarity {
                Polarity::ReportInvalid => !valid,
                Polarity::ReportValid => valid,
            };
            if reported { Outcome::Fail(None) } else { Outcome::Pass }
        }
    }
}

/// The container with pod-level securityContext fields it does not set itself;
/// `None` when the pod sets none (the container is used as it is).
fn with_pod_security_context(container: &Value, pod_spec: &Value) -> Option<Value> {
    let pod = pod_spec.get("securityContext")?.as_object().filter(|m| !m.is_empty())?;
    let mut merged = container.clone();
    let obj = merged.as_object_mut()?;
    let sc = obj.entry("securityContext").or_insert_with(|| Value::Object(Default::default()));
    if !sc.is_object() {
        *sc = Value::Object(Default::default());
    }
    let sc = sc.as_object_mut()?;
    for (k, v) in pod {
        sc.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Some(merged)
}

/// The value a schema validates for a subject at a given level.
fn instance_for<'a>(level: &Target, subject: Subject<'a>) -> Option<&'a Value> {
    match (level, subject) {
        (Target::Container, Subject::Container(_, c)) => Some(c.raw),
        (Target::PodSpec, Subject::Workload(w) | Subject::Container(w, _)) => Some(w.pod_spec),
        (Target::PodTemplate, Subject::Workload(w) | Subject::Container(w, _)) => Some(w.pod_template),
        (Target::Controller, Subject::Workload(w) | Subject::Container(w, _)) => Some(&w.object.raw),
        (Target::Kind { .. }, Subject::Object(o)) => Some(&o.raw),
        _ => None,
    }
}

fn context_for(subject: Subject<'_>) -> Value {
    match subject {
        Subject::Object(o) => schema::template_context(&o.raw, None, None, None),
        Subject::Workload(w) => {
            schema::template_context(&w.object.raw, Some(w.pod_spec), Some(w.pod_template), Some(&w.object.raw))
        }
        Subject::Container(w, c) => {
            schema::template_context(c.raw, Some(w.pod_spec), Some(w.pod_template), Some(&w.object.raw))
        }
    }
}

fn record(rule: &Rule, outcome: Outcome, id: &ObjectRef, container: Option<&str>, eval: &mut Evaluation) {
    let severity = rule.severity.unwrap_or(Severity::Warning);
    match outcome {
        Outcome::Skip => {}
        Outcome::Pass => eval.passed += 1,
        Outcome::Fail(message) => eval.findings.push(Finding {
            rule: rule.id.clone(),
            severity,
            category: rule.category.clone(),
            section: section_of(rule).into(),
            kind: id.kind.clone(),
            namespace: id.namespace.clone(),
            name: id.name.clone(),
            container: container.map(str::to_string),
            message: message.unwrap_or_else(|| rule.failure_message.clone()),
            remediation: rule.remediation.clone(),
            fingerprint: Finding::fingerprint_of(&rule.id, &id.kind, id.namespace.as_deref(), &id.name, container),
        }),
    }
}

/// The report section a rule's findings belong to.
pub fn section_of(rule: &Rule) -> &'static str {
    match &rule.target {
        Target::Kind { group, .. } if group == "rbac.authorization.k8s.io" => "rbac",
        _ => "workloads",
    }
}

/// A one-object inventory evaluation, for `ke rules explain` examples and tests.
pub fn evaluate_values(values: Vec<Value>, rules: &RuleSet) -> Evaluation {
    let mut inventory = Inventory::default();
    for v in values {
        if let Some(o) = Object::from_value(v) {
            inventory.push(o);
        }
    }
    evaluate(&inventory, rules)
}

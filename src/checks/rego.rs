//! Rego rules on every object collected, page by page: each enabled module's
//! `deny` set for `{"Object": obj}` becomes findings, as KubeEye reported them
//! (`Name`, `Namespace`, `Type`, `Level`, `Message`). A module that fails on
//! one object is a coverage entry naming the rule and the object; each
//! evaluation has a time budget.

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::time::Duration;

use serde_json::Value;

use super::Evaluation;
use super::exempt;
use super::workload::CONTROLLER_KINDS;
use crate::inventory::{CoverageGap, Object, ObjectRef, section};
use crate::report::{Finding, Severity, Text};
use crate::rules::rego::RegoModule;
use crate::rules::{Logic, Rule, RuleSet};

/// The longest one module may take on one object.
pub const BUDGET: Duration = Duration::from_secs(1);

/// Failures listed one by one per rule before they are counted.
const GAPS_PER_RULE: usize = 10;

/// Evaluations over [`BUDGET`] after which a rule is not run on the remaining
/// objects: a module that is slow on every object would otherwise cost
/// `BUDGET` times the size of the cluster.
const OVER_BUDGET_LIMIT: usize = 3;

/// The coverage section of Rego failures.
pub const SECTION: &str = "rego";

/// One enabled module with an engine of its own.
struct Module<'r> {
    rule: &'r Rule,
    module: &'r RegoModule,
    engine: regorus::Engine,
    failures: usize,
    over_budget: usize,
}

/// Evaluates the Rego rules on the objects it is given.
#[derive(Default)]
pub struct RegoEvaluator<'r> {
    modules: Vec<Module<'r>>,
    reported: HashSet<Text>,
}

impl<'r> RegoEvaluator<'r> {
    /// Engines for the enabled Rego rules, each with the per-object budget.
    pub fn new(rules: &'r RuleSet) -> Self {
        let modules = rules
            .enabled()
            .filter_map(|rule| match &rule.logic {
                Logic::Rego(module) => {
                    let mut engine = module.engine();
                    let interval = NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN);
                    engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
                        limit: BUDGET,
                        check_interval: interval,
                    });
                    Some(Module { rule, module, engine, failures: 0, over_budget: 0 })
                }
                _ => None,
            })
            .collect();
        RegoEvaluator { modules, reported: HashSet::new() }
    }

    /// Whether no Rego rule is enabled.
    pub fn is_empty(&self) -> bool {
        self.modules.is_empty()
    }

    /// Evaluates every module on one object. `identity` is what the object
    /// is reported as: a pod of a Deployment is reported on the Deployment,
    /// like every other workload finding.
    pub fn object(&mut self, object: &Object, identity: &ObjectRef, rules: &RuleSet, eval: &mut Evaluation) {
        if self.modules.is_empty() || object.id.group == "kubeeye.io" {
            return;
        }
        let mut raw = object.raw.clone();
        if let Some(map) = raw.as_object_mut() {
            map.entry("kind").or_insert_with(|| Value::String(object.id.kind.clone()));
        }
        let input = regorus::Value::from(serde_json::json!({ "Object": raw }));
        let annotations = [object.metadata().get("annotations")];
        for m in &mut self.modules {
            if m.over_budget >= OVER_BUDGET_LIMIT {
                continue;
            }
            m.engine.set_input(input.clone());
            let denied = match m.engine.eval_rule(m.module.query.clone()) {
                Ok(v) => serde_json::to_value(&v).unwrap_or(Value::Null),
                Err(e) => {
                    let slow = over_budget(&e);
                    m.failures += 1;
                    if m.failures <= GAPS_PER_RULE {
                        let reason = if slow {
                            format!("took longer than the {}s budget for one object", BUDGET.as_secs_f64())
                        } else {
                            crate::rules::rego::clean(&e.to_string())
                        };
                        eval.gaps.push(CoverageGap::error(
                            SECTION,
                            format!("rule {} on {} {}", m.rule.id, object.id.kind, object.id.display_name()),
                            reason,
                        ));
                    }
                    if slow {
                        m.over_budget += 1;
                        if m.over_budget == OVER_BUDGET_LIMIT {
                            eval.gaps.push(CoverageGap::error(
                                SECTION,
                                format!("rule {}", m.rule.id),
                                format!(
                                    "took longer than {}s on {OVER_BUDGET_LIMIT} objects, and was not run on the objects after {} {}",
                                    BUDGET.as_secs_f64(),
                                    object.id.kind,
                                    object.id.display_name()
                                ),
                            ));
                        }
                    }
                    continue;
                }
            };
            let Value::Array(messages) = denied else { continue };
            for msg in &messages {
                let Some(finding) = finding(m.rule, m.module, msg, object, identity) else { continue };
                let id = ObjectRef {
                    group: String::new(),
                    kind: finding.kind.to_string(),
                    namespace: finding.namespace.as_deref().map(str::to_string),
                    name: finding.name.to_string(),
                };
                if exempt::is_exempt(m.rule, &id, None, &annotations, rules) {
                    continue;
                }
                if self.reported.insert(finding.fingerprint.clone()) {
                    eval.findings.push(finding);
                }
            }
        }
    }

    /// A count of the failures not listed one by one.
    pub fn finish(self, eval: &mut Evaluation) {
        for m in self.modules.iter().filter(|m| m.failures > GAPS_PER_RULE) {
            eval.gaps.push(CoverageGap::error(
                SECTION,
                format!("rule {} (more)", m.rule.id),
                format!(
                    "{} more objects on which the rule failed were not listed one by one",
                    m.failures - GAPS_PER_RULE
                ),
            ));
        }
    }
}

/// Whether an evaluation stopped at the time budget.
fn over_budget(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<regorus::utils::limits::LimitError>(),
            Some(regorus::utils::limits::LimitError::TimeLimitExceeded { .. })
        )
    })
}

/// One `deny` message as a finding; `None` for `Level: ignore`.
fn finding(rule: &Rule, module: &RegoModule, msg: &Value, object: &Object, identity: &ObjectRef) -> Option<Finding> {
    let field = |k: &str| match msg.get(k) {
        Some(Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let message = match msg {
        Value::String(s) => Some(s.clone()),
        _ => field("Message"),
    };
    let severity = match field("Level").as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("ignore") => return None,
        Some("danger") => Severity::Danger,
        Some("warning") => Severity::Warning,
        Some("info") => Severity::Info,
        _ => rule.severity.unwrap_or(Severity::Warning),
    };
    let kind = field("Type").unwrap_or_else(|| object.id.kind.clone());
    let name = field("Name").unwrap_or_else(|| object.id.name.clone());
    let namespace =
        field("Namespace").or_else(|| if msg.get("Namespace").is_some() { None } else { object.id.namespace.clone() });
    let mut reported = ObjectRef { group: String::new(), kind, namespace, name };
    let same =
        reported.kind == object.id.kind && reported.name == object.id.name && reported.namespace == object.id.namespace;
    if same {
        // The object itself: reported as what it stands for (a pod as its controller).
        if CONTROLLER_KINDS.contains(&object.id.kind.as_str()) {
            reported = identity.clone();
        } else {
            reported.group.clone_from(&object.id.group);
        }
    }
    let mut f = Finding::new(rule, section_of(&reported.kind), &reported);
    if let Some(m) = &message {
        f.message = m.into();
        if module.ids_from_message {
            f.rule = Text::interned(m);
            f.fingerprint =
                Finding::fingerprint_of(m, &reported.kind, reported.namespace.as_deref(), &reported.name, None);
        }
    }
    f.severity = severity;
    Some(f)
}

/// The report section of a finding about an object of this kind.
fn section_of(kind: &str) -> &'static str {
    match kind {
        "Node" => section::NODES,
        "Event" => section::EVENTS,
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => section::RBAC,
        _ => section::WORKLOADS,
    }
}

//! Checks: pure functions from an inventory and rules to findings. No I/O here.
//!
//! An [`Inspector`] is built on the objects the cross-object checks need
//! (controllers, nodes, PDBs, RBAC …); pods, events and container logs are
//! then fed to it page by page and dropped, so memory does not grow with the
//! cluster. [`evaluate`] does all of it for an inventory already in memory.

pub mod certs;
pub mod code;
pub mod control_plane;
pub mod events;
pub mod exempt;
pub mod health;
pub mod index;
pub mod logs;
pub mod node;
pub mod per_namespace;
pub mod pods;
pub mod prometheus;
pub mod rego;
pub mod schema;
pub mod selector;
pub mod sensitive;
pub mod verdict;
pub mod workload;

use std::collections::HashSet;

use serde_json::Value;

use crate::clock::{self, Timestamp};
use crate::config::InspectSettings;
use crate::inventory::{CoverageGap, Inventory, LogRecord, Object, ObjectRef, control_plane_component, section};
use crate::report::Finding;
use crate::rules::{Logic, Polarity, Rule, RuleSet, Target};
use control_plane::ControlPlanePod;
use health::Context;
use index::Index;
use workload::{Owners, Workload};

/// What one rule concluded about one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The subject complies.
    Pass,
    /// It does not; an optional message more specific than the rule's.
    Fail(Option<String>),
    /// The rule does not apply to this subject.
    Skip,
    /// The rule could not be evaluated on this subject (a templated schema
    /// that does not compile with its values): a coverage gap saying why,
    /// neither a pass nor a finding.
    Unjudged(String),
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

/// Findings, how many evaluations passed (for the score), and what the checks
/// found they could not judge.
#[derive(Debug, Default)]
pub struct Evaluation {
    /// Failed evaluations, one finding each.
    pub findings: Vec<Finding>,
    /// Passed evaluations.
    pub passed: usize,
    /// Sources the checks needed and the inventory lacks.
    pub gaps: Vec<CoverageGap>,
    /// Objects exemptions took out of rules.
    pub exempted: exempt::Exempted,
    /// What the host rules came to on the nodes (set by a live inspection
    /// that has host rules); `None` otherwise.
    pub node_checks: Option<crate::report::NodeChecks>,
    /// The files fileChange host rules watch, as the nodes saw them (the report's `nodeFiles`).
    pub node_files: crate::report::NodeFiles,
}

/// Evaluates every enabled rule on an inventory held in memory, with default settings.
pub fn evaluate(inventory: &Inventory, rules: &RuleSet) -> Evaluation {
    evaluate_with(inventory, rules, &InspectSettings::default())
}

/// Evaluates every enabled rule on an inventory held in memory: its pods,
/// events and container logs go through the same page-by-page path as live ones.
pub fn evaluate_with(inventory: &Inventory, rules: &RuleSet, settings: &InspectSettings) -> Evaluation {
    let mut inspector = Inspector::new(inventory, rules, settings);
    for object in inventory.objects.iter().filter(|o| o.id.group.is_empty()) {
        match object.id.kind.as_str() {
            "Pod" => inspector.pod(object),
            "Event" => inspector.event(object),
            _ => {}
        }
    }
    for log in inventory.objects.iter().filter(|o| o.id.kind == "ContainerLog" && o.id.group == "kubeeye.io") {
        let field = |k: &str| log.raw.get(k).and_then(Value::as_str).unwrap_or_default();
        let namespace = log.id.namespace.as_deref().unwrap_or_default();
        inspector.log(&LogRecord { namespace, pod: field("pod"), container: field("container"), text: field("log") });
    }
    inspector.finish()
}

/// Page-by-page evaluation. Build it on the kept inventory (everything but
/// pods and events), feed it pods, events and logs in any order, then
/// [`finish`](Inspector::finish). Objects that arrive late (node metrics,
/// health answers) are added by [`suspend`](Inspector::suspend)ing, extending
/// the inventory, and [`resume`](Inspector::resume)ing.
pub struct Inspector<'i, 'r> {
    inventory: &'i Inventory,
    index: Index<'i>,
    owners: Owners<'i>,
    state: State<'r>,
}

/// What an [`Inspector`] has accumulated, without the inventory it borrows.
pub struct State<'r> {
    rules: &'r RuleSet,
    settings: &'r InspectSettings,
    now: Timestamp,
    pod_rules: Vec<&'r Rule>,
    container_rules: Vec<&'r Rule>,
    kind_rules: Vec<&'r Rule>,
    log_rules: Vec<&'r Rule>,
    stand_ins: HashSet<ObjectRef>,
    eval: Evaluation,
    pods: pods::PodTracker,
    events: events::EventTracker<'r>,
    logs: logs::LogTracker,
    prometheus: prometheus::PromTracker<'r>,
    rego: rego::RegoEvaluator<'r>,
    control_plane: Vec<ControlPlanePod>,
    npd_pods: bool,
    evaluated: usize,
}

impl<'i, 'r> Inspector<'i, 'r> {
    /// Evaluates the kept objects (controllers, RBAC, PDBs …) right away.
    pub fn new(inventory: &'i Inventory, rules: &'r RuleSet, settings: &'r InspectSettings) -> Self {
        Self::resume(inventory, Self::fresh(inventory, rules, settings))
    }

    /// An inspector that evaluates nothing up front: the kept objects too are
    /// fed to it through [`objects`](Inspector::objects), in the order they
    /// were read among the others (a snapshot evaluated as it is read). Fed
    /// every object but pods and events in that order, then pods and events,
    /// it evaluates as [`evaluate_with`] does on the whole inventory.
    pub fn in_file_order(inventory: &'i Inventory, rules: &'r RuleSet, settings: &'r InspectSettings) -> Self {
        let mut state = Self::fresh(inventory, rules, settings);
        state.evaluated = inventory.objects.len();
        Self::resume(inventory, state)
    }

    fn fresh(inventory: &Inventory, rules: &'r RuleSet, settings: &'r InspectSettings) -> State<'r> {
        let enabled: Vec<&Rule> = rules.enabled().collect();
        let by = |f: &dyn Fn(&Rule) -> bool| enabled.iter().copied().filter(|r| f(r)).collect::<Vec<_>>();
        let pattern = |r: &Rule, t: Target| r.target == t && matches!(r.logic, Logic::Pattern(_));
        let now = inventory.collected_at.as_deref().and_then(clock::parse).unwrap_or_else(clock::now);
        State {
            rules,
            settings,
            now,
            pod_rules: by(&|r| r.target.is_workload() && r.target != Target::Container),
            container_rules: by(&|r| r.target == Target::Container),
            kind_rules: by(&|r| matches!(r.target, Target::Kind { .. })),
            log_rules: by(&|r| pattern(r, Target::ContainerLog)),
            events: events::EventTracker::new(by(&|r| pattern(r, Target::Event)), rules),
            stand_ins: HashSet::new(),
            eval: Evaluation::default(),
            pods: pods::PodTracker::default(),
            logs: logs::LogTracker::default(),
            prometheus: prometheus::PromTracker::new(rules, &inventory.series),
            rego: rego::RegoEvaluator::new(rules),
            control_plane: Vec::new(),
            npd_pods: false,
            evaluated: 0,
        }
    }

    /// Continues on an inventory that grew since [`suspend`](Inspector::suspend):
    /// objects added since are evaluated, those already seen are not.
    pub fn resume(inventory: &'i Inventory, state: State<'r>) -> Self {
        let mut index = Index::build(inventory);
        index.allowed_registries.clone_from(&state.rules.allowed_registries);
        let mut inspector = Inspector { inventory, index, owners: Owners::new(inventory), state };
        let start = inspector.state.evaluated.min(inventory.objects.len());
        for object in &inventory.objects[start..] {
            if object.id.group.is_empty() && matches!(object.id.kind.as_str(), "Pod" | "Event") {
                continue;
            }
            inspector.workload_rules(object);
            inspector.object_rules(object);
        }
        inspector.state.evaluated = inventory.objects.len();
        inspector
    }

    /// Releases the inventory so it can grow; [`resume`](Inspector::resume) continues.
    pub fn suspend(self) -> State<'r> {
        self.state
    }

    fn context(&self) -> Context<'_> {
        let s = &self.state;
        Context { inventory: self.inventory, index: &self.index, rules: s.rules, settings: s.settings, now: s.now }
    }

    /// Takes one pod: workload rules when it has no controller in the inventory,
    /// its status, and control-plane readiness.
    pub fn pod(&mut self, pod: &Object) {
        self.workload_rules(pod);
        self.object_rules(pod);
        let s = &mut self.state;
        let ctx =
            Context { inventory: self.inventory, index: &self.index, rules: s.rules, settings: s.settings, now: s.now };
        s.pods.add(&ctx, pod);
        s.prometheus.pod(pod);
        if pod.id.name.starts_with("node-problem-detector") {
            s.npd_pods = true;
        }
        if pod.id.namespace.as_deref() == Some("kube-system")
            && let Some(component) = control_plane_component(&pod.raw)
        {
            s.control_plane.push(control_plane::control_plane_pod(&pod.raw, component));
        }
    }

    /// Takes a page of pods.
    pub fn pods(&mut self, pods: &[Object]) {
        for pod in pods {
            self.pod(pod);
        }
    }

    /// Takes one event.
    pub fn event(&mut self, event: &Object) {
        self.events(std::slice::from_ref(event));
    }

    /// Takes a page of events.
    pub fn events(&mut self, events: &[Object]) {
        for event in events {
            self.object_rules(event);
        }
        let s = &mut self.state;
        let ctx =
            Context { inventory: self.inventory, index: &self.index, rules: s.rules, settings: s.settings, now: s.now };
        s.events.add(&ctx, events);
    }

    /// Takes a page of objects that are evaluated and dropped, not kept (config maps).
    pub fn objects(&mut self, objects: &[Object]) {
        for object in objects {
            self.workload_rules(object);
            self.object_rules(object);
        }
    }

    /// Takes the tail of one container's log.
    pub fn log(&mut self, log: &LogRecord<'_>) {
        let s = &mut self.state;
        let ctx =
            Context { inventory: self.inventory, index: &self.index, rules: s.rules, settings: s.settings, now: s.now };
        s.logs.check(&ctx, &s.log_rules, log, &mut s.eval);
    }

    /// Runs the checks that need everything seen, and returns the evaluation.
    pub fn finish(mut self) -> Evaluation {
        let mut eval = std::mem::take(&mut self.state.eval);
        let mut npd = std::mem::take(&mut self.state.events.nodes);
        npd.seen_npd |= self.state.npd_pods;
        let ctx = self.context();
        control_plane::check(&ctx, &self.state.control_plane, &mut eval);
        certs::check(&ctx, &mut eval);
        node::check(&ctx, &npd, &mut eval);
        self.state.events.finish(&ctx, &mut eval, &self.state.pods.reported_pods, &self.state.pods.controllers);
        self.state.pods.finish(&ctx, &mut eval);
        self.state.logs.finish(&ctx, &self.state.log_rules, &self.state.pods.controllers, &mut eval);
        std::mem::take(&mut self.state.prometheus).finish(self.state.rules, &mut eval);
        std::mem::take(&mut self.state.rego).finish(&mut eval);
        per_namespace::group(&mut eval.findings, self.state.rules);
        locate(self.inventory, &mut eval.findings);
        crate::report::sort_findings(&mut eval.findings);
        // The vector grew by doubling: up to half of it is spare room the
        // report would carry to the end of the run (a fifth of the findings' memory).
        eval.findings.shrink_to_fit();
        eval
    }

    fn workload_rules(&mut self, object: &Object) {
        if !workload::CONTROLLER_KINDS.contains(&object.id.kind.as_str()) {
            return;
        }
        let Some(id) = self.owners.evaluated_as(object) else { return };
        if id != object.id && !self.state.stand_ins.insert(id.clone()) {
            return;
        }
        let Some(w) = workload::workload(object, id) else { return };
        let annotations =
            [w.object.metadata().get("annotations"), w.pod_template.get("metadata").and_then(|m| m.get("annotations"))];
        let s = &mut self.state;
        let eval = &mut s.eval;
        for rule in s.pod_rules.iter().filter(|r| r.controllers.selects(w.kind())) {
            if let Some(by) = exempt::exemption(rule, &w.id, None, &annotations, s.rules) {
                eval.exempted.record(&w.id, rule, by);
                continue;
            }
            let outcome = run(rule, Subject::Workload(&w), &self.index);
            record(rule, outcome, &w.id, None, w.object, eval);
        }
        for (raw, init) in w.containers() {
            // Merged once per container, shared by every rule that inherits the pod's securityContext.
            let merged = with_pod_security_context(raw, w.pod_spec);
            let container = ContainerRef { raw, effective: merged.as_ref().unwrap_or(raw), init };
            let name = raw.get("name").and_then(Value::as_str);
            for rule in s.container_rules.iter().filter(|r| r.controllers.selects(w.kind())) {
                if (init && rule.skip_init_containers) || (!init && rule.skip_containers) {
                    continue;
                }
                if let Some(by) = exempt::exemption(rule, &w.id, name, &annotations, s.rules) {
                    eval.exempted.record(&w.id, rule, by);
                    continue;
                }
                let outcome = run(rule, Subject::Container(&w, &container), &self.index);
                record(rule, outcome, &w.id, name, w.object, eval);
            }
        }
    }

    fn object_rules(&mut self, object: &Object) {
        if !self.state.rego.is_empty() {
            let identity = match workload::CONTROLLER_KINDS.contains(&object.id.kind.as_str()) {
                true => self.owners.evaluated_as(object).unwrap_or_else(|| workload::controller_of(object)),
                false => object.id.clone(),
            };
            let s = &mut self.state;
            s.rego.object(object, &identity, s.rules, &mut s.eval);
        }
        let s = &mut self.state;
        for rule in s.kind_rules.iter().filter(|r| r.target.selects_object(&object.id.kind)) {
            if let Some(by) =
                exempt::exemption(rule, &object.id, None, &[object.metadata().get("annotations")], s.rules)
            {
                s.eval.exempted.record(&object.id, rule, by);
                continue;
            }
            let outcome = run(rule, Subject::Object(object), &self.index);
            record(rule, outcome, &object.id, None, object, &mut s.eval);
        }
    }
}

/// A small inventory of `values` evaluated, for the checks' unit tests.
#[cfg(test)]
pub(crate) fn evaluate_values(values: Vec<Value>, rules: &RuleSet) -> Evaluation {
    let mut inventory = Inventory::default();
    for v in values {
        if let Some(o) = Object::from_value(v) {
            inventory.push(o);
        }
    }
    evaluate(&inventory, rules)
}

/// Gives the findings the checks left without a source (nodes, control plane,
/// grouped events) the source of the object they name, when the inventory was
/// read from files and holds that object; pod-status findings name their
/// controller's manifest when it was read, their sample pod's otherwise. A control-plane
/// component's finding takes its leader Lease's source, else its static
/// pod's; the API server's certificate, the recorded health answers'.
fn locate(inventory: &Inventory, findings: &mut [Finding]) {
    let mut sources = std::collections::HashMap::new();
    let mut components = std::collections::HashMap::new();
    let mut health_answers = None;
    for o in &inventory.objects {
        let Some(source) = &o.source else { continue };
        let key = (o.id.kind.as_str(), o.id.namespace.as_deref(), o.id.name.as_str());
        sources.entry(key).or_insert(source);
        if o.id.kind == "APIServerHealth" {
            health_answers.get_or_insert(source);
        } else if o.id.kind == "Lease" && o.id.namespace.as_deref() == Some("kube-system") {
            components.insert(o.id.name.as_str(), source);
        } else if o.id.kind == "Pod"
            && let Some(component) = control_plane_component(&o.raw)
        {
            components.entry(component).or_insert(source);
        }
    }
    // Objects evaluated as they were read and dropped left their sources behind;
    // a component's lease wins over its pods, as above.
    let streamed = &inventory.streamed;
    for (component, source) in &streamed.components {
        components.entry(*component).or_insert(source);
    }
    if sources.is_empty() && streamed.sources.is_empty() {
        return;
    }
    // The API server's /readyz answers speak for etcd and itself when no pod or lease does.
    if let Some(source) = health_answers {
        for component in ["kube-apiserver", "etcd"] {
            components.entry(component).or_insert(source);
        }
    }
    for f in findings.iter_mut().filter(|f| f.source.is_none() || f.section == section::PODS) {
        let found = match f.kind.as_str() {
            // The serving certificate is read with the health answers.
            "Certificate" => health_answers.or_else(|| components.get(f.name.as_str()).copied()),
            "ControlPlane" => components.get(f.name.as_str()).copied(),
            _ => sources.get(&(f.kind.as_str(), f.namespace.as_deref(), f.name.as_str())).copied().or_else(|| {
                let key = (f.kind.to_string(), f.namespace.as_ref().map(|n| n.to_string()), f.name.to_string());
                streamed.sources.get(&key)
            }),
        };
        if let Some(s) = found {
            f.source = Some(s.clone());
        }
    }
}

/// Runs one rule on one subject.
pub fn run(rule: &Rule, subject: Subject<'_>, index: &Index<'_>) -> Outcome {
    match &rule.logic {
        Logic::Code(check) => check.run(subject, index),
        // Evaluated by their families on the whole inspection, not per subject.
        Logic::Health(_)
        | Logic::Node(_)
        | Logic::Pattern(_)
        | Logic::Prometheus(_)
        | Logic::Rego(_)
        | Logic::Host(_) => Outcome::Skip,
        Logic::Schema(schema, polarity) => {
            let level = rule.schema_target.as_ref().unwrap_or(&rule.target);
            let Some(instance) = instance_for(level, subject) else { return Outcome::Skip };
            let single;
            let instance = match subject {
                Subject::Container(_, c) if rule.inherit_pod_security_context && *level == Target::Container => {
                    c.effective
                }
                // As Polaris: a container rule validating the pod spec sees the pod with this container alone.
                Subject::Container(w, c) if *level == Target::PodSpec => {
                    single = pod_spec_with_only(w.pod_spec, c.raw);
                    &single
                }
                _ => instance,
            };
            let valid = match schema.validate(instance, || context_for(subject)) {
                Ok(valid) => valid,
                Err(why) => return Outcome::Unjudged(why),
            };
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

/// A copy of the pod spec whose only container is `container` (no init containers).
fn pod_spec_with_only(pod_spec: &Value, container: &Value) -> Value {
    let mut spec = pod_spec.clone();
    if let Some(map) = spec.as_object_mut() {
        map.insert("containers".into(), Value::Array(vec![container.clone()]));
        map.remove("initContainers");
    }
    spec
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
        Subject::Container(w, c) => schema::template_context_with(
            &w.object.raw,
            Some(w.pod_spec),
            Some(w.pod_template),
            Some(&w.object.raw),
            Some(c.raw),
        ),
    }
}

fn record(
    rule: &Rule,
    outcome: Outcome,
    id: &ObjectRef,
    container: Option<&str>,
    object: &Object,
    eval: &mut Evaluation,
) {
    match outcome {
        Outcome::Skip => {}
        Outcome::Pass => eval.passed += 1,
        Outcome::Unjudged(why) => {
            let object = match container {
                Some(c) => format!("{} {} container {c}", id.kind, id.display_name()),
                None => format!("{} {}", id.kind, id.display_name()),
            };
            let resource = format!("rule {} on {object}", rule.id);
            // The reason may quote a pattern filled from the object: a few hundred characters say enough.
            let why = crate::text::truncate(&why, 500);
            eval.gaps.push(CoverageGap::error(
                section_of(rule),
                resource,
                format!("{why} (rule from {})", rule.origin),
            ));
        }
        Outcome::Fail(message) => {
            let mut f = Finding::new(rule, section_of(rule), id)
                .with_container(container)
                .at(object.source.as_ref(), object.distinction().as_deref());
            if let Some(m) = message {
                f.message = m.into();
            }
            eval.findings.push(f);
        }
    }
}

/// The report section a rule's findings belong to.
pub fn section_of(rule: &Rule) -> &'static str {
    match &rule.target {
        Target::Kind { group, .. } if group == "rbac.authorization.k8s.io" => section::RBAC,
        Target::Node => section::NODES,
        Target::Cluster => section::CONTROL_PLANE,
        Target::Event => section::EVENTS,
        Target::PodStatus => section::PODS,
        Target::ContainerLog => section::LOGS,
        _ => section::WORKLOADS,
    }
}

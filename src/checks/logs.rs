//! Container logs against the `ContainerLog` pattern rules. Logs are checked
//! as they arrive and dropped; only the hits are kept. Hits are reported once
//! per rule, controller and container, with the number of pods, the number
//! of matching lines and one sample, like the pod-status findings: forty
//! replicas logging the same error are one finding, and its fingerprint
//! (rule, controller, container) survives a rollout's new pod names. A pod
//! without a controller is reported as itself.

use std::collections::BTreeMap;

use super::Evaluation;
use super::events::PodControllers;
use super::health::{Context, emit};
use crate::inventory::{LogRecord, ObjectRef, section};
use crate::report::Finding;
use crate::rules::{Logic, Rule};
use crate::text::secrets;
use crate::text::truncate;

/// One rule's hits in one pod's container.
#[derive(Debug)]
struct Hit {
    lines: u64,
    sample: String,
}

/// Accumulates log hits; [`finish`](LogTracker::finish) groups them by controller.
#[derive(Debug, Default)]
pub struct LogTracker {
    /// By rule index, namespace, pod and container.
    hits: BTreeMap<(usize, String, String, String), Hit>,
}

impl LogTracker {
    /// Checks one log with every enabled `ContainerLog` rule.
    pub fn check(&mut self, ctx: &Context<'_>, rules: &[&Rule], log: &LogRecord<'_>, eval: &mut Evaluation) {
        for (i, rule) in rules.iter().enumerate() {
            let Logic::Pattern(pattern) = &rule.logic else { continue };
            let mut lines = 0u64;
            let mut sample = None;
            for line in log.text.lines() {
                if pattern.matches(line) {
                    lines += 1;
                    sample.get_or_insert(line);
                }
            }
            let Some(sample) = sample else {
                eval.passed += 1;
                continue;
            };
            let sample = truncate(&secrets::mask(sample), ctx.settings.logs.sample_chars);
            let key = (i, log.namespace.to_string(), log.pod.to_string(), log.container.to_string());
            self.hits.insert(key, Hit { lines, sample });
        }
    }

    /// Emits one finding per rule, controller (or lone pod) and container.
    pub fn finish(&self, ctx: &Context<'_>, rules: &[&Rule], controllers: &PodControllers, eval: &mut Evaluation) {
        struct Group<'a> {
            pods: u64,
            lines: u64,
            sample_pod: &'a str,
            sample: &'a str,
        }
        let mut groups: BTreeMap<(usize, ObjectRef, &str), Group> = BTreeMap::new();
        for ((i, namespace, pod, container), hit) in &self.hits {
            let namespace = Some(namespace.clone());
            let owner = controllers.get(&(namespace.clone(), pod.clone())).cloned().unwrap_or_else(|| ObjectRef {
                group: String::new(),
                kind: "Pod".into(),
                namespace,
                name: pod.clone(),
            });
            let g = groups.entry((*i, owner, container.as_str())).or_insert(Group {
                pods: 0,
                lines: 0,
                sample_pod: pod,
                sample: &hit.sample,
            });
            g.pods += 1;
            g.lines += hit.lines;
        }
        for ((i, owner, container), g) in &groups {
            let Some(rule) = rules.get(*i) else { continue };
            let lines = if g.lines == 1 { "1 line".to_string() } else { format!("{} lines", g.lines) };
            let pods = match (owner.kind.as_str(), g.pods) {
                ("Pod", _) => String::new(),
                (_, 1) => format!(" in pod {}", g.sample_pod),
                (_, n) => format!(" in {n} pods (e.g. {})", g.sample_pod),
            };
            let mut f = Finding::new(rule, section::LOGS, owner)
                .with_container(Some(container))
                .with_message(format!("{} ({lines}{pods}), e.g.: {}", rule.failure_message, g.sample));
            f.count = Some(g.lines);
            f.pods = (owner.kind != "Pod").then_some(g.pods);
            emit(ctx, eval, f, None);
        }
    }
}

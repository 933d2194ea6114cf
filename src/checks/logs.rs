//! Container logs against the `ContainerLog` pattern rules: a finding per
//! pod, container and rule, with the count of matching lines and one sample.
//! Logs are checked as they arrive and dropped.

use super::Evaluation;
use super::health::{Context, emit};
use crate::inventory::{LogRecord, ObjectRef, section};
use crate::report::Finding;
use crate::rules::{Logic, Rule};
use crate::text::{redact_secrets, truncate};

/// Checks one log with every enabled `ContainerLog` rule.
pub fn check(ctx: &Context<'_>, rules: &[&Rule], log: &LogRecord<'_>, eval: &mut Evaluation) {
    let object = ObjectRef {
        group: String::new(),
        kind: "Pod".into(),
        namespace: Some(log.namespace.to_string()),
        name: log.pod.to_string(),
    };
    for rule in rules {
        let Logic::Pattern(pattern) = &rule.logic else { continue };
        let mut count = 0u64;
        let mut sample = None;
        for line in log.text.lines() {
            if pattern.matches(line) {
                count += 1;
                sample.get_or_insert(line);
            }
        }
        let Some(sample) = sample else {
            eval.passed += 1;
            continue;
        };
        let lines = if count == 1 { "1 line".to_string() } else { format!("{count} lines") };
        let mut f =
            Finding::new(rule, section::LOGS, &object).with_container(Some(log.container)).with_message(format!(
                "{} ({lines}), e.g.: {}",
                rule.failure_message,
                truncate(&redact_secrets(sample), ctx.settings.logs.sample_chars)
            ));
        f.count = Some(count);
        emit(ctx, eval, f, None);
    }
}

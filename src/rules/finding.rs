//! How a rule turns into report entries: the finding it raises on an
//! object and the documentation a report carries for it. Here rather than in
//! `report`, which sits below the rules and never sees a [`Rule`].

use super::Rule;
use crate::inventory::ObjectRef;
use crate::report::{Finding, RuleDoc, Severity};

impl Finding {
    /// A finding with the identifying fields set and no details; the fingerprint is computed.
    pub fn new(rule: &Rule, section: &str, object: &ObjectRef) -> Self {
        Finding {
            rule: rule.id.clone(),
            severity: rule.severity.unwrap_or(Severity::Warning),
            category: rule.category.clone(),
            section: section.to_string(),
            kind: object.kind.clone(),
            namespace: object.namespace.clone(),
            name: object.name.clone(),
            container: None,
            message: rule.failure_message.clone(),
            remediation: rule.remediation.clone(),
            fingerprint: Finding::fingerprint_of(
                &rule.id,
                &object.kind,
                object.namespace.as_deref(),
                &object.name,
                None,
            ),
            reason: None,
            count: None,
            pods: None,
            first_seen: None,
            last_seen: None,
            status: None,
            source: None,
        }
    }
}

impl RuleDoc {
    /// The documentation of a loaded rule.
    pub fn of(rule: &Rule) -> Self {
        RuleDoc {
            category: rule.category.clone(),
            description: rule.description.clone(),
            why: rule.why.clone(),
            remediation: rule.remediation.clone(),
            references: rule.references.clone(),
        }
    }
}

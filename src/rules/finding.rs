//! How a rule turns into report entries: the finding it raises on an
//! object and the documentation a report carries for it. Here rather than in
//! `report`, which sits below the rules and never sees a [`Rule`].

use super::Rule;
use crate::inventory::ObjectRef;
use crate::report::{Finding, RuleDoc, Severity, Text};

impl Finding {
    /// A finding with the identifying fields set and no details; the fingerprint is computed.
    ///
    /// What repeats from finding to finding (the rule's id, category, message
    /// and remediation, the section, the object's kind and namespace) is
    /// interned: a cluster's hundred thousand findings share a few hundred
    /// copies of those, and each finding owns only its name, fingerprint and
    /// any specific message.
    pub fn new(rule: &Rule, section: &str, object: &ObjectRef) -> Self {
        Finding {
            rule: Text::interned(&rule.id),
            severity: rule.severity.unwrap_or(Severity::Warning),
            category: Text::interned(&rule.category),
            section: Text::interned(section),
            kind: Text::interned(&object.kind),
            namespace: object.namespace.as_deref().map(Text::interned),
            name: Text::from(&object.name),
            container: None,
            message: Text::interned(&rule.failure_message),
            remediation: Text::interned(&rule.remediation),
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

//! The findings as the page's script reads them: compact JSON for the big
//! table, which the script paginates, sorts and filters in the browser.
//!
//! Every text field is an index into one table of distinct strings: rule
//! ids, namespaces, kinds and messages repeat across thousands of findings,
//! so 30,000 findings cost a few megabytes, not tens.

use std::collections::HashMap;

use serde::Serialize;

use crate::report::{Finding, FindingStatus, Report};

/// Field names, in the order of each row's entries (the script looks them up by name).
pub(super) const FIELDS: [&str; 14] = [
    "severity",
    "status",
    "section",
    "category",
    "namespace",
    "kind",
    "name",
    "container",
    "rule",
    "message",
    "reason",
    "count",
    "lastSeen",
    "source",
];

/// What the `findings-data` script element holds.
#[derive(Debug, Serialize)]
pub(super) struct FindingsData {
    /// Names of a row's entries, in order.
    pub fields: [&'static str; 14],
    /// Distinct strings; rows index into it.
    pub strings: Vec<String>,
    /// One per finding, in report order.
    pub rows: Vec<[u32; 14]>,
    /// Rules with documentation in the page (their ids link to `#rule-<id>`).
    pub documented: Vec<String>,
    /// Whether findings carry a diff status.
    pub has_status: bool,
}

#[derive(Default)]
struct Strings {
    index: HashMap<String, u32>,
    list: Vec<String>,
}

impl Strings {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        self.list.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
}

/// Encodes the report's findings.
pub(super) fn encode(report: &Report) -> FindingsData {
    let mut strings = Strings::default();
    // Index 0 is the empty string, for absent values.
    strings.id("");
    let rows = report.findings.iter().map(|f| row(f, &mut strings)).collect();
    FindingsData {
        fields: FIELDS,
        strings: strings.list,
        rows,
        documented: report.rules.keys().cloned().collect(),
        has_status: report.diff.is_some(),
    }
}

fn row(f: &Finding, s: &mut Strings) -> [u32; 14] {
    let status = match f.status {
        Some(FindingStatus::New) => "new",
        Some(FindingStatus::Open) => "open",
        None => "",
    };
    [
        s.id(f.severity.as_str()),
        s.id(status),
        s.id(&f.section),
        s.id(&f.category),
        s.id(f.namespace.as_deref().unwrap_or("")),
        s.id(&f.kind),
        s.id(&f.name),
        s.id(f.container.as_deref().unwrap_or("")),
        s.id(&f.rule),
        s.id(&f.message),
        s.id(f.reason.as_deref().unwrap_or("")),
        s.id(&f.count.map(|c| c.to_string()).unwrap_or_default()),
        s.id(f.last_seen.as_deref().unwrap_or("")),
        s.id(&f.source.as_ref().map(crate::inventory::SourceLocation::display).unwrap_or_default()),
    ]
}

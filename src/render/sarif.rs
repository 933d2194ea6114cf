//! SARIF 2.1.0 (OASIS), the format code-scanning services read (GitHub code
//! scanning, GitLab, Azure DevOps): one run of the `kubeeye` driver, a rule
//! descriptor with its help text for every rule that has a finding, one result
//! per finding. A finding on an object read from a file (`ke diag --snapshot
//! manifests/`) points at the file and the line of its document; one from a
//! live cluster names the object as a logical location.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};

use crate::inventory::GapKind;
use crate::report::{Finding, Report, Severity};

/// The SARIF schema the output declares.
pub const SCHEMA: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Writes the report as a SARIF 2.1.0 log.
pub fn write_sarif(report: &Report, out: &mut dyn Write) -> Result<(), serde_json::Error> {
    serde_json::to_writer_pretty(&mut *out, &sarif(report))?;
    let _ = out.write_all(b"\n");
    Ok(())
}

/// The SARIF level of a severity.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Danger => "error",
        Severity::Warning => "warning",
        _ => "note",
    }
}

/// The report as a SARIF log.
pub fn sarif(report: &Report) -> Value {
    // One descriptor per rule with a finding, in id order; results refer to them by index.
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let index: BTreeMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let rules: Vec<Value> = ids
        .iter()
        .map(|id| {
            let severity = report.findings.iter().find(|f| f.rule == *id).map_or(Severity::Warning, |f| f.severity);
            let doc = report.rules.get(*id);
            let description = doc.map_or_else(|| (*id).to_string(), |d| d.description.clone());
            let remediation = doc.map(|d| d.remediation.trim().to_string()).unwrap_or_default();
            let why = doc.map(|d| d.why.clone()).unwrap_or_default();
            let mut help = String::new();
            if !why.is_empty() {
                help.push_str(&why);
                help.push_str("\n\n");
            }
            help.push_str(if remediation.is_empty() { &description } else { &remediation });
            let mut rule = json!({
                "id": id,
                "shortDescription": { "text": description },
                "fullDescription": { "text": if why.is_empty() { description.clone() } else { why.clone() } },
                "help": { "text": help, "markdown": help },
                "defaultConfiguration": { "level": level(severity) },
                "properties": {
                    "category": doc.map(|d| d.category.clone()).unwrap_or_default(),
                    "tags": doc.map(|d| vec![d.category.clone()]).unwrap_or_default(),
                },
            });
            if let Some(uri) = doc.and_then(|d| d.references.iter().find(|r| r.starts_with("https://"))) {
                rule["helpUri"] = json!(uri);
            }
            rule
        })
        .collect();
    let results: Vec<Value> = report.findings.iter().map(|f| result(f, index[f.rule.as_str()])).collect();
    let notifications: Vec<Value> = report
        .coverage
        .iter()
        .filter(|g| g.kind == GapKind::Error)
        .map(|g| {
            json!({
                "level": "warning",
                "message": { "text": format!("not inspected: {} {}: {}", g.section, g.resource, g.reason) },
            })
        })
        .collect();
    let mut invocation = json!({ "executionSuccessful": report.complete });
    if !notifications.is_empty() {
        invocation["toolExecutionNotifications"] = json!(notifications);
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "kubeeye",
                    "version": report.tool.version,
                    "semanticVersion": report.tool.version,
                    "rules": rules,
                }
            },
            "invocations": [invocation],
            "originalUriBaseIds": { "SRCROOT": { "description": { "text": "The directory ke ran in." } } },
            "results": results,
        }]
    })
}

/// One finding as a SARIF result.
fn result(f: &Finding, rule_index: usize) -> Value {
    let object = match &f.namespace {
        Some(ns) => format!("{} {ns}/{}", f.kind, f.name),
        None => format!("{} {}", f.kind, f.name),
    };
    let container = f.container.as_ref().map(|c| format!(" (container {c})")).unwrap_or_default();
    let mut result = json!({
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": { "text": format!("{object}{container}: {}", f.message) },
        "partialFingerprints": { "kubeeyeFingerprint/v1": f.fingerprint },
        "properties": { "category": f.category, "section": f.section },
    });
    let logical = json!({
        "name": f.name,
        "fullyQualifiedName": format!("{}/{}/{}", f.kind, f.namespace.as_deref().unwrap_or_default(), f.name),
        "kind": "resource",
    });
    let mut location = json!({ "logicalLocations": [logical] });
    if let Some(at) = &f.source {
        let uri = file_uri(&at.file);
        // A relative path is relative to where ke ran; an absolute one is a file:// URI of its own.
        let artifact = if uri.starts_with("file:") {
            json!({ "uri": uri })
        } else {
            json!({ "uri": uri, "uriBaseId": "SRCROOT" })
        };
        location["physicalLocation"] =
            json!({ "artifactLocation": artifact, "region": { "startLine": at.line.max(1) } });
    }
    result["locations"] = json!([location]);
    result
}

/// A path as a relative URI reference (`manifests/web.yaml`), percent-encoding
/// what a URI cannot hold; an absolute path becomes a `file://` URI.
fn file_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    if path.starts_with('/') {
        return url::Url::from_file_path(&path).map(String::from).unwrap_or(path);
    }
    let path = path.trim_start_matches("./");
    path.split('/')
        .map(|segment| {
            segment
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::file_uri;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(file_uri("./manifests/web app.yaml"), "manifests/web%20app.yaml");
        assert_eq!(file_uri("/tmp/x.yaml"), "file:///tmp/x.yaml");
    }
}

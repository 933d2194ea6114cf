//! JUnit XML, the test-report format every CI server shows (Jenkins, GitLab
//! `artifacts:reports:junit`, GitHub test-report actions, Azure DevOps): one
//! test suite per category, one test case per finding, a `<failure>` for a
//! danger or warning finding (an info finding passes, its message kept as
//! output), and a `coverage` suite with an `<error>` per part that could not be
//! inspected, so an incomplete inspection fails the pipeline too.

use std::collections::BTreeMap;
use std::io::Write;

use crate::inventory::GapKind;
use crate::report::{Finding, Report, Severity};

/// Writes the report as JUnit XML.
pub fn write_junit(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(junit(report).as_bytes())
}

/// The report as JUnit XML.
pub fn junit(report: &Report) -> String {
    let mut suites: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        suites.entry(f.category.as_str()).or_default().push(f);
    }
    let gaps: Vec<_> = report.coverage.iter().filter(|g| g.kind == GapKind::Error).collect();
    let failing = |f: &Finding| matches!(f.severity, Severity::Danger | Severity::Warning);
    let failures = report.findings.iter().filter(|f| failing(f)).count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<testsuites name=\"kubeeye {}\" tests=\"{}\" failures=\"{failures}\" errors=\"{}\" timestamp=\"{}\">\n",
        attr(&report.cluster.name),
        report.findings.len() + gaps.len(),
        gaps.len(),
        attr(&report.started_at),
    ));
    for (category, findings) in &suites {
        xml.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" timestamp=\"{}\">\n",
            attr(category),
            findings.len(),
            findings.iter().filter(|f| failing(f)).count(),
            attr(&report.started_at),
        ));
        for f in findings {
            case(&mut xml, f);
        }
        xml.push_str("  </testsuite>\n");
    }
    if !gaps.is_empty() {
        xml.push_str(&format!(
            "  <testsuite name=\"coverage\" tests=\"{0}\" failures=\"0\" errors=\"{0}\" skipped=\"0\" timestamp=\"{1}\">\n",
            gaps.len(),
            attr(&report.started_at),
        ));
        for g in gaps {
            xml.push_str(&format!(
                "    <testcase classname=\"coverage.{}\" name=\"{}\">\n      <error message=\"{}\" type=\"NotInspected\"/>\n    </testcase>\n",
                attr(&g.section),
                attr(&g.resource),
                attr(&g.reason),
            ));
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// One finding as a test case.
fn case(xml: &mut String, f: &Finding) {
    let object = match &f.namespace {
        Some(ns) => format!("{} {ns}/{}", f.kind, f.name),
        None => format!("{} {}", f.kind, f.name),
    };
    let container = f.container.as_ref().map(|c| format!(" container {c}")).unwrap_or_default();
    let location = f.source.as_ref();
    let file = location.map(|l| format!(" file=\"{}\" line=\"{}\"", attr(&l.file), l.line)).unwrap_or_default();
    xml.push_str(&format!(
        "    <testcase classname=\"{}\" name=\"{}\"{file}>\n",
        attr(&f.rule),
        attr(&format!("{object}{container}"))
    ));
    let mut body = f.message.to_string();
    if let Some(l) = location {
        body.push_str(&format!("\nat {}:{}", l.file, l.line));
    }
    if !f.remediation.trim().is_empty() {
        body.push_str("\n\nHow to fix it:\n");
        body.push_str(f.remediation.trim());
    }
    match f.severity {
        Severity::Danger | Severity::Warning => xml.push_str(&format!(
            "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
            attr(&f.message),
            f.severity.as_str(),
            text(&body),
        )),
        _ => xml.push_str(&format!("      <system-out>{}</system-out>\n", text(&body))),
    }
    xml.push_str("    </testcase>\n");
}

/// Characters XML 1.0 cannot hold at all (controls but tab and newline) are
/// dropped; cluster text may contain them.
fn clean(value: &str) -> impl Iterator<Item = char> + '_ {
    value.chars().filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
}

/// An attribute value: quoted characters and line breaks escaped.
fn attr(value: &str) -> String {
    clean(value)
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            '\n' => "&#10;".to_string(),
            '\r' => "&#13;".to_string(),
            '\t' => "&#9;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Element text.
fn text(value: &str) -> String {
    clean(value)
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped_and_controls_dropped() {
        assert_eq!(attr("a\"<b>&'\n\u{1b}[31m"), "a&quot;&lt;b&gt;&amp;&apos;&#10;[31m");
        assert_eq!(text("]]><x>\u{0}"), "]]&gt;&lt;x&gt;");
    }
}

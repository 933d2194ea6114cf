//! The HTML report: one self-contained page an administrator opens from disk
//! or object storage, with no network. Templates are data in `templates/`
//! (a layout and one partial per section), compiled into the binary.
//!
//! Safety of cluster text, in layers:
//! 1. Handlebars escapes every `{{ }}`; templates run in strict mode, so a
//!    field the view lacks fails the render instead of leaving an empty cell.
//! 2. The findings table's data is JSON in a `<script type="application/json">`
//!    element, escaped so it cannot end the element ([`safe::script_json`]),
//!    and the page's script writes it with `textContent` only.
//! 3. Only `http(s)` rule references become links.
//! 4. A Content-Security-Policy allows no network and only the page's own
//!    script and style, by hash.
//!
//! Size: section tables show at most [`SECTION_ROWS`] rows each; the
//! findings table renders one page of 100 rows at a time from the JSON, so
//! 30,000 findings make a page of a few megabytes with a small DOM.

use std::io::{BufWriter, Write};

use handlebars::Handlebars;
use serde::Serialize;

use super::RenderError;
use crate::report::Report;

mod chart;
mod data;
mod safe;
mod view;

pub use view::SECTION_ROWS;

const LAYOUT: &str = include_str!("../../templates/report.html.hbs");

/// Where the layout takes the findings JSON: the page is rendered in two
/// halves around it, and the JSON is written between them as it is serialised.
const FINDINGS_JSON: &str = "{{{findings_json}}}";
const STYLE: &str = include_str!("../../templates/report.css");
const SCRIPT: &str = include_str!("../../templates/report.js");

/// Partials, by the name the templates call them with.
const PARTIALS: &[(&str, &str)] = &[
    ("header", include_str!("../../templates/partials/header.hbs")),
    ("nav", include_str!("../../templates/partials/nav.hbs")),
    ("overview", include_str!("../../templates/partials/overview.hbs")),
    ("summary", include_str!("../../templates/partials/summary.hbs")),
    ("chart", include_str!("../../templates/partials/chart.hbs")),
    ("sev", include_str!("../../templates/partials/sev.hbs")),
    ("rule_link", include_str!("../../templates/partials/rule_link.hbs")),
    ("section_end", include_str!("../../templates/partials/section_end.hbs")),
    ("control_plane", include_str!("../../templates/partials/control_plane.hbs")),
    ("nodes", include_str!("../../templates/partials/nodes.hbs")),
    ("node_checks", include_str!("../../templates/partials/node_checks.hbs")),
    ("pods", include_str!("../../templates/partials/pods.hbs")),
    ("events", include_str!("../../templates/partials/events.hbs")),
    ("logs", include_str!("../../templates/partials/logs.hbs")),
    ("workloads", include_str!("../../templates/partials/workloads.hbs")),
    ("findings", include_str!("../../templates/partials/findings.hbs")),
    ("coverage", include_str!("../../templates/partials/coverage.hbs")),
    ("exemptions", include_str!("../../templates/partials/exemptions.hbs")),
    ("changes", include_str!("../../templates/partials/changes.hbs")),
    ("rules", include_str!("../../templates/partials/rules.hbs")),
];

/// What the layout template reads: the view plus the page's own assets.
#[derive(Serialize)]
struct Document {
    #[serde(flatten)]
    page: view::Page,
    csp: String,
    style: &'static str,
    script: &'static str,
    findings_json: String,
}

mod helpers {
    // `{{num n}}`: a count with thousands separators (30,000).
    handlebars::handlebars_helper!(num: |n: u64| super::view::thousands(usize::try_from(n).unwrap_or(usize::MAX)));
}

/// The template registry: strict, escaping, partials registered.
fn registry() -> Result<Handlebars<'static>, RenderError> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    // Indenting partials would shift the text of <pre> remediation blocks.
    hb.set_prevent_indent(true);
    hb.register_helper("num", Box::new(helpers::num));
    match LAYOUT.split_once(FINDINGS_JSON) {
        Some((head, tail)) => {
            hb.register_template_string("report_head", head)?;
            hb.register_template_string("report_tail", tail)?;
        }
        None => hb.register_template_string("report", LAYOUT)?,
    }
    for (name, text) in PARTIALS {
        hb.register_partial(name, *text)?;
    }
    Ok(hb)
}

/// Writes the report as one self-contained HTML page, as it is rendered: the
/// findings JSON (the bulk of a big report) goes to `out` as it is serialised.
pub fn write_html(report: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
    let hb = registry()?;
    let split = hb.has_template("report_head");
    let findings = data::encode(report);
    let doc = Document {
        page: view::page(report),
        csp: safe::content_security_policy(SCRIPT, STYLE),
        style: STYLE,
        script: SCRIPT,
        findings_json: if split { String::new() } else { safe::script_json(&findings)? },
    };
    let mut buffered = BufWriter::with_capacity(64 * 1024, out);
    if split {
        hb.render_to_write("report_head", &doc, &mut buffered)?;
        safe::write_script_json(&findings, &mut buffered)?;
        hb.render_to_write("report_tail", &doc, &mut buffered)?;
    } else {
        hb.render_to_write("report", &doc, &mut buffered)?;
    }
    buffered.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_compile() {
        assert!(registry().is_ok());
        assert_eq!(LAYOUT.matches(FINDINGS_JSON).count(), 1, "the layout takes the findings JSON once");
        assert!(registry().is_ok_and(|hb| hb.has_template("report_head") && hb.has_template("report_tail")));
    }

    #[test]
    fn strict_mode_makes_a_missing_field_an_error() {
        let Ok(mut hb) = registry() else { panic!("registry") };
        assert!(hb.register_template_string("t", "<td>{{header.nonexistent}}</td>").is_ok());
        let doc = serde_json::json!({"header": {"cluster": "c"}});
        let err = hb.render("t", &doc).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("strict mode"), "{err}");
    }

    /// Triple-stash output skips escaping: only the page's own assets and the
    /// script-safe JSON may use it, never a field that holds cluster text.
    #[test]
    fn unescaped_output_only_for_own_assets() {
        let allowed = ["{{{style}}}", "{{{script}}}", "{{{findings_json}}}"];
        for (name, text) in std::iter::once(&("report", LAYOUT)).chain(PARTIALS) {
            let mut rest = *text;
            while let Some(at) = rest.find("{{{") {
                let tail = &rest[at..];
                assert!(
                    allowed.iter().any(|a| tail.starts_with(a)),
                    "{name}: unescaped {}",
                    &tail[..tail.len().min(40)]
                );
                rest = &rest[at + 3..];
            }
            assert!(!text.contains("{{&"), "{name}: {{& is unescaped output");
        }
    }

    fn report_with_node_checks(node: &str, message: &str) -> Report {
        let finding = |n: String| {
            serde_json::json!({
                "rule": "vm.swappiness", "severity": "warning", "category": "Node", "section": "node checks",
                "kind": "Node", "name": n, "message": message, "remediation": "", "fingerprint": n,
            })
        };
        serde_json::from_value(serde_json::json!({
            "schemaVersion": "4", "tool": {"name": "kubeeye", "version": "0"},
            "cluster": {"name": "c", "sources": []}, "startedAt": "2026-11-25T02:00:00Z",
            "finishedAt": "2026-11-25T02:00:00Z", "complete": false,
            "summary": {"danger": 0, "warning": 2, "info": 0, "byCategory": {}, "passed": 0},
            "coverage": [{"section": "node checks", "resource": format!("node {node}"), "reason": message, "kind": "error"}],
            "findings": [finding(node.to_string()), finding(format!("{node}-2"))],
            "nodeChecks": {"status": "ran", "nodesSelected": 3, "nodesAnswered": 2, "rules": [{
                "id": "vm.swappiness", "kind": "sysctl", "severity": "warning", "selected": 3, "evaluated": 2,
                "failed": 2, "errors": 0, "values": [{"value": message, "nodes": 2}], "otherValues": 0}]},
        }))
        .unwrap()
    }

    #[test]
    fn the_node_checks_section_groups_and_escapes() {
        let evil = "<img src=x onerror=alert(1)>";
        let mut out = Vec::new();
        write_html(&report_with_node_checks(&format!("worker{evil}"), &format!("swappiness {evil}")), &mut out)
            .unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(!html.contains("<img"), "cluster text is escaped everywhere");
        assert!(html.contains("<a href=\"#node-checks\">Node checks"), "a nav item");
        let section = html.split("<section id=\"node-checks\"").nth(1).unwrap().split("</section>").next().unwrap();
        assert!(section.contains("1 rule on 2 nodes (of 3 asked), 1 failing"), "{section}");
        assert_eq!(section.matches("2 of 2 nodes").count(), 1, "one row for the two nodes: {section}");
        assert!(section.contains("1 of 3 nodes"), "the gap, grouped: {section}");
        let nodes = html.split("<section id=\"nodes\"").nth(1).unwrap().split("</section>").next().unwrap();
        assert!(nodes.contains("No node findings."), "the Nodes section keeps only node findings: {nodes}");
        let mut plain = Vec::new();
        let mut without = report_with_node_checks("n", "m");
        without.node_checks = None;
        without.findings.clear();
        without.coverage.clear();
        write_html(&without, &mut plain).unwrap();
        assert!(!String::from_utf8(plain).unwrap().contains("node-checks"), "no section without host rules");
    }
}

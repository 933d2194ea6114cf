//! The HTML report as bytes: self-contained, escaped, bounded in size.
//! (tests/html_browser.rs opens it in Chromium.)

use kubeeye::render::html::write_html;
use kubeeye::report::{Report, apply_diff};

use crate::common::{fixture, synthetic};

fn html(report: &Report) -> String {
    let mut out = Vec::new();
    write_html(report, &mut out).expect("renders");
    String::from_utf8(out).expect("UTF-8")
}

/// Every `attr="value"` of the page, for one attribute name.
fn attributes<'a>(page: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    page.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &page[at + needle.len()..];
            &rest[..rest.find('"').unwrap_or(rest.len())]
        })
        .collect()
}

#[test]
fn cluster_text_is_escaped_everywhere() {
    let page = html(&fixture::xss_report());
    // Only the page's own two script elements and two SVGs (score ring, chart) exist.
    assert_eq!(page.matches("<script").count(), 2, "script elements");
    assert_eq!(page.matches("<svg").count(), 2, "svg elements");
    assert_eq!(page.matches("<img").count(), 0, "img elements");
    // The payloads are all there, as escaped text.
    assert!(
        page.contains("&lt;script&gt;window.__xss&#x3D;&#x27;resolved&#x27;"),
        "resolved object name shown as text"
    );
    assert!(page.contains("&lt;&#x2F;script&gt;") || page.contains("&lt;/script&gt;"), "event message shown as text");
    // Inside the data block `<` is escaped for JavaScript, so nothing there closes the element.
    let data_start = page.find("<script type=\"application/json\" id=\"findings-data\">").expect("data block");
    let data = &page[data_start..];
    let data = &data[data.find('>').expect("tag end") + 1..data.find("</script>").expect("data block end")];
    assert!(!data.contains('<') && !data.contains('>'), "raw angle brackets in the data block");
    let markup = page.replace(data, "");
    assert!(!markup.contains("onerror=") && !markup.contains("onload=") && !markup.contains("onmouseover="), "handler");
    let parsed: serde_json::Value = serde_json::from_str(data).expect("data block is JSON");
    let strings = parsed["strings"].as_array().expect("strings");
    assert!(
        strings.iter().any(|s| s == "<script>window.__xss='name';alert('name')</script>"),
        "data holds the raw name"
    );
}

#[test]
fn only_web_references_become_links() {
    let page = html(&fixture::xss_report());
    for href in attributes(&page, "href") {
        assert!(href.starts_with('#') || href.starts_with("https://") || href.starts_with("http://"), "href {href}");
    }
    assert!(page.contains("href=\"https://kubernetes.io/docs/concepts/security/pod-security-standards/\""));
    assert!(page.contains("<span class=\"nolink\">javascript:window.__xss&#x3D;"), "javascript: reference as text");
    assert!(page.contains("<span class=\"nolink\">data:text/html,&lt;script&gt;"), "data: reference as text");
}

#[test]
fn page_is_self_contained() {
    let page = html(&fixture::cluster_report());
    let csp = attributes(&page, "content").into_iter().find(|c| c.starts_with("default-src")).expect("CSP meta");
    assert!(csp.contains("default-src &#x27;none&#x27;"), "{csp}");
    assert!(csp.contains("script-src &#x27;sha256-"), "{csp}");
    assert!(!csp.contains("http"), "{csp}");
    for attr in ["src", "srcset", "action", "formaction"] {
        assert!(attributes(&page, attr).is_empty(), "{attr}= loads something");
    }
    assert!(!page.contains("@import") && !page.contains("url("), "CSS loads nothing");
    assert!(page.contains("@media print"), "print styles");
}

#[test]
fn sections_rules_and_score_are_there() {
    let mut report = fixture::cluster_report();
    apply_diff(&mut report, &fixture::previous_report());
    let page = html(&report);
    for id in
        ["controlPlane", "nodes", "pods", "events", "logs", "workloads", "findings", "coverage", "changes", "rules"]
    {
        assert!(page.contains(&format!("<section id=\"{id}\"")), "section {id}");
    }
    for rule in report.rules.keys() {
        assert!(page.contains(&format!("id=\"rule-{rule}\"")), "rule anchor {rule}");
    }
    assert!(page.contains("2·passed ÷ (2·passed + warnings + 2·dangers)"), "score explained");
    assert!(
        page.contains(&format!("aria-label=\"Best-practice score {} of 100\"", report.summary.score.expect("a score")))
    );
    assert!(page.contains("node-exporter"), "resolved finding listed");
    // The findings table knows where each object was read from.
    assert!(page.contains("\"source\""), "a source field in the findings data");
    assert!(page.contains("tests/fixtures/report/cluster.yaml:"), "file:line of the fixture's objects");
    assert!(page.contains("<title>kubeeye report: prod-eu DOWN (2026-11-25 02:00 UTC)</title>"));
    // Health heads the page, before the score and any best-practice finding.
    let banner = "<p class=\"health health-down\" role=\"status\"><b>DOWN</b>: etcd unhealthy, 1 node NotReady";
    let at = page.find(banner).expect("the health banner");
    assert!(at < page.find("id=\"summary\"").expect("the summary"), "health before the score");
    let overview = page.find("<section id=\"overview\"").expect("the cluster overview");
    assert!(at < overview && overview < page.find("id=\"summary\"").unwrap(), "overview between health and score");
    assert!(page.contains("<dt>Kubernetes</dt><dd>v1.35.0</dd>"), "the version in the overview");
}

#[test]
fn thirty_thousand_findings_stay_a_small_page() {
    let report = synthetic::report(30_000);
    let start = std::time::Instant::now();
    let page = html(&report);
    let took = start.elapsed();
    let rows = page.matches("<tr").count();
    println!("30,000 findings: {} bytes of HTML, {rows} server-rendered rows, {took:?} (debug build)", page.len());
    assert!(page.len() < 12_000_000, "{} bytes", page.len());
    // Section tables are capped; the findings table is rendered by the script, a page at a time.
    assert!(rows < 5 * kubeeye::render::html::SECTION_ROWS + 200, "{rows} rows");
    assert!(page.contains("more: <a href=\"#findings\" data-filter-section=\"events\">"));
}

#[test]
fn empty_and_incomplete_reports_render() {
    let mut report = fixture::cluster_report();
    report.findings.clear();
    report.rules.clear();
    report.summary = kubeeye::report::Summary::from_findings(&[], 12);
    report.coverage.push(kubeeye::inventory::CoverageGap::error("events", "events", "HTTP 403: forbidden"));
    report.complete = false;
    let page = html(&report);
    assert!(page.contains("Inspection incomplete."), "incomplete banner");
    assert!(page.contains("No findings."), "empty chart");
    assert!(page.contains("No warning events."));
    assert!(page.contains("<span class=\"gap gap-error\">error</span>"));
}

//! The HTML report opened in headless Chromium, as an administrator opens it
//! from disk: no injected script runs, cluster text shows as text, the
//! findings filter works, and a 30,000-finding page stays usable. Takes a
//! screenshot; `KE_UPDATE_SCREENSHOT=1` writes it to `docs/report-screenshot.png`.
//!
//! Needs Debian's chromium (`scripts/install-test-deps` installs it), or
//! another Chromium binary named by `KE_CHROMIUM`; without one these tests
//! fail rather than skip.

use std::path::{Path, PathBuf};

use kubeeye::render::html::write_html;
use kubeeye::report::{Report, Severity, apply_diff};
use serde_json::{Value, json};

use crate::common::chromium::{Chromium, png_size};
use crate::common::{fixture, synthetic};

const ROWS: &str = "document.querySelectorAll('#findings-body tr').length";

fn write(dir: &Path, name: &str, report: &Report) -> String {
    let path: PathBuf = dir.join(name);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create report"));
    write_html(report, &mut file).expect("renders");
    drop(file);
    url::Url::from_file_path(&path).expect("absolute path").to_string()
}

fn open(browser: &mut Chromium, url: &str) {
    browser.navigate(url);
    assert_eq!(
        browser.eval("document.body.dataset.findingsReady"),
        json!("true"),
        "the page's script did not finish; exceptions: {:?}; log: {:?}",
        browser.exceptions,
        browser.log_entries("error")
    );
}

/// Types into the text filter as a user does: focus, then insert text.
fn type_filter(browser: &mut Chromium, text: &str) {
    browser.eval("document.getElementById('filter-text').focus()");
    browser.call("Input.insertText", json!({"text": text}));
}

fn clear_filter(browser: &mut Chromium) {
    browser.eval("document.getElementById('filter-text').select()");
    browser.key("Backspace", 8);
}

fn assert_nothing_ran(browser: &mut Chromium) {
    assert_eq!(browser.eval("typeof window.__xss"), json!("undefined"), "an injected script ran");
    assert!(browser.dialogs.is_empty(), "the page opened dialogs: {:?}", browser.dialogs);
    assert!(browser.exceptions.is_empty(), "uncaught exceptions: {:?}", browser.exceptions);
    let csp: Vec<String> =
        browser.log_entries("error").into_iter().filter(|e| e.contains("Content Security Policy")).collect();
    assert!(csp.is_empty(), "something tried to run or load and CSP refused it: {csp:?}");
}

#[test]
fn injected_markup_stays_text_and_the_filter_works() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = fixture::xss_report();
    let url = write(dir.path(), "xss.html", &report);
    let mut browser = Chromium::launch();
    browser.viewport(1400, 1000);
    open(&mut browser, &url);
    assert_nothing_ran(&mut browser);

    let text = browser.eval("document.body.innerText");
    let text = text.as_str().expect("text");
    for payload in fixture::XSS_TEXTS {
        assert!(text.contains(payload), "{payload} is not shown as text");
    }
    assert_eq!(browser.eval("document.images.length"), json!(0), "an <img> was injected");
    assert_eq!(browser.eval("document.querySelectorAll('script').length"), json!(2), "a <script> was injected");
    let odd_links = browser.eval(
        "Array.from(document.querySelectorAll('[href]')).map(a => a.getAttribute('href'))\
         .filter(h => !h.startsWith('#') && !/^https?:\\/\\//.test(h))",
    );
    assert_eq!(odd_links, json!([]), "links other than fragments and web URLs");

    // The table lists every finding (fewer than a page), and the filter narrows it as one types.
    let all = browser.eval(ROWS);
    assert_eq!(all, json!(report.findings.len()));
    type_filter(&mut browser, "<script>window.__xss='name'");
    assert_eq!(browser.eval(ROWS), json!(1), "typing filters the rows");
    let row = browser.eval("document.querySelector('#findings-body tr').innerText");
    assert!(row.as_str().is_some_and(|r| r.contains("<script>window.__xss='name';alert('name')</script>")), "{row}");
    clear_filter(&mut browser);
    assert_eq!(browser.eval(ROWS), all, "clearing the filter brings the rows back");
    assert_eq!(browser.eval("document.getElementById('filter-text').value"), json!(""));

    // The severity select and the "new" status filter narrow it too.
    let danger = report.findings.iter().filter(|f| f.severity == Severity::Danger).count();
    let select = |id: &str, value: &str| {
        format!(
            "(s => {{ s.value = {value:?}; s.dispatchEvent(new Event('change')); }})(document.getElementById({id:?}))"
        )
    };
    browser.eval(&select("filter-severity", "danger"));
    assert_eq!(browser.eval(ROWS), json!(danger));
    browser.eval("document.getElementById('filter-reset').click()");
    assert_eq!(browser.eval(ROWS), all);
    assert_nothing_ran(&mut browser);
}

#[test]
fn screenshot_of_the_demo_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The demo cluster's report, as the morning after a night when the NotReady
    // node and the crash loop had not happened yet.
    let mut report = fixture::report(&["examples/demo-cluster"]);
    let mut previous = report.clone();
    previous.started_at = "2026-11-24T02:00:00Z".into();
    previous.findings.retain(|f| f.rule != "NodeNotReady" && f.rule != "PodCrashLooping");
    apply_diff(&mut report, &previous);
    let url = write(dir.path(), "report.html", &report);
    let mut browser = Chromium::launch();
    browser.viewport(1400, 1700);
    open(&mut browser, &url);
    assert_nothing_ran(&mut browser);

    // Sorting by a column reorders rows; the pager says where we are.
    let first = "document.querySelector('#findings-body tr td:nth-child(4)').innerText";
    browser.eval("document.querySelector('th[data-sort=\"object\"] button').click()");
    let ascending = browser.eval(first);
    browser.eval("document.querySelector('th[data-sort=\"object\"] button').click()");
    let descending = browser.eval(first);
    assert_ne!(ascending, descending, "sorting by object");
    browser.eval("document.getElementById('filter-reset').click()");
    let pages = browser.eval("document.getElementById('page-info').innerText");
    assert!(pages.as_str().is_some_and(|p| p.starts_with("Page 1 of ")), "{pages}");

    let png = browser.screenshot();
    // Written before it is judged, so a failing run leaves the picture to look at.
    let target = if std::env::var_os("KE_UPDATE_SCREENSHOT").is_some_and(|v| v == "1") {
        fixture::path("docs/report-screenshot.png")
    } else {
        dir.path().join("report-screenshot.png")
    };
    std::fs::write(&target, &png).expect("write screenshot");
    let (width, height) = png_size(&png).expect("a PNG");
    assert_eq!((width, height), (1400, 1700));
    assert!(png.len() > 50_000, "a {} byte screenshot is too small to show the report", png.len());
    println!("screenshot: {}", target.display());
}

#[test]
fn thirty_thousand_findings_page_stays_usable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = synthetic::report(30_000);
    let url = write(dir.path(), "large.html", &report);
    let mut browser = Chromium::launch();
    browser.viewport(1400, 1000);
    open(&mut browser, &url);
    assert_nothing_ran(&mut browser);

    let metrics = browser.eval(
        "(() => { const n = performance.getEntriesByType('navigation')[0]; \
          return { load: n.loadEventEnd, elements: document.getElementsByTagName('*').length }; })()",
    );
    let load_ms = metrics["load"].as_f64().expect("load time");
    let elements = metrics["elements"].as_u64().expect("element count");
    assert_eq!(browser.eval(ROWS), json!(100), "one page of rows");
    let info = browser.eval("document.getElementById('findings-info').innerText");
    assert!(info.as_str().is_some_and(|i| i.contains("of 30,000 findings")), "{info}");
    browser.eval("document.getElementById('page-next').click()");
    assert_eq!(browser.eval("document.getElementById('page-info').innerText"), json!("Page 2 of 300"));

    let filter_ms = browser.eval(
        "(() => { const t = performance.now(); const el = document.getElementById('filter-text'); \
          el.value = 'team-07'; el.dispatchEvent(new Event('input')); return performance.now() - t; })()",
    );
    let matching = report.findings.iter().filter(|f| f.namespace.as_deref() == Some("team-07")).count();
    let info = browser.eval("document.getElementById('findings-info').innerText");
    assert!(info.as_str().is_some_and(|i| i.contains(&format!("of {matching} findings"))), "{info}");
    let filter_ms: Value = filter_ms;
    println!(
        "30,000 findings in Chromium: load {load_ms:.0} ms, {elements} elements, text filter {:.0} ms",
        filter_ms.as_f64().unwrap_or(f64::NAN)
    );
    assert!(elements < 15_000, "{elements} DOM elements");
    assert!(filter_ms.as_f64().is_some_and(|ms| ms < 2_000.0), "filtering took {filter_ms} ms");
}

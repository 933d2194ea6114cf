//! kubeeye's integration tests: one test binary with a module per area, as
//! ripgrep does, so the library, the test support and the dev-dependencies
//! are linked once instead of once per file. Run one area with
//! `cargo test --test integration live::` (module paths are test-name prefixes).
//!
//! `common` holds helpers (running `ke`, fixtures, the report schema,
//! Chromium); `support` the real servers the tests start in-process. The
//! benchmarks include parts of both by path.

mod common;
mod support;

mod ci_formats;
mod cli;
mod config_reference;
mod deliver_email;
mod deliver_store;
mod deliver_webhook;
mod fake_apiserver;
mod hostile;
mod html_browser;
mod html_report;
mod live;
mod nightly;
mod node_check;
mod node_jobs;
mod prometheus;
mod rego;
mod report_golden;
mod rule_fixtures;
mod rules_docs;
mod run;

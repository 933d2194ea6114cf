//! Rendering a generated report of 30,000 findings as HTML, CSV and JSON:
//! median time and output size of each.
//!
//! `cargo bench --bench render` runs each format 11 times; under
//! `cargo test --all-targets` it renders each once, as a smoke test.

use std::time::{Duration, Instant};

use kubeeye::render::{self, Format};

#[path = "../tests/common/synthetic.rs"]
mod synthetic;

const FINDINGS: usize = 30_000;

fn main() {
    // cargo passes --bench to bench targets under `cargo bench`, nothing under `cargo test`.
    let runs = if std::env::args().any(|a| a == "--bench") { 11 } else { 1 };
    let report = synthetic::report(FINDINGS);
    for (name, format) in [("html", Format::Html), ("csv", Format::Csv), ("json", Format::Json)] {
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        let mut size = 0;
        for _ in 0..runs {
            let mut out = Vec::with_capacity(size);
            let start = Instant::now();
            render::write(&report, format, &mut out).expect("renders");
            times.push(start.elapsed());
            size = out.len();
        }
        times.sort();
        println!(
            "render {name:<4} {FINDINGS} findings: median {:7.1} ms of {runs} run(s), {:6.2} MB ({size} bytes)",
            times[runs / 2].as_secs_f64() * 1000.0,
            size as f64 / 1_000_000.0,
        );
    }
}

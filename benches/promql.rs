//! PromQL rules against a real Prometheus (Debian's package, as the tests
//! start it): the wall time of one inspection's queries for 10, 25 and 50
//! rules, with the default concurrency of 4.
//!
//! Run with `cargo bench --bench promql`. The history is 6 hours at one
//! sample a minute of 200 nodes' filesystems and clocks and 2,000 pods'
//! waiting reasons: the series node-exporter and kube-state-metrics export,
//! and the functions (`predict_linear`, `deriv`, `max_over_time`) KubeEye's
//! sample rules use.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use kubeeye::collect::prometheus::Prometheus;
use kubeeye::config::PrometheusSettings;
use kubeeye::rules::RuleSet;
use support::prometheus::{History, PromServer};

const HOUR: i64 = 3600;

/// `span` seconds of history up to `t`, a sample a minute.
fn history(t: i64, span: i64) -> History {
    let range = (t - span, t, 60);
    let mut h = History::default();
    for n in 0..200 {
        let instance = format!("node-{n}:9100");
        let fs = [("instance", instance.as_str()), ("job", "node-exporter"), ("mountpoint", "/"), ("fstype", "ext4")];
        let slope = if n % 10 == 0 { 1e6 } else { 0.0 };
        h.gauge("node_filesystem_avail_bytes", &fs, range, |at| Some(50e9 - slope * (at - range.0) as f64));
        h.gauge("node_filesystem_size_bytes", &fs, range, |_| Some(100e9));
        let timex = [("instance", instance.as_str()), ("job", "node-exporter")];
        let drift = if n % 20 == 0 { 0.1 } else { 0.001 };
        h.gauge("node_timex_offset_seconds", &timex, range, |at| Some(drift * (at - range.0) as f64 / span as f64));
    }
    for p in 0..2000 {
        let pod = format!("app-{}-{p}", p / 10);
        let labels = [
            ("namespace", "team"),
            ("pod", pod.as_str()),
            ("container", "app"),
            ("job", "kube-state-metrics"),
            ("reason", "CrashLoopBackOff"),
        ];
        let crashing = p % 50 == 0;
        h.gauge("kube_pod_container_status_waiting_reason", &labels, range, |at| {
            Some(if crashing && at > t - 600 { 1.0 } else { 0.0 })
        });
    }
    h
}

/// `n` rules cycling through five query shapes, each with its own threshold.
fn rules(n: usize) -> RuleSet {
    let shapes = [
        "predict_linear(node_filesystem_avail_bytes{job=\"node-exporter\"}[6h], {k} * 3600) < 0",
        "node_filesystem_avail_bytes / node_filesystem_size_bytes * 100 < {k}",
        "node_timex_offset_seconds > 0.0{k} and deriv(node_timex_offset_seconds[5m]) >= 0",
        "max_over_time(kube_pod_container_status_waiting_reason{reason=\"CrashLoopBackOff\"}[{k}m]) >= 1",
        "sum by (namespace) (kube_pod_container_status_waiting_reason) > {k}",
    ];
    let mut text = String::from("customChecks:\n");
    for i in 0..n {
        let query = shapes[i % shapes.len()].replace("{k}", &(1 + i / shapes.len()).to_string());
        text.push_str(&format!(
            "  rule{i}:\n    target: Prometheus\n    severity: warning\n    query: '{}'\n",
            query.replace('\'', "''")
        ));
    }
    RuleSet::from_sources(&[("bench.yaml".into(), text, false)]).expect("the bench rules load")
}

fn main() {
    // `cargo bench` passes `--bench`. Under `cargo test --benches` the bench
    // only shows it still works: half an hour of history, one run per size.
    let measuring = std::env::args().any(|a| a == "--bench");
    let (span, runs) = if measuring { (6 * HOUR, 5) } else { (HOUR / 2, 1) };
    let t = jiff::Timestamp::now().as_second() / 60 * 60 - 120;
    let started = Instant::now();
    let server = PromServer::start(&history(t, span), false);
    eprintln!("backfilled and started Prometheus in {:.1}s", started.elapsed().as_secs_f64());
    let settings = PrometheusSettings { url: Some(server.base.clone()), ..PrometheusSettings::default() };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let at = jiff::Timestamp::from_second(t).expect("a time");
    println!("rules  median wall time  per rule  series  ({runs} runs each, concurrency {})", settings.concurrency);
    for n in [10, 25, 50] {
        let rules = rules(n);
        let prometheus = Prometheus::connect(&settings, &rules).expect("settings").expect("PromQL rules");
        let mut times: Vec<Duration> = Vec::new();
        let mut series = 0;
        for _ in 0..runs {
            let start = Instant::now();
            let (found, gaps) = runtime.block_on(prometheus.query(&rules, at));
            times.push(start.elapsed());
            assert!(gaps.is_empty(), "{gaps:?}");
            series = found.len();
        }
        times.sort();
        let median = times[times.len() / 2];
        println!(
            "{n:>5}  {:>14.1} ms  {:>6.2} ms  {series:>6}",
            median.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3 / n as f64
        );
    }
}

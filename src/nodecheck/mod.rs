//! Host rules on the nodes. Three parts:
//! - [`requests`]: which host rules each node gets, as the request its Job carries;
//! - [`run`] (behind `ke node-check`): on the node, read the host and evaluate each rule;
//! - [`judge`]: back in the inspection, validate a node's result and turn it into findings.
//!
//! The request and result types are in [`protocol`]; reading the host is in [`probe`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::inventory::ObjectRef;
use crate::report::{Finding, NodeFile, NodeFiles, Severity};
use crate::rules::expr::Expr;
use crate::rules::host::HostKind;
use crate::rules::{Logic, RuleSet};
use protocol::{Facts, NodeResult, Outcome, Request, RequestRule, RuleResult, SCHEMA_VERSION};

mod ntp;
pub mod probe;
pub mod protocol;

/// The report section of host-rule findings.
pub const SECTION: &str = crate::inventory::section::NODE_CHECKS;

/// How long a CPU sample takes (two reads of `/proc/stat`).
const CPU_SAMPLE: Duration = Duration::from_millis(100);

/// One request per node that at least one enabled host rule selects
/// (`nodeName`, `nodeSelector`, or every node), with only the rules it selects.
pub fn requests(rules: &RuleSet, nodes: &[(String, BTreeMap<String, String>)]) -> Vec<(String, Value)> {
    requests_with(rules, nodes, &RequestOptions::default())
}

/// What every request of a run carries besides its rules.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions<'a> {
    /// Bounds from the config.
    pub limits: protocol::Limits,
    /// The fileChange baselines of the previous report: node → path → baseline (see [`baselines`]).
    pub previous: BTreeMap<String, BTreeMap<String, protocol::Baseline>>,
    /// The inspection's clock now (RFC 3339), the clock rules' fallback reference.
    pub reference_time: Option<&'a str>,
    /// Host paths whose filesystems NodeDisk judges: when there are some, every
    /// node gets a request, with no rules when no host rule selects it.
    pub disk_mounts: &'a [String],
    /// How long a node with a clock rule prints clock beacons before its checks (zero: none).
    pub clock_beacon: Duration,
}

/// [`requests`] with the run's [`RequestOptions`].
pub fn requests_with(
    rules: &RuleSet,
    nodes: &[(String, BTreeMap<String, String>)],
    options: &RequestOptions<'_>,
) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (node, labels) in nodes {
        let selected: Vec<RequestRule> = rules
            .host_rules()
            .filter(|(_, h)| h.nodes.selects(node, labels))
            .filter_map(|(rule, h)| {
                let severity = rule.severity.unwrap_or(Severity::Warning).to_string();
                serde_json::from_value(h.request_entry(&rule.id, &severity, &rule.failure_message)).ok()
            })
            .collect();
        if selected.is_empty() && options.disk_mounts.is_empty() {
            continue;
        }
        let paths: Vec<&str> = selected.iter().filter_map(|r| r.path.as_deref()).collect();
        let clock_beacon_millis = match selected.iter().any(|r| r.kind == "clock") {
            true => u64::try_from(options.clock_beacon.as_millis()).unwrap_or(u64::MAX),
            false => 0,
        };
        let previous = options
            .previous
            .get(node)
            .map(|p| {
                p.iter().filter(|(k, _)| paths.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect()
            })
            .unwrap_or_default();
        let request = Request {
            schema_version: SCHEMA_VERSION,
            node: node.clone(),
            rules: selected,
            limits: options.limits.clone(),
            previous,
            reference_time: options.reference_time.map(str::to_string),
            disk_mounts: options.disk_mounts.to_vec(),
            clock_beacon_millis,
        };
        if let Ok(value) = serde_json::to_value(&request) {
            out.push((node.clone(), value));
        }
    }
    out
}

/// The longest beacon window a node accepts from a request.
const MAX_BEACON_WINDOW: Duration = Duration::from_secs(60);

/// Prints clock [`protocol::Beacon`] lines for `window` (at most a minute), one every
/// [`protocol::BEACON_INTERVAL`], the last one marked: `ke node-check` does this
/// before its checks when a clock rule asks, while the inspection reads its log.
pub fn beacons(out: &mut dyn std::io::Write, window: Duration) -> std::io::Result<()> {
    let until = std::time::Instant::now() + window.min(MAX_BEACON_WINDOW);
    loop {
        let last = std::time::Instant::now() + protocol::BEACON_INTERVAL >= until;
        let beacon = protocol::Beacon { clock: format!("{:.9}", jiff::Timestamp::now()), last };
        serde_json::to_writer(&mut *out, &beacon)?;
        out.write_all(b"\n")?;
        out.flush()?;
        if last {
            return Ok(());
        }
        std::thread::sleep(protocol::BEACON_INTERVAL);
    }
}

/// A node's clock as the inspection read it from the pod's log while it ran.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockReading {
    /// The node's clock less the inspection's, seconds.
    pub offset_seconds: f64,
    /// How far off that may be, seconds (half the read's round trip, plus a beacon interval).
    pub uncertainty_seconds: f64,
}

impl ClockReading {
    /// From the last beacon of a log read that started at `t0` and was answered at `t1`,
    /// both on the inspection's clock: offset = beacon − (t0 + t1) / 2, uncertainty
    /// ± (t1 − t0) / 2 + one beacon interval. `None` for a last (stale) or malformed beacon.
    pub fn from_beacon(beacon: &protocol::Beacon, t0: jiff::Timestamp, t1: jiff::Timestamp) -> Option<Self> {
        if beacon.last {
            return None;
        }
        let clock: jiff::Timestamp = beacon.clock.parse().ok()?;
        let half = t1.duration_since(t0).as_secs_f64() / 2.0;
        let offset = clock.duration_since(t0).as_secs_f64() - half;
        Some(ClockReading {
            offset_seconds: (offset * 1000.0).round() / 1000.0,
            uncertainty_seconds: ((half.abs() + protocol::BEACON_INTERVAL.as_secs_f64()) * 1000.0).round() / 1000.0,
        })
    }
}

/// The fileChange baselines of a request, from a previous report's `nodeFiles`.
pub fn baselines(files: &NodeFiles) -> BTreeMap<String, BTreeMap<String, protocol::Baseline>> {
    files
        .iter()
        .map(|(node, paths)| {
            let paths = paths
                .iter()
                .map(|(path, f)| (path.clone(), protocol::Baseline { sha256: f.sha256.clone(), size: f.size }))
                .collect();
            (node.clone(), paths)
        })
        .collect()
}

/// The report's `nodeFiles` after a run: the files each node saw now, and
/// for every file a node was asked about but did not see this time (the node
/// did not answer, the file could not be read), its previous entry, so a
/// change is still caught by a later run instead of becoming a first run again.
pub fn node_files(requests: &[(String, Value)], results: &[(String, Value)], previous: &NodeFiles) -> NodeFiles {
    let mut files = NodeFiles::new();
    for (node, request) in requests {
        let Some(before) = previous.get(node) else { continue };
        let asked = request.get("rules").and_then(Value::as_array).into_iter().flatten();
        for path in asked.filter(|r| r["kind"] == "fileChange").filter_map(|r| r["path"].as_str()) {
            if let Some(file) = before.get(path) {
                files.entry(node.clone()).or_default().insert(path.to_string(), file.clone());
            }
        }
    }
    for (node, result) in results {
        let Ok(parsed) = serde_json::from_value::<NodeResult>(result.clone()) else { continue };
        if parsed.node != *node {
            continue;
        }
        for state in parsed.results.into_iter().filter_map(|r| r.file) {
            let file = NodeFile { sha256: state.sha256, size: state.size, modified: state.modified };
            files.entry(node.clone()).or_default().insert(state.path, file);
        }
    }
    files
}

/// The kind of the inventory object carrying a node's disk figures (see [`disk_object`]).
pub const DISK_KIND: &str = "NodeFilesystems";

/// A node's figures for its disk mounts as an inventory object NodeDisk reads
/// (kind [`DISK_KIND`], named after the node); `None` when the result has none of them.
pub fn disk_object(node: &str, result: &Value, disk_mounts: &[String]) -> Option<crate::inventory::Object> {
    let facts: Facts = serde_json::from_value(result.get("facts")?.clone()).ok()?;
    // Mounts on one filesystem (the same figures) are judged once, named together.
    let mut measured: Vec<(Vec<&str>, [u64; 4])> = Vec::new();
    for f in facts.filesystems.iter().filter(|f| disk_mounts.contains(&f.mount) && f.total_bytes > 0) {
        let available = f.available_bytes.unwrap_or(f.total_bytes.saturating_sub(f.used_bytes));
        let figures = [f.total_bytes, available, f.inodes_total, f.inodes_total.saturating_sub(f.inodes_used)];
        match measured.iter_mut().find(|(_, seen)| *seen == figures) {
            Some((mounts, _)) => mounts.push(&f.mount),
            None => measured.push((vec![&f.mount], figures)),
        }
    }
    let filesystems: Vec<Value> = measured
        .into_iter()
        .map(|(mounts, [capacity, available, inodes, inodes_free])| {
            serde_json::json!({
                "mount": mounts.join(" and "),
                "capacityBytes": capacity,
                "availableBytes": available,
                "inodes": inodes,
                "inodesFree": inodes_free,
            })
        })
        .collect();
    if filesystems.is_empty() {
        return None;
    }
    crate::inventory::Object::from_value(serde_json::json!({
        "apiVersion": "kubeeye.io/v1",
        "kind": DISK_KIND,
        "metadata": {"name": node},
        "filesystems": filesystems,
    }))
}

/// Where `ke node-check` reads the host.
#[derive(Debug, Clone)]
pub struct HostAccess {
    /// The host's `/` (`/host` in the Job).
    pub root: PathBuf,
    /// The system D-Bus address (default: `unix:path=<root>/run/dbus/system_bus_socket`).
    pub system_bus: Option<String>,
}

impl HostAccess {
    fn bus_address(&self) -> String {
        self.system_bus.clone().unwrap_or_else(|| {
            format!("unix:path={}", probe::under(&self.root, "/run/dbus/system_bus_socket").display())
        })
    }
}

/// Parses and checks a request: the version, the kinds, and every expression.
pub fn parse_request(text: &str) -> Result<Request, String> {
    let request: Request = serde_json::from_str(text).map_err(|e| format!("the request is not valid: {e}"))?;
    if request.schema_version != SCHEMA_VERSION {
        return Err(format!("request schemaVersion {} is not {SCHEMA_VERSION}", request.schema_version));
    }
    for rule in &request.rules {
        HostKind::parse(&rule.kind).map_err(|e| format!("rule `{}`: {e}", rule.id))?;
        if let Some(text) = &rule.rule
            && rule.kind != "fileFilter"
        {
            Expr::parse(text).map_err(|e| format!("rule `{}`: {e}", rule.id))?;
        }
    }
    Ok(request)
}

/// Runs every rule of a request on this host.
pub fn run(request: &Request, host: &HostAccess) -> NodeResult {
    run_since(request, host, jiff::Timestamp::now())
}

/// [`run`] for a request that arrived at `arrived` (before any beacons): the
/// clock is compared with the request's reference time as of then, so the
/// beacon window does not count as clock offset.
pub fn run_since(request: &Request, host: &HostAccess, arrived: jiff::Timestamp) -> NodeResult {
    let started_at = jiff::Timestamp::now();
    let facts = facts(request, host, arrived);
    let mut results = Vec::new();
    // systemd units are asked in one D-Bus session.
    let units: Vec<String> = request
        .rules
        .iter()
        .filter(|r| r.kind == "systemd")
        .filter_map(|r| r.rule.as_deref().and_then(|t| Expr::parse(t).ok()))
        .flat_map(|e| e.names())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let unit_states = if units.is_empty() {
        Ok(BTreeMap::new())
    } else {
        probe::unit_states(&host.bus_address(), &units, Duration::from_secs(10))
            .map(|states| units.iter().cloned().zip(states).collect::<BTreeMap<_, _>>())
    };
    let mut tails = Tails::new();
    for rule in &request.rules {
        let result = match rule.kind.as_str() {
            "sysctl" => by_expression(rule, &|key| probe::sysctl(&host.root, key).map_err(Some)),
            "systemd" => match &unit_states {
                Ok(states) => by_expression(rule, &|unit| states.get(unit).cloned().ok_or(None)),
                Err(e) => error(rule, e.clone()),
            },
            "nodeInfo" => node_info(rule, &facts, host),
            "fileChange" => file_change(rule, request, host),
            "fileFilter" => file_filter(rule, request, host, &mut tails),
            "customCommand" => custom_command(rule, request, host),
            "clock" => clock(rule, &facts),
            other => error(rule, format!("unknown kind `{other}`")),
        };
        results.push(result);
    }
    NodeResult {
        schema_version: SCHEMA_VERSION,
        node: request.node.clone(),
        started_at: started_at.to_string(),
        finished_at: jiff::Timestamp::now().to_string(),
        results,
        facts,
    }
}

fn outcome(rule: &RequestRule, outcome: Outcome, message: String, observed: Option<String>) -> RuleResult {
    RuleResult { rule: rule.id.clone(), outcome, message, observed, file: None }
}

fn error(rule: &RequestRule, message: String) -> RuleResult {
    outcome(rule, Outcome::Error, message, None)
}

/// Evaluates a rule's expression with values from `read`; a read error is the rule's error.
fn by_expression(rule: &RequestRule, read: &dyn Fn(&str) -> Result<String, Option<String>>) -> RuleResult {
    let Some(expr) = rule.rule.as_deref().map(Expr::parse) else { return error(rule, "no `rule`".into()) };
    let expr = match expr {
        Ok(e) => e,
        Err(e) => return error(rule, e),
    };
    let mut values = BTreeMap::new();
    for name in expr.names() {
        match read(&name) {
            Ok(v) => {
                values.insert(name, v);
            }
            Err(Some(problem)) => return error(rule, problem),
            Err(None) => return error(rule, format!("`{name}` could not be read on this node")),
        }
    }
    decide(rule, &expr, &values, false)
}

/// `problem_when_true`: nodeInfo rules describe the problem (`cpu > 80`), the others a healthy node.
fn decide(rule: &RequestRule, expr: &Expr, values: &BTreeMap<String, String>, problem_when_true: bool) -> RuleResult {
    match expr.evaluate(&|n| values.get(n).cloned()) {
        Err(e) => error(rule, e),
        Ok(eval) => {
            let observed = eval.observed.iter().map(|o| o.to_string()).collect::<Vec<_>>().join("; ");
            let value = values.values().cloned().collect::<Vec<_>>().join(", ");
            let failed = eval.holds == problem_when_true;
            let message = if failed {
                if problem_when_true { format!("{} ({expr})", shown(values)) } else { observed }
            } else if problem_when_true {
                format!("{} (rule `{expr}` does not hold)", shown(values))
            } else {
                format!("{} (rule `{expr}` holds)", shown(values))
            };
            outcome(rule, if failed { Outcome::Fail } else { Outcome::Pass }, message, Some(value))
        }
    }
}

fn shown(values: &BTreeMap<String, String>) -> String {
    values.iter().map(|(k, v)| format!("{k} is {v}")).collect::<Vec<_>>().join(", ")
}

fn facts(request: &Request, host: &HostAccess, now: jiff::Timestamp) -> Facts {
    let info: Vec<&RequestRule> = request.rules.iter().filter(|r| r.kind == "nodeInfo").collect();
    let mut mounts = vec!["/".to_string()];
    for m in info.iter().filter_map(|r| r.mount.clone()).chain(request.disk_mounts.iter().cloned()) {
        if !mounts.contains(&m) {
            mounts.push(m);
        }
    }
    let needs_cpu = info.iter().any(|r| r.rule.as_deref().is_some_and(|t| t.contains("cpu")));
    let offset = request
        .reference_time
        .as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|reference| now.duration_since(reference).as_secs_f64());
    Facts {
        filesystems: mounts.iter().filter_map(|m| probe::filesystem(&host.root, m).ok()).collect(),
        load1: probe::load(&host.root).map(|l| l[0]),
        cpu_percent: if needs_cpu { probe::cpu_percent(&host.root, CPU_SAMPLE).map(round2) } else { None },
        memory_percent: probe::memory_percent(&host.root).map(round2),
        clock_offset_seconds: offset.map(|o| (o * 1000.0).round() / 1000.0),
        ntp_synchronized: if request.rules.iter().any(|r| r.kind == "clock") { ntp::synchronized() } else { None },
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn node_info(rule: &RequestRule, facts: &Facts, host: &HostAccess) -> RuleResult {
    let Some(Ok(expr)) = rule.rule.as_deref().map(Expr::parse) else {
        return error(rule, "no valid `rule`".into());
    };
    let mount = rule.mount.as_deref().unwrap_or("/");
    let fs = facts.filesystems.iter().find(|f| f.mount == mount);
    let percent = |used: u64, total: u64| (total > 0).then(|| round2(used as f64 / total as f64 * 100.0));
    let mut values = BTreeMap::new();
    for name in expr.names() {
        let value = match name.as_str() {
            "cpu" => facts.cpu_percent,
            "memory" => facts.memory_percent,
            "load" | "load1" => facts.load1,
            "load5" => probe::load(&host.root).map(|l| l[1]),
            "load15" => probe::load(&host.root).map(|l| l[2]),
            "filesystem" => fs.and_then(|f| percent(f.used_bytes, f.total_bytes)),
            "inode" => fs.and_then(|f| percent(f.inodes_used, f.inodes_total)),
            _ => None,
        };
        match value {
            Some(v) => values.insert(name, crate::rules::prometheus::format_value(v)),
            None => return error(rule, format!("`{name}` could not be read on this node")),
        };
    }
    decide(rule, &expr, &values, true)
}

fn file_change(rule: &RequestRule, request: &Request, host: &HostAccess) -> RuleResult {
    let Some(path) = rule.path.as_deref() else { return error(rule, "no `path`".into()) };
    let baseline = request.previous.get(path);
    match probe::file_state(&host.root, path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && baseline.is_some() => {
            outcome(rule, Outcome::Fail, format!("{path} was removed (it existed in the previous run)"), None)
        }
        Err(e) => error(rule, format!("cannot read {path}: {e}")),
        Ok(state) => {
            let short = |h: &str| h.chars().take(12).collect::<String>();
            let (result, message) = match baseline {
                None => {
                    (Outcome::Pass, format!("{path}: first run, baseline sha256 {} recorded", short(&state.sha256)))
                }
                Some(b) if b.sha256 == state.sha256 && b.size == state.size => {
                    (Outcome::Pass, format!("{path} is unchanged"))
                }
                Some(b) => (
                    Outcome::Fail,
                    format!(
                        "{path} changed: sha256 {} ({} bytes) → {} ({} bytes), modified {}",
                        short(&b.sha256),
                        b.size,
                        short(&state.sha256),
                        state.size,
                        state.modified
                    ),
                ),
            };
            RuleResult {
                rule: rule.id.clone(),
                outcome: result,
                message,
                observed: Some(state.sha256.clone()),
                file: Some(state),
            }
        }
    }
}

/// File tails read so far, by path: several rules on one log read it once.
type Tails = BTreeMap<String, Result<String, String>>;

fn file_filter(rule: &RequestRule, request: &Request, host: &HostAccess, tails: &mut Tails) -> RuleResult {
    let (Some(path), Some(pattern)) = (rule.path.as_deref(), rule.pattern.as_deref().or(rule.rule.as_deref())) else {
        return error(rule, "needs `path` and `pattern`".into());
    };
    let regex = match probe::line_regex(pattern) {
        Ok(r) => r,
        Err(e) => return error(rule, e),
    };
    let bound = request.limits.file_filter_tail_bytes;
    let text = match tails
        .entry(path.to_string())
        .or_insert_with(|| probe::tail(&host.root, path, bound).map_err(|e| e.to_string()))
    {
        Ok(text) => text.as_str(),
        Err(e) => return error(rule, format!("cannot read {path}: {e}")),
    };
    match probe::matching_lines(&regex, text) {
        (_, None) => outcome(
            rule,
            Outcome::Pass,
            format!("no line matching `{pattern}` in the last {bound} bytes of {path}"),
            Some("0".into()),
        ),
        (count, Some(sample)) => {
            let sample = crate::text::secrets::mask(sample);
            let sample: String = sample.chars().take(300).collect();
            outcome(
                rule,
                Outcome::Fail,
                format!("{count} line(s) matching `{pattern}` in the last {bound} bytes of {path}, e.g. {sample}"),
                Some(count.to_string()),
            )
        }
    }
}

fn custom_command(rule: &RequestRule, request: &Request, host: &HostAccess) -> RuleResult {
    let Some(command) = rule.command.as_deref() else { return error(rule, "no `command`".into()) };
    let timeout = Duration::from_secs_f64(request.limits.command_timeout_seconds.clamp(0.001, 3600.0));
    let run = match probe::run_command(&host.root, command, timeout, request.limits.command_output_bytes) {
        Ok(run) => run,
        Err(e) => return error(rule, e),
    };
    let code = run.exit_code.map_or_else(|| "killed".to_string(), |c| c.to_string());
    let output = run.output.trim().to_string();
    let Some(text) = rule.rule.as_deref() else {
        let ok = run.exit_code == Some(0);
        let message = format!("`{command}` exited with {code}");
        return outcome(rule, if ok { Outcome::Pass } else { Outcome::Fail }, message, Some(code));
    };
    let expr = match Expr::parse(text) {
        Ok(e) => e,
        Err(e) => return error(rule, e),
    };
    let values = BTreeMap::from([("output".to_string(), output), ("exitCode".to_string(), code)]);
    let mut result = decide(rule, &expr, &values, false);
    result.message = crate::text::secrets::mask(&result.message).chars().take(500).collect();
    if run.truncated {
        result.message.push_str(" (output cut at the limit)");
    }
    result.observed = result.observed.map(|o| crate::text::secrets::mask(&o).chars().take(200).collect());
    result
}

/// A clock rule decided on the inspection's reading of the node's clock.
fn clock_read(
    node: &RuleResult,
    reading: ClockReading,
    host: &crate::rules::host::HostRule,
    facts: &Facts,
) -> RuleResult {
    let offset = reading.offset_seconds;
    let message = format!(
        "the clock is {offset:+.3} s (± {:.3} s) off the inspection's, read from the pod's log while it ran ({})",
        reading.uncertainty_seconds,
        ntp_words(facts)
    );
    let outcome = if offset.abs() > host.warning_seconds { Outcome::Fail } else { Outcome::Pass };
    RuleResult { rule: node.rule.clone(), outcome, message, observed: Some(format!("{offset}")), file: None }
}

fn ntp_words(facts: &Facts) -> &'static str {
    match facts.ntp_synchronized {
        Some(true) => "NTP synchronised",
        Some(false) => "NTP not synchronised",
        None => "NTP status unknown",
    }
}

fn clock(rule: &RequestRule, facts: &Facts) -> RuleResult {
    let warning = rule.warning_seconds.unwrap_or(1.0);
    let ntp = ntp_words(facts);
    match facts.clock_offset_seconds {
        None => error(rule, format!("no reference time in the request to compare the clock with ({ntp})")),
        Some(offset) => {
            let message = format!("the clock is {offset:+.3} s off the inspection's ({ntp})");
            let result = if offset.abs() > warning { Outcome::Fail } else { Outcome::Pass };
            outcome(rule, result, message, Some(format!("{offset}")))
        }
    }
}

/// Validates a node's result against the schema and turns it into findings:
/// one per failed or unchecked rule on the node, in section [`SECTION`].
/// A result that is malformed, of another version or for another node is `Err` (a coverage gap).
pub fn judge(node: &str, result: &Value, rules: &RuleSet) -> Result<Vec<Finding>, String> {
    judge_with(node, result, rules, None)
}

/// [`judge`], with the node's clock as the inspection read it: when there is a
/// reading, the clock rules are decided on its offset, not on the node's.
pub fn judge_with(
    node: &str,
    result: &Value,
    rules: &RuleSet,
    clock: Option<ClockReading>,
) -> Result<Vec<Finding>, String> {
    let parsed = validate_with_clock(node, result, rules, clock)?;
    Ok(findings(node, &parsed, rules))
}

/// [`validate`], then, when the inspection read the node's clock, its clock
/// rules decided on that reading: what [`findings`] and the report's
/// `nodeChecks` both count.
pub fn validate_with_clock(
    node: &str,
    result: &Value,
    rules: &RuleSet,
    clock: Option<ClockReading>,
) -> Result<NodeResult, String> {
    let mut parsed = validate(node, result)?;
    if let Some(reading) = clock {
        read_clock(&mut parsed, reading, rules);
    }
    Ok(parsed)
}

/// Decides the clock rules of a validated result on the inspection's own
/// reading of the node's clock (its beacons), replacing the node's verdict.
fn read_clock(parsed: &mut NodeResult, reading: ClockReading, rules: &RuleSet) {
    let facts = parsed.facts.clone();
    for r in &mut parsed.results {
        let Some(Logic::Host(host)) = rules.get(&r.rule).map(|rule| &rule.logic) else { continue };
        if host.kind == HostKind::Clock {
            *r = clock_read(r, reading, host, &facts);
        }
    }
}

/// Validates a node's result against the schema and parses it. A result that
/// is malformed, of another version or for another node is `Err` (a coverage gap).
pub fn validate(node: &str, result: &Value) -> Result<NodeResult, String> {
    static SCHEMA: std::sync::LazyLock<Result<jsonschema::Validator, String>> = std::sync::LazyLock::new(|| {
        let schema: Value = serde_json::from_str(protocol::RESULT_SCHEMA).map_err(|e| e.to_string())?;
        jsonschema::validator_for(&schema).map_err(|e| e.to_string())
    });
    let validator = SCHEMA.as_ref().map_err(|e| format!("the result schema does not compile: {e}"))?;
    if let Some(e) = validator.iter_errors(result).next() {
        return Err(format!(
            "node {node}: the node-check result does not match its schema: {e} at {}",
            e.instance_path()
        ));
    }
    let parsed: NodeResult =
        serde_json::from_value(result.clone()).map_err(|e| format!("node {node}: the node-check result: {e}"))?;
    if parsed.node != node {
        return Err(format!("node {node}: the node-check result is for node `{}`", parsed.node));
    }
    Ok(parsed)
}

/// The findings of a node's validated result: one per failed or unchecked
/// enabled host rule, in section [`SECTION`].
pub fn findings(node: &str, parsed: &NodeResult, rules: &RuleSet) -> Vec<Finding> {
    let object = ObjectRef { group: String::new(), kind: "Node".into(), namespace: None, name: node.to_string() };
    let mut findings = Vec::new();
    for r in &parsed.results {
        let Some(rule) = rules.get(&r.rule).filter(|rule| rule.enabled()) else { continue };
        let Logic::Host(host) = &rule.logic else { continue };
        if r.outcome == Outcome::Pass {
            continue;
        }
        let mut finding = Finding::new(rule, SECTION, &object);
        let detail: String = r.message.chars().take(1000).collect();
        finding.message = match r.outcome {
            Outcome::Error => format!("{}: could not be checked: {detail}", rule.failure_message).into(),
            _ if detail.is_empty() => rule.failure_message.clone().into(),
            _ => format!("{}: {detail}", rule.failure_message).into(),
        };
        finding.reason = Some(match r.outcome {
            Outcome::Error => "CheckError".into(),
            _ => host.kind.name().into(),
        });
        if host.kind == HostKind::Clock
            && r.outcome == Outcome::Fail
            && let Some(offset) = r.observed.as_deref().and_then(|o| o.parse::<f64>().ok())
            && offset.abs() > host.danger_seconds
        {
            finding.severity = Severity::Danger;
        }
        if host.kind == HostKind::FileFilter
            && let Some(count) = r.observed.as_deref().and_then(|o| o.parse::<u64>().ok())
        {
            finding.count = Some(count);
        }
        if let Some(file) = &r.file {
            finding.last_seen = Some(file.modified.as_str()).filter(|m| !m.is_empty()).map(Into::into);
        }
        findings.push(finding);
    }
    findings
}

#[cfg(test)]
mod tests;

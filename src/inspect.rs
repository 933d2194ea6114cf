//! One inspection, from a snapshot or a live cluster, to an evaluation:
//! the glue between collection and checks.

pub mod node_checks;
pub mod overview;
pub mod streamed;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::checks::verdict;
use crate::checks::{Evaluation, Inspector};
use crate::clock;
use crate::collect::client::{ClusterAccess, ConnectError};
use crate::collect::live::{LiveCollector, StreamSink};
use crate::collect::offline;
use crate::collect::prometheus::Prometheus;
use crate::config::{InspectSettings, NodeCheckSettings};
use crate::inventory::{
    CoverageGap, GapKind, Inventory, LogRecord, NamespaceFilter, Object, SUMMARY_RESOURCE, section,
};
use crate::report::{
    Cluster, Health, NodeChecks, NodeFiles, Overview, Report, ReportScope, RuleDoc, SCHEMA_VERSION, Summary, Tool,
};
use crate::rules::RuleSet;

/// Where the cluster data comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Files and directories (`--snapshot`).
    Snapshot(Vec<PathBuf>),
    /// The API server; the duration bounds the whole inspection (`--timeout`).
    Live(ClusterAccess, Duration),
}

/// What an inspection produced, before it becomes a report.
#[derive(Debug)]
pub struct Inspected {
    /// Cluster display name, when the source knows it.
    pub cluster: Option<String>,
    /// Where the data came from.
    pub sources: Vec<String>,
    /// When the inspection started (RFC 3339); a snapshot's collection time.
    pub started_at: String,
    /// When it finished; a snapshot's collection time, so its report is reproducible.
    pub finished_at: Option<String>,
    /// What could not be inspected.
    pub gaps: Vec<CoverageGap>,
    /// Findings and passes.
    pub evaluation: Evaluation,
    /// The namespaces covered, when limited.
    pub scope: Option<ReportScope>,
    /// The health verdict on the findings kept (`None` when there is nothing to judge it on).
    pub health: Option<Health>,
    /// What the cluster is made of (`None` when nothing was inspected).
    pub overview: Option<Overview>,
    /// What the host rules came to on the nodes; `None` without host rules.
    pub node_checks: Option<NodeChecks>,
}

/// Why an inspection could not happen at all.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// A snapshot path is unreadable.
    #[error(transparent)]
    Snapshot(#[from] offline::SnapshotError),
    /// The cluster is unreachable.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The snapshot paths hold no Kubernetes object at all: probably the wrong path.
    #[error(
        "no Kubernetes objects found in {0} (expected YAML or JSON manifests, `kubectl get -o yaml` output, or a `ke snapshot` directory)"
    )]
    EmptySnapshot(String),
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// PromQL rules without a usable Prometheus: no endpoint, credentials or CA unreadable.
    #[error("{0}")]
    Prometheus(String),
}

/// How an inspection runs the host rules on the nodes.
#[derive(Debug, Clone, Copy)]
pub struct NodeCheckRun<'a> {
    /// `nodeChecks:` of the config.
    pub settings: &'a NodeCheckSettings,
    /// The previous report's `nodeFiles`: the fileChange baselines.
    pub previous_files: &'a NodeFiles,
}

/// Runs one inspection.
pub fn inspect(
    source: &Source,
    rules: &RuleSet,
    settings: &InspectSettings,
    scope: &NamespaceFilter,
    node_checks: Option<NodeCheckRun<'_>>,
) -> Result<Inspected, InspectError> {
    let started_at = clock::format(clock::now());
    // Before anything is read: a PromQL rule with nowhere to ask is bad input.
    let prometheus = Prometheus::connect(&settings.prometheus, rules).map_err(InspectError::Prometheus)?;
    match source {
        Source::Snapshot(paths) => match &prometheus {
            Some(p) => runtime()?.block_on(inspect_snapshot(paths, rules, settings, scope, Some(p))),
            // Nothing awaits a server: no runtime needed.
            None => futures::executor::block_on(inspect_snapshot(paths, rules, settings, scope, None)),
        },
        Source::Live(access, total) => {
            let runtime = runtime()?;
            runtime.block_on(async {
                let (inventory, evaluation) =
                    inspect_live(access, *total, rules, settings, scope, prometheus.as_ref(), node_checks).await?;
                Ok(finish(inventory, evaluation, started_at, scope, rules))
            })
        }
    }
}

/// A snapshot's inspection; PromQL rules ask `prometheus` as of the snapshot's time.
pub async fn inspect_snapshot(
    paths: &[PathBuf],
    rules: &RuleSet,
    settings: &InspectSettings,
    scope: &NamespaceFilter,
    prometheus: Option<&Prometheus>,
) -> Result<Inspected, InspectError> {
    let started_at = clock::format(clock::now());
    // Read twice: once for what the cross-object checks look up, once to
    // evaluate every object as it is parsed and drop it.
    let mut plan = streamed::read(paths, settings.collection.max_file_bytes, scope)?;
    if plan.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(InspectError::EmptySnapshot(names.join(", ")));
    }
    if let Some(prometheus) = prometheus {
        // Asked as of the snapshot's time, so its report and Prometheus's history agree.
        let inventory = &mut plan.inventory;
        let at = inventory.collected_at.as_deref().and_then(clock::parse).unwrap_or_else(clock::now);
        let (series, gaps) = prometheus.query(rules, at).await;
        inventory.series = series;
        inventory.gaps.extend(gaps);
    }
    let (inventory, evaluation) = plan.evaluate(rules, settings, scope)?;
    let collected_at = inventory.collected_at.clone();
    let mut inspected = finish(inventory, evaluation, started_at, scope, rules);
    inspected.node_checks = node_checks::not_run(
        rules,
        "host rules run on the nodes of a live cluster (ke diag --node-checks, ke run), not on a snapshot",
    );
    if let Some(at) = collected_at {
        // A snapshot is reported as of when it was taken.
        inspected.started_at.clone_from(&at);
        inspected.finished_at = Some(at);
    }
    Ok(inspected)
}

/// A runtime for the live commands: a few workers, enough for I/O-bound collection.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
}

/// The live path: keep, stream page by page, add what arrived late, finish.
pub async fn inspect_live(
    access: &ClusterAccess,
    total: Duration,
    rules: &RuleSet,
    settings: &InspectSettings,
    scope: &NamespaceFilter,
    prometheus: Option<&Prometheus>,
    node_checks: Option<NodeCheckRun<'_>>,
) -> Result<(Inventory, Evaluation), ConnectError> {
    let mut collector = LiveCollector::connect(access, settings, scope, total).await?;
    let at = collector.collected_at();
    let asked = async {
        match prometheus {
            Some(p) => tokio::time::timeout(total, p.query(rules, at)).await.unwrap_or_else(|_| {
                let gap = crate::inventory::CoverageGap::error(
                    crate::collect::prometheus::SECTION,
                    "queries",
                    format!(
                        "the inspection deadline ({}s, --timeout) passed before Prometheus answered",
                        total.as_secs()
                    ),
                );
                (Vec::new(), vec![gap])
            }),
            None => (Vec::new(), Vec::new()),
        }
    };
    // Prometheus answers while the controllers are listed; its series are in
    // the inventory before pods stream by, so pod series find their controllers.
    let (mut inventory, (series, prom_gaps)) = tokio::join!(collector.keep(), asked);
    inventory.series = series;
    inventory.gaps.extend(prom_gaps);
    let needs = rules.needs();
    let state = {
        let mut inspector = Inspector::new(&inventory, rules, settings);
        // The Services are kept: their ports are tried while pods stream by.
        let probes = async {
            match needs.service_probes && settings.service_connect.enabled {
                true => crate::collect::service_connect::probe(&inventory, &settings.service_connect).await,
                false => Vec::new(),
            }
        };
        let (late, probes) =
            tokio::join!(collector.stream(&inventory, &mut inspector as &mut dyn StreamSink, &needs), probes);
        (inspector.suspend(), late, probes)
    };
    let (state, late, probes) = state;
    inventory.objects.extend(late);
    inventory.objects.extend(probes);
    // The node checks run after collection, with the same client, and before the
    // node rules are judged: NodeDisk reads the figures the nodes measured.
    let api = collector.api().clone();
    collector.finish(&mut inventory);
    let mut summary = None;
    let checked = match node_checks {
        _ if !needs.node_checks => None,
        _ if !scope.only.is_empty() => {
            summary = node_checks::not_run(
                rules,
                "the inspection was limited to some namespaces (-n); host rules run on the nodes without it",
            );
            None
        }
        Some(run) => {
            let mut checked = check_nodes(&api, rules, run, &inventory, at).await;
            drop_moot_summary_gaps(&mut inventory, &checked.disks);
            inventory.objects.append(&mut checked.disks);
            Some(checked)
        }
        None => {
            inventory.gaps.push(CoverageGap::unavailable(
                crate::nodecheck::SECTION,
                "host rules",
                format!(
                    "{} host rule(s) were not run: pass --node-checks (needs deploy/node-checks/)",
                    rules.host_rules().count()
                ),
            ));
            summary = node_checks::not_run(rules, "not asked: pass --node-checks (needs deploy/node-checks/)");
            None
        }
    };
    let mut evaluation = Inspector::resume(&inventory, state).finish();
    if let Some(checked) = checked {
        evaluation.findings.extend(checked.findings);
        evaluation.gaps.extend(checked.gaps);
        evaluation.node_files = checked.files;
        summary = checked.summary;
        crate::report::sort_findings(&mut evaluation.findings);
    }
    evaluation.node_checks = summary;
    Ok((inventory, evaluation))
}

/// A kubelet Summary API gap says NodeDisk could not be judged; a node that
/// measured its own disks makes it moot (for every node, when the gap is run-wide).
fn drop_moot_summary_gaps(inventory: &mut Inventory, disks: &[Object]) {
    let measured: std::collections::HashSet<&str> = disks.iter().map(|o| o.id.name.as_str()).collect();
    let every_node =
        inventory.objects.iter().filter(|o| o.id.kind == "Node").all(|o| measured.contains(o.id.name.as_str()));
    inventory.gaps.retain(|g| match g.resource.strip_prefix(SUMMARY_RESOURCE) {
        Some("") => !every_node,
        Some(node) => !measured.contains(node.trim_start()),
        None => true,
    });
}

/// What the node-check phase produced.
#[derive(Debug, Default)]
struct NodesChecked {
    findings: Vec<crate::report::Finding>,
    gaps: Vec<CoverageGap>,
    /// The report's `nodeFiles`.
    files: NodeFiles,
    /// Each node's disk figures, for NodeDisk.
    disks: Vec<Object>,
    /// The report's `nodeChecks`.
    summary: Option<NodeChecks>,
}

/// Runs the host rules on the nodes through one Job each and judges what
/// every node answered: findings, a coverage gap for each node that could
/// not answer (or one for the whole phase), and the report's `nodeChecks`.
async fn check_nodes(
    api: &crate::collect::client::Api,
    rules: &RuleSet,
    run: NodeCheckRun<'_>,
    inventory: &Inventory,
    at: clock::Timestamp,
) -> NodesChecked {
    let settings = run.settings;
    let nodes: Vec<(String, BTreeMap<String, String>)> = inventory
        .objects
        .iter()
        .filter(|o| o.id.kind == "Node")
        .map(|o| {
            let labels = o
                .metadata()
                .get("labels")
                .and_then(serde_json::Value::as_object)
                .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
                .unwrap_or_default();
            (o.id.name.to_string(), labels)
        })
        .collect();
    let now = clock::format(at);
    // The nodes measure their disks only for an enabled NodeDisk.
    let disk_mounts: &[String] = if rules.needs().kubelet_summaries { &settings.disk_mounts } else { &[] };
    let options = crate::nodecheck::RequestOptions {
        limits: crate::nodecheck::protocol::Limits::from(settings),
        previous: crate::nodecheck::baselines(run.previous_files),
        reference_time: Some(&now),
        disk_mounts,
        clock_beacon: crate::collect::node_jobs::beacon_window(settings),
    };
    let requests = crate::nodecheck::requests_with(rules, &nodes, &options);
    // What each node was asked; a node asked only for its disk figures runs no host rule.
    let asked: Vec<(String, Vec<String>)> = requests
        .iter()
        .map(|(node, request)| (node.clone(), node_checks::requested_rules(request)))
        .filter(|(_, rules)| !rules.is_empty())
        .collect();
    if requests.is_empty() {
        return NodesChecked {
            summary: Some(node_checks::summarize(rules, &asked, &[], &[])),
            ..NodesChecked::default()
        };
    }
    let mut outcome = crate::collect::node_jobs::run_node_checks(api, settings, &now, requests.clone()).await;
    let mut checked = NodesChecked {
        files: crate::nodecheck::node_files(&requests, &outcome.results, run.previous_files),
        gaps: std::mem::take(&mut outcome.gaps),
        ..NodesChecked::default()
    };
    let mut answered = Vec::new();
    for (node, result) in &outcome.results {
        match crate::nodecheck::validate_with_clock(node, result, rules, outcome.clocks.get(node).copied()) {
            Ok(parsed) => {
                checked.findings.extend(crate::nodecheck::findings(node, &parsed, rules));
                checked.disks.extend(crate::nodecheck::disk_object(node, result, disk_mounts));
                answered.push((node.clone(), parsed));
            }
            Err(reason) => checked.gaps.push(CoverageGap::error(
                crate::nodecheck::SECTION,
                format!("node {node}"),
                format!("its node-check result was not usable: {reason}"),
            )),
        }
    }
    checked.summary = Some(node_checks::summarize(rules, &asked, &answered, &checked.gaps));
    checked
}

/// The inspector evaluates what streams by: pods and events page by page,
/// config maps with the object rules, logs as they arrive.
impl StreamSink for Inspector<'_, '_> {
    fn pods(&mut self, page: &[Object]) {
        Inspector::pods(self, page);
    }
    fn events(&mut self, page: &[Object]) {
        Inspector::events(self, page);
    }
    fn configmaps(&mut self, page: &[Object]) {
        self.objects(page);
    }
    fn log(&mut self, record: &LogRecord<'_>) {
        Inspector::log(self, record);
    }
}

/// Drops what the namespace scope does not report and gathers the coverage gaps.
pub fn finish(
    mut inventory: Inventory,
    mut evaluation: Evaluation,
    started_at: String,
    scope: &NamespaceFilter,
    rules: &RuleSet,
) -> Inspected {
    // Cluster-scoped objects were kept for lookups; only what the scope asks for is reported.
    // A namespace-less manifest's objects are in `default` once applied.
    evaluation.findings.retain(|f| scope.reports(crate::inventory::applied_namespace(&f.kind, f.namespace.as_deref())));
    let mut gaps = std::mem::take(&mut inventory.gaps);
    gaps.extend(std::mem::take(&mut evaluation.gaps));
    if !scope.only.is_empty() {
        gaps.retain(|g| !matches!(g.section.as_str(), section::NODES | section::CONTROL_PLANE));
    }
    for ns in &scope.only {
        let seen = inventory.objects.iter().any(|o| {
            crate::inventory::applied_namespace(&o.id.kind, o.id.namespace.as_deref()) == Some(ns.as_str())
                || (o.id.kind == "Namespace" && o.id.name == *ns)
        }) || inventory.streamed.namespaces.contains(ns);
        if !seen {
            gaps.push(CoverageGap::unavailable(
                "scope",
                format!("namespace {ns}"),
                format!("nothing was found in namespace `{ns}`: does it exist? (kubectl get namespace {ns})"),
            ));
        }
    }
    let limited = !scope.only.is_empty() || !scope.exclude.is_empty();
    let report_scope =
        limited.then(|| ReportScope { namespaces: scope.only.clone(), exclude_namespaces: scope.exclude.clone() });
    let health = verdict::assess(&verdict::node_readiness(&inventory), rules, &evaluation.findings);
    Inspected {
        node_checks: evaluation.node_checks.take(),
        overview: Some(overview::overview(&inventory, &gaps)),
        health: Some(health),
        cluster: inventory.cluster,
        sources: inventory.sources,
        started_at,
        finished_at: None,
        gaps,
        evaluation,
        scope: report_scope,
    }
}

impl Inspected {
    /// The report: health, summary, coverage, findings, and the documentation of every rule with a finding.
    pub fn into_report(mut self, rules: &RuleSet, cluster: String) -> Report {
        self.gaps.extend(std::mem::take(&mut self.evaluation.gaps));
        let mut docs = BTreeMap::new();
        for f in &self.evaluation.findings {
            if !docs.contains_key(f.rule.as_str())
                && let Some(r) = rules.get(&f.rule)
            {
                docs.insert(f.rule.to_string(), RuleDoc::of(r));
            }
        }
        Report {
            schema_version: SCHEMA_VERSION.into(),
            tool: Tool::default(),
            cluster: Cluster { name: cluster, sources: self.sources },
            finished_at: self.finished_at.unwrap_or_else(|| clock::format(clock::now())),
            started_at: self.started_at,
            complete: !self.gaps.iter().any(|g| g.kind == GapKind::Error),
            health: self.health,
            overview: self.overview,
            summary: Summary::from_findings(&self.evaluation.findings, self.evaluation.passed),
            coverage: self.gaps,
            findings: self.evaluation.findings,
            exemptions: self.evaluation.exempted.into_list(),
            scope: self.scope,
            rules: docs,
            diff: None,
            node_checks: self.node_checks,
            node_files: self.evaluation.node_files,
        }
    }
}

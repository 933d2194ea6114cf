//! Wiring: turns parsed command lines into work, and work into an exit status.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Context;

use crate::cli::{
    ColorChoice, Command, DiagArgs, FailOn, InstallArgs, ListFormat, OutputFormat, RenderArgs, RulesCommand, RunArgs,
    Scope, SnapshotArgs, UninstallArgs,
};
use crate::collect::client::ClusterAccess;
use crate::collect::live::LiveCollector;
use crate::collect::redact::Redaction;
use crate::collect::snapshot::SnapshotWriter;
use crate::config::FileConfig;
use crate::exit::ExitStatus;
use crate::inspect::{self, InspectError, Source};
use crate::inventory::NamespaceFilter;
use crate::render;
use crate::report::{Report, Severity};
use crate::rules::{Needs, RuleSet, Target, docs};

/// Runs one command, writing its output to `out`.
///
/// When `out` is a terminal, everything but the table view (which escapes
/// cluster text itself and keeps its colours) goes through
/// [`render::terminal::Escaping`], so no escape sequence from the cluster
/// reaches the terminal.
pub fn run(command: Command, color: ColorChoice, out: &mut dyn Write, terminal: bool) -> anyhow::Result<ExitStatus> {
    let table = match &command {
        Command::Diag(args) => args.output == OutputFormat::Table,
        Command::Render(args) => args.output == OutputFormat::Table,
        _ => false,
    };
    if terminal && !table {
        let mut guarded = render::terminal::Escaping::new(out);
        let status = dispatch(command, color, &mut guarded);
        guarded.flush()?;
        return status;
    }
    dispatch(command, color, out)
}

fn dispatch(command: Command, color: ColorChoice, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Diag(args) => diag(&args, color, out),
        Command::Render(args) => render_saved(&args, color, out),
        Command::Run(args) => run_job(&args, out),
        Command::Snapshot(args) => snapshot(&args, out),
        Command::Install(args) => install(&args, out),
        Command::Uninstall(args) => uninstall(&args, out),
        Command::Rules { command } => rules(command, out),
        Command::NodeCheck(args) => node_check(&args, out),
        Command::Config { command } => {
            match command {
                crate::cli::ConfigCommand::Schema => {
                    out.write_all(crate::config::reference::schema_text().as_bytes())?
                }
                crate::cli::ConfigCommand::Docs => out.write_all(crate::config::reference::markdown().as_bytes())?,
            }
            Ok(ExitStatus::Clean)
        }
    }
}

/// `ke node-check`: read the request, check this host, print one JSON line.
fn node_check(args: &crate::cli::NodeCheckArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let text = match (&args.request, &args.request_env) {
        (Some(path), _) if path.as_os_str() == "-" => std::io::read_to_string(std::io::stdin())?,
        (Some(path), _) => std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("--request {}: cannot read it: {e}", path.display()))?,
        (None, Some(var)) => {
            std::env::var(var).map_err(|_| anyhow::anyhow!("--request-env: `{var}` is not set (or not UTF-8)"))?
        }
        (None, None) => anyhow::bail!("give the request with --request FILE or --request-env VAR"),
    };
    let request = crate::nodecheck::parse_request(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    if !args.host_root.is_dir() {
        anyhow::bail!("--host-root {}: not a directory", args.host_root.display());
    }
    let host = crate::nodecheck::HostAccess { root: args.host_root.clone(), system_bus: args.system_bus.clone() };
    let arrived = jiff::Timestamp::now();
    if request.clock_beacon_millis > 0 {
        // While the pod runs, the inspection reads its clock from these lines.
        crate::nodecheck::beacons(out, std::time::Duration::from_millis(request.clock_beacon_millis))?;
    }
    let result = crate::nodecheck::run_since(&request, &host, arrived);
    for r in result.results.iter().filter(|r| r.outcome == crate::nodecheck::protocol::Outcome::Error) {
        tracing::warn!("rule `{}` could not be checked: {}", r.rule, r.message);
    }
    serde_json::to_writer(&mut *out, &result)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(ExitStatus::Clean)
}

fn diag(args: &DiagArgs, color: ColorChoice, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let file = args.config.as_deref().map(FileConfig::load).transpose()?.unwrap_or_default();
    let mut rule_files = file.rules.clone();
    rule_files.extend(args.rules.iter().cloned());
    // Rules and config are validated before anything is read from the cluster.
    let rules = RuleSet::load(&rule_files)?.with_settings(&file.inspection);
    rules.check_node_checks(&file.node_checks)?;
    let scope = namespace_filter(&args.scope, &file);
    let source = source_of(&args.snapshot, &args.cluster);
    // Checked before the inspection, which may take minutes.
    let previous = args.previous.as_deref().map(crate::report::read_report).transpose()?;
    if let Some(dir) = &args.output_dir {
        crate::run::check_writable(dir).map_err(|e| anyhow::anyhow!("--output-dir: {e}"))?;
    }
    // The previous report's nodeFiles are the fileChange baselines.
    let no_files = crate::report::NodeFiles::new();
    let node_checks = args.node_checks.then_some(inspect::NodeCheckRun {
        settings: &file.node_checks,
        previous_files: previous.as_ref().map_or(&no_files, |p| &p.node_files),
    });
    let inspected = match inspect::inspect(&source, &rules, &file.inspection, &scope, node_checks) {
        Ok(i) => i,
        Err(InspectError::Connect(e)) => {
            eprintln!("error: {e}");
            return Ok(connect_status(&e));
        }
        Err(e) => return Err(e.into()),
    };
    let cluster_name = args
        .cluster_name
        .clone()
        .or(file.cluster.clone())
        .or_else(|| inspected.cluster.clone())
        .unwrap_or_else(|| args.snapshot.first().map_or_else(|| "kubernetes".into(), |p| default_cluster_name(p)));
    let mut report = inspected.into_report(&rules, cluster_name);
    if let Some(previous) = &previous {
        warn_other_cluster(&report, previous);
        crate::report::apply_diff(&mut report, previous);
    }
    // What was asked for on stdout comes first: a late write error in --output-dir loses none of it.
    render::write(&report, format_of(args.output, color), out)?;
    out.flush()?;
    if let Some(dir) = &args.output_dir {
        write_all_formats(&report, dir)?;
    }
    Ok(ExitStatus::of_report(&report, args.fail_on.map(FailOn::severity)))
}

/// Comparing two clusters is allowed (a staging/production diff) but rarely meant.
fn warn_other_cluster(report: &Report, previous: &Report) {
    if report.cluster.name != previous.cluster.name {
        eprintln!(
            "warning: --previous is a report of cluster `{}`, this one is of `{}`",
            previous.cluster.name, report.cluster.name
        );
    }
}

/// The renderer for an `-o` value.
fn format_of(output: OutputFormat, color: ColorChoice) -> render::Format {
    match output {
        OutputFormat::Table => render::Format::Table(render::table::TableOptions { color: use_color(color) }),
        OutputFormat::Json => render::Format::Json,
        OutputFormat::Yaml => render::Format::Yaml,
        OutputFormat::Csv => render::Format::Csv,
        OutputFormat::Html => render::Format::Html,
        OutputFormat::Sarif => render::Format::Sarif,
        OutputFormat::Junit => render::Format::Junit,
    }
}

/// `--output-dir`: report.html, report.csv and report.json side by side.
fn write_all_formats(report: &Report, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for format in [render::Format::Html, render::Format::Csv, render::Format::Json] {
        let path = dir.join(format!("report.{}", format.extension()));
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?,
        );
        render::write(report, format, &mut file)?;
        file.flush().with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn render_saved(args: &RenderArgs, color: ColorChoice, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let mut report = crate::report::read_report(&args.report)?;
    if let Some(previous) = &args.previous {
        let previous = crate::report::read_report(previous)?;
        warn_other_cluster(&report, &previous);
        crate::report::apply_diff(&mut report, &previous);
    }
    render::write(&report, format_of(args.output, color), out)?;
    out.flush()?;
    Ok(ExitStatus::Clean)
}

fn run_job(args: &RunArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let mut config = args.config.as_deref().map(FileConfig::load).transpose()?.unwrap_or_default();
    if let Some(dir) = &args.output_dir {
        config.outputs.directory.clone_from(dir);
    }
    if let Some(url) = &args.store {
        config.storage.url = Some(url.clone());
    }
    let scope = namespace_filter(&args.scope, &config);
    let source = source_of(&args.snapshot, &args.cluster);
    let fail_on = args.fail_on.map(FailOn::severity);
    let schedule = args
        .schedule
        .as_deref()
        .map(|s| crate::schedule::Schedule::parse(s, args.time_zone.as_deref()))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let job = crate::run::Job::prepare(config, &args.rules, source, scope, args.cluster_name.clone(), fail_on)
        .map_err(|e| match &args.config {
            Some(path) => anyhow::Error::new(e).context(path.display().to_string()),
            None => e.into(),
        })?;
    if args.check_config {
        writeln!(out, "config OK")?;
        writeln!(out, "  rules:    {} enabled of {}", job.rules.enabled().count(), job.rules.rules.len())?;
        writeln!(out, "  reports:  {}", job.config.outputs.directory.display())?;
        writeln!(out, "  archive:  {}", job.store.location(""))?;
        let n = &job.config.notify;
        writeln!(
            out,
            "  notify:   {}{} webhook(s), when {}",
            n.email.as_ref().map(|e| format!("email to {}, ", e.to.join(", "))).unwrap_or_default(),
            n.webhooks.len(),
            n.when
        )?;
        if let Some(s) = &schedule {
            writeln!(out, "  schedule: {} ({})", s.as_str(), args.time_zone.as_deref().unwrap_or("UTC"))?;
        }
        // The settings hold together; now whether each channel answers, without delivering anything.
        out.flush()?;
        let runtime = inspect::runtime()?;
        let probes = runtime.block_on(crate::deliver::probe::all(
            &job.store,
            job.config.notify.email.as_ref(),
            &job.config.notify.webhooks,
            job.config.notify.pushgateway.as_ref(),
        ));
        writeln!(out, "channels:")?;
        for p in &probes {
            let mark = if p.ok { "ok    " } else { "FAILED" };
            writeln!(out, "  {mark} {:<16} {}: {}", p.channel, p.target, p.detail)?;
        }
        let failed = probes.iter().filter(|p| !p.ok).count();
        if failed > 0 {
            writeln!(
                out,
                "{failed} of {} channel(s) cannot be reached; a run now would fail to deliver",
                probes.len()
            )?;
            return Ok(ExitStatus::DeliveryFailed);
        }
        return Ok(ExitStatus::Clean);
    }
    let runtime = inspect::runtime()?;
    Ok(match schedule {
        None => runtime.block_on(job.run(out)),
        Some(schedule) => runtime.block_on(crate::run::every(&job, &schedule, out)),
    })
}

fn snapshot(args: &SnapshotArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let file = args.config.as_deref().map(FileConfig::load).transpose()?.unwrap_or_default();
    let scope = namespace_filter(&args.scope, &file);
    let redaction = (!args.keep_values).then_some(Redaction { credential: crate::checks::sensitive::secret_shape });
    let mut writer = SnapshotWriter::create(&args.output, redaction).map_err(anyhow::Error::msg)?;
    let access = access_of(&args.cluster);
    let settings = file.inspection.clone();
    let runtime = inspect::runtime()?;
    let result = runtime.block_on(async {
        let mut collector = LiveCollector::connect(&access, &settings, &scope, args.cluster.timeout).await?;
        let mut inventory = collector.keep().await;
        writer.kept(&inventory);
        let late = collector.stream(&inventory, &mut writer, &Needs::everything()).await;
        writer.late(&late);
        collector.finish(&mut inventory);
        Ok::<_, crate::collect::client::ConnectError>(inventory)
    });
    let inventory = match result {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(connect_status(&e));
        }
    };
    let cluster = file.cluster.clone().or(inventory.cluster.clone()).unwrap_or_default();
    let written = writer
        .finish(
            &cluster,
            &inventory.sources.join(", "),
            inventory.collected_at.as_deref().unwrap_or_default(),
            inventory.kubernetes_version.as_deref(),
            &inventory.gaps,
        )
        .map_err(anyhow::Error::msg)?;
    writeln!(out, "wrote {written} objects to {}", args.output.display())?;
    if args.keep_values {
        writeln!(out, "values kept as read (--keep-values): treat the bundle as you would the cluster's secrets")?;
    } else {
        writeln!(
            out,
            "values masked: env values, ConfigMap data, secrets in args, logs and annotations (--keep-values keeps them)"
        )?;
    }
    for gap in &inventory.gaps {
        writeln!(out, "  not read: {} {}: {}", gap.section, gap.resource, gap.reason)?;
    }
    writeln!(out, "inspect it with: ke diag --snapshot {}", args.output.display())?;
    Ok(if inventory.gaps.iter().any(|g| g.kind == crate::inventory::GapKind::Error) {
        ExitStatus::Incomplete
    } else {
        ExitStatus::Clean
    })
}

fn install(args: &InstallArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let crate::cli::Component::Npd = args.component;
    let choice = args.health_checker();
    if args.dry_run {
        // No cluster to read: the health checker is in only when asked for.
        return print_manifests(&crate::install::npd_objects(choice.offline().as_ref())?, out);
    }
    let access = ClusterAccess { kubeconfig: args.kubeconfig.clone(), context: args.context.clone() };
    let done = with_api(&access, |api| async move { Ok(crate::install::apply(&api, &choice).await?) })?;
    for line in done {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "node-problem-detector runs on every node; its findings appear in the next `ke diag`.")?;
    Ok(ExitStatus::Clean)
}

fn uninstall(args: &UninstallArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let crate::cli::Component::Npd = args.component;
    // The health checker adds no object of its own: the same objects go.
    let objects = crate::install::npd_objects(None)?;
    if args.dry_run {
        return print_manifests(&objects, out);
    }
    let access = ClusterAccess { kubeconfig: args.kubeconfig.clone(), context: args.context.clone() };
    let done = with_api(&access, |api| async move { Ok(crate::install::delete(&api, &objects).await?) })?;
    for line in done {
        writeln!(out, "{line}")?;
    }
    Ok(ExitStatus::Clean)
}

fn print_manifests(objects: &[crate::inventory::Object], out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    for object in objects {
        writeln!(out, "---")?;
        out.write_all(serde_norway::to_string(&object.raw)?.as_bytes())?;
    }
    Ok(ExitStatus::Clean)
}

/// Connects to the cluster (30 s per request), checks it answers, and runs `work`.
fn with_api<F, Fut>(access: &ClusterAccess, work: F) -> anyhow::Result<Vec<String>>
where
    F: FnOnce(crate::collect::client::Api) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Vec<String>>>,
{
    inspect::runtime()?.block_on(async {
        let api = crate::collect::client::Api::new(access, std::time::Duration::from_secs(30)).await?;
        api.probe().await?;
        work(api).await
    })
}

fn default_cluster_name(path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let name = if path.is_dir() { path.file_name() } else { path.file_stem() };
    name.map_or_else(|| "snapshot".into(), |n| n.to_string_lossy().into_owned())
}

/// No usable configuration is bad input (2); a cluster that does not answer leaves the inspection incomplete (3).
fn connect_status(e: &crate::collect::client::ConnectError) -> ExitStatus {
    match e {
        crate::collect::client::ConnectError::Config(_) => ExitStatus::Invalid,
        crate::collect::client::ConnectError::Unreachable { .. } => ExitStatus::Incomplete,
    }
}

/// Snapshot files when given, otherwise the live cluster.
fn source_of(snapshot: &[std::path::PathBuf], cluster: &crate::cli::ClusterArgs) -> Source {
    if snapshot.is_empty() {
        Source::Live(access_of(cluster), cluster.timeout)
    } else {
        Source::Snapshot(snapshot.to_vec())
    }
}

fn access_of(cluster: &crate::cli::ClusterArgs) -> ClusterAccess {
    ClusterAccess { kubeconfig: cluster.kubeconfig.clone(), context: cluster.context.clone() }
}

fn namespace_filter(scope: &Scope, file: &FileConfig) -> NamespaceFilter {
    let only = if scope.all_namespaces {
        Vec::new()
    } else if scope.namespace.is_empty() {
        file.namespaces.clone()
    } else {
        scope.namespace.clone()
    };
    let mut exclude = file.exclude_namespaces.clone();
    exclude.extend(scope.exclude_namespace.iter().cloned());
    NamespaceFilter { only, exclude }
}

fn use_color(choice: ColorChoice) -> bool {
    choice.enabled(std::io::stdout().is_terminal())
}

fn rules(command: RulesCommand, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    match command {
        RulesCommand::List { rules, output } => {
            let set = RuleSet::load(&rules)?;
            match output {
                ListFormat::Json => {
                    let list: Vec<_> = set.rules.iter().map(rule_json).collect();
                    serde_json::to_writer_pretty(&mut *out, &list)?;
                    writeln!(out)?;
                }
                ListFormat::Table => {
                    let width = set.rules.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
                    writeln!(
                        out,
                        "{:<width$}   {:<8}   {:<12}   {:<40}   DESCRIPTION",
                        "ID", "SEVERITY", "CATEGORY", "TARGET"
                    )?;
                    for r in &set.rules {
                        writeln!(
                            out,
                            "{:<width$}   {:<8}   {:<12}   {:<40}   {}",
                            r.id,
                            r.severity.map_or("off", Severity::as_str),
                            r.category,
                            r.target.to_string(),
                            r.description
                        )?;
                    }
                }
            }
            Ok(ExitStatus::Clean)
        }
        RulesCommand::Explain { id, rules } => {
            let set = RuleSet::load(&rules)?;
            let rule = set.get(&id).with_context(|| format!("no rule `{id}`; `ke rules list` prints every id"))?;
            writeln!(
                out,
                "{}{}",
                rule.id,
                if rule.aliases.is_empty() { String::new() } else { format!(" (also: {})", rule.aliases.join(", ")) }
            )?;
            writeln!(
                out,
                "  severity:    {}",
                rule.severity.map_or("off (enable with `checks: {id: warning}`)", Severity::as_str)
            )?;
            writeln!(out, "  category:    {}", rule.category)?;
            writeln!(out, "  target:      {}{}", rule.target, target_note(&rule.target))?;
            writeln!(out, "  defined in:  {}", rule.origin)?;
            writeln!(out, "\nWhat it detects\n  {}", rule.description)?;
            if !rule.why.is_empty() {
                writeln!(out, "\nWhy it matters\n  {}", rule.why)?;
            }
            if !rule.remediation.is_empty() {
                writeln!(out, "\nHow to fix it\n  {}", rule.remediation.trim_end().replace('\n', "\n  "))?;
            }
            if !rule.references.is_empty() {
                writeln!(out, "\nReferences")?;
                for r in &rule.references {
                    writeln!(out, "  {r}")?;
                }
            }
            Ok(ExitStatus::Clean)
        }
        RulesCommand::Docs { rules, fixtures } => {
            let set = RuleSet::load(&rules)?;
            let fixtures = match fixtures {
                Some(dir) if !dir.is_dir() => {
                    anyhow::bail!("--fixtures {}: not a directory (expected DIR/<rule-id>/fail*.yaml)", dir.display())
                }
                Some(dir) => Some(dir),
                None => Some(Path::new("tests/fixtures").to_path_buf()).filter(|d| d.is_dir()),
            };
            let markdown =
                docs::markdown(&set, |id| fixtures.as_deref().and_then(|dir| docs::fixture_example(dir, id)));
            out.write_all(markdown.as_bytes())?;
            Ok(ExitStatus::Clean)
        }
    }
}

fn target_note(target: &Target) -> String {
    match docs::target_scope(target) {
        "" => String::new(),
        scope => format!(" ({scope})"),
    }
}

fn rule_json(r: &crate::rules::Rule) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "aliases": r.aliases,
        "severity": r.severity.map_or("off", Severity::as_str),
        "defaultSeverity": r.default_severity.map_or("off", Severity::as_str),
        "category": r.category,
        "target": r.target.to_string(),
        "description": r.description,
        "why": r.why,
        "remediation": r.remediation,
        "references": r.references,
        "origin": r.origin,
    })
}

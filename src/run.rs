//! `ke run`: the nightly job. One complete inspection, the reports rendered
//! and written locally, archived in the object store, compared with the
//! previous run, and the digest mailed and posted. Every delivery channel is
//! tried; what failed is said, and the local reports stay.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::clock;
use crate::collect::client::{ClusterAccess, ConnectError};
use crate::config::{FileConfig, NotifyWhen, ReportFormat};
use crate::deliver::secret::{self, SecretError};
use crate::deliver::store::{Rendered, ReportStore, StoreError, within};
use crate::deliver::templates::{self, DigestView, Escape};
use crate::deliver::{Delivery, Digest, email, pushgateway, webhook};
use crate::exit::ExitStatus;
use crate::inspect::{self, InspectError, Inspected, Source};
use crate::inventory::{CoverageGap, NamespaceFilter};
use crate::render::{self, Format};
use crate::report::{Health, HealthStatus, Overview, Report, Severity};
use crate::rules::RuleSet;

/// Everything a run needs, validated before any I/O.
pub struct Job {
    /// The config file's settings (or the defaults).
    pub config: FileConfig,
    /// Rules in effect.
    pub rules: RuleSet,
    /// Where the cluster data comes from.
    pub source: Source,
    /// Namespaces.
    pub scope: NamespaceFilter,
    /// The report's cluster name, when set.
    pub cluster_name: Option<String>,
    /// `failOn`.
    pub fail_on: Option<Severity>,
    /// The archive.
    pub store: ReportStore,
    /// Render these.
    pub formats: Vec<Format>,
    /// The Prometheus the PromQL rules ask (`None` without such rules).
    pub prometheus: Option<crate::collect::prometheus::Prometheus>,
}

/// What is wrong with a config, found before anything runs. Each message
/// names the key to fix; the cause is kept as the source.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A rule file (from `rules:` or `--rules`).
    #[error(transparent)]
    Rules(#[from] crate::rules::RuleError),
    /// PromQL rules without a usable Prometheus (`inspection.prometheus`).
    #[error("{0}")]
    Prometheus(String),
    /// `outputs.directory` (or `--output-dir`) cannot be written.
    #[error("outputs.directory: {0}")]
    Outputs(String),
    /// `storage:` cannot be used (URL, credentials, the local directory).
    #[error("{0}")]
    Storage(#[source] StoreError),
    /// `notify.email:` cannot be used (an address, the CA file, a template, no password).
    #[error("{0}")]
    Email(#[source] email::EmailError),
    /// The SMTP password's variable or file, named by `passwordEnv` or
    /// `passwordFile`, cannot be read.
    #[error("notify.email.{key}: {source} (the SMTP password of notify.email.username)")]
    SmtpPassword {
        /// `passwordEnv` or `passwordFile`.
        key: &'static str,
        /// Which variable or file, and why.
        #[source]
        source: SecretError,
    },
    /// The Pushgateway's password cannot be read, or none is named for its username.
    #[error("notify.pushgateway: {0}")]
    PushgatewayPassword(String),
    /// A webhook names no source for its URL.
    #[error(
        "notify.webhooks[{name}]: set urlEnv or urlFile (webhook URLs are credentials and never live in the config)"
    )]
    WebhookUrlUnnamed {
        /// The webhook's `name`.
        name: String,
    },
    /// A webhook's URL cannot be read now (it would fail the first night).
    #[error("notify.webhooks[{name}]: {source}")]
    WebhookUrl {
        /// The webhook's `name`.
        name: String,
        /// Why.
        #[source]
        source: SecretError,
    },
}

impl Job {
    /// Validates the config and everything it names: rule files, the store
    /// URL and its credentials, email addresses, webhook secrets. (Words such as
    /// `failOn` or a webhook `format` were checked when the config was read.)
    pub fn prepare(
        config: FileConfig,
        extra_rules: &[PathBuf],
        source: Source,
        scope: NamespaceFilter,
        cluster_name: Option<String>,
        fail_on: Option<Severity>,
    ) -> Result<Self, JobError> {
        let mut rule_files = config.rules.clone();
        rule_files.extend(extra_rules.iter().cloned());
        let rules = RuleSet::load(&rule_files)?.with_settings(&config.inspection);
        rules.check_node_checks(&config.node_checks)?;
        let prometheus = crate::collect::prometheus::Prometheus::connect(&config.inspection.prometheus, &rules)
            .map_err(JobError::Prometheus)?;
        let fail_on = fail_on.or(config.fail_on);
        let mut formats: Vec<Format> = config
            .outputs
            .formats
            .iter()
            .map(|f| match f {
                ReportFormat::Html => Format::Html,
                ReportFormat::Csv => Format::Csv,
                ReportFormat::Json => Format::Json,
            })
            .collect();
        if !formats.contains(&Format::Json) {
            // The JSON report is the contract the next run diffs against.
            formats.push(Format::Json);
        }
        // The metrics file beside the reports, for alerting on the job from the archive.
        formats.push(Format::OpenMetrics);
        check_writable(&config.outputs.directory).map_err(JobError::Outputs)?;
        let store = ReportStore::open(&config.storage, &config.outputs.directory).map_err(JobError::Storage)?;
        if let Some(email) = &config.notify.email {
            let probe = Digest::from_report(&placeholder_report(), None);
            email::message(email, &probe, None).map_err(JobError::Email)?;
            if email.username.is_some() {
                let password = secret::read(
                    email.password_env.as_deref(),
                    email.password_file.as_deref(),
                    Some(email::DEFAULT_PASSWORD_ENV),
                );
                let key = if email.password_file.is_some() { "passwordFile" } else { "passwordEnv" };
                match password {
                    Ok(Some(_)) => {}
                    Ok(None) => return Err(JobError::Email(email::EmailError::NoPassword)),
                    Err(source) => return Err(JobError::SmtpPassword { key, source }),
                }
            }
        }
        if let Some(push) = &config.notify.pushgateway
            && push.username.is_some()
        {
            match secret::read(push.password_env.as_deref(), push.password_file.as_deref(), None) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(JobError::PushgatewayPassword(
                        "username is set but no password: set passwordEnv or passwordFile".into(),
                    ));
                }
                Err(e) => {
                    let key = if push.password_file.is_some() { "passwordFile" } else { "passwordEnv" };
                    return Err(JobError::PushgatewayPassword(format!("{key}: {e}")));
                }
            }
        }
        for w in &config.notify.webhooks {
            if w.url_env.is_none() && w.url_file.is_none() {
                return Err(JobError::WebhookUrlUnnamed { name: w.name.clone() });
            }
            // The URL must be there now, not fail the first night. (With urlEnv or urlFile
            // named, a missing value is an error of read(), never Ok(None).)
            secret::read(w.url_env.as_deref(), w.url_file.as_deref(), None)
                .map_err(|source| JobError::WebhookUrl { name: w.name.clone(), source })?;
        }
        Ok(Job { config, rules, source, scope, cluster_name, fail_on, store, formats, prometheus })
    }

    /// One run: inspect, render, write locally, archive, notify.
    pub async fn run(&self, out: &mut dyn Write) -> ExitStatus {
        // fileChange host rules compare with the previous run's nodeFiles: that run is read
        // before the node checks, when the cluster's name is known without inspecting.
        let early = match self.name_before_inspection().await {
            Some(name) => {
                let deadline = tokio::time::Instant::now() + self.config.delivery.store_budget();
                Some((name.clone(), self.read_previous(&name, deadline).await))
            }
            None => None,
        };
        let no_files = crate::report::NodeFiles::new();
        let previous_files = match &early {
            Some((_, (_, Ok(Some(previous))))) => &previous.node_files,
            _ => &no_files,
        };
        let mut report = match self.inspect(previous_files).await {
            Ok(report) => report,
            Err(e) => {
                let _ = writeln!(out, "error: {e}");
                return ExitStatus::Invalid;
            }
        };
        let mut deliveries: Vec<Delivery> = Vec::new();
        // From here the clock of delivery.deadline runs: the store gets its share, then the digest goes out.
        let delivery_start = tokio::time::Instant::now();
        let store_deadline = delivery_start + self.config.delivery.store_budget();
        let (latest, read) = match early {
            Some((name, read)) if name == report.cluster.name => read,
            _ => self.read_previous(&report.cluster.name, store_deadline).await,
        };
        let mut no_comparison = None;
        match read {
            // A run that could not reach the cluster saw nothing: comparing with it would call
            // every finding new. Such a run is archived and notified, but is no baseline.
            Ok(Some(previous)) if !previous.reached_cluster() => {}
            Ok(Some(previous)) => crate::report::apply_diff(&mut report, &previous),
            Ok(None) => {}
            Err(e) => {
                no_comparison = Some(e.message.clone());
                deliveries.push(e.delivery(latest));
            }
        }
        let Local { rendered, files, errors } = self.write_local(&report);
        let csv = rendered.iter().find(|r| r.format == Format::Csv.extension()).and_then(|r| r.bytes().ok());
        for e in errors {
            deliveries.push(Delivery {
                channel: "local".into(),
                target: self.config.outputs.directory.display().to_string(),
                ok: false,
                attempts: 1,
                detail: e,
            });
        }
        // From memory: a report whose local copy failed (a full disk) is still archived.
        let archived = if rendered.is_empty() {
            None
        } else {
            Some(self.store.archive_until(&report, &rendered, clock::now(), Some(store_deadline)).await)
        };
        let report_url = archived.as_ref().and_then(|a| a.report_url.clone());
        let archive_failure =
            archived.as_ref().and_then(|a| a.deliveries.iter().find(|d| !d.ok)).map(|d| d.detail.clone());
        deliveries.extend(archived.into_iter().flat_map(|a| a.deliveries));
        let note = archive_note(archive_failure.as_deref(), no_comparison.as_deref(), report.diff.is_some());
        let digest = Digest::from_report(&report, report_url).with_archive_note(note);
        if self.config.notify.email.is_none() {
            let _ = writeln!(out, "No email is configured (notify.email); this is the digest it would send:\n");
        }
        print_digest(&digest, out);
        // The digest is on stdout before any channel is tried: a channel that hangs or dies loses nothing printed.
        let _ = out.flush();
        // The notifications (and the metrics push) get what is left of the deadline, and at least their reserve.
        let notify_deadline = (delivery_start + self.config.delivery.deadline)
            .max(tokio::time::Instant::now() + self.config.delivery.notify_reserve());
        let notify = self.should_notify(&report);
        if !notify {
            let _ = writeln!(out, "notifications skipped (notify.when: {})", self.config.notify.when);
        }
        let email = async {
            match &self.config.notify.email {
                Some(settings) if notify => {
                    let target = format!("{} via {}", settings.to.join(", "), settings.host);
                    let send = email::send(settings, &digest, csv.as_deref());
                    Some(bounded("email".into(), target, notify_deadline, send).await)
                }
                _ => None,
            }
        };
        let hooks = futures::future::join_all(self.config.notify.webhooks.iter().filter(|_| notify).map(|w| {
            let target = webhook::target_of(w);
            bounded(format!("webhook:{}", w.name), target, notify_deadline, webhook::post(w, &digest))
        }));
        // Metrics go out every run: an alert on the job needs the quiet nights too.
        let metrics = async {
            let settings = self.config.notify.pushgateway.as_ref()?;
            let body = render::metrics::render(&report, render::metrics::Dialect::Prometheus);
            let push = pushgateway::push(settings, &report.cluster.name, &body);
            Some(bounded("pushgateway".into(), settings.url.clone(), notify_deadline, push).await)
        };
        let (mail, posted, pushed) = tokio::join!(email, hooks, metrics);
        deliveries.extend(mail);
        deliveries.extend(posted);
        deliveries.extend(pushed);
        for d in &files {
            let _ = writeln!(out, "wrote {}", d.display());
        }
        for d in &deliveries {
            let mark = if d.ok { "ok    " } else { "FAILED" };
            let _ = writeln!(out, "{mark} {:<16} {} ({} attempt(s)): {}", d.channel, d.target, d.attempts, d.detail);
        }
        let _ = out.flush();
        status(&report, self.fail_on, &deliveries)
    }

    /// The previous run of `cluster` in the store (its `latest.json` location, and the report),
    /// read until `deadline`.
    async fn read_previous(
        &self,
        cluster: &str,
        deadline: tokio::time::Instant,
    ) -> (String, Result<Option<Report>, StoreError>) {
        let segment = crate::deliver::store::layout::cluster_segment(cluster);
        let latest = self.store.location(&format!("{segment}/latest.json"));
        let read = within(Some(deadline), "read of", &latest, self.store.previous(cluster)).await;
        (latest, read)
    }

    /// The report's cluster name before the inspection, when fileChange host rules
    /// need the previous run then: `--cluster-name`, `cluster:`, or the kubeconfig's
    /// context (the name a live inspection gives it). `None` otherwise.
    async fn name_before_inspection(&self) -> Option<String> {
        let Source::Live(access, total) = &self.source else { return None };
        if !self.rules.host_rules().any(|(_, h)| h.kind == crate::rules::host::HostKind::FileChange) {
            return None;
        }
        if let Some(name) = self.cluster_name.clone().or(self.config.cluster.clone()) {
            return Some(name);
        }
        // Builds the client without contacting the server, for the context's name.
        crate::collect::client::Api::new(access, *total).await.ok().map(|api| api.cluster)
    }

    /// The report; `Err` when nothing could be inspected because of the
    /// setup (no cluster configuration, an unreadable snapshot path).
    async fn inspect(&self, previous_files: &crate::report::NodeFiles) -> Result<Report, InspectError> {
        let (source, rules, settings, scope) = (&self.source, &self.rules, &self.config.inspection, &self.scope);
        let inspected = match source {
            Source::Snapshot(paths) => {
                inspect::inspect_snapshot(paths, rules, settings, scope, self.prometheus.as_ref()).await
            }
            Source::Live(access, total) => {
                let started_at = clock::format(clock::now());
                let prometheus = self.prometheus.as_ref();
                let nodes = Some(inspect::NodeCheckRun { settings: &self.config.node_checks, previous_files });
                match inspect::inspect_live(access, *total, rules, settings, scope, prometheus, nodes).await {
                    Ok((inventory, evaluation)) => Ok(inspect::finish(inventory, evaluation, started_at, scope, rules)),
                    Err(e) => Err(InspectError::Connect(e)),
                }
            }
        };
        let inspected = match inspected {
            Ok(i) => i,
            // A cluster that does not answer still gets a report, so the morning digest says so.
            Err(e @ InspectError::Connect(ConnectError::Unreachable { .. })) => {
                let mut unreached = unreachable_cluster(&e, source);
                unreached.node_checks =
                    inspect::node_checks::not_run(&self.rules, format!("the cluster could not be reached: {e}"));
                unreached
            }
            Err(e) => return Err(e),
        };
        let name = self
            .cluster_name
            .clone()
            .or(self.config.cluster.clone())
            .or_else(|| inspected.cluster.clone())
            .unwrap_or_else(|| "kubernetes".into());
        Ok(inspected.into_report(&self.rules, name))
    }

    /// Renders every format straight into its file under the outputs
    /// directory, in the archive's layout, one format at a time; the upload
    /// reads the files back. A format whose file cannot be written is an
    /// error in the list, and is rendered into memory instead so that it is
    /// archived all the same.
    fn write_local(&self, report: &Report) -> Local {
        let mut local = Local::default();
        // JSON first: it is the next run's baseline, and the one format that must not be lost.
        let mut formats = self.formats.clone();
        formats.sort_by_key(|f| *f != Format::Json);
        let dir = local_dir(&self.config.outputs.directory, report);
        let dir_made = match std::fs::create_dir_all(&dir) {
            Ok(()) => true,
            Err(e) => {
                local.errors.push(format!("cannot create {}: {e}", dir.display()));
                false
            }
        };
        for format in formats {
            let extension = format.extension();
            if dir_made {
                let path = dir.join(format!("report.{extension}"));
                match render_to_file(report, format, &path) {
                    Ok(()) => {
                        local.rendered.push(Rendered::file(extension, path.clone()));
                        local.files.push(path);
                        continue;
                    }
                    Err(FileError::Render(e)) => {
                        local.errors.push(format!("rendering {extension}: {e}"));
                        continue;
                    }
                    Err(FileError::Write(e)) => {
                        local.errors.push(format!("cannot write {}: {e}", path.display()));
                        // What was written is incomplete: better no file than a truncated report.
                        let _ = std::fs::remove_file(&path);
                    }
                }
            }
            let mut bytes = Vec::new();
            match render::write(report, format, &mut bytes) {
                Ok(()) => local.rendered.push(Rendered::in_memory(extension, bytes.into())),
                Err(e) => local.errors.push(format!("rendering {extension}: {e}")),
            }
        }
        local
    }

    fn should_notify(&self, report: &Report) -> bool {
        match self.config.notify.when {
            NotifyWhen::Findings => report.summary.danger + report.summary.warning > 0 || !report.complete,
            NotifyWhen::Changes => {
                report.diff.as_ref().is_none_or(|d| d.new > 0 || !d.resolved.is_empty()) || !report.complete
            }
            NotifyWhen::Always => true,
        }
    }
}

/// Why a report could not be rendered into its file.
enum FileError {
    /// The renderer failed: it would fail in memory too.
    Render(render::RenderError),
    /// The file could not be created or written.
    Write(std::io::Error),
}

/// Renders `report` into a new file at `path` through a buffer, as it is rendered.
fn render_to_file(report: &Report, format: Format, path: &Path) -> Result<(), FileError> {
    let file = std::fs::File::create(path).map_err(FileError::Write)?;
    let mut out = WriteErrors { inner: std::io::BufWriter::with_capacity(64 * 1024, file), error: None };
    let rendered = render::write(report, format, &mut out);
    let flushed = out.flush();
    // A renderer wraps the writer's errors in its own: the writer says which failed.
    if let Some(e) = out.error.take() {
        return Err(FileError::Write(e));
    }
    rendered.map_err(FileError::Render)?;
    flushed.map_err(FileError::Write)
}

/// A writer that remembers the first error of the writer it wraps.
struct WriteErrors<W: Write> {
    inner: W,
    error: Option<std::io::Error>,
}

impl<W: Write> WriteErrors<W> {
    fn record<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        result.map_err(|e| {
            let copy = std::io::Error::new(e.kind(), e.to_string());
            self.error.get_or_insert(e);
            copy
        })
    }
}

impl<W: Write> Write for WriteErrors<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(buf);
        self.record(result)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.inner.flush();
        self.record(result)
    }
}

/// A run's reports: rendered into their local files (or memory), and the local files written.
#[derive(Debug, Default)]
struct Local {
    /// Every format that rendered.
    rendered: Vec<Rendered>,
    /// The files written.
    files: Vec<PathBuf>,
    /// What failed, rendering or writing.
    errors: Vec<String>,
}

/// `<dir>/<cluster>/<YYYY>/<MM>/<DD>/<timestamp>/`: the archive's layout, so
/// the local copy and a `file://` archive are the same files.
fn local_dir(base: &Path, report: &Report) -> PathBuf {
    let started = clock::parse(&report.started_at).unwrap_or_else(clock::now);
    base.join(crate::deliver::store::layout::run_dir(&report.cluster.name, started))
}

/// What the digest says when the archive failed or the previous run could not
/// be read: `Archiving failed: <reason>; no comparison with the previous run`.
fn archive_note(archive_failure: Option<&str>, previous_failure: Option<&str>, compared: bool) -> Option<String> {
    let tail = if compared { "" } else { "; no comparison with the previous run" };
    match (archive_failure, previous_failure) {
        (Some(reason), _) => Some(format!("Archiving failed: {reason}{tail}")),
        (None, Some(reason)) => Some(format!("Reading the previous run failed: {reason}{tail}")),
        (None, None) => None,
    }
}

/// Runs one notification channel until `deadline`; one still busy then is
/// reported as failed, so the run ends on time.
async fn bounded(
    channel: String,
    target: String,
    deadline: tokio::time::Instant,
    send: impl std::future::Future<Output = Delivery>,
) -> Delivery {
    match tokio::time::timeout_at(deadline, send).await {
        Ok(delivery) => delivery,
        Err(_) => Delivery {
            channel,
            target,
            ok: false,
            attempts: 1,
            detail: "still not delivered at the delivery deadline (delivery.deadline); given up".into(),
        },
    }
}

/// A run whose cluster could not be reached still reports, so the morning
/// digest says so instead of staying silent.
fn unreachable_cluster(e: &InspectError, source: &Source) -> Inspected {
    let what = match source {
        Source::Snapshot(paths) => paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        Source::Live(ClusterAccess { context, .. }, _) => context.clone().unwrap_or_else(|| "the cluster".into()),
    };
    let now = clock::format(clock::now());
    Inspected {
        cluster: None,
        sources: vec![what.clone()],
        started_at: now,
        finished_at: None,
        gaps: vec![CoverageGap::error("inspection", what, e.to_string())],
        evaluation: crate::checks::Evaluation::default(),
        scope: None,
        // Nothing could be inspected; from inside the cluster that means its API is not answering.
        health: Some(Health { status: HealthStatus::Down, reasons: vec!["API server unreachable".into()] }),
        overview: None,
        node_checks: None,
    }
}

fn placeholder_report() -> Report {
    Inspected {
        cluster: None,
        sources: Vec::new(),
        started_at: clock::format(clock::now()),
        finished_at: None,
        gaps: Vec::new(),
        evaluation: crate::checks::Evaluation::default(),
        scope: None,
        health: Some(Health { status: HealthStatus::Healthy, reasons: Vec::new() }),
        overview: Some(Overview::default()),
        node_checks: None,
    }
    .into_report(&RuleSet::default(), "check".into())
}

/// Prints the text digest (what the email says), control characters escaped.
fn print_digest(digest: &Digest, out: &mut dyn Write) {
    let view = DigestView::of(digest);
    match templates::render("digest.txt", templates::DIGEST_TEXT, Escape::None, &view) {
        Ok(text) => {
            for line in text.lines() {
                let _ = writeln!(out, "{}", crate::render::table::printable(line));
            }
        }
        Err(e) => {
            let _ = writeln!(out, "(digest could not be rendered: {e})");
        }
    }
}

/// The run's status: a failed delivery first, then an incomplete inspection, then findings.
pub fn status(report: &Report, fail_on: Option<Severity>, deliveries: &[Delivery]) -> ExitStatus {
    if deliveries.iter().any(|d| !d.ok) { ExitStatus::DeliveryFailed } else { ExitStatus::of_report(report, fail_on) }
}

/// Runs `job` on `schedule` until SIGTERM or Ctrl-C, one run at a time; a
/// signal during a run lets it finish. Returns the last run's status.
pub async fn every(job: &Job, schedule: &crate::schedule::Schedule, out: &mut dyn Write) -> ExitStatus {
    let mut last = ExitStatus::Clean;
    loop {
        let next = match schedule.next_after(clock::now()) {
            Ok(next) => next,
            Err(e) => {
                let _ = writeln!(out, "error: {e}");
                return ExitStatus::Invalid;
            }
        };
        let _ = writeln!(out, "next run at {next} ({})", schedule.as_str());
        let _ = out.flush();
        let wait = next.timestamp().duration_since(clock::now()).unsigned_abs();
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop_signal() => {
                let _ = writeln!(out, "stopping");
                return last;
            }
        }
        let (status, stopped) = {
            let run = job.run(&mut *out);
            tokio::pin!(run);
            let stop = stop_signal();
            tokio::pin!(stop);
            tokio::select! {
                status = &mut run => (status, false),
                // A signal mid-run lets the run finish: its reports and notifications are not cut off.
                () = &mut stop => (run.await, true),
            }
        };
        last = status;
        if stopped {
            let _ = writeln!(out, "stopped after the current run");
            return last;
        }
    }
}

/// Resolves on SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Makes sure reports can be written under `dir` before an inspection that
/// may take minutes: creates it, then creates and removes a probe file, so a
/// read-only mount, `/proc` or a full disk is refused up front.
pub fn check_writable(dir: &std::path::Path) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{} is not writable: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(format!(".ke-write-check-{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"ok").and_then(|()| f.sync_all()));
    let _ = std::fs::remove_file(&probe);
    written.map_err(fail)
}

#[cfg(test)]
mod writable_tests {
    use super::check_writable;

    #[test]
    fn unwritable_directories_are_refused_up_front() {
        assert!(check_writable(std::path::Path::new("/proc/ke-reports")).is_err());
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check_writable(&dir.path().join("reports")), Ok(()));
        assert_eq!(std::fs::read_dir(dir.path().join("reports")).unwrap().count(), 0, "the probe is removed");
    }
}

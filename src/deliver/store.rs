//! The report archive in object storage (S3 and compatibles, GCS, Azure, or a
//! local directory), laid out as [`layout`] documents.
//!
//! A nightly run uses it in this order:
//! 1. [`ReportStore::previous`] — the last run's report, to diff against
//!    (read *before* `latest.json` is replaced);
//! 2. [`ReportStore::archive`] — upload the local files, then point
//!    `latest.json` at them, rebuild `index.html`, prune by retention, and
//!    make a link to the HTML report for notifications.
//!
//! Each step is retried with backoff on server and network errors and turns
//! into a [`Delivery`]; the local files are only read, never moved.

mod backend;
pub mod error;
pub mod index;
pub mod layout;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::path::Path as Key;
use object_store::signer::Signer;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

pub use error::{StoreError, StoreErrorKind};
pub use index::{Latest, ReportKeys};

use super::Delivery;
use super::retry::{Attempted, Backoff, retry};
use crate::clock::Timestamp;
use crate::config::{Retention, StorageSettings};
use crate::report::Report;

/// Default for `storage.attempts`.
pub const DEFAULT_ATTEMPTS: u32 = 4;
/// Default for `storage.presignExpiry`: the longest S3 allows.
pub const DEFAULT_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 86_400);

/// Where reports are archived.
pub struct ReportStore {
    store: Arc<dyn ObjectStore>,
    signer: Option<Arc<dyn Signer>>,
    root: String,
    bucket: String,
    prefix: String,
    local_root: Option<PathBuf>,
    public_base_url: Option<String>,
    presign_expiry: Duration,
    retention: Retention,
    attempts: u32,
    backoff: Backoff,
}

impl std::fmt::Debug for ReportStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The object_store clients hold credentials: show where, not how.
        f.debug_struct("ReportStore").field("root", &self.root).field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

/// One rendered report: what is archived. Streamed into its local file, and
/// read back from it when uploaded; held in memory when the local copy could
/// not be written, so that it is archived all the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// `html`, `csv` or `json`.
    pub format: &'static str,
    /// The report as rendered.
    body: Body,
}

/// Where a rendered report is: in memory, or in a local file read when it is uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Body {
    Memory(bytes::Bytes),
    File(PathBuf),
}

impl Rendered {
    /// A report file written earlier (`report.html` …), read back.
    pub fn read(path: &Path) -> Result<Self, StoreError> {
        let local = |m: String| StoreError::new(StoreErrorKind::Local, m);
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
        let format = layout::FORMATS
            .iter()
            .copied()
            .find(|f| *f == extension)
            .ok_or_else(|| local(format!("{} is not an html, csv or json report", path.display())))?;
        let bytes = std::fs::read(path).map_err(|e| local(format!("cannot read {}: {e}", path.display())))?;
        Ok(Rendered::in_memory(format, bytes.into()))
    }

    /// A report rendered into memory.
    pub fn in_memory(format: &'static str, bytes: bytes::Bytes) -> Self {
        Rendered { format, body: Body::Memory(bytes) }
    }

    /// A report written to a local file, read only when it is needed (uploaded), one at a time.
    pub fn file(format: &'static str, path: PathBuf) -> Self {
        Rendered { format, body: Body::File(path) }
    }

    /// The report's bytes: a cheap copy when in memory, read from its file otherwise.
    pub fn bytes(&self) -> Result<bytes::Bytes, StoreError> {
        match &self.body {
            Body::Memory(bytes) => Ok(bytes.clone()),
            Body::File(path) => std::fs::read(path)
                .map(bytes::Bytes::from)
                .map_err(|e| StoreError::new(StoreErrorKind::Local, format!("cannot read {}: {e}", path.display()))),
        }
    }
}

/// A run's reports in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// Their keys, relative to the prefix.
    pub keys: ReportKeys,
    /// Attempts made by the object that needed the most.
    pub attempts: u32,
    /// Bytes uploaded.
    pub bytes: u64,
}

/// What [`ReportStore::prune`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Runs removed.
    pub runs: usize,
    /// Objects deleted.
    pub objects: usize,
    /// Attempts made by the deletion that needed the most.
    pub attempts: u32,
}

/// The outcome of [`ReportStore::archive`].
#[derive(Debug, Clone)]
pub struct Archived {
    /// One [`Delivery`] per step (upload, latest.json, index.html, retention);
    /// the steps after a failed upload are not attempted.
    pub deliveries: Vec<Delivery>,
    /// The run's keys when the upload succeeded.
    pub keys: Option<ReportKeys>,
    /// A link to the archived HTML report, for notifications.
    pub report_url: Option<String>,
}

impl Archived {
    /// Whether every step succeeded.
    pub fn ok(&self) -> bool {
        self.deliveries.iter().all(|d| d.ok)
    }
}

impl ReportStore {
    /// Connects to the store `settings` names (without a URL: the local
    /// directory `default_dir`, created if needed). Reads credentials from
    /// the environment or the files the settings name; no network I/O yet.
    pub fn open(settings: &StorageSettings, default_dir: &Path) -> Result<Self, StoreError> {
        let b = backend::open(settings, default_dir)?;
        Ok(ReportStore {
            store: b.store,
            signer: b.signer,
            root: b.root,
            bucket: b.bucket,
            prefix: b.prefix,
            local_root: b.local_root,
            public_base_url: settings.public_base_url.clone(),
            presign_expiry: settings.presign_expiry.unwrap_or(DEFAULT_PRESIGN_EXPIRY),
            retention: settings.retention.clone(),
            attempts: settings.attempts.unwrap_or(DEFAULT_ATTEMPTS).max(1),
            backoff: Backoff::default(),
        })
    }

    /// Replaces the wait between attempts (tests use milliseconds).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The full object key of `key` (relative to the prefix).
    fn key(&self, key: &str) -> Key {
        if self.prefix.is_empty() { Key::from(key) } else { Key::from(format!("{}/{key}", self.prefix)) }
    }

    /// `s3://bucket/prefix/key`: how messages and deliveries name an object.
    /// A key ending in `/` names a directory (a run, a cluster) and keeps its slash.
    pub fn location(&self, key: &str) -> String {
        let full = self.key(key);
        let slash = if key.ends_with('/') { "/" } else { "" };
        if full.as_ref().is_empty() { self.root.clone() } else { format!("{}/{full}{slash}", self.root) }
    }

    fn error(&self, e: &object_store::Error, action: &str, key: &str) -> StoreError {
        StoreError::from_object_store(e, action, &self.location(key), &self.bucket)
    }

    /// Runs `op` with this store's attempts and backoff; an error carries the attempts made.
    async fn retried<T, F, Fut>(&self, op: F) -> Result<(T, u32), StoreError>
    where
        F: FnMut(u32) -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let Attempted { result, attempts } = retry(self.attempts, self.backoff, op).await;
        match result {
            Ok(value) => Ok((value, attempts)),
            Err(e) => Err(StoreError { attempts, ..e }),
        }
    }

    /// Reads one object of at most `max` bytes; `None` when it does not
    /// exist (a missing bucket is an error). A larger (or endless) answer is
    /// an error as soon as it passes `max`, never read whole into memory.
    async fn get_optional(&self, key: &str, max: usize) -> Result<Option<bytes::Bytes>, StoreError> {
        let (bytes, _) = self
            .retried(|_| async move {
                let result = match self.store.get(&self.key(key)).await {
                    Ok(r) => read_at_most(r.into_stream(), max).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(Some(bytes)) => Ok(Some(bytes)),
                    Ok(None) => Err(StoreError::new(
                        StoreErrorKind::Corrupt,
                        format!("{} is larger than {max} bytes; not read", self.location(key)),
                    )),
                    Err(e) => {
                        let e = self.error(&e, "read", key);
                        if e.kind == StoreErrorKind::NotFound { Ok(None) } else { Err(e) }
                    }
                }
            })
            .await?;
        Ok(bytes)
    }

    /// Writes one object, retrying. Returns the attempts made.
    async fn put(&self, key: &str, bytes: bytes::Bytes) -> Result<u32, StoreError> {
        let ((), attempts) = self
            .retried(|_| {
                let payload = PutPayload::from(bytes.clone());
                async move {
                    self.store.put(&self.key(key), payload).await.map(drop).map_err(|e| self.error(&e, "upload", key))
                }
            })
            .await?;
        Ok(attempts)
    }

    /// The latest-run pointer of `cluster`, if it has one.
    pub async fn latest(&self, cluster: &str) -> Result<Option<Latest>, StoreError> {
        let key = layout::latest_key(cluster);
        let Some(bytes) = self.get_optional(&key, MAX_POINTER_BYTES).await? else { return Ok(None) };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            StoreError::new(
                StoreErrorKind::Corrupt,
                format!("{} is not a kubeeye latest.json: {e}", self.location(&key)),
            )
        })
    }

    /// The report of `cluster`'s previous run, read through its
    /// `latest.json`: `None` when there is none yet (first run, or a run
    /// archived without JSON). Call before [`ReportStore::archive`] replaces it.
    ///
    /// When the latest run could not reach the cluster, its baseline (the newest
    /// run that did) is returned instead, so a bad night does not cost the next
    /// one its comparison.
    pub async fn previous(&self, cluster: &str) -> Result<Option<Report>, StoreError> {
        let Some(latest) = self.latest(cluster).await? else { return Ok(None) };
        let report = match &latest.reports.json {
            Some(key) => self.report(key).await?,
            None => None,
        };
        match (report, latest.baseline) {
            (Some(r), _) if r.reached_cluster() => Ok(Some(r)),
            (report, Some(baseline)) if baseline.reports.json != latest.reports.json => match &baseline.reports.json {
                Some(key) => Ok(self.report(key).await?.or(report)),
                None => Ok(report),
            },
            (report, _) => Ok(report),
        }
    }

    /// The JSON report at `key`; `None` when it is gone.
    async fn report(&self, key: &str) -> Result<Option<Report>, StoreError> {
        let Some(bytes) = self.get_optional(key, MAX_REPORT_BYTES).await? else {
            // A pointer to a deleted run (pruned by hand): no baseline, but say so.
            tracing::warn!(
                "reading the previous run: {} is gone (latest.json points at it); no comparison",
                self.location(key)
            );
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            StoreError::new(
                StoreErrorKind::Corrupt,
                format!("{} is not a kubeeye JSON report: {e}", self.location(key)),
            )
        })
    }

    /// Uploads a run's reports (rendered in memory) as
    /// `<cluster>/YYYY/MM/DD/<stamp>/report.<ext>`, JSON first. Stops at the
    /// first object that still fails after its retries.
    pub async fn upload(&self, report: &Report, reports: &[Rendered]) -> Result<Uploaded, StoreError> {
        let started = started_at(report)?;
        let mut ordered: Vec<&Rendered> = reports.iter().collect();
        // JSON first: it is what the next run diffs against.
        ordered.sort_by_key(|r| layout::FORMATS.iter().rev().position(|f| *f == r.format));
        let mut uploaded = Uploaded { keys: ReportKeys::default(), attempts: 0, bytes: 0 };
        for rendered in ordered {
            let key = layout::report_key(&report.cluster.name, started, rendered.format);
            // Read from its local file now, and dropped once uploaded: one report in memory at a time.
            let bytes = rendered.bytes()?;
            uploaded.bytes += bytes.len() as u64;
            let attempts = self.put(&key, bytes).await?;
            uploaded.attempts = uploaded.attempts.max(attempts);
            uploaded.keys.set(rendered.format, key);
        }
        Ok(uploaded)
    }

    /// Points `<cluster>/latest.json` at an uploaded run, keeping the baseline
    /// of the pointer it replaces when this run could not reach the cluster.
    /// Returns the attempts made.
    pub async fn update_latest(&self, report: &Report, keys: &ReportKeys) -> Result<u32, StoreError> {
        let previous = if report.reached_cluster() { None } else { self.latest(&report.cluster.name).await? };
        let latest = Latest::of(report, keys.clone(), previous.as_ref());
        let bytes = serde_json::to_vec_pretty(&latest)
            .map_err(|e| StoreError::new(StoreErrorKind::Other, format!("cannot serialise latest.json: {e}")))?;
        self.put(&layout::latest_key(&report.cluster.name), bytes.into()).await
    }

    /// Lists the prefix once with the configured credentials (`ke run
    /// --check-config`): what a run will need, without writing anything.
    pub async fn probe(&self) -> Delivery {
        let prefix = (!self.prefix.is_empty()).then(|| Key::from(self.prefix.as_str()));
        match self.store.list_with_delimiter(prefix.as_ref()).await {
            Ok(listing) => {
                let clusters = listing.common_prefixes.len();
                self.delivery("", true, 1, format!("listed with the configured credentials ({clusters} folder(s))"))
            }
            Err(e) => self.error(&e, "list", "").delivery(self.location("")),
        }
    }

    /// Every cluster's `latest.json` under the prefix (directories without one,
    /// or with something else in it, are not ours and are skipped).
    pub async fn clusters(&self) -> Result<Vec<Latest>, StoreError> {
        let prefix = (!self.prefix.is_empty()).then(|| Key::from(self.prefix.as_str()));
        let (listing, _) = self
            .retried(|_| async {
                self.store.list_with_delimiter(prefix.as_ref()).await.map_err(|e| self.error(&e, "list", ""))
            })
            .await?;
        let mut clusters = Vec::new();
        for dir in listing.common_prefixes {
            let Some(segment) = dir.filename() else { continue };
            let key = format!("{segment}/{}", layout::LATEST);
            // Another cluster's oversized pointer is skipped like a malformed one:
            // one cluster must not stop the index of every other.
            let bytes = match self.get_optional(&key, MAX_POINTER_BYTES).await {
                Ok(Some(bytes)) => bytes,
                Ok(None) => continue,
                Err(e) if e.kind == StoreErrorKind::Corrupt => {
                    tracing::warn!("rebuilding the index: skipping {}: {e}", self.location(&key));
                    continue;
                }
                Err(e) => return Err(e),
            };
            match serde_json::from_slice::<Latest>(&bytes) {
                Ok(mut latest) => {
                    // Another cluster's pointer is not trusted: it links only its own reports.
                    latest.reports.keep_own(segment);
                    clusters.push(latest);
                }
                Err(e) => tracing::warn!(
                    "rebuilding the index: skipping {}, which is not a kubeeye latest.json: {e}",
                    self.location(&key)
                ),
            }
        }
        Ok(clusters)
    }

    /// Rebuilds `<prefix>/index.html` from every cluster's `latest.json`.
    /// Returns how many clusters it lists and the attempts its upload made.
    /// When several clusters finish at once the last writer wins, and it has
    /// read everyone's pointer.
    pub async fn update_index(&self, now: Timestamp) -> Result<(usize, u32), StoreError> {
        let clusters = self.clusters().await?;
        let html = index::render_index(&clusters, &crate::clock::format(now))
            .map_err(|e| StoreError::new(StoreErrorKind::Other, e.to_string()))?;
        let attempts = self.put(layout::INDEX, html.into()).await?;
        Ok((clusters.len(), attempts))
    }

    /// Deletes `cluster`'s runs beyond the retention settings. Only keys of
    /// the exact layout this tool writes are candidates; the newest run stays,
    /// and so does the baseline `latest.json` names (the newest run that
    /// reached the cluster), however many runs failed since.
    pub async fn prune(&self, cluster: &str, now: Timestamp) -> Result<Pruned, StoreError> {
        if self.retention.max_age_days.is_none() && self.retention.max_count.is_none() {
            return Ok(Pruned::default());
        }
        let segment = layout::cluster_segment(cluster);
        let latest = self.latest(cluster).await?;
        let kept: Vec<Timestamp> = latest
            .iter()
            .flat_map(|l| l.reports.iter().chain(l.baseline.iter().flat_map(|b| b.reports.iter())))
            .filter_map(layout::parse_report_key)
            .map(|k| k.started)
            .collect();
        let dir = self.key(&segment);
        let (listing, _) = self
            .retried(|_| async {
                self.store.list(Some(&dir)).try_collect::<Vec<_>>().await.map_err(|e| self.error(&e, "list", &segment))
            })
            .await?;
        let ours: Vec<(String, layout::ReportKey)> = listing
            .into_iter()
            .filter_map(|meta| {
                let full = meta.location.as_ref();
                let relative =
                    if self.prefix.is_empty() { full } else { full.strip_prefix(&self.prefix)?.strip_prefix('/')? };
                let parsed = layout::parse_report_key(relative).filter(|k| k.cluster == segment)?;
                Some((relative.to_string(), parsed))
            })
            .collect();
        let runs: Vec<Timestamp> = ours.iter().map(|(_, k)| k.started).collect();
        let doomed = layout::runs_to_prune(&runs, &self.retention, now, &kept);
        let mut pruned = Pruned { runs: doomed.len(), objects: 0, attempts: 0 };
        for (key, _) in ours.iter().filter(|(_, k)| doomed.contains(&k.started)) {
            let ((), attempts) = self
                .retried(|_| async {
                    match self.store.delete(&self.key(key)).await {
                        Ok(()) => Ok(()),
                        Err(e) => {
                            let e = self.error(&e, "delete", key);
                            // Already gone is what we wanted.
                            if e.kind == StoreErrorKind::NotFound { Ok(()) } else { Err(e) }
                        }
                    }
                })
                .await?;
            pruned.attempts = pruned.attempts.max(attempts);
            pruned.objects += 1;
        }
        Ok(pruned)
    }

    /// A link to `key` (relative to the prefix) for a notification:
    /// `publicBaseUrl` + the object key when configured; otherwise a presigned
    /// GET valid for `presignExpiry` (S3, GCS, Azure); for a local directory,
    /// its `file://` URL.
    pub async fn link(&self, key: &str) -> Result<String, StoreError> {
        let full = self.key(key);
        if let Some(base) = &self.public_base_url {
            return Ok(format!("{}/{full}", base.trim_end_matches('/')));
        }
        if let Some(signer) = &self.signer {
            let url = signer
                .signed_url(http::Method::GET, &full, self.presign_expiry)
                .await
                .map_err(|e| self.error(&e, "presigning", key))?;
            return Ok(url.to_string());
        }
        match &self.local_root {
            Some(root) => url::Url::from_file_path(root.join(full.as_ref())).map(String::from).map_err(|()| {
                StoreError::new(StoreErrorKind::Other, format!("no file URL for {}", self.location(key)))
            }),
            None => Err(StoreError::new(StoreErrorKind::Other, format!("no way to link to {}", self.location(key)))),
        }
    }

    /// Archives one run: uploads its rendered `reports` (from memory, so a
    /// local copy that could not be written is archived all the same), then
    /// updates `latest.json`, the index and retention, and links the HTML
    /// report. Never fails as a whole: every step reports a [`Delivery`]
    /// (channel `store`), and nothing after a failed upload is attempted, so
    /// `latest.json` only ever points at a complete run.
    pub async fn archive(&self, report: &Report, reports: &[Rendered], now: Timestamp) -> Archived {
        self.archive_until(report, reports, now, None).await
    }

    /// [`ReportStore::archive`], stopping at `deadline`: the step under way
    /// then is reported as failed and the later ones are not attempted.
    pub async fn archive_until(
        &self,
        report: &Report,
        reports: &[Rendered],
        now: Timestamp,
        deadline: Option<tokio::time::Instant>,
    ) -> Archived {
        let mut deliveries = Vec::new();
        let run = started_at(report).map(|s| layout::run_dir(&report.cluster.name, s)).unwrap_or_default();
        let run_target = format!("{run}/");
        let uploaded = match within(deadline, "upload", &self.location(&run_target), self.upload(report, reports)).await
        {
            Ok(u) => u,
            Err(e) => {
                deliveries.push(e.delivery(self.location(&run_target)));
                return Archived { deliveries, keys: None, report_url: None };
            }
        };
        let names: Vec<&str> = uploaded.keys.iter().filter_map(|k| k.rsplit('/').next()).collect();
        deliveries.push(self.delivery(
            &run_target,
            true,
            uploaded.attempts,
            format!("uploaded {} ({} bytes)", names.join(", "), uploaded.bytes),
        ));
        let archived = |deliveries, report_url| Archived { deliveries, keys: Some(uploaded.keys.clone()), report_url };

        let latest_key = layout::latest_key(&report.cluster.name);
        let latest = self.update_latest(report, &uploaded.keys);
        match within(deadline, "update", &self.location(&latest_key), latest).await {
            Ok(attempts) => deliveries.push(self.delivery(&latest_key, true, attempts, format!("points at {run}"))),
            Err(e) => {
                deliveries.push(e.delivery(self.location(&latest_key)));
                if e.kind == StoreErrorKind::Deadline {
                    return archived(deliveries, None);
                }
            }
        }
        match within(deadline, "update", &self.location(layout::INDEX), self.update_index(now)).await {
            Ok((n, attempts)) => {
                deliveries.push(self.delivery(layout::INDEX, true, attempts, format!("lists {n} cluster(s)")));
            }
            Err(e) => {
                deliveries.push(e.delivery(self.location(layout::INDEX)));
                if e.kind == StoreErrorKind::Deadline {
                    return archived(deliveries, None);
                }
            }
        }
        if self.retention.max_age_days.is_some() || self.retention.max_count.is_some() {
            let dir = format!("{}/", layout::cluster_segment(&report.cluster.name));
            match within(deadline, "retention in", &self.location(&dir), self.prune(&report.cluster.name, now)).await {
                Ok(p) => deliveries.push(self.delivery(
                    &dir,
                    true,
                    p.attempts.max(1),
                    format!("retention removed {} run(s), {} object(s)", p.runs, p.objects),
                )),
                Err(e) => {
                    deliveries.push(self.delivery(&dir, false, e.attempts, format!("retention: {}", e.message)));
                    if e.kind == StoreErrorKind::Deadline {
                        return archived(deliveries, None);
                    }
                }
            }
        }
        let report_url = match &uploaded.keys.html {
            Some(key) => match within(deadline, "link to", &self.location(key), self.link(key)).await {
                Ok(url) => Some(url),
                Err(e) => {
                    tracing::warn!("no link to the archived report in the notifications: {e}");
                    None
                }
            },
            None => None,
        };
        archived(deliveries, report_url)
    }

    fn delivery(&self, key: &str, ok: bool, attempts: u32, detail: String) -> Delivery {
        Delivery { channel: "store".into(), target: self.location(key), ok, attempts, detail }
    }
}

/// Runs one store step, stopping it at `deadline` (when given) with an error
/// that says so.
pub async fn within<T>(
    deadline: Option<tokio::time::Instant>,
    action: &str,
    location: &str,
    step: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let Some(deadline) = deadline else { return step.await };
    match tokio::time::timeout_at(deadline, step).await {
        Ok(result) => result,
        Err(_) => Err(StoreError {
            kind: StoreErrorKind::Deadline,
            message: format!(
                "{action} {location} stopped at the delivery deadline (delivery.deadline) without an answer; \
                 the store was given up so the digest goes out on time"
            ),
            attempts: 1,
        }),
    }
}

/// The run's start, which names its directory.
fn started_at(report: &Report) -> Result<Timestamp, StoreError> {
    crate::clock::parse(&report.started_at).ok_or_else(|| {
        StoreError::new(
            StoreErrorKind::Local,
            format!("report startedAt `{}` is not an RFC 3339 time", report.started_at),
        )
    })
}

/// The most a `latest.json` may hold: a pointer is a few hundred bytes.
const MAX_POINTER_BYTES: usize = 1 << 20;
/// The most a previous JSON report may hold (150,000 pods give about 120 MB).
const MAX_REPORT_BYTES: usize = 1 << 30;

/// Collects a body of at most `max` bytes; `Ok(None)` once it grows past.
async fn read_at_most(
    mut stream: futures::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
    max: usize,
) -> object_store::Result<Option<bytes::Bytes>> {
    use futures::StreamExt;
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > max {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

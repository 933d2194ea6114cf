//! Writing a snapshot directory (`ke snapshot -o DIR`) that `ke diag
//! --snapshot DIR` reads back to the same findings. Pages are written as they
//! stream by, so memory stays bounded like a live inspection's. Values are
//! masked as they are written unless the caller keeps them (see [`Redaction`]).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::live::StreamSink;
use super::redact::Redaction;
use crate::inventory::{CoverageGap, Inventory, LogRecord, Object, ObjectRef};

/// Writes a snapshot directory.
pub struct SnapshotWriter {
    dir: PathBuf,
    pages: usize,
    objects: usize,
    logs: Option<BufWriter<File>>,
    /// How values are masked; `None` keeps them (`--keep-values`).
    redaction: Option<Redaction>,
    /// The first write error; later writes are skipped and the error is reported.
    pub error: Option<String>,
}

impl SnapshotWriter {
    /// Creates `dir` (which must not exist or be empty). With a `redaction`,
    /// every object and log is masked before it is written.
    pub fn create(dir: &Path, redaction: Option<Redaction>) -> Result<Self, String> {
        if dir.exists() && fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
            return Err(format!("{} exists and is not empty; choose a new directory", dir.display()));
        }
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(SnapshotWriter { dir: dir.to_path_buf(), pages: 0, objects: 0, logs: None, redaction, error: None })
    }

    fn write_list(&mut self, name: &str, objects: &[&Value]) {
        if self.error.is_some() || objects.is_empty() {
            return;
        }
        let masked: Vec<Value>;
        let objects = match &self.redaction {
            Some(r) => {
                masked = objects
                    .iter()
                    .map(|o| {
                        let mut o = (*o).clone();
                        r.object(&mut o);
                        o
                    })
                    .collect();
                masked.iter().collect()
            }
            None => objects.to_vec(),
        };
        let path = self.dir.join(name);
        let result = (|| -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            let mut out = BufWriter::new(File::create(&path)?);
            serde_json::to_writer(&mut out, &json!({"apiVersion": "v1", "kind": "List", "items": objects}))?;
            out.flush()
        })();
        match result {
            Ok(()) => self.objects += objects.len(),
            Err(e) => self.error = Some(format!("cannot write {}: {e}", path.display())),
        }
    }

    fn page(&mut self, what: &str, page: &[Object]) {
        self.pages += 1;
        let name = format!("{what}/page-{:05}.json", self.pages);
        let values: Vec<&Value> = page.iter().map(|o| &o.raw).collect();
        self.write_list(&name, &values);
    }

    /// Writes the kept objects, and stubs for the owners only known by name.
    pub fn kept(&mut self, inventory: &Inventory) {
        let values: Vec<&Value> = inventory.objects.iter().map(|o| &o.raw).collect();
        self.write_list("objects.json", &values);
        let stubs: Vec<Value> = inventory.known.iter().map(stub).collect();
        self.write_list("owners.json", &stubs.iter().collect::<Vec<_>>());
    }

    /// Writes the objects that arrived late (health, metrics, summaries).
    pub fn late(&mut self, objects: &[Object]) {
        let values: Vec<&Value> = objects.iter().map(|o| &o.raw).collect();
        self.write_list("cluster.json", &values);
    }

    /// Writes the inspection record and closes the log file.
    pub fn finish(
        mut self,
        cluster: &str,
        source: &str,
        collected_at: &str,
        kubernetes_version: Option<&str>,
        coverage: &[CoverageGap],
    ) -> Result<usize, String> {
        let mut record = json!({
            "apiVersion": "kubeeye.io/v1", "kind": "Inspection", "metadata": {"name": "inspection"},
            "cluster": cluster, "source": source, "collectedAt": collected_at, "coverage": coverage,
            "redacted": self.redaction.is_some(),
        });
        if let Some(version) = kubernetes_version {
            record["kubernetesVersion"] = json!(version);
        }
        self.write_list("inspection.json", &[&record]);
        if let Some(mut logs) = self.logs.take()
            && let Err(e) = logs.flush()
        {
            self.error.get_or_insert(format!("cannot write logs: {e}"));
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.objects),
        }
    }
}

/// An owner known only by identity: enough for the loader to know it exists.
fn stub(id: &ObjectRef) -> Value {
    let api_version = if id.group.is_empty() { "v1".to_string() } else { format!("{}/v1", id.group) };
    json!({"apiVersion": api_version, "kind": id.kind, "metadata": {"name": id.name, "namespace": id.namespace}})
}

impl StreamSink for SnapshotWriter {
    fn pods(&mut self, page: &[Object]) {
        self.page("pods", page);
    }

    fn events(&mut self, page: &[Object]) {
        self.page("events", page);
    }

    fn configmaps(&mut self, page: &[Object]) {
        self.page("configmaps", page);
    }

    fn log(&mut self, record: &LogRecord<'_>) {
        if self.error.is_some() {
            return;
        }
        if self.logs.is_none() {
            match File::create(self.dir.join("logs.json")) {
                Ok(f) => self.logs = Some(BufWriter::new(f)),
                Err(e) => {
                    self.error = Some(format!("cannot write logs.json: {e}"));
                    return;
                }
            }
        }
        let text = match &self.redaction {
            Some(r) => std::borrow::Cow::Owned(r.log(record.text)),
            None => std::borrow::Cow::Borrowed(record.text),
        };
        let object = json!({
            "apiVersion": "kubeeye.io/v1", "kind": "ContainerLog",
            "metadata": {"namespace": record.namespace, "name": format!("{}.{}", record.pod, record.container)},
            "pod": record.pod, "container": record.container, "log": text,
        });
        if let Some(out) = self.logs.as_mut() {
            let written = serde_json::to_writer(&mut *out, &object)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
            match written {
                Ok(()) => self.objects += 1,
                Err(e) => self.error = Some(format!("cannot write logs.json: {e}")),
            }
        }
    }
}

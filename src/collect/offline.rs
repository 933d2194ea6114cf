//! Offline input: manifests and snapshots on disk.
//!
//! Accepts YAML (multi-document) and JSON files (one or several concatenated
//! documents), `kind: List` and every `*List` kind, and directories walked
//! recursively — including the layout `kubectl cluster-info dump
//! --output-directory` writes. A malformed document becomes a coverage gap
//! naming the file and document; the other documents still load.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::inventory::{CoverageGap, Inventory, Object};

/// A snapshot path that cannot be read at all: the inspection cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The path does not exist or cannot be listed.
    #[error("cannot read snapshot {path}: {source}")]
    Unreadable {
        /// The path given.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Loads every path into one inventory.
pub fn load(paths: &[PathBuf]) -> Result<Inventory, SnapshotError> {
    let mut inventory = Inventory::default();
    for path in paths {
        let meta =
            std::fs::metadata(path).map_err(|source| SnapshotError::Unreadable { path: path.clone(), source })?;
        let files = if meta.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files).map_err(|source| SnapshotError::Unreadable { path: path.clone(), source })?;
            files
        } else {
            vec![path.clone()]
        };
        for file in files {
            if is_dump_log(&file) {
                load_dump_log(&file, &mut inventory);
            } else {
                load_file(&file, &mut inventory);
            }
        }
        inventory.sources.push(format!("snapshot:{}", path.display()));
    }
    inventory.dedup();
    apply_inspection_record(&mut inventory);
    Ok(inventory)
}

/// Takes the cluster name, clock and coverage of a `kubeeye.io/v1 Inspection` record, if any.
fn apply_inspection_record(inventory: &mut Inventory) {
    let Some(record) = inventory.objects.iter().find(|o| o.id.kind == "Inspection" && o.id.group == "kubeeye.io")
    else {
        return;
    };
    let text = |k: &str| record.raw.get(k).and_then(Value::as_str).map(str::to_string);
    inventory.cluster = text("cluster");
    inventory.collected_at = text("collectedAt");
    inventory.kubernetes_version = text("kubernetesVersion");
    if let Some(source) = text("source") {
        inventory.sources.push(source);
    }
    let gaps: Vec<CoverageGap> =
        record.raw.get("coverage").and_then(|c| serde_json::from_value(c.clone()).ok()).unwrap_or_default();
    inventory.gaps.extend(gaps);
}

/// `kubectl cluster-info dump` writes each pod's logs to `<namespace>/<pod>/logs.txt`.
fn is_dump_log(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "logs.txt")
}

/// Splits a cluster-info dump `logs.txt` into one `ContainerLog` per container section.
fn load_dump_log(path: &Path, inventory: &mut Inventory) {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            inventory.gaps.push(gap(path, None, format!("cannot read file: {e}")));
            return;
        }
    };
    // <namespace>/<pod>/logs.txt: the directory names say whose logs these are when the header does not.
    let mut dirs = path.ancestors().skip(1).filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned());
    let dir_pod = dirs.next().unwrap_or_default();
    let dir_namespace = dirs.next().unwrap_or_default();
    let mut current: Option<(String, String, String, String)> = None;
    let flush = |section: Option<(String, String, String, String)>, inventory: &mut Inventory| {
        if let Some((namespace, pod, container, log)) = section {
            let object = serde_json::json!({
                "apiVersion": "kubeeye.io/v1", "kind": "ContainerLog",
                "metadata": {"namespace": namespace, "name": format!("{pod}.{container}")},
                "pod": pod, "container": container, "log": log,
            });
            if let Some(o) = Object::from_value(object) {
                inventory.push(o);
            }
        }
    };
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("==== START logs for container ").and_then(|l| l.strip_suffix(" ===="))
        {
            flush(current.take(), inventory);
            let (container, owner) = header.split_once(" of pod ").unwrap_or((header, ""));
            let (namespace, pod) = owner.split_once('/').unwrap_or((dir_namespace.as_str(), dir_pod.as_str()));
            current = Some((namespace.to_string(), pod.to_string(), container.to_string(), String::new()));
        } else if line.starts_with("==== END logs for container ") {
            flush(current.take(), inventory);
        } else if let Some((_, _, _, log)) = current.as_mut() {
            log.push_str(line);
            log.push('\n');
        }
    }
    flush(current.take(), inventory);
}

/// Manifest files below `dir`, sorted so that loads are reproducible. Hidden entries are skipped.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            walk(&path, out)?;
        } else if is_manifest(&path) || is_dump_log(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(),
        Some("yaml" | "yml" | "json")
    )
}

/// Loads one file, recording any problem as a coverage gap.
pub fn load_file(path: &Path, inventory: &mut Inventory) {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            inventory.gaps.push(gap(path, None, format!("cannot read file: {e}")));
            return;
        }
    };
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let docs = if is_json { json_documents(&text) } else { yaml_documents(&text) };
    for (index, doc) in docs.into_iter().enumerate() {
        match doc {
            Ok(Some(value)) => add_document(value, path, index + 1, inventory),
            Ok(None) => {}
            Err(reason) => inventory.gaps.push(gap(path, Some(index + 1), reason)),
        }
    }
}

type Document = Result<Option<Value>, String>;

fn json_documents(text: &str) -> Vec<Document> {
    let mut docs = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    loop {
        match stream.next() {
            None => break,
            Some(Ok(v)) => docs.push(Ok(Some(v))),
            Some(Err(e)) => {
                // A JSON syntax error leaves no reliable place to resume from.
                docs.push(Err(format!("invalid JSON: {e}")));
                break;
            }
        }
    }
    docs
}

/// Splits on `---` separator lines first, so one malformed document does not hide the next.
fn yaml_documents(text: &str) -> Vec<Document> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut start_line = 1;
    let mut line_no = 0;
    let mut flush = |current: &mut String, start_line: usize| {
        if current.trim().is_empty() {
            // Keep document numbering aligned with what editors show: an empty
            // leading document before the first `---` is not counted.
            if !docs.is_empty() {
                docs.push(Ok(None));
            }
        } else {
            docs.push(parse_yaml(current, start_line));
        }
        current.clear();
    };
    for line in text.lines() {
        line_no += 1;
        if is_separator(line) {
            flush(&mut current, start_line);
            start_line = line_no + 1;
            continue;
        }
        if line.trim_end() == "..." {
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    flush(&mut current, start_line);
    docs
}

fn is_separator(line: &str) -> bool {
    line.strip_prefix("---").is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

fn parse_yaml(text: &str, start_line: usize) -> Document {
    let de = serde_norway::Deserializer::from_str(text);
    match Value::deserialize(de) {
        Ok(Value::Null) => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            let at = e.location().map(|l| format!(" at line {}", start_line + l.line() - 1)).unwrap_or_default();
            Err(format!("invalid YAML{at}: {}", strip_location(&e.to_string())))
        }
    }
}

/// serde_norway appends "at line L column C" relative to the document; we report file lines.
fn strip_location(message: &str) -> &str {
    message.find(" at line ").map_or(message, |i| &message[..i])
}

fn add_document(value: Value, path: &Path, index: usize, inventory: &mut Inventory) {
    let Some(map) = value.as_object() else {
        inventory.gaps.push(gap(path, Some(index), "not a Kubernetes object (expected a mapping)".into()));
        return;
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind.is_empty() {
        tracing::debug!(file = %path.display(), document = index, "skipped: no `kind`, not a Kubernetes object");
        return;
    }
    let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    if crate::inventory::api_group(api_version).ends_with("config.k8s.io")
        || api_version.starts_with("config.kubernetes.io")
    {
        // kustomization.yaml and kpt function configs: build files, not cluster objects.
        tracing::debug!(file = %path.display(), document = index, kind, "skipped: a build configuration, not a Kubernetes object");
        return;
    }
    if kind.ends_with("List") && map.get("items").is_some() {
        let list_kind = kind.to_string();
        let api_version = map.get("apiVersion").and_then(Value::as_str).map(str::to_string);
        let items = match value {
            Value::Object(mut m) => m.remove("items"),
            _ => None,
        };
        let Some(Value::Array(items)) = items else {
            inventory.gaps.push(gap(path, Some(index), format!("{list_kind}: `items` is not a list")));
            return;
        };
        // A generic `List` says nothing about its items' kind; `PodList` does.
        let item_kind = (list_kind != "List").then(|| list_kind.trim_end_matches("List"));
        for (i, mut item) in items.into_iter().enumerate() {
            crate::inventory::fill_list_item(&mut item, item_kind, api_version.as_deref());
            add_object(item, path, index, Some(i), inventory);
        }
    } else {
        add_object(value, path, index, None, inventory);
    }
}

fn add_object(value: Value, path: &Path, index: usize, item: Option<usize>, inventory: &mut Inventory) {
    match Object::from_value(value) {
        Some(object) => inventory.push(object),
        None => {
            let what = item.map(|i| format!("item {i}: ")).unwrap_or_default();
            inventory.gaps.push(gap(path, Some(index), format!("{what}object has no kind or metadata.name")));
        }
    }
}

fn gap(path: &Path, document: Option<usize>, reason: String) -> CoverageGap {
    let resource = match document {
        Some(d) => format!("{} (document {d})", path.display()),
        None => path.display().to_string(),
    };
    CoverageGap::error("snapshot", resource, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(name: &str, text: &str) -> Inventory {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        load(&[path]).unwrap()
    }

    #[test]
    fn multi_document_yaml_with_a_broken_document() {
        let inv = load_text(
            "m.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n---\nkind: Pod\nmetadata: [oops\n---\n# only a comment\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: x}\n",
        );
        let names: Vec<_> = inv.objects.iter().map(|o| o.id.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(inv.gaps.len(), 1);
        assert!(inv.gaps[0].resource.ends_with("m.yaml (document 2)"), "{:?}", inv.gaps[0]);
        // The parser notices the unclosed `[` where the document ends.
        assert!(inv.gaps[0].reason.contains("invalid YAML at line 7"), "{:?}", inv.gaps[0]);
    }

    #[test]
    fn typed_list_items_get_their_kind() {
        let inv = load_text(
            "pods.json",
            r#"{"kind":"PodList","apiVersion":"v1","items":[{"metadata":{"name":"p","namespace":"n"}}]}"#,
        );
        assert_eq!(inv.objects[0].id.kind, "Pod");
    }

    #[test]
    fn generic_list_and_missing_name() {
        let inv = load_text(
            "l.yaml",
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: d, namespace: n}}\n- {kind: Pod, metadata: {}}\n",
        );
        assert_eq!(inv.objects.len(), 1);
        assert_eq!(inv.objects[0].id.group, "apps");
        assert!(inv.gaps[0].reason.contains("item 1"));
    }

    #[test]
    fn cluster_info_dump_logs_split_per_container() {
        let dir = tempfile::tempdir().unwrap();
        let pod_dir = dir.path().join("shop").join("web-1");
        std::fs::create_dir_all(&pod_dir).unwrap();
        std::fs::write(
            pod_dir.join("logs.txt"),
            "==== START logs for container app of pod shop/web-1 ====\nboom: no space left on device\n==== END logs for container app of pod shop/web-1 ====\n==== START logs for container proxy ====\nok\n",
        )
        .unwrap();
        let inv = load(&[dir.path().to_path_buf()]).unwrap();
        let logs: Vec<_> = inv.objects.iter().filter(|o| o.id.kind == "ContainerLog").collect();
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[0].raw["container"], "app");
        assert_eq!(logs[0].raw["log"], "boom: no space left on device\n");
        assert_eq!(logs[1].id.namespace.as_deref(), Some("shop"));
        assert_eq!(logs[1].raw["pod"], "web-1");
    }

    #[test]
    fn inspection_record_sets_clock_name_and_coverage() {
        let inv = load_text(
            "i.yaml",
            "apiVersion: kubeeye.io/v1\nkind: Inspection\nmetadata: {name: inspection}\ncluster: prod\ncollectedAt: \"2026-11-25T02:00:00Z\"\ncoverage:\n- {section: nodes, resource: x, reason: y, kind: unavailable}\n",
        );
        assert_eq!(inv.cluster.as_deref(), Some("prod"));
        assert_eq!(inv.collected_at.as_deref(), Some("2026-11-25T02:00:00Z"));
        assert_eq!(inv.gaps.len(), 1);
        assert_eq!(inv.gaps[0].kind, crate::inventory::GapKind::Unavailable);
    }

    #[test]
    fn missing_path_is_an_error() {
        assert!(load(&[PathBuf::from("/nonexistent/kubeeye")]).is_err());
    }
}

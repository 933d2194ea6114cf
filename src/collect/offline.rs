//! Offline input: manifests and snapshots on disk.
//!
//! Accepts YAML (multi-document) and JSON files (one or several concatenated
//! documents), `kind: List` and every `*List` kind, and directories walked
//! recursively — including the layout `kubectl cluster-info dump
//! --output-directory` writes. A malformed document becomes a coverage gap
//! naming the file and document; the other documents still load.
//!
//! Files found by walking a directory are read only when they are regular
//! files (after following links, and again on the opened handle): a FIFO
//! would block forever, `/dev/zero` never ends. Anything else, a file over
//! the size limit, or a subdirectory that cannot be listed is a coverage gap
//! naming the path. A path named on the command line may be a pipe
//! (`--snapshot <(kubectl get pods -o yaml)`); the size limit still applies.
//! YAML goes through [`crate::yaml`]'s limits on nesting and size first.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::inventory::{CoverageGap, Inventory, Object, SourceLocation};

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

/// The largest file read by default (`inspection.collection.maxFileBytes`).
pub use crate::config::DEFAULT_MAX_FILE_BYTES;

/// Loads every path into one inventory, reading files of up to [`DEFAULT_MAX_FILE_BYTES`].
pub fn load(paths: &[PathBuf]) -> Result<Inventory, SnapshotError> {
    load_with_limit(paths, DEFAULT_MAX_FILE_BYTES)
}

/// Loads every path into one inventory; a file larger than `max_file_bytes` is a coverage gap.
pub fn load_with_limit(paths: &[PathBuf], max_file_bytes: u64) -> Result<Inventory, SnapshotError> {
    let mut inventory = Inventory::default();
    inventory.sources = Reader::new(paths, max_file_bytes).visit(&mut inventory)?;
    inventory.dedup();
    apply_inspection_record(&mut inventory);
    Ok(inventory)
}

/// Where the documents of a snapshot go as they are parsed: an [`Inventory`]
/// that keeps them all, or an evaluation that keeps only what it needs.
pub trait DocumentSink {
    /// One object, with its source location.
    fn object(&mut self, object: Object);
    /// What could not be read: a file, a document, a list item.
    fn gap(&mut self, gap: CoverageGap);
    /// A file about to be read; `false` skips it. Files come in the same order at every reading.
    fn file(&mut self, _path: &Path) -> bool {
        true
    }
    /// Document `index` (1-based) of the file being read is about to be parsed; `false` skips it.
    fn document(&mut self, _index: usize) -> bool {
        true
    }
}

impl DocumentSink for Inventory {
    fn object(&mut self, object: Object) {
        self.push(object);
    }
    fn gap(&mut self, gap: CoverageGap) {
        self.gaps.push(gap);
    }
}

/// Reads the files of a snapshot, as many times as asked, in the same order
/// each time. A path named on the command line that is not a regular file (a
/// pipe) can be read only once: its text is kept for the later readings.
pub struct Reader<'p> {
    paths: &'p [PathBuf],
    max_file_bytes: u64,
    /// The text (or why there is none) of each named path that cannot be read twice.
    once: std::collections::HashMap<PathBuf, Result<String, String>>,
}

impl<'p> Reader<'p> {
    /// A reader of `paths`; a file larger than `max_file_bytes` is a coverage gap.
    pub fn new(paths: &'p [PathBuf], max_file_bytes: u64) -> Self {
        Reader { paths, max_file_bytes, once: std::collections::HashMap::new() }
    }

    /// The paths read, for a message.
    pub fn describe(&self) -> String {
        self.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    }

    /// Reads every file, in order, into `sink`; returns the `snapshot:PATH` source of each path.
    pub fn visit(&mut self, sink: &mut dyn DocumentSink) -> Result<Vec<String>, SnapshotError> {
        let mut sources = Vec::new();
        for path in self.paths {
            let meta =
                std::fs::metadata(path).map_err(|source| SnapshotError::Unreadable { path: path.clone(), source })?;
            let files = if meta.is_dir() {
                let mut files = Vec::new();
                let mut gaps = Vec::new();
                walk(path, &mut files, &mut gaps)
                    .map_err(|source| SnapshotError::Unreadable { path: path.clone(), source })?;
                gaps.into_iter().for_each(|g| sink.gap(g));
                files.into_iter().map(|f| (f, Origin::Found)).collect()
            } else {
                vec![(path.clone(), Origin::Named)]
            };
            for (file, origin) in files {
                if !sink.file(&file) {
                    continue;
                }
                let read = match self.once.get(&file) {
                    Some(kept) => kept.clone(),
                    None => {
                        let read = read_text(&file, origin, self.max_file_bytes);
                        if origin == Origin::Named && !meta.is_file() {
                            self.once.insert(file.clone(), read.clone());
                        }
                        read
                    }
                };
                let text = match read {
                    Ok(text) => text,
                    Err(reason) => {
                        sink.gap(gap(&file, None, reason));
                        continue;
                    }
                };
                if is_dump_log(&file) {
                    load_dump_log(&file, &text, sink);
                } else {
                    load_text(&file, &text, sink);
                }
            }
            sources.push(format!("snapshot:{}", path.display()));
        }
        Ok(sources)
    }
}

/// Takes the cluster name, clock and coverage of a `kubeeye.io/v1 Inspection` record, if any.
pub fn apply_inspection_record(inventory: &mut Inventory) {
    let Some(record) = inventory.objects.iter().find(|o| o.id.kind == "Inspection" && o.id.group == "kubeeye.io")
    else {
        return;
    };
    let text = |k: &str| record.raw.get(k).and_then(Value::as_str).map(str::to_string);
    inventory.cluster = text("cluster");
    let collected_at = record.raw.get("collectedAt").filter(|v| !v.is_null());
    inventory.collected_at =
        collected_at.and_then(Value::as_str).and_then(crate::clock::parse).map(crate::clock::format);
    let mut bad_time = None;
    if let Some(value) = collected_at.filter(|_| inventory.collected_at.is_none()) {
        // Not a timestamp: the record's file was written when the snapshot
        // was taken, so its modification time dates the report best.
        let file = record.source.as_ref().map(|s| s.file.to_string());
        let modified = file
            .as_deref()
            .and_then(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
            .and_then(|t| crate::clock::Timestamp::try_from(t).ok())
            .map(crate::clock::format);
        let shown: String = value.to_string().chars().take(80).collect();
        let dated = match &modified {
            Some(time) => format!("the file's modification time ({time})"),
            None => "this run".to_string(),
        };
        bad_time = Some(CoverageGap::unavailable(
            crate::inventory::section::CONTROL_PLANE,
            "kubeeye.io/v1 Inspection collectedAt",
            format!(
                "the snapshot's collectedAt {shown} in {} is not a timestamp; the report is dated by {dated} instead",
                file.as_deref().unwrap_or("the snapshot")
            ),
        ));
        inventory.collected_at = modified;
    }
    inventory.kubernetes_version = text("kubernetesVersion");
    if let Some(source) = text("source") {
        inventory.sources.push(source);
    }
    let gaps: Vec<CoverageGap> =
        record.raw.get("coverage").and_then(|c| serde_json::from_value(c.clone()).ok()).unwrap_or_default();
    inventory.gaps.extend(gaps);
    inventory.gaps.extend(bad_time);
}

/// `kubectl cluster-info dump` writes each pod's logs to `<namespace>/<pod>/logs.txt`.
fn is_dump_log(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "logs.txt")
}

/// Splits a cluster-info dump `logs.txt` into one `ContainerLog` per container section.
fn load_dump_log(path: &Path, text: &str, sink: &mut dyn DocumentSink) {
    // <namespace>/<pod>/logs.txt: the directory names say whose logs these are when the header does not.
    let mut dirs = path.ancestors().skip(1).filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned());
    let dir_pod = dirs.next().unwrap_or_default();
    let dir_namespace = dirs.next().unwrap_or_default();
    let mut current: Option<(String, String, String, String)> = None;
    let flush = |section: Option<(String, String, String, String)>, sink: &mut dyn DocumentSink| {
        if let Some((namespace, pod, container, log)) = section {
            let object = serde_json::json!({
                "apiVersion": "kubeeye.io/v1", "kind": "ContainerLog",
                "metadata": {"namespace": namespace, "name": format!("{pod}.{container}")},
                "pod": pod, "container": container, "log": log,
            });
            if let Some(o) = Object::from_value(object) {
                sink.object(o);
            }
        }
    };
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("==== START logs for container ").and_then(|l| l.strip_suffix(" ===="))
        {
            flush(current.take(), sink);
            let (container, owner) = header.split_once(" of pod ").unwrap_or((header, ""));
            let (namespace, pod) = owner.split_once('/').unwrap_or((dir_namespace.as_str(), dir_pod.as_str()));
            current = Some((namespace.to_string(), pod.to_string(), container.to_string(), String::new()));
        } else if line.starts_with("==== END logs for container ") {
            flush(current.take(), sink);
        } else if let Some((_, _, _, log)) = current.as_mut() {
            log.push_str(line);
            log.push('\n');
        }
    }
    flush(current.take(), sink);
}

/// Manifest files below `dir`, sorted so that loads are reproducible. Hidden entries are skipped;
/// links to directories are not followed. Only `dir` itself failing is an error: a subdirectory
/// that cannot be listed is a gap naming it, and the rest still loads.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, gaps: &mut Vec<CoverageGap>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => {
                if let Err(e) = walk(&path, out, gaps) {
                    gaps.push(gap(&path, None, format!("cannot read directory: {e}")));
                }
            }
            Ok(_) if is_manifest(&path) || is_dump_log(&path) => out.push(path),
            Ok(_) => {}
            Err(e) => gaps.push(gap(&path, None, format!("cannot read: {e}"))),
        }
    }
    Ok(())
}

/// How a file came to be read: named on the command line, or found in a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Named,
    Found,
}

/// Reads one file of at most `max` bytes. A file found in a directory must be a regular file.
fn read_text(path: &Path, origin: Origin, max: u64) -> Result<String, String> {
    let cannot = |e: std::io::Error| format!("cannot read file: {e}");
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if origin == Origin::Found {
        regular(&meta)?;
    }
    if meta.is_file() && meta.len() > max {
        return Err(too_large(max));
    }
    let file = open(path, origin).map_err(cannot)?;
    if origin == Origin::Found {
        // The path may have been swapped between the two looks; the handle is what is read.
        regular(&file.metadata().map_err(cannot)?)?;
    }
    let capacity = if meta.is_file() { meta.len().min(max) } else { 0 };
    let mut bytes = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    file.take(max.saturating_add(1)).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > max {
        return Err(too_large(max));
    }
    String::from_utf8(bytes).map_err(|_| "cannot read file: stream did not contain valid UTF-8".to_string())
}

/// Opens for reading; a file found in a directory without blocking, so that a FIFO put in a
/// regular file's place cannot hang the open.
fn open(path: &Path, origin: Origin) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    if origin == Origin::Found {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    let _ = origin;
    options.open(path)
}

fn regular(meta: &std::fs::Metadata) -> Result<(), String> {
    if meta.is_file() {
        return Ok(());
    }
    let t = meta.file_type();
    let what = if t.is_dir() { "a directory" } else { special_kind(t) };
    Err(format!("not a regular file ({what}); only regular files are read from a snapshot directory"))
}

#[cfg(unix)]
fn special_kind(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: std::fs::FileType) -> &'static str {
    "a special file"
}

fn too_large(max: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    let size = if max.is_multiple_of(MIB) { format!("{} MiB", max / MIB) } else { format!("{max} bytes") };
    format!("larger than {size} (inspection.collection.maxFileBytes); not read")
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(),
        Some("yaml" | "yml" | "json")
    )
}

/// Loads the text of one manifest file as if read from `path` (its extension says JSON or YAML);
/// a Windows editor's byte-order mark is ignored.
/// Each document is parsed and handed to `sink` before the next is parsed.
pub fn load_text(path: &Path, text: &str, sink: &mut dyn DocumentSink) {
    let text = crate::yaml::strip_bom(text);
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    // One shared copy of the file name for every object (and finding) of the file.
    let file = crate::text::Text::from(path.display().to_string());
    let mut index = 0;
    let mut each = |line: usize, parse: &mut dyn FnMut() -> Document| {
        index += 1;
        if !sink.document(index) {
            return;
        }
        match parse() {
            Ok(Some(value)) => {
                let source = SourceLocation { file: file.clone(), line };
                add_document(value, path, index, source, sink);
            }
            Ok(None) => {}
            Err(reason) => sink.gap(gap(path, Some(index), reason)),
        }
    };
    if is_json {
        json_documents(text, &mut each);
    } else {
        yaml_documents(text, &mut each);
    }
}

type Document = Result<Option<Value>, String>;

/// Each document with the line it starts on, handed to `each` as it is parsed.
fn json_documents(text: &str, each: &mut dyn FnMut(usize, &mut dyn FnMut() -> Document)) {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    // Lines are counted on from the previous document, so many documents cost one pass.
    let (mut counted, mut line) = (0, 1);
    loop {
        // The stream stands after the previous document; the next starts at the next non-blank byte.
        let rest = text.as_bytes().get(stream.byte_offset()..).unwrap_or_default();
        let blank = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let start = stream.byte_offset() + blank;
        line += text.as_bytes().get(counted..start).unwrap_or_default().iter().filter(|b| **b == b'\n').count();
        counted = start.max(counted);
        match stream.next() {
            None => break,
            Some(Ok(v)) => {
                let mut v = Some(v);
                each(line, &mut || Ok(v.take()));
            }
            Some(Err(e)) => {
                // A JSON syntax error leaves no reliable place to resume from.
                each(line, &mut || Err(format!("invalid JSON: {e}")));
                break;
            }
        }
    }
}

/// Splits on `---` separator lines first, so one malformed document does not hide the next.
/// Each document comes with the line of its first content (comments and blank lines skipped),
/// handed to `each` with its parser: a document `each` does not want is never parsed.
fn yaml_documents(text: &str, each: &mut dyn FnMut(usize, &mut dyn FnMut() -> Document)) {
    let mut emitted = 0usize;
    let mut current = String::new();
    let mut start_line = 1;
    let mut line_no = 0;
    let mut flush = |current: &mut String, start_line: usize| {
        if current.trim().is_empty() {
            // Keep document numbering aligned with what editors show: an empty
            // leading document before the first `---` is not counted.
            if emitted > 0 {
                emitted += 1;
                each(start_line, &mut || Ok(None));
            }
        } else {
            let skipped = current
                .lines()
                .take_while(|l| {
                    let l = l.trim_start();
                    l.is_empty() || l.starts_with('#') || l.starts_with('%')
                })
                .count();
            emitted += 1;
            each(start_line + skipped, &mut || parse_yaml(current, start_line));
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
}

fn is_separator(line: &str) -> bool {
    line.strip_prefix("---").is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// Parses one document within the limits of [`crate::yaml`], checked before the parser sees it.
fn parse_yaml(text: &str, start_line: usize) -> Document {
    let limit = |e: crate::yaml::LimitError| e.shifted(start_line - 1).to_string();
    crate::yaml::check(text).map_err(limit)?;
    match crate::yaml::manifest_from_str(text) {
        Ok(Value::Null) => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(crate::yaml::ParseError::Limit(e)) => Err(limit(e)),
        Err(crate::yaml::ParseError::Syntax(e)) => {
            let at = e.location().map(|l| format!(" at line {}", start_line + l.line() - 1)).unwrap_or_default();
            Err(format!("invalid YAML{at}: {}", strip_location(&e.to_string())))
        }
    }
}

/// serde_norway appends "at line L column C" relative to the document; we report file lines.
fn strip_location(message: &str) -> &str {
    message.find(" at line ").map_or(message, |i| &message[..i])
}

fn add_document(value: Value, path: &Path, index: usize, source: SourceLocation, sink: &mut dyn DocumentSink) {
    let Some(map) = value.as_object() else {
        sink.gap(gap(path, Some(index), "not a Kubernetes object (expected a mapping)".into()));
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
    // `items: null` (or none at all, for a generic `List`) is an empty list, as
    // `kubectl get -o yaml` prints when nothing matched.
    let empty_list = kind == "List" && map.get("metadata").and_then(|m| m.get("name")).is_none();
    if kind.ends_with("List") && (map.contains_key("items") || empty_list) {
        let list_kind = kind.to_string();
        let api_version = map.get("apiVersion").and_then(Value::as_str).map(str::to_string);
        let items = match value {
            Value::Object(mut m) => m.remove("items").filter(|items| !items.is_null()),
            _ => None,
        };
        let items = items.unwrap_or(Value::Array(Vec::new()));
        let Value::Array(items) = items else {
            sink.gap(gap(path, Some(index), format!("{list_kind}: `items` is not a list")));
            return;
        };
        // A generic `List` says nothing about its items' kind; `PodList` does.
        let item_kind = (list_kind != "List").then(|| list_kind.trim_end_matches("List"));
        for (i, mut item) in items.into_iter().enumerate() {
            crate::inventory::fill_list_item(&mut item, item_kind, api_version.as_deref());
            add_object(item, path, source.clone(), index, Some(i), sink);
        }
    } else {
        add_object(value, path, source, index, None, sink);
    }
}

fn add_object(
    value: Value,
    path: &Path,
    source: SourceLocation,
    index: usize,
    item: Option<usize>,
    sink: &mut dyn DocumentSink,
) {
    match Object::from_value(value) {
        Some(object) => sink.object(object.at(source, (index, item))),
        None => {
            let what = item.map(|i| format!("item {i}: ")).unwrap_or_default();
            sink.gap(gap(path, Some(index), format!("{what}object has no kind or metadata.name")));
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
    fn objects_know_their_file_and_line() {
        let inv = load_text(
            "m.yaml",
            "# header\n\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n---\n# b\napiVersion: v1\nkind: List\nitems:\n- {kind: Pod, apiVersion: v1, metadata: {name: b, namespace: x}}\n- {kind: Pod, apiVersion: v1, metadata: {name: b, namespace: x}, spec: {}}\n",
        );
        type At = (String, usize, (usize, Option<usize>), bool);
        let at: Vec<At> = inv
            .objects
            .iter()
            .map(|o| {
                let s = o.source.as_ref().unwrap();
                (o.id.name.clone(), s.line, o.document, o.shared_identity)
            })
            .collect();
        assert_eq!(
            at,
            [
                ("a".to_string(), 3, (1, None), false),
                ("b".to_string(), 8, (2, Some(0)), true),
                ("b".to_string(), 8, (2, Some(1)), true),
            ]
        );
        assert!(inv.objects[0].source.as_ref().unwrap().file.ends_with("m.yaml"));
        let inv = load_text(
            "c.json",
            "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}\n\n  {\"apiVersion\":\"v1\",\n\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"}}\n{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"c\"}}",
        );
        let lines: Vec<usize> = inv.objects.iter().map(|o| o.source.as_ref().unwrap().line).collect();
        assert_eq!(lines, [1, 3, 5]);
    }

    #[test]
    fn an_empty_list_is_no_objects_and_no_gap() {
        for text in [
            "apiVersion: v1\nkind: List\nitems: null\nmetadata: {resourceVersion: \"\"}\n",
            "apiVersion: v1\nkind: List\nitems:\n",
            "apiVersion: v1\nkind: List\n",
            "apiVersion: v1\nkind: PodList\nitems: ~\n",
        ] {
            let inv = load_text("empty.yaml", text);
            assert!(inv.objects.is_empty(), "{text:?}");
            assert!(inv.gaps.is_empty(), "{text:?}: {:?}", inv.gaps);
        }
        let inv = load_text("bad.yaml", "apiVersion: v1\nkind: List\nitems: {a: 1}\n");
        assert_eq!(inv.gaps[0].reason, "List: `items` is not a list");
    }

    #[test]
    fn yaml_1_1_booleans_in_manifests_are_booleans() {
        let inv = load_text(
            "pod.yaml",
            concat!(
                "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {quoted: \"on\", single: 'yes'}}\n",
                "spec:\n  hostNetwork: yes\n  hostPID: On\n  hostIPC: n\n",
                "  containers:\n  - name: c\n    securityContext: {privileged: on, readOnlyRootFilesystem: OFF}\n",
                "    args: [on, \"off\", 'no', yes please]\n",
            ),
        );
        let pod = &inv.objects[0].raw;
        assert_eq!(pod["spec"]["hostNetwork"], true);
        assert_eq!(pod["spec"]["hostPID"], true);
        assert_eq!(pod["spec"]["hostIPC"], false);
        assert_eq!(pod["spec"]["containers"][0]["securityContext"]["privileged"], true);
        assert_eq!(pod["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"], false);
        assert_eq!(pod["spec"]["containers"][0]["args"], serde_json::json!([true, "off", "no", "yes please"]));
        assert_eq!(pod["metadata"]["labels"], serde_json::json!({"quoted": "on", "single": "yes"}));
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
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("inspection.yaml"),
            "apiVersion: kubeeye.io/v1\nkind: Inspection\nmetadata: {name: inspection}\ncollectedAt: \"yesterday\"\n",
        )
        .unwrap();
        let file = dir.path().join("inspection.yaml");
        let taken = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_764_036_000);
        std::fs::File::options().write(true).open(&file).unwrap().set_modified(taken).unwrap();
        let inv = load(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(
            inv.collected_at.as_deref(),
            Some("2025-11-25T02:00:00Z"),
            "not a timestamp: the record file's modification time is used"
        );
        let reason = &inv.gaps[0].reason;
        assert!(
            reason.contains("\"yesterday\" in ") && reason.contains("inspection.yaml is not a timestamp"),
            "{reason}"
        );
        assert!(reason.contains("dated by the file's modification time (2025-11-25T02:00:00Z)"), "{reason}");
        assert_eq!(inv.gaps.len(), 1);
        assert_eq!(inv.gaps[0].kind, crate::inventory::GapKind::Unavailable);
    }

    #[test]
    fn missing_path_is_an_error() {
        assert!(load(&[PathBuf::from("/nonexistent/kubeeye")]).is_err());
    }

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n";

    /// Loads in a thread, so that a load that hangs fails the test instead of stalling it.
    fn load_within(paths: Vec<PathBuf>, max: u64) -> Inventory {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(load_with_limit(&paths, max).unwrap());
        });
        rx.recv_timeout(std::time::Duration::from_secs(20)).expect("the load finished")
    }

    #[test]
    fn a_fifo_in_a_snapshot_directory_is_a_gap_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pod.yaml"), POD).unwrap();
        let fifo = dir.path().join("pipe.yaml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let inv = load_within(vec![dir.path().to_path_buf()], DEFAULT_MAX_FILE_BYTES);
        assert_eq!(inv.objects.len(), 1);
        assert_eq!(inv.gaps.len(), 1, "{:?}", inv.gaps);
        assert_eq!(inv.gaps[0].resource, fifo.display().to_string());
        assert!(inv.gaps[0].reason.contains("not a regular file (a FIFO)"), "{:?}", inv.gaps[0]);
    }

    #[test]
    fn links_to_devices_and_directories_are_gaps() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pod.yaml"), POD).unwrap();
        std::os::unix::fs::symlink("/dev/null", dir.path().join("null.yaml")).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("sub"), dir.path().join("sub.json")).unwrap();
        let inv = load_within(vec![dir.path().to_path_buf()], DEFAULT_MAX_FILE_BYTES);
        assert_eq!(inv.objects.len(), 1);
        let reasons: Vec<&str> = inv.gaps.iter().map(|g| g.reason.as_str()).collect();
        assert_eq!(inv.gaps.len(), 2, "{reasons:?}");
        assert!(reasons[0].starts_with("not a regular file (a character device)"), "{reasons:?}");
        assert!(reasons[1].starts_with("not a regular file (a directory)"), "{reasons:?}");
    }

    #[test]
    fn a_file_over_the_size_limit_is_a_gap() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pod.yaml"), POD).unwrap();
        let big = dir.path().join("big.yaml");
        std::fs::write(&big, format!("{POD}# {}\n", "x".repeat(200))).unwrap();
        let inv = load_within(vec![dir.path().to_path_buf()], 100);
        assert_eq!(inv.objects.len(), 1);
        assert_eq!(inv.gaps[0].resource, big.display().to_string());
        assert_eq!(inv.gaps[0].reason, "larger than 100 bytes (inspection.collection.maxFileBytes); not read");
        // A pipe named on the command line is read, up to the limit.
        let inv = load_within(vec![PathBuf::from("/dev/zero")], 1024 * 1024);
        assert_eq!(inv.gaps[0].reason, "larger than 1 MiB (inspection.collection.maxFileBytes); not read");
    }

    #[test]
    fn an_unreadable_subdirectory_is_a_gap_naming_it() {
        // A directory whose path is longer than the system allows (ENAMETOOLONG) cannot be
        // listed, even by root; it is built through short links placed outside the snapshot.
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("snap");
        std::fs::create_dir(&snap).unwrap();
        std::fs::write(snap.join("pod.yaml"), POD).unwrap();
        let name = "d".repeat(250);
        let mut short = snap.clone();
        for i in 0..20 {
            std::fs::create_dir(short.join(&name)).unwrap();
            let link = dir.path().join(format!("l{i}"));
            std::os::unix::fs::symlink(short.join(&name), &link).unwrap();
            short = link;
        }
        let inv = load_within(vec![snap.clone()], DEFAULT_MAX_FILE_BYTES);
        assert_eq!(inv.objects.len(), 1);
        assert_eq!(inv.gaps.len(), 1, "{:?}", inv.gaps);
        assert!(inv.gaps[0].resource.starts_with(&format!("{}/{name}/{name}/", snap.display())));
        assert!(inv.gaps[0].reason.starts_with("cannot read directory: "), "{}", inv.gaps[0].reason);
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), format!("\u{feff}{POD}")).unwrap();
        std::fs::write(dir.path().join("b.yaml"), format!("\u{feff}---\n{}", POD.replace("name: a", "name: b")))
            .unwrap();
        std::fs::write(
            dir.path().join("c.json"),
            "\u{feff}{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"c\",\"namespace\":\"x\"}}",
        )
        .unwrap();
        let inv = load(&[dir.path().to_path_buf()]).unwrap();
        assert!(inv.gaps.is_empty(), "{:?}", inv.gaps);
        let names: Vec<_> = inv.objects.iter().map(|o| o.id.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn deep_nesting_is_a_gap_found_before_parsing() {
        // 200 KB of unclosed `{a: ` took the parser 20 s.
        let text = format!(
            "{POD}---\nkind: Pod\nspec:\n  x: {}\n---\n{}",
            "{a: ".repeat(50_000),
            POD.replace("name: a", "name: b")
        );
        let started = std::time::Instant::now();
        let inv = load_text("deep.yaml", &text);
        assert!(started.elapsed() < std::time::Duration::from_secs(3), "{:?}", started.elapsed());
        let names: Vec<_> = inv.objects.iter().map(|o| o.id.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(inv.gaps[0].resource.ends_with("deep.yaml (document 2)"), "{:?}", inv.gaps[0]);
        assert!(inv.gaps[0].reason.starts_with("YAML nested deeper than 100 levels at line 7;"), "{:?}", inv.gaps[0]);
    }

    #[test]
    fn documents_that_would_take_too_much_memory_are_gaps() {
        // Aliases: 6 KB that expand to a million nodes.
        let bomb =
            format!("kind: Pod\nmetadata: {{name: x}}\na: &a [{}]\nb: [{}]\n", "x,".repeat(1000), "*a,".repeat(1000));
        // Density: 300,000 one-letter items.
        let dense = format!("kind: Pod\nmetadata: {{name: y}}\nz: [{}]\n", "a,".repeat(300_000));
        let inv = load_text("m.yaml", &format!("{bomb}---\n{dense}---\n{POD}"));
        let names: Vec<_> = inv.objects.iter().map(|o| o.id.name.as_str()).collect();
        assert_eq!(names, ["a"]);
        assert_eq!(inv.gaps.len(), 2, "{:?}", inv.gaps);
        assert!(inv.gaps[0].reason.starts_with("YAML document expands to more than"), "{:?}", inv.gaps[0]);
        assert!(
            inv.gaps[1].reason.starts_with("YAML document starting at line 6 has more than 250000 nodes"),
            "{:?}",
            inv.gaps[1]
        );
    }
}

//! A snapshot evaluated as it is read, so that memory follows what the
//! cross-object checks need, not the snapshot's size.
//!
//! 1. [`read`] parses every document and keeps whole only the objects other
//!    checks look up ([`kept_kind`]: nodes, RBAC roles, PDBs, HPAs, network
//!    policies, service accounts, leases …). Of every other object it keeps
//!    its identity and a fingerprint, enough to drop the same object listed
//!    twice as [`Inventory::dedup`] does, and to know which controllers exist.
//! 2. [`Plan::evaluate`] reads the files again and hands each object to an
//!    [`Inspector`] in the order it was read, then drops it; what the report
//!    needs of it (its source, its overview counts) is kept in [`Streamed`].
//!    Pods and events come last, as [`evaluate_with`] takes them on a whole
//!    inventory: the files with other objects are read once more for them,
//!    and only those files (a `ke snapshot` directory or a cluster dump keeps
//!    pods and events in files of their own; manifests have none).
//!
//! The evaluation is the one [`evaluate_with`] gives on the whole inventory,
//! in the same order: same findings, passes, gaps and exemptions. A pipe named
//! on the command line is read once and its text kept (see [`Reader`]). A
//! snapshot that changes between the readings is a coverage gap.
//!
//! [`evaluate_with`]: crate::checks::evaluate_with

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hasher;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::checks::workload::CONTROLLER_KINDS;
use crate::checks::{Evaluation, Inspector};
use crate::collect::offline::{self, DocumentSink, Reader, SnapshotError};
use crate::config::InspectSettings;
use crate::inventory::{
    CoverageGap, Inventory, LogRecord, NamespaceFilter, Object, ObjectRef, Streamed, applied_namespace,
    control_plane_component,
};
use crate::rules::RuleSet;

/// Kinds kept whole through the evaluation besides those the checks' index
/// looks up ([`crate::checks::index::looked_up`]): what the report reads of
/// nodes, namespaces and component statuses.
const KEPT: &[&str] = &["Node", "Namespace", "ComponentStatus"];

/// Whether objects of this identity are kept whole rather than evaluated as read.
pub fn kept_kind(id: &ObjectRef) -> bool {
    let kind = id.kind.as_str();
    KEPT.contains(&kind) || crate::checks::index::looked_up(kind)
}

/// Pods and events: evaluated after every other object.
fn last(id: &ObjectRef) -> bool {
    id.group.is_empty() && matches!(id.kind.as_str(), "Pod" | "Event")
}

/// What the first reading found: the kept objects, and how to feed the rest.
pub struct Plan<'p> {
    reader: Reader<'p>,
    /// The kept objects (deduplicated, in the namespace scope), with the
    /// snapshot's gaps, sources, clock and the identities of the other objects.
    pub inventory: Inventory,
    /// The reading order of each kept object.
    kept_order: Vec<usize>,
    /// Objects dropped as the same object listed again later, by reading order.
    dropped: HashSet<usize>,
    /// Identities that name more than one distinct object.
    shared: HashSet<ObjectRef>,
    /// The files read, in order.
    files: Vec<FileSeen>,
    /// How many objects were read.
    read: usize,
}

/// One file as the first reading saw it.
struct FileSeen {
    path: PathBuf,
    /// The reading order of its first object.
    start: usize,
    /// How many objects it holds.
    count: usize,
    /// Whether it holds objects other than pods and events.
    others: bool,
    /// Whether it holds pods or events.
    pods: bool,
    /// Its documents that hold objects, in order.
    documents: Vec<DocumentSeen>,
}

/// One document of a file, with its objects.
struct DocumentSeen {
    /// Its number in the file (1-based).
    index: usize,
    /// The reading order of its first object.
    start: usize,
    /// How many objects it holds (a list, several).
    count: usize,
    others: bool,
    pods: bool,
}

/// One object of an identity, as read.
struct Seen {
    order: usize,
    uid: Option<Box<str>>,
    /// Of the content, when there is no uid to tell two objects apart.
    hash: u64,
    in_scope: bool,
}

impl Seen {
    /// [`Inventory::dedup`]'s test: the same uid, or the same content.
    fn same(&self, other: &Seen) -> bool {
        match (&self.uid, &other.uid) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.hash == other.hash,
            _ => false,
        }
    }
}

/// The first reading's sink.
struct Survey<'s> {
    scope: &'s NamespaceFilter,
    read: usize,
    kept: Vec<(usize, Object)>,
    seen: HashMap<ObjectRef, Vec<Seen>>,
    files: Vec<FileSeen>,
    gaps: Vec<CoverageGap>,
}

impl DocumentSink for Survey<'_> {
    fn file(&mut self, path: &Path) -> bool {
        let seen = FileSeen {
            path: path.to_path_buf(),
            start: self.read,
            count: 0,
            others: false,
            pods: false,
            documents: Vec::new(),
        };
        self.files.push(seen);
        true
    }

    fn object(&mut self, object: Object) {
        let order = self.read;
        self.read += 1;
        if let Some(file) = self.files.last_mut() {
            file.count += 1;
            let pods = last(&object.id);
            file.pods |= pods;
            file.others |= !pods;
            // A cluster dump's logs.txt has no documents: its objects are all read.
            let index = object.document.0;
            if index > 0 {
                if file.documents.last().is_none_or(|d| d.index != index) {
                    let start = order;
                    file.documents.push(DocumentSeen { index, start, count: 0, others: false, pods: false });
                }
                if let Some(d) = file.documents.last_mut() {
                    d.count += 1;
                    d.pods |= pods;
                    d.others |= !pods;
                }
            }
        }
        let uid = object.metadata().get("uid").and_then(Value::as_str).map(Box::from);
        let hash = if uid.is_none() { content_hash(&object.raw) } else { 0 };
        let in_scope = self.scope.keeps_object(&object);
        self.seen.entry(object.id.clone()).or_default().push(Seen { order, uid, hash, in_scope });
        if kept_kind(&object.id) {
            self.kept.push((order, object));
        }
    }

    fn gap(&mut self, gap: CoverageGap) {
        self.gaps.push(gap);
    }
}

/// A hash of a JSON value that equal values share, whatever their key order.
fn content_hash(value: &Value) -> u64 {
    fn feed(value: &Value, h: &mut std::collections::hash_map::DefaultHasher) {
        match value {
            Value::Null => h.write_u8(0),
            Value::Bool(b) => {
                h.write_u8(1);
                h.write_u8(u8::from(*b));
            }
            Value::Number(n) => {
                h.write_u8(2);
                h.write(n.to_string().as_bytes());
                h.write_u8(0xff);
            }
            Value::String(s) => {
                h.write_u8(3);
                h.write(s.as_bytes());
                h.write_u8(0xff);
            }
            Value::Array(items) => {
                h.write_u8(4);
                h.write_usize(items.len());
                items.iter().for_each(|v| feed(v, h));
            }
            Value::Object(map) => {
                h.write_u8(5);
                h.write_usize(map.len());
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort_unstable();
                for k in keys {
                    h.write(k.as_bytes());
                    h.write_u8(0xff);
                    feed(&map[k], h);
                }
            }
        }
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    feed(value, &mut h);
    h.finish()
}

/// The first reading: the kept objects and the plan for the others.
pub fn read<'p>(paths: &'p [PathBuf], max_file_bytes: u64, scope: &NamespaceFilter) -> Result<Plan<'p>, SnapshotError> {
    let mut reader = Reader::new(paths, max_file_bytes);
    let mut survey =
        Survey { scope, read: 0, kept: Vec::new(), seen: HashMap::new(), files: Vec::new(), gaps: Vec::new() };
    let sources = reader.visit(&mut survey)?;
    // The same object listed twice (a `ke snapshot` bundle next to its parts): the last one counts.
    let mut dropped = HashSet::new();
    let mut shared = HashSet::new();
    let mut known = HashSet::new();
    for (id, seen) in survey.seen {
        let mut counted: Vec<&Seen> = Vec::with_capacity(seen.len());
        for s in seen.iter().rev() {
            if counted.iter().any(|c| c.same(s)) {
                dropped.insert(s.order);
            } else {
                counted.push(s);
            }
        }
        if counted.len() > 1 {
            shared.insert(id.clone());
        }
        // The identities of the objects evaluated and dropped: which controllers exist.
        if counted.iter().any(|s| s.in_scope) && !kept_kind(&id) {
            known.insert(id);
        }
    }
    let mut inventory = Inventory { gaps: survey.gaps, sources, known, ..Inventory::default() };
    let mut kept_order = Vec::new();
    for (order, mut object) in survey.kept {
        if !dropped.contains(&order) {
            object.shared_identity = shared.contains(&object.id);
            kept_order.push(order);
            inventory.objects.push(object);
        }
    }
    offline::apply_inspection_record(&mut inventory);
    let (objects, kept_order): (Vec<Object>, Vec<usize>) =
        inventory.objects.drain(..).zip(kept_order).filter(|(o, _)| scope.keeps_object(o)).unzip();
    inventory.objects = objects;
    Ok(Plan { reader, inventory, kept_order, dropped, shared, files: survey.files, read: survey.read })
}

impl Plan<'_> {
    /// Whether the snapshot held nothing at all: no object, and nothing that could not be read.
    pub fn is_empty(&self) -> bool {
        self.read == 0 && self.inventory.gaps.is_empty()
    }

    /// The later readings: every object evaluated in the order it was read,
    /// pods and events last, each dropped once evaluated.
    pub fn evaluate(
        mut self,
        rules: &RuleSet,
        settings: &InspectSettings,
        scope: &NamespaceFilter,
    ) -> Result<(Inventory, Evaluation), SnapshotError> {
        let mut inventory = std::mem::take(&mut self.inventory);
        let (state, streamed, pod_phases, changed) = {
            let mut feed = Feed {
                inspector: Inspector::in_file_order(&inventory, rules, settings),
                pods: false,
                kept: &inventory.objects,
                kept_order: &self.kept_order,
                next_kept: 0,
                dropped: &self.dropped,
                shared: &self.shared,
                scope,
                files: &self.files,
                next_file: 0,
                file: None,
                next_document: 0,
                end: None,
                changed: false,
                read: 0,
                streamed: Streamed::default(),
                pod_phases: BTreeMap::new(),
            };
            self.reader.visit(&mut feed)?;
            feed.close();
            // Kept objects not met again (the files changed) are evaluated all the same.
            feed.kept_up_to(usize::MAX);
            feed.pods = true;
            self.reader.visit(&mut feed)?;
            feed.close();
            (feed.inspector.suspend(), feed.streamed, feed.pod_phases, feed.changed)
        };
        if changed {
            inventory.gaps.push(CoverageGap::error(
                "snapshot",
                self.reader.describe(),
                "the snapshot changed while it was read; the findings may match neither its old nor its new content",
            ));
        }
        inventory.streamed = streamed;
        inventory.streamed_pod_phases = pod_phases;
        let evaluation = Inspector::resume(&inventory, state).finish();
        Ok((inventory, evaluation))
    }
}

/// Records what `object`, evaluated and dropped, leaves behind for the report
/// (see [`Streamed`]); pods count by phase in `pod_phases`.
fn project(streamed: &mut Streamed, object: &Object, pod_phases: &mut BTreeMap<String, usize>) {
    let kind = object.id.kind.as_str();
    if let Some(source) = &object.source {
        let key = (kind.to_string(), object.id.namespace.clone(), object.id.name.clone());
        streamed.sources.entry(key).or_insert_with(|| source.clone());
        if kind == "Pod"
            && let Some(component) = control_plane_component(&object.raw)
        {
            streamed.components.entry(component).or_insert_with(|| source.clone());
        }
    }
    if let Some(ns) = applied_namespace(kind, object.id.namespace.as_deref())
        && !streamed.namespaces.contains(ns)
    {
        streamed.namespaces.insert(ns.to_string());
    }
    let owned = object.controller_owner().is_some_and(|o| o.kind != "Node");
    if CONTROLLER_KINDS.contains(&kind) && kind != "Pod" && !owned {
        *streamed.workloads.entry(kind.to_string()).or_default() += 1;
    }
    if object.id.group.is_empty() && kind == "Pod" {
        let phase = object.raw.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Unknown");
        *pod_phases.entry(phase.to_string()).or_default() += 1;
    }
    streamed.node_problem_detector |=
        object.id.name.starts_with("node-problem-detector") && matches!(kind, "DaemonSet" | "Pod");
}

/// The later readings' sink: hands each object to the inspector, keeps its projection.
struct Feed<'a, 'i, 'r> {
    inspector: Inspector<'i, 'r>,
    /// Whether this reading is for pods and events (else for every other object).
    pods: bool,
    kept: &'i [Object],
    kept_order: &'a [usize],
    next_kept: usize,
    dropped: &'a HashSet<usize>,
    shared: &'a HashSet<ObjectRef>,
    scope: &'a NamespaceFilter,
    files: &'a [FileSeen],
    next_file: usize,
    /// The file being read, and the next of its documents to meet.
    file: Option<&'a FileSeen>,
    next_document: usize,
    /// Where the objects of the file being read end, in reading order.
    end: Option<usize>,
    /// Whether the files differ from the first reading's.
    changed: bool,
    read: usize,
    streamed: Streamed,
    pod_phases: BTreeMap<String, usize>,
}

impl Feed<'_, '_, '_> {
    /// Evaluates the kept objects read at or before `order`.
    fn kept_up_to(&mut self, order: usize) {
        while let Some(&at) = self.kept_order.get(self.next_kept)
            && at <= order
        {
            let kept = self.kept;
            self.inspector.objects(std::slice::from_ref(&kept[self.next_kept]));
            self.next_kept += 1;
        }
    }

    /// Checks the file just read held as many objects as before.
    fn end_file(&mut self) {
        if let Some(end) = self.end.take() {
            self.changed |= self.read != end;
        }
    }

    /// Ends a reading: every file of the first one was met again.
    fn close(&mut self) {
        self.end_file();
        self.changed |= self.next_file != self.files.len();
        self.next_file = 0;
    }
}

impl DocumentSink for Feed<'_, '_, '_> {
    fn file(&mut self, path: &Path) -> bool {
        self.end_file();
        let index = self.next_file;
        self.next_file += 1;
        let files = self.files;
        let Some(file) = files.get(index).filter(|f| f.path == path) else {
            self.changed = true;
            return false;
        };
        let wanted = if self.pods { file.pods } else { file.others };
        if wanted {
            self.read = file.start;
            self.end = Some(file.start + file.count);
            self.file = Some(file);
            self.next_document = 0;
        }
        wanted
    }

    /// Parses only the documents with objects this reading evaluates; skips the others' objects.
    fn document(&mut self, index: usize) -> bool {
        let Some(file) = self.file else { return true };
        let documents = &file.documents;
        while documents.get(self.next_document).is_some_and(|d| d.index < index) {
            self.next_document += 1;
        }
        let Some(document) = documents.get(self.next_document).filter(|d| d.index == index) else {
            // No object in it the first time: nothing to evaluate (the file changed, or a gap).
            return false;
        };
        self.read = document.start;
        let wanted = if self.pods { document.pods } else { document.others };
        if !wanted {
            self.read += document.count;
        }
        wanted
    }

    fn object(&mut self, mut object: Object) {
        let order = self.read;
        self.read += 1;
        if !self.pods {
            self.kept_up_to(order);
        }
        let skip = kept_kind(&object.id) || last(&object.id) != self.pods;
        if skip || self.dropped.contains(&order) || !self.scope.keeps_object(&object) {
            return;
        }
        object.shared_identity = self.shared.contains(&object.id);
        project(&mut self.streamed, &object, &mut self.pod_phases);
        let one = std::slice::from_ref(&object);
        match (object.id.group.as_str(), object.id.kind.as_str()) {
            ("", "Pod") => self.inspector.pod(&object),
            ("", "Event") => self.inspector.event(&object),
            ("kubeeye.io", "ContainerLog") => {
                self.inspector.objects(one);
                // A log's lines are judged on their own: when does not matter.
                let field = |k: &str| object.raw.get(k).and_then(Value::as_str).unwrap_or_default();
                let namespace = object.id.namespace.as_deref().unwrap_or_default();
                self.inspector.log(&LogRecord {
                    namespace,
                    pod: field("pod"),
                    container: field("container"),
                    text: field("log"),
                });
            }
            _ => self.inspector.objects(one),
        }
    }

    /// Gaps were gathered by the first reading.
    fn gap(&mut self, _: CoverageGap) {}
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::inspect::{self, Inspected};

    /// The inspection as it was before snapshots were streamed: the whole inventory in memory.
    fn whole(paths: &[PathBuf], rules: &RuleSet, scope: &NamespaceFilter) -> Inspected {
        let settings = InspectSettings::default();
        let mut inventory = offline::load_with_limit(paths, settings.collection.max_file_bytes).unwrap();
        inventory.retain_namespaces(scope);
        let evaluation = crate::checks::evaluate_with(&inventory, rules, &settings);
        let collected_at = inventory.collected_at.clone();
        let mut inspected = inspect::finish(inventory, evaluation, String::new(), scope, rules);
        if let Some(at) = collected_at {
            inspected.started_at.clone_from(&at);
            inspected.finished_at = Some(at);
        }
        inspected
    }

    fn streamed(paths: &[PathBuf], rules: &RuleSet, scope: &NamespaceFilter) -> Inspected {
        let settings = InspectSettings::default();
        let run = inspect::inspect_snapshot(paths, rules, &settings, scope, None);
        futures::executor::block_on(run).unwrap()
    }

    /// The report as JSON, without its times (a snapshot without a clock is dated by the run).
    /// Findings that tie on every sort key (two nodes of one name in different files) come in
    /// no fixed order, whole or streamed: they are compared as a set.
    fn report(inspected: Inspected, rules: &RuleSet) -> Value {
        let mut report = serde_json::to_value(inspected.into_report(rules, "c".into())).unwrap();
        report["startedAt"] = Value::Null;
        report["finishedAt"] = Value::Null;
        if let Some(findings) = report["findings"].as_array_mut() {
            findings.sort_by_cached_key(Value::to_string);
        }
        report
    }

    fn assert_same(paths: &[PathBuf], rules: &RuleSet, scope: &NamespaceFilter) {
        let old = report(whole(paths, rules, scope), rules);
        let new = report(streamed(paths, rules, scope), rules);
        if old != new {
            let (old, new) = (serde_json::to_string_pretty(&old).unwrap(), serde_json::to_string_pretty(&new).unwrap());
            let first = old.lines().zip(new.lines()).position(|(a, b)| a != b).unwrap_or(0);
            let around = |t: &str| t.lines().skip(first.saturating_sub(5)).take(12).collect::<Vec<_>>().join("\n");
            panic!(
                "{paths:?} {scope:?}: reports differ at line {first}\nwhole:\n{}\nstreamed:\n{}",
                around(&old),
                around(&new)
            );
        }
    }

    fn repo(path: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
    }

    fn scope(only: &[&str], exclude: &[&str]) -> NamespaceFilter {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        NamespaceFilter { only: owned(only), exclude: owned(exclude) }
    }

    #[test]
    fn the_demo_cluster_reports_the_same_streamed_or_whole() {
        let rules = RuleSet::builtin().unwrap();
        let demo = vec![repo("examples/demo-cluster")];
        for (only, exclude) in
            [(&[][..], &[][..]), (&["shop"][..], &[][..]), (&["kube-system"][..], &[][..]), (&[][..], &["shop"][..])]
        {
            assert_same(&demo, &rules, &scope(only, exclude));
        }
        let rules = RuleSet::load(&[repo("examples/rules")]).unwrap();
        assert_same(&demo, &rules, &NamespaceFilter::default());
    }

    #[test]
    fn every_rule_fixture_reports_the_same_streamed_or_whole() {
        let rules = RuleSet::builtin().unwrap();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo("tests/fixtures"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        assert!(dirs.len() > 50, "{}", dirs.len());
        for dir in dirs {
            assert_same(std::slice::from_ref(&dir), &rules, &NamespaceFilter::default());
        }
        // All of them at once: many files, many namespaces, identities shared between fixtures.
        assert_same(&[repo("tests/fixtures")], &rules, &NamespaceFilter::default());
    }

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-5d8f7-abcde\n  namespace: shop\n  labels: {pod-template-hash: 5d8f7}\n  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f7, controller: true}]\nspec:\n  containers: [{name: web, image: web:1}]\nstatus: {phase: Running}\n";
    const OLD_RS: &str = "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-4c7e6\n  namespace: shop\n  labels: {pod-template-hash: 4c7e6}\n  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true}]\nspec:\n  template:\n    spec:\n      containers: [{name: web, image: web:0, securityContext: {privileged: true}}]\n";

    #[test]
    fn duplicates_and_stand_ins_are_judged_as_on_the_whole_inventory() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
        };
        // A pod read before a ReplicaSet, both standing in for the missing Deployment `web`:
        // the ReplicaSet carries the findings, as when every object was evaluated at once.
        write("a-pod.yaml", POD);
        write("b-rs.yaml", OLD_RS);
        // The same object twice (a bundle next to its parts), one object patched (two of one name),
        // and an object with a uid listed twice with different content.
        write("c-dup.yaml", &format!("{POD}---\n{POD}"));
        write("d-patched.yaml", &POD.replace("web:1", "web:2"));
        let with_uid = POD.replace("name: web-5d8f7-abcde\n", "name: api\n  uid: u1\n");
        write("e-uid.yaml", &format!("{with_uid}---\n{}", with_uid.replace("web:1", "web:3")));
        write(
            "f-events.yaml",
            "apiVersion: v1\nkind: Event\nmetadata: {name: e1, namespace: shop}\ntype: Warning\nreason: BackOff\nmessage: Back-off restarting failed container\ncount: 3\ninvolvedObject: {kind: Pod, name: web-5d8f7-abcde, namespace: shop}\n",
        );
        let rules = RuleSet::builtin().unwrap();
        let paths = vec![dir.path().to_path_buf()];
        assert_same(&paths, &rules, &NamespaceFilter::default());
        let report = report(streamed(&paths, &rules, &NamespaceFilter::default()), &rules);
        let privileged: Vec<&Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "privilegeEscalationAllowed" || f["rule"] == "runAsPrivileged")
            .collect();
        assert!(
            privileged.iter().any(|f| f["kind"] == "Deployment" && f["name"] == "web"),
            "the ReplicaSet stands in for its Deployment: {privileged:?}"
        );
        // Named paths too, each file on its own, and a pipe read once and kept for the second reading.
        let files: Vec<PathBuf> =
            ["a-pod.yaml", "b-rs.yaml", "c-dup.yaml"].iter().map(|f| dir.path().join(f)).collect();
        assert_same(&files, &rules, &NamespaceFilter::default());
    }

    #[test]
    fn a_pipe_named_on_the_command_line_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pods.yaml");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, format!("{POD}---\n{OLD_RS}")).unwrap())
        };
        let rules = RuleSet::builtin().unwrap();
        let piped = report(streamed(&[fifo], &rules, &NamespaceFilter::default()), &rules);
        writer.join().unwrap();
        let plain = tempfile::tempdir().unwrap();
        let file = plain.path().join("pods.yaml");
        std::fs::write(&file, format!("{POD}---\n{OLD_RS}")).unwrap();
        let expected = report(whole(&[file], &rules, &NamespaceFilter::default()), &rules);
        let names = |r: &Value| {
            r["findings"].as_array().unwrap().iter().map(|f| (f["rule"].clone(), f["name"].clone())).collect::<Vec<_>>()
        };
        assert!(!names(&piped).is_empty());
        assert_eq!(names(&piped), names(&expected));
        assert!(piped["coverage"].as_array().unwrap().is_empty(), "{}", piped["coverage"]);
    }

    #[test]
    fn pods_events_and_controllers_are_not_kept() {
        let rules = RuleSet::builtin().unwrap();
        let demo = [repo("examples/demo-cluster")];
        let plan = read(&demo, crate::config::DEFAULT_MAX_FILE_BYTES, &NamespaceFilter::default()).unwrap();
        let kinds: HashSet<&str> = plan.inventory.objects.iter().map(|o| o.id.kind.as_str()).collect();
        for kind in ["Pod", "Event", "Deployment", "ConfigMap", "Service", "ContainerLog"] {
            assert!(!kinds.contains(kind), "{kind} kept: {kinds:?}");
        }
        assert!(kinds.contains("Node") && kinds.contains("Inspection"), "{kinds:?}");
        assert!(plan.inventory.known.iter().any(|id| id.kind == "Deployment"));
        let (inventory, evaluation) =
            plan.evaluate(&rules, &InspectSettings::default(), &NamespaceFilter::default()).unwrap();
        assert!(inventory.objects.iter().all(|o| kept_kind(&o.id)));
        assert!(!evaluation.findings.is_empty());
        assert!(inventory.streamed_pod_phases.values().sum::<usize>() > 0);
    }
}

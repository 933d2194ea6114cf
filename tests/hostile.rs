//! Hostile input: files, snapshots and reports made to hang, exhaust or crash
//! `ke`. Each test runs the real binary under a watchdog (and, where `prlimit`
//! exists, an address-space limit), so that a regression fails the test
//! instead of hanging it or taking the machine's memory.
#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a `ke` run printed and returned.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Memory a `ke` run may map: far more than it needs, far less than the machine has.
const ADDRESS_SPACE: u64 = 4 << 30;

/// Runs `ke` with `args`, killing it after `limit`.
fn ke(args: &[&str], limit: Duration) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let bin = env!("CARGO_BIN_EXE_ke");
    let mut command = if Path::new("/usr/bin/prlimit").exists() {
        let mut c = Command::new("/usr/bin/prlimit");
        c.arg(format!("--as={ADDRESS_SPACE}")).arg("--").arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let started = Instant::now();
    let mut child = command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let code = exit_within(&mut child, started, limit, args);
    Run {
        code,
        stdout: String::from_utf8_lossy(&std::fs::read(&out).unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err).unwrap()).into_owned(),
        took: started.elapsed(),
    }
}

/// The exit code of `ke` started at `started`; the watchdog kills it and fails
/// the test once it has run longer than `limit`.
fn exit_within(child: &mut std::process::Child, started: Instant, limit: Duration, args: &[&str]) -> Option<i32> {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("ke {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

const MINUTE: Duration = Duration::from_secs(60);

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

const INSPECTION: &str = "apiVersion: kubeeye.io/v1\nkind: Inspection\nmetadata: {name: inspection}\ncluster: hostile\ncollectedAt: \"2026-11-25T02:00:00Z\"\n";

fn event(pod: &str, reason: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Event\nmetadata: {{name: {pod}.17f3, namespace: shop}}\ntype: Warning\nreason: {reason}\nmessage: Back-off restarting failed container\ncount: 3\nfirstTimestamp: \"2026-11-25T01:10:00Z\"\nlastTimestamp: \"2026-11-25T01:55:00Z\"\ninvolvedObject: {{kind: Pod, name: {pod}, namespace: shop}}\n"
    )
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec:\n  containers: [{name: web, image: nginx}]\n";

fn longest_line(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn an_event_reason_over_65535_characters_prints_in_diag_and_render() {
    let dir = tempfile::tempdir().unwrap();
    let long = "X".repeat(70_000);
    let snapshot = write(dir.path(), "events.yaml", &format!("{INSPECTION}{}", event(&long, &long)));
    let run = ke(&["diag", "--snapshot", arg(&snapshot)], MINUTE);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains(&format!("{}…", "X".repeat(255))), "{}", run.stdout);
    assert!(longest_line(&run.stdout) < 6_000, "{}", longest_line(&run.stdout));

    let report = dir.path().join("report.json");
    let run = ke(&["diag", "--snapshot", arg(&snapshot), "-o", "json"], MINUTE);
    std::fs::write(&report, &run.stdout).unwrap();
    let run = ke(&["render", arg(&report), "-o", "table"], MINUTE);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(longest_line(&run.stdout) < 6_000, "{}", longest_line(&run.stdout));
}

#[test]
fn one_wide_cell_does_not_pad_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = INSPECTION.to_string();
    for i in 0..1000 {
        text.push_str(&event(&format!("web-{i}"), "BackOff"));
    }
    text.push_str(&event(&"w".repeat(60_000), "BackOff"));
    let snapshot = write(dir.path(), "events.yaml", &text);
    let run = ke(&["diag", "--snapshot", arg(&snapshot)], MINUTE);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    // It printed 60 MB: every row padded to the widest name.
    assert!(run.stdout.len() < 1_000_000, "{} bytes for a {} byte snapshot", run.stdout.len(), text.len());
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

#[test]
fn fifos_and_links_to_devices_in_a_snapshot_directory_are_gaps() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pod.yaml", POD);
    let fifo = dir.path().join("pipe.yaml");
    mkfifo(&fifo);
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.yaml")).unwrap();
    std::os::unix::fs::symlink("/dev/urandom", dir.path().join("random.json")).unwrap();
    let run = ke(&["diag", "--snapshot", arg(dir.path())], MINUTE);
    // Incomplete (3): three files could not be read; the pod was inspected.
    assert_eq!(run.code, Some(3), "{}\n{}", run.stdout, run.stderr);
    for (name, what) in
        [("pipe.yaml", "a FIFO"), ("zero.yaml", "a character device"), ("random.json", "a character device")]
    {
        let line = run.stdout.lines().find(|l| l.contains(name)).unwrap_or_else(|| panic!("{name}: {}", run.stdout));
        assert!(line.contains(&format!("not a regular file ({what})")), "{line}");
    }
    assert!(run.stdout.contains("WORKLOADS"), "{}", run.stdout);
}

#[test]
fn a_pipe_named_on_the_command_line_is_still_read() {
    // `ke diag --snapshot <(kubectl get pods -o yaml)`
    let dir = tempfile::tempdir().unwrap();
    let pod = write(dir.path(), "pod.yaml", POD);
    let script = format!("exec '{}' diag --snapshot <(cat '{}') -o json", env!("CARGO_BIN_EXE_ke"), pod.display());
    let out = Command::new("bash").arg("-c").arg(script).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["coverage"], serde_json::json!([]), "{report}");
    assert!(report["findings"].as_array().unwrap().iter().any(|f| f["name"] == "web"));
}

#[test]
fn a_file_over_the_configured_size_is_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    std::fs::create_dir(&snap).unwrap();
    write(&snap, "pod.yaml", POD);
    let big = write(&snap, "big.yaml", &format!("{POD}# {}\n", "x".repeat(2000)));
    let config = write(dir.path(), "kubeeye.yaml", "inspection:\n  collection: {maxFileBytes: 1000}\n");
    let run = ke(&["diag", "--snapshot", arg(&snap), "--config", arg(&config), "-o", "json"], MINUTE);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report["coverage"],
        serde_json::json!([{"section": "snapshot", "resource": big.display().to_string(),
            "reason": "larger than 1000 bytes (inspection.collection.maxFileBytes); not read", "kind": "error"}])
    );
}

/// 200 KB of unclosed flow mappings: the parser took 20 s (release) on it.
fn deep() -> String {
    "{a: ".repeat(50_000)
}

#[test]
fn deep_nesting_is_rejected_quickly_in_snapshots_rules_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    std::fs::create_dir(&snap).unwrap();
    write(&snap, "pod.yaml", POD);
    let deep_file = write(&snap, "deep.yaml", &format!("kind: Pod\nspec: {}\n", deep()));
    let run = ke(&["diag", "--snapshot", arg(&snap)], MINUTE);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let line = run.stdout.lines().find(|l| l.contains("deep.yaml")).unwrap();
    assert!(line.contains(&format!("{} (document 1)", deep_file.display())), "{line}");
    assert!(line.contains("YAML nested deeper than 100 levels at line 2"), "{line}");
    assert!(run.took < Duration::from_secs(20), "{:?}", run.took);

    let rules = write(dir.path(), "rules.yaml", &format!("checks:\n  x: {}\n", deep()));
    let run = ke(&["rules", "list", "-f", arg(&rules)], MINUTE);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains(&format!("{}: YAML nested deeper than 100 levels", rules.display())), "{}", run.stderr);

    let config = write(dir.path(), "kubeeye.yaml", &format!("cluster: {}\n", deep()));
    let run = ke(&["diag", "--snapshot", arg(&snap), "--config", arg(&config)], MINUTE);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains(&format!("{}: YAML nested deeper than 100 levels", config.display())),
        "{}",
        run.stderr
    );
}

#[test]
fn byte_order_marks_are_ignored_in_snapshots_rules_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap");
    std::fs::create_dir(&snap).unwrap();
    write(&snap, "pod.yaml", &format!("\u{feff}{POD}"));
    write(
        &snap,
        "pods.json",
        "\u{feff}{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"api\",\"namespace\":\"shop\"}}",
    );
    // Two top-level keys: with the mark, the second read as a second document.
    let rules = write(
        dir.path(),
        "rules.yaml",
        "\u{feff}checks:\n  onlyQuay: warning\ncustomChecks:\n  onlyQuay:\n    promptMessage: Image not from quay.io.\n    category: Images\n    target: Container\n    schema: {properties: {image: {not: {pattern: '^quay.io/'}}}}\n",
    );
    let config = write(dir.path(), "kubeeye.yaml", "\u{feff}cluster: bom\nfailOn: danger\n");
    let run =
        ke(&["diag", "--snapshot", arg(&snap), "-f", arg(&rules), "--config", arg(&config), "-o", "json"], MINUTE);
    let report: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    assert_eq!(report["coverage"], serde_json::json!([]));
    assert_eq!(report["cluster"]["name"], "bom");
    let quay: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "onlyQuay")
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(quay, ["web"]);
}

#[test]
fn aliases_that_expand_to_millions_of_nodes_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    // 1,000 items pointed to 2,000 times: 14 KB that expand to two million nodes.
    let bomb = format!("a: &a [{}]\nb: [{}]\n", "x,".repeat(1000), "*a,".repeat(2000));
    let rules = write(
        dir.path(),
        "rules.yaml",
        &format!(
            "customChecks:\n  big:\n    promptMessage: x\n    category: Images\n    target: Container\n    schema:\n      {}",
            bomb.replace('\n', "\n      ")
        ),
    );
    let run = ke(&["rules", "list", "-f", arg(&rules)], MINUTE);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("YAML document expands to more than"), "{}", run.stderr);
    let snapshot = write(dir.path(), "pod.yaml", &format!("{POD}{bomb}"));
    let run = ke(&["diag", "--snapshot", arg(&snapshot)], MINUTE);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(run.stdout.contains("YAML document expands to more than"), "{}", run.stdout);
}

/// A small deterministic generator (xorshift), so that a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Seeds: every fixture, rule file and example, cut to a few KB.
fn seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds = Vec::new();
    let mut stack: Vec<PathBuf> =
        ["rules", "examples", "tests/fixtures", "tests/data"].iter().map(|d| root.join(d)).collect();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "json") {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.truncate(4096);
            seeds.push(bytes);
        }
    }
    seeds.sort();
    seeds
}

/// One random change: what YAML is sensitive to (indentation, indicators, quotes, breaks).
fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    const PIECES: &[&[u8]] = &[
        b"[",
        b"]",
        b"{",
        b"}",
        b",",
        b": ",
        b"- ",
        b"? ",
        b"'",
        b"\"",
        b"\\",
        b"#",
        b"|",
        b">-",
        b"&a ",
        b"*a",
        b"!t ",
        b"\n",
        b"\r\n",
        b"  ",
        b"\t",
        b"---\n",
        b"...\n",
        b"%YAML 1.1\n",
        b"\xef\xbb\xbf",
        b"\xc2\x85",
    ];
    let at = rng.below(input.len() + 1);
    match rng.below(6) {
        0 if !input.is_empty() => {
            let end = (at + rng.below(16)).min(input.len());
            input.drain(at.min(end)..end);
        }
        1 => {
            let piece = PIECES[rng.below(PIECES.len())];
            let times = 1 + rng.below(4) * rng.below(40);
            for _ in 0..times {
                input.splice(at..at, piece.iter().copied());
            }
        }
        2 if !input.is_empty() => {
            let i = at.min(input.len() - 1);
            input[i] = PIECES[rng.below(PIECES.len())][0];
        }
        3 if input.len() > 1 => {
            let start = rng.below(input.len());
            let end = (start + rng.below(64)).min(input.len());
            let copy: Vec<u8> = input[start..end].to_vec();
            input.splice(at..at, copy);
        }
        _ => input.truncate(at),
    }
}

/// A bounded stand-in for the fuzz targets in `fuzz/` (which need nightly): random mutations of
/// every seed go through the snapshot loader, the rule loader and the config loader; none may
/// panic, and the YAML limits must hold.
#[test]
fn mutated_files_never_crash_the_loaders() {
    let seeds = seeds();
    assert!(seeds.len() > 50, "{}", seeds.len());
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let mut rounds = 0;
    while rounds < 3000 && started.elapsed() < Duration::from_secs(60) {
        let mut input = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(8) {
            mutate(&mut rng, &mut input);
        }
        let ext = if rng.below(4) == 0 { "json" } else { "yaml" };
        let path = dir.path().join(format!("input.{ext}"));
        std::fs::write(&path, &input).unwrap();
        let inventory = kubeeye::collect::offline::load(std::slice::from_ref(&path)).unwrap();
        drop(inventory);
        let text = String::from_utf8_lossy(&input).into_owned();
        let _ = kubeeye::rules::RuleSet::from_sources(&[("input.yaml".into(), text.clone(), false)]);
        let _ = kubeeye::config::FileConfig::load(&path);
        if let Some(m) = kubeeye::yaml::measure(&text) {
            assert!(m.max_flow <= kubeeye::yaml::MAX_DEPTH);
            assert!(m.max_nodes <= kubeeye::yaml::node_budget(text.len()));
        }
        rounds += 1;
    }
    assert!(rounds >= 500, "only {rounds} rounds in {:?}", started.elapsed());
}

/// A container rule file with one schema under `image`.
fn image_rule(id: &str, image_schema: &str) -> String {
    format!(
        "customChecks:\n  {id}:\n    severity: warning\n    failureMessage: Image refused.\n    category: Images\n    target: Container\n    schema:\n      properties:\n        image: {image_schema}\n"
    )
}

#[test]
fn schema_patterns_that_need_backtracking_are_refused_at_load() {
    // On the backtracking engine this loaded and took about 55 ms per
    // container image of 40 `a`s and a `b` (release): 55 s over 1,000.
    let dir = tempfile::tempdir().unwrap();
    let mut snapshot = String::new();
    for i in 0..1000 {
        snapshot.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: web-{i}, namespace: shop}}\nspec:\n  containers: [{{name: web, image: {}b}}]\n",
            "a".repeat(40)
        ));
    }
    let snapshot = write(dir.path(), "pods.yaml", &snapshot);
    let rules = write(dir.path(), "rules.yaml", &image_rule("slowImage", "{pattern: '^(a|a)+$(?<!x)'}"));
    let run = ke(&["diag", "--snapshot", arg(&snapshot), "-f", arg(&rules)], MINUTE);
    assert_eq!(run.code, Some(2), "{}\n{}", run.stdout, run.stderr);
    let expected = format!("{}: rule `slowImage`: invalid schema", rules.display());
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(run.stderr.contains("look-around") && run.stderr.contains("RE2"), "{}", run.stderr);
    assert!(run.took < Duration::from_secs(10), "{:?}", run.took);
}

#[test]
fn a_ten_megabyte_pattern_is_refused_by_length() {
    let dir = tempfile::tempdir().unwrap();
    let long = "a".repeat(10 << 20);
    for (id, text) in [
        ("longSchemaPattern", image_rule("longSchemaPattern", &format!("{{pattern: '{long}'}}"))),
        (
            "longLogPattern",
            format!(
                "customChecks:\n  longLogPattern:\n    severity: warning\n    target: ContainerLog\n    category: Logs\n    failureMessage: x\n    pattern: '{long}'\n"
            ),
        ),
    ] {
        let rules = write(dir.path(), "rules.yaml", &text);
        let run = ke(&["rules", "list", "-f", arg(&rules)], MINUTE);
        assert_eq!(run.code, Some(2), "{}", run.stderr);
        let expected = format!("{}: rule `{id}`: ", rules.display());
        assert!(run.stderr.contains(&expected), "{}", run.stderr);
        assert!(run.stderr.contains("10485760 characters long; patterns may have at most 16384"), "{}", run.stderr);
    }
}

#[test]
fn a_templated_schema_that_breaks_on_one_object_is_a_gap_naming_rule_and_object() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = write(
        dir.path(),
        "pods.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {team: shop}}\nspec:\n  containers: [{name: web, image: shop/web}]\n\
         ---\napiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: shop, labels: {team: 'sh(op'}}\nspec:\n  containers: [{name: api, image: other/api}]\n",
    );
    let rules = write(dir.path(), "rules.yaml", &image_rule("teamImage", "{pattern: '^{{ .metadata.labels.team }}/'}"));
    let run = ke(&["diag", "--snapshot", arg(&snapshot), "-f", arg(&rules), "-o", "json"], MINUTE);
    // Incomplete: one object could not be judged by the rule.
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let team: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "teamImage")
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(team.is_empty(), "api was counted as failing: {team:?}");
    let gaps = report["coverage"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["resource"], "rule teamImage on Pod shop/api container api");
    assert_eq!(gaps[0]["section"], "workloads");
    let reason = gaps[0]["reason"].as_str().unwrap();
    assert!(reason.contains("does not compile") && reason.contains(arg(&rules)), "{reason}");
}

/// A pod that exempts itself from every rule while running privileged, with
/// the host's PID namespace and its root filesystem mounted.
const SELF_EXEMPT: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: miner\n  namespace: shop\n  annotations: {polaris.fairwinds.com/exempt: \"true\"}\nspec:\n  hostPID: true\n  volumes: [{name: root, hostPath: {path: /}}]\n  containers:\n  - name: miner\n    image: evil/miner:1\n    securityContext: {privileged: true}\n    volumeMounts: [{name: root, mountPath: /host}]\n";

#[test]
fn a_self_exempting_pod_is_listed_and_the_config_can_ignore_annotations() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = write(dir.path(), "pod.yaml", SELF_EXEMPT);
    let run = ke(&["diag", "--snapshot", arg(&snapshot), "-o", "json"], MINUTE);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    // It gave zero findings and a score of 100 with no trace anywhere.
    assert_eq!(report["findings"], serde_json::json!([]));
    let exempted = report["exemptions"].as_array().unwrap();
    assert_eq!(exempted.len(), 1, "{exempted:?}");
    let e = &exempted[0];
    assert_eq!((&e["kind"], &e["namespace"], &e["name"]), (&"Pod".into(), &"shop".into(), &"miner".into()));
    assert_eq!((&e["source"], &e["origin"]), (&"annotation".into(), &"polaris.fairwinds.com/exempt".into()));
    let rules: Vec<&str> = e["rules"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    for rule in ["runAsPrivileged", "hostPIDSet", "hostPathSet"] {
        assert!(rules.contains(&rule), "{rules:?}");
    }

    let table = ke(&["diag", "--snapshot", arg(&snapshot)], MINUTE);
    let line = table.stdout.lines().find(|l| l.contains("miner")).unwrap_or_else(|| panic!("{}", table.stdout));
    assert!(line.contains("annotation polaris.fairwinds.com/exempt") && line.contains("runAsPrivileged"), "{line}");
    assert!(table.stdout.contains("score n/a (Polaris); 1 exempted by annotation (see EXEMPTED)"), "{}", table.stdout);
    let html = ke(&["diag", "--snapshot", arg(&snapshot), "-o", "html"], MINUTE);
    assert!(
        html.stdout.contains(r#"<span class="n">1</span><span class="l">exempted (1 by annotation)</span>"#),
        "the summary counts it"
    );
    assert!(html.stdout.contains("<td class=\"obj\">Pod/miner</td>"), "the Exemptions section lists it");

    // The config switch: annotations are ignored, the pod is judged.
    let config = write(dir.path(), "kubeeye.yaml", "inspection:\n  exemptions: {annotations: false}\n");
    let run = ke(&["diag", "--snapshot", arg(&snapshot), "--config", arg(&config), "-o", "json"], MINUTE);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let found: Vec<&str> = report["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    for rule in ["runAsPrivileged", "hostPIDSet", "hostPathSet"] {
        assert!(found.contains(&rule), "{found:?}");
    }
    assert_eq!(report["exemptions"], serde_json::json!([]));
}

#[test]
fn config_exemptions_name_their_rule_file() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = write(dir.path(), "pod.yaml", POD);
    let rules = write(
        dir.path(),
        "rules.yaml",
        "exemptions:\n  - namespace: shop\n    controllerNames: [web]\n    rules: [runAsRootAllowed, livenessProbeMissing]\n",
    );
    let run = ke(&["diag", "--snapshot", arg(&snapshot), "-f", arg(&rules), "-o", "json"], MINUTE);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report["exemptions"],
        serde_json::json!([{"kind": "Pod", "namespace": "shop", "name": "web", "source": "config",
            "origin": arg(&rules), "rules": ["livenessProbeMissing", "runAsRootAllowed"]}])
    );
}

#[test]
fn a_late_local_write_failure_still_archives_from_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (out, store) = (dir.path().join("out"), dir.path().join("store"));
    std::fs::create_dir(&out).unwrap();
    // The outputs directory is writable (the up-front check passes), but the
    // run's own directory cannot be made: a file sits where it goes.
    write(&out, "late", "not a directory");
    let config = write(
        dir.path(),
        "kubeeye.yaml",
        &format!(
            "cluster: late\noutputs: {{directory: {}}}\nstorage: {{url: 'file://{}'}}\n",
            out.display(),
            store.display()
        ),
    );
    let run = ke(&["run", "--snapshot", "examples/demo-cluster", "--config", arg(&config)], MINUTE);
    // A delivery failed (the local copy); the archive did not.
    assert_eq!(run.code, Some(4), "{}\n{}", run.stdout, run.stderr);
    let local = run
        .stdout
        .lines()
        .find(|l| l.contains("FAILED") && l.contains("local"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(local.contains(&format!("cannot create {}", out.join("late").display())), "{local}");
    assert!(
        run.stdout.lines().any(|l| l.starts_with("ok") && l.contains("store") && l.contains("uploaded")),
        "{}",
        run.stdout
    );
    let latest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join("late/latest.json")).unwrap()).unwrap();
    let json_key = latest["reports"]["json"].as_str().unwrap();
    let archived: serde_json::Value = serde_json::from_slice(&std::fs::read(store.join(json_key)).unwrap()).unwrap();
    assert_eq!(archived["cluster"]["name"], "late");
    for format in ["html", "csv"] {
        let key = latest["reports"][format].as_str().unwrap();
        assert!(store.join(key).is_file(), "{key}");
    }
}

/// A GitHub token, a Slack token and a PEM private key, bare (no `password=` before them).
const BARE_SECRETS: [&str; 4] = [
    "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    "xoxb-123456789012-abcdefABCDEF",
    "MIIEowIBAAKCAQEAkeymaterial",
    "BEGIN RSA PRIVATE KEY",
];

#[test]
fn bare_tokens_and_keys_in_logs_and_events_are_masked_in_every_format_and_the_digest() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!(
        "2026-11-25T01:58:30Z FATAL auth {} hook {} key -----BEGIN RSA PRIVATE KEY----- {} -----END RSA PRIVATE KEY----- db postgres://app:hunter2@db:5432/shop password=hunter2 mkdir /run/api/api.pid: file exists",
        BARE_SECRETS[0], BARE_SECRETS[1], BARE_SECRETS[2]
    );
    let snapshot = format!(
        "{INSPECTION}---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: api-1\n  namespace: shop\nspec:\n  nodeName: node-1\n  containers: [{{name: api, image: \"registry.example.com/shop/api:3.2.0\"}}]\nstatus:\n  phase: Running\n  containerStatuses:\n  - {{name: api, image: \"registry.example.com/shop/api:3.2.0\", ready: true, restartCount: 0, state: {{running: {{startedAt: \"2026-11-24T18:00:00Z\"}}}}}}\n---\napiVersion: kubeeye.io/v1\nkind: ContainerLog\nmetadata: {{namespace: shop, name: api-1.api}}\npod: api-1\ncontainer: api\nlog: {}\n---\napiVersion: v1\nkind: Event\nmetadata: {{name: api-1.17f3, namespace: shop}}\ntype: Warning\nreason: FailedMount\nmessage: {}\ncount: 3\nfirstTimestamp: \"2026-11-25T01:10:00Z\"\nlastTimestamp: \"2026-11-25T01:55:00Z\"\ninvolvedObject: {{kind: Pod, name: api-1, namespace: shop}}\n",
        serde_json::to_string(&format!("INFO start\n{line}\n")).unwrap(),
        serde_json::to_string(&format!(
            "clone failed for {} with {} from https://ci:hunter2@git.example.com/shop.git",
            BARE_SECRETS[0], BARE_SECRETS[1]
        ))
        .unwrap(),
    );
    let file = write(dir.path(), "cluster.yaml", &snapshot);
    let mut outputs = Vec::new();
    for format in ["table", "json", "csv", "html"] {
        let run = ke(&["diag", "--snapshot", arg(&file), "-o", format], MINUTE);
        assert!(run.code.is_some_and(|c| c < 2), "{format}: {:?} {}", run.code, run.stderr);
        outputs.push((format.to_string(), run.stdout));
    }
    let config =
        write(dir.path(), "kubeeye.yaml", &format!("outputs: {{directory: {}}}\n", dir.path().join("out").display()));
    let run = ke(&["run", "--config", arg(&config), "--snapshot", arg(&file)], MINUTE);
    assert!(run.code.is_some_and(|c| c < 2), "run: {:?} {}", run.code, run.stderr);
    outputs.push(("digest".into(), run.stdout));

    let (_, json) = &outputs[1];
    assert!(json.contains("PodFileExists") && json.contains("file exists"), "the log line is a finding: {json}");
    assert!(json.contains("FailedMount") && json.contains("clone failed for ***"), "the event is a finding: {json}");
    for (format, text) in &outputs {
        assert!(text.contains("***"), "{format}: nothing masked:\n{text}");
        for secret in BARE_SECRETS.iter().chain(&["hunter2"]) {
            assert!(!text.contains(secret), "{format} shows {secret}:\n{text}");
        }
    }
}

/// The manifests of `deploy/` and `deploy/npd/` as `kubectl kustomize` renders them.
fn rendered(dir: &str) -> Vec<serde_json::Value> {
    let out = std::process::Command::new("kubectl")
        .args(["kustomize", dir])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("kubectl (scripts/install-test-deps installs it)");
    assert!(out.status.success(), "{dir}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    text.split("\n---\n").map(|d| serde_norway::from_str(d).expect("YAML document")).collect()
}

/// The API-server egress ports of the NetworkPolicy of `docs` named `name`.
fn api_ports(docs: &[serde_json::Value], name: &str) -> Vec<u64> {
    let policy = docs
        .iter()
        .find(|d| d["kind"] == "NetworkPolicy" && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("NetworkPolicy {name}"));
    let rules = policy["spec"]["egress"].as_array().expect("egress rules");
    let api = rules
        .iter()
        .find(|r| r["ports"].as_array().is_some_and(|p| p.iter().any(|p| p["port"] == 6443)))
        .unwrap_or_else(|| panic!("{name}: no API server rule: {rules:?}"));
    let mut ports: Vec<u64> =
        api["ports"].as_array().into_iter().flatten().filter_map(|p| p["port"].as_u64()).collect();
    ports.sort_unstable();
    ports
}

/// Deploy hardening (items 21 and 22): the job and node-problem-detector reach
/// the API server on the same ports (443 by Service, 6443/8443/16443 after
/// DNAT, whatever the distribution), node-problem-detector listens on
/// localhost only, runs on Linux nodes only, and writes nothing to the host.
#[test]
fn deploy_manifests_keep_egress_narrow_and_node_problem_detector_local() {
    let base = rendered("deploy");
    let npd = rendered("deploy/npd");
    assert_eq!(api_ports(&base, "kubeeye"), [443, 6443, 8443, 16443]);
    assert_eq!(api_ports(&npd, "node-problem-detector"), api_ports(&base, "kubeeye"));
    let ds = npd.iter().find(|d| d["kind"] == "DaemonSet").expect("npd DaemonSet");
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["nodeSelector"]["kubernetes.io/os"], "linux");
    assert_ne!(pod["hostNetwork"], true);
    let args: Vec<&str> =
        pod["containers"][0]["command"].as_array().into_iter().flatten().filter_map(|a| a.as_str()).collect();
    assert!(args.contains(&"--address=127.0.0.1") && args.contains(&"--prometheus-address=127.0.0.1"), "{args:?}");
    for volume in pod["volumes"].as_array().expect("volumes") {
        let kind = volume["hostPath"]["type"].as_str().unwrap_or_default();
        assert!(!kind.contains("OrCreate"), "writes to the host: {volume}");
    }
    for (path, _, read_only) in host_mounts(pod) {
        assert!(read_only, "host path mounted writable: {path}");
    }
}

/// The host paths a rendered DaemonSet's container mounts: `(host path, type, mounted read-only)`.
fn host_mounts(pod: &serde_json::Value) -> Vec<(String, String, bool)> {
    let mut out: Vec<(String, String, bool)> = pod["containers"][0]["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|mount| {
            let volume = pod["volumes"].as_array().into_iter().flatten().find(|v| v["name"] == mount["name"])?;
            let host = volume.get("hostPath")?;
            Some((
                host["path"].as_str().unwrap_or_default().to_string(),
                host["type"].as_str().unwrap_or_default().to_string(),
                mount["readOnly"] == true,
            ))
        })
        .collect();
    out.sort();
    out
}

/// The opt-in health checker (issue 12): the kustomize component renders
/// what `ke install npd --health-checker` applies, it adds exactly the host
/// network and two read-only host files (the runtime socket and crictl) and
/// nothing is created on the host, every health-checker plugin runs with
/// repair off, and without it node-problem-detector keeps its own network
/// namespace and its two host mounts.
#[test]
fn npd_health_checker_adds_only_host_network_the_runtime_socket_and_crictl() {
    let plain = rendered("deploy/npd");
    let with = rendered("deploy/npd-health-checker");
    let daemonset = |docs: &[serde_json::Value]| docs.iter().find(|d| d["kind"] == "DaemonSet").unwrap().clone();
    let configmap = |docs: &[serde_json::Value]| docs.iter().find(|d| d["kind"] == "ConfigMap").unwrap().clone();

    // Without the opt-in: as before.
    let pod = &daemonset(&plain)["spec"]["template"]["spec"];
    assert_ne!(pod["hostNetwork"], true);
    assert!(pod.get("dnsPolicy").is_none(), "{pod}");
    let kmsg_and_log =
        vec![("/dev/kmsg".to_string(), "CharDevice".to_string(), true), ("/var/log".into(), "Directory".into(), true)];
    assert_eq!(host_mounts(pod), kmsg_and_log);
    let data = configmap(&plain)["data"].as_object().unwrap().clone();
    assert!(data.keys().all(|k| !k.starts_with("health-checker")), "{:?}", data.keys());

    // With it: the host network, cluster DNS, and exactly two more read-only host files.
    let ds = daemonset(&with);
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["dnsPolicy"], "ClusterFirstWithHostNet");
    let mut expected = kmsg_and_log.clone();
    expected.push(("/run/containerd/containerd.sock".into(), "Socket".into(), true));
    expected.push(("/usr/bin/crictl".into(), "File".into(), true));
    expected.sort();
    assert_eq!(host_mounts(pod), expected);
    for volume in pod["volumes"].as_array().unwrap() {
        assert!(!volume["hostPath"]["type"].as_str().unwrap_or_default().contains("OrCreate"), "{volume}");
    }
    let mounted: Vec<&str> = pod["containers"][0]["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["mountPath"].as_str())
        .collect();
    assert!(!mounted.iter().any(|m| m.contains("dbus")), "no D-Bus: nothing asks systemd without repair");
    assert!(ds["metadata"]["annotations"]["kubeeye.io/exempt"].as_str().unwrap().ends_with(",hostNetworkSet"));

    // Every health-checker plugin reports only: repair off. Both monitors are loaded.
    let data = configmap(&with)["data"].as_object().unwrap().clone();
    let command: Vec<&str> =
        pod["containers"][0]["command"].as_array().unwrap().iter().filter_map(|a| a.as_str()).collect();
    let mut checkers = 0;
    for (key, text) in &data {
        let monitor: serde_json::Value = serde_json::from_str(text.as_str().unwrap()).unwrap();
        for rule in monitor["rules"].as_array().into_iter().flatten() {
            if rule["path"] == "/home/kubernetes/bin/health-checker" {
                checkers += 1;
                let args: Vec<&str> = rule["args"].as_array().unwrap().iter().filter_map(|a| a.as_str()).collect();
                assert!(args.contains(&"--enable-repair=false"), "{key}: {args:?}");
                assert!(command.iter().any(|c| c.contains(&format!("/config/{key}"))), "{key} not loaded: {command:?}");
            }
        }
    }
    assert_eq!(checkers, 2, "the kubelet's and the runtime's");

    // `ke install npd --health-checker` applies what the component renders.
    let settings = kubeeye::install::health_checker::HealthChecker::default();
    let objects = kubeeye::install::npd_objects(Some(&settings)).unwrap();
    let ours = |kind: &str| objects.iter().find(|o| o.id.kind == kind).unwrap().raw.clone();
    assert_eq!(ours("ConfigMap")["data"], configmap(&with)["data"]);
    let sorted = |mut pod: serde_json::Value| {
        for list in ["/volumes", "/containers/0/volumeMounts"] {
            pod.pointer_mut(list).unwrap().as_array_mut().unwrap().sort_by_key(|v| v["name"].to_string());
        }
        pod
    };
    assert_eq!(
        sorted(ours("DaemonSet")["spec"]["template"]["spec"].clone()),
        sorted(pod.clone()),
        "the CLI and the component differ"
    );
    assert_eq!(ours("DaemonSet")["metadata"]["annotations"], ds["metadata"]["annotations"]);
}

/// Runs `ke` with stdout and stderr on a pseudo-terminal, as a user at a
/// shell sees it, and returns every byte the terminal received.
fn ke_on_a_terminal(args: &[&str]) -> (Option<i32>, Vec<u8>) {
    use std::io::Read;
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ke"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave))
        .spawn()
        .unwrap();
    // Read while it writes (a terminal's buffer is small); with every copy of
    // the slave side closed, the read ends with EIO, the terminal's end of file.
    let mut master = std::fs::File::from(pty.master);
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        seen
    });
    let code = exit_within(&mut child, Instant::now(), Duration::from_secs(60), args);
    (code, reader.join().unwrap())
}

/// A Warning event whose message clears the screen and draws a fake banner,
/// with 7-bit (ESC) and 8-bit (U+009B CSI) sequences and an OSC title: on a
/// terminal, every output format shows them as text, never obeys them; piped,
/// the machine formats keep the bytes as they are.
#[test]
fn hostile_escape_sequences_reach_a_terminal_as_text_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    // Inside the default 24 h event window of a snapshot without an inspection record.
    let recent = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1)).to_string();
    let message = "disk ok\u{1b}[2J\u{1b}[H\u{1b}]0;owned\u{7}0 danger, score 100\u{9b}31m";
    let event = serde_json::json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web.1", "namespace": "default"},
        "type": "Warning", "reason": "BackOff\u{1b}[31m", "message": message, "count": 3,
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-0"},
        "lastTimestamp": recent
    });
    let file = dir.path().join("events.json");
    std::fs::write(&file, serde_json::to_vec(&event).unwrap()).unwrap();
    let snapshot = file.display().to_string();
    let raw = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        text.contains('\u{1b}') || text.contains('\u{9b}') || text.contains('\u{7}')
    };
    for format in ["table", "json", "yaml", "csv", "html"] {
        let (code, seen) = ke_on_a_terminal(&["diag", "--snapshot", &snapshot, "-o", format]);
        assert_eq!(code, Some(0), "-o {format} (a warning does not fail the run): {}", String::from_utf8_lossy(&seen));
        assert!(!raw(&seen), "-o {format} let a control sequence through: {:?}", String::from_utf8_lossy(&seen));
        assert!(String::from_utf8_lossy(&seen).contains("0 danger, score 100"), "-o {format}: the text is shown");
    }
    // The error path: a rule file whose error quotes hostile text, on a terminal's stderr.
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, "rules:\n  \"evil\\e[2Jrule\": {target: Nope}\n").unwrap();
    let (code, seen) = ke_on_a_terminal(&["rules", "list", "-f", &rules.display().to_string()]);
    assert_eq!(code, Some(2), "{}", String::from_utf8_lossy(&seen));
    assert!(!raw(&seen), "the error let a control sequence through: {:?}", String::from_utf8_lossy(&seen));
    // Piped, the JSON keeps the message byte for byte (escaped by JSON itself).
    let piped = ke(&["diag", "--snapshot", &snapshot, "-o", "json"], Duration::from_secs(60));
    let report: serde_json::Value = serde_json::from_str(&piped.stdout).unwrap();
    let messages: Vec<&str> =
        report["findings"].as_array().unwrap().iter().filter_map(|f| f["message"].as_str()).collect();
    assert!(messages.iter().any(|m| m.contains(message)), "{messages:?}");
}

/// The files under `dir`, recursively, by path relative to it.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

fn run_config(dir: &Path, out: &Path, store: &Path) -> PathBuf {
    write(
        dir,
        "kubeeye.yaml",
        &format!(
            "cluster: files\noutputs: {{directory: {}}}\nstorage: {{url: 'file://{}'}}\n",
            out.display(),
            store.display()
        ),
    )
}

#[test]
fn ke_run_streams_each_format_to_its_file_as_ke_render_renders_it_and_archives_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let (out, store) = (dir.path().join("out"), dir.path().join("store"));
    std::fs::create_dir(&out).unwrap();
    let config = run_config(dir.path(), &out, &store);
    let run = ke(&["run", "--snapshot", "examples/demo-cluster", "--config", arg(&config)], MINUTE);
    assert!(run.code.is_some_and(|c| c < 4), "{:?}\n{}\n{}", run.code, run.stdout, run.stderr);
    let local = files_under(&out);
    let json = local.iter().find(|f| f.ends_with("report.json")).unwrap_or_else(|| panic!("{local:?}"));
    let run_dir = json.parent().unwrap().to_path_buf();
    let json = out.join(json);
    for format in ["json", "csv", "html"] {
        let written = std::fs::read(out.join(&run_dir).join(format!("report.{format}"))).unwrap();
        let rendered = ke(&["render", arg(&json), "-o", format], MINUTE);
        assert_eq!(rendered.code, Some(0), "{}", rendered.stderr);
        assert!(written == rendered.stdout.as_bytes(), "report.{format} differs from `ke render -o {format}`");
        // The archive holds the same bytes, uploaded from the local file.
        let archived = files_under(&store);
        let key = archived.iter().find(|k| k.ends_with(format!("report.{format}"))).unwrap();
        assert!(std::fs::read(store.join(key)).unwrap() == written, "archived report.{format} differs");
    }

    // A file that cannot be written (a directory sits at report.csv): that format is rendered
    // into memory instead and archived all the same; the others are written.
    let (out2, store2) = (dir.path().join("out2"), dir.path().join("store2"));
    std::fs::create_dir_all(out2.join(&run_dir).join("report.csv")).unwrap();
    let config = run_config(dir.path(), &out2, &store2);
    let run = ke(&["run", "--snapshot", "examples/demo-cluster", "--config", arg(&config)], MINUTE);
    assert_eq!(run.code, Some(4), "{}\n{}", run.stdout, run.stderr);
    let failed = run
        .stdout
        .lines()
        .find(|l| l.contains("FAILED") && l.contains("local"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(failed.contains("cannot write") && failed.contains("report.csv"), "{failed}");
    for format in ["json", "csv", "html"] {
        let first = std::fs::read(out.join(&run_dir).join(format!("report.{format}"))).unwrap();
        let key = files_under(&store2).into_iter().find(|k| k.ends_with(format!("report.{format}"))).unwrap();
        assert!(std::fs::read(store2.join(key)).unwrap() == first, "archived report.{format} differs");
        if format != "csv" {
            assert!(std::fs::read(out2.join(&run_dir).join(format!("report.{format}"))).unwrap() == first);
        }
    }
}

//! The import layers, lowest first, and the test that keeps the code on them.
//!
//! A module imports from its own layer (where the layer allows it) and from
//! the layers below, never from above: data flows collect → inventory →
//! checks → report → render → deliver, and a helper two layers need lives in
//! the lower one. The test reads every file under `src/`, finds each
//! `crate::…` path outside comments and string literals (in `use` items and
//! inline), and names the file and the import that points the wrong way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One layer: the top-level modules in it, and whether they may import each other.
struct Layer {
    name: &'static str,
    modules: &'static [&'static str],
    peers: bool,
}

/// Lowest first.
const LAYERS: &[Layer] = &[
    Layer { name: "base", modules: &["clock", "quantity", "text", "error", "yaml"], peers: true },
    Layer { name: "inventory", modules: &["inventory"], peers: false },
    Layer { name: "report", modules: &["report"], peers: false },
    Layer { name: "settings", modules: &["config"], peers: false },
    Layer { name: "rule engine", modules: &["rules", "checks", "nodecheck"], peers: true },
    Layer { name: "collect", modules: &["collect"], peers: false },
    Layer { name: "inspect and outputs", modules: &["inspect", "render", "deliver"], peers: false },
    Layer {
        name: "entry",
        modules: &["app", "run", "install", "schedule", "cli", "exit", "main", "lib", "layers"],
        peers: true,
    },
];

/// Downward imports that are still not allowed: collection does not judge,
/// and the outputs see a `Report`, never the engine or the cluster.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("collect", &["checks"]),
    ("render", &["rules", "checks", "collect"]),
    ("deliver", &["rules", "checks", "collect"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.modules.contains(&module))
}

/// Whether `from` may import `to` (both top-level modules).
fn allowed(from: &str, to: &str) -> Result<(), String> {
    let (Some(a), Some(b)) = (layer_of(from), layer_of(to)) else {
        return Err(format!("`{to}` is in no layer: add it to LAYERS in src/layers.rs"));
    };
    if from == to {
        return Ok(());
    }
    if let Some((_, denied)) = FORBIDDEN.iter().find(|(m, _)| *m == from)
        && denied.contains(&to)
    {
        return Err(format!("`{from}` must not import `{to}`"));
    }
    match a.cmp(&b) {
        std::cmp::Ordering::Greater => Ok(()),
        std::cmp::Ordering::Equal if LAYERS[a].peers => Ok(()),
        std::cmp::Ordering::Equal => {
            Err(format!("`{from}` and `{to}` share the {} layer and may not import each other", LAYERS[a].name))
        }
        std::cmp::Ordering::Less => {
            Err(format!("`{from}` ({} layer) imports from `{to}` ({} layer, above it)", LAYERS[a].name, LAYERS[b].name))
        }
    }
}

/// The top-level module a file under `src/` belongs to: `collect/live.rs` → `collect`.
fn module_of(relative: &Path) -> String {
    let first = relative.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
    first.strip_suffix(".rs").map(str::to_string).unwrap_or(first)
}

/// The source with comments and the contents of string and char literals blanked out.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
        {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < chars.len() {
                if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'); otherwise a lifetime, kept as code.
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path through `crate::` in `code`: `(line, top-level module, the path as written)`.
/// `use crate::{a::X, b}` yields one entry per module named in the braces.
fn crate_paths(code: &str) -> Vec<(usize, String, String)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::") {
        let start = from + at;
        from = start + "crate::".len();
        if code[..start].chars().next_back().is_some_and(|c| is_ident(c) || c == '$') {
            continue;
        }
        let line = code[..start].matches('\n').count() + 1;
        let rest = &code[from..];
        if let Some(group) = rest.strip_prefix('{') {
            // Split the group's top-level items at commas outside nested braces.
            let mut depth = 0;
            let mut item = String::new();
            let mut items = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            items.push(item);
            for item in items {
                let item: String = item.split_whitespace().collect();
                let module: String = item.chars().take_while(|c| is_ident(*c)).collect();
                if !module.is_empty() && module != "self" {
                    found.push((line, module, format!("crate::{{…{item}…}}")));
                }
            }
        } else {
            let module: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            let path: String = rest.chars().take_while(|c| is_ident(*c) || *c == ':').collect();
            let path = if rest[path.len()..].starts_with('{') { format!("{path}{{…}}") } else { path };
            if !module.is_empty() {
                found.push((line, module, format!("crate::{}", path.trim_end_matches(':'))));
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("src/ is readable").map(|e| e.expect("a directory entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every import that points up or sideways, as `file:line: path — why`.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).expect("a file under src/");
        let module = module_of(relative);
        let source = std::fs::read_to_string(&file).expect("a readable source file");
        if layer_of(&module).is_none() {
            found.push(format!("src/{}: module `{module}` is in no layer: add it to LAYERS", relative.display()));
            continue;
        }
        for (line, to, path) in crate_paths(&code_only(&source)) {
            if let Err(why) = allowed(&module, &to) {
                found.push(format!("src/{}:{line}: {path} — {why}", relative.display()));
            }
        }
    }
    found
}

#[test]
fn imports_point_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(found.is_empty(), "imports that point up or sideways:\n  {}", found.join("\n  "));
}

#[test]
fn every_module_is_in_exactly_one_layer() {
    let mut seen = BTreeMap::new();
    for layer in LAYERS {
        for m in layer.modules {
            assert!(seen.insert(*m, layer.name).is_none(), "`{m}` is in two layers");
        }
    }
    for (m, _) in FORBIDDEN {
        assert!(seen.contains_key(m), "FORBIDDEN names `{m}`, which is in no layer");
    }
}

#[test]
fn finds_imports_in_every_form() {
    let code = code_only(
        r##"
use crate::inventory::Object;
use crate::{checks::health::section, report::{Finding, Severity}, self};
// use crate::app::commented_out;
let s = "crate::run::in_a_string"; let r = r#"crate::run::raw"#;
fn f<'a>(c: char) -> bool { c == '"' || crate::checks::x(c) }
/* crate::app::in_a_block */ $crate::ignored(); foo_crate::ignored();
"##,
    );
    let modules: Vec<String> = crate_paths(&code).into_iter().map(|(_, m, _)| m).collect();
    assert_eq!(modules, ["inventory", "checks", "report", "checks"]);
}

#[test]
fn flags_the_wrong_direction() {
    assert!(allowed("render", "report").is_ok());
    assert!(allowed("checks", "rules").is_ok());
    assert!(allowed("collect", "rules").is_ok());
    assert!(allowed("collect", "checks").is_err());
    assert!(allowed("render", "checks").is_err());
    assert!(allowed("deliver", "collect").is_err());
    assert!(allowed("inventory", "checks").unwrap_err().contains("above"));
    assert!(allowed("report", "rules").is_err());
    assert!(allowed("render", "deliver").is_err());
    assert!(allowed("app", "nowhere").is_err());
}

//! Limits on YAML text, checked before it is parsed; shared by snapshot, rule
//! and config loading.
//!
//! The YAML parser (libyaml, through serde_norway) has two costs that grow
//! faster than the text:
//!
//! - **time quadratic in the nesting of flow collections**: `{a: {a: {a: …`
//!   200 KB deep took 20 s, and no `--timeout` reaches into a parse;
//! - **memory of every event of a document before anything sees it**, about
//!   100–200 bytes per node: a 20 MB flow list `[a,a,a,…]` took 2 GB, and
//!   aliases (`*name`) replay a node wherever they appear, so a few kilobytes
//!   can expand to millions of nodes.
//!
//! [`check`] walks the text once, mirroring libyaml's tokenizer (quoted,
//! plain and block scalars, comments, tags, indentation), and rejects a
//! document nested deeper than [`MAX_DEPTH`] or holding more nodes than
//! [`node_budget`] allows for its size. [`value_from_str`] parses one
//! document into a `serde_json::Value` within [`expansion_budget`] nodes,
//! aliases expanded; [`prepare`] does all of it for files that are parsed
//! into typed structs (rule files, config files). A UTF-8 byte-order mark is
//! removed first: libyaml counts it as a column of the first line, which then
//! reads as a second document.

use std::cell::Cell;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde_json::Value;

/// Deepest nesting of collections accepted. Kubernetes objects stay far
/// below it (a CRD's OpenAPI schema reaches about 30), and serde_norway
/// itself gives up at 128.
pub const MAX_DEPTH: usize = 100;

/// Nodes any document may have, whatever its size.
pub const NODE_FLOOR: usize = 250_000;

/// Beyond [`NODE_FLOOR`], a document needs this many bytes per node.
/// `kubectl get -o yaml` output has 8–11; a flow list of one-letter items has 2.
pub const BYTES_PER_NODE: usize = 4;

/// Nodes a document of `len` bytes may hold before it is parsed.
pub fn node_budget(len: usize) -> usize {
    NODE_FLOOR.max(len / BYTES_PER_NODE)
}

/// Nodes a document of `len` bytes may expand to once parsed (aliases
/// replayed, keys counted): twice [`node_budget`], so that no document
/// without aliases reaches it.
pub fn expansion_budget(len: usize) -> usize {
    2 * node_budget(len)
}

/// A document outside the limits; it is not parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// Collections nested deeper than [`MAX_DEPTH`].
    #[error(
        "YAML nested deeper than {MAX_DEPTH} levels at line {line}; not parsed (Kubernetes objects never nest this deep)"
    )]
    TooDeep {
        /// The line where the limit was crossed (1-based).
        line: usize,
    },
    /// More nodes than [`node_budget`] allows for the document's size.
    #[error(
        "YAML document starting at line {line} has more than {limit} nodes in {bytes} bytes; not parsed (at most one node per {BYTES_PER_NODE} bytes beyond the first {NODE_FLOOR})"
    )]
    TooManyNodes {
        /// The first line of the document (1-based).
        line: usize,
        /// The budget that was exceeded.
        limit: usize,
        /// The document's size.
        bytes: usize,
    },
    /// Aliases expand the document beyond [`expansion_budget`].
    #[error("YAML document expands to more than {limit} nodes (aliases `*name` repeat what they point to); not parsed")]
    TooManyExpanded {
        /// The budget that was exceeded.
        limit: usize,
    },
}

impl LimitError {
    /// The same error with its line numbers moved down by `lines`, for a
    /// document cut out of a longer file.
    pub fn shifted(self, lines: usize) -> Self {
        match self {
            LimitError::TooDeep { line } => LimitError::TooDeep { line: line + lines },
            LimitError::TooManyNodes { line, limit, bytes } => {
                LimitError::TooManyNodes { line: line + lines, limit, bytes }
            }
            other => other,
        }
    }
}

/// The text without a leading UTF-8 byte-order mark.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// For a file parsed whole into a typed struct (rule files, config files):
/// strips a byte-order mark, then applies [`check`] and [`expansion_budget`].
/// Returns the text to parse.
pub fn prepare(text: &str) -> Result<&str, String> {
    let text = strip_bom(text);
    check(text).map_err(|e| e.to_string())?;
    count_expanded(text).map_err(|e| e.to_string())?;
    Ok(text)
}

/// Rejects YAML nested deeper than [`MAX_DEPTH`], or with a document holding
/// more nodes than [`node_budget`] allows, without parsing it. Linear in the
/// text; what libyaml would reject anyway may be measured generously.
pub fn check(text: &str) -> Result<(), LimitError> {
    Scanner::new(text).run().map(|_| ())
}

/// What [`check`]'s scanner saw, for comparing it with libyaml in the fuzz tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// The deepest flow nesting (`[` and `{`): libyaml's flow level.
    pub max_flow: usize,
    /// The deepest nesting, block indentation levels and flow levels together.
    pub max_depth: usize,
    /// The most nodes counted in one document.
    pub max_nodes: usize,
    /// Nodes counted in all documents.
    pub total_nodes: usize,
}

/// Measures `text` as [`check`] does; `None` when it is outside the limits.
pub fn measure(text: &str) -> Option<Measure> {
    Scanner::new(text).run().ok().map(|s| Measure {
        max_flow: s.max_flow,
        max_depth: s.max_depth,
        max_nodes: s.max_nodes,
        total_nodes: s.total_nodes,
    })
}

/// Either a limit or the parser's own error.
#[derive(Debug)]
pub enum ParseError {
    /// The document is outside the limits.
    Limit(LimitError),
    /// The YAML is malformed.
    Syntax(serde_norway::Error),
}

/// Parses one YAML document into a JSON value, as `serde_json::Value::deserialize`
/// would, but within [`expansion_budget`] nodes (aliases expanded). Call
/// [`check`] first: the parser reads the whole document before building anything.
pub fn value_from_str(text: &str) -> Result<Value, ParseError> {
    parse_value(text, None)
}

/// Parses one Kubernetes manifest as [`value_from_str`] does, but reads its
/// plain (unquoted) scalars the way Kubernetes does: its YAML decoder
/// (`sigs.k8s.io/yaml` over go-yaml v2) follows YAML 1.1, where `y`, `yes`,
/// `on` and `n`, `no`, `off` (in lower, Title or UPPER case) are booleans as
/// much as `true` and `false`. So `privileged: on` is privileged, as the API
/// server, Polaris and KubeEye read it. Quoted (`"on"`) they stay strings,
/// and keys stay as written.
pub fn manifest_from_str(text: &str) -> Result<Value, ParseError> {
    parse_value(text, Some(text))
}

/// A YAML 1.1 boolean spelling that YAML 1.2 (and so serde_norway) reads as a string.
fn yaml11_bool(scalar: &str) -> Option<bool> {
    match scalar {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// Whether `scalar`, borrowed from `text`, was written without quotes: a quoted
/// scalar sits between two equal quote characters, a plain one never does.
fn is_plain(text: &str, scalar: &str) -> bool {
    let (base, at) = (text.as_ptr() as usize, scalar.as_ptr() as usize);
    let Some(start) = at.checked_sub(base).filter(|s| *s <= text.len()) else { return false };
    let bytes = text.as_bytes();
    let before = start.checked_sub(1).and_then(|i| bytes.get(i));
    let after = bytes.get(start + scalar.len());
    !matches!((before, after), (Some(b'"'), Some(b'"')) | (Some(b'\''), Some(b'\'')))
}

fn parse_value(text: &str, yaml11: Option<&str>) -> Result<Value, ParseError> {
    let limit = expansion_budget(text.len());
    let budget = Budget { left: Cell::new(limit), exceeded: Cell::new(false) };
    let de = serde_norway::Deserializer::from_str(text);
    ValueSeed(&budget, yaml11).deserialize(de).map_err(|e| {
        if budget.exceeded.get() {
            ParseError::Limit(LimitError::TooManyExpanded { limit })
        } else {
            ParseError::Syntax(e)
        }
    })
}

/// Walks every document with aliases expanded, stopping at the budget. Parse
/// errors are left for the real parse to report.
fn count_expanded(text: &str) -> Result<(), LimitError> {
    let limit = expansion_budget(text.len());
    let budget = Budget { left: Cell::new(limit), exceeded: Cell::new(false) };
    for document in serde_norway::Deserializer::from_str(text) {
        if CountSeed(&budget).deserialize(document).is_err() {
            break;
        }
    }
    if budget.exceeded.get() { Err(LimitError::TooManyExpanded { limit }) } else { Ok(()) }
}

struct Budget {
    left: Cell<usize>,
    exceeded: Cell<bool>,
}

impl Budget {
    fn take<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.left.get().checked_sub(1) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.exceeded.set(true);
                Err(E::custom("document expands beyond its node budget"))
            }
        }
    }
}

/// Builds a `serde_json::Value` exactly as its own `Deserialize` does (same
/// visits, same error texts), counting nodes.
/// With a text, plain YAML 1.1 booleans borrowed from it become booleans (see [`manifest_from_str`]).
#[derive(Clone, Copy)]
struct ValueSeed<'a>(&'a Budget, Option<&'a str>);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.0.take()?;
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Value, E> {
        Value::deserialize(serde::de::value::I128Deserializer::new(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Value, E> {
        Value::deserialize(serde::de::value::U128Deserializer::new(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Value, E> {
        // Plain scalars arrive borrowed from the text, so whether they were quoted can be seen there.
        if let Some(text) = self.1
            && let Some(b) = yaml11_bool(v)
            && is_plain(text, v)
        {
            return Ok(Value::Bool(b));
        }
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        // serde_json reads the first key as "a string key" and the others as strings.
        let Some(first) = map.next_key_seed(FirstKey(self.0))? else {
            return Ok(Value::Object(object));
        };
        object.insert(first, map.next_value_seed(self)?);
        loop {
            let Some(key) = map.next_key::<String>()? else { break };
            self.0.take()?;
            object.insert(key, map.next_value_seed(self)?);
        }
        Ok(Value::Object(object))
    }
}

struct FirstKey<'a>(&'a Budget);

impl<'de> DeserializeSeed<'de> for FirstKey<'_> {
    type Value = String;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        self.0.take()?;
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for FirstKey<'_> {
    type Value = String;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string key")
    }

    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
}

/// Visits everything, builds nothing, counts nodes.
#[derive(Clone, Copy)]
struct CountSeed<'a>(&'a Budget);

impl<'de> DeserializeSeed<'de> for CountSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.0.take()?;
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CountSeed<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any YAML node")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_i128<E>(self, _: i128) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u128<E>(self, _: u128) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_bytes<E>(self, _: &[u8]) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged node (`!Tag value`): count the value under the tag.
        let ((), variant) = data.variant_seed(self)?;
        variant.newtype_variant_seed(self)
    }
}

/// libyaml treats these as line breaks.
fn break_len(s: &[u8], i: usize) -> usize {
    match s.get(i) {
        Some(b'\n') => 1,
        Some(b'\r') => 1 + usize::from(s.get(i + 1) == Some(&b'\n')),
        // NEL (U+0085), LS (U+2028), PS (U+2029).
        Some(0xC2) if s.get(i + 1) == Some(&0x85) => 2,
        Some(0xE2) if s.get(i + 1) == Some(&0x80) && matches!(s.get(i + 2), Some(0xA8 | 0xA9)) => 3,
        _ => 0,
    }
}

fn char_len(first: u8) -> usize {
    match first {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

/// libyaml's anchor and tag-handle characters.
fn is_alpha(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// libyaml's tag URI characters (outside `!<…>`).
fn is_uri(c: u8) -> bool {
    is_alpha(c) || b";/?:@&=+$.%!~*'()".contains(&c)
}

const fn byte_set(bytes: &[u8]) -> [bool; 256] {
    let mut set = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        set[bytes[i] as usize] = true;
        i += 1;
    }
    set
}

/// Bytes that may end a run of text (the lead bytes of NEL, LS and PS among them); runs of any
/// other bytes are skipped in one step. Each set starts at an ASCII or lead byte, so a run ends
/// on a character boundary.
const LINE_END: [bool; 256] = byte_set(b"\r\n\xC2\xE2");
const PLAIN_END: [bool; 256] = byte_set(b" \t\r\n:,[]{}\xC2\xE2");
const QUOTED_END: [bool; 256] = byte_set(b" \t\r\n'\"\\\xC2\xE2");

#[derive(Debug, Clone, Copy, Default)]
struct SimpleKey {
    possible: bool,
    pos: usize,
    line: usize,
    col: usize,
}

/// A mirror of libyaml's scanner that keeps only what decides where tokens
/// are: flow level, block indentation, simple keys. It never fails on
/// malformed YAML: where libyaml would stop with an error it reads on, which
/// can only find more nesting, never less.
struct Scanner<'a> {
    s: &'a [u8],
    /// Byte offset: also libyaml's measure for its 1024-byte limit on simple keys.
    pos: usize,
    line: usize,
    col: usize,
    flow: usize,
    max_flow: usize,
    indent: isize,
    indents: Vec<isize>,
    key_allowed: bool,
    /// One possible simple key per flow level, the block level first.
    keys: Vec<SimpleKey>,
    /// The deepest flow level since the block level's simple key was saved: when a `:` makes
    /// that key (`{a: b}: c`) a block mapping's, the flow collection inside it nests one deeper.
    key_flow: usize,
    /// An indicator (`-`, `?`, `:`, `,`) is waiting for its node; if none comes, it is an empty one.
    expect_node: bool,
    nodes: usize,
    max_nodes: usize,
    total_nodes: usize,
    max_depth: usize,
    doc_start: usize,
    doc_line: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            s: text.as_bytes(),
            pos: 0,
            line: 1,
            col: 0,
            flow: 0,
            max_flow: 0,
            indent: -1,
            indents: Vec::new(),
            key_allowed: true,
            keys: vec![SimpleKey::default()],
            key_flow: 0,
            expect_node: false,
            nodes: 0,
            max_nodes: 0,
            total_nodes: 0,
            max_depth: 0,
            doc_start: 0,
            doc_line: 1,
        }
    }

    fn at(&self, k: usize) -> Option<u8> {
        self.s.get(self.pos + k).copied()
    }

    fn is(&self, k: usize, c: u8) -> bool {
        self.at(k) == Some(c)
    }

    fn is_break(&self, k: usize) -> bool {
        break_len(self.s, self.pos + k) > 0
    }

    fn is_blank(&self, k: usize) -> bool {
        matches!(self.at(k), Some(b' ' | b'\t'))
    }

    fn is_blankz(&self, k: usize) -> bool {
        match self.at(k) {
            None | Some(b' ' | b'\t' | b'\n' | b'\r') => true,
            Some(0xC2 | 0xE2) => self.is_break(k),
            Some(_) => false,
        }
    }

    fn is_breakz(&self, k: usize) -> bool {
        match self.at(k) {
            None | Some(b'\n' | b'\r') => true,
            Some(0xC2 | 0xE2) => self.is_break(k),
            Some(_) => false,
        }
    }

    fn eof(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// Steps over one character that is not a line break.
    fn skip(&mut self) {
        if let Some(c) = self.at(0) {
            self.pos = (self.pos + char_len(c)).min(self.s.len());
            self.col += 1;
        }
    }

    /// Steps over bytes until one in `end`: the hot loop, for text inside scalars and comments.
    fn skip_run(&mut self, end: &[bool; 256]) {
        let rest = &self.s[self.pos..];
        let n = rest.iter().position(|&b| end[usize::from(b)]).unwrap_or(rest.len());
        let chars = rest[..n].iter().filter(|&&b| b & 0xC0 != 0x80).count();
        self.pos += n;
        self.col += chars;
    }

    /// Steps over the rest of the line, up to its line break.
    fn skip_line(&mut self) {
        loop {
            self.skip_run(&LINE_END);
            if self.is_breakz(0) {
                return;
            }
            self.skip();
        }
    }

    fn skip_break(&mut self) {
        let n = break_len(self.s, self.pos);
        if n > 0 {
            self.pos += n;
            self.line += 1;
            self.col = 0;
        }
    }

    /// Steps over any character, line breaks included.
    fn advance(&mut self) {
        if self.is_break(0) { self.skip_break() } else { self.skip() }
    }

    fn document_marker(&self) -> bool {
        self.col == 0
            && (self.s[self.pos..].starts_with(b"---") || self.s[self.pos..].starts_with(b"..."))
            && self.is_blankz(3)
    }

    fn run(mut self) -> Result<Self, LimitError> {
        loop {
            self.skip_to_token();
            if self.eof() {
                self.empty_node();
                self.end_document()?;
                return Ok(self);
            }
            self.unroll(self.col as isize);
            let c = self.s[self.pos];
            if self.col == 0 && c == b'%' {
                // A directive: the rest of the line.
                self.skip_line();
                self.unroll(-1);
                self.remove_key();
                self.key_allowed = false;
                continue;
            }
            if self.document_marker() {
                self.empty_node();
                self.unroll(-1);
                self.remove_key();
                self.key_allowed = false;
                self.end_document()?;
                for _ in 0..3 {
                    self.skip();
                }
                continue;
            }
            match c {
                b'[' | b'{' => {
                    self.expect_node = false;
                    self.save_key();
                    self.flow += 1;
                    self.max_flow = self.max_flow.max(self.flow);
                    self.key_flow = self.key_flow.max(self.flow);
                    self.keys.push(SimpleKey::default());
                    self.key_allowed = true;
                    self.nodes += 1;
                    self.check_depth()?;
                    self.skip();
                }
                b']' | b'}' => {
                    self.empty_node();
                    self.remove_key();
                    if self.flow > 0 {
                        self.flow -= 1;
                        self.keys.pop();
                    }
                    self.key_allowed = false;
                    self.skip();
                }
                b',' => {
                    self.empty_node();
                    self.remove_key();
                    self.key_allowed = true;
                    self.expect_node = true;
                    self.skip();
                }
                b'-' if self.is_blankz(1) => {
                    self.empty_node();
                    if self.flow == 0 {
                        self.roll(self.col)?;
                    }
                    self.remove_key();
                    self.key_allowed = true;
                    self.expect_node = true;
                    self.skip();
                }
                b'?' if self.flow > 0 || self.is_blankz(1) => {
                    self.empty_node();
                    if self.flow == 0 {
                        self.roll(self.col)?;
                    }
                    self.remove_key();
                    self.key_allowed = self.flow == 0;
                    self.expect_node = true;
                    self.skip();
                }
                b':' if self.flow > 0 || self.is_blankz(1) => {
                    self.empty_node();
                    let key = self.top_key();
                    if key.possible {
                        if self.roll(key.col)? {
                            // The mapping starts before the key: it holds what the key nested.
                            self.note_depth(self.indents.len() + self.key_flow)?;
                        }
                        self.remove_key();
                        self.key_allowed = false;
                    } else {
                        if self.flow == 0 {
                            self.roll(self.col)?;
                        }
                        self.key_allowed = self.flow == 0;
                    }
                    self.expect_node = true;
                    self.skip();
                }
                b'*' | b'&' => {
                    // An alias is a node; an anchor names the node that follows.
                    self.save_key();
                    self.key_allowed = false;
                    self.skip();
                    while self.at(0).is_some_and(is_alpha) {
                        self.skip();
                    }
                    if c == b'*' {
                        self.expect_node = false;
                        self.nodes += 1;
                    }
                }
                b'!' => {
                    self.save_key();
                    self.key_allowed = false;
                    self.tag();
                }
                b'|' | b'>' if self.flow == 0 => {
                    self.expect_node = false;
                    self.remove_key();
                    self.key_allowed = true;
                    self.nodes += 1;
                    self.block_scalar();
                }
                b'\'' | b'"' => {
                    self.expect_node = false;
                    self.save_key();
                    self.key_allowed = false;
                    self.nodes += 1;
                    self.quoted(c == b'\'');
                }
                _ if self.plain_start(c) => {
                    self.expect_node = false;
                    self.save_key();
                    self.key_allowed = false;
                    self.nodes += 1;
                    self.plain();
                }
                // libyaml stops here ("cannot start any token"); reading on can only find more.
                _ => self.skip(),
            }
        }
    }

    fn plain_start(&self, c: u8) -> bool {
        let indicator = self.is_blankz(0) || b"-?:,[]{}#&*!|>'\"%@`".contains(&c);
        !indicator
            || (c == b'-' && !self.is_blank(1))
            || (self.flow == 0 && (c == b'?' || c == b':') && !self.is_blankz(1))
    }

    fn skip_to_token(&mut self) {
        loop {
            if self.col == 0 && self.s[self.pos..].starts_with("\u{feff}".as_bytes()) {
                self.skip();
            }
            while self.is(0, b' ') || ((self.flow > 0 || !self.key_allowed) && self.is(0, b'\t')) {
                self.skip();
            }
            if self.is(0, b'#') {
                self.skip_line();
            }
            if !self.is_break(0) {
                return;
            }
            self.skip_break();
            if self.flow == 0 {
                self.key_allowed = true;
            }
        }
    }

    /// An indicator whose node never came: the parser makes an empty one.
    fn empty_node(&mut self) {
        if std::mem::take(&mut self.expect_node) {
            self.nodes += 1;
        }
    }

    fn end_document(&mut self) -> Result<(), LimitError> {
        let bytes = self.pos - self.doc_start;
        let limit = node_budget(bytes);
        if self.nodes > limit {
            return Err(LimitError::TooManyNodes { line: self.doc_line, limit, bytes });
        }
        self.max_nodes = self.max_nodes.max(self.nodes);
        self.total_nodes += self.nodes;
        self.nodes = 0;
        self.doc_start = self.pos;
        self.doc_line = self.line;
        Ok(())
    }

    fn check_depth(&mut self) -> Result<(), LimitError> {
        self.note_depth(self.indents.len() + self.flow)
    }

    fn note_depth(&mut self, depth: usize) -> Result<(), LimitError> {
        self.max_depth = self.max_depth.max(depth);
        if depth > MAX_DEPTH {
            return Err(LimitError::TooDeep { line: self.line });
        }
        Ok(())
    }

    /// Starts a block collection at `col` when it is deeper than the current one; says whether it did.
    fn roll(&mut self, col: usize) -> Result<bool, LimitError> {
        let col = col as isize;
        if self.flow == 0 && self.indent < col {
            self.indents.push(self.indent);
            self.indent = col;
            self.nodes += 1;
            self.check_depth()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn unroll(&mut self, col: isize) {
        if self.flow == 0 {
            while self.indent > col {
                self.indent = self.indents.pop().unwrap_or(-1);
            }
        }
    }

    fn top_key(&self) -> SimpleKey {
        let key = self.keys.last().copied().unwrap_or_default();
        // Checked where it is used rather than at every token: both conditions only ever become true.
        let stale = key.line < self.line || key.pos + 1024 < self.pos;
        SimpleKey { possible: key.possible && !stale, ..key }
    }

    fn save_key(&mut self) {
        if self.key_allowed {
            if self.flow == 0 {
                self.key_flow = 0;
            }
            let key = SimpleKey { possible: true, pos: self.pos, line: self.line, col: self.col };
            if let Some(top) = self.keys.last_mut() {
                *top = key;
            }
        }
    }

    fn remove_key(&mut self) {
        if let Some(top) = self.keys.last_mut() {
            top.possible = false;
        }
    }

    fn tag(&mut self) {
        self.skip();
        if self.is(0, b'<') {
            self.skip();
            while self.at(0).is_some_and(|c| is_uri(c) || b",[]".contains(&c)) {
                self.skip();
            }
            if self.is(0, b'>') {
                self.skip();
            }
        } else {
            while self.at(0).is_some_and(is_uri) {
                self.skip();
            }
        }
    }

    fn quoted(&mut self, single: bool) {
        let quote = if single { b'\'' } else { b'"' };
        self.skip();
        loop {
            if self.document_marker() || self.eof() {
                return;
            }
            while !self.is_blankz(0) {
                self.skip_run(&QUOTED_END);
                if self.is_blankz(0) {
                    break;
                }
                if single && self.is(0, b'\'') && self.is(1, b'\'') {
                    self.skip();
                    self.skip();
                } else if self.is(0, quote) {
                    break;
                } else if !single && self.is(0, b'\\') && self.is_break(1) {
                    self.skip();
                    self.skip_break();
                    break;
                } else if !single && self.is(0, b'\\') {
                    self.skip();
                    if !self.eof() {
                        self.advance();
                    }
                } else {
                    self.skip();
                }
            }
            if self.is(0, quote) {
                self.skip();
                return;
            }
            while self.is_blank(0) || self.is_break(0) {
                self.advance();
            }
        }
    }

    fn plain(&mut self) {
        let indent = self.indent + 1;
        let mut leading_blanks = false;
        loop {
            if self.document_marker() || self.is(0, b'#') {
                break;
            }
            while !self.is_blankz(0) {
                self.skip_run(&PLAIN_END);
                if self.is_blankz(0) {
                    break;
                }
                let c = self.s[self.pos];
                if self.flow > 0 && c == b':' && self.at(1).is_some_and(|n| b",?[]{}".contains(&n)) {
                    // libyaml: "found unexpected ':'"; it stops, we end the scalar.
                    break;
                }
                if (c == b':' && self.is_blankz(1)) || (self.flow > 0 && b",[]{}".contains(&c)) {
                    break;
                }
                self.skip();
            }
            if !(self.is_blank(0) || self.is_break(0)) {
                break;
            }
            while self.is_blank(0) || self.is_break(0) {
                if self.is_blank(0) {
                    self.skip();
                } else {
                    self.skip_break();
                    leading_blanks = true;
                }
            }
            if self.flow == 0 && (self.col as isize) < indent {
                break;
            }
        }
        if leading_blanks {
            self.key_allowed = true;
        }
    }

    fn block_scalar(&mut self) {
        self.skip();
        // Header: chomping (`+`, `-`) and indentation (1-9) indicators, in either order.
        let (mut chomping, mut indicator) = (false, None);
        loop {
            match self.at(0) {
                Some(b'+' | b'-') if !chomping => chomping = true,
                Some(d @ b'0'..=b'9') if indicator.is_none() => indicator = Some(isize::from(d - b'0')),
                _ => break,
            }
            self.skip();
        }
        if indicator == Some(0) {
            // libyaml stops with an error at an indentation indicator of 0.
            return;
        }
        let increment = indicator.unwrap_or(0);
        while self.is_blank(0) {
            self.skip();
        }
        if self.is(0, b'#') {
            self.skip_line();
        }
        if !self.is_breakz(0) {
            return;
        }
        self.skip_break();
        let mut indent = match increment {
            0 => 0,
            n if self.indent >= 0 => self.indent + n,
            n => n,
        };
        if !self.block_breaks(&mut indent) {
            return;
        }
        while self.col as isize == indent && !self.eof() {
            self.skip_line();
            if self.eof() {
                break;
            }
            self.skip_break();
            if !self.block_breaks(&mut indent) {
                return;
            }
        }
    }

    /// Empty lines and indentation before a block scalar's next line; fixes the
    /// indentation from the first line when no indicator gave it.
    fn block_breaks(&mut self, indent: &mut isize) -> bool {
        let mut max_indent = 0;
        loop {
            while (*indent == 0 || (self.col as isize) < *indent) && self.is(0, b' ') {
                self.skip();
            }
            max_indent = max_indent.max(self.col as isize);
            if (*indent == 0 || (self.col as isize) < *indent) && self.is(0, b'\t') {
                return false;
            }
            if !self.is_break(0) {
                break;
            }
            self.skip_break();
        }
        if *indent == 0 {
            *indent = max_indent.max(self.indent + 1).max(1);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(open: &str, close: &str, n: usize) -> String {
        format!("{}1{}", open.repeat(n), close.repeat(n))
    }

    #[test]
    fn flow_nesting_past_the_limit_is_rejected_before_parsing() {
        assert_eq!(check(&deep("[", "]", MAX_DEPTH)), Ok(()));
        assert_eq!(check(&deep("[", "]", MAX_DEPTH + 1)), Err(LimitError::TooDeep { line: 1 }));
        assert_eq!(check(&deep("{a: ", "}", MAX_DEPTH + 1)), Err(LimitError::TooDeep { line: 1 }));
        // The case that took 20 s in the parser: unclosed, 200 KB.
        let started = std::time::Instant::now();
        assert!(matches!(check(&"{a: ".repeat(50_000)), Err(LimitError::TooDeep { .. })));
        assert!(prepare(&"{a: ".repeat(50_000)).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[test]
    fn block_nesting_counts_too() {
        let text: String = (0..=MAX_DEPTH).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        assert!(matches!(check(&text), Err(LimitError::TooDeep { line: 101 })), "{:?}", check(&text));
        let text: String = (0..MAX_DEPTH).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        assert_eq!(check(&text), Ok(()));
    }

    #[test]
    fn brackets_inside_scalars_and_comments_are_not_nesting() {
        let many = "[".repeat(300);
        for text in [
            format!("a: \"{many}\"\n"),
            format!("a: '{many}'\n"),
            format!("a: x{many}\n"),
            format!("a: 1 # {many}\n"),
            format!("a: |\n  {many}\n  more\nb: 2\n"),
            format!("a: >-\n    {many}\n\n    {many}\nb: [1, 2]\n"),
            format!("- |2\n   {many}\n- x\n"),
            format!("a: \"x\\\"{many}\"\n"),
            format!("a: 'it''s {many}'\n"),
            format!("a: !<tag{many}> x\n"),
            format!("a: plain\n  continued {many}\nb: 1\n"),
        ] {
            assert_eq!(check(&text), Ok(()), "{text}");
        }
    }

    #[test]
    fn nesting_hidden_after_scalars_is_still_found() {
        let deep = deep("[", "]", MAX_DEPTH + 1);
        for text in [
            // A quote inside a plain scalar's continuation line opens nothing.
            format!("a: x\n  'y\nb: {deep}\nc: '\n"),
            // A block scalar ends at the first line indented less than its content.
            format!("a: |\n    text\n  b: {deep}\n"),
            format!("- a: |\n    text\n  b: {deep}\n"),
            // A comment needs a space before `#`.
            format!("a: x#y\nb: {deep}\n"),
            // A `"` inside a single-quoted scalar does not open another.
            format!("a: 'x\"'\nb: {deep}\nc: \"\n"),
            format!("a: \"\\\\\"\nb: {deep}\n"),
            format!("a: [\"]\", '[', {deep}]\n"),
        ] {
            assert!(matches!(check(&text), Err(LimitError::TooDeep { .. })), "{text}");
        }
    }

    #[test]
    fn a_flow_collection_as_a_block_key_nests_inside_the_mapping() {
        // Found by the yaml_scan fuzz target: libyaml starts the block mapping before the key.
        assert_eq!(measure("{a: [1]}: x\n").map(|m| (m.max_flow, m.max_depth)), Some((2, 3)));
        let deep = deep("[", "]", MAX_DEPTH);
        assert_eq!(check(&format!("k: {deep}\n")), Err(LimitError::TooDeep { line: 1 }));
        assert_eq!(check(&format!("{deep}: x\n")), Err(LimitError::TooDeep { line: 1 }));
        assert_eq!(check(&format!("{deep}\n")), Ok(()));
    }

    #[test]
    fn measures_match_what_was_written() {
        let m =
            |max_flow, max_depth, max_nodes, total_nodes| Some(Measure { max_flow, max_depth, max_nodes, total_nodes });
        assert_eq!(measure("a: [1, {b: [2]}]\nc: '[[['\n"), m(3, 4, 10, 10));
        assert_eq!(measure("a: |\n  [[[\n"), m(0, 1, 3, 3));
        assert_eq!(measure("- a\n-\n- b\n---\nx\n"), m(0, 1, 4, 5));
    }

    #[test]
    fn a_byte_order_mark_is_stripped() {
        assert_eq!(prepare("\u{feff}a: 1\nb: 2\n"), Ok("a: 1\nb: 2\n"));
        assert_eq!(strip_bom("a"), "a");
        // Without stripping, libyaml counts the mark as a column and sees two documents.
        assert!(serde_norway::from_str::<Value>("\u{feff}a: 1\nb: 2\n").is_err());
    }

    #[test]
    fn dense_documents_are_rejected_beyond_the_floor() {
        let n = NODE_FLOOR + 10;
        let text = format!("[{}a]", "a,".repeat(n));
        assert!(matches!(check(&text), Err(LimitError::TooManyNodes { line: 1, .. })), "{:?}", check(&text));
        // Empty nodes count: a sequence of empty entries.
        assert!(matches!(check(&"-\n".repeat(n)), Err(LimitError::TooManyNodes { .. })));
        // The same count spread over enough bytes is fine.
        let text = format!("[{}a]", "abcdefgh, ".repeat(n));
        assert_eq!(check(&text), Ok(()));
        // Each document has its own budget.
        let half = format!("[{}a]\n", "a,".repeat(NODE_FLOOR / 2 - 10));
        assert_eq!(check(&format!("{half}---\n{half}")), Ok(()));
    }

    #[test]
    fn aliases_are_bounded_when_expanded() {
        // 1,000 items pointed to 1,000 times: 6 KB of text, a million nodes.
        let items = "x,".repeat(1000);
        let aliases = "*a,".repeat(1000);
        let text = format!("a: &a [{items}]\nb: [{aliases}]\n");
        assert_eq!(check(&text), Ok(()));
        let limit = expansion_budget(text.len());
        assert!(matches!(value_from_str(&text), Err(ParseError::Limit(LimitError::TooManyExpanded { .. }))));
        assert_eq!(prepare(&text), Err(LimitError::TooManyExpanded { limit }.to_string()));
        // A few aliases are fine.
        let text = "a: &a {x: 1}\nb: *a\nc: *a\n";
        assert_eq!(value_from_str(text).unwrap(), serde_json::json!({"a": {"x": 1}, "b": {"x": 1}, "c": {"x": 1}}));
        assert_eq!(prepare(text), Ok(text));
    }

    #[test]
    fn values_are_built_as_serde_json_builds_them() {
        for text in [
            "a: 1\nb: [true, null, 1.5, -3, 18446744073709551615, 99999999999999999999, .nan, ~]\nc: {d: x}\n",
            "1: a\ntrue: b\n",
            "[a: 1]\n",
            "? [a]\n: 1\n",
            "a: !!binary aGVsbG8=\n",
            "a: !custom 1\n",
            "{}\n",
            "a: &x 1\nb: *x\n",
            "a: *missing\n",
            "",
            "- [unclosed\n",
        ] {
            let ours = value_from_str(text).map_err(|e| match e {
                ParseError::Syntax(e) => e.to_string(),
                ParseError::Limit(e) => panic!("{text}: {e}"),
            });
            let theirs = Value::deserialize(serde_norway::Deserializer::from_str(text)).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{text}");
        }
    }

    #[test]
    fn every_yaml_file_in_the_repository_passes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut seen = 0;
        let mut stack: Vec<std::path::PathBuf> =
            ["rules", "examples", "tests", "deploy"].iter().map(|d| root.join(d)).collect();
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert_eq!(check(&text), Ok(()), "{}", path.display());
                if path.extension().is_some_and(|e| e != "json") {
                    assert!(prepare(&text).is_ok(), "{}", path.display());
                }
                seen += 1;
            }
        }
        assert!(seen > 100, "{seen}");
    }
}

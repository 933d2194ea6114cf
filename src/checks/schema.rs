//! JSON-Schema rules: compiling a rule's schema once and validating objects against it.
//!
//! Schemas follow Polaris: draft-07 or 2019-09 (the default when `$schema`
//! is absent), plus Polaris's `resourceMinimum` / `resourceMaximum` keywords,
//! which compare Kubernetes quantities (`100m`, `1Gi`). A `schemaString` may
//! hold Go-template field references (`{{ .metadata.name }}`,
//! `{{ .Polaris.PodSpec.hostname }}`) that are filled from the object being
//! checked; control structures (`if`, `range`) are refused at load time.
//!
//! `pattern` and `patternProperties` run on the `regex` crate, whose matching
//! time is linear in the input, as Polaris's Go RE2 is: a rule file cannot
//! make an evaluation backtrack for seconds per object. Lookaround and
//! backreferences, which need backtracking, are refused at load time, and so
//! is a pattern over [`MAX_PATTERN_CHARS`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use jsonschema::{Keyword, PatternOptions, ValidationError, Validator};
use serde_json::{Map, Value};

use crate::quantity;

/// A compiled rule schema.
#[derive(Debug)]
pub struct CompiledSchema {
    inner: Inner,
    /// The schema as the rule wrote it, for documentation (`ke rules docs`).
    source: Source,
}

/// A schema as written: a value (`schema:`) or text (`schemaString:`).
#[derive(Debug)]
enum Source {
    Value(Value),
    Text(String),
}

#[derive(Debug)]
enum Inner {
    Static(Box<Validator>),
    /// Rendered per object; validators cached by rendered text.
    Template {
        text: String,
        cache: Mutex<TemplateCache>,
    },
}

/// The longest regular expression a rule may hold, in characters: a schema's
/// `pattern` and `patternProperties` keys, a log or event rule's `pattern` and
/// `excludePattern`. Ten times the longest seen in Polaris and KubeEye rule
/// sets; a 10 MB pattern took over 1 GB to parse before it was refused.
pub const MAX_PATTERN_CHARS: usize = 16 * 1024;

/// Size limit of one compiled schema pattern (the `regex` crate's own default is 10 MiB).
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// Validators of a templated schema kept for reuse, by rendered text: most
/// objects render the same text (the template reads a field that repeats), and
/// compiling is the expensive part. Bounded in entries and in text held, since
/// every object may render a different, large text (500 objects with large
/// annotations took 2.5 GB when it was not); the oldest entry goes first.
#[derive(Debug, Default)]
struct TemplateCache {
    validators: HashMap<Arc<str>, Arc<Validator>>,
    order: VecDeque<Arc<str>>,
    bytes: usize,
}

impl TemplateCache {
    /// Most rendered schemas kept.
    const MAX_ENTRIES: usize = 256;
    /// Most rendered text kept, in bytes (validators take a small multiple of it).
    const MAX_BYTES: usize = 4 << 20;
    /// A rendered text over this is compiled for its object and not kept.
    const MAX_ENTRY_BYTES: usize = 256 << 10;

    fn get(&self, rendered: &str) -> Option<Arc<Validator>> {
        self.validators.get(rendered).cloned()
    }

    fn insert(&mut self, rendered: String, validator: Arc<Validator>) {
        if rendered.len() > Self::MAX_ENTRY_BYTES || self.validators.contains_key(rendered.as_str()) {
            return;
        }
        while self.order.len() >= Self::MAX_ENTRIES || self.bytes + rendered.len() > Self::MAX_BYTES {
            let Some(oldest) = self.order.pop_front() else { break };
            self.bytes -= oldest.len();
            self.validators.remove(&oldest);
        }
        let key: Arc<str> = rendered.into();
        self.bytes += key.len();
        self.order.push_back(key.clone());
        self.validators.insert(key, validator);
    }
}

impl CompiledSchema {
    /// Compiles a schema given as a value.
    pub fn new(schema: Value) -> Result<Self, String> {
        // Polaris templates `schema:` as well as `schemaString:` (its own
        // metadataAndInstanceMismatched does): a schema with `{{ … }}` in it is a template.
        if mentions_template(&schema) {
            let text = serde_json::to_string(&schema).map_err(|e| format!("schema: {e}"))?;
            return Ok(Self { source: Source::Value(schema), ..Self::from_string(&text)? });
        }
        Ok(Self { inner: Inner::Static(Box::new(build(&schema)?)), source: Source::Value(schema) })
    }

    /// Compiles a `schemaString`: YAML or JSON text, optionally with `{{ .field }}` references.
    pub fn from_string(text: &str) -> Result<Self, String> {
        if !text.contains("{{") {
            return Ok(Self { source: Source::Text(text.to_string()), ..Self::new(parse_schema_text(text)?)? });
        }
        template_fields(text)?;
        // Render once with an empty context so a schema that cannot compile fails now.
        let probe = render_template(text, &Value::Null);
        build(&parse_schema_text(&probe)?)?;
        Ok(Self {
            inner: Inner::Template { text: text.to_string(), cache: Mutex::new(TemplateCache::default()) },
            source: Source::Text(text.to_string()),
        })
    }

    /// Whether `instance` validates. `context` is the template data (only used by templated schemas).
    ///
    /// A templated schema that does not compile once filled with this object's
    /// values (the text compiled at load time, so a value from the cluster broke
    /// it) is an error saying why: the object could not be judged, which is
    /// neither a pass nor a finding.
    pub fn validate(&self, instance: &Value, context: impl FnOnce() -> Value) -> Result<bool, String> {
        match &self.inner {
            Inner::Static(v) => Ok(v.is_valid(instance)),
            Inner::Template { text, cache } => {
                let rendered = render_template(text, &context());
                let cached = cache.lock().ok().and_then(|c| c.get(&rendered));
                let validator = match cached {
                    Some(v) => v,
                    None => {
                        let v = parse_schema_text(&rendered).and_then(|s| build(&s)).map_err(|e| {
                            format!("the schema template, filled with this object's fields, does not compile: {e}")
                        })?;
                        let v = Arc::new(v);
                        if let Ok(mut c) = cache.lock() {
                            c.insert(rendered, v.clone());
                        }
                        v
                    }
                };
                Ok(validator.is_valid(instance))
            }
        }
    }

    /// The schema as the rule wrote it, as YAML text (a `schemaString` verbatim).
    pub fn source_yaml(&self) -> String {
        match &self.source {
            Source::Value(v) => serde_norway::to_string(v).unwrap_or_else(|_| v.to_string()),
            Source::Text(t) => t.clone(),
        }
    }

    /// Whether the schema needs template context.
    pub fn is_templated(&self) -> bool {
        matches!(self.inner, Inner::Template { .. })
    }
}

fn parse_schema_text(text: &str) -> Result<Value, String> {
    serde_norway::from_str(text).map_err(|e| format!("schemaString is not valid YAML/JSON: {e}"))
}

fn build(schema: &Value) -> Result<Validator, String> {
    let mut schema = schema.clone();
    drop_null_keywords(&mut schema);
    let schema = &schema;
    check_patterns(schema, "")?;
    let mut options = jsonschema::options()
        .with_keyword("resourceMinimum", |_, v, _| quantity_keyword(v, Bound::Minimum))
        .with_keyword("resourceMaximum", |_, v, _| quantity_keyword(v, Bound::Maximum))
        .with_pattern_options(PatternOptions::regex().size_limit(PATTERN_SIZE_LIMIT));
    if schema.get("$schema").is_none() {
        options = options.with_draft(jsonschema::Draft::Draft201909);
    }
    options.build(schema).map_err(|e| {
        let at = pointer_or_root(e.schema_path().as_str());
        let why = explain_pattern_error(schema, at).map(|w| format!(": {w}")).unwrap_or_default();
        format!("invalid schema: {e} (at {at}){why}")
    })
}

/// Why the pattern at `at` does not compile, in the regex engine's words,
/// when the error is about a `pattern` or a `patternProperties` key.
fn explain_pattern_error(schema: &Value, at: &str) -> Option<String> {
    const KEY: &str = "/patternProperties/";
    let pattern = if at.ends_with("/pattern") {
        schema.pointer(at)?.as_str()?.to_string()
    } else {
        // A `patternProperties` key: the pointer's last segment (escaped as RFC 6901 says).
        let key = &at[at.rfind(KEY)? + KEY.len()..];
        key.replace("~1", "/").replace("~0", "~")
    };
    // The parser draws a caret diagram over several lines; its last line says why.
    let engine_says = regex::RegexBuilder::new(&pattern).size_limit(PATTERN_SIZE_LIMIT).build().err().map(|e| {
        let text = e.to_string();
        text.lines().last().unwrap_or_default().trim_start_matches("error: ").to_string()
    });
    let rule = "schema patterns use RE2 syntax as in Polaris (linear time): no lookaround, no backreferences";
    Some(match engine_says {
        Some(why) => format!("{why}; {rule}"),
        None => rule.to_string(),
    })
}

/// Keywords whose values are data, not schemas.
const DATA_KEYWORDS: &[&str] = &["const", "enum", "default", "examples"];

/// Refuses a pattern longer than [`MAX_PATTERN_CHARS`] before a regex parser sees it.
pub fn check_pattern_length(what: &str, pattern: &str) -> Result<(), String> {
    let chars = pattern.chars().count();
    if chars > MAX_PATTERN_CHARS {
        return Err(format!(
            "{what} is {chars} characters long; patterns may have at most {MAX_PATTERN_CHARS} (split the rule, or match a shorter expression)"
        ));
    }
    Ok(())
}

/// Every `pattern` and `patternProperties` key of a schema, checked for length.
/// Before compiling, so that a long pattern is refused whatever the keyword
/// around it; `at` is the JSON pointer of `schema`.
fn check_patterns(schema: &Value, at: &str) -> Result<(), String> {
    match schema {
        Value::Object(map) => {
            for (key, v) in map {
                if DATA_KEYWORDS.contains(&key.as_str()) {
                    continue;
                }
                let here = format!("{at}/{key}");
                match (key.as_str(), v) {
                    ("pattern", Value::String(p)) => check_pattern_length(&format!("`pattern` at {here}"), p)?,
                    ("patternProperties", Value::Object(props)) => {
                        for name in props.keys() {
                            check_pattern_length(&format!("a `patternProperties` key at {here}"), name)?;
                        }
                    }
                    _ => {}
                }
                check_patterns(v, &here)?;
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                check_patterns(v, &format!("{at}/{i}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A keyword written with no value (`required:` in KubeEye v0.1's
/// hostPortSet) is absent, as Polaris's validator reads it. Values that are
/// data, not schemas (`const`, `enum`, `default`, `examples`), keep their nulls.
fn drop_null_keywords(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.retain(|key, v| !v.is_null() || DATA_KEYWORDS.contains(&key.as_str()));
            for (key, v) in map.iter_mut() {
                if !DATA_KEYWORDS.contains(&key.as_str()) {
                    drop_null_keywords(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_keywords),
        _ => {}
    }
}

fn pointer_or_root(p: &str) -> &str {
    if p.is_empty() { "/" } else { p }
}

#[derive(Clone, Copy)]
enum Bound {
    Minimum,
    Maximum,
}

struct QuantityKeyword {
    limit: f64,
    bound: Bound,
}

fn quantity_keyword<'a>(value: &'a Value, bound: Bound) -> Result<Box<dyn for<'i> Keyword<'i>>, ValidationError<'a>> {
    match quantity::from_json(value) {
        Some(limit) => Ok(Box::new(QuantityKeyword { limit, bound })),
        None => Err(ValidationError::custom(format!("`{value}` is not a Kubernetes quantity"))),
    }
}

impl<'i> Keyword<'i> for QuantityKeyword {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        if self.is_valid(instance) {
            Ok(())
        } else {
            let word = match self.bound {
                Bound::Minimum => "below the minimum",
                Bound::Maximum => "above the maximum",
            };
            Err(ValidationError::custom(format!("{instance} is {word} {}", self.limit)))
        }
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        // Polaris's keywords apply to quantities only; other types pass, like `minimum` on a string.
        if !(instance.is_string() || instance.is_number()) {
            return true;
        }
        match (quantity::from_json(instance), self.bound) {
            (Some(q), Bound::Minimum) => q >= self.limit,
            (Some(q), Bound::Maximum) => q <= self.limit,
            (None, _) => false,
        }
    }
}

/// The field paths a template references; anything but `{{ .a.b }}` is an error.
fn template_fields(text: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("schemaString: `{{` without a closing `}}`")?;
        let action = after[..end].trim().trim_matches('-').trim();
        if !action.starts_with('.') || action.contains(char::is_whitespace) {
            return Err(format!(
                "schemaString: template action `{{{{ {action} }}}}` is not supported; only field references such as `{{{{ .metadata.name }}}}` are"
            ));
        }
        fields.push(action.to_string());
        rest = &after[end + 2..];
    }
    Ok(fields)
}

/// Replaces each `{{ .a.b }}` with the value at that path of `context` (strings bare, others as JSON).
pub fn render_template(text: &str, context: &Value) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let path = after[..end].trim().trim_matches('-').trim();
        let value =
            path.trim_start_matches('.').split('.').filter(|s| !s.is_empty()).try_fold(context, |v, key| v.get(key));
        match value {
            Some(Value::String(s)) => out.push_str(s),
            Some(Value::Null) | None => {}
            Some(other) => out.push_str(&other.to_string()),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Template data for one object: the object's own fields, plus `Polaris.PodSpec`,
/// `Polaris.PodTemplate` and `Polaris.Controller` for workloads.
/// Whether any string in a schema holds a `{{` template action.
fn mentions_template(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{"),
        Value::Array(items) => items.iter().any(mentions_template),
        Value::Object(map) => map.values().any(mentions_template),
        _ => false,
    }
}

/// Template data as Polaris gives it: the whole object at the root (whatever
/// level the rule targets), and `Polaris.PodSpec`, `Polaris.PodTemplate`,
/// `Polaris.Controller` and, for container rules, `Polaris.Container`.
pub fn template_context(
    object: &Value,
    pod_spec: Option<&Value>,
    pod_template: Option<&Value>,
    controller: Option<&Value>,
) -> Value {
    template_context_with(object, pod_spec, pod_template, controller, None)
}

/// [`template_context`] for a container rule.
pub fn template_context_with(
    object: &Value,
    pod_spec: Option<&Value>,
    pod_template: Option<&Value>,
    controller: Option<&Value>,
    container: Option<&Value>,
) -> Value {
    let mut ctx = match object {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let mut polaris = Map::new();
    for (key, value) in
        [("PodSpec", pod_spec), ("PodTemplate", pod_template), ("Controller", controller), ("Container", container)]
    {
        if let Some(v) = value {
            polaris.insert(key.into(), v.clone());
        }
    }
    ctx.insert("Polaris".into(), Value::Object(polaris));
    Value::Object(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid(schema: Value, instance: Value) -> bool {
        CompiledSchema::new(schema).unwrap().validate(&instance, || Value::Null).unwrap()
    }

    #[test]
    fn resource_bounds() {
        let schema =
            json!({"type": "object", "properties": {"cpu": {"resourceMinimum": "100m", "resourceMaximum": "2"}}});
        assert!(valid(schema.clone(), json!({"cpu": "500m"})));
        assert!(!valid(schema.clone(), json!({"cpu": "50m"})));
        assert!(!valid(schema.clone(), json!({"cpu": "3"})));
        assert!(!valid(schema, json!({"cpu": "lots"})));
        assert!(CompiledSchema::new(json!({"resourceMinimum": "much"})).is_err());
    }

    #[test]
    fn keywords_without_a_value_are_absent() {
        let schema = json!({"type": "object", "required": null, "properties": {"a": {"const": null}}});
        assert!(valid(schema.clone(), json!({})));
        assert!(valid(schema.clone(), json!({"a": null})), "`const: null` keeps its meaning");
        assert!(!valid(schema, json!({"a": 1})));
    }

    #[test]
    fn draft7_without_hash_and_invalid_schema() {
        let schema = json!({"$schema": "http://json-schema.org/draft-07/schema", "type": "object",
            "properties": {"image": {"type": "string", "not": {"pattern": "^quay.io"}}}});
        assert!(valid(schema.clone(), json!({"image": "docker.io/nginx:1.25"})));
        assert!(!valid(schema, json!({"image": "quay.io/x:1"})));
        assert!(CompiledSchema::new(json!({"type": "objekt"})).is_err());
        let bad_regex = CompiledSchema::new(json!({"properties": {"a": {"pattern": "(unclosed"}}})).unwrap_err();
        assert!(bad_regex.contains("invalid schema"), "{bad_regex}");
    }

    #[test]
    fn templates() {
        let s =
            CompiledSchema::from_string("type: object\nproperties:\n  name:\n    const: \"{{ .metadata.name }}\"\n")
                .unwrap();
        let ctx = json!({"metadata": {"name": "web"}});
        assert_eq!(s.validate(&json!({"name": "web"}), || ctx.clone()), Ok(true));
        assert_eq!(s.validate(&json!({"name": "api"}), || ctx.clone()), Ok(false));
        assert!(CompiledSchema::from_string("{{ if .x }}a{{ end }}").is_err());
        assert_eq!(render_template("a {{.x.y}} b", &json!({"x": {"y": 3}})), "a 3 b");
    }

    #[test]
    fn patterns_run_on_a_linear_time_engine() {
        // On the backtracking engine this pattern loaded, then took its whole
        // backtrack budget (about 200 ms in a debug build) on every container
        // image of 40 `a`s and a `b`: 55 s over 1,000 containers.
        let catastrophic = json!({"type": "string", "pattern": "^(a|a)+$(?<!x)"});
        let err = CompiledSchema::new(catastrophic).unwrap_err();
        assert!(err.contains("lookaround") && err.contains("/pattern"), "{err}");
        let backreference = CompiledSchema::new(json!({"patternProperties": {"(a*)*\\1c": {}}})).unwrap_err();
        assert!(backreference.contains("backreferences are not supported"), "{backreference}");
        // The same ambiguity without lookaround is linear: 1,000 strings in well under a second.
        let schema = CompiledSchema::new(json!({"type": "string", "pattern": "^(a|a)+$"})).unwrap();
        let input = json!(format!("{}b", "a".repeat(40)));
        let started = std::time::Instant::now();
        for _ in 0..1_000 {
            assert_eq!(schema.validate(&input, || Value::Null), Ok(false));
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
        // ECMA-262 syntax as JSON Schema writes it still works.
        assert!(valid(json!({"pattern": "^\\d{3}-[a-z]+$"}), json!("123-abc")));
        assert!(valid(json!({"patternProperties": {"^x-": {"type": "string"}}}), json!({"x-a": "s"})));
        assert!(!valid(json!({"patternProperties": {"^x-": {"type": "string"}}}), json!({"x-a": 1})));
    }

    #[test]
    fn patterns_over_the_length_limit_are_refused_before_compiling() {
        let long = "a".repeat(MAX_PATTERN_CHARS + 1);
        let err = CompiledSchema::new(json!({"properties": {"image": {"pattern": long}}})).unwrap_err();
        assert!(err.contains("/properties/image/pattern") && err.contains("16384"), "{err}");
        let err = CompiledSchema::new(json!({"patternProperties": {long.clone(): {}}})).unwrap_err();
        assert!(err.contains("patternProperties"), "{err}");
        let err = CompiledSchema::from_string(&format!("pattern: '{long}'\nnot: {{const: '{{{{ .a }}}}'}}\n"));
        assert!(err.unwrap_err().contains("characters long"));
        // At the limit is fine, and data keywords are not patterns.
        CompiledSchema::new(json!({"pattern": "a".repeat(MAX_PATTERN_CHARS)})).unwrap();
        CompiledSchema::new(json!({"const": {"pattern": long}})).unwrap();
    }

    #[test]
    fn the_template_cache_is_bounded() {
        let s =
            CompiledSchema::from_string("type: object\nproperties:\n  name:\n    const: \"{{ .metadata.name }}\"\n")
                .unwrap();
        let Inner::Template { cache, .. } = &s.inner else { panic!("templated") };
        let check = |name: String| {
            let ctx = json!({"metadata": {"name": name.clone()}});
            assert_eq!(s.validate(&json!({"name": name}), || ctx), Ok(true));
        };
        for i in 0..2_000 {
            check(format!("web-{i}"));
        }
        let held = |c: &TemplateCache| (c.validators.len(), c.order.len(), c.bytes);
        let (entries, order, bytes) = held(&cache.lock().unwrap());
        assert_eq!((entries, order), (TemplateCache::MAX_ENTRIES, TemplateCache::MAX_ENTRIES), "{bytes}");
        // Large renders: the text held stays under its bound, the largest are not kept at all.
        for i in 0..40 {
            check(format!("{i}-{}", "x".repeat(200 << 10)));
        }
        let (entries, _, bytes) = held(&cache.lock().unwrap());
        assert!(bytes <= TemplateCache::MAX_BYTES && entries < TemplateCache::MAX_ENTRIES, "{entries} {bytes}");
        check("y".repeat(TemplateCache::MAX_ENTRY_BYTES));
        assert!(!cache.lock().unwrap().validators.keys().any(|k| k.len() > TemplateCache::MAX_ENTRY_BYTES));
        // Still right after evictions.
        check("web-3".into());
    }

    #[test]
    fn a_template_that_breaks_on_an_object_is_an_error_not_a_failure() {
        let s = CompiledSchema::new(json!({"properties": {"owner": {"pattern": "^{{ .metadata.labels.team }}$"}}}))
            .unwrap();
        let ctx = |team: &'static str| move || json!({"metadata": {"labels": {"team": team}}});
        assert_eq!(s.validate(&json!({"owner": "shop"}), ctx("shop")), Ok(true));
        let err = s.validate(&json!({"owner": "x"}), ctx("shop(")).unwrap_err();
        assert!(err.contains("does not compile"), "{err}");
    }
}

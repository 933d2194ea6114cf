//! JSON-Schema rules: compiling a rule's schema once and validating objects against it.
//!
//! Schemas follow Polaris: draft-07 or 2019-09 (the default when `$schema`
//! is absent), plus Polaris's `resourceMinimum` / `resourceMaximum` keywords,
//! which compare Kubernetes quantities (`100m`, `1Gi`). A `schemaString` may
//! hold Go-template field references (`{{ .metadata.name }}`,
//! `{{ .Polaris.PodSpec.hostname }}`) that are filled from the object being
//! checked; control structures (`if`, `range`) are refused at load time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonschema::{Keyword, ValidationError, Validator};
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
        cache: Mutex<HashMap<String, Arc<Validator>>>,
    },
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
            inner: Inner::Template { text: text.to_string(), cache: Mutex::new(HashMap::new()) },
            source: Source::Text(text.to_string()),
        })
    }

    /// Whether `instance` validates. `context` is the template data (only used by templated schemas).
    pub fn is_valid(&self, instance: &Value, context: impl FnOnce() -> Value) -> bool {
        match &self.inner {
            Inner::Static(v) => v.is_valid(instance),
            Inner::Template { text, cache } => {
                let rendered = render_template(text, &context());
                let cached = cache.lock().ok().and_then(|c| c.get(&rendered).cloned());
                let validator = match cached {
                    Some(v) => v,
                    None => {
                        let Ok(v) = parse_schema_text(&rendered).and_then(|s| build(&s)) else {
                            // The text compiled at load time; a value from the cluster broke it.
                            tracing::warn!("templated schema did not compile for one object; treating it as failing");
                            return false;
                        };
                        let v = Arc::new(v);
                        if let Ok(mut c) = cache.lock() {
                            c.insert(rendered, v.clone());
                        }
                        v
                    }
                };
                validator.is_valid(instance)
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
    let mut options = jsonschema::options()
        .with_keyword("resourceMinimum", |_, v, _| quantity_keyword(v, Bound::Minimum))
        .with_keyword("resourceMaximum", |_, v, _| quantity_keyword(v, Bound::Maximum));
    if schema.get("$schema").is_none() {
        options = options.with_draft(jsonschema::Draft::Draft201909);
    }
    options.build(schema).map_err(|e| format!("invalid schema: {e} (at {})", pointer_or_root(e.schema_path().as_str())))
}

/// A keyword written with no value (`required:` in KubeEye v0.1's
/// hostPortSet) is absent, as Polaris's validator reads it. Values that are
/// data, not schemas (`const`, `enum`, `default`, `examples`), keep their nulls.
fn drop_null_keywords(schema: &mut Value) {
    const DATA: &[&str] = &["const", "enum", "default", "examples"];
    match schema {
        Value::Object(map) => {
            map.retain(|key, v| !v.is_null() || DATA.contains(&key.as_str()));
            for (key, v) in map.iter_mut() {
                if !DATA.contains(&key.as_str()) {
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
        CompiledSchema::new(schema).unwrap().is_valid(&instance, || Value::Null)
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
        assert!(s.is_valid(&json!({"name": "web"}), || ctx.clone()));
        assert!(!s.is_valid(&json!({"name": "api"}), || ctx.clone()));
        assert!(CompiledSchema::from_string("{{ if .x }}a{{ end }}").is_err());
        assert_eq!(render_template("a {{.x.y}} b", &json!({"x": {"y": 3}})), "a 3 b");
    }
}

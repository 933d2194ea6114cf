//! KubeEye v1 `InspectRule` files (`apiVersion: kubeeye.kubesphere.io/v1alpha2`,
//! `kind: InspectRule`), loaded as they are with `-f`.
//!
//! Each section of `spec` is a list of `{name, rule, desc, level}` items of
//! one kind of rule. [`SECTIONS`] says, per section, how its items become
//! rules here. Supporting a section is one loader function and its line in the table.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::host::HostKind;
use super::{CheckDef, RuleError, RuleFile};

/// The API group KubeEye v1 rule files use.
pub(super) const API_GROUP: &str = "kubeeye.kubesphere.io";

/// How one section of `spec` loads.
struct Section {
    /// The key under `spec`.
    key: &'static str,
    /// What its items become.
    load: Load,
}

/// What the items of a section become.
enum Load {
    /// Rules of their own, one per item (`name` is the id).
    Rules(LoadFn),
    /// A setting of built-in rules: each item's `level` is their severity.
    Enables(&'static [&'static str], &'static str),
}

type LoadFn = fn(&Context<'_>, &Item) -> Result<(String, Value), String>;

/// Every section KubeEye's `InspectRuleSpec` has, in its order.
const SECTIONS: &[Section] = &[
    Section { key: "prometheus", load: Load::Rules(prometheus) },
    Section { key: "opas", load: Load::Rules(opa) },
    Section { key: "sysctl", load: Load::Rules(sysctl) },
    Section { key: "systemd", load: Load::Rules(systemd) },
    Section { key: "fileChange", load: Load::Rules(file_change) },
    Section { key: "fileFilter", load: Load::Rules(file_filter) },
    Section { key: "customCommand", load: Load::Rules(custom_command) },
    Section { key: "nodeInfo", load: Load::Rules(node_info) },
    Section {
        key: "serviceConnect",
        load: Load::Enables(
            &["ServiceWithoutEndpoints", "ServiceNotAnswering"],
            "kubeeye decides from the API whether each Service has a ready endpoint, and connects to its ports \
             when inspection.serviceConnect.enabled is set, in every namespace inspected (-n narrows it)",
        ),
    },
];

/// Keys of `spec` that are settings of other sections, not rule lists.
const SETTINGS: &[&str] = &["prometheusEndpoint", "component"];

/// The fields every item of a section has (KubeEye's `RuleItemBases`), and what some add.
#[derive(Debug, Deserialize)]
struct Item {
    #[serde(default)]
    name: String,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    desc: Option<String>,
    #[serde(default)]
    level: Option<String>,
    /// Section-specific fields (`module`, `path`, `nodeName` …), read by the section's loader.
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// What a section's loader knows of the file.
struct Context<'a> {
    /// `spec.prometheusEndpoint`.
    prometheus_endpoint: Option<&'a str>,
}

/// Whether a parsed document is a KubeEye `InspectRule`.
pub(super) fn is_inspect_rule(map: &Map<String, Value>) -> bool {
    let group = map.get("apiVersion").and_then(Value::as_str).and_then(|v| v.split_once('/')).map(|(g, _)| g);
    group == Some(API_GROUP) && map.get("kind").and_then(Value::as_str) == Some("InspectRule")
}

/// Translates an `InspectRule` into the rules it defines.
pub(super) fn parse(file: &str, map: Map<String, Value>) -> Result<RuleFile, RuleError> {
    let name =
        map.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str).unwrap_or("(unnamed)").to_string();
    let error = |problem: String| RuleError::File {
        file: file.to_string(),
        problem: format!("InspectRule `{name}`: {problem}"),
    };
    let spec = match map.get("spec") {
        Some(Value::Object(spec)) => spec,
        None | Some(Value::Null) => return Err(error("no `spec`: nothing to load".into())),
        Some(_) => return Err(error("`spec` must be a mapping".into())),
    };
    let prometheus_endpoint = match spec.get("prometheusEndpoint") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim()),
        Some(_) => return Err(error("spec.prometheusEndpoint must be a URL string".into())),
    };
    if let Some(url) = prometheus_endpoint {
        check_endpoint(url).map_err(|e| error(format!("spec.prometheusEndpoint: {e}")))?;
    }
    let ctx = Context { prometheus_endpoint };
    let mut parsed = RuleFile::default();
    for key in spec.keys() {
        if !SETTINGS.contains(&key.as_str()) && !SECTIONS.iter().any(|s| s.key == key) {
            let known: Vec<&str> = SECTIONS.iter().map(|s| s.key).chain(SETTINGS.iter().copied()).collect();
            return Err(error(format!("unknown section `spec.{key}` (KubeEye's sections are {})", known.join(", "))));
        }
    }
    for section in SECTIONS {
        let Some(items) = spec.get(section.key) else { continue };
        let items: Vec<Item> = serde_json::from_value(items.clone()).map_err(|e| {
            error(format!("spec.{}: {e} (expected a list of {{name, rule, desc, level}})", section.key))
        })?;
        let load = match section.load {
            Load::Rules(load) => load,
            Load::Enables(enabled, how) => {
                for item in &items {
                    let severity =
                        severity_of(item.level.as_deref()).map_err(|e| error(format!("spec.{}: {e}", section.key)))?;
                    for rule in enabled.iter() {
                        parsed.checks.insert(rule.to_string(), Value::String(severity.into()));
                    }
                    if let Some(scope) = item.rest.keys().next() {
                        tracing::warn!(
                            "{file}: InspectRule `{name}`: spec.{} `{scope}` is not applied: {how}",
                            section.key
                        );
                    }
                }
                continue;
            }
        };
        for (i, item) in items.iter().enumerate() {
            let at = |problem: String| RuleError::Rule {
                file: file.to_string(),
                rule: if item.name.is_empty() { format!("spec.{}[{i}]", section.key) } else { item.name.clone() },
                problem,
            };
            if item.name.is_empty() {
                return Err(at("no `name`".into()));
            }
            let (id, mut def) = load(&ctx, item).map_err(at)?;
            let severity = severity_of(item.level.as_deref()).map_err(at)?;
            if let Value::Object(def) = &mut def {
                def.insert("severity".into(), Value::String(severity.into()));
            }
            let def: CheckDef = serde_json::from_value(def).map_err(|e| at(e.to_string()))?;
            if parsed.custom_checks.insert(id.clone(), def).is_some() {
                return Err(at(format!("two rules named `{id}` in one file")));
            }
        }
    }
    Ok(parsed)
}

/// KubeEye's `level`: danger, warning or ignore; warning when absent.
fn severity_of(level: Option<&str>) -> Result<&'static str, String> {
    match level.map(str::trim) {
        None | Some("") | Some("warning") => Ok("warning"),
        Some("danger") => Ok("danger"),
        Some("info") => Ok("info"),
        Some("ignore") => Ok("ignore"),
        Some(other) => Err(format!("level `{other}` is not one of danger, warning, info, ignore")),
    }
}

/// A Prometheus URL: http or https with a host.
pub(super) fn check_endpoint(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{url}` is not an http(s) URL with a host"));
    }
    Ok(())
}

/// `spec.prometheus[]`: `rule` is the PromQL query, `desc` the message.
fn prometheus(ctx: &Context<'_>, item: &Item) -> Result<(String, Value), String> {
    if let Some(key) = item.rest.keys().next() {
        return Err(format!("unknown field `{key}` (a Prometheus rule has name, rule, desc and level)"));
    }
    let query = item.rule.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let Some(query) = query else { return Err("no `rule` (the PromQL query)".into()) };
    let desc = item.desc.clone().filter(|d| !d.trim().is_empty()).unwrap_or_else(|| item.name.clone());
    let mut def = BTreeMap::from([
        ("target", Value::from("Prometheus")),
        ("category", Value::from("Prometheus")),
        ("query", Value::from(query)),
        ("promptMessage", Value::from(escape_braces(&desc))),
        ("description", Value::from(desc)),
    ]);
    if let Some(url) = ctx.prometheus_endpoint {
        def.insert("endpoint", Value::from(url));
    }
    let def: Map<String, Value> = def.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    Ok((item.name.clone(), Value::Object(def)))
}

/// `spec.opas[]`: `rule` is a Rego module; `module` (its package's group) is informational.
/// Each message's `Level` sets its finding's severity; `level` here, the rule's.
fn opa(_: &Context<'_>, item: &Item) -> Result<(String, Value), String> {
    if let Some(key) = item.rest.keys().find(|k| *k != "module") {
        return Err(format!("unknown field `{key}` (a Rego rule has name, module, rule, desc and level)"));
    }
    let module = item.rule.as_deref().filter(|m| !m.trim().is_empty());
    let Some(module) = module else { return Err("no `rule` (the Rego module)".into()) };
    let mut def = Map::new();
    def.insert("target".into(), Value::from("Rego"));
    def.insert("category".into(), Value::from("Rego"));
    def.insert("rego".into(), Value::from(module));
    if let Some(desc) = item.desc.as_deref().filter(|d| !d.trim().is_empty()) {
        def.insert("description".into(), Value::from(desc));
    }
    let def = Value::Object(def);
    Ok((item.name.clone(), def))
}

/// The fields a host section's items may carry besides name, rule, desc and level.
fn host(kind: HostKind, item: &Item, allowed: &[&str]) -> Result<(String, Value), String> {
    let mut common = vec!["nodeName", "nodeSelector"];
    common.extend_from_slice(allowed);
    if let Some(key) = item.rest.keys().find(|k| !common.contains(&k.as_str())) {
        return Err(format!(
            "unknown field `{key}` (a {kind} rule has name, rule, desc, level, {})",
            common.join(", ")
        ));
    }
    let mut def = Map::new();
    def.insert("target".into(), Value::from("Host"));
    def.insert("category".into(), Value::from("Host"));
    def.insert("host".into(), Value::from(kind.name()));
    if let Some(rule) = item.rule.as_deref().filter(|r| !r.trim().is_empty()) {
        def.insert("rule".into(), Value::from(rule));
    }
    for (key, value) in &item.rest {
        def.insert(key.clone(), value.clone());
    }
    if let Some(desc) = item.desc.as_deref().filter(|d| !d.trim().is_empty()) {
        def.insert("promptMessage".into(), Value::from(escape_braces(desc)));
        def.insert("description".into(), Value::from(desc));
    }
    Ok((item.name.clone(), Value::Object(def)))
}

/// `spec.sysctl[]`: `rule` compares kernel parameters (`net.ipv4.ip_forward = 1`).
fn sysctl(_: &Context<'_>, item: &Item) -> Result<(String, Value), String> {
    host(HostKind::Sysctl, item, &[])
}

/// `spec.systemd[]`: `rule` compares units' states (`kubelet == "active"`).
fn systemd(_: &Context<'_>, item: &Item) -> Result<(String, Value), String> {
    host(HostKind::Systemd, item, &[])
}

/// `spec.fileChange[]`: `path`, compared with the previous run.
fn file_change(_: &Context<'_>, item: &Item) -> Result<(String, Value), String> {
    host(HostKind::FileChange, item, &["path"])
}

/// `spec.fileFilter[]`: `path` and `rule`, the regular expression of a problem line.
fn file_filter(_: &Context<'_>, item: &Item) -> Result<(String, Value), String> {
    host(HostKind::FileFilter, item, &["path"])
}

/// `spec.customCommand[]`: `command`, and `rule` on its `output` or `exitCode`.
fn custom_command(_: &Context<'_>, item: &Item) -> Result<(String, Value), String> {
    host(HostKind::CustomCommand, item, &["command"])
}

/// `spec.nodeInfo[]`: `rule` on the node's figures (`cpu > 80` is a problem), `resourcesType`, `mount`.
fn node_info(_: &Context<'_>, item: &Item) -> Result<(String, Value), String> {
    host(HostKind::NodeInfo, item, &["resourcesType", "mount"])
}

/// KubeEye's `desc` is plain text: braces in it are not placeholders.
fn escape_braces(text: &str) -> String {
    text.replace("{{", "{ {").replace("}}", "} }")
}

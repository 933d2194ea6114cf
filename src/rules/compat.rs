//! Rule files of other releases: Polaris config files from 0.x to today and
//! KubeEye v0.1's one-check files (`checks/*.yaml`). What they name
//! differently is translated here with a note; what kubeeye does not
//! implement is ignored with a note, never silently and never as an error
//! that stops a file from loading.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{CheckDef, RuleError, RuleFile};

/// Check ids Polaris used before renaming them, and the id they configure
/// here (ruff keeps renamed codes working the same way, `rule_redirects.rs`).
/// Loaded as aliases of the rule; a rule file using one gets a note.
pub(super) const REDIRECTS: &[(&str, &str)] = &[
    // Polaris 0.x–1.x spelling.
    ("notReadOnlyRootFileSystem", "notReadOnlyRootFilesystem"),
    // Polaris 0.x's `security.RunAsPrivileged`.
    ("RunAsPrivileged", "runAsPrivileged"),
    // Polaris before 5.
    ("multipleReplicasForDeployment", "deploymentMissingReplicas"),
    // Renamed in Polaris 4.0.
    ("pdbDisruptionsAllowedGreaterThanZero", "pdbDisruptionsIsZero"),
    // Renamed in Polaris 8.5.
    ("metadataAndNameMismatched", "metadataAndInstanceMismatched"),
    // Polaris's documentation named it so.
    ("pdbMinAvailableGreaterThanOrEqualToHPAMinReplicas", "pdbMinAvailableGreaterThanHPAMinReplicas"),
];

/// Polaris checks kubeeye does not implement: a config file may set them;
/// they are ignored with a note.
pub(super) const NOT_IMPLEMENTED: &[&str] = &[
    "hostAliasSet",
    "pdbMinAvailableEqualToHPAMinReplicas",
    "pdbMinAvailableGreaterThanHPAMaxReplicas",
    "gatewayAllowedRoutesAll",
    "gatewayCrossNamespaceCertificateRef",
    "gatewayInsecureFrontendValidation",
    "gatewayTLSMissing",
    "httpRouteBackendTLSMissing",
    "httpRouteCrossNamespaceBackendRef",
    "httpRouteInsecureListener",
    "httpRouteWildcardOrEmptyHost",
    "kgatewayBackendTLSVerificationDisabled",
];

/// The id a renamed check id stands for.
pub(super) fn redirect(id: &str) -> Option<&'static str> {
    REDIRECTS.iter().find(|(old, _)| *old == id).map(|(_, new)| *new)
}

/// The sections of Polaris 0.x config files, before `checks:`.
const POLARIS_0X_SECTIONS: &[&str] = &["resources", "healthChecks", "images", "networking", "security"];

/// Reads a rule file in whichever format it is: a KubeEye v0.1 check file
/// (one check, its id the file name), or a KubeEye / Polaris config file of
/// any release, translated to the current form.
pub(super) fn parse(file: &str, text: &str) -> Result<RuleFile, RuleError> {
    let error = |problem: String| RuleError::File { file: file.to_string(), problem };
    if let Some(documents) = several_documents(file, text)? {
        return inspect_rules(file, documents);
    }
    let value: Value = serde_norway::from_str(text).map_err(|e| error(e.to_string()))?;
    let Value::Object(mut map) = value else {
        return Err(error(match value {
            Value::Null => "the file is empty".into(),
            _ => "a rule file is a mapping (checks, customChecks, exemptions …)".into(),
        }));
    };
    if super::inspect_rule::is_inspect_rule(&map) {
        return super::inspect_rule::parse(file, map);
    }
    if let Some(kind) = kubeeye_v1_kind(&map) {
        return Err(error(format!(
            "a KubeEye `{kind}` is not a rule file (rule files here are InspectRule, KubeEye/Polaris config files and .rego modules)"
        )));
    }
    if map.contains_key("target") && !map.contains_key("checks") && !map.contains_key("customChecks") {
        return kubeeye_v01_check(file, Value::Object(map));
    }
    let keys = map.len();
    let mut legacy_checks = BTreeMap::new();
    for section in POLARIS_0X_SECTIONS {
        if let Some(settings) = map.remove(*section) {
            polaris_0x_section(file, section, &settings, &mut legacy_checks);
        }
    }
    for key in ["controllersToScan", "controllers_to_scan"] {
        if map.remove(key).is_some() {
            tracing::warn!("{file}: `{key}` (older Polaris) is ignored: every controller kind is inspected");
        }
    }
    for key in ["displayName", "kubeContext", "namespace"] {
        if map.remove(key).is_some() {
            tracing::warn!(
                "{file}: Polaris's `{key}` is ignored here; kubeeye takes the cluster name, context and namespaces from \
                 --cluster-name, --context and -n"
            );
        }
    }
    let translated = !legacy_checks.is_empty() || map.len() != keys;
    // Deserialised from the text when nothing was translated, so errors keep their line numbers.
    let mut parsed: RuleFile = if translated {
        serde_json::from_value(Value::Object(map)).map_err(|e| error(e.to_string()))?
    } else {
        serde_norway::from_str(text).map_err(|e| error(e.to_string()))?
    };
    for (id, setting) in legacy_checks {
        parsed.checks.entry(id).or_insert(setting);
    }
    for (id, def) in &mut parsed.custom_checks {
        if let Some(text) = def.json_schema.take() {
            // Polaris before 4.0 called `schemaString` `jsonSchema`.
            if def.schema_string.is_some() {
                return Err(RuleError::Rule {
                    file: file.into(),
                    rule: id.clone(),
                    problem: "set either `jsonSchema` (Polaris before 4.0) or `schemaString`, not both".into(),
                });
            }
            def.schema_string = Some(text);
        }
    }
    Ok(parsed)
}

/// The kind of a KubeEye v1 object other than an `InspectRule` (an `InspectPlan`, an `InspectResult` …).
fn kubeeye_v1_kind(map: &serde_json::Map<String, Value>) -> Option<&str> {
    let version = map.get("apiVersion")?.as_str()?;
    let (group, _) = version.split_once('/')?;
    (group == super::inspect_rule::API_GROUP).then(|| map.get("kind").and_then(Value::as_str).unwrap_or("object"))
}

/// One section of a Polaris 0.x config (`security: {runAsPrivileged: error …}`):
/// severities become `checks:` entries; range, list and capability settings
/// have no equivalent here and are ignored with a note.
fn polaris_0x_section(file: &str, section: &str, settings: &Value, checks: &mut BTreeMap<String, Value>) {
    let Some(map) = settings.as_object() else { return };
    for (key, value) in map {
        match value {
            Value::String(_) => {
                checks.insert(key.clone(), value.clone());
            }
            _ => {
                let instead = match section {
                    "resources" => "bound resources with a custom check (see `ke rules explain resourceRange`)",
                    "images" => "list allowed registries under `allowedRegistries:` (PodSetImageRegistry)",
                    "security" => "dangerousCapabilities and insecureCapabilities judge capabilities",
                    _ => "write a custom check for it",
                };
                tracing::warn!("{file}: `{section}.{key}` (Polaris 0.x) has no equivalent and is ignored; {instead}");
            }
        }
    }
}

/// A KubeEye v0.1 check file: one check, named by the file, whose schema
/// describes a compliant object (its `promptMessage` is the failure message)
/// and whose `target: Pod` is the pod spec.
fn kubeeye_v01_check(file: &str, value: Value) -> Result<RuleFile, RuleError> {
    let id = Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
    let mut def: CheckDef = serde_json::from_value(value).map_err(|e| RuleError::Rule {
        file: file.into(),
        rule: id.clone(),
        problem: format!("not a KubeEye v0.1 check file: {e}"),
    })?;
    if def.target == "Pod" {
        def.target = "PodSpec".into();
    }
    if def.failure_message.is_none() {
        def.failure_message = def.prompt_message.take();
    }
    def.prompt_message = None;
    Ok(RuleFile { custom_checks: BTreeMap::from([(id, def)]), kubeeye_v01: true, ..RuleFile::default() })
}

/// The rule files of `path`: the file itself, or the `*.yaml` / `*.yml` and
/// `*.rego` files of a directory (KubeEye v0.1's `checks/`, a directory of
/// KubeEye's Rego rules), sorted.
pub(super) fn files_of(path: &Path) -> Result<Vec<std::path::PathBuf>, RuleError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let unreadable = |e: std::io::Error| RuleError::File {
        file: path.display().to_string(),
        problem: format!("cannot read rule directory: {e}"),
    };
    let mut files: Vec<_> = std::fs::read_dir(path)
        .map_err(unreadable)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "rego"))
        .collect();
    files.sort();
    Ok(files)
}

/// A KubeEye `.rego` file: one Rego rule, named by the file, on by default
/// (KubeEye ran every module it was given) at its messages' `Level`.
pub(super) fn rego_file(file: &str, text: &str) -> RuleFile {
    let id = Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
    let def = rego_check(text.to_string(), None);
    RuleFile { custom_checks: BTreeMap::from([(id, def)]), ..RuleFile::default() }
}

/// The rule of one Rego module.
pub(super) fn rego_check(module: String, description: Option<String>) -> CheckDef {
    let def = serde_json::json!({
        "target": "Rego",
        "category": "Rego",
        "severity": "warning",
        "rego": module,
        "description": description,
    });
    serde_json::from_value(def).expect("a well-formed Rego rule definition")
}

/// The documents of a file of several (`---` between them), empty ones left
/// out; `None` for a file of one. A document that does not parse is an error
/// naming its number.
fn several_documents(file: &str, text: &str) -> Result<Option<Vec<(usize, Value)>>, RuleError> {
    use serde::Deserialize as _;
    let mut documents = Vec::new();
    for (i, document) in serde_norway::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(document)
            .map_err(|e| RuleError::File { file: file.to_string(), problem: format!("document {}: {e}", i + 1) })?;
        if !value.is_null() {
            documents.push((i + 1, value));
        }
    }
    Ok((documents.len() > 1).then_some(documents))
}

/// A file of several documents, as KubeEye users keep their `InspectRule`s:
/// each must be one, and their rules are loaded together. Errors name the
/// document (`rules.yaml: document 2: InspectRule `x`: …`).
fn inspect_rules(file: &str, documents: Vec<(usize, Value)>) -> Result<RuleFile, RuleError> {
    let mut merged = RuleFile::default();
    let mut defined_in: BTreeMap<String, usize> = BTreeMap::new();
    for (n, value) in documents {
        let at = format!("{file}: document {n}");
        let map = match value {
            Value::Object(map) if super::inspect_rule::is_inspect_rule(&map) => map,
            _ => {
                return Err(RuleError::File {
                    file: file.to_string(),
                    problem: format!(
                        "document {n} is not a KubeEye InspectRule (apiVersion: kubeeye.kubesphere.io/v1alpha2); \
                         a file of several documents holds InspectRules only"
                    ),
                });
            }
        };
        // The document number goes where the file name is, so every error names both.
        let parsed = super::inspect_rule::parse(&at, map).map_err(|e| match e {
            RuleError::File { problem, .. } => {
                RuleError::File { file: file.to_string(), problem: format!("document {n}: {problem}") }
            }
            RuleError::Rule { rule, problem, .. } => {
                RuleError::Rule { file: file.to_string(), rule, problem: format!("document {n}: {problem}") }
            }
        })?;
        for (id, def) in parsed.custom_checks {
            if let Some(first) = defined_in.insert(id.clone(), n) {
                return Err(RuleError::Rule {
                    file: file.to_string(),
                    rule: id,
                    problem: format!("document {n}: already defined in document {first}"),
                });
            }
            merged.custom_checks.insert(id, def);
        }
        merged.checks.extend(parsed.checks);
    }
    Ok(merged)
}

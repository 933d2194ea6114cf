//! Rego rules, as KubeEye v0.3 and later wrote them: a module (a `.rego`
//! file, or `spec.opas[].rule` of an `InspectRule`) whose `deny[msg]` rule
//! is evaluated with `{"Object": <a Kubernetes object>}` as input and yields
//! objects `{Name, Namespace, Type, Level, Message}`. Modules are compiled
//! here, once, with `regorus` (no OPA binary, no network); a module that
//! does not compile names the file and the line.

use std::collections::BTreeSet;
use std::fmt;

/// The longest a module may be.
const MAX_MODULE_BYTES: usize = 1 << 20;

/// A compiled module and the query that reads its `deny` set.
#[derive(Clone)]
pub struct RegoModule {
    engine: regorus::Engine,
    /// `data.<package>.deny`.
    pub query: String,
    /// The module reports several kinds of message (several `"Message"`
    /// literals): KubeEye then reported each `Message` as its own rule.
    pub ids_from_message: bool,
}

impl fmt::Debug for RegoModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegoModule")
            .field("query", &self.query)
            .field("ids_from_message", &self.ids_from_message)
            .finish_non_exhaustive()
    }
}

impl RegoModule {
    /// Compiles a module in KubeEye's dialect (Rego v0: `deny[msg] { … }`, no `if`).
    /// `file` names the module in errors (`file:line:column`).
    pub fn compile(file: &str, text: &str) -> Result<Self, String> {
        if text.len() > MAX_MODULE_BYTES {
            return Err(format!("the module is larger than {MAX_MODULE_BYTES} bytes"));
        }
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(true);
        engine.set_strict_builtin_errors(false);
        let package = engine.add_policy(file.to_string(), text.to_string()).map_err(|e| clean(&e.to_string()))?;
        let defines_deny = engine.has_declared_rule_rooted_at(file, "deny").map_err(|e| clean(&e.to_string()))?;
        if !defines_deny {
            return Err(format!(
                "{file}: `{package}` defines no `deny` rule (KubeEye's modules report with `deny[msg] {{ … }}`)"
            ));
        }
        let query = format!("{package}.deny");
        // Evaluated once on an empty object, so errors every object would hit are found now.
        engine.set_input(regorus::Value::from(serde_json::json!({"Object": {}})));
        engine.eval_rule(query.clone()).map_err(|e| clean(&e.to_string()))?;
        Ok(RegoModule { engine, query, ids_from_message: message_literals(text) > 1 })
    }

    /// An engine of its own, for one evaluator (engines are not shared while evaluating).
    pub fn engine(&self) -> regorus::Engine {
        self.engine.clone()
    }
}

/// regorus's message on one line: `file:line:column: what`, without the
/// source excerpt it draws under the location.
pub fn clean(message: &str) -> String {
    let message = message.trim();
    let location = message.lines().find_map(|l| l.trim().strip_prefix("--> ")).map(str::trim);
    let what = message.lines().rev().find_map(|l| l.trim().strip_prefix("error: ")).map(str::trim);
    match (location, what) {
        (Some(at), Some(what)) => format!("{at}: {what}"),
        _ => message.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" "),
    }
}

/// How many different `"Message": "literal"` values a module writes.
fn message_literals(text: &str) -> usize {
    let mut seen = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("\"Message\"") {
        rest = &rest[at + "\"Message\"".len()..];
        let after = rest.trim_start();
        let Some(after) = after.strip_prefix(':') else { continue };
        let after = after.trim_start();
        if let Some(literal) = after.strip_prefix('"') {
            if let Some(end) = literal.find('"') {
                seen.insert(literal[..end].to_string());
            }
        } else {
            // A computed message: its own kind.
            seen.insert(after.split([',', '\n', '}']).next().unwrap_or_default().trim().to_string());
        }
    }
    seen.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVILEGED: &str = r#"package kubeeye_workloads_rego

deny[msg] {
    resource := input
    type := resource.Object.kind
    type == "Pod"
    resource.Object.spec.containers[_].securityContext.privileged == true
    msg := {
        "Name": resource.Object.metadata.name,
        "Namespace": resource.Object.metadata.namespace,
        "Type": type,
        "Level": "danger",
        "Message": "PrivilegedAllowed"
    }
}
"#;

    #[test]
    fn kubeeye_modules_compile_once_and_name_their_query() {
        let m = RegoModule::compile("privileged.rego", PRIVILEGED).expect("compiles");
        assert_eq!(m.query, "data.kubeeye_workloads_rego.deny");
        assert!(!m.ids_from_message);
        let two = PRIVILEGED
            .replace("deny[msg] {", "deny[msg] {\n    false\n    msg := {\"Message\": \"Other\"}\n}\n\ndeny[msg] {");
        assert!(RegoModule::compile("two.rego", &two).expect("compiles").ids_from_message);
    }

    #[test]
    fn a_broken_module_names_the_file_and_line() {
        let broken = "package p\n\ndeny[msg] {\n    msg := {\"Message\": \n}\n";
        let e = RegoModule::compile("rules/broken.rego", broken).expect_err("does not compile");
        assert_eq!(e, "rules/broken.rego:3:11: expecting }");
        let no_deny = RegoModule::compile("a.rego", "package p\n\nallow { true }\n").expect_err("no deny");
        assert!(no_deny.contains("defines no `deny` rule"), "{no_deny}");
    }
}

//! What `ke snapshot` masks before it writes a bundle that people pass
//! around: literal environment values, ConfigMap data, the manifest kubectl
//! keeps in `last-applied-configuration`, and the secret-looking parts of
//! container args and commands, annotations, event messages and log tails.
//!
//! A masked value becomes [`REDACTED`], or a [`redacted_credential`] marker
//! naming its shape when it was shaped like a credential, which the checks still read as one: the bundle
//! gives the same findings as the cluster it was taken from. Names, images,
//! flags and log lines stay, so schema, pattern and log rules still match.

use serde_json::Value;

use crate::text::secrets;
use crate::text::{REDACTED, redacted_credential};

/// How values are recognised as credentials. Collection does not judge, so
/// the caller hands in the checks' own test.
#[derive(Debug, Clone, Copy)]
pub struct Redaction {
    /// What credential a value is shaped like (`a private key`, `a GitHub
    /// token`, `a password assignment (password=…)`), if any.
    pub credential: fn(&str) -> Option<String>,
}

/// The annotation in which `kubectl apply` keeps the whole previous manifest, values included.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

impl Redaction {
    /// Masks one object in place.
    pub fn object(&self, object: &mut Value) {
        match object.get("kind").and_then(Value::as_str) {
            Some("ConfigMap") => {
                if let Some(data) = object.get_mut("data").and_then(Value::as_object_mut) {
                    data.values_mut().for_each(|v| self.mask(v));
                }
                if let Some(binary) = object.get_mut("binaryData").and_then(Value::as_object_mut) {
                    binary.values_mut().for_each(|v| *v = Value::String(String::new()));
                }
            }
            Some("Event") => {
                if let Some(Value::String(message)) = object.get_mut("message") {
                    *message = secrets::mask(message);
                }
            }
            _ => {}
        }
        self.walk(object);
    }

    /// Masks the secret-looking parts of a log tail.
    pub fn log(&self, text: &str) -> String {
        secrets::mask(text)
    }

    /// Container fields wherever they are (pods, every controller's template,
    /// custom resources that embed one), and annotations at every level.
    fn walk(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    match (key.as_str(), child) {
                        ("env", Value::Array(vars)) => {
                            for var in vars.iter_mut() {
                                if let Some(v) = var.get_mut("value") {
                                    self.mask(v);
                                }
                            }
                        }
                        ("args" | "command", Value::Array(words)) => {
                            for word in words.iter_mut() {
                                if let Value::String(w) = word {
                                    *w = self.words(w);
                                }
                            }
                        }
                        ("annotations", Value::Object(annotations)) => {
                            for (name, v) in annotations.iter_mut() {
                                match v {
                                    Value::String(_) if name == LAST_APPLIED => *v = Value::String(REDACTED.into()),
                                    Value::String(text) => *text = self.words(text),
                                    _ => {}
                                }
                            }
                        }
                        (_, child) => self.walk(child),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.walk(item)),
            _ => {}
        }
    }

    /// A literal value: gone, leaving whether it was there and whether it looked like a credential.
    fn mask(&self, value: &mut Value) {
        if let Value::String(text) = value
            && !text.is_empty()
        {
            let marker =
                (self.credential)(text).map_or_else(|| REDACTED.to_string(), |shape| redacted_credential(&shape));
            *value = Value::String(marker);
        }
    }

    /// Text that carries meaning besides secrets (a flag, an annotation): its
    /// secret-looking parts masked, and as a whole when it still looks like a credential.
    fn words(&self, text: &str) -> String {
        let masked = secrets::mask_in_context(text);
        (self.credential)(&masked).map_or(masked, |shape| redacted_credential(&shape))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn redaction() -> Redaction {
        Redaction {
            credential: |v| {
                if v.contains("PRIVATE KEY") {
                    Some("a private key".into())
                } else {
                    v.contains("password=hunter").then(|| "a password".into())
                }
            },
        }
    }

    #[test]
    fn values_are_masked_and_structure_stays() {
        let mut deploy = json!({"kind": "Deployment", "metadata": {"name": "web", "annotations": {
                LAST_APPLIED: "{\"env\": [{\"value\": \"hunter2\"}]}", "kubeeye.io/exempt": "hostPathSet",
                "note": "url postgres://app:hunter2@db"}},
            "spec": {"template": {"metadata": {"annotations": {"x": "token=abcd1234"}}, "spec": {"containers": [{
                "name": "web", "image": "nginx:1.25",
                "args": ["--listen=:8080", "--db-password=hunter2"], "command": ["run", "-----BEGIN PRIVATE KEY-----"],
                "env": [{"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "TLS", "value": "-----BEGIN PRIVATE KEY-----\nMII"},
                        {"name": "EMPTY", "value": ""}, {"name": "FROM", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]}}}});
        redaction().object(&mut deploy);
        let text = deploy.to_string();
        assert!(!text.contains("hunter2") && !text.contains("abcd1234") && !text.contains("MII"), "{text}");
        let c = &deploy["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "nginx:1.25");
        assert_eq!(c["args"], json!(["--listen=:8080", "--db-password=***"]));
        assert_eq!(c["command"], json!(["run", "(a private key, redacted by ke snapshot)"]));
        let values: Vec<&Value> = c["env"].as_array().unwrap().iter().map(|e| &e["value"]).collect();
        assert_eq!(
            values,
            [&json!(REDACTED), &json!("(a private key, redacted by ke snapshot)"), &json!(""), &Value::Null]
        );
        assert_eq!(c["env"][3]["valueFrom"]["secretKeyRef"]["name"], "s");
        let annotations = &deploy["metadata"]["annotations"];
        assert_eq!(annotations[LAST_APPLIED], REDACTED);
        assert_eq!(annotations["kubeeye.io/exempt"], "hostPathSet", "exemptions still apply");
        assert_eq!(annotations["note"], "url postgres://app:***@db");
    }

    #[test]
    fn config_maps_events_and_logs() {
        let mut cm = json!({"kind": "ConfigMap", "data": {"a.conf": "x = 1", "app.properties": "db.password=hunter22", "e": ""},
            "binaryData": {"blob": "aHVudGVyMg=="}});
        redaction().object(&mut cm);
        assert_eq!(
            cm,
            json!({"kind": "ConfigMap", "data": {"a.conf": REDACTED, "app.properties": "(a password, redacted by ke snapshot)", "e": ""},
                "binaryData": {"blob": ""}})
        );
        let mut event = json!({"kind": "Event", "message": "login with password=hunter2 failed"});
        redaction().object(&mut event);
        assert_eq!(event["message"], "login with password=*** failed");
        assert_eq!(redaction().log("a\nGET /x?token=abcd1234 500\nb"), "a\nGET /x?token=*** 500\nb");
    }
}

//! Recognising secrets in plain sight: secret-looking names and values.
//! Only names, keys and what shape a value has ever leave this module;
//! values are never reported.
//!
//! Values are matched on secret *shapes* only (`text::secrets`, shared with
//! the masking of log samples and event messages): key material, the token
//! formats of the big providers, and an assignment such as
//! `db.password=hunter22` whose value is neither a placeholder nor a plain
//! word. Ordinary configuration that merely mentions a password
//! (`passwd:         compat` in an `nsswitch.conf`, `password_file=/run/…`)
//! is not a secret.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// Names that say they hold a secret.
static SENSITIVE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(passw(or)?d|passwd|secret|token|bearer|api_?key|access_?key|private_?key|secret_?key|credential",
        r"|auth_?key|client_?secret|dsn$|connection_?string|^azure_.+key$|^oci_cli_key_content$)"
    ))
    .expect("static regex")
});

/// Suffixes that name *where* a secret is, not the secret itself.
static NOT_A_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[_.-]?(file|path|dir|url|uri|endpoint|host|port|name|ttl|timeout|expiry|expiration|length|size|header|ref|enabled|type|id)$")
        .expect("static regex")
});

/// Whether an environment variable or key name says it holds a secret.
pub fn is_sensitive_name(name: &str) -> bool {
    SENSITIVE_NAME.is_match(name) && !NOT_A_VALUE.is_match(name)
}

/// Whether a value is shaped like a credential (key material, a cloud,
/// GitHub, GitLab, Slack or Stripe token, a JWT, `password=<non-trivial>`),
/// whatever its name, or is the marker a redacted `ke snapshot` left where
/// such a value was.
pub fn is_secret_value(value: &str) -> bool {
    secret_shape(value).is_some()
}

/// What a value holds that is shaped like a credential, if anything:
/// `a private key`, `a GitHub token`, `a password assignment (password=…)` …
pub fn secret_shape(value: &str) -> Option<String> {
    if let Some(shape) = crate::text::redacted_shape(value) {
        return Some(shape.to_string());
    }
    crate::text::secrets::shape(value)
}

/// The keys of a ConfigMap's `data` that look like a secret, each with why:
/// `DB_PASSWORD` (`named like a secret`), `signing.pem` (`holds a private key`).
pub fn configmap_keys(configmap: &Value) -> Vec<(String, String)> {
    let Some(data) = configmap.get("data").and_then(Value::as_object) else { return Vec::new() };
    data.iter()
        .filter_map(|(k, v)| {
            let value = v.as_str().unwrap_or_default();
            if let Some(shape) = secret_shape(value) {
                Some((k.clone(), format!("holds {shape}")))
            } else if is_sensitive_name(k) && !value.is_empty() {
                Some((k.clone(), "is named like a secret".to_string()))
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        for n in [
            "DB_PASSWORD",
            "api_key",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "client-secret",
            "SENTRY_DSN",
            "BEARER",
            "AZURE_STORAGE_KEY",
            "OCI_CLI_KEY_CONTENT",
        ] {
            assert!(is_sensitive_name(n), "{n}");
        }
        for n in ["PASSWORD_FILE", "TOKEN_URL", "SECRET_NAME", "LOG_LEVEL", "KEYCLOAK_HOST", "PATH"] {
            assert!(!is_sensitive_name(n), "{n}");
        }
    }

    #[test]
    fn configmap_values() {
        let cm = json!({"data": {
            "postgresql.conf": "max_connections = 100\n",
            "app.properties": "db.url=jdbc:x\ndb.password=hunter22\n",
            "tls.key": "-----BEGIN PRIVATE KEY-----\nMII...",
            "api_key": "AKIAFAKEEXAMPLE00000",
            "token_url": "https://auth.example.com/token"
        }});
        let mut keys = configmap_keys(&cm);
        keys.sort();
        assert_eq!(
            keys,
            [
                ("api_key".to_string(), "holds an AWS access key id".to_string()),
                ("app.properties".to_string(), "holds a password assignment (password=…)".to_string()),
                ("tls.key".to_string(), "holds a private key".to_string()),
            ]
        );
    }

    #[test]
    fn ordinary_configuration_is_not_a_secret() {
        let nsswitch =
            "passwd:         compat\ngroup:          compat\nshadow:         compat\nhosts:          files dns\n";
        for text in [
            nsswitch,
            "passwd: files systemd\n",
            "password_file=/run/secrets/db\n",
            "password=${DB_PASSWORD}\n",
            "password: {{ .Values.db.password }}\n",
            "spring.datasource.password=<changeme>\n",
            "auth:\n  password: required\n",
            "secret: my-app-secret\n",
            "token: abc\n",
            "tokenizer: whitespace\n",
            "bearer_token_file: /var/run/secrets/kubernetes.io/serviceaccount/token\n",
            "PasswordAuthentication no\n",
        ] {
            assert_eq!(secret_shape(text), None, "{text:?}");
        }
    }

    #[test]
    fn assignments_of_real_secrets() {
        for text in [
            "db.password=hunter22\n",
            "DB_PASSWORD: \"S3cr3t!\"\n",
            "{\"password\": \"correcthorsebatterystaple\"}",
            "client_secret = 8f2b1c9e4d7a6b3c0e5f\n",
            "api_key: sk9a8b7c6d5e4f3g2h1\n",
        ] {
            assert!(secret_shape(text).is_some(), "{text:?}");
        }
        assert!(is_secret_value("ghp_0123456789abcdefghijABCDEFGHIJ012345"));
        assert!(is_secret_value("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXBhcnQ"));
    }

    #[test]
    fn values() {
        assert!(is_secret_value("-----BEGIN RSA PRIVATE KEY-----\nMIIE..."));
        assert!(is_secret_value("-----BEGIN PRIVATE KEY-----\nMIIE..."));
        assert!(is_secret_value("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl..."));
        assert!(is_secret_value("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQdG..."));
        assert!(is_secret_value("---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: x"));
        assert!(is_secret_value("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none"));
        assert!(!is_secret_value("-----BEGIN CERTIFICATE-----\nMIIB..."), "a certificate is public");
        assert!(!is_secret_value("-----BEGIN PUBLIC KEY-----\nMIIB..."));
        assert!(is_secret_value("-Ddb.password=hunter22 -Xmx1g"));
        assert!(!is_secret_value("-Xmx1g -XX:+UseG1GC"));
    }
}

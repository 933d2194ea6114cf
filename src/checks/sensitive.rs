//! Recognising secrets in plain sight: secret-looking names and values.
//! Only names and keys ever leave this module; values are never reported.

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

/// Values shaped like credentials, whatever their key.
static SECRET_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        // Any PEM private key (PKCS#1/#8, EC, DSA, OpenSSH, encrypted), a PGP
        // secret key block, an SSH2 (RFC 4716) key, a PuTTY key file.
        r"-{4,5} ?BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)? ?-{4,5}",
        r"|PuTTY-User-Key-File-\d+:",
        r"|\b(AKIA|ASIA)[A-Z0-9]{16}\b",
        r"|\bgh[pousr]_[A-Za-z0-9]{36}\b",
        r"|\bxox[abpr]-[A-Za-z0-9-]{10,}",
        r"|(?i)\b(password|passwd|secret)\s*[=:]\s*\S{4,}",
    ))
    .expect("static regex")
});

/// Whether an environment variable or key name says it holds a secret.
pub fn is_sensitive_name(name: &str) -> bool {
    SENSITIVE_NAME.is_match(name) && !NOT_A_VALUE.is_match(name)
}

/// Whether a value is shaped like a credential (a private key, a cloud or
/// GitHub/Slack token, `password=…`), whatever its name, or is the marker a
/// redacted `ke snapshot` left where such a value was.
pub fn is_secret_value(value: &str) -> bool {
    SECRET_VALUE.is_match(value) || value.contains(crate::text::REDACTED_CREDENTIAL)
}

/// Keys of a ConfigMap's `data` whose name or value looks like a secret.
pub fn configmap_keys(configmap: &Value) -> Vec<String> {
    let Some(data) = configmap.get("data").and_then(Value::as_object) else { return Vec::new() };
    data.iter()
        .filter(|(k, v)| {
            let value = v.as_str().unwrap_or_default();
            (is_sensitive_name(k) && !value.is_empty()) || is_secret_value(value)
        })
        .map(|(k, _)| k.clone())
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
            "api_key": "AKIAFAKEEXAMPLEONLY000",
            "token_url": "https://auth.example.com/token"
        }});
        let mut keys = configmap_keys(&cm);
        keys.sort();
        assert_eq!(keys, ["api_key", "app.properties", "tls.key"]);
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

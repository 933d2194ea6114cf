//! The only ways cluster text reaches the page other than handlebars'
//! escaped `{{ }}`, each made safe for where it lands:
//!
//! - JSON inside `<script type="application/json">`: a script element ends at
//!   the first `</script` whatever the JSON says, and HTML escaping would be
//!   wrong there (entities are not decoded in script text). So `<`, `>` and
//!   `&` inside JSON strings become `\u003c`, `\u003e`, `\u0026`, and U+2028 /
//!   U+2029 become escapes too (they end a line in older JavaScript parsers).
//!   The result is still the same JSON value.
//! - Links: only absolute `http(s)` URLs become `href`s; everything else
//!   (`javascript:`, `data:`, relative paths) is shown as text.
//! - The Content-Security-Policy pins the page's own script and style by
//!   hash, so even an injected `<script>` or `onerror=` would not run.

use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Serialises `value` as JSON that can sit inside a `<script>` element.
pub(super) fn script_json<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let json = serde_json::to_string(value)?;
    let mut out = String::with_capacity(json.len() + json.len() / 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The URL when it is an absolute `http` or `https` URL with a host; `None` otherwise.
pub(super) fn http_link(text: &str) -> Option<String> {
    let url = url::Url::parse(text.trim()).ok()?;
    let web = matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty());
    web.then(|| url.to_string())
}

/// A CSP source expression (`'sha256-…'`) allowing exactly this inline script or style.
pub(super) fn csp_hash(content: &str) -> String {
    let digest = Sha256::digest(content.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// The page's Content-Security-Policy: no network at all, only the page's own
/// script and style (by hash), images only as `data:` URLs.
pub(super) fn content_security_policy(script: &str, style: &str) -> String {
    format!(
        "default-src 'none'; script-src {}; style-src {}; img-src data:; base-uri 'none'; form-action 'none'",
        csp_hash(script),
        csp_hash(style)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_script_and_round_trips() {
        let value = serde_json::json!(["</script><script>alert(1)</script>", "a & b", "line\u{2028}sep"]);
        let text = script_json(&value).expect("serialises");
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'), "{text}");
        assert!(!text.contains('\u{2028}'));
        let back: serde_json::Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(back, value);
    }

    #[test]
    fn only_web_urls_become_links() {
        assert_eq!(http_link("https://kubernetes.io/docs/"), Some("https://kubernetes.io/docs/".into()));
        assert!(http_link(" http://example.com/a?b=1 ").is_some());
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:x",
            "/relative/path",
            "//evil.example/x",
            "file:///etc/passwd",
            "http://",
        ] {
            assert_eq!(http_link(bad), None, "{bad}");
        }
    }

    #[test]
    fn csp_hash_matches_the_browser_format() {
        // sha256("") in base64, as browsers compute it for an empty inline script.
        assert_eq!(csp_hash(""), "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='");
    }
}

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

use std::io::Write;

use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Serialises `value` as JSON that can sit inside a `<script>` element.
pub(super) fn script_json<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::new();
    write_script_json(value, &mut out)?;
    String::from_utf8(out).map_err(|e| serde_json::Error::io(std::io::Error::other(e)))
}

/// Writes `value` as JSON that can sit inside a `<script>` element as it is
/// serialised: the text is never held whole.
pub(super) fn write_script_json<T: Serialize>(value: &T, out: &mut dyn Write) -> Result<(), serde_json::Error> {
    let mut safe = ScriptSafe { out, carry: Vec::new() };
    serde_json::to_writer(&mut safe, value)?;
    safe.finish().map_err(serde_json::Error::io)
}

/// Rewrites `<`, `>`, `&`, U+2028 and U+2029 as JSON escapes on the way
/// through. JSON text has them only inside strings, where the escape is the
/// same value.
struct ScriptSafe<'w> {
    out: &'w mut dyn Write,
    /// The start of a U+2028/U+2029 sequence (`E2`, `E2 80`) a write ended on.
    carry: Vec<u8>,
}

impl ScriptSafe<'_> {
    fn finish(mut self) -> std::io::Result<()> {
        let carry = std::mem::take(&mut self.carry);
        self.out.write_all(&carry)
    }
}

impl Write for ScriptSafe<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.extend_from_slice(buf);
        let (mut start, mut i) = (0, 0);
        while i < bytes.len() {
            let rest = &bytes[i..];
            let escape: Option<&[u8]> = match rest {
                [b'<', ..] => Some(br"\u003c"),
                [b'>', ..] => Some(br"\u003e"),
                [b'&', ..] => Some(br"\u0026"),
                [0xE2, 0x80, 0xA8, ..] => Some(br"\u2028"),
                [0xE2, 0x80, 0xA9, ..] => Some(br"\u2029"),
                [0xE2] | [0xE2, 0x80] => {
                    // Perhaps the start of U+2028 or U+2029: the next write says.
                    self.out.write_all(&bytes[start..i])?;
                    self.carry = rest.to_vec();
                    return Ok(buf.len());
                }
                _ => None,
            };
            match escape {
                Some(with) => {
                    self.out.write_all(&bytes[start..i])?;
                    self.out.write_all(with)?;
                    i += if rest[0] == 0xE2 { 3 } else { 1 };
                    start = i;
                }
                None => i += 1,
            }
        }
        self.out.write_all(&bytes[start..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
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
    fn script_json_escapes_the_same_when_written_a_byte_at_a_time() {
        let value =
            serde_json::json!(["</script>", "a & b", "x\u{2028}y\u{2029}z", "\u{20ac} \u{e2}\u{80}", "\u{2027}"]);
        let whole = script_json(&value).expect("serialises");
        let json = serde_json::to_vec(&value).expect("serialises");
        let mut out = Vec::new();
        let mut safe = ScriptSafe { out: &mut out, carry: Vec::new() };
        for byte in &json {
            safe.write_all(std::slice::from_ref(byte)).expect("writes");
        }
        safe.finish().expect("writes");
        assert_eq!(String::from_utf8(out).expect("UTF-8"), whole);
        assert!(
            whole.contains(r"x\u2028y\u2029z") && whole.contains('\u{20ac}') && whole.contains('\u{2027}'),
            "{whole}"
        );
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

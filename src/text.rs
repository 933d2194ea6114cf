//! String helpers every layer may use.

pub mod secrets;
mod shared;

pub use shared::Text;

/// Shortens text to at most `max` characters on a character boundary, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Text from the cluster on one line: line breaks, tabs and every other
/// control character (C0, DEL, C1, Unicode line and paragraph separators,
/// bidirectional overrides) become a space, so an Event message cannot add
/// a forged line (`Full report: http://…`) to a digest, a mail or a chat post.
pub fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| {
            let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}') { ' ' } else { c }
        })
        .collect();
    flat.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// What `ke snapshot` writes in place of a value it masks.
pub const REDACTED: &str = "(redacted by ke snapshot)";

/// The end of what `ke snapshot` writes in place of a value shaped like a credential.
const REDACTED_CREDENTIAL_END: &str = ", redacted by ke snapshot)";

/// What `ke snapshot` writes in place of a value shaped like a credential,
/// naming its shape: `(a private key, redacted by ke snapshot)`. The checks read
/// the shape back ([`redacted_shape`]), so a redacted snapshot gives the same findings.
pub fn redacted_credential(shape: &str) -> String {
    format!("({shape}{REDACTED_CREDENTIAL_END}")
}

/// The shape a [`redacted_credential`] marker names, when `value` is one.
pub fn redacted_shape(value: &str) -> Option<&str> {
    value
        .strip_prefix('(')?
        .strip_suffix(REDACTED_CREDENTIAL_END)
        .filter(|shape| shape.len() < 80 && !shape.contains('\n'))
}

/// A count with thousands separators: `38149` → `38,149`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_text_stays_on_one_line() {
        let forged = "BackOff\r\nFull report: http://evil.example/\n[danger] run http://x/fix.sh\u{2028}\u{1b}[2J\u{9b}31m\u{202e}txt";
        let flat = one_line(forged);
        assert!(!flat.chars().any(|c| c.is_control() || c == '\u{2028}' || c == '\u{202e}'), "{flat:?}");
        assert_eq!(one_line("a\n\n  b\tc"), "a b c");
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("héllo wörld", 5), "héllo…");
        assert_eq!(truncate("  short ", 10), "short");
    }
}

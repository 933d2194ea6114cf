//! Secret values by their shape: key material, the token formats of the big
//! providers, JWTs and `password=…` assignments. The checks name the shape a
//! value has (`checks::sensitive`); log samples and event messages have every
//! such value masked before they enter a report ([`mask`]). One list serves
//! both, so what the env and ConfigMap checks call a secret never shows up in
//! a log sample.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Values shaped like credentials whatever surrounds them, with what they are.
/// A private key's match runs to its `END` line (or the end of the text), so
/// masking it removes the key material, not only its header.
static SHAPES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // Any PEM private key (PKCS#1/#8, EC, DSA, OpenSSH, encrypted), a PGP
        // secret key block, an SSH2 (RFC 4716) key.
        (
            r"-{4,5} ?BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)? ?-{4,5}(?s:.*?(?:-{4,5} ?END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}|\z))",
            "a private key",
        ),
        (r"PuTTY-User-Key-File-\d+:(?s:.*)", "a private key"),
        (r"\b(AKIA|ASIA)[A-Z0-9]{16}\b", "an AWS access key id"),
        (r"\bgh[pousr]_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{60,}", "a GitHub token"),
        (r"\bglpat-[A-Za-z0-9_-]{20,}", "a GitLab token"),
        (r"\bxox[abposr]-[A-Za-z0-9-]{10,}", "a Slack token"),
        (r"\bAIza[0-9A-Za-z_-]{35}\b", "a Google API key"),
        (r"\b[rs]k_live_[0-9A-Za-z]{20,}", "a Stripe secret key"),
        (r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}", "a JSON Web Token"),
    ]
    .into_iter()
    .map(|(pattern, what)| (built_in(pattern), what))
    .collect()
});

/// `<name>=<value>` or `<name>: <value>` where the name ends in a secret word
/// (`spring.datasource.password`, `"client_secret":`); group 1 is the word,
/// group 2 the value (quotes and trailing separators left out).
static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    built_in(concat!(
        r#"(?i)(?:^|[^a-z0-9])(passwords?|passwd|pwd|passphrase|secret|client_?secret|secret_?(?:access_?)?key"#,
        r#"|api_?key|access_?token|auth_?token|token)["']?[ \t]*(?:=|:)[ \t]*["']?([^\s"'`,;]*)"#
    ))
});

/// The password of URL userinfo (`postgres://app:hunter2@db`); group 1 is what comes before it.
static URL_USERINFO: LazyLock<Regex> = LazyLock::new(|| built_in(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+):[^\s@/]+@"));

/// The credentials of an HTTP `Authorization` header (`Bearer …`, `Basic …`).
static AUTHORIZATION: LazyLock<Regex> = LazyLock::new(|| built_in(r"(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]{8,}"));

fn built_in(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("built-in pattern {pattern}: {e}"))
}

/// What a value holds that is shaped like a credential, if anything:
/// `a private key`, `a GitHub token`, `a password assignment (password=…)` …
pub fn shape(value: &str) -> Option<String> {
    if let Some((_, what)) = SHAPES.iter().find(|(re, _)| re.is_match(value)) {
        return Some((*what).to_string());
    }
    ASSIGNMENT.captures_iter(value).find_map(|c| {
        let word = c.get(1)?.as_str();
        let secret = c.get(2)?.as_str();
        let password = word.to_ascii_lowercase().starts_with("pass") || word.eq_ignore_ascii_case("pwd");
        let shaped = if password { is_password_like(secret) } else { is_token_like(secret) };
        shaped.then(|| format!("a {} assignment ({word}=…)", if password { "password" } else { "secret" }))
    })
}

/// Text from the cluster (a log line, an event message) with every secret
/// masked as `***`: each [`shape`], and all that [`mask_in_context`] masks.
pub fn mask(text: &str) -> String {
    let mut text = mask_in_context(text);
    for (re, _) in SHAPES.iter() {
        if re.is_match(&text) {
            text = re.replace_all(&text, "***").into_owned();
        }
    }
    text
}

/// Text with the secrets masked that are known by what surrounds them: the
/// password of URL userinfo (`postgres://app:***@db`), `Authorization`
/// credentials, and any value after a secret word (`password=***`,
/// `"token": "***"`; in evidence even a short value is masked). Bare tokens
/// and keys stay, for a caller that names their [`shape`].
pub fn mask_in_context(text: &str) -> String {
    let mut text = Cow::Borrowed(text);
    let mut replace = |re: &Regex, with: &dyn Fn(&Captures<'_>) -> String| {
        if re.is_match(&text) {
            text = Cow::Owned(re.replace_all(&text, |c: &Captures<'_>| with(c)).into_owned());
        }
    };
    replace(&URL_USERINFO, &|c| format!("{}:***@", &c[1]));
    replace(&AUTHORIZATION, &|c| format!("{} ***", &c[1]));
    replace(&ASSIGNMENT, &|c| match (c.get(0), c.get(2)) {
        (Some(whole), Some(value)) if !value.as_str().is_empty() => {
            let (start, end) = (value.start() - whole.start(), value.end() - whole.start());
            format!("{}***{}", &whole.as_str()[..start], &whole.as_str()[end..])
        }
        _ => c[0].to_string(),
    });
    text.into_owned()
}

/// A value that stands for itself, not for something else: not empty, not a
/// placeholder or template (`${DB_PASSWORD}`, `{{ .Values.x }}`, `<changeme>`,
/// `%(pw)s`), not a path or file reference.
fn is_literal(value: &str) -> bool {
    !value.is_empty()
        && !value.starts_with(['$', '{', '%', '<', '/', '@', '*', '(', '[', '.', '~'])
        && !value.contains("${")
        && !value.contains("{{")
}

/// A password: six characters or more, and not a plain lowercase word shorter
/// than twelve (`compat`, `files`, `required`, `changeme`: configuration
/// words and stand-ins, not credentials).
fn is_password_like(value: &str) -> bool {
    let plain_word = value.len() < 12 && value.bytes().all(|b| b.is_ascii_lowercase());
    is_literal(value) && value.chars().count() >= 6 && !plain_word
}

/// A token or key: sixteen characters or more mixing letters and digits, as
/// generated secrets are (names such as `my-app-secret` are references).
fn is_token_like(value: &str) -> bool {
    is_literal(value)
        && value.len() >= 16
        && value.bytes().any(|b| b.is_ascii_digit())
        && value.bytes().any(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GitHub token, a Slack token and a PEM private key, bare in a log line.
    pub(crate) const LOG_LINE: &str = "retrying with ghp_0123456789abcdefghijABCDEFGHIJ012345 and xoxb-123456789012-abcdefABCDEF key -----BEGIN RSA PRIVATE KEY----- MIIEowIBAAKCAQEAsecretkeymaterial -----END RSA PRIVATE KEY----- done";

    #[test]
    fn every_shape_the_checks_know_is_masked_in_a_log_line() {
        let masked = mask(LOG_LINE);
        for secret in ["ghp_0123", "xoxb-1234", "MIIEow", "secretkeymaterial", "PRIVATE KEY"] {
            assert!(!masked.contains(secret), "{secret} left in {masked}");
        }
        assert!(masked.starts_with("retrying with *** and *** key *** done"), "{masked}");
        let open = mask("key: -----BEGIN EC PRIVATE KEY----- MHcCAQEEIsecret");
        assert!(!open.contains("MHcCAQ"), "a key without its END line is masked to the end: {open}");
    }

    #[test]
    fn urls_headers_and_assignments_are_masked() {
        let line = "connect postgres://app:hunter2@db:5432/shop failed: password=hunter2 token: \"abc.def\" Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x key AKIAIOSFODNN7EXAMPLE";
        let red = mask(line);
        assert!(!red.contains("hunter2"), "{red}");
        assert!(
            !red.contains("abc.def") && !red.contains("eyJhbGci") && !red.contains("AKIAIOSFODNN7EXAMPLE"),
            "{red}"
        );
        assert!(red.contains("postgres://app:***@db:5432/shop"), "{red}");
        assert!(red.contains("password=***"), "{red}");
        assert_eq!(mask("open /data/x: no space left on device"), "open /data/x: no space left on device");
    }

    #[test]
    fn shapes_name_what_they_found() {
        assert_eq!(shape(LOG_LINE).as_deref(), Some("a private key"));
        assert_eq!(shape("xoxb-123456789012-abcdef").as_deref(), Some("a Slack token"));
        assert_eq!(shape("db.password=hunter22").as_deref(), Some("a password assignment (password=…)"));
        assert_eq!(shape("password=compat"), None);
    }
}

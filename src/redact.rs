//! Secrets from `${ENV}` and how they are kept out of every output.
//!
//! A secret leaves a process in more forms than its plain text: percent-encoded
//! in a URL, base64-encoded in `Authorization: Basic` (alone or as the
//! `user:pass` pair of two secrets), or as the credential of a header or URL
//! that a receiver echoes back. [`Secrets::redact`] blanks the first three
//! wherever text leaves the process; [`credentials`] blanks the last by its
//! shape in what receivers answer.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use regex::Regex;

/// What a credential is replaced with when no `${NAME}` reference fits.
pub const REDACTED: &str = "[redacted]";

/// Secrets paired as `user:pass` (URL user-info) are encoded pairwise; past
/// this many secrets the pairs would cost more than they could catch, and the
/// credential patterns still blank any `Basic` value.
const MAX_PAIRED: usize = 16;

/// The values substituted from the environment, by variable name.
///
/// Anything that may leave the process (messages, logs, stored rows, the page) goes
/// through [`Secrets::redact`], which puts the `${NAME}` reference back in place
/// of each value, in plain, percent-encoded (a token in a URL) and base64 form
/// (Basic auth). Text a receiver sent back also goes through [`credentials`].
#[derive(Clone, Default)]
pub struct Secrets {
    pairs: Vec<(String, String)>,
    style: Style,
}

/// How a blanked value is named in its place.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Style {
    /// `${NAME}`: a value from the environment.
    #[default]
    Env,
    /// `{{name}}`: a value a `flow` step captured from a response.
    Capture,
}

// Debug names the variables, never their values.
impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.pairs.iter().map(|(n, _)| n.as_str()).collect();
        names.dedup();
        f.debug_struct("Secrets").field("names", &names).finish()
    }
}

impl Secrets {
    /// Build from `(name, value)` pairs; empty values are ignored.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut pairs: Vec<(String, String)> =
            pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        let base64 = base64_forms(&pairs);
        let encoded: Vec<(String, String)> = pairs
            .iter()
            .filter_map(|(n, v)| {
                let e: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                let p = percent_encode_all(v);
                let mut out = Vec::new();
                if e != *v {
                    out.push((n.clone(), e));
                }
                if p != *v {
                    out.push((n.clone(), p));
                }
                if out.is_empty() { None } else { Some(out) }
            })
            .flatten()
            .collect();
        pairs.extend(encoded);
        pairs.extend(base64);
        // Longest first, so a secret that contains another is replaced whole.
        pairs.sort_by_key(|p| std::cmp::Reverse(p.1.len()));
        pairs.dedup();
        Secrets {
            pairs,
            style: Style::Env,
        }
    }

    /// Values a `flow` run captured, by capture name: blanked in the same
    /// forms as `${ENV}` secrets, and named `{{name}}` in their place.
    pub fn captured(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Secrets {
            style: Style::Capture,
            ..Secrets::new(pairs)
        }
    }

    /// True when no value came from the environment.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Replace every secret value in `text` (plain, percent-encoded, base64)
    /// by its `${NAME}` reference.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (name, value) in &self.pairs {
            if out.contains(value.as_str()) {
                let reference = match self.style {
                    Style::Env => format!("${{{name}}}"),
                    Style::Capture => format!("{{{{{name}}}}}"),
                };
                out = out.replace(value.as_str(), &reference);
            }
        }
        out
    }
}

/// The base64 forms a secret takes in `Authorization: Basic`: each value on its
/// own (a `user:pass` secret) and each `a:b` pair of two secrets (user-info
/// written `${USER}:${PASS}`), in the standard and URL-safe alphabets, padded
/// or not. Values shorter than four bytes are too common to blank.
fn base64_forms(pairs: &[(String, String)]) -> Vec<(String, String)> {
    let mut plain: Vec<(String, String)> = pairs
        .iter()
        .filter(|(_, v)| v.len() >= 4)
        .cloned()
        .collect();
    if pairs.len() <= MAX_PAIRED {
        for (user_name, user) in pairs {
            for (pass_name, pass) in pairs {
                plain.push((format!("{user_name}:{pass_name}"), format!("{user}:{pass}")));
            }
        }
    }
    let mut out = Vec::new();
    for (name, value) in plain {
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            out.push((name.clone(), engine.encode(value.as_bytes())));
        }
    }
    out
}

/// A header line that carries a credential, as a receiver echoes it.
static CREDENTIAL_HEADER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?im)\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token|x-outpost-signature)(["']?\s*[:=]\s*)[^\r\n]*"#,
    )
    .ok()
});
/// An authorization scheme and its credential, wherever it appears.
static SCHEME_CREDENTIAL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b(basic|bearer)(\s+)[A-Za-z0-9+/=._~-]{8,}").ok());
/// The user-info of a URL: `scheme://user:pass@`.
static URL_USERINFO: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@").ok());

/// `text` with every credential blanked by its shape, secret or not: header
/// lines such as `Authorization: …` and `Cookie: …`, `Basic` and `Bearer`
/// credentials, and URL user-info. Meant for text from a receiver: it would
/// also blank "Basic authentication" in prose, which is a fair price there.
pub fn credentials(text: &str) -> String {
    let mut out = text.to_string();
    if let Some(re) = CREDENTIAL_HEADER.as_ref() {
        out = re
            .replace_all(&out, format!("${{1}}${{2}}{REDACTED}"))
            .into_owned();
    }
    if let Some(re) = SCHEME_CREDENTIAL.as_ref() {
        out = re
            .replace_all(&out, format!("${{1}}${{2}}{REDACTED}"))
            .into_owned();
    }
    if let Some(re) = URL_USERINFO.as_ref() {
        out = re
            .replace_all(&out, format!("${{1}}{REDACTED}@"))
            .into_owned();
    }
    out
}

/// Percent-encode everything outside the URL-unreserved set, as `url` does for
/// user-info and path segments.
fn percent_encode_all(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_plain_and_encoded_values() {
        let s = Secrets::new([("TOKEN".to_string(), "a b/c".to_string())]);
        assert_eq!(s.redact("x a b/c y"), "x ${TOKEN} y");
        assert_eq!(s.redact("q=a+b%2Fc"), "q=${TOKEN}");
        assert_eq!(s.redact("p/a%20b%2Fc"), "p/${TOKEN}");
    }

    #[test]
    fn redacts_base64_of_a_value_and_of_a_user_pass_pair() {
        let s = Secrets::new([
            ("USER".to_string(), "alice-user".to_string()),
            ("PASS".to_string(), "s3cret/pass".to_string()),
        ]);
        let pair = STANDARD.encode("alice-user:s3cret/pass");
        let out = s.redact(&format!(
            "echo {pair} and {}",
            URL_SAFE_NO_PAD.encode("s3cret/pass")
        ));
        assert!(!out.contains(&pair), "{out}");
        assert_eq!(out, "echo ${USER:PASS} and ${PASS}");
    }

    #[test]
    fn credentials_are_blanked_by_shape() {
        assert_eq!(
            credentials("a\nAuthorization: Basic Zm9vOmJhcg==\nb"),
            "a\nAuthorization: [redacted]\nb"
        );
        assert_eq!(
            credentials(r#"{"authorization":"Bearer abc.def"}"#),
            r#"{"authorization":[redacted]"#
        );
        assert_eq!(
            credentials("got bearer tok_12345 back"),
            "got bearer [redacted] back"
        );
        assert_eq!(credentials("bearer token expired"), "bearer token expired");
        assert_eq!(
            credentials("GET https://bob:pw@example.com/x"),
            "GET https://[redacted]@example.com/x"
        );
        assert_eq!(
            credentials("expected status 2xx, got 401"),
            "expected status 2xx, got 401"
        );
    }

    #[test]
    fn empty_values_are_not_secrets() {
        let s = Secrets::new([("EMPTY".to_string(), String::new())]);
        assert!(s.is_empty());
        assert_eq!(s.redact("abc"), "abc");
    }
}

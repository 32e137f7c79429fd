//! Hiding where a private target lives (SPEC §7): hosts, IP addresses, ports,
//! URLs and resolvers inside messages are replaced by one neutral word on
//! every public output unless the probe has `public_target = true`. The full
//! message stays in the store, the JSON output and alerts, which are private.

use std::net::IpAddr;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What a hidden address reads as.
pub const HIDDEN: &str = "[hidden]";

/// `scheme://anything` up to whitespace or a closing quote or bracket.
static URL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>)\]]+"#).ok());
/// `[v6]` or `[v6]:port`.
static BRACKETED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\[[0-9A-Fa-f:.%A-Za-z]*:[0-9A-Fa-f:.%A-Za-z]*\](?::\d{1,5})?").ok()
});
/// Anything that might be a bare IPv6 address; checked by parsing it.
static V6: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"[0-9A-Fa-f]*:[0-9A-Fa-f:.]*[0-9A-Fa-f:]").ok());
/// `a.b.c.d` with an optional port.
static V4: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b").ok());
/// A dotted host name ending in a letters-only label, or `localhost`, with an
/// optional port.
static HOST: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}|localhost)\b\.?(?::\d{1,5}\b)?",
    )
    .ok()
});

/// `text` with every URL, host name, IP address and port replaced by [`HIDDEN`].
pub fn hide_addresses(text: &str) -> String {
    let mut out = text.to_string();
    for re in [&URL, &BRACKETED].into_iter().flat_map(|r| r.as_ref()) {
        out = re.replace_all(&out, HIDDEN).into_owned();
    }
    if let Some(re) = V6.as_ref() {
        out = re
            .replace_all(&out, |c: &Captures| {
                let m = &c[0];
                // "10:05:00" is a time, "::1" an address: only what parses goes.
                if m.trim_end_matches(['.', ':']).parse::<IpAddr>().is_ok() {
                    HIDDEN.to_string()
                } else {
                    m.to_string()
                }
            })
            .into_owned();
    }
    if let Some(re) = V4.as_ref() {
        out = re.replace_all(&out, HIDDEN).into_owned();
    }
    if let Some(re) = HOST.as_ref() {
        let text = out.clone();
        out = re
            .replace_all(&text, |c: &Captures| {
                let whole = c.get(0);
                let start = whole.map_or(0, |m| m.start());
                // `$.queue.depth` is a JSON path, `a.b` after a dot part of one.
                let before = text[..start].chars().next_back();
                if matches!(before, Some('$' | '.' | '[' | '_')) {
                    whole.map_or(String::new(), |m| m.as_str().to_string())
                } else {
                    HIDDEN.to_string()
                }
            })
            .into_owned();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_go_and_words_stay() {
        for (input, expected) in [
            (
                "no answer from resolver 127.0.0.1:9 within 1s",
                "no answer from resolver [hidden] within 1s",
            ),
            (
                "error sending request for url (http://10.0.0.7:8080/health?x=1)",
                "error sending request for url ([hidden])",
            ),
            (
                "connect to [::1]:443 refused",
                "connect to [hidden] refused",
            ),
            ("connect to fe80::1 refused", "connect to [hidden] refused"),
            (
                "dns: db.internal.example.com not found",
                "dns: [hidden] not found",
            ),
            (
                "tcp connect localhost:5432: refused",
                "tcp connect [hidden]: refused",
            ),
            (
                "status 503 after 1.5s at 10:05:00",
                "status 503 after 1.5s at 10:05:00",
            ),
            (
                "body does not contain \"ok\"",
                "body does not contain \"ok\"",
            ),
            (
                "$.queue.depth is 42, expected < 10",
                "$.queue.depth is 42, expected < 10",
            ),
        ] {
            assert_eq!(hide_addresses(input), expected, "{input}");
        }
    }
}

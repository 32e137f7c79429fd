//! Secrets from `${ENV}` and how they are kept out of every output.

/// The values substituted from the environment, by variable name.
///
/// Anything that may leave the process (messages, logs, stored rows, the page) goes
/// through [`Secrets::redact`], which puts the `${NAME}` reference back in place of
/// the value, in plain and in percent-encoded form (a token in a URL is encoded).
#[derive(Clone, Default)]
pub struct Secrets {
    pairs: Vec<(String, String)>,
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
        // Longest first, so a secret that contains another is replaced whole.
        pairs.sort_by_key(|p| std::cmp::Reverse(p.1.len()));
        pairs.dedup();
        Secrets { pairs }
    }

    /// True when no value came from the environment.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Replace every secret value in `text` by its `${NAME}` reference.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (name, value) in &self.pairs {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &format!("${{{name}}}"));
            }
        }
        out
    }
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
    fn empty_values_are_not_secrets() {
        let s = Secrets::new([("EMPTY".to_string(), String::new())]);
        assert!(s.is_empty());
        assert_eq!(s.redact("abc"), "abc");
    }
}

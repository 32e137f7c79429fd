//! Metric selectors of `expect.metrics`: `name` or `name{label="value",...}`.

use std::collections::BTreeMap;
use std::fmt;

/// Which samples of a scrape a metrics assertion looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

impl Selector {
    /// Parse `http_requests_in_flight` or `up{job="api"}`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (name, rest) = match s.find('{') {
            Some(i) => (&s[..i], Some(&s[i..])),
            None => (s, None),
        };
        let name = name.trim();
        let valid_name = !name.is_empty()
            && name.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            });
        if !valid_name {
            return Err(format!("invalid metric name {name:?}"));
        }
        let mut labels = BTreeMap::new();
        if let Some(rest) = rest {
            let inner = rest
                .strip_prefix('{')
                .and_then(|r| r.strip_suffix('}'))
                .ok_or_else(|| format!("unclosed label set in {s:?}"))?;
            let mut chars = inner.chars().peekable();
            loop {
                while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
                if chars.peek().is_none() {
                    break;
                }
                let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
                let key = key.trim().to_string();
                if key.is_empty() || chars.next() != Some('=') {
                    return Err(format!("expected label=\"value\" in {s:?}"));
                }
                while chars.next_if(|c| c.is_whitespace()).is_some() {}
                if chars.next() != Some('"') {
                    return Err(format!("label values must be quoted in {s:?}"));
                }
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some('n') => value.push('\n'),
                            Some(c) => value.push(c),
                            None => return Err(format!("unterminated label value in {s:?}")),
                        },
                        Some('"') => break,
                        Some(c) => value.push(c),
                        None => return Err(format!("unterminated label value in {s:?}")),
                    }
                }
                labels.insert(key, value);
            }
        }
        Ok(Selector {
            name: name.to_string(),
            labels,
        })
    }

    /// Whether a sample with this name and labels is selected.
    pub fn matches<'a>(&self, name: &str, mut label: impl FnMut(&str) -> Option<&'a str>) -> bool {
        name == self.name
            && self
                .labels
                .iter()
                .all(|(k, v)| label(k) == Some(v.as_str()))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.labels.is_empty() {
            let parts: Vec<String> = self
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect();
            write!(f, "{{{}}}", parts.join(","))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_labels() {
        let s = Selector::parse(r#"up{job="api", env="prod"}"#).unwrap();
        assert_eq!(s.name, "up");
        assert_eq!(s.labels["job"], "api");
        assert_eq!(s.labels["env"], "prod");
        assert_eq!(Selector::parse("x").unwrap().labels.len(), 0);
        assert!(Selector::parse("9x").is_err());
        assert!(Selector::parse("up{job=api}").is_err());
        assert!(Selector::parse(r#"up{job="api""#).is_err());
    }

    #[test]
    fn matches_subset_of_labels() {
        let s = Selector::parse(r#"up{job="api"}"#).unwrap();
        let labels = [("job", "api"), ("instance", "a")];
        let get = |k: &str| labels.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        assert!(s.matches("up", get));
        assert!(!s.matches("down", get));
    }
}

//! Expected HTTP status codes: exact codes and `2xx`-style classes.

use std::fmt;

/// One accepted status: an exact code or a whole class such as `2xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusSpec {
    Exact(u16),
    Class(u16),
}

impl StatusSpec {
    /// Parse `"200"` or `"2xx"` (case-insensitive `x`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_lowercase();
        if let Some(d) = t.strip_suffix("xx") {
            if let Ok(class @ 1..=5) = d.parse::<u16>() {
                return Ok(StatusSpec::Class(class));
            }
        } else if let Ok(code @ 100..=599) = t.parse::<u16>() {
            return Ok(StatusSpec::Exact(code));
        }
        Err(format!(
            "invalid status {s:?}: use a code from 100 to 599 or a class such as \"2xx\""
        ))
    }

    /// Whether `code` is accepted.
    pub fn accepts(self, code: u16) -> bool {
        match self {
            StatusSpec::Exact(c) => c == code,
            StatusSpec::Class(class) => code / 100 == class,
        }
    }
}

impl fmt::Display for StatusSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusSpec::Exact(c) => write!(f, "{c}"),
            StatusSpec::Class(c) => write!(f, "{c}xx"),
        }
    }
}

/// Render a list of specs as `"200, 3xx"`.
pub fn describe(specs: &[StatusSpec]) -> String {
    specs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_class() {
        assert!(StatusSpec::parse("2xx").unwrap().accepts(204));
        assert!(!StatusSpec::parse("2XX").unwrap().accepts(301));
        assert!(StatusSpec::parse("301").unwrap().accepts(301));
        assert!(StatusSpec::parse("6xx").is_err());
        assert!(StatusSpec::parse("99").is_err());
        assert!(StatusSpec::parse("ok").is_err());
    }
}

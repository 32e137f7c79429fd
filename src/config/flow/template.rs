//! `{{name}}` templates in a step's `url`, `headers` and `body`: parsed at
//! load time (so an unknown name is a config error), expanded per run.

/// Text with `{{name}}` references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(pub Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Builtin(Builtin),
    /// A value captured by an earlier step.
    Capture(String),
}

/// Values made fresh for every run, for unique test data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// A random (v4) UUID.
    Uuid,
    /// The time the step starts, RFC 3339 in UTC.
    Now,
    /// The time the step starts, in Unix seconds.
    Timestamp,
    /// A random number below 2^32.
    Random,
}

impl Builtin {
    pub fn named(name: &str) -> Option<Builtin> {
        Some(match name {
            "uuid" => Builtin::Uuid,
            "now" => Builtin::Now,
            "timestamp" => Builtin::Timestamp,
            "random" => Builtin::Random,
            _ => return None,
        })
    }
}

/// Letters, digits and `_`, not starting with a digit.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

impl Template {
    /// Parse `s`; `{{ name }}` may have spaces inside the braces.
    pub fn parse(s: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| "unclosed `{{` in template: write `{{name}}`".to_string())?;
            let name = after[..end].trim();
            if !valid_name(name) {
                return Err(format!(
                    "invalid template name {name:?} in `{{{{{name}}}}}`: names are letters, digits and `_`"
                ));
            }
            pieces.push(match Builtin::named(name) {
                Some(b) => Piece::Builtin(b),
                None => Piece::Capture(name.to_string()),
            });
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template(pieces))
    }

    /// The names of captures it refers to.
    pub fn capture_names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            Piece::Capture(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// Whether any part is a captured value (a secret).
    pub fn has_captures(&self) -> bool {
        self.capture_names().next().is_some()
    }

    /// The text with every reference replaced by a harmless word, so that a
    /// URL or header can be checked at load time.
    pub fn stand_in(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.as_str(),
                _ => "x0",
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_text_builtins_and_captures() {
        let t = Template::parse("/orders/{{ id }}?t={{timestamp}}").unwrap();
        assert_eq!(
            t.0,
            vec![
                Piece::Text("/orders/".into()),
                Piece::Capture("id".into()),
                Piece::Text("?t=".into()),
                Piece::Builtin(Builtin::Timestamp),
            ]
        );
        assert_eq!(t.capture_names().collect::<Vec<_>>(), vec!["id"]);
        assert_eq!(t.stand_in(), "/orders/x0?t=x0");
    }

    #[test]
    fn refuses_malformed_references() {
        assert!(Template::parse("a {{ b").unwrap_err().contains("unclosed"));
        assert!(Template::parse("{{1x}}").unwrap_err().contains("invalid"));
        assert!(Template::parse("{{}}").is_err());
        assert_eq!(
            Template::parse("plain { text }").unwrap().stand_in(),
            "plain { text }"
        );
    }
}

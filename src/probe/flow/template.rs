//! Expanding a step's `{{name}}` templates with the built-ins and what
//! earlier steps captured.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::config::{Builtin, Piece, Template};

/// What a template may refer to at one step of one run.
pub struct Values<'a> {
    pub captured: &'a HashMap<String, String>,
    /// The step's start: `{{now}}` and `{{timestamp}}` agree within a step.
    pub now: DateTime<Utc>,
}

/// The template's text with every reference filled in. A capture that is
/// missing cannot happen (load time checks that an earlier step captures
/// every name, and a step that fails to capture ends the flow), but is
/// reported rather than trusted.
pub fn expand(t: &Template, values: &Values<'_>) -> Result<String, String> {
    let mut out = String::new();
    for piece in &t.0 {
        match piece {
            Piece::Text(s) => out.push_str(s),
            Piece::Builtin(Builtin::Uuid) => out.push_str(&uuid::Uuid::new_v4().to_string()),
            Piece::Builtin(Builtin::Now) => out.push_str(
                &values
                    .now
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            Piece::Builtin(Builtin::Timestamp) => out.push_str(&values.now.timestamp().to_string()),
            Piece::Builtin(Builtin::Random) => out.push_str(&rand::random::<u32>().to_string()),
            Piece::Capture(name) => match values.captured.get(name) {
                Some(v) => out.push_str(v),
                None => return Err(format!("`{{{{{name}}}}}` was not captured")),
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_builtins_and_captures() {
        let captured = HashMap::from([("id".to_string(), "42".to_string())]);
        let now = DateTime::from_timestamp(1_764_064_800, 0).unwrap();
        let values = Values {
            captured: &captured,
            now,
        };
        let t = Template::parse("/o/{{id}}?at={{now}}&t={{timestamp}}").unwrap();
        assert_eq!(
            expand(&t, &values).unwrap(),
            "/o/42?at=2025-11-25T10:00:00Z&t=1764064800"
        );
        let u = expand(&Template::parse("{{uuid}}").unwrap(), &values).unwrap();
        assert_eq!(uuid::Uuid::parse_str(&u).unwrap().get_version_num(), 4);
        let missing = Template::parse("{{nope}}").unwrap();
        assert!(expand(&missing, &values).is_err());
    }
}

//! Config strings with `${NAME}` substituted from the environment, remembering
//! which values were secrets.

use std::cell::RefCell;
use std::fmt;

use serde::{Deserialize, Deserializer};

/// A string from the config after `${NAME}` substitution.
///
/// `template` is the text as written (safe to show: it holds `${NAME}`, never the
/// value); `value` is what the probe uses.
#[derive(Clone, PartialEq, Eq)]
pub struct Text {
    template: String,
    value: String,
}

impl Text {
    /// A literal with no substitution (defaults, tests).
    pub fn literal(s: impl Into<String>) -> Self {
        let s = s.into();
        Text {
            template: s.clone(),
            value: s,
        }
    }

    /// The substituted value, for use by probes and channels only.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The text as written in the config, with `${NAME}` references intact.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// Whether any part of the value came from the environment.
    pub fn is_secret(&self) -> bool {
        self.template != self.value || self.template.contains("${")
    }
}

// Debug shows the template so a `{:?}` never leaks a secret.
impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.template)
    }
}

type Lookup = Box<dyn Fn(&str) -> Option<String>>;

struct EnvContext {
    lookup: Lookup,
    used: Vec<(String, String)>,
}

thread_local! {
    static CONTEXT: RefCell<Option<EnvContext>> = const { RefCell::new(None) };
}

/// Run `f` (a deserialization) with `lookup` as the environment; returns the
/// `(name, value)` pairs it substituted.
pub(crate) fn with_env<T>(
    lookup: impl Fn(&str) -> Option<String> + 'static,
    f: impl FnOnce() -> T,
) -> (T, Vec<(String, String)>) {
    CONTEXT.with(|c| {
        *c.borrow_mut() = Some(EnvContext {
            lookup: Box::new(lookup),
            used: Vec::new(),
        })
    });
    let out = f();
    let used = CONTEXT
        .with(|c| c.borrow_mut().take())
        .map(|c| c.used)
        .unwrap_or_default();
    (out, used)
}

/// Replace every `${NAME}` in `s`; an unset variable is an error naming it.
pub(crate) fn substitute(s: &str) -> Result<String, String> {
    if !s.contains("${") {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "unclosed `${` in string: write `${NAME}`".to_string())?;
        let name = &after[..end];
        let valid = !name.is_empty()
            && name
                .chars()
                .enumerate()
                .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if !valid {
            return Err(format!(
                "invalid environment variable name {name:?} in `${{{name}}}`"
            ));
        }
        let value = CONTEXT.with(|c| {
            let mut c = c.borrow_mut();
            let ctx = c.as_mut()?;
            let v = (ctx.lookup)(name)?;
            ctx.used.push((name.to_string(), v.clone()));
            Some(v)
        });
        match value {
            // A GitHub Actions secret that does not exist arrives as an empty
            // variable, never as an unset one: say so here, rather than let an
            // empty URL or token fail later as if it were mistyped.
            Some(v) if v.is_empty() => {
                return Err(format!("environment variable {name} is set but empty"));
            }
            Some(v) => out.push_str(&v),
            None => return Err(format!("environment variable {name} is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let template = String::deserialize(d)?;
        let value = substitute(&template).map_err(serde::de::Error::custom)?;
        Ok(Text { template, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_and_records_secrets() {
        let (r, used) = with_env(
            |n| (n == "TOKEN").then(|| "s3cret".to_string()),
            || substitute("Bearer ${TOKEN}!"),
        );
        assert_eq!(r.unwrap(), "Bearer s3cret!");
        assert_eq!(used, vec![("TOKEN".to_string(), "s3cret".to_string())]);
    }

    #[test]
    fn missing_and_malformed() {
        let (r, _) = with_env(|_| None, || substitute("x ${NOPE}"));
        assert_eq!(r.unwrap_err(), "environment variable NOPE is not set");
        let (r, _) = with_env(|_| None, || substitute("x ${NOPE"));
        assert!(r.unwrap_err().contains("unclosed"));
        let (r, _) = with_env(|_| None, || substitute("x ${1A}"));
        assert!(r.unwrap_err().contains("invalid"));
    }

    #[test]
    fn set_but_empty_is_an_error_naming_the_variable() {
        let (r, _) = with_env(|_| Some(String::new()), || substitute("Bearer ${TOKEN}"));
        assert_eq!(
            r.unwrap_err(),
            "environment variable TOKEN is set but empty"
        );
    }
}

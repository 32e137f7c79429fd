//! The one comparator grammar of SPEC §3, shared by every kind:
//! a bare value is equality; otherwise `== x`, `!= x`, `< n`, `<= n`, `> n`,
//! `>= n`, `~ regex`, `!~ regex`. Numbers compare as numbers.

use std::fmt;

use regex::Regex;

/// A parsed comparator, ready to test values.
#[derive(Debug, Clone)]
pub struct Comparator {
    source: String,
    op: Op,
}

#[derive(Debug, Clone)]
enum Op {
    Eq(String),
    Ne(String),
    Lt(f64),
    Le(f64),
    Gt(f64),
    Ge(f64),
    Matches(Regex),
    NotMatches(Regex),
}

type OpParser = fn(&str) -> Result<Op, ComparatorError>;

/// Why a comparator string does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComparatorError {
    #[error("`{op}` needs a number, got {value:?}")]
    NotANumber { op: &'static str, value: String },
    #[error("invalid regex {pattern:?}: {reason}")]
    BadRegex { pattern: String, reason: String },
}

impl Comparator {
    /// Parse a comparator string such as `"< 100"` or `"~ ^ok"`.
    pub fn parse(source: &str) -> Result<Self, ComparatorError> {
        let s = source.trim();
        // Longest operators first: `<=` before `<`, `!~` before `!=`.
        let ops: [(&str, OpParser); 8] = [
            ("==", |v| Ok(Op::Eq(v.to_string()))),
            ("!=", |v| Ok(Op::Ne(v.to_string()))),
            ("<=", |v| number("<=", v).map(Op::Le)),
            (">=", |v| number(">=", v).map(Op::Ge)),
            ("!~", |v| regex(v).map(Op::NotMatches)),
            ("<", |v| number("<", v).map(Op::Lt)),
            (">", |v| number(">", v).map(Op::Gt)),
            ("~", |v| regex(v).map(Op::Matches)),
        ];
        for (prefix, build) in ops {
            if let Some(rest) = s.strip_prefix(prefix) {
                let op = build(rest.trim_start())?;
                return Ok(Comparator {
                    source: source.to_string(),
                    op,
                });
            }
        }
        Ok(Comparator {
            source: source.to_string(),
            op: Op::Eq(source.to_string()),
        })
    }

    /// A comparator that holds when the value equals `value`.
    pub fn equals(value: &str) -> Self {
        Comparator {
            source: value.to_string(),
            op: Op::Eq(value.to_string()),
        }
    }

    /// The text the comparator was written as.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Test `actual`; numbers compare as numbers, everything else as text.
    pub fn holds(&self, actual: &str) -> bool {
        let actual = actual.trim();
        match &self.op {
            Op::Eq(want) => equal(actual, want),
            Op::Ne(want) => !equal(actual, want),
            Op::Lt(n) => parse_num(actual).is_some_and(|a| a < *n),
            Op::Le(n) => parse_num(actual).is_some_and(|a| a <= *n),
            Op::Gt(n) => parse_num(actual).is_some_and(|a| a > *n),
            Op::Ge(n) => parse_num(actual).is_some_and(|a| a >= *n),
            Op::Matches(re) => re.is_match(actual),
            Op::NotMatches(re) => !re.is_match(actual),
        }
    }

    /// Test a number directly (metrics samples).
    pub fn holds_number(&self, actual: f64) -> bool {
        self.holds(&format_number(actual))
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.op {
            Op::Eq(v) => write!(f, "== {v}"),
            _ => f.write_str(self.source.trim()),
        }
    }
}

fn equal(actual: &str, want: &str) -> bool {
    match (parse_num(actual), parse_num(want)) {
        (Some(a), Some(b)) => a == b,
        _ => actual == want.trim(),
    }
}

fn parse_num(s: &str) -> Option<f64> {
    let s = s.trim();
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok().filter(|n| !n.is_nan()),
    }
}

/// Render a number the way a person wrote it: `3` not `3.0`.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn number(op: &'static str, v: &str) -> Result<f64, ComparatorError> {
    parse_num(v).ok_or_else(|| ComparatorError::NotANumber {
        op,
        value: v.to_string(),
    })
}

fn regex(v: &str) -> Result<Regex, ComparatorError> {
    Regex::new(v).map_err(|e| ComparatorError::BadRegex {
        pattern: v.to_string(),
        reason: e
            .to_string()
            .lines()
            .last()
            .unwrap_or("")
            .trim()
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Comparator {
        Comparator::parse(s).unwrap()
    }

    #[test]
    fn bare_value_is_equality_numbers_as_numbers() {
        assert!(c("UP").holds("UP"));
        assert!(!c("UP").holds("DOWN"));
        assert!(c("1").holds("1.0"));
        assert!(c("== 10").holds("10"));
        assert!(c("!= 10").holds("11"));
    }

    #[test]
    fn ordering_needs_numbers() {
        assert!(c("< 100").holds("99.5"));
        assert!(!c("< 100").holds("100"));
        assert!(c("<= 100").holds("100"));
        assert!(c(">= 1").holds("1"));
        assert!(c("> 1").holds("+Inf"));
        assert!(!c("< 100").holds("abc"));
        assert_eq!(
            Comparator::parse("< abc").unwrap_err(),
            ComparatorError::NotANumber {
                op: "<",
                value: "abc".into()
            }
        );
    }

    #[test]
    fn regex_operators() {
        assert!(c("~ ^application/json").holds("application/json; charset=utf-8"));
        assert!(c("!~ error").holds("all good"));
        assert!(matches!(
            Comparator::parse("~ (unclosed"),
            Err(ComparatorError::BadRegex { .. })
        ));
    }

    #[test]
    fn number_formatting() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(2.5), "2.5");
    }
}

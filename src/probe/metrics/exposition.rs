//! A strict reader of the Prometheus text exposition format (version 0.0.4),
//! tolerant of OpenMetrics text: every sample line becomes one [`Sample`]
//! (histogram `_bucket`/`_sum`/`_count` lines included), comments and
//! `# HELP`/`# TYPE`/`# UNIT`/`# EOF` lines are skipped, timestamps and
//! OpenMetrics exemplars are accepted and dropped.
//!
//! Like Prometheus itself, one malformed line rejects the whole scrape: a
//! target that serves an HTML error page must not pass as "no samples".

use std::fmt;

/// One sample line of an exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    /// The value of label `key`, if the sample has it.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.labels.is_empty() {
            f.write_str("{")?;
            for (i, (k, v)) in self.labels.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{k}={v:?}")?;
            }
            f.write_str("}")?;
        }
        Ok(())
    }
}

/// Why an exposition does not parse: the 1-based line and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

/// Parse a whole exposition into its samples.
pub fn parse(text: &str) -> Result<Vec<Sample>, ParseError> {
    let mut samples = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_matches(is_blank);
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with('#') {
            if trimmed == "# EOF" {
                // OpenMetrics: nothing after the end marker counts.
                break;
            }
            continue;
        }
        let sample = parse_line(trimmed).map_err(|reason| ParseError {
            line: i + 1,
            reason,
        })?;
        samples.push(sample);
    }
    Ok(samples)
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A cursor over one line.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }

    fn skip_blanks(&mut self) -> bool {
        let before = self.rest.len();
        self.rest = self.rest.trim_start_matches(is_blank);
        self.rest.len() != before
    }

    /// A run of characters allowed in a metric (`colons`) or label name.
    fn ident(&mut self, colons: bool) -> Option<&'a str> {
        let ok_first = |c: char| c.is_ascii_alphabetic() || c == '_' || (colons && c == ':');
        let ok_rest = |c: char| ok_first(c) || c.is_ascii_digit();
        let first = self.peek()?;
        if !ok_first(first) {
            return None;
        }
        let end = self
            .rest
            .char_indices()
            .find(|&(_, c)| !ok_rest(c))
            .map_or(self.rest.len(), |(i, _)| i);
        let (ident, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(ident)
    }

    /// A double-quoted string with `\\`, `\"` and `\n` escapes; the opening
    /// quote must be next.
    fn quoted(&mut self) -> Result<String, String> {
        if !self.eat('"') {
            return Err("expected a quoted string".into());
        }
        let mut out = String::new();
        let mut chars = self.rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &self.rest[i + 1..];
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, '\\')) => out.push('\\'),
                    Some((_, '"')) => out.push('"'),
                    // The format allows only these three; keep anything else
                    // as written rather than guess.
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err("unterminated quoted string".into())
    }

    /// The next blank-separated token.
    fn token(&mut self) -> &'a str {
        let end = self.rest.find(is_blank).unwrap_or(self.rest.len());
        let (tok, rest) = self.rest.split_at(end);
        self.rest = rest;
        tok
    }
}

fn parse_line(line: &str) -> Result<Sample, String> {
    let mut cur = Cursor { rest: line };
    let mut name = cur.ident(true).map(str::to_string);
    let mut labels = Vec::new();
    if name.is_none() && cur.peek() != Some('{') {
        return Err("expected a metric name".into());
    }
    if cur.eat('{') {
        parse_labels(&mut cur, &mut name, &mut labels)?;
    }
    let Some(name) = name else {
        return Err("expected a metric name".into());
    };
    if !cur.skip_blanks() {
        return Err(format!("expected a space and a value after {name}"));
    }
    let value_text = cur.token();
    let value =
        parse_float(value_text).ok_or_else(|| format!("invalid value {:?}", clip(value_text)))?;
    cur.skip_blanks();
    if cur.peek().is_some_and(|c| c != '#') {
        let ts = cur.token();
        // Milliseconds in 0.0.4, seconds with a fraction in OpenMetrics.
        if parse_float(ts).is_none_or(|t| !t.is_finite()) {
            return Err(format!("invalid timestamp {:?}", clip(ts)));
        }
        cur.skip_blanks();
    }
    // What remains may only be an OpenMetrics exemplar (`# {…} value`).
    if !cur.rest.is_empty() && !cur.rest.starts_with('#') {
        return Err(format!(
            "unexpected text {:?} after the value",
            clip(cur.rest)
        ));
    }
    Ok(Sample {
        name,
        labels,
        value,
    })
}

/// Labels after the opening brace, up to and including the closing one. A
/// quoted string that is not followed by `=` is the metric name (the UTF-8
/// names of newer Prometheus versions: `{"my.metric", job="x"}`).
fn parse_labels(
    cur: &mut Cursor<'_>,
    name: &mut Option<String>,
    labels: &mut Vec<(String, String)>,
) -> Result<(), String> {
    loop {
        cur.skip_blanks();
        if cur.eat('}') {
            return Ok(());
        }
        let key = if cur.peek() == Some('"') {
            let quoted = cur.quoted()?;
            cur.skip_blanks();
            if cur.peek() != Some('=') {
                if name.is_some() {
                    return Err("a metric can have only one name".into());
                }
                *name = Some(quoted);
                None
            } else {
                Some(quoted)
            }
        } else {
            Some(
                cur.ident(false)
                    .ok_or_else(|| "expected a label name".to_string())?
                    .to_string(),
            )
        };
        if let Some(key) = key {
            cur.skip_blanks();
            if !cur.eat('=') {
                return Err(format!("expected = after label {key}"));
            }
            cur.skip_blanks();
            if cur.peek() != Some('"') {
                return Err(format!("the value of label {key} must be quoted"));
            }
            let value = cur.quoted()?;
            if labels.iter().any(|(k, _)| *k == key) {
                return Err(format!("label {key} appears twice"));
            }
            labels.push((key, value));
        }
        cur.skip_blanks();
        if cur.eat(',') {
            continue;
        }
        if cur.eat('}') {
            return Ok(());
        }
        return Err("expected , or } in the label set".into());
    }
}

/// A sample value as Go's `ParseFloat` reads it, `NaN` and `±Inf` included.
fn parse_float(s: &str) -> Option<f64> {
    match s {
        "NaN" | "nan" => Some(f64::NAN),
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ if s.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) => s.parse().ok(),
        _ => None,
    }
}

fn clip(s: &str) -> String {
    crate::assert::short(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Sample {
        let mut s = parse(line).unwrap();
        assert_eq!(s.len(), 1, "{s:?}");
        s.remove(0)
    }

    #[test]
    fn plain_and_labelled_samples() {
        let text = "\
# HELP http_requests_in_flight Requests being served.
# TYPE http_requests_in_flight gauge
http_requests_in_flight 42
up{job=\"api\",instance=\"a:9090\"} 1
\n   \n
rate:total{ code = \"200\" , } 1.5e3
";
        let s = parse(text).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].name, "http_requests_in_flight");
        assert_eq!(s[0].value, 42.0);
        assert_eq!(s[1].label("job"), Some("api"));
        assert_eq!(s[1].label("instance"), Some("a:9090"));
        assert_eq!(s[2].name, "rate:total");
        assert_eq!(s[2].label("code"), Some("200"));
        assert_eq!(s[2].value, 1500.0);
    }

    #[test]
    fn label_escapes() {
        let s = one(r#"m{a="x\"y",b="back\\slash",c="new\nline",d="has, comma=and}brace"} 1"#);
        assert_eq!(s.label("a"), Some("x\"y"));
        assert_eq!(s.label("b"), Some("back\\slash"));
        assert_eq!(s.label("c"), Some("new\nline"));
        assert_eq!(s.label("d"), Some("has, comma=and}brace"));
        assert_eq!(
            s.to_string(),
            r#"m{a="x\"y",b="back\\slash",c="new\nline",d="has, comma=and}brace"}"#
        );
    }

    #[test]
    fn special_values_and_timestamps() {
        assert!(one("m NaN").value.is_nan());
        assert_eq!(one("m +Inf").value, f64::INFINITY);
        assert_eq!(one("m -Inf").value, f64::NEG_INFINITY);
        assert_eq!(one("m 3 1700000000000").value, 3.0);
        assert_eq!(one("m{a=\"b\"} -0.5 1700000000.123").value, -0.5);
        assert_eq!(one("m\t7\t").value, 7.0);
    }

    #[test]
    fn histogram_lines_are_samples() {
        let text = "\
# TYPE rt histogram
rt_bucket{le=\"0.1\"} 3
rt_bucket{le=\"+Inf\"} 5
rt_sum 0.7
rt_count 5
";
        let s = parse(text).unwrap();
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["rt_bucket", "rt_bucket", "rt_sum", "rt_count"]);
        assert_eq!(s[1].label("le"), Some("+Inf"));
    }

    #[test]
    fn openmetrics_is_tolerated() {
        let text = "\
# TYPE foo counter
# UNIT foo seconds
foo_total{a=\"b\"} 17 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67
foo_created 1520430000.123
{\"my.dotted.metric\", job=\"x\"} 2
# EOF
anything after the end is ignored
";
        let s = parse(text).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].value, 17.0);
        assert_eq!(s[2].name, "my.dotted.metric");
        assert_eq!(s[2].label("job"), Some("x"));
    }

    #[test]
    fn crlf_line_endings() {
        let s = parse("a 1\r\nb 2\r\n").unwrap();
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn malformed_input_is_rejected_with_its_line() {
        let bad = [
            ("<html><body>oops</body></html>", "expected a metric name"),
            ("hello world", "invalid value"),
            ("m", "expected a space"),
            ("m{a=\"b\" 1", "expected , or }"),
            ("m{a=b} 1", "must be quoted"),
            ("m{a=\"unterminated} 1", "unterminated"),
            ("m{=\"x\"} 1", "expected a label name"),
            ("m{a=\"1\",a=\"2\"} 1", "appears twice"),
            ("m 1 notatime", "invalid timestamp"),
            ("m 1 2 3", "unexpected text"),
            ("m 0x10", "invalid value"),
            ("9m 1", "expected a metric name"),
            ("{\"a\", \"b\"} 1", "only one name"),
            ("{} 1", "expected a metric name"),
        ];
        for (line, want) in bad {
            let err = parse(&format!("ok 1\n{line}\n")).unwrap_err();
            assert_eq!(err.line, 2, "{line}");
            assert!(err.reason.contains(want), "{line}: {}", err.reason);
        }
    }

    #[test]
    fn garbage_never_panics() {
        let inputs = [
            "{",
            "}",
            "{\"",
            "m{\"",
            "m{a=\"\\",
            "\u{feff}m 1",
            "m{a=\"é\"} 1",
            "é 1",
            "m{é=\"x\"} 1",
            "\"",
            "#",
            "m{,} 1",
            "m{a=\"x\"}",
            "m{a=\"x\"}1",
            "\0",
            "m 1e999",
        ];
        for input in inputs {
            let _ = parse(input);
        }
        assert_eq!(one("m{a=\"é\"} 1").label("a"), Some("é"));
        assert_eq!(one("m 1e999").value, f64::INFINITY);
        assert!(parse("").unwrap().is_empty());
        assert!(parse("# only comments\n").unwrap().is_empty());
    }
}

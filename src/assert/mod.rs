//! Assertions: what a result must show to be `up`, shared by every probe kind.
//! A failed hard assertion makes a result `down`; a failed soft one (`degraded.*`)
//! makes it `degraded`.

pub mod comparator;
pub mod selector;
pub mod status;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde_json_path::JsonPath;

pub use comparator::Comparator;
pub use selector::Selector;
pub use status::StatusSpec;

use crate::model::{Cause, Failure};

/// A JSONPath query and the comparator its every match must satisfy.
#[derive(Debug, Clone)]
pub struct JsonCheck {
    pub source: String,
    pub path: JsonPath,
    pub comparator: Comparator,
}

/// Everything one `expect` (or `degraded`) table asks of a result.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub status: Vec<StatusSpec>,
    pub body_contains: Option<String>,
    pub body_matches: Option<Regex>,
    pub json: Vec<JsonCheck>,
    /// Header names are lower-case.
    pub headers: Vec<(String, Comparator)>,
    pub cert_days: Option<u32>,
    pub answers: Vec<String>,
    pub metrics: Vec<(Selector, Comparator)>,
}

impl Expect {
    /// Whether any check needs the response body.
    pub fn needs_body(&self) -> bool {
        self.body_contains.is_some() || self.body_matches.is_some() || !self.json.is_empty()
    }

    /// Whether this table asks nothing at all.
    pub fn is_empty(&self) -> bool {
        self.status.is_empty()
            && !self.needs_body()
            && self.headers.is_empty()
            && self.cert_days.is_none()
            && self.answers.is_empty()
            && self.metrics.is_empty()
    }
}

/// Check a status code; `default_2xx` applies when no status is listed (hard checks).
pub fn check_status(specs: &[StatusSpec], code: u16, default_2xx: bool) -> Result<(), Failure> {
    let ok = if specs.is_empty() {
        !default_2xx || code / 100 == 2
    } else {
        specs.iter().any(|s| s.accepts(code))
    };
    if ok {
        Ok(())
    } else {
        let want = if specs.is_empty() {
            "2xx".to_string()
        } else {
            status::describe(specs)
        };
        Err(Failure::new(
            Cause::Status,
            format!("expected status {want}, got {code}"),
        ))
    }
}

/// Check response headers against their comparators.
pub fn check_headers(
    checks: &[(String, Comparator)],
    headers: &http::HeaderMap,
) -> Result<(), Failure> {
    for (name, cmp) in checks {
        let values: Vec<String> = headers
            .get_all(name.as_str())
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        if values.is_empty() {
            return Err(Failure::new(
                Cause::Assertion,
                format!("header {name} is missing (expected {cmp})"),
            ));
        }
        if !values.iter().any(|v| cmp.holds(v)) {
            return Err(Failure::new(
                Cause::Assertion,
                format!("header {name} is {:?}, expected {cmp}", short(&values[0])),
            ));
        }
    }
    Ok(())
}

/// What body assertions see: the first `max_body` decoded bytes of a body.
#[derive(Debug, Clone, Copy)]
pub struct BodyPrefix<'a> {
    pub bytes: &'a [u8],
    /// The size of the whole decoded body.
    pub total: u64,
}

impl BodyPrefix<'_> {
    fn complete(&self) -> bool {
        self.bytes.len() as u64 >= self.total
    }

    /// " (searched the first 1.0 MiB of 64.0 MiB)" when the body did not fit.
    fn searched(&self) -> String {
        if self.complete() {
            String::new()
        } else {
            format!(
                " (searched the first {} of {}; raise max_body to search more)",
                size(self.bytes.len() as u64),
                size(self.total)
            )
        }
    }
}

/// A byte count for messages: "512 B", "1.0 MiB".
pub fn size(bytes: u64) -> String {
    bytesize::ByteSize(bytes).to_string()
}

/// Check the body: `body_contains` and `body_matches` search the prefix as text
/// (invalid UTF-8 becomes U+FFFD, as `curl | grep` would still match); `json`
/// needs the whole document and parses it strictly.
pub fn check_body(expect: &Expect, body: &BodyPrefix<'_>) -> Result<(), Failure> {
    if !expect.needs_body() {
        return Ok(());
    }
    if expect.body_contains.is_some() || expect.body_matches.is_some() {
        let text = String::from_utf8_lossy(body.bytes);
        if let Some(needle) = &expect.body_contains
            && !text.contains(needle.as_str())
        {
            return Err(Failure::new(
                Cause::Assertion,
                format!(
                    "body does not contain {:?}{}",
                    short(needle),
                    body.searched()
                ),
            ));
        }
        if let Some(re) = &expect.body_matches
            && !re.is_match(&text)
        {
            return Err(Failure::new(
                Cause::Assertion,
                format!(
                    "body does not match /{}/{}",
                    short(re.as_str()),
                    body.searched()
                ),
            ));
        }
    }
    if !expect.json.is_empty() {
        if !body.complete() {
            return Err(Failure::new(
                Cause::Body,
                format!(
                    "the body ({}) is larger than max_body ({}) and expect.json needs the whole document: raise max_body (at most 64MiB)",
                    size(body.total),
                    size(body.bytes.len() as u64)
                ),
            ));
        }
        let doc: serde_json::Value = serde_json::from_slice(body.bytes)
            .map_err(|e| Failure::new(Cause::Body, format!("body is not valid JSON: {e}")))?;
        check_json(&expect.json, &doc)?;
    }
    Ok(())
}

/// Check JSONPath queries: each must match something, and every match must hold.
pub fn check_json(checks: &[JsonCheck], doc: &serde_json::Value) -> Result<(), Failure> {
    for check in checks {
        let nodes = check.path.query(doc).all();
        if nodes.is_empty() {
            return Err(Failure::new(
                Cause::Assertion,
                format!(
                    "{} matched nothing (expected {})",
                    check.source, check.comparator
                ),
            ));
        }
        for node in nodes {
            let actual = json_scalar(node);
            if !check.comparator.holds(&actual) {
                return Err(Failure::new(
                    Cause::Assertion,
                    format!(
                        "{} is {}, expected {}",
                        check.source,
                        short(&actual),
                        check.comparator
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn json_scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Check that a certificate stays valid for at least `days` more days.
pub fn check_cert_days(
    days: u32,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    cause: Cause,
) -> Result<(), Failure> {
    let Some(expires_at) = expires_at else {
        return Err(Failure::new(cause, "no certificate to check".to_string()));
    };
    let left = expires_at - now;
    if left < chrono::Duration::days(i64::from(days)) {
        let left_days = left.num_days();
        let msg = if left_days < 0 {
            format!("certificate expired {} days ago", -left_days)
        } else {
            format!("certificate expires in {left_days} days (expected at least {days})")
        };
        return Err(Failure::new(cause, msg));
    }
    Ok(())
}

/// Shorten target-controlled text for a one-line message.
pub fn short(s: &str) -> String {
    const MAX: usize = 80;
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > MAX {
        let cut: String = one_line.chars().take(MAX).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_check(path: &str, cmp: &str) -> JsonCheck {
        JsonCheck {
            source: path.to_string(),
            path: JsonPath::parse(path).unwrap(),
            comparator: Comparator::parse(cmp).unwrap(),
        }
    }

    #[test]
    fn status_defaults_to_2xx() {
        assert!(check_status(&[], 204, true).is_ok());
        let err = check_status(&[], 503, true).unwrap_err();
        assert_eq!(err.cause, Cause::Status);
        assert_eq!(err.message, "expected status 2xx, got 503");
        assert!(check_status(&[StatusSpec::Exact(301)], 301, true).is_ok());
        assert!(check_status(&[], 503, false).is_ok());
    }

    #[test]
    fn json_checks() {
        let doc: serde_json::Value =
            serde_json::from_str(r#"{"status":"UP","queue":{"depth":42}}"#).unwrap();
        assert!(check_json(&[json_check("$.status", "UP")], &doc).is_ok());
        assert!(check_json(&[json_check("$.queue.depth", "< 100")], &doc).is_ok());
        let err = check_json(&[json_check("$.queue.depth", "< 10")], &doc).unwrap_err();
        assert_eq!(err.message, "$.queue.depth is 42, expected < 10");
        let err = check_json(&[json_check("$.missing", "1")], &doc).unwrap_err();
        assert_eq!(err.cause, Cause::Assertion);
    }

    fn whole(bytes: &[u8]) -> BodyPrefix<'_> {
        BodyPrefix {
            bytes,
            total: bytes.len() as u64,
        }
    }

    #[test]
    fn body_errors_are_classified() {
        let expect = Expect {
            json: vec![json_check("$.a", "1")],
            ..Expect::default()
        };
        assert_eq!(
            check_body(&expect, &whole(b"{\"a\":")).unwrap_err().cause,
            Cause::Body
        );
        let expect = Expect {
            body_contains: Some("ok".into()),
            ..Expect::default()
        };
        assert_eq!(
            check_body(&expect, &whole(b"nope")).unwrap_err().cause,
            Cause::Assertion
        );
    }

    #[test]
    fn text_assertions_decode_lossily() {
        let expect = Expect {
            body_contains: Some("ok".into()),
            body_matches: Some(Regex::new("^\u{FFFD}+ ok").unwrap()),
            ..Expect::default()
        };
        assert!(check_body(&expect, &whole(b"\xff\xfe\xfa ok \xc3\x28")).is_ok());
    }

    #[test]
    fn json_needs_the_whole_document_and_stays_strict() {
        let expect = Expect {
            json: vec![json_check("$.a", "1")],
            ..Expect::default()
        };
        let cut = BodyPrefix {
            bytes: b"{\"a\":1",
            total: 5 * 1024 * 1024,
        };
        let err = check_body(&expect, &cut).unwrap_err();
        assert_eq!(err.cause, Cause::Body);
        assert!(
            err.message.contains("larger than max_body"),
            "{}",
            err.message
        );
        assert!(err.message.contains("5.0 MiB"), "{}", err.message);
        let err = check_body(&expect, &whole(b"{\"a\":\xff}")).unwrap_err();
        assert_eq!(err.cause, Cause::Body);
        assert!(check_body(&expect, &whole(b"{\"a\":1}")).is_ok());
    }

    #[test]
    fn a_search_of_a_prefix_says_so() {
        let expect = Expect {
            body_contains: Some("needle".into()),
            ..Expect::default()
        };
        let prefix = BodyPrefix {
            bytes: b"hay",
            total: 2048,
        };
        let err = check_body(&expect, &prefix).unwrap_err();
        assert!(
            err.message.contains("searched the first 3 B of 2.0 KiB"),
            "{}",
            err.message
        );
    }

    #[test]
    fn cert_days() {
        let now = Utc::now();
        let soon = now + chrono::Duration::days(5);
        let err = check_cert_days(14, Some(soon), now, Cause::Tls).unwrap_err();
        assert!(err.message.contains("expires in"), "{}", err.message);
        assert!(check_cert_days(3, Some(soon), now, Cause::Tls).is_ok());
    }
}

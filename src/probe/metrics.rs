//! `metrics` probes: scrape a Prometheus text exposition and compare samples.

mod exposition;

use chrono::Utc;

use super::{ProbeContext, Progress};
use crate::assert::comparator::format_number;
use crate::assert::{self, Comparator, Expect, Selector, short};
use crate::config::{HttpTarget, ProbeSpec};
use crate::model::{Cause, Failure, Observation};
use exposition::Sample;

/// Run a `metrics` probe.
pub async fn probe(
    target: &HttpTarget,
    spec: &ProbeSpec,
    ctx: &ProbeContext,
    progress: &mut Progress,
) -> Observation {
    let fetched =
        match super::http::fetch(target, spec.ip_version, ctx, progress, target.max_body).await {
            Ok(f) => f,
            Err(f) => return progress.observation().down(f),
        };
    let observation = progress.observation();

    if let Err(f) = check_response(&spec.expect, &fetched, progress, true) {
        return observation.down(f);
    }
    let checks = !spec.expect.metrics.is_empty() || !spec.degraded.metrics.is_empty();
    if !fetched.body.complete() {
        // A large exposition is healthy (Prometheus has no size limit by
        // default); only checks that need the whole of it make it a failure.
        if !checks {
            return match check_response(&spec.degraded, &fetched, progress, false) {
                Ok(()) => observation,
                Err(f) => observation.degrade(f),
            };
        }
        return observation.down(Failure::new(
            Cause::Body,
            format!(
                "the exposition ({}) is larger than max_body ({}): raise max_body (at most 64MiB)",
                assert::size(fetched.body.decoded_bytes),
                assert::size(fetched.body.prefix.len() as u64)
            ),
        ));
    }
    let samples = match scrape(&fetched.body.prefix) {
        Ok(s) => s,
        Err(f) => return observation.down(f),
    };
    if let Err(f) = check_metrics(&spec.expect.metrics, &samples) {
        return observation.down(f);
    }

    let soft = check_response(&spec.degraded, &fetched, progress, false)
        .and_then(|()| check_metrics(&spec.degraded.metrics, &samples));
    match soft {
        Ok(()) => observation,
        Err(f) => observation.degrade(f),
    }
}

/// Status, headers and certificate lifetime, as an `http` probe checks them.
fn check_response(
    expect: &Expect,
    fetched: &super::http::Fetched,
    progress: &Progress,
    hard: bool,
) -> Result<(), Failure> {
    assert::check_status(&expect.status, fetched.status, hard)?;
    assert::check_headers(&expect.headers, &fetched.headers)?;
    if let Some(days) = expect.cert_days {
        assert::check_cert_days(days, progress.cert_expires_at, Utc::now(), Cause::Tls)?;
    }
    Ok(())
}

/// Decode and parse a scraped body; anything unreadable is a `body` failure.
fn scrape(body: &[u8]) -> Result<Vec<Sample>, Failure> {
    let text = std::str::from_utf8(body).map_err(|e| {
        Failure::new(
            Cause::Body,
            format!("body is not valid UTF-8 (at byte {})", e.valid_up_to()),
        )
    })?;
    exposition::parse(text).map_err(|e| {
        Failure::new(
            Cause::Body,
            format!("body is not a Prometheus exposition: {e}"),
        )
    })
}

/// Each selector must match at least one sample, and every sample it matches
/// must satisfy its comparator.
fn check_metrics(checks: &[(Selector, Comparator)], samples: &[Sample]) -> Result<(), Failure> {
    for (selector, comparator) in checks {
        let mut matched = samples
            .iter()
            .filter(|s| selector.matches(&s.name, |k| s.label(k)))
            .peekable();
        if matched.peek().is_none() {
            return Err(Failure::new(
                Cause::Assertion,
                format!("no sample matches {}", short(&selector.to_string())),
            ));
        }
        if let Some(bad) = matched.find(|s| !comparator.holds_number(s.value)) {
            return Err(Failure::new(
                Cause::Assertion,
                format!(
                    "{} is {}, expected {comparator}",
                    short(&bad.to_string()),
                    value_text(bad.value)
                ),
            ));
        }
    }
    Ok(())
}

/// A sample value as the exposition format writes it.
fn value_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format_number(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPOSITION: &str = "\
# HELP http_requests_in_flight Requests being served.
# TYPE http_requests_in_flight gauge
http_requests_in_flight 250
up{job=\"api\",instance=\"a\"} 1
up{job=\"db\",instance=\"b\"} 0
queue_depth{queue=\"x\\\"y\"} 7 1700000000000
broken_ratio NaN
# TYPE rt histogram
rt_bucket{le=\"0.5\"} 3
rt_bucket{le=\"+Inf\"} 4
rt_count 4
";

    fn checks(pairs: &[(&str, &str)]) -> Vec<(Selector, Comparator)> {
        pairs
            .iter()
            .map(|(s, c)| (Selector::parse(s).unwrap(), Comparator::parse(c).unwrap()))
            .collect()
    }

    fn eval(pairs: &[(&str, &str)]) -> Result<(), Failure> {
        let samples = scrape(EXPOSITION.as_bytes()).unwrap();
        check_metrics(&checks(pairs), &samples)
    }

    #[test]
    fn passing_checks() {
        assert!(eval(&[]).is_ok());
        assert!(eval(&[("http_requests_in_flight", "< 300")]).is_ok());
        assert!(eval(&[(r#"up{job="api"}"#, "== 1")]).is_ok());
        assert!(eval(&[(r#"queue_depth{queue="x\"y"}"#, "7")]).is_ok());
        assert!(eval(&[("rt_count", ">= 4"), (r#"rt_bucket{le="+Inf"}"#, "4")]).is_ok());
        assert!(eval(&[("rt_bucket", "> 0")]).is_ok());
    }

    #[test]
    fn threshold_failure_names_the_value() {
        let err = eval(&[("http_requests_in_flight", "< 200")]).unwrap_err();
        assert_eq!(err.cause, Cause::Assertion);
        assert_eq!(
            err.message,
            "http_requests_in_flight is 250, expected < 200"
        );
    }

    #[test]
    fn every_matching_sample_must_hold() {
        let err = eval(&[("up", "== 1")]).unwrap_err();
        assert_eq!(
            err.message,
            r#"up{job="db",instance="b"} is 0, expected == 1"#
        );
    }

    #[test]
    fn label_mismatch_is_no_match() {
        let err = eval(&[(r#"up{job="web"}"#, "== 1")]).unwrap_err();
        assert_eq!(err.cause, Cause::Assertion);
        assert_eq!(err.message, r#"no sample matches up{job="web"}"#);
        let err = eval(&[("missing_metric", "1")]).unwrap_err();
        assert_eq!(err.message, "no sample matches missing_metric");
    }

    #[test]
    fn nan_fails_numeric_comparisons() {
        let err = eval(&[("broken_ratio", "< 1")]).unwrap_err();
        assert_eq!(err.message, "broken_ratio is NaN, expected < 1");
        assert!(eval(&[("rt_bucket", "< +Inf")]).is_ok());
    }

    #[test]
    fn unreadable_bodies_are_body_failures() {
        let err = scrape(b"ok 1\n\xff\xfe").unwrap_err();
        assert_eq!(err.cause, Cause::Body);
        assert_eq!(err.message, "body is not valid UTF-8 (at byte 5)");
        let err = scrape(b"<!doctype html>\n<title>502</title>").unwrap_err();
        assert_eq!(err.cause, Cause::Body);
        assert!(err.message.contains("line 1"), "{}", err.message);
    }

    #[test]
    fn value_text_matches_the_format() {
        assert_eq!(value_text(f64::INFINITY), "+Inf");
        assert_eq!(value_text(f64::NEG_INFINITY), "-Inf");
        assert_eq!(value_text(2.5), "2.5");
        assert_eq!(value_text(3.0), "3");
    }
}

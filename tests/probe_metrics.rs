//! `metrics` probes scraping a local Prometheus exposition.

mod support;

use serde_json::Value;
use support::{Workspace, http, result};

const EXPOSITION: &str = "\
# HELP http_requests_in_flight Requests being served.
# TYPE http_requests_in_flight gauge
http_requests_in_flight 150
# TYPE up gauge
up{job=\"api\",instance=\"a\"} 1
up{job=\"db\",instance=\"b\"} 1
# TYPE request_seconds histogram
request_seconds_bucket{le=\"0.5\"} 90
request_seconds_bucket{le=\"+Inf\"} 100
request_seconds_sum 21.5
request_seconds_count 100
";

/// A server with an exposition at `/metrics`, an HTML page at `/garbage`,
/// invalid UTF-8 at `/binary` and a 503 at `/error`.
fn serve() -> std::net::SocketAddr {
    http::serve(|req| async move {
        match req.uri().path() {
            "/metrics" => http::respond(200, EXPOSITION),
            "/garbage" => http::respond(200, "<!doctype html>\n<h1>Welcome</h1>\n"),
            "/binary" => http::respond(200, &b"up 1\n\xff\xfe\x00\x01"[..]),
            "/error" => http::respond(503, EXPOSITION),
            _ => http::respond(404, "not found"),
        }
    })
}

/// A `[[probe]]` block for a metrics probe of `path`; `extra` is more TOML lines.
fn probe(id: &str, addr: std::net::SocketAddr, path: &str, extra: &str) -> String {
    format!(
        "[[probe]]\nid = \"{id}\"\nname = \"{id}\"\nkind = \"metrics\"\n\
         url = \"http://{addr}{path}\"\n{extra}\n"
    )
}

fn outcome<'a>(doc: &'a Value, id: &str) -> (&'a str, &'a str, &'a str) {
    let r = result(doc, id);
    (
        r["outcome"].as_str().unwrap_or_default(),
        r["cause"].as_str().unwrap_or_default(),
        r["message"].as_str().unwrap_or_default(),
    )
}

#[test]
fn thresholds_and_selectors() {
    let addr = serve();
    let config = [
        probe(
            "up",
            addr,
            "/metrics",
            "expect.metrics = { \"http_requests_in_flight\" = \"< 200\", 'up{job=\"api\"}' = \"== 1\", \
             'request_seconds_bucket{le=\"+Inf\"}' = \">= 100\" }",
        ),
        probe("no-checks", addr, "/metrics", ""),
        probe(
            "hard",
            addr,
            "/metrics",
            "expect.metrics = { \"http_requests_in_flight\" = \"< 100\" }",
        ),
        probe(
            "soft",
            addr,
            "/metrics",
            "expect.metrics = { \"http_requests_in_flight\" = \"< 200\" }\n\
             degraded.metrics = { \"http_requests_in_flight\" = \"< 100\" }",
        ),
        probe(
            "label-mismatch",
            addr,
            "/metrics",
            "expect.metrics = { 'up{job=\"web\"}' = \"== 1\" }",
        ),
        probe(
            "missing",
            addr,
            "/metrics",
            "expect.metrics = { \"queue_depth\" = \"< 10\" }",
        ),
    ]
    .concat();
    let ws = Workspace::new();
    let (code, doc) = ws.run_json(&config, &[]);
    assert_eq!(code, 1, "{doc:#}");

    for id in ["up", "no-checks"] {
        let r = result(&doc, id);
        assert_eq!(r["outcome"], "up", "{id}: {r:#}");
        assert!(r["cause"].is_null(), "{id}: {r:#}");
        assert_eq!(r["status"], 200, "{id}: {r:#}");
    }
    assert_eq!(
        outcome(&doc, "hard"),
        (
            "down",
            "assertion",
            "http_requests_in_flight is 150, expected < 100"
        )
    );
    assert_eq!(
        outcome(&doc, "soft"),
        (
            "degraded",
            "assertion",
            "http_requests_in_flight is 150, expected < 100"
        )
    );
    assert_eq!(
        outcome(&doc, "label-mismatch"),
        ("down", "assertion", "no sample matches up{job=\"web\"}")
    );
    assert_eq!(
        outcome(&doc, "missing"),
        ("down", "assertion", "no sample matches queue_depth")
    );
}

#[test]
fn unreadable_scrapes_and_bad_status_are_down() {
    let addr = serve();
    let config = [
        probe("garbage", addr, "/garbage", ""),
        probe("binary", addr, "/binary", ""),
        probe(
            "error",
            addr,
            "/error",
            "expect.metrics = { \"http_requests_in_flight\" = \"< 200\" }",
        ),
    ]
    .concat();
    let ws = Workspace::new();
    let (code, doc) = ws.run_json(&config, &[]);
    assert_eq!(code, 1, "{doc:#}");

    let (o, c, m) = outcome(&doc, "garbage");
    assert_eq!((o, c), ("down", "body"), "{m}");
    assert!(m.contains("line 1"), "{m}");
    let (o, c, m) = outcome(&doc, "binary");
    assert_eq!((o, c), ("down", "body"), "{m}");
    assert!(m.contains("UTF-8"), "{m}");
    assert_eq!(
        outcome(&doc, "error"),
        ("down", "status", "expected status 2xx, got 503")
    );
    assert_eq!(result(&doc, "error")["status"], 503);
}

/// A 2 MiB exposition (many series), healthy: scraped whole when `max_body`
/// allows, `up` without checks, and a clear `body` failure when checks need
/// more than `max_body` holds.
#[test]
fn a_large_exposition_needs_max_body_only_for_checks() {
    let mut big = String::from("# TYPE series gauge\n");
    let mut i = 0;
    while big.len() < 2 * 1024 * 1024 {
        big.push_str(&format!("series{{id=\"{i}\"}} 1\n"));
        i += 1;
    }
    big.push_str("up 1\n");
    let addr = http::serve(move |_| {
        let big = big.clone();
        async move { http::respond(200, big) }
    });
    let check = "expect.metrics = { up = \"== 1\" }";
    // Parsing 2 MiB in a debug build on a loaded machine can take over the
    // default degraded_after: this test is about sizes, not speed.
    let slow_ok = "degraded_after = \"10m\"\ntimeout = \"10m\"";
    let config = [
        probe("no_checks", addr, "/", slow_ok),
        probe("too_small", addr, "/", &format!("{slow_ok}\n{check}")),
        probe(
            "fits",
            addr,
            "/",
            &format!("{slow_ok}\nmax_body = \"4MiB\"\n{check}"),
        ),
    ]
    .concat();
    let ws = Workspace::new();
    let (code, doc) = ws.run_json(&config, &[]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(outcome(&doc, "no_checks").0, "up", "{doc:#}");
    assert_eq!(outcome(&doc, "fits").0, "up", "{doc:#}");
    let (o, c, m) = outcome(&doc, "too_small");
    assert_eq!((o, c), ("down", "body"), "{m}");
    assert!(m.contains("larger than max_body (1.0 MiB)"), "{m}");
}

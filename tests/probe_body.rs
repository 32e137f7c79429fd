//! Bodies as curl sees them: a large healthy body with no body assertion is
//! `up` (read to its end, its size reported), text assertions decode lossily,
//! assertions search the first `max_body` bytes, and `expect.json` says so when
//! the document did not fit.

mod support;

use std::io::Write;

use support::http::{self, Body};
use support::{Workspace, result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MIB: usize = 1024 * 1024;

fn with_header(
    mut r: hyper::Response<Body>,
    name: &'static str,
    value: &str,
) -> hyper::Response<Body> {
    r.headers_mut()
        .insert(name, value.parse().expect("header value"));
    r
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// A raw server answering `total` bytes of `a` with a Content-Length.
fn sized(total: usize) -> std::net::SocketAddr {
    http::serve_raw(move |mut s| async move {
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n");
        if s.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b'a'; 64 * 1024];
        let mut left = total;
        while left > 0 {
            let n = left.min(chunk.len());
            if s.write_all(&chunk[..n]).await.is_err() {
                return;
            }
            left -= n;
        }
    })
}

fn probe(id: &str, url: String, extra: &str) -> String {
    format!(
        "[[probe]]\nid = \"{id}\"\nurl = \"{url}\"\ntimeout = \"30s\"\ndegraded_after = \"30s\"\n{extra}\n"
    )
}

#[test]
fn healthy_bodies_are_up_whatever_their_size_or_encoding() {
    let big_json = {
        let pad = "x".repeat(2 * MIB);
        format!(r#"{{"pad":"{pad}","status":"UP"}}"#)
    };
    let late_needle = {
        let mut b = vec![b'.'; 3 * MIB / 2];
        b.extend_from_slice(b"needle");
        b
    };
    let zipped = gzip(&vec![b'z'; 3 * MIB]);
    let web = http::serve(move |req| {
        let big_json = big_json.clone();
        let late_needle = late_needle.clone();
        let zipped = zipped.clone();
        async move {
            match req.uri().path() {
                "/not-utf8" => http::respond(200, &b"\xff\xfe\xfa ok \xc3\x28"[..]),
                "/big-json" => with_header(
                    http::respond(200, big_json),
                    "content-type",
                    "application/json",
                ),
                "/late-needle" => http::respond(200, late_needle),
                "/zipped" => with_header(http::respond(200, zipped), "content-encoding", "gzip"),
                _ => http::respond(404, ""),
            }
        }
    });
    let huge = sized(64 * MIB);

    let probes = [
        // The issue's false alarms, each `down` before.
        probe("huge_no_assertion", format!("http://{huge}/"), ""),
        probe(
            "not_utf8_contains",
            format!("http://{web}/not-utf8"),
            "expect.body_contains = \"ok\"",
        ),
        probe(
            "not_utf8_matches",
            format!("http://{web}/not-utf8"),
            "expect.body_matches = '\\bok\\b'",
        ),
        // A JSON document larger than max_body: a clear `body` failure...
        probe(
            "json_too_big",
            format!("http://{web}/big-json"),
            "expect.json = { \"$.status\" = \"UP\" }",
        ),
        // ...that a larger max_body fixes.
        probe(
            "json_fits",
            format!("http://{web}/big-json"),
            "max_body = \"4MiB\"\nexpect.json = { \"$.status\" = \"UP\" }",
        ),
        probe(
            "needle_past_prefix",
            format!("http://{web}/late-needle"),
            "expect.body_contains = \"needle\"",
        ),
        probe(
            "needle_in_prefix",
            format!("http://{web}/late-needle"),
            "max_body = \"2MiB\"\nexpect.body_contains = \"needle\"",
        ),
        probe("zipped", format!("http://{web}/zipped"), ""),
    ];
    let ws = Workspace::new();
    let (code, doc) = ws.run_json(&probes.join("\n"), &[]);
    assert_eq!(code, 1, "{doc:#}");

    let check = |id: &str, outcome: &str, cause: Option<&str>| {
        let r = result(&doc, id).clone();
        assert_eq!(r["outcome"], outcome, "{id}: {r:#}");
        match cause {
            Some(c) => assert_eq!(r["cause"], c, "{id}: {r:#}"),
            None => assert!(r["cause"].is_null(), "{id}: {r:#}"),
        }
        r
    };
    let message = |r: &serde_json::Value| r["message"].as_str().unwrap_or_default().to_string();

    let r = check("huge_no_assertion", "up", None);
    assert_eq!(r["body_bytes"], 64 * MIB, "{r:#}");
    assert_eq!(r["body_decoded_bytes"], 64 * MIB, "{r:#}");
    assert!(r["phases"]["transfer_ms"].is_f64(), "{r:#}");
    assert_eq!(r["http_version"], "1.1", "{r:#}");
    assert_eq!(r["ip"], "127.0.0.1", "{r:#}");

    check("not_utf8_contains", "up", None);
    check("not_utf8_matches", "up", None);

    let r = check("json_too_big", "down", Some("body"));
    assert!(
        message(&r).contains("larger than max_body (1.0 MiB)"),
        "{r:#}"
    );
    assert!(
        message(&r).contains("expect.json needs the whole document"),
        "{r:#}"
    );
    check("json_fits", "up", None);

    let r = check("needle_past_prefix", "down", Some("assertion"));
    assert!(
        message(&r).contains("searched the first 1.0 MiB of 1.5 MiB"),
        "{r:#}"
    );
    check("needle_in_prefix", "up", None);

    let r = check("zipped", "up", None);
    assert_eq!(r["body_decoded_bytes"], 3 * MIB, "{r:#}");
    let wire = r["body_bytes"].as_u64().unwrap_or(u64::MAX);
    assert!(wire < 64 * 1024, "compressed size on the wire: {r:#}");
}

#[test]
fn max_body_is_checked_where_it_is_written() {
    let ws = Workspace::new();
    let cases = [
        (
            "max_body = \"0\"",
            "max_body must be between 1 byte and 64MiB",
        ),
        (
            "max_body = \"65MiB\"",
            "max_body must be between 1 byte and 64MiB",
        ),
        ("max_body = \"lots\"", "invalid size \"lots\""),
    ];
    for (line, want) in cases {
        let toml = format!("[[probe]]\nid = \"a\"\nurl = \"http://127.0.0.1:1/\"\n{line}\n");
        let path = ws.config(&toml);
        let out = support::outpost()
            .arg("check")
            .arg("-c")
            .arg(&path)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{line}: {stderr}");
        assert!(stderr.contains("probes.toml:4:"), "{line}: {stderr}");
        assert!(stderr.contains(want), "{line}: {stderr}");
    }
    let defaults =
        "[defaults]\nmax_body = \"128MiB\"\n[[probe]]\nid = \"a\"\nurl = \"http://127.0.0.1:1/\"\n";
    let out = support::outpost()
        .arg("check")
        .arg("-c")
        .arg(ws.config(defaults))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("probes.toml:2:"), "{stderr}");
}

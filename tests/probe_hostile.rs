//! Targets that misbehave: every failure becomes a `down` result with the right
//! cause, memory stays bounded and the run finishes, while targets that are
//! merely large, compressed or not UTF-8 stay `up`. One run, many probes.

mod support;

use std::io::Write;
use std::time::Duration;

use support::http::{self, Body};
use support::{Workspace, result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Read (part of) the request so the client is past writing it.
async fn read_request(stream: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = stream.read(&mut buf).await;
}

fn with_header(
    mut r: hyper::Response<Body>,
    name: &'static str,
    value: &str,
) -> hyper::Response<Body> {
    r.headers_mut()
        .insert(name, value.parse().expect("header value"));
    r
}

fn gzip_bomb() -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..10 {
        e.write_all(&zeros).expect("gzip");
    }
    e.finish().expect("gzip")
}

const DRIP_BYTES: usize = 100;
const DRIP_EVERY: Duration = Duration::from_millis(200);

#[test]
fn hostile_targets_are_classified() {
    let bomb = bytes::Bytes::from(gzip_bomb());
    let web = http::serve(move |req| {
        let bomb = bomb.clone();
        async move {
            match req.uri().path() {
                "/loop" => with_header(http::respond(302, ""), "location", "/loop"),
                "/bomb" => {
                    let r = with_header(http::respond(200, bomb), "content-encoding", "gzip");
                    with_header(r, "content-type", "text/plain")
                }
                "/latin1" => http::respond(200, &b"caf\xe9 ok"[..]),
                "/truncated-json" => http::respond(200, r#"{"status":"UP","items":[1,2"#),
                "/brotli" => with_header(http::respond(200, "xx"), "content-encoding", "br"),
                "/bad-gzip" => with_header(
                    http::respond(200, "not gzip at all"),
                    "content-encoding",
                    "gzip",
                ),
                _ => http::respond(404, ""),
            }
        }
    });
    let reset = http::serve_raw(|mut s| async move {
        read_request(&mut s).await;
        // Linger 0: close with RST instead of FIN.
        let _ = s.set_zero_linger();
        drop(s);
    });
    let garbage = http::serve_raw(|mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"SSH-2.0-OpenSSH_9.6\r\nthis is not http\r\n\r\n")
            .await;
    });
    let drip = http::serve_raw(|mut s| async move {
        read_request(&mut s).await;
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {DRIP_BYTES}\r\n\r\n");
        if s.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for _ in 0..DRIP_BYTES {
            tokio::time::sleep(DRIP_EVERY).await;
            if s.write_all(b"x").await.is_err() {
                return;
            }
        }
    });
    let hang = http::serve_raw(|mut s| async move {
        read_request(&mut s).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let huge = http::serve_raw(|mut s| async move {
        read_request(&mut s).await;
        let total: usize = 64 * 1024 * 1024;
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n");
        if s.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..total / chunk.len() {
            if s.write_all(&chunk).await.is_err() {
                return;
            }
        }
    });
    let short = http::serve_raw(|mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
            .await;
    });
    let closed = http::closed_port();

    // Generous timeouts, except where the timeout is what the probe tests.
    let probe = |id: &str, url: String, extra: &str| {
        let timeout = if extra.contains("timeout") {
            ""
        } else {
            "timeout = \"5s\""
        };
        format!("[[probe]]\nid = \"{id}\"\nurl = \"{url}\"\n{timeout}\n{extra}\n")
    };
    let probes = [
        probe("refused", format!("http://127.0.0.1:{closed}/"), ""),
        probe("reset", format!("http://{reset}/"), ""),
        probe("garbage", format!("http://{garbage}/"), ""),
        probe("drip", format!("http://{drip}/"), "timeout = \"1s\""),
        probe("hang", format!("http://{hang}/"), "timeout = \"1s\""),
        probe("loop", format!("http://{web}/loop"), ""),
        probe("bomb", format!("http://{web}/bomb"), ""),
        probe("huge", format!("http://{huge}/"), ""),
        probe(
            "latin1",
            format!("http://{web}/latin1"),
            "expect.body_contains = \"ok\"",
        ),
        probe(
            "truncated_json",
            format!("http://{web}/truncated-json"),
            "expect.json = { \"$.status\" = \"UP\" }",
        ),
        probe("brotli", format!("http://{web}/brotli"), ""),
        probe("bad_gzip", format!("http://{web}/bad-gzip"), ""),
        probe("short", format!("http://{short}/"), ""),
        probe("nxdomain", "http://does-not-exist.invalid/".to_string(), ""),
    ];
    let config = probes.join("\n");

    let ws = Workspace::new();
    let (code, doc) = ws.run_json(&config, &[]);
    assert_eq!(code, 1, "{doc:#}");

    let expect = |id: &str, cause: &str| {
        let r = result(&doc, id);
        assert_eq!(r["outcome"], "down", "{id}: {r:#}");
        assert_eq!(r["cause"], cause, "{id}: {r:#}");
        assert!(r["message"].is_string(), "{id}: {r:#}");
        r
    };
    assert_eq!(
        expect("refused", "connect")["message"],
        "connection refused"
    );
    expect("reset", "protocol");
    let r = expect("garbage", "protocol");
    assert!(
        r["message"]
            .as_str()
            .unwrap_or_default()
            .contains("malformed"),
        "{r:#}"
    );

    let r = expect("drip", "timeout");
    assert!(
        r["message"]
            .as_str()
            .unwrap_or_default()
            .contains("body transfer"),
        "{r:#}"
    );
    let drip_total_ms = (DRIP_BYTES as u128 * DRIP_EVERY.as_millis()) as f64;
    assert!(
        r["latency_ms"].as_f64().unwrap_or(f64::MAX) < drip_total_ms,
        "{r:#}"
    );
    assert!(
        r["phases"]["ttfb_ms"].is_f64(),
        "earlier phases kept: {r:#}"
    );
    assert_eq!(r["status"], 200, "{r:#}");

    let r = expect("hang", "timeout");
    assert!(
        r["message"]
            .as_str()
            .unwrap_or_default()
            .contains("waiting for response"),
        "{r:#}"
    );
    assert!(r["phases"]["connect_ms"].is_f64(), "{r:#}");

    assert_eq!(
        expect("loop", "protocol")["message"],
        "too many redirects (10)"
    );
    // Large or compressible is not hostile: with no body assertion the body is
    // read to its end and counted (tests/probe_body_memory.rs: 1 GiB, flat).
    let up = |id: &str| {
        let r = result(&doc, id);
        assert_eq!(r["outcome"], "up", "{id}: {r:#}");
        r
    };
    assert_eq!(up("bomb")["body_decoded_bytes"], 10 * 1024 * 1024);
    assert_eq!(up("huge")["body_bytes"], 64 * 1024 * 1024);
    // Not UTF-8, yet "ok" is there: `curl | grep ok` finds it, and so do we.
    up("latin1");
    expect("truncated_json", "body");
    expect("brotli", "body");
    expect("bad_gzip", "body");
    expect("short", "protocol");
    expect("nxdomain", "dns");
}

//! HTTP probes against a local server: phases, status, body/JSON/header
//! assertions, soft assertions, redirects, requests with bodies, compression and
//! secrets kept out of the output.

mod support;

use std::io::Write;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use support::http::{self, Body};
use support::{Workspace, result};

const HEALTH: &str = r#"{"status":"UP","queue":{"depth":42}}"#;
const TOKEN: &str = "s3cr3t-T0ken-value";

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("zlib");
    e.finish().expect("zlib")
}

fn with_header(mut r: Response<Body>, name: &'static str, value: &str) -> Response<Body> {
    r.headers_mut()
        .insert(name, value.parse().expect("header value"));
    r
}

/// Checks what the client sent to /echo: 200 when everything arrived as configured.
async fn echo(req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let header = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut problems = Vec::new();
    if parts.method != hyper::Method::POST {
        problems.push(format!("method {}", parts.method));
    }
    if header("x-test") != "yes" {
        problems.push("x-test".to_string());
    }
    if header("content-type") != "application/json" {
        problems.push("content-type".to_string());
    }
    if header("user-agent") != "outpost-test/1" {
        problems.push(format!("user-agent {}", header("user-agent")));
    }
    if !header("accept-encoding").contains("gzip") {
        problems.push("accept-encoding".to_string());
    }
    if !header("host").starts_with("127.0.0.1:") {
        problems.push("host".to_string());
    }
    if header("content-length") != body.len().to_string() {
        problems.push("content-length".to_string());
    }
    if &body[..] != br#"{"ping":true}"# {
        problems.push("body".to_string());
    }
    if problems.is_empty() {
        http::respond(200, "received")
    } else {
        http::respond(400, problems.join(", "))
    }
}

async fn route(req: Request<Incoming>) -> Response<Body> {
    let json = |body: &str| {
        with_header(
            http::respond(200, body.to_string()),
            "content-type",
            "application/json",
        )
    };
    let redirect = |status: u16, to: &str| with_header(http::respond(status, ""), "location", to);
    let path = req.uri().path().to_string();
    match path.as_str() {
        "/health" => json(HEALTH),
        "/created" => http::respond(201, "created"),
        "/teapot" => http::respond(418, "short and stout"),
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            http::respond(200, "finally")
        }
        "/gzip" => {
            let r = json(HEALTH);
            let mut r = with_header(r, "content-encoding", "gzip");
            *r.body_mut() = http::full(gzip(HEALTH.as_bytes()));
            r
        }
        "/deflate" => {
            let mut r = with_header(http::respond(200, ""), "content-encoding", "deflate");
            *r.body_mut() = http::full(zlib(b"deflated and fine"));
            r
        }
        // A chain with a relative path, a relative reference and an absolute path.
        "/r3" => redirect(307, "/r2"),
        "/r2" => redirect(302, "r1"),
        "/r1" => redirect(308, "/health"),
        "/echo" => echo(req).await,
        "/private" => {
            let auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let query = req.uri().query().unwrap_or_default();
            if auth == format!("Bearer {TOKEN}") && query == format!("key={TOKEN}") {
                http::respond(200, "welcome")
            } else {
                http::respond(401, "who are you")
            }
        }
        _ => http::respond(404, "not found"),
    }
}

fn probe(id: &str, addr: std::net::SocketAddr, path: &str, extra: &str) -> String {
    format!("[[probe]]\nid = \"{id}\"\nurl = \"http://{addr}{path}\"\n{extra}\n")
}

fn assert_outcome(doc: &serde_json::Value, id: &str, outcome: &str, cause: Option<&str>) {
    let r = result(doc, id);
    assert_eq!(r["outcome"], outcome, "{id}: {r:#}");
    match cause {
        Some(c) => assert_eq!(r["cause"], c, "{id}: {r:#}"),
        None => assert!(r["cause"].is_null(), "{id}: {r:#}"),
    }
}

#[test]
fn http_probes_measure_phases_and_check_assertions() {
    let addr = http::serve(route);
    let probes = [
        probe("up", addr, "/health", ""),
        probe(
            "status_list",
            addr,
            "/created",
            "expect.status = [200, 201]",
        ),
        probe(
            "status_range_fail",
            addr,
            "/teapot",
            r#"expect.status = ["2xx", "3xx"]"#,
        ),
        probe("status_default", addr, "/teapot", ""),
        probe("status_4xx", addr, "/teapot", r#"expect.status = ["4xx"]"#),
        probe(
            "contains",
            addr,
            "/health",
            r#"expect.body_contains = "UP""#,
        ),
        probe(
            "contains_fail",
            addr,
            "/health",
            r#"expect.body_contains = "DOWN""#,
        ),
        probe(
            "matches",
            addr,
            "/health",
            r#"expect.body_matches = '"depth":\s*\d+'"#,
        ),
        probe(
            "matches_fail",
            addr,
            "/health",
            r#"expect.body_matches = '^nope$'"#,
        ),
        probe(
            "json",
            addr,
            "/health",
            r#"expect.json = { "$.status" = "UP", "$.queue.depth" = "< 100" }"#,
        ),
        probe(
            "json_fail",
            addr,
            "/health",
            r#"expect.json = { "$.queue.depth" = "< 10" }"#,
        ),
        probe(
            "headers",
            addr,
            "/health",
            r#"expect.headers = { "content-type" = "~ application/json" }"#,
        ),
        probe(
            "headers_fail",
            addr,
            "/health",
            r#"expect.headers = { "x-missing" = "1" }"#,
        ),
        probe(
            "soft",
            addr,
            "/health",
            r#"degraded.body_contains = "DOWN""#,
        ),
        probe("soft_status", addr, "/created", "degraded.status = [200]"),
        probe("slow", addr, "/slow", r#"degraded_after = "100ms""#),
        probe("redirects", addr, "/r3", ""),
        probe(
            "no_follow",
            addr,
            "/r3",
            "follow_redirects = false\nexpect.status = [307]",
        ),
        probe("no_follow_default", addr, "/r3", "follow_redirects = false"),
        probe(
            "post",
            addr,
            "/echo",
            "method = \"POST\"\nbody = '{\"ping\":true}'\n\
             headers = { \"X-Test\" = \"yes\", \"Content-Type\" = \"application/json\" }",
        ),
        probe(
            "gzip",
            addr,
            "/gzip",
            r#"expect.json = { "$.status" = "UP" }"#,
        ),
        probe(
            "deflate",
            addr,
            "/deflate",
            r#"expect.body_contains = "deflated""#,
        ),
    ];
    let config = format!(
        "[defaults]\nuser_agent = \"outpost-test/1\"\n\n{}",
        probes.join("\n")
    );
    let ws = Workspace::new();
    let (code, doc) = ws.run_json(&config, &[]);
    assert_eq!(code, 1, "some probes are down: {doc:#}");

    let up = result(&doc, "up");
    assert_outcome(&doc, "up", "up", None);
    assert_eq!(up["status"], 200);
    assert!(up["phases"]["dns_ms"].is_null(), "no DNS for an IP: {up:#}");
    assert!(up["phases"]["tls_ms"].is_null(), "no TLS for http: {up:#}");
    for phase in ["connect_ms", "ttfb_ms", "transfer_ms"] {
        assert!(up["phases"][phase].is_f64(), "{phase}: {up:#}");
    }
    assert!(up["cert_expires_at"].is_null());

    assert_outcome(&doc, "status_list", "up", None);
    assert_outcome(&doc, "status_range_fail", "down", Some("status"));
    let r = result(&doc, "status_range_fail");
    assert_eq!(r["status"], 418, "status is recorded when down");
    assert_eq!(r["message"], "expected status 2xx, 3xx, got 418");
    assert_outcome(&doc, "status_default", "down", Some("status"));
    assert_outcome(&doc, "status_4xx", "up", None);

    assert_outcome(&doc, "contains", "up", None);
    assert_outcome(&doc, "contains_fail", "down", Some("assertion"));
    assert_outcome(&doc, "matches", "up", None);
    assert_outcome(&doc, "matches_fail", "down", Some("assertion"));
    assert_outcome(&doc, "json", "up", None);
    assert_outcome(&doc, "json_fail", "down", Some("assertion"));
    assert_eq!(
        result(&doc, "json_fail")["message"],
        "$.queue.depth is 42, expected < 10"
    );
    assert_outcome(&doc, "headers", "up", None);
    assert_outcome(&doc, "headers_fail", "down", Some("assertion"));

    assert_outcome(&doc, "soft", "degraded", Some("assertion"));
    assert_outcome(&doc, "soft_status", "degraded", Some("status"));
    assert_outcome(&doc, "slow", "degraded", Some("timeout"));

    assert_outcome(&doc, "redirects", "up", None);
    assert_eq!(result(&doc, "redirects")["status"], 200);
    assert_outcome(&doc, "no_follow", "up", None);
    assert_eq!(result(&doc, "no_follow")["status"], 307);
    assert_outcome(&doc, "no_follow_default", "down", Some("status"));

    assert_outcome(&doc, "post", "up", None);
    assert_outcome(&doc, "gzip", "up", None);
    assert_outcome(&doc, "deflate", "up", None);
}

#[test]
fn secrets_in_headers_and_query_never_reach_the_output() {
    let addr = http::serve(route);
    let closed = http::closed_port();
    let config = format!(
        "[[probe]]\nid = \"private\"\nurl = \"http://{addr}/private?key=${{API_TOKEN}}\"\n\
         headers = {{ Authorization = \"Bearer ${{API_TOKEN}}\" }}\n\n\
         [[probe]]\nid = \"private_fail\"\nurl = \"http://{addr}/private?key=${{API_TOKEN}}\"\n\
         headers = {{ Authorization = \"Bearer ${{API_TOKEN}}\" }}\nexpect.status = [204]\n\n\
         [[probe]]\nid = \"private_refused\"\nurl = \"http://127.0.0.1:{closed}/x?key=${{API_TOKEN}}\"\n"
    );
    let ws = Workspace::new();
    let cfg = ws.config(&config);
    let out = support::outpost()
        .env("API_TOKEN", TOKEN)
        .arg("run")
        .arg("-c")
        .arg(&cfg)
        .arg("--db")
        .arg(ws.db())
        .args(["--format", "json", "--location", "test"])
        .output()
        .expect("run outpost");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains(TOKEN), "secret in stdout:\n{stdout}");
    assert!(!stderr.contains(TOKEN), "secret in stderr:\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    // The server only says 200 when the secret arrived in both places.
    assert_outcome(&doc, "private", "up", None);
    assert_outcome(&doc, "private_fail", "down", Some("status"));
    assert_outcome(&doc, "private_refused", "down", Some("connect"));
    for id in ["private_fail", "private_refused"] {
        let message = result(&doc, id)["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(!message.contains(TOKEN), "{id}: {message}");
    }
}

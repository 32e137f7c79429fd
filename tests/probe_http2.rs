//! HTTP/2: negotiated by ALPN over TLS (a server that speaks only h2 is probed,
//! not failed), `http_version` to insist on one version, prior knowledge over
//! plain http, and the version that answered in the output.

mod support;

use support::tls::{self, Ca, LOCAL};
use support::{Workspace, http, result};

/// Answers 200 with the HTTP version the request came in and the authority
/// it named, so the test can tell what the client sent.
async fn version_echo(req: hyper::Request<hyper::body::Incoming>) -> hyper::Response<http::Body> {
    let authority = req
        .uri()
        .authority()
        .map(|a| a.to_string())
        .or_else(|| {
            req.headers()
                .get("host")
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_default();
    http::respond(200, format!("{:?} {authority}", req.version()))
}

#[test]
fn h2_by_alpn_and_insisting_on_a_version() {
    let ca = Ca::new();
    let h2_only = tls::serve_h2(ca.leaf(LOCAL, 365), version_echo);
    let h1_only = tls::serve_https_with(ca.leaf(LOCAL, 365), &[b"http/1.1"], None, version_echo);
    let no_alpn = tls::serve_https_with(ca.leaf(LOCAL, 365), &[], None, version_echo);
    let h2c = http::serve_h2c(version_echo);
    let plain = http::serve(version_echo);

    let p = |id: &str, url: String, extra: &str| {
        format!("[[probe]]\nid = \"{id}\"\nurl = \"{url}\"\nca_file = \"ca.pem\"\n{extra}\n")
    };
    let h2_body = "expect.body_contains = \"HTTP/2.0\"";
    let h1_body = "expect.body_contains = \"HTTP/1.1\"";
    let probes = [
        p("h2_only", format!("https://{h2_only}/"), h2_body),
        p(
            "h2_only_by_name",
            format!("https://localhost:{}/", h2_only.port()),
            &format!("{h2_body}\nexpect.body_matches = 'localhost:\\d+$'"),
        ),
        p(
            "h2_only_insist_2",
            format!("https://{h2_only}/"),
            &format!("http_version = \"2\"\n{h2_body}"),
        ),
        p(
            "h2_only_insist_1_1",
            format!("https://{h2_only}/"),
            "http_version = \"1.1\"",
        ),
        p("h1_only", format!("https://{h1_only}/"), h1_body),
        p(
            "h1_only_insist_2",
            format!("https://{h1_only}/"),
            "http_version = \"2\"",
        ),
        p(
            "no_alpn_insist_2",
            format!("https://{no_alpn}/"),
            "http_version = \"2\"",
        ),
        p("no_alpn", format!("https://{no_alpn}/"), h1_body),
        p(
            "h2c_prior_knowledge",
            format!("http://{h2c}/"),
            &format!("http_version = \"2\"\n{h2_body}"),
        ),
        p(
            "plain_insist_2",
            format!("http://{plain}/"),
            "http_version = \"2\"",
        ),
        p("plain", format!("http://{plain}/"), h1_body),
    ];
    let ws = Workspace::new();
    ca.write(ws.path());
    let (code, doc) = ws.run_json(&probes.join("\n"), &[]);
    assert_eq!(code, 1, "{doc:#}");

    let check = |id: &str, outcome: &str, cause: Option<&str>, version: Option<&str>| {
        let r = result(&doc, id).clone();
        assert_eq!(r["outcome"], outcome, "{id}: {r:#}");
        match cause {
            Some(c) => assert_eq!(r["cause"], c, "{id}: {r:#}"),
            None => assert!(r["cause"].is_null(), "{id}: {r:#}"),
        }
        match version {
            Some(v) => assert_eq!(r["http_version"], v, "{id}: {r:#}"),
            None => assert!(r["http_version"].is_null(), "{id}: {r:#}"),
        }
        r
    };
    let message = |r: &serde_json::Value| r["message"].as_str().unwrap_or_default().to_string();

    // Phases are measured inside the client for HTTP/2 too.
    let r = check("h2_only", "up", None, Some("2"));
    for phase in ["connect_ms", "tls_ms", "ttfb_ms", "transfer_ms"] {
        assert!(r["phases"][phase].is_f64(), "{phase}: {r:#}");
    }
    let r = check("h2_only_by_name", "up", None, Some("2"));
    assert!(r["phases"]["dns_ms"].is_f64(), "{r:#}");
    check("h2_only_insist_2", "up", None, Some("2"));
    let r = check("h2_only_insist_1_1", "down", Some("protocol"), None);
    assert_eq!(
        message(&r),
        "the server does not speak HTTP/1.1 (it refused http/1.1 in ALPN)",
        "{r:#}"
    );

    check("h1_only", "up", None, Some("1.1"));
    let r = check("h1_only_insist_2", "down", Some("protocol"), None);
    assert_eq!(
        message(&r),
        "the server does not speak HTTP/2 (it refused h2 in ALPN)",
        "{r:#}"
    );
    let r = check("no_alpn_insist_2", "down", Some("protocol"), None);
    assert_eq!(
        message(&r),
        "the server does not speak HTTP/2 (it did not choose h2 in ALPN)",
        "{r:#}"
    );
    check("no_alpn", "up", None, Some("1.1"));

    check("h2c_prior_knowledge", "up", None, Some("2"));
    let r = check("plain_insist_2", "down", Some("protocol"), None);
    assert!(
        message(&r).starts_with("the server does not speak HTTP/2 over plain http"),
        "{r:#}"
    );
    check("plain", "up", None, Some("1.1"));
}

#[test]
fn http_version_is_checked_where_it_is_written() {
    let ws = Workspace::new();
    let cases = [
        ("http_version = \"3\"", 4, "invalid http_version \"3\""),
        ("http_version = \"1.0\"", 4, "invalid http_version \"1.0\""),
    ];
    for (line, at, want) in cases {
        let toml = format!("[[probe]]\nid = \"a\"\nurl = \"https://127.0.0.1:1/\"\n{line}\n");
        let out = support::outpost()
            .arg("check")
            .arg("-c")
            .arg(ws.config(&toml))
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{line}: {stderr}");
        assert!(
            stderr.contains(&format!("probes.toml:{at}:")),
            "{line}: {stderr}"
        );
        assert!(stderr.contains(want), "{line}: {stderr}");
    }
    let tcp =
        "[[probe]]\nid = \"a\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:1\"\nhttp_version = \"2\"\n";
    let out = support::outpost()
        .arg("check")
        .arg("-c")
        .arg(ws.config(tcp))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("probes.toml:5:16: `http_version` does not apply to a tcp probe"),
        "{stderr}"
    );
}

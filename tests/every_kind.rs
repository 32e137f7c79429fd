//! Acceptance: one `probes.toml` with every kind, against local servers, gives the
//! right outcome, cause and phases for each, in one run of the real binary. Also:
//! no input to the config loader panics.

mod support;

use support::tls::{Ca, LOCAL};
use support::{Workspace, dns, http, result, tls};

#[test]
fn a_config_of_every_kind() {
    let ca = Ca::new();
    let web = http::serve(|_req| async {
        let mut r = http::respond(200, r#"{"status":"UP","queue":{"depth":3}}"#);
        r.headers_mut()
            .insert("content-type", "application/json".parse().expect("header"));
        r
    });
    let secure = tls::serve_https(ca.leaf(LOCAL, 90), |_req| async {
        http::respond(200, "ok")
    });
    let metrics = http::serve(|_req| async {
        http::respond(
            200,
            "# TYPE inflight gauge\ninflight 150\nup{job=\"api\"} 1\n",
        )
    });
    let resolver = dns::serve_dns();
    let closed = http::closed_port();
    let ws = Workspace::new();
    ca.write(ws.path());
    let toml = format!(
        r#"
[[probe]]
id = "http"
url = "http://{web}/health"
expect.json = {{ "$.status" = "UP", "$.queue.depth" = "< 100" }}
expect.headers = {{ "content-type" = "~ json" }}

[[probe]]
id = "https"
url = "https://localhost:{port}/"
ca_file = "ca.pem"
expect.cert_days = 30

[[probe]]
id = "tcp"
kind = "tcp"
target = "127.0.0.1:{closed}"

[[probe]]
id = "tls"
kind = "tls"
target = "localhost:{port}"
ca_file = "ca.pem"
expect.cert_days = 120

[[probe]]
id = "dns"
kind = "dns"
target = "www.example.test"
resolver = "{resolver}"
expect.answers = ["192.0.2.10"]

[[probe]]
id = "metrics"
kind = "metrics"
url = "http://{metrics}/metrics"
expect.metrics = {{ 'up{{job="api"}}' = "== 1", "inflight" = "< 200" }}
degraded.metrics = {{ "inflight" = "< 100" }}
"#,
        port = secure.port()
    );
    let (code, doc) = ws.run_json(&toml, &[]);
    assert_eq!(code, 1, "tcp is down: {doc:#}");

    let r = result(&doc, "http");
    assert_eq!(r["outcome"], "up", "{r:#}");
    assert!(r["cause"].is_null());
    assert_eq!(r["status"], 200);
    assert!(
        r["phases"]["dns_ms"].is_null(),
        "an IP literal needs no DNS"
    );
    assert!(r["phases"]["tls_ms"].is_null());
    for p in ["connect_ms", "ttfb_ms", "transfer_ms"] {
        assert!(r["phases"][p].is_f64(), "{p} in {r:#}");
    }

    let r = result(&doc, "https");
    assert_eq!(r["outcome"], "up", "{r:#}");
    for p in ["dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "transfer_ms"] {
        assert!(r["phases"][p].is_f64(), "{p} in {r:#}");
    }
    assert!(r["cert_expires_at"].is_string());

    let r = result(&doc, "tcp");
    assert_eq!(
        (r["outcome"].as_str(), r["cause"].as_str()),
        (Some("down"), Some("connect"))
    );
    assert!(r["status"].is_null());

    let r = result(&doc, "tls");
    assert_eq!(
        (r["outcome"].as_str(), r["cause"].as_str()),
        (Some("down"), Some("tls")),
        "{r:#}"
    );
    assert!(
        r["message"].as_str().unwrap_or("").contains("expires in"),
        "{r:#}"
    );
    assert!(r["phases"]["tls_ms"].is_f64());
    assert!(r["phases"]["ttfb_ms"].is_null());

    let r = result(&doc, "dns");
    assert_eq!(r["outcome"], "up", "{r:#}");
    assert!(r["phases"]["dns_ms"].is_f64());
    assert!(r["phases"]["connect_ms"].is_null());

    let r = result(&doc, "metrics");
    assert_eq!(
        (r["outcome"].as_str(), r["cause"].as_str()),
        (Some("degraded"), Some("assertion")),
        "{r:#}"
    );
    assert!(
        r["message"]
            .as_str()
            .unwrap_or("")
            .contains("inflight is 150"),
        "{r:#}"
    );
}

#[test]
fn no_prefix_of_the_example_config_panics_the_loader() {
    let example = include_str!("../probes.toml");
    let env = |_: &str| Some("x".to_string());
    let mut cuts: Vec<usize> = (0..example.len()).step_by(7).collect();
    cuts.push(example.len());
    for cut in cuts {
        if !example.is_char_boundary(cut) {
            continue;
        }
        let text = &example[..cut];
        // Every prefix either loads or is a located error; none panics.
        if let Err(e) = outpost::config::parse(std::path::Path::new("probes.toml"), text, env) {
            assert!(
                !e.problems().is_empty(),
                "an error with no location at {cut}"
            );
        }
    }
}

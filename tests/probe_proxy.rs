//! Proxies: `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` in both cases with
//! curl's precedence, a per-probe `proxy` (`""` turns it off), `CONNECT` for
//! https (HTTP/2 inside the tunnel too), credentials kept secret, and a proxy
//! that is not there reported as cause `connect` naming the proxy.

mod support;

use support::proxy::Proxy;
use support::tls::{self, Ca, LOCAL};
use support::{Workspace, http, result};

const VARS: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Run outpost with exactly these proxy variables; the JSON document, the exit
/// code and everything it printed.
fn run(ws: &Workspace, toml: &str, env: &[(&str, String)]) -> (i32, serde_json::Value, String) {
    ws.config(toml);
    let mut cmd = ws.run_cmd();
    for v in VARS {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .args(["--format", "json", "--location", "test"])
        .output()
        .expect("run outpost");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let doc = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}\n{stderr}"));
    (out.status.code().unwrap_or(-1), doc, stdout + &stderr)
}

fn probe(id: &str, url: String, extra: &str) -> String {
    format!("[[probe]]\nid = \"{id}\"\nurl = \"{url}\"\nca_file = \"ca.pem\"\n{extra}\n")
}

fn outcome(doc: &serde_json::Value, id: &str) -> (String, String, String) {
    let r = result(doc, id);
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    (s("outcome"), s("cause"), s("message"))
}

#[test]
fn environment_proxies_with_curls_rules() {
    let ca = Ca::new();
    let secure = tls::serve_https(ca.leaf(LOCAL, 365), |_| async { http::respond(200, "ok") });
    let h2_only = tls::serve_h2(ca.leaf(LOCAL, 365), |_| async { http::respond(200, "ok") });
    let plain = http::serve(|_| async { http::respond(200, "ok") });
    let proxy = Proxy::start(None);
    let closed = http::closed_port();

    let ws = Workspace::new();
    ca.write(ws.path());
    let config = [
        probe("secure", format!("https://{secure}/"), ""),
        probe(
            "h2_in_tunnel",
            format!("https://{h2_only}/"),
            "http_version = \"2\"",
        ),
        probe("plain", format!("http://{plain}/"), ""),
        probe("direct", format!("https://{secure}/"), "proxy = \"\""),
    ]
    .join("\n");
    // Lower case wins over upper case (curl's order); HTTP_PROXY in upper case
    // is honoured.
    let env = [
        ("https_proxy", proxy.url(None)),
        ("HTTPS_PROXY", format!("http://127.0.0.1:{closed}")),
        ("HTTP_PROXY", proxy.url(None)),
    ];
    let (code, doc, _) = run(&ws, &config, &env);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(result(&doc, "h2_in_tunnel")["http_version"], "2", "{doc:#}");
    let r = result(&doc, "secure");
    assert!(r["phases"]["connect_ms"].is_f64(), "{r:#}");
    assert!(r["phases"]["tls_ms"].is_f64(), "{r:#}");
    let seen = proxy.seen();
    let connects: Vec<&str> = seen
        .iter()
        .filter(|s| s.method == "CONNECT")
        .map(|s| s.target.as_str())
        .collect();
    assert_eq!(connects.len(), 2, "{seen:?}");
    assert!(connects.contains(&secure.to_string().as_str()), "{seen:?}");
    assert!(connects.contains(&h2_only.to_string().as_str()), "{seen:?}");
    assert!(
        seen.iter()
            .any(|s| s.method == "GET" && s.target == format!("http://{plain}/")),
        "plain http goes through the proxy in absolute form: {seen:?}"
    );

    // NO_PROXY: hosts (with subdomains), addresses and ranges go direct.
    // ALL_PROXY points nowhere, so only what NO_PROXY excludes can be up.
    let env = [
        ("ALL_PROXY", format!("http://127.0.0.1:{closed}")),
        ("no_proxy", "example.test, 127.0.0.0/8".to_string()),
    ];
    let (code, doc, _) = run(&ws, &config, &env);
    assert_eq!(code, 0, "{doc:#}");

    // A proxy that is not there: cause connect, and the message names it.
    let env = [("ALL_PROXY", format!("http://127.0.0.1:{closed}"))];
    let (code, doc, _) = run(&ws, &config, &env);
    assert_eq!(code, 1, "{doc:#}");
    let (o, cause, message) = outcome(&doc, "secure");
    assert_eq!((o.as_str(), cause.as_str()), ("down", "connect"), "{doc:#}");
    assert_eq!(
        message,
        format!(
            "proxy http://127.0.0.1:{closed} (from ALL_PROXY): cannot connect: connection refused"
        )
    );
    let (o, cause, _) = outcome(&doc, "plain");
    assert_eq!((o.as_str(), cause.as_str()), ("down", "connect"), "{doc:#}");
    assert_eq!(outcome(&doc, "direct").0, "up", "proxy = \"\" goes direct");
}

#[test]
fn per_probe_proxy_credentials_stay_secret() {
    let ca = Ca::new();
    let secure = tls::serve_https(ca.leaf(LOCAL, 365), |_| async { http::respond(200, "ok") });
    let plain = http::serve(|_| async { http::respond(200, "ok") });
    let guarded = Proxy::start(Some("probe:pr0xy-s3cret"));
    let closed = http::closed_port();

    let ws = Workspace::new();
    ca.write(ws.path());
    let good = guarded.url(Some("probe:pr0xy-s3cret"));
    let bad = guarded.url(Some("probe:wr0ng-pa55"));
    let config = [
        probe(
            "secure",
            format!("https://{secure}/"),
            &format!("proxy = \"{good}\""),
        ),
        probe(
            "plain",
            format!("http://{plain}/"),
            &format!("proxy = \"{good}\""),
        ),
        probe(
            "secure_env",
            format!("https://{secure}/"),
            "proxy = \"${PROXY_URL}\"",
        ),
        probe(
            "wrong_secret",
            format!("https://{secure}/"),
            &format!("proxy = \"{bad}\""),
        ),
        probe(
            "wrong_secret_plain",
            format!("http://{plain}/"),
            &format!("proxy = \"{bad}\""),
        ),
        probe(
            "absent",
            format!("https://{secure}/"),
            &format!("proxy = \"http://user:absent-s3cret@127.0.0.1:{closed}\""),
        ),
    ]
    .join("\n");
    let env = [
        ("PROXY_URL", good.clone()),
        // A probe's own proxy replaces the variables.
        ("HTTPS_PROXY", format!("http://127.0.0.1:{closed}")),
    ];
    let (code, doc, printed) = run(&ws, &config, &env);
    assert_eq!(code, 1, "{doc:#}");
    for id in ["secure", "plain", "secure_env"] {
        assert_eq!(outcome(&doc, id).0, "up", "{id}: {doc:#}");
    }
    assert!(
        guarded
            .seen()
            .iter()
            .filter(|s| s.auth.is_some())
            .all(|s| s.auth.as_deref().is_some_and(|a| a.starts_with("Basic "))),
        "{:?}",
        guarded.seen()
    );
    let proxy = guarded.addr;
    let (o, cause, message) = outcome(&doc, "wrong_secret");
    assert_eq!((o.as_str(), cause.as_str()), ("down", "connect"));
    assert_eq!(
        message,
        format!(
            "proxy http://{proxy} (from the probe's proxy key): refused the tunnel to {secure}: 407 Proxy Authentication Required"
        )
    );
    let (o, cause, message) = outcome(&doc, "wrong_secret_plain");
    assert_eq!((o.as_str(), cause.as_str()), ("down", "connect"));
    assert_eq!(
        message,
        format!("proxy http://{proxy} (from the probe's proxy key): authentication required (407)")
    );
    let (o, cause, message) = outcome(&doc, "absent");
    assert_eq!((o.as_str(), cause.as_str()), ("down", "connect"));
    assert!(
        message.contains(&format!("127.0.0.1:{closed}")),
        "{message}"
    );

    for secret in ["pr0xy-s3cret", "wr0ng-pa55", "absent-s3cret"] {
        assert!(!printed.contains(secret), "{secret} printed:\n{printed}");
    }
}

#[test]
fn proxy_is_checked_where_it_is_written() {
    let ws = Workspace::new();
    let cases = [
        (
            "proxy = \"socks5://127.0.0.1:1080\"",
            "unsupported proxy scheme \"socks5\"",
        ),
        ("proxy = \"http://\"", "invalid proxy URL"),
    ];
    for (line, want) in cases {
        let toml = format!("[[probe]]\nid = \"a\"\nurl = \"https://127.0.0.1:1/\"\n{line}\n");
        let out = support::outpost()
            .arg("check")
            .arg("-c")
            .arg(ws.config(&toml))
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{line}: {stderr}");
        assert!(stderr.contains("probes.toml:4:9:"), "{line}: {stderr}");
        assert!(stderr.contains(want), "{line}: {stderr}");
    }
}

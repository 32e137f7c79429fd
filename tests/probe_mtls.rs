//! Client certificates (mTLS) for `http`, `metrics` and `tls` probes: a server
//! that refuses clients without the right certificate, keys in PKCS#8, RSA
//! (PKCS#1) and EC (SEC1) PEM, and the key never printed.

mod support;

use support::tls::{self, Ca, LOCAL};
use support::{Workspace, http, result};

const METRICS: &str = "# TYPE up gauge\nup 1\n";

#[test]
fn client_certificates_for_every_kind_and_key_format() {
    let server_ca = Ca::new();
    let client_ca = Ca::new();
    let stranger_ca = Ca::new();
    let mtls = tls::serve_https_with(
        server_ca.leaf(LOCAL, 365),
        &[b"http/1.1"],
        Some(&client_ca),
        |req| async move {
            if req.uri().path() == "/metrics" {
                http::respond(200, METRICS)
            } else {
                http::respond(200, "hello, trusted client")
            }
        },
    );

    let ws = Workspace::new();
    server_ca.write(ws.path());
    let write = |name: &str, text: &str| {
        std::fs::write(ws.path().join(name), text).expect("write pem");
    };
    write("rsa.crt", &client_ca.client_cert(tls::RSA_PKCS8));
    write("rsa-pkcs1.key", tls::RSA_PKCS1);
    write("rsa-pkcs8.key", tls::RSA_PKCS8);
    write("ec.crt", &client_ca.client_cert(tls::EC_PKCS8));
    write("ec-sec1.key", tls::EC_SEC1);
    write("ec-pkcs8.key", tls::EC_PKCS8);
    write("stranger.crt", &stranger_ca.client_cert(tls::EC_PKCS8));

    let with = |crt: &str, key: &str| format!("client_cert = \"{crt}\"\nclient_key = \"{key}\"");
    let http_probe = |id: &str, path: &str, extra: &str| {
        format!(
            "[[probe]]\nid = \"{id}\"\nurl = \"https://{mtls}{path}\"\nca_file = \"ca.pem\"\n{extra}\n"
        )
    };
    let tls_probe = |id: &str, extra: &str| {
        format!(
            "[[probe]]\nid = \"{id}\"\nkind = \"tls\"\ntarget = \"{mtls}\"\nca_file = \"ca.pem\"\n{extra}\n"
        )
    };
    let probes = [
        http_probe("rsa_pkcs1", "/", &with("rsa.crt", "rsa-pkcs1.key")),
        http_probe("rsa_pkcs8", "/", &with("rsa.crt", "rsa-pkcs8.key")),
        http_probe("ec_sec1", "/", &with("ec.crt", "ec-sec1.key")),
        http_probe(
            "ec_pkcs8",
            "/",
            &format!(
                "{}\nexpect.body_contains = \"trusted client\"",
                with("ec.crt", "ec-pkcs8.key")
            ),
        ),
        http_probe("no_cert", "/", ""),
        http_probe("stranger", "/", &with("stranger.crt", "ec-pkcs8.key")),
        format!(
            "[[probe]]\nid = \"metrics\"\nkind = \"metrics\"\nurl = \"https://{mtls}/metrics\"\nca_file = \"ca.pem\"\n{}\nexpect.metrics = {{ up = \"== 1\" }}\n",
            with("ec.crt", "ec-sec1.key")
        ),
        tls_probe("tls_with_cert", &with("rsa.crt", "rsa-pkcs1.key")),
        tls_probe("tls_without_cert", ""),
    ];
    let (code, doc) = ws.run_json(&probes.join("\n"), &[]);
    assert_eq!(code, 1, "{doc:#}");

    for id in [
        "rsa_pkcs1",
        "rsa_pkcs8",
        "ec_sec1",
        "ec_pkcs8",
        "metrics",
        "tls_with_cert",
    ] {
        let r = result(&doc, id);
        assert_eq!(r["outcome"], "up", "{id}: {r:#}");
    }
    let down = |id: &str| {
        let r = result(&doc, id);
        assert_eq!(r["outcome"], "down", "{id}: {r:#}");
        assert_eq!(r["cause"], "tls", "{id}: {r:#}");
        r["message"].as_str().unwrap_or_default().to_string()
    };
    let asks = "the server requires a client certificate: set client_cert and client_key";
    assert_eq!(down("no_cert"), asks);
    assert_eq!(down("tls_without_cert"), asks);
    let m = down("stranger");
    assert!(m.contains("client certificate"), "{m}");

    let printed = doc.to_string();
    for key in [tls::RSA_PKCS1, tls::EC_SEC1] {
        let line = key.lines().nth(1).expect("a base64 line");
        assert!(!printed.contains(line), "key material printed");
    }
}

#[test]
fn client_cert_and_key_are_checked_at_load() {
    let ws = Workspace::new();
    let ca = Ca::new();
    std::fs::write(ws.path().join("ec.crt"), ca.client_cert(tls::EC_PKCS8)).expect("write");
    std::fs::write(ws.path().join("rsa.key"), tls::RSA_PKCS8).expect("write");
    std::fs::write(ws.path().join("ec.key"), tls::EC_SEC1).expect("write");
    std::fs::write(ws.path().join("empty.key"), "no key here\n").expect("write");
    let head = "[[probe]]\nid = \"a\"\nurl = \"https://127.0.0.1:1/\"\n";
    let cases = [
        (
            "client_cert = \"ec.crt\"\n",
            "probes.toml:4:15: client_cert needs client_key",
        ),
        (
            "client_key = \"ec.key\"\n",
            "probes.toml:4:14: client_key needs client_cert",
        ),
        (
            "client_cert = \"ec.crt\"\nclient_key = \"rsa.key\"\n",
            "is not the key of the certificate in",
        ),
        (
            "client_cert = \"ec.crt\"\nclient_key = \"empty.key\"\n",
            "holds no private key",
        ),
        (
            "client_cert = \"missing.crt\"\nclient_key = \"ec.key\"\n",
            "probes.toml:4:15: cannot read client_cert",
        ),
    ];
    for (lines, want) in cases {
        let out = support::outpost()
            .arg("check")
            .arg("-c")
            .arg(ws.config(&format!("{head}{lines}")))
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{lines}: {stderr}");
        assert!(stderr.contains(want), "{lines}: {stderr}");
        // The key file's content never shows, even in an error.
        let key_line = tls::RSA_PKCS8.lines().nth(1).expect("base64 line");
        assert!(!stderr.contains(key_line), "{stderr}");
    }
    let dns = "[[probe]]\nid = \"d\"\nkind = \"dns\"\ntarget = \"example.test\"\nclient_cert = \"ec.crt\"\nclient_key = \"ec.key\"\n";
    let out = support::outpost()
        .arg("check")
        .arg("-c")
        .arg(ws.config(dns))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`client_cert` does not apply to a dns probe"),
        "{stderr}"
    );
}

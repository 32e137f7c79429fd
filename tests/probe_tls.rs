//! TLS for `http` and `tls` probes against local HTTPS servers with certificates
//! from a test CA: trust, expiry, host names, `insecure`, `cert_days`.

mod support;

use support::tls::{self, Ca, LOCAL};
use support::{Workspace, http, result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn serve(identity: tls::Identity) -> std::net::SocketAddr {
    tls::serve_https(identity, |_req| async { http::respond(200, "secure ok") })
}

/// A TLS server that answers with `response` and drops the connection without
/// `close_notify`, as many real servers do.
fn serve_and_drop(ca: &Ca, response: &'static [u8]) -> std::net::SocketAddr {
    tls::serve_tls_raw(ca.leaf(LOCAL, 365), move |mut s| async move {
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        let _ = s.write_all(response).await;
        let _ = s.flush().await;
    })
}

#[test]
fn tls_trust_expiry_and_names() {
    let ca = Ca::new();
    let valid = serve(ca.leaf(LOCAL, 365));
    let soon = serve(ca.leaf(LOCAL, 6));
    let expired = serve(ca.leaf(LOCAL, -2));
    let untrusted = serve(tls::self_signed(LOCAL));
    let other_name = serve(ca.leaf(&["other.example"], 365));
    let unframed = serve_and_drop(&ca, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall good");
    // The false alarm: a certificate made with `openssl req -x509`
    // (its own issuer, CA:TRUE) trusted through ca_file, as with curl --cacert.
    let (own, own_pem) = tls::openssl_style_self_signed(&["localhost"]);
    let openssl_made = serve(own);
    let cut_short = serve_and_drop(
        &ca,
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nnot all",
    );

    let http = |id: &str, url: String, extra: &str| {
        format!("[[probe]]\nid = \"{id}\"\nurl = \"{url}\"\n{extra}\n")
    };
    let tls_kind = |id: &str, target: String, extra: &str| {
        format!("[[probe]]\nid = \"{id}\"\nkind = \"tls\"\ntarget = \"{target}\"\n{extra}\n")
    };
    let ca_file = "ca_file = \"ca.pem\"";
    let probes = [
        http("https_up", format!("https://{valid}/"), ca_file),
        http(
            "https_by_name",
            format!("https://localhost:{}/", valid.port()),
            ca_file,
        ),
        http("no_ca_file", format!("https://{valid}/"), ""),
        http("self_signed", format!("https://{untrusted}/"), ca_file),
        http(
            "insecure",
            format!("https://{untrusted}/"),
            "insecure = true",
        ),
        http(
            "soon_hard",
            format!("https://{soon}/"),
            &format!("{ca_file}\nexpect.cert_days = 14"),
        ),
        http(
            "soon_soft",
            format!("https://{soon}/"),
            &format!("{ca_file}\ndegraded.cert_days = 14"),
        ),
        http("expired", format!("https://{expired}/"), ca_file),
        http("wrong_name", format!("https://{other_name}/"), ca_file),
        http(
            "no_close_notify",
            format!("https://{unframed}/"),
            &format!("{ca_file}\nexpect.body_contains = \"all good\""),
        ),
        http("cut_short", format!("https://{cut_short}/"), ca_file),
        http(
            "self_signed_in_ca_file",
            format!("https://localhost:{}/", openssl_made.port()),
            "ca_file = \"own.pem\"",
        ),
        http(
            "self_signed_in_ca_file_wrong_name",
            format!("https://{openssl_made}/"),
            "ca_file = \"own.pem\"",
        ),
        http(
            "self_signed_not_in_ca_file",
            format!("https://localhost:{}/", openssl_made.port()),
            ca_file,
        ),
        tls_kind(
            "tls_self_signed_in_ca_file",
            format!("localhost:{}", openssl_made.port()),
            "ca_file = \"own.pem\"",
        ),
        tls_kind("tls_up", valid.to_string(), ca_file),
        tls_kind("tls_untrusted", untrusted.to_string(), ca_file),
        tls_kind(
            "tls_soon_hard",
            soon.to_string(),
            &format!("{ca_file}\nexpect.cert_days = 14"),
        ),
        tls_kind(
            "tls_soon_soft",
            soon.to_string(),
            &format!("{ca_file}\ndegraded.cert_days = 14"),
        ),
    ];
    let ws = Workspace::new();
    ca.write(ws.path());
    std::fs::write(ws.path().join("own.pem"), &own_pem).expect("write own.pem");
    let (code, doc) = ws.run_json(&probes.join("\n"), &[]);
    assert_eq!(code, 1, "{doc:#}");

    let check = |id: &str, outcome: &str, cause: Option<&str>| {
        let r = result(&doc, id);
        assert_eq!(r["outcome"], outcome, "{id}: {r:#}");
        match cause {
            Some(c) => assert_eq!(r["cause"], c, "{id}: {r:#}"),
            None => assert!(r["cause"].is_null(), "{id}: {r:#}"),
        }
        r.clone()
    };
    let message = |r: &serde_json::Value| r["message"].as_str().unwrap_or_default().to_string();

    let r = check("https_up", "up", None);
    assert!(r["phases"]["tls_ms"].is_f64(), "{r:#}");
    assert!(r["phases"]["dns_ms"].is_null(), "{r:#}");
    assert!(r["cert_expires_at"].is_string(), "{r:#}");
    let r = check("https_by_name", "up", None);
    assert!(r["phases"]["dns_ms"].is_f64(), "{r:#}");

    let r = check("no_ca_file", "down", Some("tls"));
    assert_eq!(
        message(&r),
        "the certificate's issuer (CN=Outpost Test CA) is not trusted: put that CA's certificate in ca_file",
        "{r:#}"
    );
    let r = check("self_signed", "down", Some("tls"));
    assert!(
        message(&r).starts_with("the certificate is self-signed ("),
        "{r:#}"
    );
    let r = check("insecure", "up", None);
    assert!(r["cert_expires_at"].is_string(), "{r:#}");

    let r = check("soon_hard", "down", Some("tls"));
    assert!(message(&r).contains("expires in 5 days"), "{r:#}");
    let r = check("soon_soft", "degraded", Some("tls"));
    assert!(r["cert_expires_at"].is_string(), "{r:#}");

    let r = check("expired", "down", Some("tls"));
    assert!(
        message(&r).starts_with("the certificate expired on "),
        "{r:#}"
    );
    assert!(message(&r).ends_with(" ago)"), "{r:#}");
    // The rejected certificate's expiry is still reported.
    assert!(r["cert_expires_at"].is_string(), "{r:#}");
    let r = check("wrong_name", "down", Some("tls"));
    assert_eq!(
        message(&r),
        "the certificate is for other.example, not 127.0.0.1",
        "{r:#}"
    );

    let r = check("self_signed_in_ca_file", "up", None);
    assert!(r["cert_expires_at"].is_string(), "{r:#}");
    check("tls_self_signed_in_ca_file", "up", None);
    // Trusted as itself, the certificate's names and dates still count.
    let r = check("self_signed_in_ca_file_wrong_name", "down", Some("tls"));
    assert_eq!(
        message(&r),
        "the certificate is for localhost, not 127.0.0.1",
        "{r:#}"
    );
    let r = check("self_signed_not_in_ca_file", "down", Some("tls"));
    assert_eq!(
        message(&r),
        "the certificate is self-signed (CN=localhost) and not trusted: put it in ca_file to trust it",
        "{r:#}"
    );

    check("no_close_notify", "up", None);
    let r = check("cut_short", "down", Some("protocol"));
    assert_eq!(
        message(&r),
        "connection closed before the body was complete",
        "{r:#}"
    );

    let r = check("tls_up", "up", None);
    assert!(r["cert_expires_at"].is_string(), "{r:#}");
    assert!(r["phases"]["tls_ms"].is_f64(), "{r:#}");
    assert!(r["status"].is_null(), "{r:#}");
    check("tls_untrusted", "down", Some("tls"));
    check("tls_soon_hard", "down", Some("tls"));
    check("tls_soon_soft", "degraded", Some("tls"));
}

//! `dns` probes against a local authoritative server (tests/support/dns.rs).

mod support;

use serde_json::Value;
use support::{Workspace, dns, result};

/// A `[[probe]]` block for a dns probe; `extra` is more TOML lines.
fn probe(id: &str, target: &str, record: &str, resolver: &str, extra: &str) -> String {
    format!(
        "[[probe]]\nid = \"{id}\"\nname = \"{id}\"\nkind = \"dns\"\ntarget = \"{target}\"\n\
         record = \"{record}\"\nresolver = \"{resolver}\"\n{extra}\n"
    )
}

fn assert_up(doc: &Value, id: &str) {
    let r = result(doc, id);
    assert_eq!(r["outcome"], "up", "{id}: {r:#}");
    assert!(r["cause"].is_null(), "{id}: {r:#}");
    assert!(r["phases"]["dns_ms"].is_number(), "{id}: {r:#}");
    for phase in ["connect_ms", "tls_ms", "ttfb_ms", "transfer_ms"] {
        assert!(r["phases"][phase].is_null(), "{id} {phase}: {r:#}");
    }
    assert!(r["status"].is_null(), "{id}: {r:#}");
}

fn assert_down(doc: &Value, id: &str, cause: &str) -> String {
    let r = result(doc, id);
    assert_eq!(r["outcome"], "down", "{id}: {r:#}");
    assert_eq!(r["cause"], cause, "{id}: {r:#}");
    r["message"].as_str().unwrap_or_default().to_string()
}

#[test]
fn every_record_type_answers_up() {
    let server = dns::serve_dns().to_string();
    let s = server.as_str();
    let config = [
        probe(
            "a",
            "www.example.test",
            "A",
            s,
            "expect.answers = [\"192.0.2.10\", \"192.0.2.11\"]",
        ),
        probe("a-no-expect", "WWW.Example.Test.", "A", s, ""),
        probe(
            "aaaa",
            "www.example.test",
            "AAAA",
            s,
            "expect.answers = [\"2001:db8:0::10\"]",
        ),
        probe(
            "cname",
            "alias.example.test",
            "CNAME",
            s,
            "expect.answers = [\"www.example.test\"]",
        ),
        probe(
            "mx",
            "example.test",
            "MX",
            s,
            "expect.answers = [\"10 mail.example.test\", \"backup.example.test.\"]",
        ),
        probe(
            "txt",
            "example.test",
            "TXT",
            s,
            "expect.answers = [\"v=spf1 -all\"]",
        ),
        probe(
            "ns",
            "example.test",
            "NS",
            s,
            "expect.answers = [\"ns1.example.test\", \"ns2.example.test\"]",
        ),
    ]
    .concat();
    let ws = Workspace::new();
    let (code, doc) = ws.run_json(&config, &[]);
    for id in ["a", "a-no-expect", "aaaa", "cname", "mx", "txt", "ns"] {
        assert_up(&doc, id);
    }
    assert_eq!(code, 0, "{doc:#}");
}

#[test]
fn failures_are_classified() {
    let server = dns::serve_dns().to_string();
    let s = server.as_str();
    let config = [
        probe(
            "missing",
            "www.example.test",
            "A",
            s,
            "expect.answers = [\"192.0.2.10\", \"192.0.2.99\"]",
        ),
        probe(
            "soft",
            "www.example.test",
            "A",
            s,
            "degraded.answers = [\"192.0.2.99\"]",
        ),
        probe("nxdomain", "nope.example.test", "A", s, ""),
        probe("nodata", "alias.example.test", "MX", s, ""),
        probe("servfail", dns::SERVFAIL_NAME, "A", s, ""),
    ]
    .concat();
    let ws = Workspace::new();
    let (code, doc) = ws.run_json(&config, &[]);
    assert_eq!(code, 1, "{doc:#}");

    let msg = assert_down(&doc, "missing", "assertion");
    assert!(msg.contains("192.0.2.99"), "{msg}");
    assert!(msg.contains("192.0.2.10, 192.0.2.11"), "{msg}");
    assert!(
        result(&doc, "missing")["phases"]["dns_ms"].is_number(),
        "{doc:#}"
    );

    let soft = result(&doc, "soft");
    assert_eq!(soft["outcome"], "degraded", "{soft:#}");
    assert_eq!(soft["cause"], "assertion", "{soft:#}");

    let msg = assert_down(&doc, "nxdomain", "dns");
    assert_eq!(msg, "no A records for nope.example.test (NXDOMAIN)");
    let msg = assert_down(&doc, "nodata", "dns");
    assert_eq!(msg, "no MX records for alias.example.test");
    let msg = assert_down(&doc, "servfail", "dns");
    assert!(msg.contains("SERVFAIL"), "{msg}");
}

#[test]
fn a_resolver_that_never_answers_is_down() {
    let silent = dns::serve_silent().to_string();
    let config = probe(
        "silent",
        "www.example.test",
        "A",
        &silent,
        "timeout = \"1s\"",
    );
    let ws = Workspace::new();
    let (code, doc) = ws.run_json(&config, &[]);
    assert_eq!(code, 1, "{doc:#}");
    let r = result(&doc, "silent");
    assert_eq!(r["outcome"], "down", "{r:#}");
    assert!(r["cause"] == "timeout" || r["cause"] == "dns", "{r:#}");
}

//! `ip_version`: probes over IPv6 (`[::1]`) and IPv4, the address reached in
//! the output, a name without an address of the family, and `outpost check`
//! refusing an `ip_version` that an IP-literal target contradicts.
//!
//! Happy Eyeballs itself (a blackholed first address losing to the second) is
//! tested in src/probe/net/happy_eyeballs.rs: it needs a name with two
//! addresses, which a test cannot give the system resolver.

mod support;

use std::net::ToSocketAddrs;

use support::{Workspace, http, result};

#[test]
fn probes_over_each_family_record_the_address() {
    let v4 = http::serve(|_| async { http::respond(200, "v4") });
    let v6 = http::serve_v6(|_| async { http::respond(200, "v6") });
    let v6_port = v6.map(|a| a.port()).unwrap_or_else(http::closed_port);
    let probes = format!(
        "[[probe]]\nid = \"http6\"\nurl = \"http://[::1]:{v6_port}/\"\nip_version = \"6\"\n\
         [[probe]]\nid = \"tcp6\"\nkind = \"tcp\"\ntarget = \"[::1]:{v6_port}\"\nip_version = 6\n\
         [[probe]]\nid = \"name4\"\nurl = \"http://localhost:{}/\"\nip_version = \"4\"\n\
         [[probe]]\nid = \"name6\"\nurl = \"http://localhost:{}/\"\nip_version = \"6\"\n\
         [[probe]]\nid = \"any\"\nurl = \"http://{v4}/\"\n",
        v4.port(),
        v4.port()
    );
    let ws = Workspace::new();
    let (_, doc) = ws.run_json(&probes, &[]);

    if v6.is_some() {
        for id in ["http6", "tcp6"] {
            let r = result(&doc, id);
            assert_eq!(r["outcome"], "up", "{id}: {r:#}");
            assert_eq!(r["ip"], "::1", "{id}: {r:#}");
        }
    } else {
        // No IPv6 loopback on this machine: the probe says so, as `connect`.
        let r = result(&doc, "http6");
        assert_eq!(r["cause"], "connect", "{r:#}");
    }
    let r = result(&doc, "name4");
    assert_eq!(r["outcome"], "up", "{r:#}");
    assert_eq!(r["ip"], "127.0.0.1", "{r:#}");
    assert!(r["phases"]["dns_ms"].is_f64(), "{r:#}");
    let r = result(&doc, "any");
    assert_eq!(r["ip"], "127.0.0.1", "{r:#}");

    let localhost_has_v6 = ("localhost", 80)
        .to_socket_addrs()
        .map(|mut a| a.any(|a| a.is_ipv6()))
        .unwrap_or(false);
    let r = result(&doc, "name6");
    assert_eq!(r["outcome"], "down", "{r:#}");
    if localhost_has_v6 {
        // The server listens on 127.0.0.1 only.
        assert_eq!(r["cause"], "connect", "{r:#}");
        assert_eq!(r["ip"], serde_json::Value::Null, "{r:#}");
    } else {
        assert_eq!(r["cause"], "dns", "{r:#}");
        assert_eq!(
            r["message"], "localhost has no IPv6 address (ip_version = \"6\")",
            "{r:#}"
        );
    }
}

#[test]
fn check_refuses_an_ip_version_the_target_contradicts() {
    let ws = Workspace::new();
    let cases = [
        (
            "[[probe]]\nid = \"a\"\nurl = \"http://127.0.0.1:8080/\"\nip_version = \"6\"\n",
            "probes.toml:4:14: ip_version = \"6\" contradicts the target, an IPv4 address (127.0.0.1)",
        ),
        (
            "[[probe]]\nid = \"a\"\nkind = \"tcp\"\ntarget = \"[::1]:5432\"\nip_version = \"4\"\n",
            "probes.toml:5:14: ip_version = \"4\" contradicts the target, an IPv6 address (::1)",
        ),
        (
            "[defaults]\nip_version = \"6\"\n[[probe]]\nid = \"a\"\nkind = \"tls\"\ntarget = \"127.0.0.1:443\"\n",
            "probes.toml:2:14: ip_version = \"6\" contradicts the target",
        ),
        (
            "[[probe]]\nid = \"a\"\nurl = \"http://example.test/\"\nip_version = \"5\"\n",
            "probes.toml:4:14: invalid ip_version \"5\"",
        ),
        (
            "[[probe]]\nid = \"a\"\nkind = \"dns\"\ntarget = \"example.test\"\nip_version = \"4\"\n",
            "probes.toml:5:14: `ip_version` does not apply to a dns probe",
        ),
    ];
    for (toml, want) in cases {
        let out = support::outpost()
            .arg("check")
            .arg("-c")
            .arg(ws.config(toml))
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{toml}: {stderr}");
        assert!(stderr.contains(want), "{toml}\n{stderr}");
    }
    // A host name and a matching literal are fine.
    let fine = "[[probe]]\nid = \"a\"\nurl = \"http://[::1]:8080/\"\nip_version = \"6\"\n\
                [[probe]]\nid = \"b\"\nurl = \"https://example.test/\"\nip_version = \"4\"\n";
    let out = support::outpost()
        .arg("check")
        .arg("-c")
        .arg(ws.config(fine))
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

//! `tcp` probes: a timed connect to a listener, refused on a closed port.

mod support;

use support::{Workspace, http, result};

#[test]
fn tcp_connects_or_is_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let open = listener.local_addr().expect("addr");
    let closed = http::closed_port();
    let config = format!(
        "[[probe]]\nid = \"open\"\nkind = \"tcp\"\ntarget = \"{open}\"\n\n\
         [[probe]]\nid = \"by_name\"\nkind = \"tcp\"\ntarget = \"localhost:{}\"\n\n\
         [[probe]]\nid = \"closed\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{closed}\"\n",
        open.port()
    );
    let ws = Workspace::new();
    let (code, doc) = ws.run_json(&config, &[]);
    assert_eq!(code, 1, "{doc:#}");

    let r = result(&doc, "open");
    assert_eq!(r["outcome"], "up", "{r:#}");
    assert!(r["cause"].is_null(), "{r:#}");
    assert!(r["phases"]["dns_ms"].is_null(), "{r:#}");
    assert!(r["phases"]["connect_ms"].is_f64(), "{r:#}");
    assert!(r["phases"]["ttfb_ms"].is_null(), "{r:#}");

    let r = result(&doc, "by_name");
    assert_eq!(r["outcome"], "up", "{r:#}");
    assert!(r["phases"]["dns_ms"].is_f64(), "{r:#}");

    let r = result(&doc, "closed");
    assert_eq!(r["outcome"], "down", "{r:#}");
    assert_eq!(r["cause"], "connect", "{r:#}");
    assert_eq!(r["message"], "connection refused", "{r:#}");
    drop(listener);
}

//! `host_concurrency`: at most that many probes at once against one host, from
//! `[defaults]` or per probe, 4 when unset, and located errors outside 1–256.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{Workspace, http, result};

/// A server that holds each request a moment and records the most requests
/// it ever had in flight at once.
fn counting() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (n, p) = (now.clone(), peak.clone());
    let addr = http::serve(move |_| {
        let (n, p) = (n.clone(), p.clone());
        async move {
            let running = n.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(running, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(150)).await;
            n.fetch_sub(1, Ordering::SeqCst);
            http::respond(200, "ok")
        }
    });
    (addr, peak)
}

fn probes(addr: std::net::SocketAddr, count: usize, extra: &str) -> String {
    (0..count)
        .map(|i| format!("[[probe]]\nid = \"p{i}\"\nurl = \"http://{addr}/{i}\"\n{extra}\n"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn probes_on_one_host_stay_within_the_bound() {
    let ws = Workspace::new();
    for (defaults, per_probe, bound) in [
        ("", "", 4),
        ("[defaults]\nhost_concurrency = 2\n", "", 2),
        (
            "[defaults]\nhost_concurrency = 8\n",
            "host_concurrency = 1",
            1,
        ),
    ] {
        let (addr, peak) = counting();
        let config = format!("{defaults}{}", probes(addr, 10, per_probe));
        let (code, doc) = ws.run_json(&config, &[]);
        assert_eq!(code, 0, "{doc:#}");
        for i in 0..10 {
            assert_eq!(result(&doc, &format!("p{i}"))["outcome"], "up");
        }
        let peak = peak.load(Ordering::SeqCst);
        assert!(
            (1..=bound).contains(&peak),
            "{peak} requests at once with a bound of {bound}"
        );
    }
}

#[test]
fn host_concurrency_is_checked_where_it_is_written() {
    let ws = Workspace::new();
    for (toml, at) in [
        (
            "[defaults]\nhost_concurrency = 0\n[[probe]]\nid = \"a\"\nurl = \"http://127.0.0.1:1/\"\n",
            "probes.toml:2:20",
        ),
        (
            "[[probe]]\nid = \"a\"\nurl = \"http://127.0.0.1:1/\"\nhost_concurrency = 257\n",
            "probes.toml:4:20",
        ),
    ] {
        let out = support::outpost()
            .arg("check")
            .arg("-c")
            .arg(ws.config(toml))
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("{at}: host_concurrency must be between 1 and 256")),
            "{stderr}"
        );
    }
}

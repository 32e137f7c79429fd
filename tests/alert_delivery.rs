//! Issue 9, item 9: delivery that respects receivers and never stalls the run.
//! `Retry-After` on 429 and 503 is honoured: waited for within the run when it
//! is short, kept as a not-before time when it is not. Channels are delivered
//! concurrently under one bound, so hanging receivers cost one timeout, not
//! one each. Observed at the receivers (counts, concurrency), never by timing.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Workspace, http};

fn at(minutes: i64) -> String {
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z").expect("t0");
    (t0 + chrono::Duration::minutes(minutes)).to_rfc3339()
}

/// One failing probe (alerting at once) and a webhook channel per hook.
fn config(hooks: &[SocketAddr]) -> String {
    let target = http::serve(|_req| async { http::respond(503, "down") });
    let mut toml = format!(
        "[defaults]\nfailure_threshold = 1\n\n[[probe]]\nid = \"api\"\nurl = \"http://{target}/\"\n"
    );
    for (i, hook) in hooks.iter().enumerate() {
        toml.push_str(&format!(
            "\n[[channel]]\nname = \"hook{i}\"\nkind = \"webhook\"\nurl = \"http://{hook}/\"\n"
        ));
    }
    toml
}

fn with_retry_after(status: u16, seconds: u64) -> hyper::Response<http::Body> {
    let mut r = http::respond(status, "slow down");
    r.headers_mut().insert(
        "retry-after",
        hyper::header::HeaderValue::from_str(&seconds.to_string()).expect("header"),
    );
    r
}

#[test]
fn a_short_retry_after_is_waited_for_within_the_run() {
    // 503 with `Retry-After: 2` on the first request; a request that comes
    // back sooner than asked is counted and refused again.
    let first: Arc<Mutex<Option<Instant>>> = Arc::default();
    let early = Arc::new(AtomicUsize::new(0));
    let (f, e) = (first.clone(), early.clone());
    let hook = http::serve(move |_req| {
        let (f, e) = (f.clone(), e.clone());
        async move {
            let mut first = f.lock().expect("lock");
            match *first {
                None => {
                    *first = Some(Instant::now());
                    with_retry_after(503, 2)
                }
                Some(t) if t.elapsed() < Duration::from_secs(2) => {
                    e.fetch_add(1, Ordering::SeqCst);
                    with_retry_after(503, 2)
                }
                Some(_) => http::respond(200, "ok"),
            }
        }
    });
    let ws = Workspace::new();
    let (_, doc) = ws.run_json(&config(&[hook]), &["--now", &at(0)]);
    assert_eq!(
        early.load(Ordering::SeqCst),
        0,
        "came back too soon: {doc:#}"
    );
    assert_eq!(doc["notifications"]["delivered"], 1, "{doc:#}");
}

#[test]
fn a_long_retry_after_keeps_the_notification_queued_until_then() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let hook = http::serve(move |_req| {
        let n = h.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                with_retry_after(429, 3600)
            } else {
                http::respond(200, "ok")
            }
        }
    });
    let ws = Workspace::new();
    let toml = config(&[hook]);
    let (_, doc) = ws.run_json(&toml, &["--now", &at(0)]);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "no retry inside the run: {doc:#}"
    );
    assert_eq!(doc["notifications"]["pending"], 1, "{doc:#}");

    let (_, doc) = ws.run_json(&toml, &["--now", &at(30)]);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "not before the hour: {doc:#}"
    );
    assert_eq!(doc["notifications"]["pending"], 1, "{doc:#}");

    let (_, doc) = ws.run_json(&toml, &["--now", &at(61)]);
    assert_eq!(hits.load(Ordering::SeqCst), 2, "{doc:#}");
    assert_eq!(doc["notifications"]["delivered"], 1, "{doc:#}");
}

/// One request held by a receiver; no longer counted once answered or once
/// the client gave up on it (hyper drops the handler's future).
struct Held {
    count: Arc<AtomicUsize>,
    now: usize,
}

impl Held {
    fn new(count: Arc<AtomicUsize>) -> Self {
        let now = count.fetch_add(1, Ordering::SeqCst) + 1;
        Held { count, now }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Receivers that answer only once all `n` of them hold a request at the same
/// time; `peak` is the most requests ever held at once.
fn rendezvous(n: usize) -> (Vec<SocketAddr>, Arc<AtomicUsize>) {
    let waiting = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let all_in = Arc::new(tokio::sync::Notify::new());
    let hooks = (0..n)
        .map(|_| {
            let (w, p, a) = (waiting.clone(), peak.clone(), all_in.clone());
            http::serve(move |_req| {
                let (w, p, a) = (w.clone(), p.clone(), a.clone());
                async move {
                    let notified = a.notified();
                    let held = Held::new(w);
                    p.fetch_max(held.now, Ordering::SeqCst);
                    if held.now >= n {
                        a.notify_waiters();
                    } else {
                        notified.await;
                    }
                    http::respond(200, "ok")
                }
            })
        })
        .collect();
    (hooks, peak)
}

#[test]
fn channels_are_delivered_concurrently() {
    let (hooks, peak) = rendezvous(3);
    let ws = Workspace::new();
    let (_, doc) = ws.run_json(&config(&hooks), &["--now", &at(0)]);
    assert_eq!(peak.load(Ordering::SeqCst), 3, "{doc:#}");
    assert_eq!(doc["notifications"]["delivered"], 3, "{doc:#}");
}

#[test]
fn hanging_receivers_cost_one_attempt_each_and_stay_queued() {
    let hits = Arc::new(AtomicUsize::new(0));
    let hooks: Vec<SocketAddr> = (0..3)
        .map(|_| {
            let h = hits.clone();
            http::serve(move |_req| {
                h.fetch_add(1, Ordering::SeqCst);
                async {
                    tokio::time::sleep(Duration::from_secs(600)).await;
                    http::respond(200, "too late")
                }
            })
        })
        .collect();
    let ws = Workspace::new();
    let (_, doc) = ws.run_json(&config(&hooks), &["--now", &at(0)]);
    assert_eq!(doc["notifications"]["pending"], 3, "{doc:#}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "a receiver that let the timeout pass is not asked again in this run: {doc:#}"
    );
}

//! `flow` probes against a local shop: log in (bearer and cookie), create,
//! read and delete an order; a failure at step 2 that still runs clean-up; a
//! capture that misses; a token that must not reach any output or the store;
//! `check` refusing unknown `{{names}}`; flows in JUnit, metrics.prom, the
//! page, `--repeat`, `merge` and `watch`.

#[path = "flow/shop.rs"]
mod shop;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use outpost::model::ProbeId;
use outpost::store::Store;
use support::{Workspace, outpost, result};

/// Login, create, read, delete: the README's example, against `addr`.
fn crud(addr: std::net::SocketAddr) -> String {
    format!(
        r#"[[probe]]
id = "shop"
name = "Shop orders"
kind = "flow"
timeout = "10s"
degraded_after = "10s"

[[probe.step]]
name = "log in"
url = "http://{addr}/login"
method = "POST"
headers = {{ Content-Type = "application/json" }}
body = '{{"user": "alice", "password": "pw"}}'
capture = {{ token = {{ json = "$.access_token" }} }}

[[probe.step]]
name = "create order"
url = "http://{addr}/orders"
method = "POST"
headers = {{ Authorization = "Bearer {{{{token}}}}", Content-Type = "application/json" }}
body = '{{"item": "probe-{{{{uuid}}}}", "at": "{{{{now}}}}"}}'
expect.status = [201]
capture = {{ id = {{ header = "Location", regex = "/orders/(\\d+)" }}, created = "status" }}

[[probe.step]]
name = "read order"
url = "http://{addr}/orders/{{{{id}}}}"
headers = {{ Authorization = "Bearer {{{{token}}}}" }}
expect.body_contains = "probe-"

[[probe.step]]
name = "delete order"
always = true
method = "DELETE"
url = "http://{addr}/orders/{{{{id}}}}"
headers = {{ Authorization = "Bearer {{{{token}}}}" }}
expect.status = [204]
"#
    )
}

fn steps(r: &serde_json::Value) -> &Vec<serde_json::Value> {
    r["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no steps in {r:#}"))
}

fn outcomes(r: &serde_json::Value) -> Vec<&str> {
    steps(r)
        .iter()
        .map(|s| s["outcome"].as_str().unwrap_or("?"))
        .collect()
}

#[test]
fn a_flow_logs_in_creates_reads_and_deletes() {
    let (addr, shop) = shop::start();
    let ws = Workspace::new();
    let (code, doc) = ws.run_json(&crud(addr), &[]);
    let r = result(&doc, "shop");
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(r["outcome"], "up", "{r:#}");
    assert_eq!(outcomes(r), ["up", "up", "up", "up"]);
    let s = steps(r);
    assert_eq!(s[0]["name"], "log in");
    assert_eq!(s[0]["captures"], serde_json::json!(["token"]));
    assert_eq!(s[1]["captures"], serde_json::json!(["created", "id"]));
    assert_eq!(s[1]["status"], 201);
    assert_eq!(s[3]["always"], true);
    assert_eq!(s[3]["status"], 204);
    for step in s {
        assert!(step["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0));
        assert!(step["phases"]["connect_ms"].as_f64().is_some(), "{step:#}");
    }
    // The flow's phases are its steps' summed.
    let sum: f64 = s
        .iter()
        .filter_map(|st| st["phases"]["connect_ms"].as_f64())
        .sum();
    let total = r["phases"]["connect_ms"].as_f64().expect("connect");
    assert!((sum - total).abs() < 0.01, "{sum} vs {total}");
    assert_eq!(shop.created.load(Ordering::SeqCst), 1);
    assert_eq!(shop.deleted.load(Ordering::SeqCst), 1);
    assert!(shop.orders.lock().expect("lock").is_empty());

    // Stored with its steps, and read back with them.
    let store = Store::open(&ws.db()).expect("open");
    let stored = store
        .results_for(&ProbeId("shop".into()), 1)
        .expect("results");
    let names: Vec<&str> = stored[0].steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["log in", "create order", "read order", "delete order"]
    );
    assert_eq!(stored[0].steps[0].captures, ["token"]);
}

#[test]
fn cookies_carry_the_session_like_a_browser() {
    let (addr, _shop) = shop::start();
    let ws = Workspace::new();
    let toml = format!(
        r#"[[probe]]
id = "session"
kind = "flow"
degraded_after = "10s"

[[probe.step]]
name = "log in"
url = "http://{addr}/login"
method = "POST"
body = '{{"user": "alice", "password": "pw"}}'

# A configured cookie and the jar's travel in one `Cookie` header.
[[probe.step]]
name = "who am I"
url = "http://{addr}/me"
headers = {{ Cookie = "theme=dark" }}
expect.json = {{ "$.via" = "cookie" }}

[[probe.step]]
name = "log out"
url = "http://{addr}/logout"
method = "POST"
expect.status = [204]

[[probe.step]]
name = "logged out"
url = "http://{addr}/me"
expect.status = [401]
"#
    );
    let (code, doc) = ws.run_json(&toml, &[]);
    let r = result(&doc, "session");
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(outcomes(r), ["up", "up", "up", "up"], "{r:#}");
}

#[test]
fn a_failure_at_step_2_is_reported_and_clean_up_still_runs() {
    let (addr, shop) = shop::start();
    shop.break_create.store(true, Ordering::SeqCst);
    let ws = Workspace::new();
    let toml = format!(
        r#"{}
[[probe.step]]
name = "log out"
always = true
method = "POST"
url = "http://{addr}/logout"
headers = {{ Authorization = "Bearer {{{{token}}}}" }}
"#,
        crud(addr)
    );
    let (code, doc) = ws.run_json(&toml, &[]);
    let r = result(&doc, "shop");
    assert_eq!(code, 1);
    assert_eq!(r["outcome"], "down");
    assert_eq!(r["cause"], "status");
    assert_eq!(
        r["message"], "step 2 `create order`: expected status 201, got 500",
        "{r:#}"
    );
    assert_eq!(r["status"], 500);
    assert_eq!(outcomes(r), ["up", "down", "skipped", "skipped", "up"]);
    // The order clean-up had no order to delete: it says why it did not run.
    let s = steps(r);
    assert_eq!(s[3]["message"], "not run: `{{id}}` was not captured");
    // The log-out clean-up ran, and its success does not hide the failure.
    assert_eq!(shop.logouts.load(Ordering::SeqCst), 1);
    assert_eq!(shop.created.load(Ordering::SeqCst), 0);
}

#[test]
fn a_clean_up_failure_is_reported_without_changing_the_outcome() {
    let (addr, _shop) = shop::start();
    let ws = Workspace::new();
    let toml = format!(
        r#"[[probe]]
id = "f"
kind = "flow"
degraded_after = "10s"

[[probe.step]]
url = "http://{addr}/flaky"

[[probe.step]]
always = true
url = "http://{addr}/nowhere"
"#
    );
    let (code, doc) = ws.run_json(&toml, &[]);
    let r = result(&doc, "f");
    assert_eq!(code, 0);
    assert_eq!(r["outcome"], "up");
    assert_eq!(outcomes(r), ["up", "down"]);
    let s = steps(r);
    assert_eq!(s[0]["name"], "step 1");
    assert_eq!(s[1]["message"], "expected status 2xx, got 404");
}

#[test]
fn a_step_timeout_bounds_its_step_and_the_flow_timeout_the_rest() {
    let (addr, shop) = shop::start();
    let ws = Workspace::new();
    let toml = format!(
        r#"[[probe]]
id = "slow"
kind = "flow"
timeout = "1500ms"
degraded_after = "10s"

[[probe.step]]
name = "impatient"
url = "http://{addr}/slow"
timeout = "300ms"

[[probe.step]]
name = "clean up"
always = true
url = "http://{addr}/slow"

[[probe.step]]
name = "too late"
always = true
url = "http://{addr}/flaky"
"#
    );
    let (code, doc) = ws.run_json(&toml, &[]);
    let r = result(&doc, "slow");
    assert_eq!(code, 1);
    assert_eq!(r["cause"], "timeout");
    let message = r["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("step 1 `impatient`: timed out after ")
            && message.ends_with("(the step's timeout) during waiting for response"),
        "{message}"
    );
    assert_eq!(outcomes(r), ["down", "down", "skipped"], "{r:#}");
    let cleanup = steps(r)[1]["message"].as_str().unwrap_or_default();
    assert!(cleanup.contains("(the flow's timeout)"), "{cleanup}");
    // No time was left for the last clean-up: it was never sent.
    assert_eq!(shop.flaky_calls.load(Ordering::SeqCst), 0);
}

#[test]
fn a_capture_that_matches_nothing_fails_its_step() {
    let (addr, shop) = shop::start();
    let ws = Workspace::new();
    let toml = format!(
        r#"[[probe]]
id = "miss"
kind = "flow"
degraded_after = "10s"

[[probe.step]]
name = "log in"
url = "http://{addr}/login"
method = "POST"
body = '{{"user": "alice", "password": "pw"}}'
capture = {{ token = {{ json = "$.token" }} }}

[[probe.step]]
name = "create order"
url = "http://{addr}/orders"
method = "POST"
headers = {{ Authorization = "Bearer {{{{token}}}}" }}
"#
    );
    let (code, doc) = ws.run_json(&toml, &[]);
    let r = result(&doc, "miss");
    assert_eq!(code, 1);
    assert_eq!(r["cause"], "assertion");
    assert_eq!(
        r["message"], "step 1 `log in`: capture `token`: $.token matched nothing",
        "{r:#}"
    );
    assert_eq!(outcomes(r), ["down", "skipped"]);
    assert!(
        steps(r)[0]["captures"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    assert_eq!(shop.created.load(Ordering::SeqCst), 0);
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn captured_tokens_and_cookies_never_leave_the_process() {
    let (addr, _shop) = shop::start();
    let hook = support::http::Receiver::start();
    let ws = Workspace::new();
    // The shop echoes the token in /me; a failing JSON check would quote it.
    let toml = format!(
        r#"[[channel]]
name = "hook"
kind = "webhook"
url = "http://{hook}/alerts"

[[probe]]
id = "leak"
kind = "flow"
degraded_after = "10s"
failure_threshold = 1

[[probe.step]]
name = "log in"
url = "http://{addr}/login"
method = "POST"
body = '{{"user": "alice", "password": "pw"}}'
capture = {{ token = {{ json = "$.access_token" }}, session = {{ header = "Set-Cookie", regex = "sid=([^;]+)" }} }}

[[probe.step]]
name = "me"
url = "http://{addr}/me?t={{{{token}}}}"
headers = {{ Authorization = "Bearer {{{{token}}}}" }}
expect.json = {{ "$.token" = "something else" }}
"#,
        hook = hook.addr
    );
    ws.config(&toml);
    let site = ws.path().join("site");
    let out = ws
        .run_cmd()
        .args(["--format", "json", "--location", "test", "--render"])
        .arg(&site)
        .env("RUST_LOG", "debug")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let r = result(&doc, "leak");
    assert_eq!(r["outcome"], "down");
    assert_eq!(
        r["message"], "step 2 `me`: $.token is {{token}}, expected == something else",
        "{r:#}"
    );
    assert_eq!(
        steps(r)[0]["captures"],
        serde_json::json!(["session", "token"])
    );
    for secret in [shop::TOKEN, shop::SESSION] {
        assert!(!stdout.contains(secret), "stdout holds {secret}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr.lines().find(|l| l.contains(secret));
        assert!(line.is_none(), "stderr holds {secret}: {line:?}");
        let db = std::fs::read(ws.db()).expect("db");
        assert!(!contains(&db, secret), "the store holds {secret}");
        for f in files(&site) {
            let bytes = std::fs::read(&f).expect("read");
            assert!(!contains(&bytes, secret), "{} holds {secret}", f.display());
        }
    }
    // The alert went out, saying what failed without the value.
    assert_eq!(hook.events(), ["down"]);
    let alerts = serde_json::to_string(&*hook.got.lock().expect("lock")).expect("json");
    assert!(alerts.contains("{{token}}"), "{alerts}");
    for secret in [shop::TOKEN, shop::SESSION] {
        assert!(!alerts.contains(secret), "an alert holds {secret}");
    }
    // JUnit too.
    let junit = ws
        .run_cmd()
        .args(["--format", "junit", "--location", "test", "--no-alert"])
        .output()
        .expect("run");
    assert!(!contains(&junit.stdout, shop::TOKEN));
}

#[test]
fn check_refuses_unknown_names_and_bad_captures_at_their_place() {
    let ws = Workspace::new();
    let cfg = ws.config(
        r#"[[probe]]
id = "f"
kind = "flow"

[[probe.step]]
url = "http://127.0.0.1:9/login"
capture = { token = { json = "$.access_token" } }

[[probe.step]]
url = "http://127.0.0.1:9/orders/{{ordr}}"
headers = { Authorization = "Bearer {{token}}" }

[[probe.step]]
url = "http://127.0.0.1:9/x"
capture = { bad = { json = "access_token" }, worse = { header = "A", body = "b" } }
"#,
    );
    let out = outpost()
        .arg("check")
        .arg("-c")
        .arg(&cfg)
        .output()
        .expect("check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("probes.toml:10:7: unknown `{{ordr}}`"),
        "{stderr}"
    );
    assert!(stderr.contains("earlier steps capture: token"), "{stderr}");
    assert!(
        stderr.contains("capture `bad`: invalid JSONPath"),
        "{stderr}"
    );
    assert!(
        stderr.contains("capture `worse` needs exactly one of"),
        "{stderr}"
    );
    assert!(!stderr.contains("{{token}}`"), "{stderr}");

    // A later step's capture is not visible to an earlier one.
    ws.config(
        r#"[[probe]]
id = "f"
kind = "flow"

[[probe.step]]
url = "http://127.0.0.1:9/a?{{late}}"

[[probe.step]]
url = "http://127.0.0.1:9/b"
capture = { late = "status" }
"#,
    );
    let out = outpost()
        .arg("check")
        .arg("-c")
        .arg(&cfg)
        .output()
        .expect("check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("probes.toml:6:7: unknown `{{late}}`"),
        "{stderr}"
    );

    // Steps belong to flows only; a flow needs steps.
    ws.config(
        r#"[[probe]]
id = "h"
url = "http://127.0.0.1:9/"
[[probe.step]]
url = "http://127.0.0.1:9/"

[[probe]]
id = "empty"
kind = "flow"
"#,
    );
    let out = outpost()
        .arg("check")
        .arg("-c")
        .arg(&cfg)
        .output()
        .expect("check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`step` does not apply to a http probe"),
        "{stderr}"
    );
    assert!(
        stderr.contains("a flow probe needs at least one [[probe.step]]"),
        "{stderr}"
    );
}

#[test]
fn junit_has_a_suite_per_flow_with_a_case_per_step() {
    let (addr, shop) = shop::start();
    shop.break_create.store(true, Ordering::SeqCst);
    let ws = Workspace::new();
    ws.config(&crud(addr));
    let out = ws
        .run_cmd()
        .args(["--format", "junit", "--location", "test"])
        .output()
        .expect("run");
    let xml = String::from_utf8_lossy(&out.stdout).into_owned();
    let doc = roxmltree::Document::parse(&xml).expect("valid XML");
    let root = doc.root_element();
    assert_eq!(root.attribute("tests"), Some("5"), "{xml}");
    assert_eq!(root.attribute("failures"), Some("2"), "{xml}");
    let suite = root
        .children()
        .find(|n| n.attribute("name") == Some("outpost / shop"))
        .unwrap_or_else(|| panic!("no flow suite in {xml}"));
    assert_eq!(suite.attribute("tests"), Some("4"));
    assert_eq!(suite.attribute("failures"), Some("1"));
    assert_eq!(suite.attribute("skipped"), Some("2"));
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<&str> = cases.iter().filter_map(|c| c.attribute("name")).collect();
    assert_eq!(
        names,
        [
            "1. log in",
            "2. create order",
            "3. read order",
            "4. delete order"
        ]
    );
    let failure = cases[1]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("failure");
    assert_eq!(
        failure.attribute("message"),
        Some("status: expected status 201, got 500")
    );
    assert!(cases[2].children().any(|n| n.has_tag_name("skipped")));
}

#[test]
fn the_page_and_metrics_show_each_step() {
    let (addr, _shop) = shop::start();
    let ws = Workspace::new();
    ws.config(&crud(addr));
    let site = ws.path().join("site");
    let out = ws
        .run_cmd()
        .args(["--location", "test", "--render"])
        .arg(&site)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metrics = std::fs::read_to_string(site.join("metrics.prom")).expect("metrics");
    for step in ["log in", "create order", "read order", "delete order"] {
        let line = format!(
            "probe_step_duration_seconds{{probe=\"shop\",location=\"test\",step=\"{step}\"}} "
        );
        assert!(metrics.contains(&line), "{line} not in\n{metrics}");
        let ok =
            format!("probe_step_success{{probe=\"shop\",location=\"test\",step=\"{step}\"}} 1");
        assert!(metrics.contains(&ok), "{ok} not in\n{metrics}");
    }
    let page = std::fs::read_to_string(site.join("probe/shop.html")).expect("probe page");
    assert!(page.contains("Steps, 24 hours"), "{page}");
    for step in ["log in", "create order", "read order", "delete order"] {
        assert!(page.contains(step), "{step}");
    }
    assert!(page.contains("(clean-up)"));
}

#[test]
fn repeat_rounds_record_a_flaky_step_each_time() {
    let (addr, _shop) = shop::start();
    let ws = Workspace::new();
    ws.config(&format!(
        r#"[[probe]]
id = "flaky"
kind = "flow"
degraded_after = "10s"

[[probe.step]]
name = "sometimes"
url = "http://{addr}/flaky"

[[probe.step]]
name = "after"
url = "http://{addr}/me"
expect.status = [401]
"#
    ));
    let out = ws
        .run_cmd()
        .args(["--format", "json", "--location", "test"])
        .args(["--repeat", "3", "--every", "200ms"])
        .output()
        .expect("run");
    let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("json documents");
    let seen: Vec<Vec<&str>> = docs.iter().map(|d| outcomes(result(d, "flaky"))).collect();
    assert_eq!(
        seen,
        [vec!["up", "up"], vec!["down", "skipped"], vec!["up", "up"]]
    );
    let store = Store::open(&ws.db()).expect("open");
    let stored = store
        .results_for(&ProbeId("flaky".into()), 10)
        .expect("results");
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().all(|r| r.steps.len() == 2));
}

/// `outpost run` of `cfg` at `location` into `db`, at `now`.
fn run_at(cfg: &Path, db: &Path, location: &str, now: &str) {
    let out = outpost()
        .arg("run")
        .arg("-c")
        .arg(cfg)
        .arg("--db")
        .arg(db)
        .args(["--location", location, "--now", now, "--no-alert"])
        .output()
        .expect("run");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn merge_folds_flow_shards_with_their_steps_once() {
    let (addr, _shop) = shop::start();
    let ws = Workspace::new();
    let cfg = ws.config(&crud(addr));
    let (a, b, into) = (
        ws.path().join("a.db"),
        ws.path().join("b.db"),
        ws.path().join("merged.db"),
    );
    let now = chrono::Utc::now().to_rfc3339();
    run_at(&cfg, &a, "eu", &now);
    run_at(&cfg, &b, "us", &now);
    run_at(&cfg, &b, "us", &now);
    let merge = || {
        let out = outpost()
            .arg("merge")
            .arg(&a)
            .arg(&b)
            .arg("--into")
            .arg(&into)
            .arg("-c")
            .arg(&cfg)
            .args(["--now", &now])
            .output()
            .expect("merge");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    merge();
    let count = |db: &Path| {
        let store = Store::open(db).expect("open");
        let rs = store
            .results_for(&ProbeId("shop".into()), 100)
            .expect("results");
        assert!(rs.iter().all(|r| r.steps.len() == 4), "steps lost");
        let mut locations: Vec<String> = rs.iter().map(|r| r.location.clone()).collect();
        locations.sort();
        locations
    };
    assert_eq!(count(&into), ["eu", "us", "us"]);
    let steps_rows = |db: &Path| -> i64 {
        rusqlite::Connection::open(db)
            .expect("open")
            .query_row("SELECT COUNT(*) FROM step_blocks", [], |r| r.get(0))
            .expect("count")
    };
    assert_eq!(steps_rows(&into), steps_rows(&a) + steps_rows(&b));
    // Again: nothing new.
    merge();
    assert_eq!(count(&into), ["eu", "us", "us"]);
}

#[test]
fn retention_prunes_step_records_with_their_results() {
    let (addr, _shop) = shop::start();
    let ws = Workspace::new();
    let cfg = ws.config(&crud(addr));
    let now = chrono::Utc::now();
    let old = (now - chrono::Duration::days(3)).to_rfc3339();
    run_at(&cfg, &ws.db(), "eu", &old);
    let rows = |db: &Path| -> (i64, i64) {
        let conn = rusqlite::Connection::open(db).expect("open");
        let count = |table: &str| {
            conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                .expect("count")
        };
        (count("result_blocks"), count("step_blocks"))
    };
    assert_eq!(rows(&ws.db()), (1, 1));
    // A day's retention (the default): the old hour goes, steps and all.
    run_at(&cfg, &ws.db(), "eu", &now.to_rfc3339());
    assert_eq!(rows(&ws.db()), (1, 1));
    let store = Store::open(&ws.db()).expect("open");
    let stored = store
        .results_for(&ProbeId("shop".into()), 10)
        .expect("results");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].steps.len(), 4);
}

#[test]
fn watch_runs_a_flow_on_its_interval() {
    let (addr, shop) = shop::start();
    let ws = Workspace::new();
    let cfg = ws.config(&format!("[defaults]\ninterval = \"1s\"\n\n{}", crud(addr)));
    let mut child = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .env_remove("RUST_LOG")
        .env_remove("OUTPOST_LOCATION")
        .arg("watch")
        .arg("-c")
        .arg(&cfg)
        .arg("--db")
        .arg(ws.db())
        .args(["--location", "test"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn watch");
    let deadline = Instant::now() + Duration::from_secs(30);
    while shop.deleted.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) with the pid of our own child and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
    let runs = shop.deleted.load(Ordering::SeqCst);
    assert!(runs >= 2, "{runs} flows in 30 s");
    let store = Store::open(&ws.db()).expect("open");
    let stored = store
        .results_for(&ProbeId("shop".into()), 100)
        .expect("results");
    // Every flow that ran to its clean-up was stored, with its steps.
    assert_eq!(stored.len(), runs);
    assert!(
        stored
            .iter()
            .all(|r| r.outcome == outpost::model::Outcome::Up && r.steps.len() == 4)
    );
}

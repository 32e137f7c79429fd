//! Issue 9: what `check` passes, `run` runs. Every duration has a documented
//! range enforced at load (item 5); files Outpost reads are regular files under
//! a size limit (item 6); `check` runs the validation delivery and probes run
//! (item 8). Each refusal is a config error located in probes.toml.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Workspace, outpost};

/// `outpost check -c CONFIG`: exit code and stderr.
fn check_at(config: &Path) -> (i32, String) {
    let out = outpost()
        .arg("check")
        .arg("-c")
        .arg(config)
        // A guard, not a measurement: a read that never ends fails the test
        // instead of hanging it.
        .timeout(Duration::from_secs(60))
        .output()
        .expect("run outpost check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check(ws: &Workspace, toml: &str) -> (i32, String) {
    check_at(&ws.config(toml))
}

const PROBE: &str = "[[probe]]\nid = \"api\"\nurl = \"http://127.0.0.1:9/\"\n";

#[test]
fn every_duration_out_of_its_range_is_a_located_error() {
    // (extra line in the probe, line:col of the value, words of the message)
    let cases: &[(&str, &str, &str)] = &[
        ("interval = \"300000y\"", ":4:12:", "interval"),
        ("interval = \"500ms\"", ":4:12:", "interval"),
        ("timeout = \"1h\"", ":4:11:", "timeout"),
        ("degraded_after = \"11m\"", ":4:18:", "degraded_after"),
        ("timeout = \"18446744073709551615s\"", ":4:11:", ""),
        ("retention_days = 4000000000", ":4:18:", "retention_days"),
    ];
    for (line, at, key) in cases {
        let ws = Workspace::new();
        let (code, stderr) = check(&ws, &format!("{PROBE}{line}\n"));
        assert_eq!(code, 2, "{line}: {stderr}");
        assert!(stderr.contains(at), "{line}: not located at {at}: {stderr}");
        assert!(stderr.contains(key), "{line}: {stderr}");
        assert!(!stderr.contains("panicked"), "{line}: {stderr}");
    }
    // The same ranges in [defaults] and for a channel's reminders.
    let ws = Workspace::new();
    let (code, stderr) = check(&ws, &format!("[defaults]\ninterval = \"9000d\"\n{PROBE}"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(":2:12:"), "{stderr}");
    let (code, stderr) = check(
        &ws,
        &format!(
            "{PROBE}[[channel]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nremind_every = \"10s\"\n"
        ),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(":8:16:") && stderr.contains("remind_every"),
        "{stderr}"
    );
}

#[test]
fn the_documented_bounds_themselves_are_accepted() {
    let ws = Workspace::new();
    let (code, stderr) = check(
        &ws,
        &format!(
            "{PROBE}interval = \"7d\"\ntimeout = \"10m\"\ndegraded_after = \"1ms\"\nretention_days = 3650\n\
             [[channel]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nremind_every = \"7d\"\n"
        ),
    );
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_flag_duration_out_of_range_is_a_usage_error() {
    let ws = Workspace::new();
    ws.config(PROBE);
    for every in ["18446744073709551615s", "300000y", "2d"] {
        let out = ws
            .run_cmd()
            .args(["--repeat", "2", "--every", every])
            .timeout(Duration::from_secs(60))
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--every {every}: {stderr}");
        assert!(stderr.contains("--every"), "{stderr}");
    }
    assert!(!ws.db().exists(), "nothing was probed or stored");
}

/// A FIFO at `path`: opening it for reading would wait for a writer forever.
fn fifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
}

#[test]
fn a_config_that_is_not_a_regular_file_is_refused_at_once() {
    let ws = Workspace::new();
    let pipe = ws.path().join("probes.fifo");
    fifo(&pipe);
    for config in [Path::new("/dev/zero"), pipe.as_path()] {
        let (code, stderr) = check_at(config);
        assert_eq!(code, 2, "{}: {stderr}", config.display());
        assert!(stderr.contains("not a regular file"), "{stderr}");
    }
    let big = ws.path().join("big.toml");
    let mut text = String::from(PROBE);
    while text.len() <= 5 << 20 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&big, text).expect("write");
    let (code, stderr) = check_at(&big);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("larger than"), "{stderr}");
}

#[test]
fn a_ca_file_that_is_not_a_small_regular_file_is_a_located_error() {
    let ws = Workspace::new();
    let pipe = ws.path().join("ca.fifo");
    fifo(&pipe);
    let big = ws.path().join("big.pem");
    std::fs::write(&big, vec![b'A'; 2 << 20]).expect("write");
    for ca in ["/dev/zero", "ca.fifo", "big.pem"] {
        let (code, stderr) = check(&ws, &format!("{PROBE}ca_file = \"{ca}\"\n"));
        assert_eq!(code, 2, "probe ca_file {ca}: {stderr}");
        assert!(stderr.contains(":4:11:"), "probe ca_file {ca}: {stderr}");
        assert!(
            stderr.contains("not a regular file") || stderr.contains("larger than"),
            "{stderr}"
        );
        let (code, stderr) = check(
            &ws,
            &format!(
                "{PROBE}[[channel]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"https://127.0.0.1:9/\"\nca_file = \"{ca}\"\n"
            ),
        );
        assert_eq!(code, 2, "channel ca_file {ca}: {stderr}");
        assert!(stderr.contains(":8:11:"), "channel ca_file {ca}: {stderr}");
    }
}

#[test]
fn an_incident_file_that_is_not_a_regular_file_is_refused() {
    let ws = Workspace::new();
    let incidents = ws.path().join("incidents");
    std::fs::create_dir(&incidents).expect("mkdir");
    std::os::unix::fs::symlink("/dev/zero", incidents.join("zero.md")).expect("symlink");
    let (code, stderr) = check(&ws, PROBE);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("zero.md") && stderr.contains("not a regular file"),
        "{stderr}"
    );
}

#[test]
fn a_template_that_is_not_a_regular_file_is_refused() {
    let ws = Workspace::new();
    let cfg = ws.config(PROBE);
    let templates = ws.path().join("templates");
    std::fs::create_dir(&templates).expect("mkdir");
    std::os::unix::fs::symlink("/dev/zero", templates.join("style.css")).expect("symlink");
    let out = outpost()
        .arg("render")
        .arg("-c")
        .arg(&cfg)
        .arg("--db")
        .arg(ws.db())
        .arg("--out")
        .arg(ws.path().join("public"))
        .arg("--templates")
        .arg(&templates)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("render");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a regular file"), "{stderr}");
}

/// A channel section after [`PROBE`] (which takes lines 1 to 3).
fn channel(kind: &str, keys: &str) -> String {
    format!("{PROBE}[[channel]]\nname = \"c\"\nkind = \"{kind}\"\n{keys}\n")
}

#[test]
fn check_refuses_what_delivery_and_probes_would_refuse() {
    // (config, where the error points, words of the message)
    let cases: Vec<(String, &str, &str)> = vec![
        (
            channel("webhook", "url = \"file:///etc/passwd\""),
            ":7:7:",
            "http",
        ),
        (
            channel("slack", "url = \"ftp://hooks.example/x\""),
            ":7:7:",
            "http",
        ),
        (
            channel("teams", "url = \"mailto:ops@example.com\""),
            ":7:7:",
            "http",
        ),
        (
            channel("ntfy", "topic = \"t\"\nbase_url = \"mailto:x@example.com\""),
            ":8:12:",
            "http",
        ),
        (
            channel("ntfy", "topic = \"t\"\ntoken = \"a\\nb\""),
            ":4:1:",
            "token",
        ),
        (
            channel(
                "github-issue",
                "repo = \"o/r\"\ntoken = \"tok\\r\\nX-Evil: 1\"",
            ),
            ":4:1:",
            "token",
        ),
        (
            channel("telegram", "token = \"\"\nchat_id = \"1\""),
            ":4:1:",
            "token",
        ),
        (
            channel(
                "email",
                "to = [\"ops@example.com\"]\nfrom = \"not an address\"\nsmtp_host = \"smtp.example.com\"",
            ),
            ":4:1:",
            "from",
        ),
        (
            channel(
                "email",
                "to = [\"ops@example.com\"]\nfrom = \"outpost@example.com\"\nsmtp_host = \"bad host name\"",
            ),
            ":4:1:",
            "smtp_host",
        ),
        (
            format!("{PROBE}user_agent = \"a\\r\\nX-Evil: 1\"\n"),
            ":4:14:",
            "user_agent",
        ),
        (
            format!("[defaults]\nuser_agent = \"a\\nb\"\n{PROBE}"),
            ":2:14:",
            "user_agent",
        ),
        (
            format!(
                "[[probe]]\nid = \"d\"\nkind = \"dns\"\ntarget = \"{}.example.com\"\n",
                "a".repeat(64)
            ),
            ":4:10:",
            "DNS name",
        ),
        (
            "[[probe]]\nid = \"t\"\nkind = \"tls\"\ntarget = \"bad..name:443\"\n".to_string(),
            ":4:10:",
            "name",
        ),
    ];
    for (toml, at, words) in &cases {
        let ws = Workspace::new();
        let (code, stderr) = check(&ws, toml);
        assert_eq!(code, 2, "accepted:\n{toml}\n{stderr}");
        assert!(
            stderr.contains(at),
            "not located at {at}:\n{toml}\n{stderr}"
        );
        assert!(stderr.contains(words), "{toml}\n{stderr}");
    }
}

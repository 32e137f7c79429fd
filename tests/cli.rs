//! The command line as a user meets it: config errors, exit codes, output formats.

mod support;

use support::{Workspace, http, outpost, result};

fn check(toml: &str) -> (i32, String, String) {
    let ws = Workspace::new();
    let cfg = ws.config(toml);
    let out = outpost()
        .arg("check")
        .arg("-c")
        .arg(&cfg)
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_accepts_the_example_config() {
    let out = outpost()
        .args(["check", "-c"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/probes.toml"))
        .env("API_TOKEN", "example-token")
        .env("SLACK_WEBHOOK_URL", "http://127.0.0.1:9/hook")
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok"));
}

#[test]
fn config_errors_exit_2_with_line_and_column() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[[probe]]\nname = \"a\"\nurl = \"http://x/\"\ntimout = \"1s\"\n",
            ":4:1: unknown field `timout`",
            "unknown key",
        ),
        (
            "[[probe]]\nname = \"a\"\nurl = \"http://x/\"\ntimeout = \"ten\"\n",
            ":4:11: invalid duration",
            "bad duration",
        ),
        (
            "[[probe]]\nname = \"a\"\nurl = \"http://x/\"\nexpect.body_matches = \"([a-z\"\n",
            ":4:23: invalid regex",
            "bad regex",
        ),
        (
            "[[probe]]\nname = \"a\"\nurl = \"not a url\"\n",
            ":3:7: invalid URL",
            "bad url",
        ),
        (
            "[[probe]]\nname = \"a\"\nurl = \"http://x/\"\n\n[[probe]]\nname = \"A\"\nurl = \"http://y/\"\n",
            ":5:1: duplicate probe id \"a\"",
            "duplicate id",
        ),
        (
            "[[probe]]\nname = \"a\"\nurl = \"http://x/${OUTPOST_TEST_UNSET_VAR}\"\n",
            ":3:7: environment variable OUTPOST_TEST_UNSET_VAR is not set",
            "missing env",
        ),
        (
            "[[probe]]\nname = \"a\"\nurl = \"http://x/\"\nchannels = [\"pager\"]\n",
            ":4:13: unknown channel \"pager\"",
            "unknown channel",
        ),
        (
            "[[probe]]\nname = \"a\"\nkind = \"smtp\"\ntarget = \"x:25\"\n",
            ":3:8: unknown variant `smtp`",
            "unknown kind",
        ),
        (
            "[page]\ntitle = \"x\"\n",
            ":1:1: no [[probe]] defined",
            "no probe",
        ),
        (
            "[[probe]]\nname = \"a\"\nurl = \"http://x/\"\nexpect.json = { \"a.b\" = \"1\" }\n",
            ":4:15: invalid JSONPath",
            "bad jsonpath",
        ),
    ];
    for (toml, want, what) in cases {
        let (code, stdout, stderr) = check(toml);
        assert_eq!(code, 2, "{what}: exit code; stderr: {stderr}");
        assert!(stdout.is_empty(), "{what}: nothing on stdout");
        assert!(
            stderr.contains(&format!("probes.toml{want}")),
            "{what}: expected `probes.toml{want}` in:\n{stderr}"
        );
        assert!(
            stderr.contains("hint:")
                || *what == "duplicate id"
                || *what == "bad url"
                || *what == "no probe",
            "{what}: a hint in:\n{stderr}"
        );
    }
}

#[test]
fn run_refuses_a_bad_config_before_probing() {
    let ws = Workspace::new();
    ws.config("[[probe]]\nname = \"a\"\nurl = \"http://x/\"\nbogus = 1\n");
    let out = ws.run_cmd().output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(!ws.db().exists(), "no store is created for a bad config");
}

#[test]
fn usage_errors_exit_2() {
    let ws = Workspace::new();
    let cfg = ws.config(&format!(
        "[[probe]]\nname = \"a\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{}\"\n",
        http::closed_port()
    ));
    let out = outpost()
        .arg("run")
        .arg("-c")
        .arg(&cfg)
        .args(["--only", "nope"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--only nope"));
    let out = outpost()
        .arg("run")
        .arg("-c")
        .arg(&cfg)
        .args(["--format", "yaml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn exit_codes_follow_fail_on() {
    let up = http::serve(|_req| async { http::respond(200, "ok") });
    let toml = format!(
        "[[probe]]\nname = \"up\"\nurl = \"http://{up}/\"\n\n[[probe]]\nname = \"down\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{}\"\n",
        http::closed_port()
    );
    let ws = Workspace::new();
    let (code, doc) = ws.run_json(&toml, &[]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(result(&doc, "down")["outcome"], "down");
    let (code, _) = ws.run_json(&toml, &["--fail-on", "never"]);
    assert_eq!(code, 0);
    let (code, doc) = ws.run_json(&toml, &["--only", "up"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["results"].as_array().map(Vec::len), Some(1));
    let (code, _) = ws.run_json(&toml, &["--only", "up", "--fail-on", "degraded"]);
    assert_eq!(code, 0);
}

#[test]
fn json_document_has_the_documented_shape() {
    let ws = Workspace::new();
    let toml = format!(
        "[[probe]]\nname = \"db\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{}\"\n",
        http::closed_port()
    );
    let (_, doc) = ws.run_json(&toml, &[]);
    assert_eq!(doc["location"], "test");
    assert!(
        chrono::DateTime::parse_from_rfc3339(doc["started_at"].as_str().unwrap_or("")).is_ok(),
        "started_at is RFC 3339: {doc:#}"
    );
    let r = result(&doc, "db");
    for key in [
        "probe",
        "outcome",
        "state",
        "cause",
        "message",
        "status",
        "latency_ms",
        "phases",
        "cert_expires_at",
    ] {
        assert!(r.get(key).is_some(), "missing {key} in {r:#}");
    }
    for key in ["dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "transfer_ms"] {
        assert!(r["phases"].get(key).is_some(), "missing phases.{key}");
    }
    assert_eq!(r["outcome"], "down");
    assert_eq!(r["cause"], "connect");
    assert!(r["status"].is_null());
    assert!(r["latency_ms"].is_f64());
}

#[test]
fn table_in_a_pipe_is_plain_text() {
    let ws = Workspace::new();
    ws.config(&format!(
        "[[probe]]\nname = \"db\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{}\"\n",
        http::closed_port()
    ));
    let out = ws
        .run_cmd()
        .args(["--location", "here"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains('\u{1b}'),
        "no ANSI escapes in a pipe: {stdout:?}"
    );
    assert!(stdout.starts_with("PROBE"), "{stdout}");
    assert!(stdout.contains("db"));
    assert!(stdout.contains("down"));
    assert!(stdout.contains("1 probes from here: 0 up, 0 degraded, 1 down"));
}

#[test]
fn json_logs_on_request() {
    let ws = Workspace::new();
    ws.config(&format!(
        "[[probe]]\nname = \"db\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{}\"\n",
        http::closed_port()
    ));
    let out = ws
        .run_cmd()
        .args(["--log-format", "json", "--format", "json"])
        .env("RUST_LOG", "outpost=info")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("run finished"))
        .unwrap_or_else(|| panic!("no log line in {stderr}"));
    let v: serde_json::Value = serde_json::from_str(line).expect("log line is JSON");
    assert_eq!(v["level"], "INFO");
}

#[test]
fn check_validates_written_incidents() {
    let ws = Workspace::new();
    let cfg = ws.config("[[probe]]\nid = \"api\"\nurl = \"http://x/\"\n");
    std::fs::create_dir(ws.path().join("incidents")).expect("mkdir");
    let good = "+++\ntitle = \"Errors\"\nprobes = [\"api\"]\n[[updates]]\nat = \"2026-11-20T10:05:00Z\"\nstatus = \"investigating\"\nbody = \"Looking.\"\n+++\n";
    std::fs::write(ws.path().join("incidents/a.md"), good).expect("write");
    let out = outpost()
        .arg("check")
        .arg("-c")
        .arg(&cfg)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 written incidents"));
    std::fs::write(
        ws.path().join("incidents/b.md"),
        good.replace("\"api\"", "\"nope\""),
    )
    .expect("write");
    let out = outpost()
        .arg("check")
        .arg("-c")
        .arg(&cfg)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("b.md:3:11: unknown probe id \"nope\""),
        "{stderr}"
    );
}

/// The README's command list must not drift from `--help` (as lychee does).
#[test]
fn readme_lists_every_command() {
    let help = outpost().arg("--help").output().expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 9, "{commands:?}");
    for c in commands {
        assert!(
            readme.contains(&format!("outpost {c} ")),
            "README.md does not document `outpost {c}`"
        );
    }
}

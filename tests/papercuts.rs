//! Day-one papercuts of running from GitHub Actions (issue 8, part 5): a
//! missing secret, and `--format github` over many rounds.

mod support;

use std::net::SocketAddr;
use std::path::Path;

use support::{Workspace, http, outpost};

/// A config whose channel reads `${SLACK_WEBHOOK_URL}` (line 6, column 7).
const WITH_SECRET: &str = "[[probe]]\nid = \"home\"\nurl = \"http://127.0.0.1:9/\"\n\n\
[[channel]]\nurl = \"${SLACK_WEBHOOK_URL}\"\nname = \"oncall\"\nkind = \"slack\"\n";

#[test]
fn a_missing_actions_secret_is_named_with_how_to_add_it() {
    let ws = Workspace::new();
    let config = ws.config(WITH_SECRET);
    let out = outpost()
        .args(["check", "-c"])
        .arg(&config)
        .env("SLACK_WEBHOOK_URL", "")
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:6:7: environment variable SLACK_WEBHOOK_URL is set but empty",
            config.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("Settings > Secrets and variables > Actions"),
        "{stderr}"
    );
    assert!(
        stderr.contains("SLACK_WEBHOOK_URL: ${{ secrets.SLACK_WEBHOOK_URL }}"),
        "{stderr}"
    );
    assert!(!stderr.contains("invalid channel URL"), "{stderr}");

    // Unset (outside Actions) still says so.
    let out = outpost()
        .args(["check", "-c"])
        .arg(&config)
        .env_remove("SLACK_WEBHOOK_URL")
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SLACK_WEBHOOK_URL is not set"), "{stderr}");
}

#[test]
fn with_format_github_a_config_error_is_an_annotation_on_the_file() {
    let ws = Workspace::new();
    ws.config(WITH_SECRET);
    let out = outpost()
        .current_dir(ws.path())
        .args([
            "run",
            "-c",
            "probes.toml",
            "--db",
            "outpost.db",
            "--format",
            "github",
        ])
        .env("SLACK_WEBHOOK_URL", "")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().next().unwrap_or_default();
    assert!(
        line.starts_with(
            "::error file=probes.toml,line=6,col=7,title=Outpost config::\
             environment variable SLACK_WEBHOOK_URL is set but empty%0A"
        ),
        "{stdout}"
    );
    assert!(line.contains("secrets.SLACK_WEBHOOK_URL"), "{line}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(!ws.db().exists(), "nothing was probed or stored");
}

/// `/ok` answers 200, `/fail` 503, `/slow` 200 without the header asked for.
fn target() -> SocketAddr {
    http::serve(|req| async move {
        match req.uri().path() {
            "/ok" => http::respond(200, "ok"),
            "/fail" => http::respond(503, "unavailable"),
            _ => http::respond(404, "no"),
        }
    })
}

fn run_github(ws: &Workspace, summary: &Path, rounds: &str) -> (i32, String) {
    let out = ws
        .run_cmd()
        .args(["--location", "test", "--format", "github"])
        .args(["--repeat", rounds, "--every", "100ms"])
        .env("GITHUB_STEP_SUMMARY", summary)
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn format_github_with_repeat_annotates_once_per_probe_and_summarises_once() {
    let addr = target();
    let ws = Workspace::new();
    ws.config(&format!(
        "[[probe]]\nname = \"Home\"\nurl = \"http://{addr}/ok\"\n\n\
         [[probe]]\nname = \"API\"\nurl = \"http://{addr}/fail\"\n\n\
         [[probe]]\nname = \"Soft\"\nurl = \"http://{addr}/ok\"\n\
         degraded.headers = {{ \"x-missing\" = \"yes\" }}\n"
    ));
    let summary = ws.path().join("summary.md");
    let (code, stdout) = run_github(&ws, &summary, "5");
    assert_eq!(code, 1, "{stdout}");
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(
        errors,
        ["::error title=API is down in 5 of 5 rounds::status: expected status 2xx, got 503"],
        "{stdout}"
    );
    let warnings = stdout
        .lines()
        .filter(|l| l.starts_with("::warning"))
        .count();
    assert_eq!(warnings, 1, "{stdout}");
    // Each round's table is still printed.
    assert_eq!(
        stdout.matches("\nPROBE ").count() + usize::from(stdout.starts_with("PROBE ")),
        5,
        "{stdout}"
    );

    let text = std::fs::read_to_string(&summary).expect("summary");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("### ")).count(),
        1,
        "{text}"
    );
    assert!(
        text.starts_with("### ❌ 1 down, 1 degraded of 3\n"),
        "{text}"
    );
    assert!(text.contains(", 5 rounds from "), "{text}");
    assert!(text.contains("| API | ❌ down (5 of 5) |"), "{text}");
    assert!(text.contains("| Home | ✅ up (5 of 5) |"), "{text}");
    assert_eq!(text.matches("| Probe | Result |").count(), 1, "{text}");
}

#[test]
fn format_github_annotates_the_worst_round() {
    // Down only in the second of three rounds: the annotation is still there,
    // once, and says how often.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let addr = http::serve(move |_req| {
        let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            if n == 1 {
                http::respond(500, "boom")
            } else {
                http::respond(200, "ok")
            }
        }
    });
    let ws = Workspace::new();
    ws.config(&format!(
        "[[probe]]\nname = \"Flaky\"\nurl = \"http://{addr}/\"\n"
    ));
    let summary = ws.path().join("summary.md");
    let (code, stdout) = run_github(&ws, &summary, "3");
    assert_eq!(code, 1, "{stdout}");
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(
        errors,
        ["::error title=Flaky is down in 1 of 3 rounds::status: expected status 2xx, got 500"],
        "{stdout}"
    );
    let text = std::fs::read_to_string(&summary).expect("summary");
    assert!(text.contains("| Flaky | ❌ down (1 of 3) |"), "{text}");
}

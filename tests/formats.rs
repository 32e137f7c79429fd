//! `--format junit` and `--format github` (SPEC §4, §9): what a CI system reads
//! from a run, against local targets that are up, down and degraded.

mod support;

use std::net::SocketAddr;
use std::path::Path;

use support::{Workspace, http, outpost};

/// `/ok` answers 200, `/fail` 503, anything else 404.
fn target() -> SocketAddr {
    http::serve(|req| async move {
        match req.uri().path() {
            "/ok" => http::respond(200, "all good"),
            "/fail" => http::respond(503, "unavailable"),
            _ => http::respond(404, "no such page"),
        }
    })
}

/// One probe up, two down (one with a hostile name and message), one degraded.
fn config(addr: SocketAddr) -> String {
    format!(
        r#"[[probe]]
name = "Home"
url = "http://{addr}/ok"

[[probe]]
name = "API"
group = "Core"
url = "http://{addr}/fail"

[[probe]]
id = "hostile"
name = "Bad <&\" one"
url = "http://{addr}/ok"
expect.body_contains = "<&\"]]>"

[[probe]]
name = "Soft"
url = "http://{addr}/ok"
degraded.headers = {{ "x-missing" = "yes" }}
"#
    )
}

/// `outpost run --format FORMAT` in `ws`, with `env` set and GITHUB_STEP_SUMMARY
/// unset unless `env` sets it; returns exit code, stdout and stderr.
fn run(ws: &Workspace, toml: &str, args: &[&str], env: &[(&str, &Path)]) -> (i32, String, String) {
    let cfg = ws.config(toml);
    let mut cmd = outpost();
    cmd.current_dir(ws.path())
        .env_remove("GITHUB_STEP_SUMMARY")
        .arg("run")
        .arg("-c")
        .arg(&cfg)
        .arg("--db")
        .arg(ws.db())
        .args(["--location", "test"])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run outpost");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn testcase<'a, 'i>(doc: &'a roxmltree::Document<'i>, name: &str) -> roxmltree::Node<'a, 'i> {
    doc.descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
        .unwrap_or_else(|| panic!("no testcase {name}"))
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, tag: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|n| n.has_tag_name(tag))
}

#[test]
fn junit_has_one_case_per_probe_and_a_failure_per_down_probe() {
    let ws = Workspace::new();
    let toml = config(target());
    let (code, stdout, stderr) = run(&ws, &toml, &["--format", "junit"], &[]);
    assert_eq!(code, 1, "exit code as for any format\n{stderr}");
    let doc =
        roxmltree::Document::parse(&stdout).unwrap_or_else(|e| panic!("not XML ({e}):\n{stdout}"));

    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("name"), Some("outpost"));
    assert_eq!(root.attribute("tests"), Some("4"));
    assert_eq!(root.attribute("failures"), Some("2"));
    let suite = child(root, "testsuite").expect("testsuite");
    assert_eq!(suite.attribute("hostname"), Some("test"));
    assert!(suite.attribute("timestamp").is_some());
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    assert_eq!((cases, failures), (4, 2), "{stdout}");

    let home = testcase(&doc, "home");
    assert_eq!(home.attribute("classname"), Some("outpost.http"));
    assert!(
        home.attribute("time")
            .is_some_and(|t| t.parse::<f64>().is_ok())
    );
    assert!(child(home, "failure").is_none());

    let api = testcase(&doc, "api");
    assert_eq!(api.attribute("classname"), Some("outpost.Core"));
    let failure = child(api, "failure").expect("api fails");
    assert_eq!(failure.attribute("type"), Some("status"));
    assert_eq!(
        failure.attribute("message"),
        Some("status: expected status 2xx, got 503")
    );
    let text = failure.text().unwrap_or_default();
    assert!(text.contains("status: 503"), "{text}");
    assert!(text.contains("phases: dns"), "{text}");

    // The name and the message survive the round trip through escaping.
    let hostile = child(testcase(&doc, "hostile"), "failure").expect("hostile fails");
    assert_eq!(hostile.attribute("type"), Some("assertion"));
    let message = hostile.attribute("message").unwrap_or_default();
    assert!(message.contains(r#"<&\"]]>"#), "{message}");
    let text = hostile.text().unwrap_or_default();
    assert!(text.contains(r#"probe: Bad <&" one (hostile)"#), "{text}");
    assert!(!stdout.contains("<&"), "raw markup in:\n{stdout}");

    // Degraded passes, with the reason in system-out.
    let soft = testcase(&doc, "soft");
    assert!(child(soft, "failure").is_none());
    let out = child(soft, "system-out")
        .and_then(|n| n.text())
        .unwrap_or_default();
    assert!(out.contains("header x-missing is missing"), "{out}");
}

#[test]
fn junit_with_fail_on_degraded_fails_degraded_probes_too() {
    let ws = Workspace::new();
    let toml = config(target());
    let (code, stdout, _) = run(
        &ws,
        &toml,
        &["--format", "junit", "--fail-on", "degraded"],
        &[],
    );
    assert_eq!(code, 1);
    let doc = roxmltree::Document::parse(&stdout).expect("XML");
    assert_eq!(doc.root_element().attribute("failures"), Some("3"));
    let soft = child(testcase(&doc, "soft"), "failure").expect("soft fails");
    assert_eq!(soft.attribute("type"), Some("assertion"));
}

#[test]
fn junit_all_up_exits_0_with_no_failures() {
    let ws = Workspace::new();
    let addr = target();
    let toml = format!("[[probe]]\nname = \"Home\"\nurl = \"http://{addr}/ok\"\n");
    let (code, stdout, _) = run(&ws, &toml, &["--format", "junit"], &[]);
    assert_eq!(code, 0);
    let doc = roxmltree::Document::parse(&stdout).expect("XML");
    assert_eq!(doc.root_element().attribute("failures"), Some("0"));
}

#[test]
fn github_annotates_down_and_degraded_probes_then_prints_the_table() {
    let ws = Workspace::new();
    let toml = config(target());
    let (code, stdout, stderr) = run(&ws, &toml, &["--format", "github"], &[]);
    assert_eq!(code, 1, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.contains(&"::error title=API is down::status: expected status 2xx, got 503"),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::warning title=Soft is degraded::assertion: header x-missing")),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(r#"::error title=Bad <&" one is down::assertion: "#)),
        "{stdout}"
    );
    assert!(
        !stdout.contains("title=Home"),
        "no annotation for an up probe"
    );
    // The plain table follows, without colour.
    assert!(stdout.contains("PROBE"), "{stdout}");
    assert!(stdout.contains("4 probes from test: 1 up, 1 degraded, 2 down"));
    assert!(!stdout.contains('\u{1b}'), "no ANSI escapes");
}

#[test]
fn github_escapes_line_breaks_and_separators_in_annotations() {
    let ws = Workspace::new();
    let addr = target();
    let toml = format!(
        "[[probe]]\nid = \"multi\"\nname = \"one\\ntwo, 50%: three\"\nurl = \"http://{addr}/fail\"\n"
    );
    let (code, stdout, _) = run(&ws, &toml, &["--format", "github"], &[]);
    assert_eq!(code, 1);
    let first = stdout.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "::error title=one%0Atwo%2C 50%25%3A three is down::status: expected status 2xx, got 503"
    );
}

#[test]
fn github_appends_the_job_summary_to_what_earlier_steps_wrote() {
    let ws = Workspace::new();
    let toml = config(target());
    let summary = ws.path().join("summary.md");
    std::fs::write(&summary, "previous\n").expect("write summary");
    let (code, _, stderr) = run(
        &ws,
        &toml,
        &["--format", "github"],
        &[("GITHUB_STEP_SUMMARY", &summary)],
    );
    assert_eq!(code, 1, "{stderr}");
    let text = std::fs::read_to_string(&summary).expect("read summary");
    let rest = text
        .strip_prefix("previous\n")
        .unwrap_or_else(|| panic!("earlier content lost:\n{text}"));
    assert!(
        rest.starts_with("### ❌ 2 down, 1 degraded of 4\n"),
        "{rest}"
    );
    assert!(
        rest.contains("| Probe | Result | State | Latency | Status | Detail |"),
        "{rest}"
    );
    for name in ["| Home |", "| API |", "| Soft |"] {
        assert!(rest.contains(name), "{name} missing:\n{rest}");
    }
    // Target text cannot open HTML or break the table.
    assert!(rest.contains("| Bad &lt;&amp;\" one |"), "{rest}");
    assert!(!rest.contains('<'), "{rest}");
}

#[test]
fn github_without_a_step_summary_writes_no_file() {
    let ws = Workspace::new();
    let toml = config(target());
    let (code, stdout, _) = run(&ws, &toml, &["--format", "github"], &[]);
    assert_eq!(code, 1);
    assert!(stdout.starts_with("::"), "{stdout}");
    let names: Vec<String> = std::fs::read_dir(ws.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == "probes.toml" || n.starts_with("outpost.db")),
        "unexpected files: {names:?}"
    );
}

#[test]
fn github_summary_that_cannot_be_written_is_a_warning_not_a_failure() {
    let ws = Workspace::new();
    let addr = target();
    let toml = format!("[[probe]]\nname = \"Home\"\nurl = \"http://{addr}/ok\"\n");
    // A directory cannot be opened for appending.
    let (code, stdout, stderr) = run(
        &ws,
        &toml,
        &["--format", "github"],
        &[("GITHUB_STEP_SUMMARY", ws.path())],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("could not write the job summary"),
        "{stderr}"
    );
    assert!(stdout.contains("1 probes from test: 1 up"), "{stdout}");
}

#[test]
fn junit_with_repeat_is_one_document_with_a_suite_per_round() {
    let web = http::serve(|_req| async { http::respond(200, "ok") });
    let ws = Workspace::new();
    ws.config(&format!(
        "[[probe]]\nid = \"web\"\nurl = \"http://{web}/\"\n\n[[probe]]\nid = \"db\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{}\"\n",
        http::closed_port()
    ));
    let out = ws
        .run_cmd()
        .args(["--format", "junit", "--repeat", "2", "--every", "1s"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc = roxmltree::Document::parse(&stdout)
        .unwrap_or_else(|e| panic!("not one XML document ({e}):\n{stdout}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("4"));
    assert_eq!(root.attribute("failures"), Some("2"));
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 2);
    assert_eq!(suites[1].attribute("name"), Some("outpost round 2"));
    assert_eq!(out.status.code(), Some(1));
}

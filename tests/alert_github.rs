//! The `github-issue` channel against a fake GitHub API: an incident opens one
//! issue, later events of it comment there, recovery closes it, a new incident
//! opens a new issue, and a bad token is a permanent error that does not leak.

mod support;

use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use outpost::alert::{Delivery, EventKind, Notification, deliver};
use outpost::config::{ChannelConfig, Config};
use outpost::model::{Cause, State};
use support::github::FakeGithub;

const REPO: &str = "acme/status";
const TOKEN: &str = "ghp_T0pS3cretT0kenValue";

fn delivery() -> Delivery {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Delivery {
        http: reqwest::Client::builder().build().expect("client"),
        timeout: Duration::from_secs(10),
    }
}

/// Parse a config with one probe and one github-issue channel at `gh`, the
/// token coming from `${GH_TOKEN}` = `token`.
fn config(gh: &FakeGithub, token: &str, extra: &str) -> Config {
    config_in(&tempfile::tempdir().expect("tempdir"), gh, token, extra)
}

fn config_in(dir: &tempfile::TempDir, gh: &FakeGithub, token: &str, extra: &str) -> Config {
    let src = format!(
        r#"
[[probe]]
id = "api"
name = "Public API"
url = "http://127.0.0.1:9/health"

[[channel]]
name = "tracker"
kind = "github-issue"
repo = "{REPO}"
token = "${{GH_TOKEN}}"
base_url = "{}"
{extra}
"#,
        gh.base_url()
    );
    let token = token.to_string();
    outpost::config::parse(&dir.path().join("probes.toml"), &src, move |name| {
        (name == "GH_TOKEN").then(|| token.clone())
    })
    .unwrap_or_else(|e| panic!("config: {e:?}"))
}

fn channel(cfg: &Config) -> &ChannelConfig {
    &cfg.channels[0]
}

fn event(kind: EventKind, incident: i64) -> Notification {
    let since = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
    let (state, previous) = match kind {
        EventKind::Down | EventKind::Reminder => (State::Down, State::Degraded),
        EventKind::Degraded => (State::Degraded, State::Operational),
        EventKind::Recovered => (State::Operational, State::Down),
        _ => (State::Operational, State::Operational),
    };
    Notification {
        event: kind,
        probe_id: "api".to_string(),
        probe_name: "Public API".to_string(),
        group: None,
        state,
        previous_state: previous,
        since,
        at: since + chrono::Duration::minutes(25),
        cause: Some(Cause::Status),
        message: Some("HTTP 503, expected 200".to_string()),
        incident_id: incident,
        link: Some("https://status.example.test/probes/api".to_string()),
        page_title: "Acme status".to_string(),
        burn: None,
    }
}

fn marker(incident: i64) -> String {
    format!("<!-- outpost:outpost/api/{incident} -->")
}

#[tokio::test]
async fn incident_opens_comments_and_closes_one_issue() {
    let gh = FakeGithub::start(REPO, TOKEN);
    let cfg = config(&gh, TOKEN, r#"labels = ["outpost", "prod"]"#);
    let d = delivery();

    // Degraded opens the incident's issue, labelled, with the hidden marker.
    let r = deliver(&d, channel(&cfg), &event(EventKind::Degraded, 7))
        .await
        .expect("degraded delivered");
    assert_eq!(r.detail, "HTTP 201, opened issue #1");
    let issues = gh.issues();
    assert_eq!(issues.len(), 1);
    let issue = &issues[0];
    assert_eq!(issue.title, "[DEGRADED] Public API is degraded");
    assert_eq!(issue.labels, ["outpost", "prod"]);
    assert!(issue.body.contains(&marker(7)), "{}", issue.body);
    assert!(
        issue.body.contains("Cause: status: HTTP 503"),
        "{}",
        issue.body
    );
    assert!(
        issue
            .body
            .contains("https://status.example.test/probes/api")
    );
    for call in gh.calls() {
        assert_eq!(call.authorization, format!("Bearer {TOKEN}"));
    }
    let list = &gh.calls()[0];
    assert_eq!(
        (list.method.as_str(), list.path.as_str()),
        ("GET", "/repos/acme/status/issues")
    );
    assert!(list.query.contains("state=open"), "{}", list.query);
    assert!(list.query.contains("labels=outpost"), "{}", list.query);
    assert!(list.query.contains("per_page=100"), "{}", list.query);

    // Worsening to down, same incident: a comment on the same issue.
    let r = deliver(&d, channel(&cfg), &event(EventKind::Down, 7))
        .await
        .expect("down delivered");
    assert_eq!(r.detail, "HTTP 201, commented on issue #1");
    // A reminder too.
    let r = deliver(&d, channel(&cfg), &event(EventKind::Reminder, 7))
        .await
        .expect("reminder delivered");
    assert_eq!(r.detail, "HTTP 201, commented on issue #1");
    let issues = gh.issues();
    assert_eq!(issues.len(), 1, "no second issue: {issues:#?}");
    assert_eq!(issues[0].comments.len(), 2);
    assert!(issues[0].comments[0].contains("[DOWN] Public API is down"));
    assert!(issues[0].comments[1].contains("[STILL DOWN]"));

    // Recovery: a closing comment, then closed as completed.
    gh.clear_calls();
    let r = deliver(&d, channel(&cfg), &event(EventKind::Recovered, 7))
        .await
        .expect("recovered delivered");
    assert_eq!(r.detail, "HTTP 200, closed issue #1");
    let issue = &gh.issues()[0];
    assert_eq!(issue.state, "closed");
    assert_eq!(issue.state_reason.as_deref(), Some("completed"));
    assert_eq!(issue.comments.len(), 3);
    assert!(issue.comments[2].contains("[RECOVERED] Public API is operational again"));
    let calls: Vec<(String, String)> = gh.calls().into_iter().map(|c| (c.method, c.path)).collect();
    assert_eq!(
        calls,
        [
            ("GET".to_string(), "/repos/acme/status/issues".to_string()),
            (
                "POST".to_string(),
                "/repos/acme/status/issues/1/comments".to_string()
            ),
            (
                "PATCH".to_string(),
                "/repos/acme/status/issues/1".to_string()
            ),
        ]
    );

    // Recovered again (a retry after the close): nothing left to close.
    let r = deliver(&d, channel(&cfg), &event(EventKind::Recovered, 7))
        .await
        .expect("nothing to close is fine");
    assert!(r.detail.contains("nothing to close"), "{}", r.detail);

    // A new incident of the same probe: a new issue, the old one untouched.
    let r = deliver(&d, channel(&cfg), &event(EventKind::Down, 8))
        .await
        .expect("new incident delivered");
    assert_eq!(r.detail, "HTTP 201, opened issue #2");
    let issues = gh.issues();
    assert_eq!(issues.len(), 2);
    assert!(issues[1].body.contains(&marker(8)));
    assert_eq!(issues[1].state, "open");
    assert_eq!(issues[0].comments.len(), 3);
}

#[tokio::test]
async fn finds_its_issue_among_others_and_across_pages() {
    let gh = FakeGithub::start(REPO, TOKEN);
    // No labels configured: the default label is `outpost`.
    let cfg = config(&gh, TOKEN, "");
    let d = delivery();
    deliver(&d, channel(&cfg), &event(EventKind::Down, 3))
        .await
        .expect("down delivered");
    assert_eq!(gh.issues()[0].labels, ["outpost"]);
    // Newer issues push ours to the second page of the list; a pull request
    // carries the marker too and must not be taken for the issue.
    for i in 0..120 {
        gh.seed(
            &format!("other {i}"),
            "written by a person",
            &["outpost"],
            false,
        );
    }
    gh.seed("a PR quoting the marker", &marker(3), &["outpost"], true);
    gh.seed("unlabelled", &marker(3), &[], false);

    let r = deliver(&d, channel(&cfg), &event(EventKind::Recovered, 3))
        .await
        .expect("recovered delivered");
    assert_eq!(r.detail, "HTTP 200, closed issue #1");
    let issues = gh.issues();
    assert_eq!(issues[0].state, "closed");
    assert!(
        issues
            .iter()
            .skip(1)
            .all(|i| i.state == "open" && i.comments.is_empty())
    );
    let pages = gh
        .calls()
        .iter()
        .filter(|c| c.method == "GET" && c.path.ends_with("/issues"))
        .count();
    assert!(
        pages >= 3,
        "the search went on to page 2: {pages} list calls"
    );
}

#[tokio::test]
async fn test_event_checks_repository_access() {
    let gh = FakeGithub::start(REPO, TOKEN);
    let cfg = config(&gh, TOKEN, "");
    let r = deliver(&delivery(), channel(&cfg), &event(EventKind::Test, 0))
        .await
        .expect("test delivered");
    assert_eq!(r.detail, "HTTP 200, repo access ok");
    let calls = gh.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].method.as_str(), calls[0].path.as_str()),
        ("GET", "/repos/acme/status")
    );
    assert!(gh.issues().is_empty());
}

#[tokio::test]
async fn wrong_token_is_permanent_and_not_echoed() {
    let gh = FakeGithub::start(REPO, TOKEN);
    let wrong = "ghp_WrongTokenButStillSecret";
    let cfg = config(&gh, wrong, "");
    for kind in [EventKind::Down, EventKind::Test] {
        let e = deliver(&delivery(), channel(&cfg), &event(kind, 1))
            .await
            .expect_err("a bad token fails");
        assert!(!e.retryable, "{e:?}");
        assert!(e.message.contains("401"), "{}", e.message);
        assert!(e.message.contains("Bad credentials"), "{}", e.message);
        assert!(!e.message.contains(wrong), "{}", e.message);
        assert!(!format!("{e:?}").contains(wrong));
    }
    assert!(gh.issues().is_empty());
}

#[tokio::test]
async fn unknown_repository_is_permanent() {
    let gh = FakeGithub::start("acme/other", TOKEN);
    let cfg = config(&gh, TOKEN, "");
    let e = deliver(&delivery(), channel(&cfg), &event(EventKind::Test, 0))
        .await
        .expect_err("no such repo");
    assert!(!e.retryable, "{e:?}");
    assert!(e.message.contains("404"), "{}", e.message);
}

#[tokio::test]
async fn server_errors_rate_limits_and_no_server_are_retryable() {
    let gh = FakeGithub::start(REPO, TOKEN);
    let cfg = config(&gh, TOKEN, "");
    let d = delivery();
    for status in [502, 429] {
        gh.fail_next(status);
        let e = deliver(&d, channel(&cfg), &event(EventKind::Down, 1))
            .await
            .expect_err("injected failure");
        assert!(e.retryable, "{status}: {e:?}");
        assert!(e.message.contains(&status.to_string()), "{}", e.message);
        assert!(!e.message.contains(TOKEN));
    }
    // The retry goes through and opens exactly one issue.
    deliver(&d, channel(&cfg), &event(EventKind::Down, 1))
        .await
        .expect("retry delivered");
    assert_eq!(gh.issues().len(), 1);

    let port = support::http::closed_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let src = format!(
        "[[probe]]\nid = \"api\"\nurl = \"http://127.0.0.1:9/\"\n[[channel]]\nname = \"t\"\nkind = \"github-issue\"\nrepo = \"{REPO}\"\ntoken = \"{TOKEN}\"\nbase_url = \"http://127.0.0.1:{port}\"\n"
    );
    let cfg = outpost::config::parse(Path::new(&dir.path().join("probes.toml")), &src, |_| None)
        .expect("config");
    let e = deliver(&d, &cfg.channels[0], &event(EventKind::Down, 1))
        .await
        .expect_err("nothing listens");
    assert!(e.retryable, "{e:?}");
    assert!(e.message.contains("cannot connect"), "{}", e.message);
    assert!(!e.message.contains(TOKEN), "{}", e.message);
}

#[tokio::test]
async fn enterprise_server_with_a_private_ca() {
    let ca = support::tls::Ca::new();
    let gh = FakeGithub::start_https(REPO, TOKEN, ca.leaf(support::tls::LOCAL, 30));
    let dir = tempfile::tempdir().expect("tempdir");
    ca.write(dir.path());
    let cfg = config_in(&dir, &gh, TOKEN, "ca_file = \"ca.pem\"");
    let r = deliver(&delivery(), channel(&cfg), &event(EventKind::Down, 5))
        .await
        .expect("delivered over HTTPS");
    assert_eq!(r.detail, "HTTP 201, opened issue #1");
    assert_eq!(gh.calls()[0].path, "/api/v3/repos/acme/status/issues");

    // Without the CA the same server is not trusted, and saying so again will not help.
    let untrusted = config(&gh, TOKEN, "");
    let e = deliver(&delivery(), channel(&untrusted), &event(EventKind::Down, 5))
        .await
        .expect_err("untrusted");
    assert!(!e.retryable, "{e:?}");
    assert!(e.message.contains("certificate"), "{}", e.message);
    assert!(!e.message.contains(TOKEN), "{}", e.message);
}

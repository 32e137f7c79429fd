//! The `email` channel against an in-process SMTP server: STARTTLS and AUTH,
//! plain delivery when STARTTLS is off, refusal to go on in clear when it is
//! required, and how failures are classified (never showing the password).

mod support;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use outpost::alert::{Delivery, DeliveryError, EventKind, Notification, Receipt, deliver};
use outpost::config::Config;
use outpost::model::{Cause, State};
use support::smtp::{Options, SmtpServer};

const USER: &str = "outpost";
const PASSWORD: &str = "pa55-W0rd-s3cret";

fn delivery(timeout: Duration) -> Delivery {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Delivery {
        http: reqwest::Client::builder().build().expect("client"),
        timeout,
    }
}

/// One probe and one email channel on `port`; `channel` adds keys to it. The
/// password comes from `${SMTP_PASSWORD}` = `password`; `ca` is written as
/// `ca.pem` beside the config.
fn config(port: u16, channel: &str, password: &str, ca: Option<&SmtpServer>) -> Config {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = match ca {
        Some(server) => {
            server.ca.write(dir.path());
            "ca_file = \"ca.pem\""
        }
        None => "",
    };
    let src = format!(
        r#"
[[probe]]
id = "api"
name = "Public API"
url = "http://127.0.0.1:9/health"

[[channel]]
name = "mail"
kind = "email"
to = ["oncall@example.test", "ops@example.test"]
from = "Outpost <outpost@example.test>"
smtp_host = "127.0.0.1"
smtp_port = {port}
{ca_file}
{channel}
"#
    );
    let password = password.to_string();
    outpost::config::parse(&dir.path().join("probes.toml"), &src, move |name| {
        (name == "SMTP_PASSWORD").then(|| password.clone())
    })
    .unwrap_or_else(|e| panic!("config: {e:?}"))
}

const AUTH: &str = "username = \"outpost\"\npassword = \"${SMTP_PASSWORD}\"";

fn down() -> Notification {
    let since = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
    Notification {
        event: EventKind::Down,
        probe_id: "api".to_string(),
        probe_name: "Public API".to_string(),
        group: None,
        state: State::Down,
        previous_state: State::Operational,
        since,
        at: since + chrono::Duration::minutes(3),
        cause: Some(Cause::Status),
        message: Some("HTTP 503, expected 200".to_string()),
        incident_id: 7,
        link: Some("https://status.example.test/probes/api".to_string()),
        page_title: "Acme status".to_string(),
        burn: None,
    }
}

async fn send(cfg: &Config, timeout: Duration) -> Result<Receipt, DeliveryError> {
    deliver(&delivery(timeout), &cfg.channels[0], &down()).await
}

fn with_auth() -> Options {
    Options {
        auth: Some((USER.to_string(), PASSWORD.to_string())),
        ..Options::default()
    }
}

#[tokio::test]
async fn starttls_and_auth_deliver_the_message() {
    let server = SmtpServer::start(with_auth());
    let cfg = config(server.port(), AUTH, PASSWORD, Some(&server));
    let receipt = send(&cfg, Duration::from_secs(10))
        .await
        .expect("delivered");
    assert_eq!(receipt.detail, "250 2.0.0 Ok: queued as TEST1");

    assert_eq!(server.tls_sessions(), 1);
    let auth = server.auth_attempts();
    assert_eq!(auth.len(), 1, "{auth:?}");
    assert!(auth[0].ok && auth[0].tls, "{auth:?}");
    assert_eq!(
        (auth[0].user.as_str(), auth[0].password.as_str()),
        (USER, PASSWORD)
    );

    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert!(m.tls, "the message went over TLS");
    assert_eq!(m.user.as_deref(), Some(USER));
    assert_eq!(m.from, "outpost@example.test");
    assert_eq!(m.to, ["oncall@example.test", "ops@example.test"]);
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("[DOWN] Public API is down")
    );
    assert_eq!(
        m.header("From").as_deref(),
        Some("Outpost <outpost@example.test>")
    );
    let message_id = m.header("Message-ID").expect("a Message-ID");
    assert!(
        message_id.starts_with("<outpost.api.7.down.") && message_id.ends_with("@example.test>"),
        "{message_id}"
    );
    assert!(m.header("Date").is_some());
    let body = m.body();
    assert!(body.contains("State: down (was operational)"), "{body}");
    assert!(
        body.contains("Cause: status: HTTP 503, expected 200"),
        "{body}"
    );
    assert!(
        body.contains("https://status.example.test/probes/api"),
        "{body}"
    );
    assert!(!m.data.contains(PASSWORD));
}

#[tokio::test]
async fn auth_login_when_the_server_offers_only_that() {
    let server = SmtpServer::start(Options {
        mechanisms: "LOGIN",
        ..with_auth()
    });
    let cfg = config(server.port(), AUTH, PASSWORD, Some(&server));
    send(&cfg, Duration::from_secs(10))
        .await
        .expect("delivered");
    let auth = server.auth_attempts();
    assert_eq!(auth.len(), 1, "{auth:?}");
    assert_eq!(auth[0].mechanism, "LOGIN");
    assert!(auth[0].ok && auth[0].tls, "{auth:?}");
    assert_eq!(server.messages()[0].user.as_deref(), Some(USER));
}

#[tokio::test]
async fn plain_delivery_when_starttls_is_off() {
    let server = SmtpServer::start(Options {
        starttls: false,
        ..Options::default()
    });
    let cfg = config(server.port(), "starttls = false", PASSWORD, None);
    let receipt = send(&cfg, Duration::from_secs(10))
        .await
        .expect("delivered");
    assert!(receipt.detail.starts_with("250 "), "{}", receipt.detail);
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert!(!messages[0].tls);
    assert_eq!(messages[0].user, None);
    assert_eq!(server.tls_sessions(), 0);

    // With AUTH in clear, where a server allows it.
    let server = SmtpServer::start(Options {
        starttls: false,
        auth_needs_tls: false,
        ..with_auth()
    });
    let cfg = config(
        server.port(),
        &format!("starttls = false\n{AUTH}"),
        PASSWORD,
        None,
    );
    send(&cfg, Duration::from_secs(10))
        .await
        .expect("delivered");
    assert_eq!(server.messages()[0].user.as_deref(), Some(USER));
}

#[tokio::test]
async fn starttls_required_but_not_offered_sends_nothing() {
    let server = SmtpServer::start(Options {
        starttls: false,
        auth_needs_tls: false,
        ..with_auth()
    });
    let cfg = config(server.port(), AUTH, PASSWORD, Some(&server));
    let e = send(&cfg, Duration::from_secs(10))
        .await
        .expect_err("no STARTTLS, no delivery");
    assert!(!e.retryable, "{e:?}");
    assert!(e.message.contains("STARTTLS"), "{}", e.message);
    assert!(server.messages().is_empty());
    assert!(
        server.auth_attempts().is_empty(),
        "credentials sent in clear"
    );
}

#[tokio::test]
async fn wrong_password_is_permanent_and_not_shown() {
    let server = SmtpServer::start(with_auth());
    let wrong = "Wr0ng-pa55word-value";
    let cfg = config(server.port(), AUTH, wrong, Some(&server));
    let e = send(&cfg, Duration::from_secs(10))
        .await
        .expect_err("bad password");
    assert!(!e.retryable, "{e:?}");
    assert!(e.message.contains("535"), "{}", e.message);
    assert!(!e.message.contains(wrong), "{}", e.message);
    assert!(!format!("{e:?}").contains(wrong));
    let auth = server.auth_attempts();
    assert_eq!(auth.len(), 1);
    assert!(!auth[0].ok && auth[0].tls);
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn untrusted_certificate_is_permanent() {
    let server = SmtpServer::start(with_auth());
    // No ca_file: the test CA is not among the system's roots.
    let cfg = config(server.port(), AUTH, PASSWORD, None);
    let e = send(&cfg, Duration::from_secs(10))
        .await
        .expect_err("untrusted certificate");
    assert!(!e.retryable, "{e:?}");
    assert!(server.auth_attempts().is_empty());
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn server_down_or_silent_is_retryable() {
    let port = support::http::closed_port();
    let cfg = config(port, AUTH, PASSWORD, None);
    let e = send(&cfg, Duration::from_secs(10))
        .await
        .expect_err("nothing listens");
    assert!(e.retryable, "{e:?}");
    assert!(
        e.message.contains(&format!("127.0.0.1:{port}")),
        "{}",
        e.message
    );
    assert!(!e.message.contains(PASSWORD));

    // Accepts the connection, never greets.
    let silent = support::http::serve_raw(|stream| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stream);
    });
    let cfg = config(silent.port(), AUTH, PASSWORD, None);
    let started = std::time::Instant::now();
    let e = send(&cfg, Duration::from_millis(500))
        .await
        .expect_err("no greeting");
    assert!(e.retryable, "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn smtp_replies_classify_as_transient_or_permanent() {
    for (line, retryable) in [
        ("451 4.3.0 Try again later", true),
        ("550 5.7.1 Sender rejected", false),
    ] {
        let server = SmtpServer::start(Options {
            mail_reply: Some(line.to_string()),
            ..with_auth()
        });
        let cfg = config(server.port(), AUTH, PASSWORD, Some(&server));
        let e = send(&cfg, Duration::from_secs(10))
            .await
            .expect_err("refused");
        assert_eq!(e.retryable, retryable, "{line}: {e:?}");
        assert!(e.message.contains(&line[..3]), "{}", e.message);
        assert!(!e.message.contains(PASSWORD));
    }
}

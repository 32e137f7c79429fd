//! The HTTP channels (webhook, Slack, Discord, Teams, PagerDuty, ntfy, Telegram)
//! against local receivers: what each one posts, where, with which headers, and
//! how answers and network failures are classified without leaking secrets.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::BodyExt;
use outpost::alert::{Delivery, DeliveryError, EventKind, Notification, Receipt, deliver};
use outpost::config::Config;
use outpost::model::{Cause, State};
use serde_json::Value;
use sha2::Sha256;
use support::http::{respond, serve, serve_raw};

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Captured {
    method: String,
    /// Path and query.
    path: String,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Captured {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Log = Arc<Mutex<Vec<Captured>>>;

/// A receiver answering every request with `status` and `body`, recording it.
fn receiver(status: u16, answer: &'static str) -> (SocketAddr, Log) {
    let log: Log = Arc::default();
    let seen = log.clone();
    let addr = serve(move |req| {
        let seen = seen.clone();
        async move {
            let (parts, incoming) = req.into_parts();
            let body = incoming
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            seen.lock().unwrap().push(Captured {
                method: parts.method.to_string(),
                path: parts
                    .uri
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                headers: parts.headers,
                body,
            });
            respond(status, answer)
        }
    });
    (addr, log)
}

/// A receiver that echoes the request's path and headers back in an error
/// answer, as careless proxies do: the secrets must still not reach the error.
fn echoing_receiver(status: u16) -> SocketAddr {
    serve(move |req| async move {
        let echo = format!(
            "error at {} with {:?}",
            req.uri(),
            req.headers().get("authorization")
        );
        respond(status, echo)
    })
}

fn delivery() -> Delivery {
    Delivery {
        http: outpost::alert::http_post::client(None).expect("client"),
        timeout: Duration::from_secs(10),
    }
}

/// A config with one probe and the one `[[channel]]` in `channel`; `${NAME}`
/// references resolve from `env`. `dir` holds `probes.toml` (and a `ca_file`).
fn config_in(dir: &Path, channel: &str, env: &[(&str, &str)]) -> Config {
    let src = format!(
        r#"
[[probe]]
id = "api"
name = "Public API"
url = "http://127.0.0.1:9/health"

[[channel]]
name = "out"
{channel}
"#
    );
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    outpost::config::parse(&dir.join("probes.toml"), &src, move |name| {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .unwrap_or_else(|e| panic!("config: {e}"))
}

fn config(channel: &str, env: &[(&str, &str)]) -> Config {
    config_in(Path::new("."), channel, env)
}

fn event(kind: EventKind) -> Notification {
    let since = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
    let (state, previous) = match kind {
        EventKind::Down | EventKind::Reminder => (State::Down, State::Operational),
        EventKind::Degraded => (State::Degraded, State::Operational),
        EventKind::Recovered => (State::Operational, State::Down),
        _ => (State::Operational, State::Operational),
    };
    Notification {
        event: kind,
        probe_id: "api".to_string(),
        probe_name: "Public API".to_string(),
        group: Some("Backend".to_string()),
        state,
        previous_state: previous,
        since,
        at: since + chrono::Duration::minutes(25),
        cause: Some(Cause::Status),
        message: Some("HTTP 503, expected 200".to_string()),
        incident_id: 42,
        link: Some("https://status.example.test/probes/api".to_string()),
        page_title: "Acme status".to_string(),
        burn: None,
    }
}

async fn send(cfg: &Config, n: &Notification) -> Result<Receipt, DeliveryError> {
    deliver(&delivery(), &cfg.channels[0], n).await
}

fn only(log: &Log) -> Captured {
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 1, "expected one request, got {log:?}");
    log[0].clone()
}

const HOOK_PATH: &str = "/hooks/T0pS3cretHookPath";

#[tokio::test]
async fn webhook_posts_the_documented_json_signed_with_the_secret() {
    let (addr, log) = receiver(200, "ok");
    let cfg = config(
        &format!(
            "kind = \"webhook\"\nurl = \"http://{addr}{HOOK_PATH}\"\nsecret = \"${{HOOK_SECRET}}\""
        ),
        &[("HOOK_SECRET", "s1gning-key")],
    );
    let receipt = send(&cfg, &event(EventKind::Down))
        .await
        .expect("delivered");
    assert_eq!(receipt.detail, "HTTP 200");

    let req = only(&log);
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, HOOK_PATH);
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        req.header("user-agent"),
        Some(concat!("outpost/", env!("CARGO_PKG_VERSION")))
    );
    let body = req.json();
    assert_eq!(body["version"], 1);
    assert_eq!(body["event"], "down");
    assert_eq!(body["state"], "down");
    assert_eq!(body["previous_state"], "operational");
    assert_eq!(body["probe"]["id"], "api");
    assert_eq!(body["probe"]["name"], "Public API");
    assert_eq!(body["probe"]["group"], "Backend");
    assert_eq!(body["since"], "2026-03-01T10:00:00Z");
    assert_eq!(body["at"], "2026-03-01T10:25:00Z");
    assert_eq!(body["duration_seconds"], 1500);
    assert_eq!(body["cause"], "status");
    assert_eq!(body["message"], "HTTP 503, expected 200");
    assert_eq!(body["incident_id"], 42);
    assert_eq!(body["dedup_key"], "outpost/api/42");
    assert_eq!(body["link"], "https://status.example.test/probes/api");
    assert_eq!(body["page"]["title"], "Acme status");

    // The receiver's check: HMAC-SHA256 of the raw body with the shared secret.
    let signature = req.header("x-outpost-signature").expect("signature header");
    let hex_mac = signature.strip_prefix("sha256=").expect("sha256= prefix");
    assert_eq!(hex_mac, hex_mac.to_lowercase());
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"s1gning-key").unwrap();
    mac.update(&req.body);
    mac.verify_slice(&hex::decode(hex_mac).expect("hex"))
        .expect("signature verifies");
}

#[tokio::test]
async fn webhook_without_secret_is_not_signed() {
    let (addr, log) = receiver(204, "");
    let cfg = config(
        &format!("kind = \"webhook\"\nurl = \"http://{addr}/hook\""),
        &[],
    );
    let receipt = send(&cfg, &event(EventKind::Recovered))
        .await
        .expect("delivered");
    assert_eq!(receipt.detail, "HTTP 204");
    let req = only(&log);
    assert!(req.header("x-outpost-signature").is_none());
    assert_eq!(req.json()["event"], "recovered");
}

#[tokio::test]
async fn slack_posts_blocks() {
    let (addr, log) = receiver(200, "ok");
    let cfg = config(
        &format!("kind = \"slack\"\nurl = \"http://{addr}/services/T000/B000/XXXX\""),
        &[],
    );
    send(&cfg, &event(EventKind::Down))
        .await
        .expect("delivered");
    let req = only(&log);
    assert_eq!(req.path, "/services/T000/B000/XXXX");
    let body = req.json();
    assert_eq!(body["text"], "[DOWN] Public API is down");
    let blocks = body["blocks"].as_array().expect("blocks");
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["text"], "[DOWN] Public API is down");
    assert_eq!(blocks[1]["type"], "section");
    let fields: Vec<&str> = blocks[1]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            assert_eq!(f["type"], "mrkdwn");
            f["text"].as_str().unwrap()
        })
        .collect();
    assert!(fields.iter().any(|f| f.starts_with("*State*\ndown")));
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("*Since*\n2026-03-01 10:00 UTC"))
    );
    assert!(fields.contains(&"*Cause*\nstatus: HTTP 503, expected 200"));
    let button = &blocks[2]["elements"][0];
    assert_eq!(button["type"], "button");
    assert_eq!(button["url"], "https://status.example.test/probes/api");
}

#[tokio::test]
async fn discord_posts_an_embed_that_mentions_no_one() {
    let (addr, log) = receiver(204, "");
    let cfg = config(
        &format!("kind = \"discord\"\nurl = \"http://{addr}/api/webhooks/1/tok\""),
        &[],
    );
    let mut n = event(EventKind::Degraded);
    n.probe_name = "@everyone API".to_string();
    send(&cfg, &n).await.expect("delivered");
    let body = only(&log).json();
    assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
    let embed = &body["embeds"][0];
    assert_eq!(embed["title"], "[DEGRADED] @everyone API is degraded");
    assert_eq!(embed["color"], 0xE67E22);
    assert_eq!(embed["timestamp"], "2026-03-01T10:25:00Z");
    assert_eq!(embed["url"], "https://status.example.test/probes/api");
    let names: Vec<&str> = embed["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["State", "Since", "Cause", "Group"]);
}

#[tokio::test]
async fn teams_posts_an_adaptive_card() {
    let (addr, log) = receiver(202, "");
    let cfg = config(
        &format!(
            "kind = \"teams\"\nurl = \"http://{addr}/workflows/abc/triggers/manual/run?sig=x\""
        ),
        &[],
    );
    send(&cfg, &event(EventKind::Down))
        .await
        .expect("delivered");
    let req = only(&log);
    assert_eq!(req.path, "/workflows/abc/triggers/manual/run?sig=x");
    let body = req.json();
    let attachment = &body["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &attachment["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["body"][0]["type"], "TextBlock");
    assert_eq!(card["body"][0]["text"], "[DOWN] Public API is down");
    assert_eq!(card["body"][1]["type"], "FactSet");
    assert_eq!(card["body"][1]["facts"][0]["title"], "State");
    assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
    assert_eq!(
        card["actions"][0]["url"],
        "https://status.example.test/probes/api"
    );
}

#[tokio::test]
async fn pagerduty_triggers_then_resolves_with_one_dedup_key() {
    let (addr, log) = receiver(202, r#"{"status":"success","dedup_key":"outpost/api/42"}"#);
    let cfg = config(
        &format!(
            "kind = \"pagerduty\"\nrouting_key = \"${{PD_KEY}}\"\nbase_url = \"http://{addr}\""
        ),
        &[("PD_KEY", "R0utingKey0123456789abcdef012345")],
    );
    let receipt = send(&cfg, &event(EventKind::Down)).await.expect("trigger");
    assert_eq!(receipt.detail, "HTTP 202");
    send(&cfg, &event(EventKind::Recovered))
        .await
        .expect("resolve");

    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|r| r.path == "/v2/enqueue" && r.method == "POST")
    );
    let (trigger, resolve) = (log[0].json(), log[1].json());
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["payload"]["severity"], "critical");
    assert_eq!(trigger["payload"]["source"], "api");
    assert_eq!(trigger["payload"]["summary"], "[DOWN] Public API is down");
    assert_eq!(
        trigger["links"][0]["href"],
        "https://status.example.test/probes/api"
    );
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(trigger["dedup_key"], "outpost/api/42");
    assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);
    assert_eq!(trigger["routing_key"], "R0utingKey0123456789abcdef012345");
    assert_eq!(resolve["routing_key"], trigger["routing_key"]);
    assert!(resolve.get("payload").is_none());
}

#[tokio::test]
async fn ntfy_publishes_json_with_the_token() {
    let (addr, log) = receiver(200, "{}");
    let cfg = config(
        &format!(
            "kind = \"ntfy\"\ntopic = \"ops-alerts\"\ntoken = \"${{NTFY_TOKEN}}\"\nbase_url = \"http://{addr}\""
        ),
        &[("NTFY_TOKEN", "tk_ntfyS3cret")],
    );
    send(&cfg, &event(EventKind::Down))
        .await
        .expect("delivered");
    let req = only(&log);
    assert_eq!(req.path, "/");
    assert_eq!(req.header("authorization"), Some("Bearer tk_ntfyS3cret"));
    let body = req.json();
    assert_eq!(body["topic"], "ops-alerts");
    assert_eq!(body["title"], "[DOWN] Public API is down");
    assert_eq!(body["priority"], 5);
    assert_eq!(body["click"], "https://status.example.test/probes/api");

    let (addr, log) = receiver(200, "{}");
    let cfg = config(
        &format!("kind = \"ntfy\"\ntopic = \"ops-alerts\"\nbase_url = \"http://{addr}\""),
        &[],
    );
    send(&cfg, &event(EventKind::Degraded))
        .await
        .expect("delivered");
    let req = only(&log);
    assert!(req.header("authorization").is_none());
    assert_eq!(req.json()["priority"], 4);
}

const BOT_TOKEN: &str = "123456:AAHsecretBotToken";

fn telegram_config(addr: SocketAddr) -> Config {
    config(
        &format!(
            "kind = \"telegram\"\ntoken = \"${{TG_TOKEN}}\"\nchat_id = \"-100200300\"\nbase_url = \"http://{addr}\""
        ),
        &[("TG_TOKEN", BOT_TOKEN)],
    )
}

#[tokio::test]
async fn telegram_sends_escaped_html_to_the_bot_path() {
    let (addr, log) = receiver(200, r#"{"ok":true,"result":{}}"#);
    let cfg = telegram_config(addr);
    let mut n = event(EventKind::Down);
    n.probe_name = "<script>".to_string();
    n.message = Some("a & b > c".to_string());
    send(&cfg, &n).await.expect("delivered");
    let req = only(&log);
    assert_eq!(req.path, format!("/bot{BOT_TOKEN}/sendMessage"));
    let body = req.json();
    assert_eq!(body["chat_id"], -100200300_i64);
    assert_eq!(body["parse_mode"], "HTML");
    assert_eq!(body["disable_web_page_preview"], true);
    let text = body["text"].as_str().expect("text");
    assert!(
        text.starts_with("<b>[DOWN] &lt;script&gt; is down</b>"),
        "{text}"
    );
    assert!(text.contains("a &amp; b &gt; c"), "{text}");
    assert!(!text.contains("<script>"), "{text}");
}

#[tokio::test]
async fn server_errors_and_429_are_retryable_other_4xx_are_not() {
    for (status, retryable) in [
        (500, true),
        (503, true),
        (429, true),
        (400, false),
        (404, false),
    ] {
        let (addr, _) = receiver(status, "{\"error\":\"nope\"}\r\n\u{1b}[31m");
        let cfg = config(
            &format!("kind = \"webhook\"\nurl = \"http://{addr}{HOOK_PATH}\""),
            &[],
        );
        let err = send(&cfg, &event(EventKind::Down))
            .await
            .expect_err("an error status is an error");
        assert_eq!(err.retryable, retryable, "HTTP {status}: {err:?}");
        assert!(
            err.message.contains(&format!("HTTP {status}")),
            "{}",
            err.message
        );
        assert!(err.message.contains("nope"), "{}", err.message);
        assert!(
            !err.message.chars().any(char::is_control),
            "{:?}",
            err.message
        );
    }
}

#[tokio::test]
async fn errors_never_show_the_secret_url_or_token() {
    // A webhook whose secret is its URL path; the receiver echoes the path back.
    let addr = echoing_receiver(500);
    let cfg = config(
        &format!("kind = \"webhook\"\nurl = \"http://{addr}{HOOK_PATH}\""),
        &[],
    );
    let err = send(&cfg, &event(EventKind::Down)).await.unwrap_err();
    assert!(err.retryable);
    assert!(
        !err.message.contains("T0pS3cretHookPath"),
        "{}",
        err.message
    );

    // Telegram: the token is in the path.
    let addr = echoing_receiver(400);
    let err = send(&telegram_config(addr), &event(EventKind::Down))
        .await
        .unwrap_err();
    assert!(!err.retryable);
    assert!(err.message.contains("HTTP 400"), "{}", err.message);
    assert!(
        !err.message.contains("AAHsecretBotToken"),
        "{}",
        err.message
    );

    // ntfy: the token is in a header.
    let addr = echoing_receiver(401);
    let cfg = config(
        &format!(
            "kind = \"ntfy\"\ntopic = \"ops\"\ntoken = \"${{NTFY_TOKEN}}\"\nbase_url = \"http://{addr}\""
        ),
        &[("NTFY_TOKEN", "tk_ntfyS3cret")],
    );
    let err = send(&cfg, &event(EventKind::Down)).await.unwrap_err();
    assert!(!err.retryable);
    assert!(!err.message.contains("tk_ntfyS3cret"), "{}", err.message);
}

#[tokio::test]
async fn a_closed_port_is_retryable_and_names_no_url() {
    let port = support::http::closed_port();
    let cfg = config(
        &format!("kind = \"webhook\"\nurl = \"http://127.0.0.1:{port}{HOOK_PATH}\""),
        &[],
    );
    let err = send(&cfg, &event(EventKind::Down)).await.unwrap_err();
    assert!(err.retryable, "{err:?}");
    assert!(
        !err.message.contains("T0pS3cretHookPath"),
        "{}",
        err.message
    );

    let err = send(
        &telegram_config(format!("127.0.0.1:{port}").parse().unwrap()),
        &event(EventKind::Down),
    )
    .await
    .unwrap_err();
    assert!(err.retryable, "{err:?}");
    assert!(
        !err.message.contains("AAHsecretBotToken"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_retryably() {
    // Accepts and holds the connection without answering.
    let addr = serve_raw(|stream| async move {
        let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
        let _ = rx.await;
        drop(stream);
    });
    let cfg = config(
        &format!("kind = \"webhook\"\nurl = \"http://{addr}/hook\""),
        &[],
    );
    let delivery = Delivery {
        timeout: Duration::from_millis(200),
        ..delivery()
    };
    let err = deliver(&delivery, &cfg.channels[0], &event(EventKind::Down))
        .await
        .unwrap_err();
    assert!(err.retryable, "{err:?}");
    assert!(err.message.contains("no answer within"), "{}", err.message);
}

#[tokio::test]
async fn ca_file_roots_are_trusted_for_the_channel() {
    let ca = support::tls::Ca::new();
    let log: Log = Arc::default();
    let seen = log.clone();
    let addr = support::tls::serve_https(ca.leaf(support::tls::LOCAL, 30), move |req| {
        let seen = seen.clone();
        async move {
            let (parts, incoming) = req.into_parts();
            let body = incoming
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            seen.lock().unwrap().push(Captured {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                headers: parts.headers,
                body,
            });
            respond(200, "ok")
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    ca.write(dir.path());
    let hook = format!(
        "kind = \"webhook\"\nurl = \"https://127.0.0.1:{}/hook\"",
        addr.port()
    );

    // Without the CA, the private certificate is refused.
    let cfg = config_in(dir.path(), &hook, &[]);
    let err = send(&cfg, &event(EventKind::Down)).await.unwrap_err();
    assert!(err.retryable, "{err:?}");
    assert!(log.lock().unwrap().is_empty());

    // With `ca_file`, the channel trusts it.
    let cfg = config_in(dir.path(), &format!("{hook}\nca_file = \"ca.pem\""), &[]);
    let receipt = send(&cfg, &event(EventKind::Down))
        .await
        .expect("delivered");
    assert_eq!(receipt.detail, "HTTP 200");
    assert_eq!(only(&log).json()["event"], "down");
}

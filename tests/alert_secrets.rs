//! Issue 9, item 3: a credential never leaves in any wire form. Receivers that
//! answer an error by echoing the request (headers, body, URL) are common; the
//! answer is cut to a status line and a short excerpt with every form of a
//! secret blanked: the plain value, `Basic base64(user:pass)`, a bearer token,
//! URL user-info. Checked where the text lands: the JSON report, stderr and
//! the store's `outbox.last_error`.

mod support;

use std::net::SocketAddr;

use support::{Workspace, http};

/// A receiver that answers 500 with every request header echoed, then a lot
/// of padding, as a careless proxy's error page does.
fn echoing_receiver() -> SocketAddr {
    http::serve(|req| async move {
        let mut echo = format!("error for {} {}\n", req.method(), req.uri());
        for (name, value) in req.headers() {
            echo.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        echo.push_str(&"x".repeat(100_000));
        http::respond(500, echo)
    })
}

fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn last_errors(ws: &Workspace) -> Vec<String> {
    let conn = rusqlite::Connection::open(ws.db()).expect("open store");
    let mut stmt = conn
        .prepare("SELECT last_error FROM outbox WHERE last_error IS NOT NULL")
        .expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .expect("query")
}

#[test]
fn no_wire_form_of_a_credential_reaches_the_report_stderr_or_store() {
    let target = http::serve(|_req| async { http::respond(503, "down") });
    let echo = echoing_receiver();
    let (user, pass) = ("hook-user-7", "hook-pass-Zq9");
    let (literal_user, literal_pass) = ("bob", "literal-pw-4821");
    let token = "ntfy-token-Xy7k2";
    let ws = Workspace::new();
    ws.config(&format!(
        r#"[defaults]
failure_threshold = 1

[[probe]]
id = "api"
url = "http://{target}/"

[[channel]]
name = "from-env"
kind = "webhook"
url = "http://${{HOOK_USER}}:${{HOOK_PASS}}@{echo}/hook"

[[channel]]
name = "literal"
kind = "webhook"
url = "http://{literal_user}:{literal_pass}@{echo}/hook"

[[channel]]
name = "bearer"
kind = "ntfy"
topic = "alerts"
base_url = "http://{echo}/"
token = "${{NTFY_TOKEN}}"
"#
    ));
    let out = ws
        .run_cmd()
        .args(["--format", "json", "--location", "test"])
        .env("HOOK_USER", user)
        .env("HOOK_PASS", pass)
        .env("NTFY_TOKEN", token)
        .env("RUST_LOG", "outpost=debug")
        .output()
        .expect("run outpost");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    let errors: Vec<String> = doc["notifications"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e.as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(errors.len(), 3, "{doc:#}");
    let stored = last_errors(&ws);
    assert_eq!(stored.len(), 3, "{stored:?}");

    let forbidden = [
        user.to_string(),
        pass.to_string(),
        base64(&format!("{user}:{pass}")),
        literal_pass.to_string(),
        base64(&format!("{literal_user}:{literal_pass}")),
        token.to_string(),
        format!("Bearer {}", "${NTFY_TOKEN}"),
        "Basic ".to_string(),
    ];
    for (place, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        for secret in &forbidden {
            assert!(
                !text.contains(secret.as_str()),
                "{secret:?} in {place}:\n{text}"
            );
        }
    }
    for e in errors.iter().chain(&stored) {
        for secret in &forbidden {
            assert!(!e.contains(secret.as_str()), "{secret:?} in {e}");
        }
        assert!(e.contains("HTTP 500"), "the status line stays: {e}");
        assert!(
            e.chars().count() <= 400,
            "a bounded excerpt: {} chars",
            e.chars().count()
        );
    }
}

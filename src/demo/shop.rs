//! The demo's shop: the target of its `flow` probe. Log in for a bearer
//! token and a session cookie, then create, read and delete orders; every
//! other request needs the token.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use super::endpoints::EndpointError;

/// The token the shop hands out. Not a secret (the demo is local), but
/// treated as one by outpost like any captured value.
const TOKEN: &str = "demo-token-4f1c2a9b";
const MAX_REQUEST: usize = 64 * 1024;

/// Start the shop; returns its address.
pub(super) async fn start(tasks: &mut Vec<JoinHandle<()>>) -> Result<SocketAddr, EndpointError> {
    let bind = |source| EndpointError::Bind {
        what: "shop",
        source,
    };
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let next_id = Arc::new(AtomicU64::new(1000));
    tasks.push(tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let next_id = next_id.clone();
            tokio::spawn(async move {
                let Some(head) = read_request(&mut stream).await else {
                    return;
                };
                let reply = answer(&head, &next_id);
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    }));
    Ok(addr)
}

/// The request head and as much of the body as its length says, as text.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut data = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + length || data.len() > MAX_REQUEST {
                return Some(text);
            }
        }
        if data.len() > MAX_REQUEST {
            return Some(text);
        }
    }
}

fn answer(request: &str, next_id: &AtomicU64) -> String {
    let mut words = request.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let authed = request.lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.eq_ignore_ascii_case("authorization") && v.trim() == format!("Bearer {TOKEN}")
        })
    });
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("POST", ["login"]) => reply(
            200,
            &format!(r#"{{"access_token":"{TOKEN}"}}"#),
            &["set-cookie: session=demo; Path=/; HttpOnly"],
        ),
        ("POST", ["orders"]) if authed => {
            let id = next_id.fetch_add(1, Ordering::Relaxed);
            reply(
                201,
                &format!(r#"{{"id":{id}}}"#),
                &[&format!("location: /orders/{id}")],
            )
        }
        ("GET", ["orders", id]) if authed => reply(200, &format!(r#"{{"id":{id}}}"#), &[]),
        ("DELETE", ["orders", _]) if authed => reply(204, "", &[]),
        _ if !authed => reply(401, r#"{"error":"log in first"}"#, &[]),
        _ => reply(404, r#"{"error":"not found"}"#, &[]),
    }
}

fn reply(status: u16, body: &str, headers: &[&str]) -> String {
    let mut head = format!(
        "HTTP/1.1 {status} \r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head.push_str(body);
    head
}

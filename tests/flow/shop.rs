//! A small shop on 127.0.0.1 for flow tests: log in (a bearer token in the
//! JSON answer and a session cookie), create, read and delete orders, log
//! out, a step that fails every other time, one that takes 3 s, and switches
//! that break things.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};

use crate::support::http::{self, Body};

/// The bearer token the shop hands out: it must never leave outpost.
pub const TOKEN: &str = "tok-FLOW-S3CRET-7f3a9c21";
/// The session id in the cookie: a secret too.
pub const SESSION: &str = "sess-C00KIE-5e6d7c8b";

#[derive(Default)]
pub struct Shop {
    pub orders: Mutex<BTreeMap<u64, String>>,
    pub next_id: AtomicUsize,
    pub created: AtomicUsize,
    pub deleted: AtomicUsize,
    pub logouts: AtomicUsize,
    pub flaky_calls: AtomicUsize,
    /// While set, creating an order answers 500.
    pub break_create: AtomicBool,
    /// Every request's method and path, in order.
    pub log: Mutex<Vec<String>>,
}

pub fn start() -> (SocketAddr, Arc<Shop>) {
    let shop = Arc::new(Shop::default());
    let s = shop.clone();
    let addr = http::serve(move |req| {
        let s = s.clone();
        async move { handle(&s, req).await }
    });
    (addr, shop)
}

fn json(status: u16, v: serde_json::Value) -> Response<Body> {
    let mut r = http::respond(status, v.to_string());
    r.headers_mut()
        .insert("content-type", "application/json".parse().expect("value"));
    r
}

async fn handle(shop: &Shop, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    shop.log
        .lock()
        .expect("lock")
        .push(format!("{} {path}", parts.method));
    let header = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let bearer = header("authorization") == format!("Bearer {TOKEN}");
    let cookie = header("cookie")
        .split(';')
        .any(|c| c.trim() == format!("sid={SESSION}"));
    let authed = bearer || cookie;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (&parts.method, segments.as_slice()) {
        (&Method::POST, ["login"]) => {
            let form: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            if form["user"] != "alice" || form["password"] != "pw" {
                return json(401, serde_json::json!({"error": "bad credentials"}));
            }
            let mut r = json(
                200,
                serde_json::json!({"access_token": TOKEN, "user": "alice"}),
            );
            r.headers_mut().insert(
                "set-cookie",
                format!("sid={SESSION}; Path=/; HttpOnly")
                    .parse()
                    .expect("value"),
            );
            r
        }
        (&Method::GET, ["me"]) if authed => json(
            200,
            serde_json::json!({"user": "alice", "token": TOKEN, "via": if bearer { "bearer" } else { "cookie" }}),
        ),
        (&Method::POST, ["logout"]) if authed => {
            shop.logouts.fetch_add(1, Ordering::SeqCst);
            let mut r = http::respond(204, "");
            r.headers_mut().insert(
                "set-cookie",
                "sid=; Path=/; Max-Age=0".parse().expect("value"),
            );
            r
        }
        (&Method::POST, ["orders"]) if authed => {
            if shop.break_create.load(Ordering::SeqCst) {
                return http::respond(500, "database unavailable");
            }
            let order: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let item = order["item"].as_str().unwrap_or_default().to_string();
            let id = shop.next_id.fetch_add(1, Ordering::SeqCst) as u64 + 1;
            shop.orders.lock().expect("lock").insert(id, item.clone());
            shop.created.fetch_add(1, Ordering::SeqCst);
            let mut r = json(201, serde_json::json!({"id": id, "item": item}));
            r.headers_mut()
                .insert("location", format!("/orders/{id}").parse().expect("value"));
            r
        }
        (&Method::GET, ["orders", id]) if authed => {
            let found = id
                .parse::<u64>()
                .ok()
                .and_then(|id| shop.orders.lock().expect("lock").get(&id).cloned());
            match found {
                Some(item) => json(200, serde_json::json!({"id": id, "item": item})),
                None => http::respond(404, "no such order"),
            }
        }
        (&Method::DELETE, ["orders", id]) if authed => {
            let gone = id
                .parse::<u64>()
                .ok()
                .and_then(|id| shop.orders.lock().expect("lock").remove(&id));
            if gone.is_some() {
                shop.deleted.fetch_add(1, Ordering::SeqCst);
                http::respond(204, "")
            } else {
                http::respond(404, "no such order")
            }
        }
        (&Method::GET, ["slow"]) => {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            http::respond(200, "finally")
        }
        (&Method::GET, ["flaky"]) => {
            if shop
                .flaky_calls
                .fetch_add(1, Ordering::SeqCst)
                .is_multiple_of(2)
            {
                http::respond(200, "fine")
            } else {
                http::respond(503, "try again")
            }
        }
        (_, ["me" | "logout" | "orders", ..]) => http::respond(401, "log in first"),
        _ => http::respond(404, "not found"),
    }
}

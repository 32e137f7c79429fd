//! A small HTTP/1.1 server on 127.0.0.1 for tests: a closure answers each request.
//! Also a raw TCP server for targets that misbehave below HTTP.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

pub type Body = BoxBody<Bytes, std::io::Error>;

/// A whole body from bytes.
pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

/// A response with a status and a body.
pub fn respond(status: u16, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
    r
}

/// Start a server on a background thread's runtime; returns its address.
/// The handler gets the request head (the body is not read).
pub fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let handler = Arc::new(handler);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let handler = handler.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let handler = handler.clone();
                        async move { Ok::<_, Infallible>(handler(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    });
    rx.recv().expect("server address")
}

/// Start a plain-http server that speaks HTTP/2 only (prior knowledge, h2c).
pub fn serve_h2c<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let handler = Arc::new(handler);
    serve_raw(move |stream| {
        let handler = handler.clone();
        async move {
            let svc = service_fn(move |req| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler(req).await) }
            });
            let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        }
    })
}

/// Start a server on `[::1]` (IPv6 loopback); `None` when the machine has none.
pub fn serve_v6<F, Fut>(handler: F) -> Option<SocketAddr>
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let std_listener = std::net::TcpListener::bind("[::1]:0").ok()?;
    std_listener.set_nonblocking(true).ok()?;
    let addr = std_listener.local_addr().ok()?;
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = TcpListener::from_std(std_listener).expect("listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let handler = handler.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let handler = handler.clone();
                        async move { Ok::<_, Infallible>(handler(req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    });
    Some(addr)
}

/// Start a raw TCP server: `handler` gets each accepted connection.
pub fn serve_raw<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let handler = Arc::new(handler);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let handler = handler.clone();
                tokio::spawn(async move { handler(stream).await });
            }
        });
    });
    rx.recv().expect("server address")
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A target whose health a test switches: 200 while the flag is true, 503 after.
pub fn switchable() -> (SocketAddr, Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let healthy = Arc::new(AtomicBool::new(true));
    let flag = healthy.clone();
    let addr = serve(move |_req| {
        let ok = flag.load(Ordering::SeqCst);
        async move {
            if ok {
                respond(200, "ok")
            } else {
                respond(503, "unavailable")
            }
        }
    });
    (addr, healthy)
}

/// A webhook receiver recording the JSON bodies it gets; it answers 503 while
/// `failing` is set, and counts every request in `hits`.
pub struct Receiver {
    pub addr: SocketAddr,
    pub got: Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    pub failing: Arc<std::sync::atomic::AtomicBool>,
    pub hits: Arc<std::sync::atomic::AtomicUsize>,
}

impl Receiver {
    pub fn start() -> Self {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let got = Arc::new(std::sync::Mutex::new(Vec::new()));
        let failing = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let (g, f, h) = (got.clone(), failing.clone(), hits.clone());
        let addr = serve(move |req| {
            let (g, f, h) = (g.clone(), f.clone(), h.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                if f.load(Ordering::SeqCst) {
                    return respond(503, "try later");
                }
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                if let Ok(v) = serde_json::from_slice(&body) {
                    g.lock().expect("lock").push(v);
                }
                respond(200, "ok")
            }
        });
        Receiver {
            addr,
            got,
            failing,
            hits,
        }
    }

    /// The `event` field of every notification received, in order.
    pub fn events(&self) -> Vec<String> {
        self.got
            .lock()
            .expect("lock")
            .iter()
            .map(|v| v["event"].as_str().unwrap_or("?").to_string())
            .collect()
    }
}

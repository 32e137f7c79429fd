//! The demo's targets: small servers on 127.0.0.1, inside the process, one per
//! kind of behaviour the status page should show (healthy, slow, flapping,
//! failing, a certificate about to expire, a TCP service, a metrics endpoint and
//! a DNS name).
//!
//! The HTTP servers speak just enough HTTP/1.1 for a probe: read the request
//! head, answer once, close. That keeps hyper's server side out of the binary.

use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// The website's certificate expires this many days from today (midnight UTC),
/// inside the demo's `cert_days = 14` warning.
pub const CERT_DAYS_LEFT: i64 = 10;

/// The name the demo DNS server answers, and its addresses.
pub const DNS_NAME: &str = "api.outpost.test";
pub const DNS_ANSWERS: [Ipv4Addr; 2] = [Ipv4Addr::new(10, 20, 0, 5), Ipv4Addr::new(10, 20, 0, 6)];

/// Largest request head read before answering.
const MAX_HEAD: usize = 16 * 1024;

/// Why the endpoints could not start.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("cannot listen on 127.0.0.1 for the {what} endpoint: {source}")]
    Bind {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot make the demo certificate: {0}")]
    Certificate(String),
}

/// The running endpoints; dropping this stops them.
pub struct Endpoints {
    /// Healthy JSON API, about 20 ms.
    pub api: SocketAddr,
    /// Healthy but slow (about 600 ms).
    pub slow: SocketAddr,
    /// Every second request answers 502.
    pub flapping: SocketAddr,
    /// Always 503.
    pub failing: SocketAddr,
    /// HTTPS with a certificate from [`Endpoints::ca_pem`] that expires soon.
    pub https: SocketAddr,
    /// A TCP service that accepts and closes.
    pub tcp: SocketAddr,
    /// Prometheus text exposition.
    pub metrics: SocketAddr,
    /// A UDP DNS server answering [`DNS_NAME`].
    pub dns: SocketAddr,
    /// A shop to log in to and order from: the `flow` probe's target.
    pub shop: SocketAddr,
    /// The private CA that signed the HTTPS endpoint's certificate, PEM.
    pub ca_pem: String,
    /// When the HTTPS endpoint's certificate expires.
    pub cert_expires_at: DateTime<Utc>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Endpoints {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// One canned HTTP answer.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: String,
    delay: Duration,
}

impl Reply {
    fn json(status: u16, body: &str, delay_ms: u64) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: body.to_string(),
            delay: Duration::from_millis(delay_ms),
        }
    }
}

/// Start every endpoint on the current tokio runtime.
pub async fn start() -> Result<Endpoints, EndpointError> {
    let mut tasks = Vec::new();

    let api = http("api", &mut tasks, |n| {
        // 15 to 25 ms, varying by request.
        Reply::json(
            200,
            r#"{"status":"ok","version":"2.4.1"}"#,
            15 + (n * 7) % 11,
        )
    })
    .await?;
    let slow = http("slow", &mut tasks, |_| {
        Reply::json(200, r#"{"status":"ok","results":[]}"#, 600)
    })
    .await?;
    let flapping = http("flapping", &mut tasks, |n| {
        if n % 2 == 1 {
            Reply::json(502, r#"{"error":"bad gateway"}"#, 5)
        } else {
            Reply::json(200, r#"{"status":"ok"}"#, 30)
        }
    })
    .await?;
    let failing = http("failing", &mut tasks, |_| {
        Reply::json(503, r#"{"status":"unavailable"}"#, 40)
    })
    .await?;
    let metrics = http("metrics", &mut tasks, |n| Reply {
        status: 200,
        content_type: "text/plain; version=0.0.4",
        body: exposition(n),
        delay: Duration::from_millis(5),
    })
    .await?;

    let (ca_pem, identity, cert_expires_at) = certificates()?;
    let https = https(identity, &mut tasks).await?;
    let tcp = tcp(&mut tasks).await?;
    let dns = dns(&mut tasks).await?;
    let shop = super::shop::start(&mut tasks).await?;

    Ok(Endpoints {
        api,
        slow,
        flapping,
        failing,
        https,
        tcp,
        metrics,
        dns,
        shop,
        ca_pem,
        cert_expires_at,
        tasks,
    })
}

async fn listen(what: &'static str) -> Result<(TcpListener, SocketAddr), EndpointError> {
    let bind = |source| EndpointError::Bind { what, source };
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    Ok((listener, addr))
}

/// A plain HTTP endpoint; `answer` gets the request's number (from 0).
async fn http(
    what: &'static str,
    tasks: &mut Vec<JoinHandle<()>>,
    answer: impl Fn(u64) -> Reply + Send + Sync + 'static,
) -> Result<SocketAddr, EndpointError> {
    let (listener, addr) = listen(what).await?;
    let answer = Arc::new(answer);
    let count = Arc::new(AtomicU64::new(0));
    tasks.push(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let answer = answer.clone();
            let count = count.clone();
            tokio::spawn(async move {
                let mut stream = stream;
                if read_head(&mut stream).await {
                    let reply = answer(count.fetch_add(1, Ordering::Relaxed));
                    write_reply(&mut stream, reply).await;
                }
            });
        }
    }));
    Ok(addr)
}

/// Read up to the end of the request head; false when the client went away.
async fn read_head(stream: &mut (impl AsyncRead + Unpin)) -> bool {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while head.len() < MAX_HEAD {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            return true;
        }
    }
    true
}

async fn write_reply(stream: &mut (impl AsyncWrite + Unpin), reply: Reply) {
    tokio::time::sleep(reply.delay).await;
    let reason = match reply.status {
        200 => "OK",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    };
    let head = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(reply.body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A small Prometheus exposition whose counter grows with each scrape.
fn exposition(n: u64) -> String {
    format!(
        "# HELP http_requests_total Requests served.\n\
         # TYPE http_requests_total counter\n\
         http_requests_total{{job=\"api\",code=\"200\"}} {}\n\
         http_requests_total{{job=\"api\",code=\"500\"}} {}\n\
         # HELP http_requests_in_flight Requests being served now.\n\
         # TYPE http_requests_in_flight gauge\n\
         http_requests_in_flight {}\n\
         # HELP queue_depth Jobs waiting.\n\
         # TYPE queue_depth gauge\n\
         queue_depth {}\n\
         # TYPE up gauge\n\
         up{{job=\"api\"}} 1\n",
        1_204_331 + n * 317,
        87 + n / 10,
        30 + (n * 13) % 20,
        4 + (n * 7) % 9
    )
}

/// A certificate chain and its key, ready for a server.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn midnight_in(days: i64) -> (NaiveDate, (i32, u8, u8)) {
    let d = (Utc::now() + chrono::Duration::days(days)).date_naive();
    (d, (d.year(), d.month() as u8, d.day() as u8))
}

/// A private CA (PEM) and a leaf for 127.0.0.1/localhost it signed, issued 80
/// days ago and expiring [`CERT_DAYS_LEFT`] days from today at midnight UTC.
fn certificates() -> Result<(String, Identity, DateTime<Utc>), EndpointError> {
    let err = |e: rcgen::Error| EndpointError::Certificate(e.to_string());

    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Outpost Demo CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let (_, (y, m, d)) = midnight_in(-365);
    ca.not_before = date_time_ymd(y, m, d);
    let (_, (y, m, d)) = midnight_in(3650);
    ca.not_after = date_time_ymd(y, m, d);
    let issuer =
        CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(err)?).map_err(err)?;

    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .map_err(err)?;
    let (_, (y, m, d)) = midnight_in(-80);
    leaf.not_before = date_time_ymd(y, m, d);
    let (expiry, (y, m, d)) = midnight_in(CERT_DAYS_LEFT);
    leaf.not_after = date_time_ymd(y, m, d);
    let key = KeyPair::generate().map_err(err)?;
    let cert = leaf.signed_by(&key, &issuer).map_err(err)?;

    let identity = Identity {
        chain: vec![cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    };
    let expires_at = expiry.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let expires_at =
        expires_at.ok_or_else(|| EndpointError::Certificate("expiry out of range".into()))?;
    Ok((issuer.pem(), identity, expires_at))
}

/// The website over HTTPS.
async fn https(
    identity: Identity,
    tasks: &mut Vec<JoinHandle<()>>,
) -> Result<SocketAddr, EndpointError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| EndpointError::Certificate(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)
        .map_err(|e| EndpointError::Certificate(e.to_string()))?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let (listener, addr) = listen("https").await?;
    tasks.push(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                if read_head(&mut tls).await {
                    let reply = Reply {
                        status: 200,
                        content_type: "text/html; charset=utf-8",
                        body: "<!doctype html><title>Acme</title><h1>Welcome to Acme</h1>\n"
                            .to_string(),
                        delay: Duration::from_millis(25),
                    };
                    write_reply(&mut tls, reply).await;
                }
            });
        }
    }));
    Ok(addr)
}

/// A TCP service: accept, then close.
async fn tcp(tasks: &mut Vec<JoinHandle<()>>) -> Result<SocketAddr, EndpointError> {
    let (listener, addr) = listen("tcp").await?;
    tasks.push(tokio::spawn(async move {
        loop {
            // Dropping the accepted stream closes it.
            let _ = listener.accept().await;
        }
    }));
    Ok(addr)
}

/// A UDP DNS server that knows one name.
async fn dns(tasks: &mut Vec<JoinHandle<()>>) -> Result<SocketAddr, EndpointError> {
    let bind = |source| EndpointError::Bind {
        what: "dns",
        source,
    };
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(bind)?;
    let addr = socket.local_addr().map_err(bind)?;
    tasks.push(tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                continue;
            };
            if let Some(reply) = dns_answer(&buf[..n]) {
                let _ = socket.send_to(&reply, from).await;
            }
        }
    }));
    Ok(addr)
}

/// The answer to one query packet; `None` for a packet that is not a query.
fn dns_answer(packet: &[u8]) -> Option<Vec<u8>> {
    let query = Message::from_vec(packet).ok()?;
    if query.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut response = Message::response(query.metadata.id, OpCode::Query);
    response.metadata.recursion_desired = query.metadata.recursion_desired;
    response.metadata.authoritative = true;
    let Some(q) = query.queries.first() else {
        response.metadata.response_code = ResponseCode::FormErr;
        return response.to_vec().ok();
    };
    response.add_query(q.clone());
    let known = Name::from_str(DNS_NAME).ok()?;
    if !q.name().eq_ignore_root(&known) {
        response.metadata.response_code = ResponseCode::NXDomain;
        return response.to_vec().ok();
    }
    if matches!(q.query_type(), RecordType::A | RecordType::ANY) {
        for ip in DNS_ANSWERS {
            response.add_answer(Record::from_rdata(q.name().clone(), 60, RData::A(A(ip))));
        }
    }
    response.to_vec().ok()
}

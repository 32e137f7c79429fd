//! Certificates and an HTTPS server for TLS tests: a private CA, leaves for
//! 127.0.0.1/localhost with a chosen expiry, self-signed (untrusted) leaves.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use chrono::{Datelike, Utc};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::http::Body;

/// A certificate chain and its key, ready for a server.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// A private certificate authority.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// Set validity from `from` to `to` days from today (negative: in the past), at
/// midnight UTC, as rcgen takes dates.
fn validity(params: &mut CertificateParams, from: i64, to: i64) {
    let ymd = |days: i64| {
        let d = Utc::now() + chrono::Duration::days(days);
        (d.year(), d.month() as u8, d.day() as u8)
    };
    let (y, m, d) = ymd(from);
    params.not_before = date_time_ymd(y, m, d);
    let (y, m, d) = ymd(to);
    params.not_after = date_time_ymd(y, m, d);
}

impl Ca {
    /// A new CA valid for ten years.
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Outpost Test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        validity(&mut params, -1, 3650);
        let key = KeyPair::generate().expect("ca key");
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).expect("ca cert"),
        }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// Write the CA certificate to `dir/ca.pem`, for `ca_file = "ca.pem"`.
    pub fn write(&self, dir: &Path) {
        std::fs::write(dir.join("ca.pem"), self.pem()).expect("write ca.pem");
    }

    /// A leaf for `names` (DNS names or IP addresses) signed by this CA, expiring
    /// `days` from today (negative: already expired).
    pub fn leaf(&self, names: &[&str], days: i64) -> Identity {
        let (params, key) = leaf_params(names, days);
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        Identity {
            chain: vec![cert.der().clone()],
            key: private_key(&key),
        }
    }
}

impl Default for Ca {
    fn default() -> Self {
        Self::new()
    }
}

fn leaf_params(names: &[&str], days: i64) -> (CertificateParams, KeyPair) {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("leaf params");
    validity(&mut params, days.min(0) - 30, days);
    (params, KeyPair::generate().expect("leaf key"))
}

fn private_key(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivatePkcs8KeyDer::from(key.serialize_der()).into()
}

/// A self-signed leaf for `names`: no CA vouches for it.
pub fn self_signed(names: &[&str]) -> Identity {
    let (params, key) = leaf_params(names, 365);
    let cert = params.self_signed(&key).expect("self-sign");
    Identity {
        chain: vec![cert.der().clone()],
        key: private_key(&key),
    }
}

/// The names a leaf for the local test servers needs.
pub const LOCAL: &[&str] = &["127.0.0.1", "localhost"];

fn acceptor(identity: Identity) -> TlsAcceptor {
    acceptor_with(identity, &[b"http/1.1"], None)
}

/// A TLS acceptor offering `alpn` (empty: no ALPN at all) and, with
/// `client_ca`, requiring a client certificate that CA issued.
fn acceptor_with(identity: Identity, alpn: &[&[u8]], client_ca: Option<&Ca>) -> TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("protocol versions");
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca.issuer.der().clone()).expect("client CA root");
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(identity.chain, identity.key)
        .expect("server certificate");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsAcceptor::from(Arc::new(config))
}

/// Test client keys, made with openssl: one RSA key in PKCS#1 and PKCS#8, one
/// P-256 key in SEC1 and PKCS#8.
pub const RSA_PKCS1: &str = include_str!("keys/rsa-pkcs1.pem");
pub const RSA_PKCS8: &str = include_str!("keys/rsa-pkcs8.pem");
pub const EC_SEC1: &str = include_str!("keys/ec-sec1.pem");
pub const EC_PKCS8: &str = include_str!("keys/ec-pkcs8.pem");

impl Ca {
    /// A client certificate (PEM) for the key in `key_pkcs8_pem`, signed by this CA.
    pub fn client_cert(&self, key_pkcs8_pem: &str) -> String {
        let key = KeyPair::from_pem(key_pkcs8_pem).expect("client key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "outpost probe");
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        validity(&mut params, -1, 365);
        params
            .signed_by(&key, &self.issuer)
            .expect("sign client cert")
            .pem()
    }
}

/// A self-signed certificate made the way `openssl req -x509 -newkey rsa:2048
/// -subj /CN=localhost -addext subjectAltName=DNS:localhost` makes one: it is
/// its own issuer and marked `CA:TRUE`. Returns the server identity and the
/// certificate's PEM (what a user puts in `ca_file`).
pub fn openssl_style_self_signed(names: &[&str]) -> (Identity, String) {
    let (mut params, key) = leaf_params(names, 365);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.use_authority_key_identifier_extension = true;
    let cert = params.self_signed(&key).expect("self-sign");
    let pem = cert.pem();
    (
        Identity {
            chain: vec![cert.der().clone()],
            key: private_key(&key),
        },
        pem,
    )
}

/// Start a TLS server with the given ALPN list and client-certificate CA;
/// `handler` gets each connection after a successful handshake.
pub fn serve_tls_with<F, Fut>(
    identity: Identity,
    alpn: &[&[u8]],
    client_ca: Option<&Ca>,
    handler: F,
) -> SocketAddr
where
    F: Fn(TlsStream<TcpStream>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let acceptor = acceptor_with(identity, alpn, client_ca);
    let handler = Arc::new(handler);
    super::http::serve_raw(move |stream| {
        let acceptor = acceptor.clone();
        let handler = handler.clone();
        async move {
            if let Ok(tls) = acceptor.accept(stream).await {
                handler(tls).await;
            }
        }
    })
}

/// An HTTPS server that speaks HTTP/2 only: ALPN `h2` and nothing else.
pub fn serve_h2<F, Fut>(identity: Identity, handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let handler = Arc::new(handler);
    serve_tls_with(identity, &[b"h2"], None, move |tls| {
        let handler = handler.clone();
        async move {
            let svc = service_fn(move |req| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler(req).await) }
            });
            let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), svc)
                .await;
        }
    })
}

/// An HTTPS (HTTP/1.1) server with the given ALPN list and, with `client_ca`,
/// mutual TLS: clients without a certificate from that CA are refused.
pub fn serve_https_with<F, Fut>(
    identity: Identity,
    alpn: &[&[u8]],
    client_ca: Option<&Ca>,
    handler: F,
) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let handler = Arc::new(handler);
    serve_tls_with(identity, alpn, client_ca, move |tls| {
        let handler = handler.clone();
        async move {
            let svc = service_fn(move |req| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler(req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tls), svc)
                .await;
        }
    })
}

/// Start a raw TLS server on 127.0.0.1 presenting `identity`: `handler` gets
/// each connection after a successful handshake (a failed one drops the client).
pub fn serve_tls_raw<F, Fut>(identity: Identity, handler: F) -> SocketAddr
where
    F: Fn(TlsStream<TcpStream>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let acceptor = acceptor(identity);
    let handler = Arc::new(handler);
    super::http::serve_raw(move |stream| {
        let acceptor = acceptor.clone();
        let handler = handler.clone();
        async move {
            if let Ok(tls) = acceptor.accept(stream).await {
                handler(tls).await;
            }
        }
    })
}

/// Start an HTTPS (HTTP/1.1) server on 127.0.0.1 presenting `identity`;
/// `handler` answers each request.
pub fn serve_https<F, Fut>(identity: Identity, handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let handler = Arc::new(handler);
    serve_tls_raw(identity, move |tls| {
        let handler = handler.clone();
        async move {
            let svc = service_fn(move |req| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler(req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(tls), svc)
                .await;
        }
    })
}

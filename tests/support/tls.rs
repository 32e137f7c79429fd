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
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)
        .expect("server certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
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

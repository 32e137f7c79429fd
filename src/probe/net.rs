//! Connection building blocks with timings: resolve, connect, TLS handshake.
//! Each step records its phase and stage in [`Progress`] as it goes, so a
//! timeout or an error keeps what was measured before it.

mod verify;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::ServerName;
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::{Progress, Stage};
use crate::assert::short;
use crate::config::TlsOptions;
use crate::model::{Cause, Failure};
use verify::RecordingVerifier;

/// The system's trusted roots, loaded once per run.
#[derive(Debug, Clone)]
pub struct TrustStore {
    pub roots: RootCertStore,
}

impl TrustStore {
    /// Load the platform roots; fall back to the bundled Mozilla roots when the
    /// platform has none (a minimal container).
    pub fn system() -> Self {
        let mut roots = RootCertStore::empty();
        // Unreadable or unparsable platform certificates are skipped: one bad file
        // in /etc/ssl must not stop every probe.
        let native = rustls_native_certs::load_native_certs();
        let (added, _skipped) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        TrustStore { roots }
    }
}

/// Add `spent` to a phase: a probe that makes several connections (redirects)
/// reports the sum of each phase.
pub fn add_phase(slot: &mut Option<Duration>, spent: Duration) {
    *slot = Some(slot.unwrap_or_default() + spent);
}

/// A host as written in a URL or `host:port`, without IPv6 brackets.
fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Resolve `host` with the system resolver. An IP literal skips DNS, and the
/// `dns` phase stays empty.
pub async fn resolve(
    host: &str,
    port: u16,
    progress: &mut Progress,
) -> Result<Vec<SocketAddr>, Failure> {
    let host = bare_host(host);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    progress.stage = Stage::Dns;
    let started = Instant::now();
    let found = tokio::net::lookup_host((host, port)).await;
    add_phase(&mut progress.phases.dns, started.elapsed());
    let addrs: Vec<SocketAddr> = found
        .map_err(|e| {
            Failure::new(
                Cause::Dns,
                format!("DNS lookup failed: {}", dns_message(&e)),
            )
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Failure::new(Cause::Dns, "DNS lookup returned no addresses"));
    }
    Ok(addrs)
}

/// Connect to each address in order until one accepts; the `connect` phase
/// covers all attempts.
pub async fn connect(addrs: &[SocketAddr], progress: &mut Progress) -> Result<TcpStream, Failure> {
    progress.stage = Stage::Connect;
    let started = Instant::now();
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                add_phase(&mut progress.phases.connect, started.elapsed());
                // Requests are small and written at once; Nagle would only add delay.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    let message = match last {
        Some(e) => connect_message(&e),
        None => "no address to connect to".to_string(),
    };
    Err(Failure::new(Cause::Connect, message))
}

/// Resolve and connect: the first two phases of every network probe.
pub async fn open(host: &str, port: u16, progress: &mut Progress) -> Result<TcpStream, Failure> {
    let addrs = resolve(host, port, progress).await?;
    connect(&addrs, progress).await
}

/// Run a TLS handshake over `stream`, verifying the server as `host` (an IP
/// literal is checked against the certificate's IP addresses), and record the
/// leaf certificate's expiry, even when verification rejects it.
pub async fn handshake(
    stream: TcpStream,
    host: &str,
    options: &TlsOptions,
    trust: &TrustStore,
    alpn: &[&[u8]],
    progress: &mut Progress,
) -> Result<TlsStream<TcpStream>, Failure> {
    progress.stage = Stage::Tls;
    let name = ServerName::try_from(bare_host(host).to_string())
        .map_err(|_| Failure::new(Cause::Tls, "host is not a valid TLS server name"))?;
    let (config, verifier) = client_config(options, trust, alpn)?;
    let started = Instant::now();
    let result = TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await;
    progress.cert_expires_at = verifier.expires_at();
    let stream = result.map_err(|e| tls_failure(&e))?;
    add_phase(&mut progress.phases.tls, started.elapsed());
    Ok(stream)
}

/// A client configuration for one connection (ring provider, safe defaults), with
/// the verifier that records the certificate.
fn client_config(
    options: &TlsOptions,
    trust: &TrustStore,
    alpn: &[&[u8]],
) -> Result<(ClientConfig, Arc<RecordingVerifier>), Failure> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let inner = if options.insecure {
        None
    } else {
        let mut roots = trust.roots.clone();
        roots.add_parsable_certificates(options.extra_roots.iter().cloned());
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| Failure::new(Cause::Tls, format!("no usable trust roots: {e}")))?;
        Some(verifier)
    };
    let verifier = Arc::new(RecordingVerifier::new(inner, &provider));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::new(Cause::Tls, format!("TLS setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok((config, verifier))
}

/// Classify a failed handshake with a short message.
fn tls_failure(e: &io::Error) -> Failure {
    let tls = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    let message = match tls {
        Some(rustls::Error::InvalidCertificate(c)) => certificate_message(c),
        Some(rustls::Error::AlertReceived(alert)) => {
            format!("server rejected the TLS handshake: {alert:?}")
        }
        Some(rustls::Error::NoApplicationProtocol) => {
            "server does not speak http/1.1 (ALPN)".to_string()
        }
        Some(other) => short(&format!("TLS handshake failed: {other}")),
        None => match e.kind() {
            io::ErrorKind::UnexpectedEof => "connection closed during TLS handshake".to_string(),
            io::ErrorKind::ConnectionReset => "connection reset during TLS handshake".to_string(),
            _ => format!("TLS handshake failed: {}", io_message(e)),
        },
    };
    Failure::new(Cause::Tls, message)
}

fn certificate_message(c: &CertificateError) -> String {
    use CertificateError as C;
    match c {
        C::UnknownIssuer => "certificate not trusted: UnknownIssuer".to_string(),
        C::Expired | C::ExpiredContext { .. } => "certificate expired".to_string(),
        C::NotValidYet | C::NotValidYetContext { .. } => "certificate not valid yet".to_string(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "certificate not valid for this host name".to_string()
        }
        C::Revoked => "certificate revoked".to_string(),
        C::BadSignature => "certificate has a bad signature".to_string(),
        other => short(&format!("invalid certificate: {other}")),
    }
}

fn connect_message(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        io::ErrorKind::ConnectionReset => "connection reset".to_string(),
        io::ErrorKind::HostUnreachable => "host unreachable".to_string(),
        io::ErrorKind::NetworkUnreachable => "network unreachable".to_string(),
        io::ErrorKind::AddrNotAvailable => "address not available".to_string(),
        _ => format!("connect failed: {}", io_message(e)),
    }
}

/// The resolver's reason without the standard library's prefix.
fn dns_message(e: &io::Error) -> String {
    let text = io_message(e);
    text.strip_prefix("failed to lookup address information: ")
        .map(str::to_string)
        .unwrap_or(text)
}

/// An I/O error's text without the `(os error N)` suffix, shortened.
pub fn io_message(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => text.as_str(),
    };
    short(text)
}

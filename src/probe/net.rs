//! Connection building blocks with timings: resolve (per `ip_version`),
//! connect (Happy Eyeballs), TLS handshake (ALPN, client certificates).
//! Each step records its phase and stage in [`Progress`] as it goes, so a
//! timeout or an error keeps what was measured before it.

mod happy_eyeballs;
mod tls_message;
mod verify;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::{Progress, Stage};
use crate::assert::short;
use crate::config::{IpVersion, TlsOptions};
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

/// Resolve `host` with the system resolver, keeping the addresses of the
/// family `ip_version` allows. An IP literal skips DNS, and the `dns` phase
/// stays empty.
pub async fn resolve(
    host: &str,
    port: u16,
    ip_version: IpVersion,
    progress: &mut Progress,
) -> Result<Vec<SocketAddr>, Failure> {
    let host = bare_host(host);
    if let Ok(ip) = host.parse::<IpAddr>() {
        if !ip_version.admits(ip) {
            return Err(Failure::new(
                Cause::Connect,
                format!(
                    "{ip} is not an IPv{} address (ip_version = \"{}\")",
                    ip_version.as_str(),
                    ip_version.as_str()
                ),
            ));
        }
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
    let admitted: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| ip_version.admits(a.ip()))
        .collect();
    if admitted.is_empty() {
        return Err(Failure::new(
            Cause::Dns,
            format!(
                "{} has no IPv{} address (ip_version = \"{}\")",
                short(host),
                ip_version.as_str(),
                ip_version.as_str()
            ),
        ));
    }
    Ok(admitted)
}

/// Connect to one of `addrs`, Happy-Eyeballs style; the `connect` phase covers
/// every attempt, and the address reached is recorded.
pub async fn connect(addrs: &[SocketAddr], progress: &mut Progress) -> Result<TcpStream, Failure> {
    progress.stage = Stage::Connect;
    let started = Instant::now();
    let ordered = happy_eyeballs::interleave(addrs);
    match happy_eyeballs::race(&ordered, happy_eyeballs::ATTEMPT_DELAY).await {
        Ok((stream, addr)) => {
            add_phase(&mut progress.phases.connect, started.elapsed());
            progress.ip = Some(addr.ip());
            // Requests are small and written at once; Nagle would only add delay.
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Err(e) => Err(Failure::new(Cause::Connect, connect_message(&e))),
    }
}

/// Resolve and connect: the first two phases of every network probe.
pub async fn open(
    host: &str,
    port: u16,
    ip_version: IpVersion,
    progress: &mut Progress,
) -> Result<TcpStream, Failure> {
    let addrs = resolve(host, port, ip_version, progress).await?;
    connect(&addrs, progress).await
}

/// A negotiated TLS connection and what the handshake learned.
pub struct Tls<S> {
    pub stream: TlsStream<S>,
    /// The ALPN protocol the server chose, if any.
    pub alpn: Option<Vec<u8>>,
    /// Explains failures that surface after the handshake (a client
    /// certificate refused in TLS 1.3 arrives with the first read).
    pub explain: Explainer,
}

/// Turns a TLS error seen after the handshake into a sentence, with what the
/// handshake knew.
#[derive(Clone)]
pub struct Explainer {
    host: String,
    verifier: Arc<RecordingVerifier>,
    client: Arc<ClientAuth>,
}

impl Explainer {
    /// The failure for a rustls error found under an I/O error, if it is one.
    pub fn tls_error(&self, e: &io::Error) -> Option<Failure> {
        let tls = e.get_ref()?.downcast_ref::<rustls::Error>()?;
        let leaf = self.verifier.leaf();
        Some(tls_message::failure(tls, &self.context(leaf.as_ref())))
    }

    /// Whether the server asked for a client certificate.
    pub fn client_cert_requested(&self) -> bool {
        self.client.requested()
    }

    fn context<'a>(&'a self, leaf: Option<&'a verify::LeafInfo>) -> tls_message::Context<'a> {
        tls_message::Context {
            host: &self.host,
            leaf,
            client_cert: self.client.identity.is_some(),
            client_cert_requested: self.client.requested(),
            now: None,
        }
    }
}

/// Run a TLS handshake over `stream`, verifying the server as `host` (an IP
/// literal is checked against the certificate's IP addresses), offering `alpn`
/// and the client certificate when the server asks; records the leaf
/// certificate's expiry, even when verification rejects it.
pub async fn handshake<S>(
    stream: S,
    host: &str,
    options: &TlsOptions,
    trust: &TrustStore,
    alpn: &[&[u8]],
    progress: &mut Progress,
) -> Result<Tls<S>, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    progress.stage = Stage::Tls;
    let name = ServerName::try_from(bare_host(host).to_string())
        .map_err(|_| Failure::new(Cause::Tls, "the host is not a valid TLS server name"))?;
    let (config, verifier, client) = client_config(options, trust, alpn)?;
    let explain = Explainer {
        host: bare_host(host).to_string(),
        verifier,
        client,
    };
    let started = Instant::now();
    let result = TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await;
    progress.cert_expires_at = explain.verifier.expires_at();
    let stream = result.map_err(|e| tls_failure(&e, &explain))?;
    add_phase(&mut progress.phases.tls, started.elapsed());
    let alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    Ok(Tls {
        stream,
        alpn,
        explain,
    })
}

/// Presents the configured client certificate and notes that the server asked.
#[derive(Debug)]
struct ClientAuth {
    identity: Option<Arc<rustls::sign::CertifiedKey>>,
    requested: AtomicBool,
}

impl ClientAuth {
    fn requested(&self) -> bool {
        self.requested.load(Ordering::Relaxed)
    }
}

impl ResolvesClientCert for ClientAuth {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.requested.store(true, Ordering::Relaxed);
        self.identity.clone()
    }

    fn has_certs(&self) -> bool {
        self.identity.is_some()
    }
}

/// A client configuration for one connection (ring provider, safe defaults), with
/// the verifier that records the certificate and the client-certificate resolver.
fn client_config(
    options: &TlsOptions,
    trust: &TrustStore,
    alpn: &[&[u8]],
) -> Result<(ClientConfig, Arc<RecordingVerifier>, Arc<ClientAuth>), Failure> {
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
    let verifier = Arc::new(RecordingVerifier::new(
        inner,
        options.extra_roots.clone(),
        &provider,
    ));
    let client = Arc::new(ClientAuth {
        identity: options.client_identity.as_ref().map(|i| i.0.clone()),
        requested: AtomicBool::new(false),
    });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::new(Cause::Tls, format!("TLS setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_client_cert_resolver(client.clone());
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok((config, verifier, client))
}

/// Classify a failed handshake with a sentence.
fn tls_failure(e: &io::Error, explain: &Explainer) -> Failure {
    if let Some(f) = explain.tls_error(e) {
        return f;
    }
    let message = match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the TLS handshake".to_string()
        }
        io::ErrorKind::ConnectionReset => {
            "the server reset the connection during the TLS handshake".to_string()
        }
        _ => format!("the TLS handshake failed: {}", io_message(e)),
    };
    Failure::new(Cause::Tls, message)
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

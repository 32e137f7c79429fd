//! The certificate verifier every TLS connection uses: it notes what the leaf
//! says (expiry, names, issuer) before judging it, so even a rejected
//! certificate is reported and explained; it trusts a leaf that is itself in
//! `ca_file`, as curl does; and with `insecure = true` it accepts any chain.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, Error};

/// What the server's leaf certificate says, for messages a person can act on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeafInfo {
    pub subject: String,
    pub issuer: String,
    pub self_signed: bool,
    /// DNS names and IP addresses of the subject alternative names.
    pub names: Vec<String>,
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
}

impl LeafInfo {
    /// Parse a DER certificate; `None` when it does not parse.
    pub fn parse(der: &[u8]) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let names = cert
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|san| {
                san.value
                    .general_names
                    .iter()
                    .filter_map(|n| match n {
                        x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                        x509_parser::extensions::GeneralName::IPAddress(b) => ip_text(b),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(LeafInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
            names,
            not_before: DateTime::from_timestamp(cert.validity().not_before.timestamp(), 0),
            not_after: DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0),
        })
    }
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv4Addr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv6Addr::from(b).to_string()),
        _ => None,
    }
}

/// Records the leaf certificate, then verifies it: a leaf that is one of the
/// `ca_file` certificates is trusted as it is (name and validity still checked),
/// anything else goes to webpki unless verification is switched off.
#[derive(Debug)]
pub struct RecordingVerifier {
    /// `None`: accept any certificate (`insecure = true`).
    inner: Option<Arc<WebPkiServerVerifier>>,
    /// Certificates from `ca_file`, trusted as leaves too.
    pinned: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
    leaf: Mutex<Option<LeafInfo>>,
}

impl RecordingVerifier {
    /// Wrap a webpki verifier (or `None` to accept any certificate), trusting the
    /// `pinned` certificates as leaves.
    pub fn new(
        inner: Option<Arc<WebPkiServerVerifier>>,
        pinned: Vec<CertificateDer<'static>>,
        provider: &CryptoProvider,
    ) -> Self {
        RecordingVerifier {
            inner,
            pinned,
            algorithms: provider.signature_verification_algorithms,
            leaf: Mutex::new(None),
        }
    }

    /// What the server's leaf certificate said, if it parsed.
    pub fn leaf(&self) -> Option<LeafInfo> {
        // A poisoned lock only means a panic elsewhere; the value is still plain data.
        self.leaf.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The expiry of the leaf certificate the server presented, if it parsed.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.leaf().and_then(|l| l.not_after)
    }
}

/// Checks of a leaf trusted because it is in `ca_file`: the name it is for and
/// its validity period. The handshake signature still proves the server holds
/// its key.
fn verify_pinned(
    end_entity: &CertificateDer<'_>,
    leaf: Option<&LeafInfo>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), Error> {
    let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
    rustls::client::verify_server_name(&parsed, server_name)?;
    let unix = |t: DateTime<Utc>| {
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(t.timestamp().max(0) as u64))
    };
    let now_secs = now.as_secs() as i64;
    if let Some(l) = leaf {
        if let Some(nb) = l.not_before
            && now_secs < nb.timestamp()
        {
            return Err(CertificateError::NotValidYetContext {
                time: now,
                not_before: unix(nb),
            }
            .into());
        }
        if let Some(na) = l.not_after
            && now_secs > na.timestamp()
        {
            return Err(CertificateError::ExpiredContext {
                time: now,
                not_after: unix(na),
            }
            .into());
        }
    }
    Ok(())
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let leaf = LeafInfo::parse(end_entity.as_ref());
        *self.leaf.lock().unwrap_or_else(|e| e.into_inner()) = leaf.clone();
        let Some(inner) = &self.inner else {
            return Ok(ServerCertVerified::assertion());
        };
        if self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            verify_pinned(end_entity, leaf.as_ref(), server_name, now)?;
            return Ok(ServerCertVerified::assertion());
        }
        inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    // Signatures are still checked in insecure mode: the handshake must prove the
    // server holds the key of the certificate we report.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

//! The certificate verifier every TLS connection uses: it notes the leaf's expiry
//! before judging it, so even a rejected (expired, untrusted) certificate is
//! reported, and with `insecure = true` it accepts any chain.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// Records the leaf certificate's `notAfter`, then verifies with webpki unless
/// verification is switched off.
#[derive(Debug)]
pub struct RecordingVerifier {
    /// `None`: accept any certificate (`insecure = true`).
    inner: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
    expires_at: Mutex<Option<DateTime<Utc>>>,
}

impl RecordingVerifier {
    /// Wrap a webpki verifier, or pass `None` to accept any certificate.
    pub fn new(inner: Option<Arc<WebPkiServerVerifier>>, provider: &CryptoProvider) -> Self {
        RecordingVerifier {
            inner,
            algorithms: provider.signature_verification_algorithms,
            expires_at: Mutex::new(None),
        }
    }

    /// The expiry of the leaf certificate the server presented, if it parsed.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        // A poisoned lock only means a panic elsewhere; the value is still a plain Option.
        *self.expires_at.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The `notAfter` of a DER certificate, or `None` when it does not parse.
pub fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let expiry = not_after(end_entity.as_ref());
        *self.expires_at.lock().unwrap_or_else(|e| e.into_inner()) = expiry;
        match &self.inner {
            Some(inner) => {
                inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    // Signatures are still checked in insecure mode: the handshake must prove the
    // server holds the key of the certificate we report.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

//! Connection building blocks with timings: resolve, connect, TLS handshake.

use rustls::RootCertStore;

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
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        TrustStore { roots }
    }
}

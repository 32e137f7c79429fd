//! `tcp` probes: a timed connect.

use super::Progress;
use super::net;
use crate::config::Endpoint;
use crate::model::Observation;

/// Run a `tcp` probe: resolve and connect (dns and connect phases); the
/// connection is closed at once.
pub async fn probe(endpoint: &Endpoint, progress: &mut Progress) -> Observation {
    match net::open(&endpoint.host, endpoint.port, progress).await {
        Ok(_stream) => progress.observation(),
        Err(f) => progress.observation().down(f),
    }
}

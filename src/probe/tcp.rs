//! `tcp` probes: a timed connect.

use super::Progress;
use super::net;
use crate::config::{Endpoint, IpVersion};
use crate::model::Observation;

/// Run a `tcp` probe: resolve and connect (dns and connect phases); the
/// connection is closed at once.
pub async fn probe(
    endpoint: &Endpoint,
    ip_version: IpVersion,
    progress: &mut Progress,
) -> Observation {
    match net::open(&endpoint.host, endpoint.port, ip_version, progress).await {
        Ok(_stream) => progress.observation(),
        Err(f) => progress.observation().down(f),
    }
}

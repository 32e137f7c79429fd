//! `tls` probes: handshake and certificate expiry.

use super::{ProbeContext, Progress};
use crate::config::{ProbeSpec, TlsTarget};
use crate::model::{Cause, Observation};

/// Run a `tls` probe.
pub async fn probe(
    _target: &TlsTarget,
    _spec: &ProbeSpec,
    _ctx: &ProbeContext,
    progress: &mut Progress,
) -> Observation {
    progress.fail(Cause::Tls, "tls probe is not built yet")
}

//! `tls` probes: handshake and certificate expiry.

use super::{ProbeContext, Progress, net};
use crate::assert::check_cert_days;
use crate::config::{ProbeSpec, TlsTarget};
use crate::model::{Cause, Observation};

/// Run a `tls` probe: connect, handshake (no ALPN: any TLS service), report the
/// leaf certificate's expiry, then `expect.cert_days` (down) and
/// `degraded.cert_days` (degraded).
pub async fn probe(
    target: &TlsTarget,
    spec: &ProbeSpec,
    ctx: &ProbeContext,
    progress: &mut Progress,
) -> Observation {
    let endpoint = &target.endpoint;
    let handshake = async {
        let stream = net::open(&endpoint.host, endpoint.port, progress).await?;
        net::handshake(
            stream,
            &endpoint.host,
            &target.tls,
            &ctx.trust,
            &[],
            progress,
        )
        .await
    };
    if let Err(f) = handshake.await {
        return progress.observation().down(f);
    }
    let observation = progress.observation();
    let now = chrono::Utc::now();
    let expires_at = progress.cert_expires_at;
    if let Some(days) = spec.expect.cert_days
        && let Err(f) = check_cert_days(days, expires_at, now, Cause::Tls)
    {
        return observation.down(f);
    }
    match spec.degraded.cert_days {
        Some(days) => match check_cert_days(days, expires_at, now, Cause::Tls) {
            Ok(()) => observation,
            Err(f) => observation.degrade(f),
        },
        None => observation,
    }
}

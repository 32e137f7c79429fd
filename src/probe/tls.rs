//! `tls` probes: handshake (with a client certificate when configured) and
//! certificate expiry.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::net::{self, add_phase};
use super::{ProbeContext, Progress};
use crate::assert::check_cert_days;
use crate::config::{ProbeSpec, TlsTarget};
use crate::model::{Cause, Failure, Observation};

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
        let stream = net::open(&endpoint.host, endpoint.port, spec.ip_version, progress).await?;
        let tls = net::handshake(
            stream,
            &endpoint.host,
            &target.tls,
            &ctx.trust,
            &[],
            progress,
        )
        .await?;
        if tls.explain.client_cert_requested() {
            client_cert_verdict(tls, progress).await?;
        }
        Ok::<(), Failure>(())
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

/// In TLS 1.3 the client's handshake ends before the server has judged the
/// client certificate; its refusal (an alert) comes with the next read. So
/// when the server asked for a certificate, close politely and listen for the
/// verdict: an alert is a failure, a close (or silence) is acceptance. The wait
/// is a few round trips, never long enough to make a healthy probe slow.
async fn client_cert_verdict(
    mut tls: net::Tls<TcpStream>,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let round_trip = progress.phases.connect.unwrap_or_default();
    let wait = (round_trip * 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
    let started = Instant::now();
    let _ = tls.stream.shutdown().await;
    let mut buf = [0u8; 1024];
    let listened = tokio::time::timeout(wait, async {
        loop {
            match tls.stream.read(&mut buf).await {
                Ok(0) => return Ok(()),
                Ok(_) => continue,
                Err(e) => return Err(e),
            }
        }
    })
    .await;
    add_phase(&mut progress.phases.tls, started.elapsed());
    match listened {
        Ok(Err(e)) => match tls.explain.tls_error(&e) {
            Some(f) => Err(f),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

//! `http` probes: one request on a fresh connection, phases timed inside the client.

use http::HeaderMap;

use super::{ProbeContext, Progress};
use crate::config::{HttpTarget, ProbeSpec};
use crate::model::{Cause, Failure, Observation};

/// A response read by [`fetch`]: status, headers and the (decompressed) body.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Make the request (following redirects when asked), recording phases in
/// `progress`; the body is read up to the limit only when `read_body` is set.
pub async fn fetch(
    _target: &HttpTarget,
    _ctx: &ProbeContext,
    _progress: &mut Progress,
    _read_body: bool,
) -> Result<Fetched, Failure> {
    Err(Failure::new(Cause::Protocol, "http fetch is not built yet"))
}

/// Run an `http` probe.
pub async fn probe(
    target: &HttpTarget,
    _spec: &ProbeSpec,
    ctx: &ProbeContext,
    progress: &mut Progress,
) -> Observation {
    match fetch(target, ctx, progress, true).await {
        Ok(_) => progress.observation(),
        Err(f) => progress.observation().down(f),
    }
}

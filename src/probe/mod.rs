//! Probe kinds and what they share: the whole-probe timeout, `degraded_after`,
//! and the record of phases reached so far (so a timeout says where it stopped).

mod body;
mod dns;
mod flow;
mod http;
mod metrics;
mod net;
mod tcp;
mod tls;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{ProbeKind, ProbeSpec};
use crate::model::{Cause, Failure, HttpVersion, Observation, Phases};

pub use http::ProxyEnv;
pub use net::TrustStore;

/// What probes share for a whole run: trust roots loaded once, the proxy
/// variables of the environment, and the system DNS resolver.
#[derive(Clone)]
pub struct ProbeContext {
    pub trust: Arc<TrustStore>,
    pub proxies: Arc<ProxyEnv>,
}

impl ProbeContext {
    /// Load the system trust roots and read the proxy variables once for the run.
    pub fn new() -> Self {
        ProbeContext {
            trust: Arc::new(TrustStore::system()),
            proxies: Arc::new(ProxyEnv::from_env()),
        }
    }
}

impl Default for ProbeContext {
    fn default() -> Self {
        Self::new()
    }
}

/// The stage a probe has reached, written as it goes, so a timeout or an error
/// keeps the phases measured before it.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub phases: Phases,
    pub stage: Stage,
    pub status: Option<u16>,
    pub cert_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub ip: Option<std::net::IpAddr>,
    pub http_version: Option<HttpVersion>,
    pub body_bytes: Option<u64>,
    pub body_decoded_bytes: Option<u64>,
}

/// Where in its work a probe is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Stage {
    #[default]
    Dns,
    Connect,
    Tls,
    /// Request sent, waiting for the first byte of the response.
    Waiting,
    Transfer,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Dns => "DNS lookup",
            Stage::Connect => "connect",
            Stage::Tls => "TLS handshake",
            Stage::Waiting => "waiting for response",
            Stage::Transfer => "body transfer",
        }
    }
}

impl Progress {
    /// An observation carrying what was measured so far.
    pub fn observation(&self) -> Observation {
        Observation {
            phases: self.phases,
            status: self.status,
            cert_expires_at: self.cert_expires_at,
            ip: self.ip,
            http_version: self.http_version,
            body_bytes: self.body_bytes,
            body_decoded_bytes: self.body_decoded_bytes,
            ..Observation::up()
        }
    }

    /// A `down` observation with what was measured so far.
    pub fn fail(&self, cause: Cause, message: impl Into<String>) -> Observation {
        self.observation().down(Failure::new(cause, message))
    }
}

/// Run one probe under its timeout; returns the observation and the time it took.
///
/// The timeout covers the whole probe (DNS to last body byte), so a target that
/// drips one byte a second cannot hold a run longer than `timeout`.
pub async fn execute(spec: &ProbeSpec, ctx: &ProbeContext) -> (Observation, Duration) {
    let started = Instant::now();
    let mut progress = Progress::default();
    let outcome = match &spec.kind {
        // A flow keeps its own time, so that a timeout still reports the
        // steps that ran and the one it stopped in.
        ProbeKind::Flow(f) => Ok(flow::probe(f, spec, ctx, started + spec.timeout).await),
        _ => {
            let work = run_kind(spec, ctx, &mut progress);
            tokio::time::timeout(spec.timeout, work).await
        }
    };
    let latency = started.elapsed();
    let observation = match outcome {
        Ok(obs) => obs,
        Err(_) => progress.fail(
            Cause::Timeout,
            format!(
                "timed out after {} during {}",
                humantime::format_duration(spec.timeout),
                progress.stage.as_str()
            ),
        ),
    };
    let observation = match spec.degraded_after {
        Some(limit) if latency > limit => observation.degrade(Failure::new(
            Cause::Timeout,
            format!(
                "took {} ms, slower than degraded_after {} ms",
                latency.as_millis(),
                limit.as_millis()
            ),
        )),
        _ => observation,
    };
    (observation, latency)
}

async fn run_kind(spec: &ProbeSpec, ctx: &ProbeContext, progress: &mut Progress) -> Observation {
    match &spec.kind {
        ProbeKind::Http(target) => http::probe(target, spec, ctx, progress).await,
        ProbeKind::Metrics(target) => metrics::probe(target, spec, ctx, progress).await,
        ProbeKind::Tcp(endpoint) => tcp::probe(endpoint, spec.ip_version, progress).await,
        ProbeKind::Tls(target) => tls::probe(target, spec, ctx, progress).await,
        ProbeKind::Dns(target) => dns::probe(target, spec, progress).await,
        ProbeKind::Flow(f) => {
            let deadline = Instant::now() + spec.timeout;
            flow::probe(f, spec, ctx, deadline).await
        }
    }
}

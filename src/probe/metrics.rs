//! `metrics` probes: scrape a Prometheus text exposition and compare samples.

use super::{ProbeContext, Progress};
use crate::config::{HttpTarget, ProbeSpec};
use crate::model::Observation;

/// Run a `metrics` probe.
pub async fn probe(
    target: &HttpTarget,
    _spec: &ProbeSpec,
    ctx: &ProbeContext,
    progress: &mut Progress,
) -> Observation {
    match super::http::fetch(target, ctx, progress, true).await {
        Ok(_) => progress.observation(),
        Err(f) => progress.observation().down(f),
    }
}

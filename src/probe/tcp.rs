//! `tcp` probes: a timed connect.

use super::Progress;
use crate::config::Endpoint;
use crate::model::{Cause, Observation};

/// Run a `tcp` probe.
pub async fn probe(_endpoint: &Endpoint, progress: &mut Progress) -> Observation {
    progress.fail(Cause::Connect, "tcp probe is not built yet")
}

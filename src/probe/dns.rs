//! `dns` probes: one question to the configured or system resolver.

use super::Progress;
use crate::config::{DnsTarget, ProbeSpec};
use crate::model::{Cause, Observation};

/// Run a `dns` probe.
pub async fn probe(_target: &DnsTarget, _spec: &ProbeSpec, progress: &mut Progress) -> Observation {
    progress.fail(Cause::Dns, "dns probe is not built yet")
}

//! One round into the store: the results, the state changes and incidents
//! they cause, the notifications those queue, the rollups, and retention.
//! `run`, `watch`, `merge` and the demo's simulation all record through here,
//! so the store is built the same way whoever writes it.

use chrono::{DateTime, Duration, Utc};

use super::{Evaluation, evaluate};
use crate::config::Config;
use crate::model::ProbeResult;
use crate::store::StoreError;
use crate::store::writer::Writer;

/// Whether `r` fell inside one of the config's maintenance windows.
pub fn in_maintenance(cfg: &Config, r: &ProbeResult) -> bool {
    cfg.maintenance
        .iter()
        .any(|m| m.covers(&r.probe, r.started_at))
}

/// Store `results`, step the state machines with them, and count the ones the
/// store did not hold yet in the rollups (a result stored twice counts once).
/// Costs what the round holds, whatever the store's age.
pub fn record(
    w: &Writer<'_>,
    cfg: &Config,
    results: &[ProbeResult],
    now: DateTime<Utc>,
    alerts: bool,
) -> Result<Evaluation, StoreError> {
    let added = w.record_results(results, &|r| in_maintenance(cfg, r))?;
    add_to_burn_hours(w, cfg, results, &added)?;
    evaluate(w, cfg, results, now, alerts)
}

/// Count the results a write added (`added` indexes `results`) in the
/// hourly counts burn-rate windows read.
pub fn add_to_burn_hours(
    w: &Writer<'_>,
    cfg: &Config,
    results: &[ProbeResult],
    added: &[usize],
) -> Result<(), StoreError> {
    let new: Vec<&ProbeResult> = added.iter().filter_map(|i| results.get(*i)).collect();
    w.add_to_burn_hours(&new, &|r| {
        let spec = cfg.probes.iter().find(|s| s.id == r.probe)?;
        super::burn::windows::mark(cfg, spec, r)
    })
}

/// What [`retain`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retained {
    /// Raw results pruned.
    pub results: u64,
    /// The once-a-day rollup retention ran: vacuum after the transaction.
    pub vacuum: bool,
}

/// Apply retention as of `now`: raw results older than each probe's
/// `retention_days`, rollups past what the page shows.
pub fn retain(w: &Writer<'_>, cfg: &Config, now: DateTime<Utc>) -> Result<Retained, StoreError> {
    let mut pruned = 0;
    // Every configured probe, not only --only's: retention is the config's.
    for spec in &cfg.probes {
        let keep = Duration::days(i64::from(spec.retention_days));
        let cutoff = now
            .checked_sub_signed(keep)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        pruned += w.prune(&spec.id.0, cutoff)?;
    }
    let vacuum = w.prune_rollups(now.date_naive(), cfg.page.history_days)?;
    if vacuum {
        w.prune_burn_hours(now.date_naive())?;
    }
    Ok(Retained {
        results: pruned,
        vacuum,
    })
}

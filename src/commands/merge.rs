//! `outpost merge SHARD.db... --into outpost.db`: fold the stores written at
//! several locations into one, in one transaction, idempotently (SPEC §2, §6, §9).
//!
//! Results and rollups always merge. With a config, the merged results then
//! step the target's state machines exactly as a run would (`evaluate`): the
//! quorum sees every location, incidents open and resolve in the merged store,
//! and notifications are queued and sent from here, the one place that sees
//! all locations. Shard incidents, probe states and outboxes are never copied:
//! each shard saw only its own location, so its incidents ignore the quorum.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{CommandError, Exit};
use crate::alert::outbox::{DeliveryReport, deliver_pending};
use crate::cli::MergeArgs;
use crate::clock::Clock;
use crate::config::{self, Config};
use crate::evaluate::{Evaluation, evaluate};
use crate::model::ProbeResult;
use crate::store::merge::{Series, SeriesMerged};
use crate::store::writer::Writer;
use crate::store::{Store, StoreError};

/// The config `merge` reads when `-c` is not given.
const DEFAULT_CONFIG: &str = "probes.toml";

/// What one shard brought.
#[derive(Debug, Clone)]
pub struct ShardLine {
    pub path: PathBuf,
    pub merged: SeriesMerged,
}

/// What the merge transaction did.
#[derive(Debug, Clone)]
pub struct Merged {
    pub shards: Vec<ShardLine>,
    /// Present when a config was loaded and states were evaluated.
    pub evaluation: Option<Evaluation>,
    /// Location machines copied from shards (only without a config).
    pub states_copied: u64,
    /// Raw results retention pruned afterwards.
    pub pruned: u64,
}

impl Merged {
    /// The shards' lines added up.
    pub fn total(&self) -> SeriesMerged {
        let mut t = SeriesMerged::default();
        for l in &self.shards {
            t += l.merged;
        }
        t
    }
}

/// Merge the shards into the target store and print a summary.
pub async fn merge(args: &MergeArgs) -> Result<Exit, CommandError> {
    let cfg = load_config(args.config.as_deref())?;
    refuse_target_as_shard(&args.shards, &args.into)?;

    // Every shard is checked before the target is opened: a refused shard
    // leaves the target exactly as it was (not even created).
    let shards = args
        .shards
        .iter()
        .map(|p| Store::open_read_only(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CommandError::store(e.to_string()))?;
    let mut store = Store::open(&args.into).map_err(|e| CommandError::store(e.to_string()))?;

    let clock = match args.now {
        Some(t) => Clock::starting_at(t),
        None => Clock::system(),
    };
    let now = clock.now();
    let alerts = !args.no_alert;
    let merged = store
        .write(|w| fold(w, cfg.as_ref(), &shards, now, alerts))
        .map_err(|e| CommandError::store(e.to_string()))?;
    let read = merged.total();
    tracing::info!(
        blocks_read = read.blocks_read,
        rollups_read = read.rollups_read,
        "read what is newer than the store holds"
    );
    for c in merged.evaluation.iter().flat_map(|e| &e.changes) {
        tracing::info!(probe = %c.probe, from = %c.from, to = %c.to, "state changed");
    }

    let delivery = match &cfg {
        Some(cfg) if alerts => deliver_pending(&store, cfg, &clock)
            .await
            .map_err(|e| CommandError::store(e.to_string()))?,
        _ => DeliveryReport::default(),
    };

    let text = summary(&merged, &delivery, &args.into);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    Ok(Exit::Ok)
}

/// The merge itself, inside the target's write transaction: a probe at a
/// time, each shard's series of it merged ([`Writer::merge_series`]), then
/// the probe's added results step its machines as a run would. Memory is one
/// probe's new results (bounded by its raw retention), never a shard's whole
/// history; evaluating per probe is what evaluating them all at once does,
/// since no probe's evaluation looks at another's.
pub fn fold(
    w: &Writer<'_>,
    cfg: Option<&Config>,
    shards: &[Store],
    now: DateTime<Utc>,
    alerts: bool,
) -> Result<Merged, StoreError> {
    let mut lines: Vec<ShardLine> = shards
        .iter()
        .map(|s| ShardLine {
            path: s.path().to_path_buf(),
            merged: SeriesMerged::default(),
        })
        .collect();
    // Each probe's series, by shard: a few hundred small entries.
    let mut by_probe: BTreeMap<String, Vec<(usize, Series)>> = BTreeMap::new();
    for (i, shard) in shards.iter().enumerate() {
        for s in shard.series()? {
            by_probe.entry(s.probe.clone()).or_default().push((i, s));
        }
    }
    // The config's probes first, in its order (the order a run evaluates and
    // queues in), then any others the shards hold, by id.
    let mut order: Vec<String> = cfg
        .map(|c| {
            c.probes
                .iter()
                .map(|p| p.id.0.clone())
                .filter(|id| by_probe.contains_key(id))
                .collect()
        })
        .unwrap_or_default();
    let configured: BTreeSet<String> = order.iter().cloned().collect();
    order.extend(
        by_probe
            .keys()
            .filter(|id| !configured.contains(*id))
            .cloned(),
    );

    let in_maintenance =
        |r: &ProbeResult| cfg.is_some_and(|c| crate::evaluate::record::in_maintenance(c, r));
    let mut evaluation = cfg.map(|_| Evaluation::default());
    for probe in order {
        let Some(series) = by_probe.remove(&probe) else {
            continue;
        };
        let keep = |at: DateTime<Utc>| keep(cfg, &probe, at, now);
        // What the target held of each series before this merge adds to it.
        let held: Vec<Option<i64>> = series
            .iter()
            .map(|(_, s)| w.burn_latest_day(s))
            .collect::<Result<_, _>>()?;
        let mut added: Vec<ProbeResult> = Vec::new();
        for (i, s) in &series {
            let m = w.merge_series(&shards[*i], s, &keep, &in_maintenance, &mut |rs| {
                added.extend(rs)
            })?;
            lines[*i].merged += m;
        }
        add_burn_hours(w, cfg, &added)?;
        for ((i, s), held) in series.iter().zip(held) {
            w.merge_burn_hours_of(&shards[*i], s, held)?;
        }
        if let (Some(cfg), Some(total)) = (cfg, evaluation.as_mut()) {
            let e = evaluate(w, cfg, &added, now, alerts)?;
            total.states.extend(e.states);
            total.changes.extend(e.changes);
            total.incidents.extend(e.incidents);
            total.queued += e.queued;
        }
    }
    let states_copied = match cfg {
        Some(_) => 0,
        None => w.merge_location_states(shards)?,
    };
    let pruned = match cfg {
        Some(cfg) => crate::evaluate::record::retain(w, cfg, now)?.results,
        None => 0,
    };
    Ok(Merged {
        shards: lines,
        evaluation,
        states_copied,
        pruned,
    })
}

/// The config: `-c FILE` must load (exit 2 otherwise); the default
/// `probes.toml` is optional, and without it states are not evaluated.
fn load_config(explicit: Option<&Path>) -> Result<Option<Config>, CommandError> {
    if let Some(path) = explicit {
        return config::load(path)
            .map(Some)
            .map_err(|e| CommandError::usage(e.to_string()));
    }
    match config::load(Path::new(DEFAULT_CONFIG)) {
        Ok(cfg) => Ok(Some(cfg)),
        Err(e) => {
            tracing::warn!(
                error = %e,
                "no usable config: merging results, rollups and location states only; \
                 probe states, incidents and alerts are not updated (pass -c probes.toml)"
            );
            Ok(None)
        }
    }
}

/// Merging a store into itself would read and write one file through two
/// connections; it is always a typo.
fn refuse_target_as_shard(shards: &[PathBuf], into: &Path) -> Result<(), CommandError> {
    let Ok(target) = std::fs::canonicalize(into) else {
        return Ok(()); // not there yet: no shard can be it
    };
    for shard in shards {
        if std::fs::canonicalize(shard).is_ok_and(|s| s == target) {
            return Err(CommandError::usage(format!(
                "{} is both a shard and --into; merge into another file",
                shard.display()
            )));
        }
    }
    Ok(())
}

/// Whether a result is young enough to keep: results retention would prune at
/// once are not merged. Without a config, or for a probe it does not name,
/// every result is kept.
fn keep(cfg: Option<&Config>, probe: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let spec = cfg.and_then(|c| c.probes.iter().find(|s| s.id.0 == probe));
    spec.is_none_or(|s| at >= now - chrono::Duration::days(i64::from(s.retention_days)))
}

fn summary(m: &Merged, delivery: &DeliveryReport, into: &Path) -> String {
    let mut s = String::new();
    let total = m.total();
    for line in &m.shards {
        let l = &line.merged;
        s.push_str(&format!(
            "{}: {} results added, {} already present",
            line.path.display(),
            l.added,
            l.already_present
        ));
        if l.expired > 0 {
            s.push_str(&format!(", {} past retention left out", l.expired));
        }
        s.push('\n');
    }
    s.push_str(&format!(
        "merged {} shard{} into {}: {} results added, {} already present, \
         {} rollup days updated, {} rollup days copied",
        m.shards.len(),
        if m.shards.len() == 1 { "" } else { "s" },
        into.display(),
        total.added,
        total.already_present,
        total.rollups_updated,
        total.rollups_copied,
    ));
    if total.expired > 0 {
        s.push_str(&format!(", {} past retention left out", total.expired));
    }
    if m.pruned > 0 {
        s.push_str(&format!(", {} pruned", m.pruned));
    }
    s.push('\n');
    match &m.evaluation {
        Some(e) => {
            s.push_str(&format!(
                "states: {} probes evaluated, {} changed, {} notifications queued\n",
                e.states.len(),
                e.changes.len(),
                e.queued
            ));
            for c in &e.changes {
                s.push_str(&format!("  {}: {} -> {}\n", c.probe, c.from, c.to));
            }
        }
        None => s.push_str(&format!(
            "states: not evaluated (no config); {} location states copied\n",
            m.states_copied
        )),
    }
    if delivery.delivered + delivery.pending + delivery.failed > 0 {
        s.push_str(&format!(
            "notifications: {} delivered, {} pending, {} failed\n",
            delivery.delivered, delivery.pending, delivery.failed
        ));
    }
    for e in &delivery.errors {
        s.push_str(&format!("  {e}\n"));
    }
    s
}

/// The hourly counts of burn-rate windows after a merge: the added results
/// counted (as their probe's objectives say, when there is a config), then
/// days a shard knows more of copied, as the daily rollups are.
/// Count `added` in the burn-rate hours: against the probe's objectives with
/// a config, availability only without one.
fn add_burn_hours(
    w: &crate::store::writer::Writer<'_>,
    cfg: Option<&Config>,
    added: &[ProbeResult],
) -> Result<(), crate::store::StoreError> {
    let new: Vec<&ProbeResult> = added.iter().collect();
    w.add_to_burn_hours(&new, &|r| match cfg {
        Some(cfg) => {
            let spec = cfg.probes.iter().find(|s| s.id == r.probe)?;
            crate::evaluate::burn::windows::mark(cfg, spec, r)
        }
        None => Some(crate::store::burn::HourCounts {
            results: 1,
            down: u64::from(r.outcome == crate::model::Outcome::Down),
            slow: 0,
        }),
    })?;
    Ok(())
}

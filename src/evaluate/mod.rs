//! From results to states, incidents and queued notifications (SPEC §2, §5, §8).
//!
//! One run is one step of every probe's machine. Everything here happens inside
//! the store's write transaction that also holds the run's results, so a
//! notification exists exactly when the state change that caused it does.

pub mod burn;
pub mod machine;
pub mod record;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::alert::{EventKind, Notification};
use crate::config::{Config, Event, ProbeSpec};
use crate::model::{Outcome, ProbeResult, State};
use crate::store::StoreError;
use crate::store::incidents::Incident;
use crate::store::states::ProbeState;
use crate::store::writer::Writer;
use machine::{Thresholds, aggregate};

/// A probe's state moved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub probe: String,
    pub from: State,
    pub to: State,
    pub at: DateTime<Utc>,
}

/// What evaluating one run found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evaluation {
    /// The state of every probe that had results, after this run.
    pub states: BTreeMap<String, State>,
    pub changes: Vec<Change>,
    /// Incidents opened, updated or resolved by this run.
    pub incidents: Vec<Incident>,
    /// Notifications queued in the outbox.
    pub queued: usize,
    /// The objectives of every probe that had results, after this run.
    pub burn: BTreeMap<String, burn::status::ProbeBurn>,
}

/// Step the machines of every probe with results in `results`, open and resolve
/// incidents, and queue notifications (unless `alerts` is false).
pub fn evaluate(
    w: &Writer<'_>,
    cfg: &Config,
    results: &[ProbeResult],
    now: DateTime<Utc>,
    alerts: bool,
) -> Result<Evaluation, StoreError> {
    evaluate_with(w, cfg, results, now, alerts, true)
}

/// [`evaluate`] without burn-rate alerts, for simulated history older than
/// every burn window: an alert it could raise would have ended long before
/// the history does, and judging the windows after every simulated round was
/// most of the demo's time.
pub fn evaluate_history(
    w: &Writer<'_>,
    cfg: &Config,
    results: &[ProbeResult],
    now: DateTime<Utc>,
) -> Result<Evaluation, StoreError> {
    evaluate_with(w, cfg, results, now, false, false)
}

fn evaluate_with(
    w: &Writer<'_>,
    cfg: &Config,
    results: &[ProbeResult],
    now: DateTime<Utc>,
    alerts: bool,
    burn: bool,
) -> Result<Evaluation, StoreError> {
    let mut by_probe: BTreeMap<&str, Vec<&ProbeResult>> = BTreeMap::new();
    for r in results {
        by_probe.entry(r.probe.0.as_str()).or_default().push(r);
    }
    let mut eval = Evaluation::default();
    for spec in &cfg.probes {
        let Some(rs) = by_probe.get_mut(spec.id.0.as_str()) else {
            continue;
        };
        rs.sort_by_key(|r| r.started_at);
        step_probe(w, cfg, spec, rs, now, alerts, &mut eval)?;
        if burn {
            burn::step(w, cfg, spec, now, alerts, &mut eval)?;
        }
    }
    Ok(eval)
}

fn in_maintenance(cfg: &Config, spec: &ProbeSpec, at: DateTime<Utc>) -> bool {
    cfg.maintenance.iter().any(|m| m.covers(&spec.id, at))
}

fn step_probe(
    w: &Writer<'_>,
    cfg: &Config,
    spec: &ProbeSpec,
    results: &[&ProbeResult],
    now: DateTime<Utc>,
    alerts: bool,
    eval: &mut Evaluation,
) -> Result<(), StoreError> {
    let id = spec.id.0.as_str();
    let thresholds = Thresholds {
        failure: spec.failure_threshold,
        success: spec.success_threshold,
    };

    // 1. Each location's machine takes this run's results of that location.
    let mut by_location: BTreeMap<&str, Vec<&ProbeResult>> = BTreeMap::new();
    for r in results {
        by_location.entry(r.location.as_str()).or_default().push(r);
    }
    for (location, rs) in &by_location {
        let mut state = w.location_state(id, location)?.unwrap_or_default();
        for r in rs {
            // A result older than what the machine already saw (a late shard)
            // is stored but does not step the machine backwards.
            if r.started_at < state.last_result_at {
                continue;
            }
            state.machine = state.machine.step(
                r.outcome,
                thresholds,
                in_maintenance(cfg, spec, r.started_at),
            );
            state.last_result_at = r.started_at;
            state.track_streak(r);
        }
        w.save_location_state(id, location, &state)?;
    }

    // 2. The probe's state across locations that reported recently.
    let fresh_after = now - stale_after(spec);
    let states: Vec<State> = w
        .location_states(id)?
        .into_iter()
        .filter(|(_, s)| s.last_result_at >= fresh_after)
        .map(|(_, s)| s.machine.state)
        .collect();
    let mut new_state = aggregate(&states, spec.quorum);
    if in_maintenance(cfg, spec, now) {
        new_state = State::Maintenance;
    }

    // 3. Incidents and events.
    let previous = w.probe_state(id)?.unwrap_or(ProbeState {
        state: State::Unknown,
        since: now,
        incident_id: None,
    });
    let failures_now = results.iter().filter(|r| r.outcome != Outcome::Up).count() as u32;
    let first_bad = results.iter().find(|r| r.outcome != Outcome::Up);
    let mut incident_id = previous.incident_id;
    let mut events: Vec<EventKind> = Vec::new();

    if new_state != State::Maintenance {
        // A damaged incidents page stops the run (exit 3) rather than opening
        // a second incident for the same outage.
        let open = match incident_id {
            Some(i) => w.incident(i)?,
            None => None,
        };
        match open {
            None if new_state.severity() > 0 => {
                let first = w.first_failure(id, fresh_after)?;
                let opened = match &first {
                    Some(f) => w.open_incident(
                        id,
                        f.at,
                        new_state,
                        f.cause,
                        f.message.as_deref(),
                        f.count,
                    )?,
                    None => w.open_incident(
                        id,
                        first_bad.map(|r| r.started_at).unwrap_or(now),
                        new_state,
                        first_bad.and_then(|r| r.cause),
                        first_bad.and_then(|r| r.message.as_deref()),
                        failures_now,
                    )?,
                };
                incident_id = Some(opened);
                events.push(if new_state == State::Down {
                    EventKind::Down
                } else {
                    EventKind::Degraded
                });
            }
            Some(inc) if new_state.severity() > 0 => {
                let worse = new_state.severity() > inc.worst_state.severity();
                let worst = if worse { new_state } else { inc.worst_state };
                w.update_incident(inc.id, worst, failures_now)?;
                if worse {
                    events.push(EventKind::Down);
                }
            }
            Some(inc) => {
                w.resolve_incident(inc.id, now)?;
                events.push(EventKind::Recovered);
            }
            None => {}
        }
    }

    let since = if new_state == previous.state {
        previous.since
    } else {
        eval.changes.push(Change {
            probe: id.to_string(),
            from: previous.state,
            to: new_state,
            at: now,
        });
        now
    };
    let open_after = if events.contains(&EventKind::Recovered) {
        None
    } else {
        incident_id
    };
    w.save_probe_state(
        id,
        &ProbeState {
            state: new_state,
            since,
            incident_id: open_after,
        },
    )?;
    eval.states.insert(id.to_string(), new_state);

    let Some(incident_id) = incident_id else {
        return Ok(());
    };
    let Some(incident) = w.incident(incident_id)? else {
        return Ok(());
    };
    if !events.is_empty() || failures_now > 0 {
        eval.incidents.push(incident.clone());
    }
    if !alerts {
        return Ok(());
    }

    // 4. Notifications, per channel of the probe.
    for channel in cfg
        .channels
        .iter()
        .filter(|c| spec.channels.contains(&c.name))
    {
        let told_before = w.last_queued(&channel.name, incident_id)?;
        let mut to_send: Vec<EventKind> = Vec::new();
        for event in &events {
            let wanted = match event {
                EventKind::Down => channel.on.contains(&Event::Down),
                EventKind::Degraded => channel.on.contains(&Event::Degraded),
                // Only those told of the incident are told it is over.
                EventKind::Recovered => {
                    channel.on.contains(&Event::Recovered)
                        && (told_before.is_some()
                            || to_send.iter().any(|e| crate::store::outbox::opens(*e)))
                }
                EventKind::Reminder
                | EventKind::Test
                | EventKind::BurnFast
                | EventKind::BurnSlow
                | EventKind::BurnTicket
                | EventKind::BurnOk => false,
            };
            if wanted {
                to_send.push(*event);
            }
        }
        // Runs come at the probe's cadence give or take a few seconds, so the
        // run nearest the reminder time sends it: without the half-interval
        // slack, a run a second early would put the reminder off a whole interval.
        let slack = Duration::from_std(spec.interval / 2).unwrap_or(Duration::zero());
        if to_send.is_empty()
            && new_state == State::Down
            && let (Some(every), Some(last)) = (channel.remind_every, told_before)
            && now - last + slack >= Duration::from_std(every).unwrap_or(Duration::MAX)
        {
            to_send.push(EventKind::Reminder);
        }
        for event in to_send {
            let n = notification(cfg, spec, &incident, event, previous.state, new_state, now);
            w.queue(&channel.name, &n, now)?;
            eval.queued += 1;
        }
    }
    Ok(())
}

/// A location whose last result is older than twice the interval says nothing
/// about the probe any more.
fn stale_after(spec: &ProbeSpec) -> Duration {
    Duration::from_std(spec.interval * 2).unwrap_or(Duration::MAX)
}

fn notification(
    cfg: &Config,
    spec: &ProbeSpec,
    incident: &Incident,
    event: EventKind,
    previous: State,
    state: State,
    now: DateTime<Utc>,
) -> Notification {
    Notification {
        event,
        probe_id: spec.id.0.clone(),
        probe_name: spec.name.clone(),
        group: spec.group.clone(),
        state,
        previous_state: previous,
        since: incident.started_at,
        at: now,
        cause: incident.cause,
        message: incident.message.clone(),
        incident_id: incident.id,
        link: probe_link(cfg, spec),
        page_title: cfg.page.title.clone(),
        burn: None,
    }
}

/// The probe's page on the public status page, when `page.url` is set.
pub fn probe_link(cfg: &Config, spec: &ProbeSpec) -> Option<String> {
    cfg.page.url.as_ref().map(|u| {
        format!(
            "{}/probe/{}.html",
            u.as_str().trim_end_matches('/'),
            spec.id.0
        )
    })
}

//! A store at real size, simulated: `outpost demo --probes N --days D --every
//! 1m --locations L --db FILE`. N HTTP probes (`p1` … `pN`, every 25th a
//! four-step flow) seen from L
//! locations (`sim-1` … `sim-L`) every `every`, for D days ending now, with a
//! realistic mix: per-probe latencies with a daily load curve, slow spells
//! that cross `degraded_after`, outages of the target seen from every
//! location, network trouble at one location, and single blips.
//!
//! Every result steps the real state machine ([`Machine::step`],
//! [`LocationState::track_streak`], [`aggregate`]). Results older than the
//! raw retention go straight into rollups through [`DayRollup::record`] (the
//! code every write uses), since pruning would leave nothing else of them;
//! incidents they cause are opened and resolved in the store as a run would.
//! The last `retention_days` are recorded round by round through
//! [`record`], exactly as `outpost run` writes, then retention is applied.

use std::time::Duration;

use chrono::{DateTime, Duration as Span, DurationRound, Timelike, Utc};

use super::history::{Rng, http_phases, ms};
use crate::config::{Config, ProbeKind};
use crate::evaluate::machine::{Thresholds, aggregate};
use crate::evaluate::record::{add_to_burn_hours, record, retain};
use crate::model::{
    Cause, HttpVersion, Outcome, Phases, ProbeId, ProbeResult, ResultId, State, millis,
};
use crate::rollup::DayRollup;
use crate::store::states::{LocationState, ProbeState};
use crate::store::writer::Writer;
use crate::store::{Store, StoreError};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Plan {
    pub probes: u32,
    pub days: u32,
    pub every: Duration,
    pub locations: u32,
    /// The history ends here.
    pub now: DateTime<Utc>,
    pub seed: u64,
}

/// What a simulation wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Simulated {
    /// Results simulated, over every probe and location.
    pub results: u64,
    /// Of those, the ones recorded as raw results (the retention window).
    pub recorded: u64,
    pub incidents: u64,
}

/// Every this many probes, one is a four-step `flow` (p25, p50, …).
const FLOW_EVERY: u32 = 25;

/// Latency above which a simulated result is degraded.
const DEGRADED_AFTER_MS: f64 = 800.0;
/// The probes' timeout, what a timed-out result measures.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The config of a simulated store: `p1` … `pN`, ten to a group.
pub fn config_text(plan: &Plan) -> String {
    let mut out = format!(
        "# Simulated by `outpost demo --probes {} --days {} --every {} --locations {}`.\n\
         [page]\ntitle = \"Simulated status\"\n\n\
         [defaults]\ninterval = \"{}\"\ntimeout = \"10s\"\ndegraded_after = \"{}ms\"\n",
        plan.probes,
        plan.days,
        humantime::format_duration(plan.every),
        plan.locations,
        humantime::format_duration(plan.every),
        DEGRADED_AFTER_MS as u64,
    );
    for i in 1..=plan.probes {
        let scheme = if i % 5 == 0 { "http" } else { "https" };
        if i % FLOW_EVERY == 0 {
            out.push_str(&super::flow::config_text(i, (i - 1) / 10 + 1));
            continue;
        }
        out.push_str(&format!(
            "\n[[probe]]\nid = \"p{i}\"\nname = \"Service {i}\"\ngroup = \"Group {}\"\nurl = \"{scheme}://p{i}.sim.invalid/health\"\n",
            (i - 1) / 10 + 1
        ));
    }
    out
}

/// What goes wrong for a while.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Trouble {
    /// The target is down: 503s, some timeouts.
    Outage,
    /// The target answers `factor` times slower.
    Slow { factor: f64 },
}

/// A period of trouble, in steps since the start.
#[derive(Debug, Clone, Copy)]
struct Episode {
    from: u64,
    to: u64,
    trouble: Trouble,
}

/// Random episodes over `steps` steps: `per_month` on average, lasting a
/// log-normal number of minutes around `median_min`.
fn episodes(
    rng: &mut Rng,
    steps: u64,
    step_min: f64,
    per_month: f64,
    median_min: f64,
    trouble: impl Fn(&mut Rng) -> Trouble,
) -> Vec<Episode> {
    let month_steps = 30.0 * 24.0 * 60.0 / step_min;
    let expected = per_month * steps as f64 / month_steps;
    // At least the whole-number part, and the fraction by chance.
    let n = expected.floor() as u64 + u64::from(rng.chance(expected.fract()));
    let mut out: Vec<Episode> = (0..n)
        .map(|_| {
            let from = (rng.unit() * steps as f64) as u64;
            let minutes = rng.lognormal(median_min, 0.9).clamp(1.0, 24.0 * 60.0);
            let len = ((minutes / step_min).ceil() as u64).max(1);
            Episode {
                from,
                to: from + len,
                trouble: trouble(rng),
            }
        })
        .collect();
    out.sort_by_key(|e| e.from);
    out
}

fn trouble_at(episodes: &[Episode], step: u64) -> Option<Trouble> {
    episodes
        .iter()
        .take_while(|e| e.from <= step)
        .find(|e| step < e.to)
        .map(|e| e.trouble)
}

/// One probe's character.
struct ProbeModel {
    median_ms: f64,
    https: bool,
    /// The size of a healthy answer.
    body: u64,
    /// The address the probe reaches.
    ip: std::net::IpAddr,
    episodes: Vec<Episode>,
}

/// The busy hours of a day slow everything a little.
fn load(at: DateTime<Utc>) -> f64 {
    let h = f64::from(at.hour()) + f64::from(at.minute()) / 60.0;
    1.0 + 0.25 * (((h - 15.0) / 24.0) * std::f64::consts::TAU).cos().max(0.0)
}

/// Fill `r` with what the probe measured at `at` (reusing its strings).
fn measure(
    r: &mut ProbeResult,
    rng: &mut Rng,
    model: &ProbeModel,
    trouble: Option<Trouble>,
    blip: bool,
    at: DateTime<Utc>,
    cert: DateTime<Utc>,
) {
    r.id = ResultId(rng.next_u64() as u32);
    r.started_at = at;
    r.outcome = Outcome::Up;
    r.cause = None;
    r.message = None;
    r.status = Some(200);
    r.cert_expires_at = model.https.then_some(cert);
    r.ip = Some(model.ip);
    r.http_version = Some(if model.https {
        HttpVersion::Http2
    } else {
        HttpVersion::Http11
    });
    r.body_bytes = Some(model.body);
    r.body_decoded_bytes = Some(model.body);
    let mut total = rng.lognormal(model.median_ms, 0.25) * load(at);
    if let Some(Trouble::Slow { factor }) = trouble {
        total *= factor;
    }
    let down = blip || trouble == Some(Trouble::Outage);
    if down && rng.chance(0.3) {
        r.outcome = Outcome::Down;
        r.cause = Some(Cause::Timeout);
        r.message = Some("timed out after 10s waiting for the response".to_string());
        r.status = None;
        r.http_version = None;
        r.body_bytes = None;
        r.body_decoded_bytes = None;
        r.latency = TIMEOUT;
        r.phases = Phases {
            ttfb: None,
            transfer: None,
            ..http_phases(rng, 30.0, model.https)
        };
        return;
    }
    if down {
        total = rng.lognormal(8.0, 0.3);
        r.outcome = Outcome::Down;
        r.cause = Some(Cause::Status);
        r.message = Some("expected status 2xx, got 503".to_string());
        r.status = Some(503);
        r.body_bytes = Some(19);
        r.body_decoded_bytes = Some(19);
    } else if total > DEGRADED_AFTER_MS {
        r.outcome = Outcome::Degraded;
        r.cause = Some(Cause::Timeout);
        r.message = Some(format!(
            "took {} ms, slower than degraded_after {} ms",
            total as u64, DEGRADED_AFTER_MS as u64
        ));
    }
    r.latency = ms(total);
    r.phases = http_phases(rng, millis(r.latency), model.https);
}

/// A probe's evaluation between runs, in memory, as `evaluate` keeps it in
/// the store.
struct ProbeTrack {
    state: ProbeState,
    /// The open incident and the failed results it has seen.
    incident: Option<(i64, State, u32)>,
}

/// Simulate `plan` into `store` (which should be new) with `cfg` from
/// [`config_text`].
pub fn simulate(store: &mut Store, cfg: &Config, plan: &Plan) -> Result<Simulated, StoreError> {
    let step = Span::from_std(plan.every)
        .unwrap_or(Span::minutes(1))
        .max(Span::seconds(1));
    let step_min = step.num_seconds() as f64 / 60.0;
    let end = plan.now;
    let start = (end - Span::days(i64::from(plan.days)))
        .duration_trunc(step)
        .unwrap_or(end);
    let steps = ((end - start).num_seconds() / step.num_seconds()).max(0) as u64;
    let retention = cfg
        .probes
        .iter()
        .map(|p| p.retention_days)
        .max()
        .unwrap_or(1);
    let raw_from = end - Span::days(i64::from(retention));

    let mut rng = Rng(plan.seed);
    let models: Vec<ProbeModel> = cfg
        .probes
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let mut outages = episodes(&mut rng, steps, step_min, 1.2, 8.0, |_| Trouble::Outage);
            let slow = episodes(&mut rng, steps, step_min, 2.5, 25.0, |r| Trouble::Slow {
                factor: r.between(4.0, 14.0),
            });
            outages.extend(slow);
            outages.sort_by_key(|e| e.from);
            ProbeModel {
                median_ms: rng.lognormal(60.0, 0.7).clamp(4.0, 400.0),
                https: (i + 1) % 5 != 0,
                body: rng.lognormal(600.0, 1.2).clamp(2.0, 200_000.0) as u64,
                ip: std::net::IpAddr::from([10, 20, (i / 256) as u8, (i % 256) as u8]),
                episodes: outages,
            }
        })
        .collect();
    let locations: Vec<String> = (1..=plan.locations.max(1))
        .map(|l| format!("sim-{l}"))
        .collect();
    // Network trouble at one location: every probe from there times out.
    let network: Vec<Vec<Episode>> = locations
        .iter()
        .map(|_| episodes(&mut rng, steps, step_min, 0.3, 6.0, |_| Trouble::Outage))
        .collect();
    let cert = end + Span::days(75);

    let n = cfg.probes.len();
    let mut results: Vec<Vec<ProbeResult>> = cfg
        .probes
        .iter()
        .map(|spec| {
            locations
                .iter()
                .map(|l| ProbeResult {
                    probe: ProbeId(spec.id.0.clone()),
                    id: ResultId(0),
                    location: l.clone(),
                    started_at: start,
                    outcome: Outcome::Up,
                    cause: None,
                    message: None,
                    status: None,
                    latency: Duration::ZERO,
                    phases: Phases::default(),
                    cert_expires_at: None,
                    body_bytes: None,
                    body_decoded_bytes: None,
                    http_version: None,
                    ip: None,
                    steps: Vec::new(),
                })
                .collect()
        })
        .collect();
    let mut machines: Vec<Vec<LocationState>> =
        vec![vec![LocationState::new(); locations.len()]; n];
    let mut tracks: Vec<ProbeTrack> = (0..n)
        .map(|_| ProbeTrack {
            state: ProbeState {
                state: State::Unknown,
                since: start,
                incident_id: None,
            },
            incident: None,
        })
        .collect();
    let mut days: Vec<Vec<Option<DayRollup>>> = vec![vec![None; locations.len()]; n];
    // Hourly burn counts are kept 32 days: only those days are counted.
    let hours_from = end - Span::days(crate::store::burn::HOUR_DAYS);
    let mut for_hours: Vec<ProbeResult> = Vec::new();
    let mut out = Simulated::default();

    let at_step = |k: u64| start + step * i32::try_from(k).unwrap_or(i32::MAX);
    let mut k = 0u64;
    // Old days: a transaction per simulated day.
    while k < steps && at_step(k) < raw_from {
        let day = at_step(k).date_naive();
        store.write(|w| {
            while k < steps && at_step(k) < raw_from && at_step(k).date_naive() == day {
                let t = at_step(k);
                for (p, spec) in cfg.probes.iter().enumerate() {
                    let thresholds = Thresholds {
                        failure: spec.failure_threshold,
                        success: spec.success_threshold,
                    };
                    for (l, _) in locations.iter().enumerate() {
                        let trouble = trouble_at(&network[l], k)
                            .or_else(|| trouble_at(&models[p].episodes, k));
                        let blip = rng.chance(0.0005);
                        let at = t + Span::milliseconds((p + 700 * l) as i64);
                        let r = &mut results[p][l];
                        measure(r, &mut rng, &models[p], trouble, blip, at, cert);
                        let m = &mut machines[p][l];
                        m.machine = m.machine.step(r.outcome, thresholds, false);
                        m.last_result_at = r.started_at;
                        m.track_streak(r);
                        days[p][l]
                            .get_or_insert_with(|| DayRollup::empty(&spec.id.0, &locations[l], day))
                            .record(r, false);
                        if r.started_at >= hours_from {
                            for_hours.push(r.clone());
                        }
                    }
                    let states: Vec<State> = machines[p].iter().map(|m| m.machine.state).collect();
                    let new_state = aggregate(&states, spec.quorum);
                    step_incident(
                        w,
                        &spec.id.0,
                        &mut tracks[p],
                        &machines[p],
                        new_state,
                        &results[p],
                        t,
                    )?;
                }
                out.results += (n * locations.len()) as u64;
                k += 1;
            }
            for d in days.iter_mut().flatten() {
                if let Some(d) = d.take() {
                    w.put_rollup(&d)?;
                }
            }
            let all: Vec<usize> = (0..for_hours.len()).collect();
            add_to_burn_hours(w, cfg, &for_hours, &all)?;
            for_hours.clear();
            Ok(())
        })?;
    }

    // Hand the machines over to the store: from here `record` steps them.
    store.write(|w| {
        for (p, spec) in cfg.probes.iter().enumerate() {
            for (l, loc) in locations.iter().enumerate() {
                if machines[p][l].last_result_at > DateTime::<Utc>::MIN_UTC {
                    w.save_location_state(&spec.id.0, loc, &machines[p][l])?;
                }
            }
            if let Some((id, worst, failures)) = tracks[p].incident {
                w.update_incident(id, worst, failures)?;
            }
            let mut state = tracks[p].state;
            state.incident_id = tracks[p].incident.map(|i| i.0);
            if k > 0 {
                w.save_probe_state(&spec.id.0, &state)?;
            }
        }
        Ok(())
    })?;

    // The retention window, round by round as `run` records, an hour a transaction.
    while k < steps {
        let hour = at_step(k)
            .duration_trunc(Span::hours(1))
            .unwrap_or(at_step(k));
        store.write(|w| {
            while k < steps
                && at_step(k)
                    .duration_trunc(Span::hours(1))
                    .unwrap_or(at_step(k))
                    == hour
            {
                let t = at_step(k);
                let mut round = Vec::with_capacity(n * locations.len());
                for (p, model) in models.iter().enumerate() {
                    for l in 0..locations.len() {
                        let trouble =
                            trouble_at(&network[l], k).or_else(|| trouble_at(&model.episodes, k));
                        let blip = rng.chance(0.0005);
                        let at = t + Span::milliseconds((p + 700 * l) as i64);
                        let r = &mut results[p][l];
                        measure(r, &mut rng, model, trouble, blip, at, cert);
                        if let ProbeKind::Flow(f) = &cfg.probes[p].kind {
                            super::flow::fill(r, f, &mut rng);
                        }
                        round.push(r.clone());
                    }
                }
                record(w, cfg, &round, t + Span::seconds(2), false)?;
                out.results += round.len() as u64;
                out.recorded += round.len() as u64;
                k += 1;
            }
            Ok(())
        })?;
    }
    store.write(|w| retain(w, cfg, end).map(|_| ()))?;
    store.vacuum()?;
    out.incidents = store.incidents()?.len() as u64;
    Ok(out)
}

/// What `evaluate` does with a probe's new aggregate state, for the old days:
/// open an incident at the first failure of the streak, count its failures,
/// resolve it when the probe is healthy again.
fn step_incident(
    w: &Writer<'_>,
    probe: &str,
    track: &mut ProbeTrack,
    machines: &[LocationState],
    new_state: State,
    round: &[ProbeResult],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let failures = round.iter().filter(|r| r.outcome != Outcome::Up).count() as u32;
    match track.incident.as_mut() {
        None if new_state.severity() > 0 => {
            let first = machines
                .iter()
                .filter_map(|m| m.streak.as_ref())
                .min_by_key(|s| s.at);
            let count = machines
                .iter()
                .filter_map(|m| m.streak.as_ref())
                .map(|s| s.count)
                .sum::<u32>();
            let started = first.map_or(at, |f| f.at);
            let id = w.open_incident(
                probe,
                started,
                new_state,
                first.and_then(|f| f.cause),
                first.and_then(|f| f.message.as_deref()),
                count,
            )?;
            track.incident = Some((id, new_state, 0));
        }
        Some((_, worst, seen)) if new_state.severity() > 0 => {
            if new_state.severity() > worst.severity() {
                *worst = new_state;
            }
            *seen = seen.saturating_add(failures);
        }
        Some((id, worst, seen)) => {
            w.update_incident(*id, *worst, *seen)?;
            w.resolve_incident(*id, at)?;
            track.incident = None;
        }
        None => {}
    }
    if new_state != track.state.state {
        track.state.state = new_state;
        track.state.since = at;
    }
    Ok(())
}

//! Multiwindow, multi-burn-rate alerts on a probe's objectives (SRE Workbook,
//! "Alerting on SLOs"). Each of the three alerts (fast, slow, ticket) of
//! each objective (availability, latency) is its own alert: it fires when
//! both its windows burn at its rate or faster, and ends (`burn-ok`) when
//! its short window no longer does.
//!
//! A steady burn must be one alert, not a flapping one: each short window is
//! stretched back to hold at least `short_min_results` results (20 by
//! default), so a 5% error rate always has a failure in it instead of
//! sometimes none of five (README, "Burn-rate alerts").
//!
//! Across locations the quorum rule of states applies: an alert fires when
//! at least `quorum` locations (of those with `min_results` in the long
//! window) burn, and the rates shown are the `quorum`-th highest.

pub mod status;
pub mod windows;

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Evaluation;
use crate::alert::{EventKind, Notification};
use crate::config::{BurnRule, Config, Event, ProbeSpec};
use crate::model::State;
use crate::model::burn::{
    BUDGET_WINDOW, BurnAlert, BurnDetails, Objective, WindowBurn, burn_rate, exhaustion_seconds,
    window_label,
};
use crate::store::StoreError;
use crate::store::burn_alerts::BurnEpisode;
use crate::store::writer::Writer;
use windows::{Inputs, RAW_SPAN, Source, Tally};

/// An objective of a probe: what it promises and over what.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub objective: Objective,
    /// Percent.
    pub percent: f64,
    pub under_ms: Option<f64>,
}

/// The probe's objectives: availability always, latency when configured.
pub fn targets(spec: &ProbeSpec) -> Vec<Target> {
    let mut out = vec![Target {
        objective: Objective::Availability,
        percent: spec.slo,
        under_ms: None,
    }];
    if let Some(l) = spec.latency_slo {
        out.push(Target {
            objective: Objective::Latency,
            percent: l.percent,
            under_ms: Some(l.under.as_secs_f64() * 1000.0),
        });
    }
    out
}

/// How far back raw results are read: the longest window up to a day.
pub fn raw_span(spec: &ProbeSpec) -> Duration {
    spec.burn
        .rules
        .iter()
        .flat_map(|r| [r.short, r.long])
        .filter(|d| *d <= RAW_SPAN)
        .max()
        .unwrap_or(Duration::from_secs(3600))
}

/// Every window the alerts and the budget use.
pub fn long_windows(spec: &ProbeSpec) -> Vec<Duration> {
    let mut out: Vec<Duration> = spec
        .burn
        .rules
        .iter()
        .flat_map(|r| [r.short, r.long])
        .chain([BUDGET_WINDOW])
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Read what the probe's windows need as of `now`, for the page and the
/// report (with the budget chart's hourly counts).
pub fn inputs(
    src: &dyn Source,
    cfg: &Config,
    spec: &ProbeSpec,
    now: DateTime<Utc>,
) -> Result<Inputs, StoreError> {
    Inputs::for_outputs(src, cfg, spec, now, raw_span(spec), &long_windows(spec))
}

/// Read what the probe's windows need as of `now`, for a run: a cost that
/// does not grow with the store's age.
pub fn run_inputs(
    w: &Writer<'_>,
    cfg: &Config,
    spec: &ProbeSpec,
    now: DateTime<Utc>,
) -> Result<Inputs, StoreError> {
    Inputs::for_run(w, cfg, spec, now, raw_span(spec), &long_windows(spec))
}

/// The `quorum`-th highest of `rates` (each with what it came from).
fn quorum_pick<T>(mut rates: Vec<(f64, T)>, quorum: u32) -> Option<(f64, T)> {
    if rates.is_empty() {
        return None;
    }
    rates.sort_by(|a, b| b.0.total_cmp(&a.0));
    let q = (quorum.max(1) as usize).min(rates.len());
    rates.into_iter().nth(q - 1)
}

/// The burn over a plain window of `d` (not stretched), across locations.
pub fn window_burn(inputs: &Inputs, spec: &ProbeSpec, target: Target, d: Duration) -> WindowBurn {
    let rates: Vec<(f64, Tally)> = inputs
        .locations
        .values()
        .map(|s| Tally::of(inputs.window(s, d), target.objective))
        .filter(|t| t.results > 0)
        .map(|t| (burn_rate(t.bad, t.results, target.percent), t))
        .collect();
    let (rate, t) = quorum_pick(rates, spec.quorum).unwrap_or_default();
    WindowBurn {
        window: window_label(d),
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        burn_rate: rate,
        results: t.results,
        bad: t.bad,
    }
}

/// What one alert's windows say now.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleState {
    /// Both windows burn at the rate, at `quorum` locations with enough results.
    pub fires: bool,
    /// The short window still burns at the rate (a firing alert goes on).
    pub burning: bool,
    pub long: WindowBurn,
    pub short: WindowBurn,
}

/// Judge one alert of one objective.
pub fn judge(inputs: &Inputs, spec: &ProbeSpec, target: Target, rule: &BurnRule) -> RuleState {
    let policy = &spec.burn;
    let (o, pct, rate) = (target.objective, target.percent, rule.rate);
    let cap = rule.long.min(inputs.raw_span());
    let mut long_rates = Vec::new();
    let mut short_rates = Vec::new();
    let (mut eligible, mut firing, mut with_short, mut still) = (0u32, 0u32, 0u32, 0u32);
    for series in inputs.locations.values() {
        let long = Tally::of(inputs.window(series, rule.long), o);
        // Stretched within the raw results; a short window longer than
        // them (over a day) is taken as it is.
        let (short, len) = if rule.short <= inputs.raw_span() {
            let (from, len) =
                inputs.stretched(series, o, rule.short, policy.short_min_results, cap);
            (Tally::of(inputs.count(series, from), o), len)
        } else {
            (Tally::of(inputs.window(series, rule.short), o), rule.short)
        };
        let (lr, sr) = (
            burn_rate(long.bad, long.results, pct),
            burn_rate(short.bad, short.results, pct),
        );
        if long.results > 0 {
            long_rates.push((lr, (long, rule.long)));
        }
        if short.results > 0 {
            short_rates.push((sr, (short, len)));
            with_short += 1;
            still += u32::from(sr >= rate);
        }
        if long.results >= u64::from(policy.min_results) {
            eligible += 1;
            firing += u32::from(lr >= rate && sr >= rate);
        }
    }
    let need = |n: u32| spec.quorum.max(1).min(n);
    let fires = eligible > 0 && firing >= need(eligible);
    let burning = with_short > 0 && still >= need(with_short);
    let shown = |picked: Option<(f64, (Tally, Duration))>, configured: Duration| {
        let (r, (t, len)) = picked.unwrap_or((0.0, (Tally::default(), configured)));
        WindowBurn {
            window: window_label(configured),
            seconds: i64::try_from(len.as_secs()).unwrap_or(i64::MAX),
            burn_rate: r,
            results: t.results,
            bad: t.bad,
        }
    };
    RuleState {
        fires,
        burning,
        long: shown(quorum_pick(long_rates, spec.quorum), rule.long),
        short: shown(quorum_pick(short_rates, spec.quorum), rule.short),
    }
}

/// Step every burn alert of `spec` as of `now`: start the ones whose windows
/// both burn, end the ones whose short window stopped, queue their
/// notifications (unless `alerts` is false) and reminders.
pub fn step(
    w: &Writer<'_>,
    cfg: &Config,
    spec: &ProbeSpec,
    now: DateTime<Utc>,
    alerts: bool,
    eval: &mut Evaluation,
) -> Result<(), StoreError> {
    let id = spec.id.0.as_str();
    let inputs = run_inputs(w, cfg, spec, now)?;
    let mut open = w.open_burn_alerts(id)?;
    let maintenance = cfg.maintenance.iter().any(|m| m.covers(&spec.id, now));
    let state = eval.states.get(id).copied().unwrap_or(State::Unknown);
    let mut to_send: Vec<(EventKind, BurnEpisode, BurnDetails)> = Vec::new();
    let mut reminders: Vec<(BurnEpisode, BurnDetails)> = Vec::new();

    for target in targets(spec) {
        let budget = status::budget(&inputs, spec, target);
        let mut changes: Vec<(EventKind, BurnEpisode, BurnDetails)> = Vec::new();
        for rule in &spec.burn.rules {
            let judged = judge(&inputs, spec, target, rule);
            let current = open
                .iter()
                .position(|e| e.objective == target.objective && e.alert == rule.alert);
            let details = details(target, rule, &judged, budget.left);
            match current {
                None if judged.fires && !maintenance => {
                    let ep = w.start_burn_alert(id, target.objective, rule.alert, now)?;
                    let episode = BurnEpisode {
                        id: ep,
                        probe: id.to_string(),
                        objective: target.objective,
                        alert: rule.alert,
                        started_at: now,
                        ended_at: None,
                    };
                    open.push(episode.clone());
                    changes.push((start_event(rule.alert), episode, details));
                }
                Some(i) if !judged.burning => {
                    let mut episode = open.remove(i);
                    w.end_burn_alert(episode.id, now)?;
                    episode.ended_at = Some(now);
                    changes.push((EventKind::BurnOk, episode, details));
                }
                Some(i) => reminders.push((open[i].clone(), details)),
                None => {}
            }
        }
        let still: Vec<BurnAlert> = open
            .iter()
            .filter(|e| e.objective == target.objective)
            .map(|e| e.alert)
            .collect();
        for (_, _, d) in changes.iter_mut() {
            d.still_firing = still.clone();
        }
        for (_, d) in reminders.iter_mut() {
            if d.objective == target.objective {
                d.still_firing = still.clone();
            }
        }
        to_send.extend(changes);
    }
    // Alerts whose objective or rule the config no longer has end, silently.
    let configured = |e: &BurnEpisode| {
        targets(spec).iter().any(|t| t.objective == e.objective)
            && spec.burn.rules.iter().any(|r| r.alert == e.alert)
    };
    for e in open.iter().filter(|e| !configured(e)) {
        w.end_burn_alert(e.id, now)?;
    }
    open.retain(configured);
    eval.burn.insert(
        id.to_string(),
        status::from_inputs(&inputs, spec, &open_alerts(&open)),
    );
    if !alerts {
        return Ok(());
    }

    let slack = chrono::Duration::from_std(spec.interval / 2).unwrap_or(chrono::Duration::zero());
    for channel in cfg
        .channels
        .iter()
        .filter(|c| spec.channels.contains(&c.name))
    {
        for (event, episode, details) in &to_send {
            let wanted = match event {
                EventKind::BurnOk => w.last_queued(&channel.name, -episode.id)?.is_some(),
                e => channel.on.contains(&channel_event(*e)),
            };
            if wanted {
                let n = notification(cfg, spec, *event, episode, details, state, now);
                w.queue(&channel.name, &n, now)?;
                eval.queued += 1;
            }
        }
        let Some(every) = channel.remind_every else {
            continue;
        };
        let every = chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX);
        for (episode, details) in &reminders {
            if let Some(last) = w.last_queued(&channel.name, -episode.id)?
                && now - last + slack >= every
            {
                let n = notification(cfg, spec, EventKind::Reminder, episode, details, state, now);
                w.queue(&channel.name, &n, now)?;
                eval.queued += 1;
            }
        }
    }
    Ok(())
}

fn open_alerts(open: &[BurnEpisode]) -> Vec<(Objective, BurnAlert)> {
    open.iter().map(|e| (e.objective, e.alert)).collect()
}

fn start_event(alert: BurnAlert) -> EventKind {
    match alert {
        BurnAlert::Fast => EventKind::BurnFast,
        BurnAlert::Slow => EventKind::BurnSlow,
        BurnAlert::Ticket => EventKind::BurnTicket,
    }
}

/// The `on` entry that asks for a starting burn alert.
fn channel_event(e: EventKind) -> Event {
    match e {
        EventKind::BurnSlow => Event::BurnSlow,
        EventKind::BurnTicket => Event::BurnTicket,
        _ => Event::BurnFast,
    }
}

fn details(
    target: Target,
    rule: &BurnRule,
    judged: &RuleState,
    budget_left: Option<f64>,
) -> BurnDetails {
    let left = budget_left.unwrap_or(1.0);
    BurnDetails {
        objective: target.objective,
        alert: rule.alert,
        target: target.percent,
        under_ms: target.under_ms,
        threshold: rule.rate,
        windows: vec![judged.long.clone(), judged.short.clone()],
        budget_left: left,
        exhausted_in_seconds: exhaustion_seconds(left, judged.long.burn_rate),
        still_firing: Vec::new(),
    }
}

fn notification(
    cfg: &Config,
    spec: &ProbeSpec,
    event: EventKind,
    episode: &BurnEpisode,
    details: &BurnDetails,
    state: State,
    now: DateTime<Utc>,
) -> Notification {
    Notification {
        event,
        probe_id: spec.id.0.clone(),
        probe_name: spec.name.clone(),
        group: spec.group.clone(),
        state,
        previous_state: state,
        since: episode.started_at,
        at: now,
        cause: None,
        message: None,
        // Negative: the outbox keeps an episode's notifications in order
        // without ever mixing them with an incident's.
        incident_id: -episode.id,
        link: super::probe_link(cfg, spec),
        page_title: cfg.page.title.clone(),
        burn: Some(details.clone()),
    }
}

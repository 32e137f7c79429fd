//! A probe's history for the page, from daily rollups (kept forever) and the
//! raw results of the last 24 hours.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use super::gather::{exact_percentile, phases as result_phases};
use super::site::*;
use crate::config::{Config, ProbeSpec};
use crate::model::{Outcome, ProbeResult, State, millis};
use crate::rollup::{
    DayRollup, Summary, SummarySum, budget_left, counts_between, days_between, summarize_sorted,
};
use crate::store::incidents::Incident;
use crate::store::{Store, StoreError};

/// What [`probe_history`] computes.
pub struct History {
    pub first_seen: Option<DateTime<Utc>>,
    pub days: Vec<DayView>,
    pub uptime: Windows<f64>,
    pub p50: Windows<f64>,
    pub p95: Windows<f64>,
    pub p99: Windows<f64>,
    pub budget_left: Option<f64>,
    pub daily_latency: Vec<DayLatency>,
    pub weeks: Vec<PeriodUptime>,
    pub months: Vec<PeriodUptime>,
}

/// Days of rollups read per probe: the bars, 90-day windows and a year of
/// months, whichever reaches furthest back.
const MONTHS: u32 = 12;
const WEEKS: i64 = 12;

/// Compute the history of `spec` as of `now`; `recent` is its last 24 h of
/// raw results.
pub fn probe_history(
    cfg: &Config,
    store: &Store,
    spec: &ProbeSpec,
    recent: &[ProbeResult],
    own: &[&Incident],
    now: DateTime<Utc>,
) -> Result<History, StoreError> {
    let today = now.date_naive();
    let reach = i64::from(cfg.page.history_days).max(366);
    let first_day = today - Duration::days(reach - 1);
    let rollups = store.rollups(&spec.id.0, first_day, today)?;
    // Each window extends the shorter one: every day's histogram is merged
    // once, not once per window that holds it.
    let mut sum = SummarySum::default();
    let mut grow = |from: i64, to: i64| -> Summary {
        for r in days_between(
            &rollups,
            today - Duration::days(to - 1),
            today - Duration::days(from),
        ) {
            sum.add(r);
        }
        sum.summary()
    };
    let d7 = grow(0, 7);
    let d30 = grow(7, 30);
    let d90 = grow(30, 90);

    let h24 = day_summary_from_raw(cfg, spec, recent);
    let uptime = Windows {
        h24: h24.uptime,
        d7: d7.uptime(),
        d30: d30.uptime(),
        d90: d90.uptime(),
    };
    // Latency of a window where every result failed measures timeouts and
    // refusals, not the service: none is shown.
    let live = |uptime: Option<f64>, v: Option<f64>| v.filter(|_| uptime != Some(0.0));
    let pct = |q: f64| Windows {
        h24: live(uptime.h24, h24.percentile(q)),
        d7: live(uptime.d7, d7.percentile(q)),
        d30: live(uptime.d30, d30.percentile(q)),
        d90: live(uptime.d90, d90.percentile(q)),
    };

    let days = (0..i64::from(cfg.page.history_days))
        .rev()
        .map(|back| day_view(cfg, spec, &rollups, own, today - Duration::days(back), now))
        .collect();

    let daily_latency = daily_latency(&rollups, today);

    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let mut weeks: Vec<PeriodUptime> = (0..WEEKS)
        .rev()
        .map(|back| {
            let start = monday - Duration::weeks(back);
            let iso = start.iso_week();
            PeriodUptime {
                label: format!("{}-W{:02}", iso.year(), iso.week()),
                uptime: counts_between(&rollups, start, start + Duration::days(6)).uptime(),
            }
        })
        .collect();
    let mut months: Vec<PeriodUptime> = (0..MONTHS)
        .rev()
        .filter_map(|back| {
            let start = month_start(today, back)?;
            let end = match back.checked_sub(1) {
                Some(next) => month_start(today, next)? - Duration::days(1),
                None => today,
            };
            Some(PeriodUptime {
                label: start.format("%Y-%m").to_string(),
                uptime: counts_between(&rollups, start, end).uptime(),
            })
        })
        .collect();

    // Periods before the probe's first result are not periods of it.
    drop_leading_empty(&mut weeks);
    drop_leading_empty(&mut months);

    // Rollups know the first day; raw results (kept 24 hours) know the
    // first minute of a probe younger than that.
    let first_raw = recent.first().map(|r| r.started_at);
    let young = first_raw.filter(|f| *f > now - Duration::hours(23));
    let first_seen = young.or_else(|| {
        rollups
            .first()
            .and_then(|r| r.day.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .or(first_raw)
    });
    Ok(History {
        first_seen,
        days,
        budget_left: d30
            .uptime()
            .map(|u| budget_over_30_days(spec.slo, u, first_seen, now)),
        uptime,
        p50: pct(0.50),
        p95: pct(0.95),
        p99: pct(0.99),
        daily_latency,
        weeks,
        months,
    })
}

fn drop_leading_empty(periods: &mut Vec<PeriodUptime>) {
    let first = periods
        .iter()
        .position(|p| p.uptime.is_some())
        .unwrap_or(periods.len());
    periods.drain(..first);
}

/// The budget is the downtime the SLO allows over 30 days. A probe watched
/// for less than that has spent only the downtime it had in the time it was
/// watched: one failed minute of a new probe is one minute of 43, not the
/// whole budget.
pub fn budget_over_30_days(
    slo: f64,
    uptime: f64,
    first_seen: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> f64 {
    let window = Duration::days(30);
    let watched = first_seen.map_or(window, |f| (now - f).clamp(Duration::minutes(1), window));
    let share = watched.num_seconds() as f64 / window.num_seconds() as f64;
    1.0 - (1.0 - budget_left(slo, uptime)) * share
}

/// The first day of the month `back` months before `today`'s.
fn month_start(today: NaiveDate, back: u32) -> Option<NaiveDate> {
    let total = today.year() * 12 + today.month0() as i32 - back as i32;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1)
}

/// Uptime and exact percentiles of raw results.
struct RawSummary {
    uptime: Option<f64>,
    sorted: Vec<f64>,
}

impl RawSummary {
    fn percentile(&self, q: f64) -> Option<f64> {
        exact_percentile(&self.sorted, q)
    }
}

fn day_summary_from_raw(cfg: &Config, spec: &ProbeSpec, recent: &[ProbeResult]) -> RawSummary {
    let counted: Vec<&ProbeResult> = recent
        .iter()
        .filter(|r| {
            !cfg.maintenance
                .iter()
                .any(|m| m.covers(&spec.id, r.started_at))
        })
        .collect();
    let up = counted
        .iter()
        .filter(|r| r.outcome != Outcome::Down)
        .count();
    let mut sorted: Vec<f64> = recent.iter().map(|r| millis(r.latency)).collect();
    sorted.sort_by(f64::total_cmp);
    RawSummary {
        uptime: (!counted.is_empty()).then(|| 100.0 * up as f64 / counted.len() as f64),
        sorted,
    }
}

fn day_view(
    cfg: &Config,
    spec: &ProbeSpec,
    rollups: &[DayRollup],
    incidents: &[&Incident],
    day: NaiveDate,
    now: DateTime<Utc>,
) -> DayView {
    let counts = counts_between(rollups, day, day);
    let start = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(now);
    let end = (start + Duration::days(1)).min(now);
    let mut partial = 0i64;
    let mut major = 0i64;
    let mut ids = Vec::new();
    // A day without results measured nothing: no outage minutes are claimed
    // for it, even inside an incident that stayed open across the gap.
    for i in incidents.iter().filter(|_| counts.runs > 0) {
        let from = i.started_at.max(start);
        let to = i.resolved_at.unwrap_or(now).min(end);
        if to <= from {
            continue;
        }
        let minutes = (to - from).num_minutes();
        if i.worst_state == State::Down {
            major += minutes;
        } else {
            partial += minutes;
        }
        ids.push(format!("auto-{}", i.id));
    }
    let in_maintenance = cfg.maintenance.iter().any(|m| {
        (m.probes.is_empty() || m.probes.contains(&spec.id)) && m.start < end && m.end > start
    });
    let worst = if counts.runs == 0 {
        None
    } else if major > 0 {
        Some(State::Down)
    } else if partial > 0 {
        Some(State::Degraded)
    } else if in_maintenance && counts.maintenance > 0 {
        Some(State::Maintenance)
    } else {
        Some(State::Operational)
    };
    DayView {
        date: day,
        worst,
        uptime: counts.uptime(),
        partial_minutes: u32::try_from(partial).unwrap_or(u32::MAX),
        major_minutes: u32::try_from(major).unwrap_or(u32::MAX),
        incidents: ids,
    }
}

/// At most this many points on the 24 h chart: one per 5 minutes. A probe at
/// one-minute resolution from several locations has thousands of results a
/// day; a chart of 15-minute means needs no more, and rendering stays quick.
const CHART_POINTS: i64 = 288;

/// Points for the 24 h chart: every result when they fit, otherwise one
/// point per 5-minute slot with the slot's worst outcome, mean latency and
/// phases, and its counts (the chart draws 15-minute means, so nothing it
/// shows changes, and no failure is lost).
pub fn points(recent: &[ProbeResult]) -> Vec<Point> {
    if recent.len() as i64 <= CHART_POINTS {
        return recent
            .iter()
            .map(|r| Point {
                at: r.started_at,
                outcome: r.outcome,
                latency_ms: millis(r.latency),
                phases: result_phases(r),
                count: 1,
                down: u32::from(r.outcome == Outcome::Down),
                degraded: u32::from(r.outcome == Outcome::Degraded),
            })
            .collect();
    }
    let slot_ms = Duration::days(1).num_milliseconds() / CHART_POINTS;
    let mut slots: std::collections::BTreeMap<i64, Vec<&ProbeResult>> =
        std::collections::BTreeMap::new();
    for r in recent {
        slots
            .entry(r.started_at.timestamp_millis().div_euclid(slot_ms))
            .or_default()
            .push(r);
    }
    slots
        .into_values()
        .filter_map(|rs| slot_point(&rs))
        .collect()
}

/// One point standing for the results of a slot.
fn slot_point(rs: &[&ProbeResult]) -> Option<Point> {
    let first = rs.first()?;
    let n = rs.len() as f64;
    let mean_phase = |get: fn(&PhasesMs) -> Option<f64>| {
        let values: Vec<f64> = rs.iter().filter_map(|r| get(&result_phases(r))).collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    Some(Point {
        at: first.started_at,
        outcome: rs.iter().map(|r| r.outcome).max().unwrap_or(first.outcome),
        latency_ms: rs.iter().map(|r| millis(r.latency)).sum::<f64>() / n,
        phases: PhasesMs {
            dns: mean_phase(|p| p.dns),
            connect: mean_phase(|p| p.connect),
            tls: mean_phase(|p| p.tls),
            ttfb: mean_phase(|p| p.ttfb),
            transfer: mean_phase(|p| p.transfer),
        },
        count: u32::try_from(rs.len()).unwrap_or(u32::MAX),
        down: rs.iter().filter(|r| r.outcome == Outcome::Down).count() as u32,
        degraded: rs.iter().filter(|r| r.outcome == Outcome::Degraded).count() as u32,
    })
}

/// The 30 days of latency up to `today` from the probe's sorted `rollups`.
pub fn daily_latency(rollups: &[DayRollup], today: NaiveDate) -> Vec<DayLatency> {
    (0..30)
        .rev()
        .map(|back| {
            let day = today - Duration::days(back);
            let s = summarize_sorted(rollups, day, day);
            let m = s.phases.means();
            DayLatency {
                date: day,
                p50: s.percentile(0.50),
                p95: s.percentile(0.95),
                phases: PhasesMs {
                    dns: m[0],
                    connect: m[1],
                    tls: m[2],
                    ttfb: m[3],
                    transfer: m[4],
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cause, Phases, ProbeId, ResultId};

    fn result(minute: i64, outcome: Outcome, ms: u64) -> ProbeResult {
        ProbeResult {
            probe: ProbeId("api".into()),
            id: ResultId(minute as u32),
            location: "eu".into(),
            started_at: DateTime::from_timestamp(1_764_000_000 + minute * 60, 0)
                .unwrap_or_default(),
            outcome,
            cause: (outcome != Outcome::Up).then_some(Cause::Status),
            message: None,
            status: Some(200),
            latency: std::time::Duration::from_millis(ms),
            phases: Phases::default(),
            cert_expires_at: None,
            body_bytes: None,
            body_decoded_bytes: None,
            http_version: None,
            ip: None,
            steps: Vec::new(),
        }
    }

    #[test]
    fn a_day_at_one_minute_is_288_points_that_count_every_result() {
        let mut day: Vec<ProbeResult> = (0..1440).map(|m| result(m, Outcome::Up, 40)).collect();
        day[100] = result(100, Outcome::Down, 3);
        day[700] = result(700, Outcome::Up, 900);
        let points = points(&day);
        assert!(points.len() <= 289, "{}", points.len());
        assert_eq!(points.iter().map(|p| p.count).sum::<u32>(), 1440);
        assert_eq!(points.iter().map(|p| p.down).sum::<u32>(), 1);
        assert!(points.iter().any(|p| p.outcome == Outcome::Down));
        let total: f64 = points
            .iter()
            .map(|p| p.latency_ms * f64::from(p.count))
            .sum();
        let exact: f64 = day.iter().map(|r| millis(r.latency)).sum();
        assert!((total - exact).abs() < 1e-6, "{total} vs {exact}");
        // Few results are drawn as they are.
        assert_eq!(super::points(&day[..50]).len(), 50);
    }
}

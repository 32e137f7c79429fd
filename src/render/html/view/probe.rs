//! A probe's own page: its windows, latest result, charts, periods,
//! locations, steps and incidents.

use std::cmp::Reverse;

use serde::Serialize;

use super::{IncidentCard, ProbeRow, Status, Time, Views};
use crate::render::html::{
    bars, format,
    svg::{self, Chart},
};
use crate::render::site::{DayLatency, IncidentView, LatestResult, PeriodUptime, Point, ProbeView};

/// A probe's own page.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeDetail {
    pub row: ProbeRow,
    pub kind: &'static str,
    pub target: Option<String>,
    pub windows: Vec<WindowRow>,
    /// The budget for a card: "87% left", "overspent by 40%", "No data".
    pub budget_short: String,
    pub budget_note: Option<String>,
    /// Each objective with its burn rates and budget chart.
    pub objectives: Vec<crate::render::html::objectives::ObjectiveView>,
    pub latest: Option<LatestView>,
    pub chart_24h: Chart,
    pub chart_30d: Chart,
    pub weeks: Vec<PeriodView>,
    pub months: Vec<PeriodView>,
    pub locations: Vec<LocationRow>,
    /// A flow's steps over 24 hours; empty for other kinds.
    pub steps: Vec<StepRow>,
    pub incidents: Vec<IncidentCard>,
}

/// One window (24 h, 7 d, 30 d, 90 d) of the summary table.
#[derive(Debug, Clone, Serialize)]
pub struct WindowRow {
    pub label: &'static str,
    pub uptime: String,
    pub p50: String,
    pub p95: String,
    pub p99: String,
}

/// The latest result.
#[derive(Debug, Clone, Serialize)]
pub struct LatestView {
    pub at: Time,
    pub location: String,
    pub outcome: Status,
    pub cause: Option<&'static str>,
    pub message: Option<String>,
    pub status: Option<u16>,
    pub latency: String,
    pub phases: Vec<Named>,
    pub cert: Option<CertView>,
    /// "HTTP/2", "HTTP/1.1": which version answered.
    pub http_version: Option<String>,
}

/// A label and a value.
#[derive(Debug, Clone, Serialize)]
pub struct Named {
    pub name: &'static str,
    pub value: String,
}

/// When the certificate expires.
#[derive(Debug, Clone, Serialize)]
pub struct CertView {
    pub at: Time,
    pub left: String,
    pub key: &'static str,
}

/// Uptime of a week or month.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodView {
    pub label: String,
    pub uptime: String,
    pub key: &'static str,
}

/// Latency from one location.
#[derive(Debug, Clone, Serialize)]
pub struct LocationRow {
    pub location: String,
    pub p50: String,
    pub p95: String,
    pub results: u64,
}

/// One step of a flow's table: latency and failures over 24 hours, and how
/// its latest run went.
#[derive(Debug, Clone, Serialize)]
pub struct StepRow {
    pub name: String,
    pub always: bool,
    pub p50: String,
    pub p95: String,
    pub runs: u64,
    pub down: u64,
    pub degraded: u64,
    pub skipped: u64,
    pub last: Status,
    pub message: Option<String>,
}

fn step_row(s: &crate::render::steps::StepStats) -> StepRow {
    let (key, word) = match s.last {
        "up" => ("ok", "Up"),
        "degraded" => ("warn", "Degraded"),
        "down" => ("down", "Down"),
        _ => ("none", "Skipped"),
    };
    StepRow {
        name: s.name.clone(),
        always: s.always,
        p50: format::latency(s.p50),
        p95: format::latency(s.p95),
        runs: s.runs,
        down: s.down,
        degraded: s.degraded,
        skipped: s.skipped,
        last: Status { key, word },
        message: s.last_message.clone(),
    }
}

impl Views<'_> {
    /// One probe's page.
    /// `recent` is the probe's last 24 hours of results and `daily` its 30
    /// days of latency (`p.recent` and `p.daily_latency`, unless the caller
    /// kept them out of the site to bound its memory).
    pub fn probe(&self, p: &ProbeView, recent: &[Point], daily: &[DayLatency]) -> ProbeDetail {
        let windows = [
            ("24 hours", p.uptime.h24, p.p50.h24, p.p95.h24, p.p99.h24),
            ("7 days", p.uptime.d7, p.p50.d7, p.p95.d7, p.p99.d7),
            ("30 days", p.uptime.d30, p.p50.d30, p.p95.d30, p.p99.d30),
            ("90 days", p.uptime.d90, p.p50.d90, p.p95.d90, p.p99.d90),
        ]
        .into_iter()
        .map(|(label, up, p50, p95, p99)| WindowRow {
            label,
            uptime: format::uptime(up),
            p50: format::latency(p50),
            p95: format::latency(p95),
            p99: format::latency(p99),
        })
        .collect();
        let budget_note = p.slo_budget_left.filter(|l| l.is_finite()).map(|left| {
            let total_min = (100.0 - p.slo).max(0.0) / 100.0 * 30.0 * 24.0 * 60.0;
            let total = format::minutes(total_min.round() as u32);
            if left > 0.0 {
                format!(
                    "About {} of downtime left of {} allowed over 30 days.",
                    format::minutes((total_min * left).floor() as u32),
                    total
                )
            } else {
                format!("The {} of downtime allowed over 30 days is used up.", total)
            }
        });
        let mut incidents: Vec<&IncidentView> = self
            .incidents_of
            .get(p.id.as_str())
            .cloned()
            .unwrap_or_default();
        incidents.sort_by_key(|i| Reverse(i.started_at));
        ProbeDetail {
            row: self.row(p, bars::Detail::Full),
            kind: p.kind,
            target: p.target.clone(),
            windows,
            budget_short: format::budget_short(p.slo_budget_left),
            budget_note,
            objectives: crate::render::html::objectives::objectives(&p.burn),
            latest: p.latest.as_ref().map(|l| self.latest(l)),
            chart_24h: svg::last_24h(recent, self.site.generated_at),
            chart_30d: svg::last_30d(daily),
            weeks: p.weeks.iter().map(|w| period(w, p.slo)).collect(),
            months: p.months.iter().map(|m| period(m, p.slo)).collect(),
            locations: if p.locations.len() > 1 {
                p.locations
                    .iter()
                    .map(|l| LocationRow {
                        location: l.location.clone(),
                        p50: format::latency(l.p50),
                        p95: format::latency(l.p95),
                        results: l.results,
                    })
                    .collect()
            } else {
                Vec::new()
            },
            steps: p.steps.iter().map(step_row).collect(),
            incidents: incidents.into_iter().map(|i| self.incident(i)).collect(),
        }
    }

    pub(super) fn latest(&self, l: &LatestResult) -> LatestView {
        let ph = &l.phases;
        let phases = [
            ("DNS", ph.dns),
            ("Connect", ph.connect),
            ("TLS", ph.tls),
            ("Time to first byte", ph.ttfb),
            ("Transfer", ph.transfer),
        ]
        .into_iter()
        .filter_map(|(name, v)| {
            v.map(|v| Named {
                name,
                value: format::latency(Some(v)),
            })
        })
        .collect();
        let cert = l.cert_expires_at.map(|at| {
            let left = at - self.site.generated_at;
            let days = left.num_days();
            CertView {
                at: Time::at(self.tz, at),
                left: if left.num_seconds() <= 0 {
                    "expired".to_string()
                } else if days == 1 {
                    "in 1 day".to_string()
                } else {
                    format!("in {days} days")
                },
                key: match days {
                    d if d < 7 => "down",
                    d if d < 21 => "warn",
                    _ => "ok",
                },
            }
        });
        LatestView {
            at: Time::at(self.tz, l.at),
            location: l.location.clone(),
            outcome: Status {
                key: format::outcome_key(l.outcome),
                word: format::outcome_word(l.outcome),
            },
            cause: l.cause.map(format::cause_word),
            message: l.message.clone(),
            status: l.status,
            latency: format::latency(Some(l.latency_ms)),
            phases,
            cert,
            http_version: l.http_version.map(|v| format!("HTTP/{v}")),
        }
    }
}

fn period(p: &PeriodUptime, slo: f64) -> PeriodView {
    PeriodView {
        label: p.label.clone(),
        uptime: format::uptime(p.uptime),
        key: match p.uptime {
            None => "none",
            Some(u) if u >= slo => "ok",
            Some(u) if u >= 95.0 => "warn",
            Some(_) => "down",
        },
    }
}

//! Everything the status page shows, gathered once from the config and the
//! store (`gather.rs`), then rendered by every output (HTML pages, the
//! Statuspage API, feeds, badges, metrics). Outputs never query the store.
//!
//! All text here is raw: each output escapes for its own format (HTML, XML,
//! JSON). A probe's target is present only when `public_target = true`, and
//! then without credentials or query string.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::model::{Cause, Outcome, State};

/// The whole site.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub page: PageInfo,
    pub generated_at: DateTime<Utc>,
    pub overall: Overall,
    /// Groups in config order; probes without a group form a group with `name: None`.
    pub groups: Vec<Group>,
    /// Every incident, automatic and human-written, newest first.
    pub incidents: Vec<IncidentView>,
    /// Maintenance windows that are active or upcoming (and recently ended).
    pub maintenance: Vec<MaintenanceView>,
}

/// `[page]`, plus the base URL used for links (`page.url`, or relative links
/// when it is not set).
#[derive(Debug, Clone, Serialize)]
pub struct PageInfo {
    pub title: String,
    pub description: Option<String>,
    pub url: Option<String>,
    pub timezone: String,
    pub history_days: u32,
}

/// The banner: Statuspage's indicator words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    /// "All systems operational" (indicator `none`).
    Operational,
    /// "Degraded performance" (indicator `minor`).
    Degraded,
    /// "Partial outage" (indicator `major`): some probes down.
    PartialOutage,
    /// "Major outage" (indicator `critical`): every probe down.
    MajorOutage,
    /// "Under maintenance" (indicator `maintenance`).
    Maintenance,
}

/// A group of probes (a Statuspage component group).
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// A slug for ids and anchors.
    pub id: String,
    pub name: Option<String>,
    pub probes: Vec<ProbeView>,
}

/// One probe's row and page.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeView {
    pub id: String,
    pub name: String,
    pub group: Option<String>,
    /// Config order, for Statuspage `position`.
    pub position: usize,
    pub kind: &'static str,
    /// Shown only when `public_target = true`; never with credentials or query.
    pub target: Option<String>,
    pub state: State,
    /// When the state last changed (None: never evaluated).
    pub state_since: Option<DateTime<Utc>>,
    /// When the probe first had a result (Statuspage `created_at`).
    pub first_seen: Option<DateTime<Utc>>,
    pub latest: Option<LatestResult>,
    /// One per day of `history_days`, oldest first, ending today.
    pub days: Vec<DayView>,
    pub uptime: Windows<f64>,
    /// Latency percentiles in milliseconds, merged from daily histograms.
    pub p50: Windows<f64>,
    pub p95: Windows<f64>,
    pub p99: Windows<f64>,
    /// The availability objective in percent.
    pub slo: f64,
    /// Error budget left over the last 30 days, as a fraction of the budget
    /// (1.0 untouched, 0.0 spent, negative overspent); None without data.
    pub slo_budget_left: Option<f64>,
    /// Each objective's 30-day budget, burn rate per window, burn alerts
    /// firing and budget over time (evaluate/burn).
    pub burn: crate::evaluate::burn::status::ProbeBurn,
    /// Raw results of the last 24 hours, oldest first, for the 24 h chart.
    pub recent: Vec<Point>,
    /// Per-day latency of the last 30 days, oldest first, for the 30 d chart.
    pub daily_latency: Vec<DayLatency>,
    /// Uptime per ISO week (last 12) and per month (last 12), oldest first.
    pub weeks: Vec<PeriodUptime>,
    pub months: Vec<PeriodUptime>,
    /// Latency per location over the last 24 hours (p50, p95 in ms).
    pub locations: Vec<LocationLatency>,
    /// A flow's steps over the last 24 hours; empty for other kinds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<super::steps::StepStats>,
}

impl ProbeView {
    /// Drop what only the probe's own page shows, once it is written, and
    /// its days, once its index bars are made: the API, the feeds, badges
    /// and metrics need the rest. At 10,000 probes this is most of a
    /// render's memory.
    pub fn keep_for_site(&mut self) {
        self.days = Vec::new();
        self.recent = Vec::new();
        self.daily_latency = Vec::new();
        self.weeks = Vec::new();
        self.months = Vec::new();
        self.locations = Vec::new();
        self.steps = Vec::new();
        for o in &mut self.burn.objectives {
            o.chart = Vec::new();
        }
    }
}

/// A value over the 24 h, 7, 30 and 90 day windows; None where there is no data.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Windows<T> {
    pub h24: Option<T>,
    pub d7: Option<T>,
    pub d30: Option<T>,
    pub d90: Option<T>,
}

/// The latest result of a probe.
#[derive(Debug, Clone, Serialize)]
pub struct LatestResult {
    pub at: DateTime<Utc>,
    pub location: String,
    pub outcome: Outcome,
    pub cause: Option<Cause>,
    pub message: Option<String>,
    pub status: Option<u16>,
    pub latency_ms: f64,
    pub phases: PhasesMs,
    pub cert_expires_at: Option<DateTime<Utc>>,
    pub body_bytes: Option<u64>,
    pub body_decoded_bytes: Option<u64>,
    pub http_version: Option<crate::model::HttpVersion>,
    pub ip: Option<std::net::IpAddr>,
    /// A flow's steps in its latest run; empty for other kinds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<super::steps::LatestStep>,
}

/// Phases in milliseconds (None: the phase did not happen).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PhasesMs {
    pub dns: Option<f64>,
    pub connect: Option<f64>,
    pub tls: Option<f64>,
    pub ttfb: Option<f64>,
    pub transfer: Option<f64>,
}

/// One result on the 24 h chart, or (for dense data) one 5-minute slot of
/// results: then `outcome` is the slot's worst, latency and phases are its
/// means, and the counts say how many results it stands for.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
    pub latency_ms: f64,
    pub phases: PhasesMs,
    /// Results this point stands for (1 for a single result).
    pub count: u32,
    /// Of those, down and degraded ones.
    pub down: u32,
    pub degraded: u32,
}

/// One day's bar.
#[derive(Debug, Clone, Serialize)]
pub struct DayView {
    pub date: NaiveDate,
    /// The day's worst state; None: no results that day ("No data").
    pub worst: Option<State>,
    /// Percent of results that were not down, maintenance excluded.
    pub uptime: Option<f64>,
    /// Minutes spent degraded ("partial") and down ("major") that day.
    pub partial_minutes: u32,
    pub major_minutes: u32,
    /// Ids of incidents that overlap the day.
    pub incidents: Vec<String>,
}

/// Latency of one day for the 30 d chart.
#[derive(Debug, Clone, Serialize)]
pub struct DayLatency {
    pub date: NaiveDate,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    /// Mean of each phase that day.
    pub phases: PhasesMs,
}

/// Uptime over a week or month.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodUptime {
    /// `2026-W47` or `2026-11`.
    pub label: String,
    pub uptime: Option<f64>,
}

/// Latency seen from one location.
#[derive(Debug, Clone, Serialize)]
pub struct LocationLatency {
    pub location: String,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub results: u64,
}

/// Statuspage incident statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Postmortem,
}

/// Statuspage impact levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    None,
    Minor,
    Major,
    Critical,
}

/// An incident: automatic (from the store) or written by people (incidents/*.md),
/// or both when a human note is attached to an automatic incident.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    /// Stable: `auto-42` for automatic ones, `the-file-stem` for written ones.
    pub id: String,
    pub title: String,
    pub status: IncidentStatus,
    pub impact: Impact,
    /// Probe ids affected.
    pub probes: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub worst_state: Option<State>,
    pub cause: Option<Cause>,
    pub message: Option<String>,
    /// Newest first.
    pub updates: Vec<IncidentUpdate>,
    /// Opened by outpost from the store (people may have attached notes).
    pub automatic: bool,
    /// The written summary or postmortem (the Markdown below an
    /// `incidents/*.md` front matter), raw and rendered (safe to insert).
    pub postmortem: Option<String>,
    pub postmortem_html: Option<String>,
}

impl IncidentView {
    /// The fragment of this incident on history.html: one id scheme for the
    /// pages, the API's `shortlink` and the feeds.
    pub fn anchor(&self) -> String {
        anchor(&self.id)
    }

    /// True when a person wrote any of its updates.
    pub fn has_human_updates(&self) -> bool {
        self.updates.iter().any(|u| !u.automatic)
    }

    /// How long it lasted (until now when still open).
    pub fn duration(&self, now: DateTime<Utc>) -> Duration {
        (self.resolved_at.unwrap_or(now) - self.started_at)
            .to_std()
            .unwrap_or_default()
    }
}

/// One update of an incident.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentUpdate {
    /// Stable within the incident.
    pub id: String,
    pub at: DateTime<Utc>,
    pub status: IncidentStatus,
    /// Markdown from people; plain text for automatic updates. Escaped by each output.
    pub body: String,
    /// Rendered from Markdown with raw HTML disabled (safe to insert).
    pub body_html: String,
    /// Written by outpost (the incident opened or recovered), not by people.
    pub automatic: bool,
}

/// The history.html fragment of the incident `id`.
pub fn anchor(id: &str) -> String {
    format!("incident-{}", super::html::format::slug(id))
}

/// A maintenance window.
#[derive(Debug, Clone, Serialize)]
pub struct MaintenanceView {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub probes: Vec<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// scheduled | in_progress | completed
    pub status: &'static str,
}

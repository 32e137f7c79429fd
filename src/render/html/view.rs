//! What the templates get: the site's facts turned into words, numbers
//! formatted, times in UTC with a machine form for `<time datetime>`.
//!
//! Text stays raw (the templates escape it); the one pre-rendered piece of
//! HTML is an incident update's `body_html`, already sanitized upstream.

use std::cmp::Reverse;
use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::bars::{self, Bar};
use super::format;
use super::svg::{self, Chart};
use crate::model::State;
use crate::render::site::{
    DayLatency, Group, IncidentStatus, IncidentView, LatestResult, MaintenanceView, PeriodUptime,
    Point, ProbeView, Site,
};

/// How many days of incidents the front page lists.
pub const RECENT_DAYS: i64 = 14;

/// "Happening now" stays about one screen: beyond this many cards it says
/// "and N more" and links to the history.
pub const NOW_CARDS: usize = 4;

/// Automatic incidents of one group that start this close together are one
/// event with many affected services, as Statuspage shows them.
const TOGETHER: Duration = Duration::minutes(10);

/// An instant: `iso` for `datetime`, `text` for people.
#[derive(Debug, Clone, Serialize)]
pub struct Time {
    pub iso: String,
    pub text: String,
}

impl Time {
    /// `iso` stays UTC (machine-readable); `text` is in the page's time zone.
    fn at(tz: Tz, t: DateTime<Utc>) -> Self {
        Time {
            iso: format::iso(t),
            text: format::datetime(t, tz),
        }
    }
}

/// A state as the pages show it: a class/icon key and a word.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub key: &'static str,
    pub word: &'static str,
}

impl Status {
    fn of(s: State) -> Self {
        Status {
            key: format::state_key(s),
            word: format::state_word(s),
        }
    }
}

/// What every page shares.
#[derive(Debug, Clone, Serialize)]
pub struct Common {
    pub title: String,
    pub description: Option<String>,
    /// `page.url` without a trailing slash, when set.
    pub url: Option<String>,
    pub generated: Time,
    pub overall: Status,
    pub history_days: usize,
    pub timezone: String,
}

/// The front page.
#[derive(Debug, Clone, Serialize)]
pub struct Index {
    pub groups: Vec<GroupRow>,
    /// At most [`NOW_CARDS`]; failures that started together are one card.
    pub active: Vec<IncidentCard>,
    /// Active cards not shown ("and N more").
    pub active_more: usize,
    pub maintenance_now: Vec<MaintenanceCard>,
    pub maintenance_next: Vec<MaintenanceCard>,
    pub recent: Vec<DayIncidents>,
}

/// A group and its probes.
#[derive(Debug, Clone, Serialize)]
pub struct GroupRow {
    pub id: String,
    pub heading: String,
    pub status: Status,
    pub probes: Vec<ProbeRow>,
}

/// One probe's row on the front page (and the head of its own page).
#[derive(Debug, Clone, Serialize)]
pub struct ProbeRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub group: Option<String>,
    pub status: Status,
    pub since: Option<Time>,
    pub bars: Vec<Bar>,
    pub uptime: String,
    pub p95: String,
    pub slo: String,
    pub budget: String,
    pub budget_key: &'static str,
    /// A fast burn alert fires on one of its objectives.
    pub burning_fast: bool,
}

/// An incident, ready to show.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentCard {
    pub id: String,
    pub anchor: String,
    pub title: String,
    pub open: bool,
    pub status: String,
    pub status_key: &'static str,
    pub impact: String,
    pub impact_key: &'static str,
    pub started: Time,
    pub resolved: Option<Time>,
    pub duration: String,
    pub probes: Vec<ProbeLink>,
    pub cause: Option<&'static str>,
    pub message: Option<String>,
    pub updates: Vec<UpdateView>,
    /// The written summary or postmortem, sanitized upstream.
    pub postmortem_html: Option<String>,
}

/// A probe named by an incident or a maintenance.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeLink {
    pub name: String,
    /// `probe/ID.html`, relative to the site root; None for a probe no longer configured.
    pub href: Option<String>,
}

/// One incident update.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateView {
    pub at: Time,
    pub status: &'static str,
    /// Sanitized upstream (Markdown with raw HTML disabled): the only HTML
    /// the templates insert unescaped.
    pub body_html: String,
}

/// A maintenance window, ready to show.
#[derive(Debug, Clone, Serialize)]
pub struct MaintenanceCard {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub status: &'static str,
    pub start: Time,
    pub end: Time,
    pub duration: String,
    pub probes: Vec<ProbeLink>,
}

/// A day of the recent history on the front page.
#[derive(Debug, Clone, Serialize)]
pub struct DayIncidents {
    pub date: String,
    pub iso: String,
    /// At most [`NOW_CARDS`], failures that started together merged.
    pub incidents: Vec<IncidentCard>,
    /// Cards of the day not shown ("and N more").
    pub more: usize,
}

/// A month of the history page.
#[derive(Debug, Clone, Serialize)]
pub struct MonthIncidents {
    pub label: String,
    pub incidents: Vec<IncidentCard>,
    /// Maintenance windows that started that month, latest first.
    pub maintenance: Vec<MaintenanceCard>,
}

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
    pub objectives: Vec<super::objectives::ObjectiveView>,
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

/// Builds the views of one site.
pub struct Views<'a> {
    site: &'a Site,
    titles: HashMap<&'a str, &'a str>,
    probes: HashMap<&'a str, &'a ProbeView>,
    /// Each probe's incidents, in site order: found once, not per page.
    incidents_of: HashMap<&'a str, Vec<&'a IncidentView>>,
    /// `[page] timezone`, validated by the config loader.
    tz: Tz,
    /// Index bars made beforehand, by probe id (see [`Views::with_brief`]),
    /// each taken when its row is made.
    brief: std::sync::Mutex<HashMap<String, Vec<bars::Bar>>>,
}

impl<'a> Views<'a> {
    /// Index the site once for all pages.
    pub fn new(site: &'a Site) -> Self {
        Views {
            site,
            tz: site.page.timezone.parse().unwrap_or(Tz::UTC),
            titles: site
                .incidents
                .iter()
                .map(|i| (i.id.as_str(), i.title.as_str()))
                .collect(),
            probes: site
                .groups
                .iter()
                .flat_map(|g| &g.probes)
                .map(|p| (p.id.as_str(), p))
                .collect(),
            incidents_of: {
                let mut of: HashMap<&str, Vec<&IncidentView>> = HashMap::new();
                for i in &site.incidents {
                    for p in &i.probes {
                        of.entry(p.as_str()).or_default().push(i);
                    }
                }
                of
            },
            brief: Default::default(),
        }
    }

    /// Use `brief` for the index rows' bars instead of the probes' days: a
    /// render makes them beside each probe page and drops the days, which at
    /// 10,000 probes were a quarter of its memory.
    pub fn with_brief(self, brief: HashMap<String, Vec<bars::Bar>>) -> Self {
        Views {
            brief: std::sync::Mutex::new(brief),
            ..self
        }
    }

    /// The index row's bars of `p`, from its days.
    pub fn brief_bars(&self, p: &ProbeView) -> Vec<bars::Bar> {
        bars::bars(&p.days, &self.titles, bars::Detail::Brief)
    }

    /// What every page shares.
    pub fn common(&self) -> Common {
        let p = &self.site.page;
        Common {
            title: p.title.clone(),
            description: p.description.clone(),
            url: p
                .url
                .as_deref()
                .map(|u| u.trim_end_matches('/').to_string()),
            generated: Time::at(self.tz, self.site.generated_at),
            overall: Status {
                key: format::overall_key(self.site.overall),
                word: format::overall_word(self.site.overall),
            },
            history_days: p.history_days as usize,
            timezone: p.timezone.clone(),
        }
    }

    /// The front page.
    pub fn index(&self) -> Index {
        let site = self.site;
        let ungrouped_only = site.groups.iter().all(|g| g.name.is_none());
        let groups = site
            .groups
            .iter()
            .filter(|g| !g.probes.is_empty())
            .map(|g| self.group(g, ungrouped_only))
            .collect();
        let mut active = self.active();
        let active_more = active.len().saturating_sub(NOW_CARDS);
        active.truncate(NOW_CARDS);
        let maint = |status: &str| -> Vec<MaintenanceCard> {
            let mut m: Vec<_> = site
                .maintenance
                .iter()
                .filter(|m| m.status == status)
                .map(|m| self.maintenance(m))
                .collect();
            m.sort_by(|a, b| a.start.iso.cmp(&b.start.iso));
            m
        };
        let today = site.generated_at.date_naive();
        let recent = (0..RECENT_DAYS)
            .filter_map(|back| today.checked_sub_signed(Duration::days(back)))
            .map(|day| self.day_incidents(day))
            .collect();
        Index {
            groups,
            active,
            active_more,
            maintenance_now: maint("in_progress"),
            maintenance_next: maint("scheduled"),
            recent,
        }
    }

    /// Open incidents, newest first; automatic ones nobody wrote about that
    /// started together in one group become one card.
    fn active(&self) -> Vec<IncidentCard> {
        let open: Vec<&IncidentView> = self
            .site
            .incidents
            .iter()
            .filter(|i| i.resolved_at.is_none())
            .collect();
        self.clustered(open)
    }

    /// `incidents` (newest first) as cards, automatic ones nobody wrote
    /// about that started together in one group merged into one card.
    fn clustered(&self, incidents: Vec<&IncidentView>) -> Vec<IncidentCard> {
        let open = incidents;
        let group_of = |i: &IncidentView| {
            i.probes
                .first()
                .and_then(|p| self.probes.get(p.as_str()))
                .map(|p| p.group.clone())
        };
        let mut clusters: Vec<Vec<&IncidentView>> = Vec::new();
        for i in open {
            let joinable = i.automatic && !i.has_human_updates();
            let home = clusters.iter_mut().find(|c| {
                joinable
                    && c.iter().all(|o| o.automatic && !o.has_human_updates())
                    && group_of(c[0]) == group_of(i)
                    && c.iter()
                        .any(|o| (o.started_at - i.started_at).abs() <= TOGETHER)
            });
            match home {
                Some(c) => c.push(i),
                None => clusters.push(vec![i]),
            }
        }
        clusters
            .into_iter()
            .map(|c| match c.as_slice() {
                [one] => self.incident(one),
                many => self.cluster(many),
            })
            .collect()
    }

    /// One card for several automatic incidents that started together.
    fn cluster(&self, many: &[&IncidentView]) -> IncidentCard {
        let mut card = self.incident(many[many.len() - 1]);
        let down = many.iter().any(|i| i.worst_state == Some(State::Down));
        let group = many[0]
            .probes
            .first()
            .and_then(|p| self.probes.get(p.as_str()))
            .and_then(|p| p.group.clone());
        let open = many.iter().any(|i| i.resolved_at.is_none());
        let verb = if open { "are" } else { "were" };
        let what = if down { "down" } else { "degraded" };
        card.title = match &group {
            Some(g) => format!("{} services of {g} {verb} {what}", many.len()),
            None => format!("{} services {verb} {what}", many.len()),
        };
        let start = many.iter().map(|i| i.started_at).min();
        let end = many.iter().filter_map(|i| i.resolved_at).max();
        if open {
            card.open = true;
            card.resolved = None;
            card.status = "Ongoing".to_string();
        } else if let (Some(start), Some(end)) = (start, end) {
            card.resolved = Some(Time::at(self.tz, end));
            card.duration = format::duration((end - start).to_std().unwrap_or_default());
        }
        let ids: Vec<String> = many.iter().flat_map(|i| i.probes.clone()).collect();
        card.probes = self.links(&ids);
        card.updates.clear();
        card.message = None;
        card.cause = None;
        card
    }

    /// Every incident and maintenance window, newest first, by month of its start.
    pub fn history(&self) -> Vec<MonthIncidents> {
        let mut incidents: Vec<&IncidentView> = self.site.incidents.iter().collect();
        incidents.sort_by_key(|i| Reverse(i.started_at));
        let mut maintenance: Vec<&MaintenanceView> = self.site.maintenance.iter().collect();
        maintenance.sort_by_key(|m| Reverse(m.start));
        let month =
            |t: DateTime<Utc>| (t.format("%Y%m").to_string(), t.format("%B %Y").to_string());
        let mut keys: Vec<(String, String)> = incidents
            .iter()
            .map(|i| month(i.started_at))
            .chain(maintenance.iter().map(|m| month(m.start)))
            .collect();
        keys.sort_by(|a, b| b.0.cmp(&a.0));
        keys.dedup();
        keys.into_iter()
            .map(|(key, label)| MonthIncidents {
                label,
                incidents: incidents
                    .iter()
                    .filter(|i| month(i.started_at).0 == key)
                    .map(|i| self.incident(i))
                    .collect(),
                maintenance: maintenance
                    .iter()
                    .filter(|m| month(m.start).0 == key)
                    .map(|m| self.maintenance(m))
                    .collect(),
            })
            .collect()
    }

    /// Every probe, in config order.
    pub fn probes(&self) -> impl Iterator<Item = &'a ProbeView> + '_ {
        self.site.groups.iter().flat_map(|g| &g.probes)
    }

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
            objectives: super::objectives::objectives(&p.burn),
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

    fn group(&self, g: &Group, ungrouped_only: bool) -> GroupRow {
        let heading = match &g.name {
            Some(n) => n.clone(),
            None if ungrouped_only => "Services".to_string(),
            None => "Other services".to_string(),
        };
        GroupRow {
            id: format::slug(&g.id),
            heading,
            status: group_status(g),
            probes: g
                .probes
                .iter()
                .map(|p| self.row(p, bars::Detail::Brief))
                .collect(),
        }
    }

    fn row(&self, p: &ProbeView, detail: bars::Detail) -> ProbeRow {
        let budget_key = match p.slo_budget_left.filter(|l| l.is_finite()) {
            None => "unknown",
            Some(l) if l > 0.25 => "ok",
            Some(l) if l > 0.0 => "warn",
            Some(_) => "down",
        };
        ProbeRow {
            id: p.id.clone(),
            slug: format::slug(&p.id),
            name: p.name.clone(),
            group: p.group.clone(),
            status: Status::of(p.state),
            since: p.state_since.map(|t| Time::at(self.tz, t)),
            bars: match detail {
                bars::Detail::Brief => self
                    .brief
                    .lock()
                    .ok()
                    .and_then(|mut b| b.remove(&p.id))
                    .unwrap_or_else(|| self.brief_bars(p)),
                bars::Detail::Full => bars::bars(&p.days, &self.titles, detail),
            },
            uptime: format::uptime(p.uptime.d90),
            p95: format::latency(p.p95.d30),
            slo: format::percent(p.slo),
            budget: format::budget(p.slo_budget_left),
            budget_key,
            burning_fast: p.burn.burning_fast(),
        }
    }

    fn latest(&self, l: &LatestResult) -> LatestView {
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

    fn incident(&self, i: &IncidentView) -> IncidentCard {
        let open = i.resolved_at.is_none();
        let (impact, impact_key) = format::impact(i.impact);
        // Outpost does not investigate: an incident nobody wrote about is
        // ongoing or resolved, nothing more.
        let status = if i.automatic && !i.has_human_updates() {
            if open { "Ongoing" } else { "Resolved" }
        } else {
            format::incident_status_word(i.status)
        };
        IncidentCard {
            id: i.id.clone(),
            anchor: i.anchor(),
            title: i.title.clone(),
            open,
            status: status.to_string(),
            status_key: match i.status {
                IncidentStatus::Resolved | IncidentStatus::Postmortem => "ok",
                IncidentStatus::Monitoring => "maint",
                _ => impact_key,
            },
            postmortem_html: i.postmortem_html.clone(),
            impact: impact.to_string(),
            impact_key,
            started: Time::at(self.tz, i.started_at),
            resolved: i.resolved_at.map(|t| Time::at(self.tz, t)),
            duration: format::duration(i.duration(self.site.generated_at)),
            probes: self.links(&i.probes),
            cause: i.cause.map(format::cause_word),
            message: i.message.clone(),
            updates: i
                .updates
                .iter()
                .map(|u| UpdateView {
                    at: Time::at(self.tz, u.at),
                    status: match (u.automatic, u.status) {
                        (true, IncidentStatus::Resolved) => "Resolved",
                        (true, _) => "Detected",
                        (false, s) => format::incident_status_word(s),
                    },
                    body_html: u.body_html.clone(),
                })
                .collect(),
        }
    }

    fn maintenance(&self, m: &MaintenanceView) -> MaintenanceCard {
        MaintenanceCard {
            id: format::slug(&m.id),
            title: m.title.clone(),
            description: m.description.clone(),
            status: match m.status {
                "in_progress" => "In progress",
                "scheduled" => "Scheduled",
                "completed" => "Completed",
                _ => "Maintenance",
            },
            start: Time::at(self.tz, m.start),
            end: Time::at(self.tz, m.end),
            duration: format::duration((m.end - m.start).to_std().unwrap_or_default()),
            probes: self.links(&m.probes),
        }
    }

    fn links(&self, ids: &[String]) -> Vec<ProbeLink> {
        ids.iter()
            .map(|id| match self.probes.get(id.as_str()) {
                Some(p) => ProbeLink {
                    name: p.name.clone(),
                    href: Some(format!("probe/{}.html", format::slug(&p.id))),
                },
                None => ProbeLink {
                    name: id.clone(),
                    href: None,
                },
            })
            .collect()
    }

    fn day_incidents(&self, day: NaiveDate) -> DayIncidents {
        let mut incidents: Vec<&IncidentView> = self
            .site
            .incidents
            .iter()
            .filter(|i| i.started_at.date_naive() == day)
            .collect();
        incidents.sort_by_key(|i| Reverse(i.started_at));
        let mut cards = self.clustered(incidents);
        let more = cards.len().saturating_sub(NOW_CARDS);
        cards.truncate(NOW_CARDS);
        DayIncidents {
            date: day.format("%-d %B %Y").to_string(),
            iso: day.format("%Y-%m-%d").to_string(),
            incidents: cards,
            more,
        }
    }
}

/// A group's state in the API's words: "Partial outage" when some, not all,
/// members are down, else its worst member's state.
fn group_status(g: &Group) -> Status {
    let down = g.probes.iter().filter(|p| p.state == State::Down).count();
    if down > 0 && down < g.probes.len() {
        return Status {
            key: "partial",
            word: "Partial outage",
        };
    }
    Status::of(worst(g.probes.iter().map(|p| p.state)))
}

/// The worst of some states: down over degraded over maintenance over
/// operational; unknown only when nothing is known.
fn worst(states: impl Iterator<Item = State>) -> State {
    let mut out: Option<State> = None;
    for s in states {
        let rank = |s: State| match s {
            State::Unknown => 0,
            State::Operational => 1,
            State::Maintenance => 2,
            State::Degraded => 3,
            State::Down => 4,
        };
        if out.is_none_or(|o| rank(s) > rank(o)) {
            out = Some(s);
        }
    }
    out.unwrap_or(State::Unknown)
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

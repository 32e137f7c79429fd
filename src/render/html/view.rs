//! What the templates get: the site's facts turned into words, numbers
//! formatted, times in UTC with a machine form for `<time datetime>`.
//!
//! Text stays raw (the templates escape it); the one pre-rendered piece of
//! HTML is an incident update's `body_html`, already sanitized upstream.

mod incidents;
mod probe;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::bars;
use super::format;
use crate::model::State;
use crate::render::site::{Group, IncidentView, ProbeView, Site};

/// How many days of incidents the front page lists.
pub const RECENT_DAYS: i64 = 14;

use incidents::{DayIncidents, IncidentCard, MaintenanceCard};

/// "Happening now" stays about one screen: beyond this many cards it says
/// "and N more" and links to the history.
pub const NOW_CARDS: usize = 4;

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
    /// The day bars as list items (see [`bars::html`]).
    pub bars: String,
    pub uptime: String,
    pub p95: String,
    pub slo: String,
    pub budget: String,
    pub budget_key: &'static str,
    /// A fast burn alert fires on one of its objectives.
    pub burning_fast: bool,
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
    brief: std::sync::Mutex<HashMap<String, String>>,
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
    pub fn with_brief(self, brief: HashMap<String, String>) -> Self {
        Views {
            brief: std::sync::Mutex::new(brief),
            ..self
        }
    }

    /// The index row's bars of `p`, from its days.
    pub fn brief_bars(&self, p: &ProbeView) -> String {
        bars::html(&bars::bars(&p.days, &self.titles, bars::Detail::Brief))
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

    /// Every probe, in config order.
    pub fn probes(&self) -> impl Iterator<Item = &'a ProbeView> + '_ {
        self.site.groups.iter().flat_map(|g| &g.probes)
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
                bars::Detail::Full => bars::html(&bars::bars(&p.days, &self.titles, detail)),
            },
            uptime: format::uptime(p.uptime.d90),
            p95: format::latency(p.p95.d30),
            slo: format::percent(p.slo),
            budget: format::budget(p.slo_budget_left),
            budget_key,
            burning_fast: p.burn.burning_fast(),
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

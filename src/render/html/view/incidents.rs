//! Incidents and maintenance as the pages show them: cards, failures that
//! started together merged into one, the front page's recent days and the
//! history's months.

use std::cmp::Reverse;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::{NOW_CARDS, Time, Views};
use crate::model::State;
use crate::render::html::format;
use crate::render::site::{IncidentStatus, IncidentView, MaintenanceView};

/// Automatic incidents of one group that start this close together are one
/// event with many affected services, as Statuspage shows them.
const TOGETHER: Duration = Duration::minutes(10);

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

impl Views<'_> {
    /// Open incidents, newest first; automatic ones nobody wrote about that
    /// started together in one group become one card.
    pub(super) fn active(&self) -> Vec<IncidentCard> {
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
    pub(super) fn clustered(&self, incidents: Vec<&IncidentView>) -> Vec<IncidentCard> {
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
    pub(super) fn cluster(&self, many: &[&IncidentView]) -> IncidentCard {
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

    pub(super) fn incident(&self, i: &IncidentView) -> IncidentCard {
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

    pub(super) fn maintenance(&self, m: &MaintenanceView) -> MaintenanceCard {
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

    pub(super) fn links(&self, ids: &[String]) -> Vec<ProbeLink> {
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

    pub(super) fn day_incidents(&self, day: NaiveDate) -> DayIncidents {
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

//! From the [`Site`] to the Statuspage shapes. The mapping choices, where
//! outpost's words and Statuspage's differ, are made (and explained) here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::shapes::{
    AffectedComponent, Component, ComponentStatus, Day, Impact, Incident, IncidentUpdate,
    Indicator, Maintenance, MaintenanceStatus, Page, Schedule, Stamp, Status, UpdateStatus,
};
use crate::model::State;
use crate::render::Site;
use crate::render::site::{
    self, IncidentStatus, IncidentView, MaintenanceView, Overall, ProbeView,
};

/// Statuspage's `incidents.json` and `scheduled-maintenances.json` hold the
/// 50 most recent; so do ours.
pub const MOST_RECENT: usize = 50;

/// Statuspage's own text of the automatic maintenance updates.
const MAINTENANCE_STARTED: &str =
    "The scheduled maintenance is currently in progress. We will provide updates as necessary.";
const MAINTENANCE_COMPLETED: &str = "The scheduled maintenance has been completed.";

/// Every API object, built once and shared by the files.
pub struct Api {
    pub page: Page,
    pub status: Status,
    pub components: Vec<Component>,
    /// Newest first, at most [`MOST_RECENT`].
    pub incidents: Vec<Incident<IncidentStatus>>,
    /// Latest start first, at most [`MOST_RECENT`].
    pub maintenances: Vec<Maintenance>,
}

impl Api {
    pub fn new(site: &Site) -> Api {
        let page = page(site);
        let components = components(site, &page.id);
        let by_id: HashMap<&str, &Component> = components
            .iter()
            .filter(|c| !c.group)
            .map(|c| (c.id.as_str(), c))
            .collect();
        let incidents = site
            .incidents
            .iter()
            .take(MOST_RECENT)
            .map(|i| incident(site, &page.id, &by_id, i))
            .collect();
        let mut maintenances: Vec<&MaintenanceView> = site.maintenance.iter().collect();
        maintenances.sort_by(|a, b| b.start.cmp(&a.start).then_with(|| a.id.cmp(&b.id)));
        let maintenances = maintenances
            .into_iter()
            .take(MOST_RECENT)
            .map(|m| maintenance(site, &page.id, &by_id, &components, m))
            .collect();
        Api {
            status: status(site.overall),
            page,
            components,
            incidents,
            maintenances,
        }
    }
}

/// `page`. Statuspage ids are opaque; ours is the slug of the title, stable
/// as long as the title is. `url` is the public base URL, null when
/// `page.url` is not set.
fn page(site: &Site) -> Page {
    Page {
        id: page_id(&site.page.title),
        name: site.page.title.clone(),
        url: site.page.url.clone(),
        time_zone: site.page.timezone.clone(),
        updated_at: Stamp(site.generated_at),
    }
}

fn page_id(title: &str) -> String {
    let mut id = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    let id = id.trim_end_matches('-');
    if id.is_empty() {
        "status".to_string()
    } else {
        id.to_string()
    }
}

/// `status`: the banner in Statuspage's words. Statuspage's own descriptions
/// are "All Systems Operational" (none), "Partially Degraded Service" (minor,
/// when components are degraded), "Partial System Outage" (major), "Major
/// System Outage" (critical). During a maintenance in progress live Statuspage
/// pages send indicator `maintenance` with "Service Under Maintenance"
/// (undocumented, but what clients see and handle), so we do the same rather
/// than hide maintenance behind `none`.
fn status(overall: Overall) -> Status {
    let (indicator, description) = match overall {
        Overall::Operational => (Indicator::None, "All Systems Operational"),
        Overall::Degraded => (Indicator::Minor, "Partially Degraded Service"),
        Overall::PartialOutage => (Indicator::Major, "Partial System Outage"),
        Overall::MajorOutage => (Indicator::Critical, "Major System Outage"),
        Overall::Maintenance => (Indicator::Maintenance, "Service Under Maintenance"),
    };
    Status {
        indicator,
        description,
    }
}

/// A probe state as a component status.
///
/// - `down` is `major_outage`: a probe is one black-box check and down means
///   it fails outright (after `quorum` locations agree); `partial_outage` is
///   kept for groups where some, not all, members are down.
/// - `unknown` (no recent data) is `operational`: Statuspage has no "unknown",
///   and claiming an outage we have not seen would page readers for nothing.
///   The component's `description` says "No recent data" instead.
pub fn component_status(state: State) -> ComponentStatus {
    match state {
        State::Operational | State::Unknown => ComponentStatus::Operational,
        State::Degraded => ComponentStatus::DegradedPerformance,
        State::Down => ComponentStatus::MajorOutage,
        State::Maintenance => ComponentStatus::UnderMaintenance,
    }
}

/// A group's status: `major_outage` when every member is down,
/// `partial_outage` when some are, else the worst member status
/// (degraded, then maintenance, then operational).
fn group_status(members: &[ComponentStatus]) -> ComponentStatus {
    let down = members
        .iter()
        .filter(|s| **s == ComponentStatus::MajorOutage)
        .count();
    if down > 0 && down == members.len() {
        ComponentStatus::MajorOutage
    } else if down > 0 {
        ComponentStatus::PartialOutage
    } else {
        members
            .iter()
            .copied()
            .max()
            .unwrap_or(ComponentStatus::Operational)
    }
}

/// A probe's component id: the probe id itself (a stable slug).
fn probe_component_id(probe: &ProbeView) -> String {
    probe.id.clone()
}

/// A group's component id, prefixed so that a group and a probe of the same
/// slug never share an id.
fn group_component_id(group: &site::Group) -> String {
    format!("group-{}", group.id)
}

/// `components`, in page order: each named group followed by its members;
/// probes without a group are top-level components.
///
/// `position` is 1-based and unique: the component's place in page order,
/// a group coming just before its members.
fn components(site: &Site, page_id: &str) -> Vec<Component> {
    let mut out: Vec<Component> = Vec::new();
    for group in &site.groups {
        let group_id = group.name.as_ref().map(|_| group_component_id(group));
        let members: Vec<Component> = group
            .probes
            .iter()
            .map(|p| probe_component(site, page_id, p, group_id.clone()))
            .collect();
        if let (Some(name), Some(id)) = (&group.name, &group_id) {
            let statuses: Vec<ComponentStatus> = members.iter().map(|c| c.status).collect();
            out.push(Component {
                id: id.clone(),
                name: name.clone(),
                status: group_status(&statuses),
                created_at: members
                    .iter()
                    .map(|c| c.created_at)
                    .min()
                    .unwrap_or(Stamp(site.generated_at)),
                updated_at: members
                    .iter()
                    .map(|c| c.updated_at)
                    .max()
                    .unwrap_or(Stamp(site.generated_at)),
                position: 0,
                description: None,
                showcase: false,
                start_date: None,
                group_id: None,
                page_id: page_id.to_string(),
                group: true,
                only_show_if_degraded: false,
                components: Some(members.iter().map(|c| c.id.clone()).collect()),
            });
        }
        out.extend(members);
    }
    for (n, c) in out.iter_mut().enumerate() {
        c.position = n + 1;
    }
    out
}

/// One probe as a component. `created_at` is its first result and
/// `updated_at` its last state change; a probe that never ran has neither,
/// and takes the render time.
fn probe_component(
    site: &Site,
    page_id: &str,
    probe: &ProbeView,
    group_id: Option<String>,
) -> Component {
    let created = probe.first_seen.unwrap_or(site.generated_at);
    let updated = probe.state_since.unwrap_or(created).max(created);
    Component {
        id: probe_component_id(probe),
        name: probe.name.clone(),
        status: component_status(probe.state),
        created_at: Stamp(created),
        updated_at: Stamp(updated),
        position: probe.position + 1,
        description: (probe.state == State::Unknown).then(|| "No recent data".to_string()),
        showcase: true,
        start_date: probe.first_seen.map(|t| Day(t.date_naive())),
        group_id,
        page_id: page_id.to_string(),
        group: false,
        only_show_if_degraded: false,
        components: None,
    }
}

/// A link to `path` on the page: absolute under `page.url` when set, else
/// relative to the site root. Statuspage's `shortlink` is a stspg.io link;
/// ours points at the incident on `history.html`.
pub fn link(site: &Site, path: &str) -> String {
    match &site.page.url {
        Some(base) => format!("{}/{}", base.trim_end_matches('/'), path),
        None => path.to_string(),
    }
}

/// The incident `id` on history.html, by the anchor the page gives it.
pub fn history_link(site: &Site, id: &str) -> String {
    link(site, &format!("history.html#{}", site::anchor(id)))
}

/// The components of `probes`, skipping ids no longer configured.
fn affected(by_id: &HashMap<&str, &Component>, probes: &[String]) -> Vec<Component> {
    probes
        .iter()
        .filter_map(|p| by_id.get(p.as_str()).map(|c| (*c).clone()))
        .collect()
}

/// What an incident did to its components: the worst state it saw, or,
/// without one, what its impact implies.
fn incident_component_status(i: &IncidentView) -> ComponentStatus {
    match i.worst_state {
        Some(s @ (State::Degraded | State::Down)) => component_status(s),
        _ => match i.impact {
            site::Impact::None => ComponentStatus::Operational,
            site::Impact::Minor => ComponentStatus::DegradedPerformance,
            site::Impact::Major => ComponentStatus::PartialOutage,
            site::Impact::Critical => ComponentStatus::MajorOutage,
        },
    }
}

/// Statuspage's `affected_components` of an update: the components whose
/// status it changed (`null` when it changed none). The first update of an
/// incident takes them from operational to the incident's status, a
/// resolving update brings them back.
fn changes(
    components: &[Component],
    old: ComponentStatus,
    new: ComponentStatus,
) -> Option<Vec<AffectedComponent>> {
    if old == new || components.is_empty() {
        return None;
    }
    Some(
        components
            .iter()
            .map(|c| AffectedComponent {
                code: c.id.clone(),
                name: c.name.clone(),
                old_status: old,
                new_status: new,
            })
            .collect(),
    )
}

/// An update's id, unique on the page: the site's ids are only unique
/// within their incident, so they are prefixed with it unless they already
/// are (`auto-42-1`).
fn update_id(event: &str, update: &str) -> String {
    if update.starts_with(&format!("{event}-")) {
        update.to_string()
    } else {
        format!("{event}-{update}")
    }
}

/// One incident. `created_at` and `started_at` are its start, `updated_at`
/// its latest update, `monitoring_at` the first update that moved it to
/// monitoring. Updates are newest first, as Statuspage lists them.
///
/// `deliver_notifications` is false: outpost notifies through its alert
/// channels, never through Statuspage subscriptions.
fn incident(
    site: &Site,
    page_id: &str,
    by_id: &HashMap<&str, &Component>,
    i: &IncidentView,
) -> Incident<IncidentStatus> {
    let components: Vec<Component> = affected(by_id, &i.probes);
    let hit = incident_component_status(i);
    let updates = if i.updates.is_empty() {
        synthetic_updates(i)
    } else {
        i.updates.clone()
    };
    let oldest = updates.iter().map(|u| u.at).min();
    let incident_updates = updates
        .iter()
        .map(|u| {
            let (old, new) = if u.status == IncidentStatus::Resolved {
                (hit, ComponentStatus::Operational)
            } else if Some(u.at) == oldest {
                (ComponentStatus::Operational, hit)
            } else {
                (hit, hit)
            };
            IncidentUpdate {
                id: update_id(&i.id, &u.id),
                status: UpdateStatus::Incident(u.status),
                body: u.body.clone(),
                incident_id: i.id.clone(),
                created_at: Stamp(u.at),
                updated_at: Stamp(u.at),
                display_at: Stamp(u.at),
                affected_components: changes(&components, old, new),
                deliver_notifications: false,
                custom_tweet: None,
                tweet_id: None,
            }
        })
        .collect();
    let updated = updates
        .iter()
        .map(|u| u.at)
        .chain(i.resolved_at)
        .chain([i.started_at])
        .max()
        .unwrap_or(i.started_at);
    Incident {
        id: i.id.clone(),
        name: i.title.clone(),
        status: i.status,
        created_at: Stamp(i.started_at),
        updated_at: Stamp(updated),
        monitoring_at: updates
            .iter()
            .filter(|u| u.status == IncidentStatus::Monitoring)
            .map(|u| Stamp(u.at))
            .min(),
        resolved_at: i.resolved_at.map(Stamp),
        impact: match i.impact {
            site::Impact::None => Impact::None,
            site::Impact::Minor => Impact::Minor,
            site::Impact::Major => Impact::Major,
            site::Impact::Critical => Impact::Critical,
        },
        shortlink: history_link(site, &i.id),
        started_at: Stamp(i.started_at),
        page_id: page_id.to_string(),
        incident_updates,
        components,
        postmortem_body: i.postmortem.clone(),
        schedule: None,
    }
}

/// Statuspage incidents always carry at least one update; an incident the
/// site gives none gets an opening one (its message) and, once resolved, a
/// resolving one.
fn synthetic_updates(i: &IncidentView) -> Vec<site::IncidentUpdate> {
    let opening = i.message.clone().unwrap_or_else(|| i.title.clone());
    let mut out = Vec::new();
    if let Some(at) = i.resolved_at {
        out.push(site::IncidentUpdate {
            id: "resolved".into(),
            at,
            status: IncidentStatus::Resolved,
            body: "This incident has been resolved.".into(),
            body_html: String::new(),
            automatic: true,
        });
    }
    out.push(site::IncidentUpdate {
        id: "opened".into(),
        at: i.started_at,
        status: IncidentStatus::Investigating,
        body: opening,
        body_html: String::new(),
        automatic: true,
    });
    out
}

/// A maintenance window's Statuspage status: the site's word, or when it is
/// not one we know, what the clock says.
fn maintenance_status(m: &MaintenanceView, now: DateTime<Utc>) -> MaintenanceStatus {
    match m.status {
        "scheduled" => MaintenanceStatus::Scheduled,
        "in_progress" => MaintenanceStatus::InProgress,
        "verifying" => MaintenanceStatus::Verifying,
        "completed" => MaintenanceStatus::Completed,
        _ if now < m.start => MaintenanceStatus::Scheduled,
        _ if now < m.end => MaintenanceStatus::InProgress,
        _ => MaintenanceStatus::Completed,
    }
}

/// One maintenance window as a Statuspage scheduled maintenance. A window
/// with no `probes` covers every probe (the config default). Its updates are
/// the ones Statuspage writes by itself: scheduled (the description), in
/// progress at the start, completed at the end. Impact is `maintenance`,
/// as Statuspage sends it for maintenances.
fn maintenance(
    site: &Site,
    page_id: &str,
    by_id: &HashMap<&str, &Component>,
    all: &[Component],
    m: &MaintenanceView,
) -> Maintenance {
    let status = maintenance_status(m, site.generated_at);
    let components: Vec<Component> = if m.probes.is_empty() {
        all.iter().filter(|c| !c.group).cloned().collect()
    } else {
        affected(by_id, &m.probes)
    };
    let scheduled_body = m.description.clone().unwrap_or_else(|| m.title.clone());
    let mut steps = vec![(
        "scheduled",
        MaintenanceStatus::Scheduled,
        m.start,
        scheduled_body,
        None,
    )];
    if status != MaintenanceStatus::Scheduled {
        steps.push((
            "in-progress",
            MaintenanceStatus::InProgress,
            m.start,
            MAINTENANCE_STARTED.to_string(),
            changes(
                &components,
                ComponentStatus::Operational,
                ComponentStatus::UnderMaintenance,
            ),
        ));
    }
    if status == MaintenanceStatus::Completed {
        steps.push((
            "completed",
            MaintenanceStatus::Completed,
            m.end,
            MAINTENANCE_COMPLETED.to_string(),
            changes(
                &components,
                ComponentStatus::UnderMaintenance,
                ComponentStatus::Operational,
            ),
        ));
    }
    let updated = steps.last().map(|s| s.2).unwrap_or(m.start);
    let updates = steps
        .into_iter()
        .rev()
        .map(|(key, status, at, body, affected)| IncidentUpdate {
            id: update_id(&m.id, key),
            status: UpdateStatus::Maintenance(status),
            body,
            incident_id: m.id.clone(),
            created_at: Stamp(at),
            updated_at: Stamp(at),
            display_at: Stamp(at),
            affected_components: affected,
            deliver_notifications: false,
            custom_tweet: None,
            tweet_id: None,
        })
        .collect();
    Incident {
        id: m.id.clone(),
        name: m.title.clone(),
        status,
        created_at: Stamp(m.start),
        updated_at: Stamp(updated),
        monitoring_at: None,
        resolved_at: (status == MaintenanceStatus::Completed).then_some(Stamp(m.end)),
        impact: Impact::Maintenance,
        shortlink: link(site, &format!("history.html#{}", m.id)),
        started_at: Stamp(m.start),
        page_id: page_id.to_string(),
        incident_updates: updates,
        components,
        postmortem_body: None,
        schedule: Some(Schedule {
            scheduled_for: Stamp(m.start),
            scheduled_until: Stamp(m.end),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_status_tells_partial_from_major() {
        use ComponentStatus::*;
        assert_eq!(group_status(&[MajorOutage, MajorOutage]), MajorOutage);
        assert_eq!(group_status(&[MajorOutage, Operational]), PartialOutage);
        assert_eq!(
            group_status(&[DegradedPerformance, UnderMaintenance]),
            DegradedPerformance
        );
        assert_eq!(
            group_status(&[Operational, UnderMaintenance]),
            UnderMaintenance
        );
        assert_eq!(group_status(&[]), Operational);
    }

    #[test]
    fn page_ids_are_slugs() {
        assert_eq!(page_id("Acme Status!"), "acme-status");
        assert_eq!(page_id("状態"), "status");
    }

    #[test]
    fn update_ids_are_prefixed_once() {
        assert_eq!(update_id("auto-4", "auto-4-1"), "auto-4-1");
        assert_eq!(update_id("note", "2"), "note-2");
    }
}

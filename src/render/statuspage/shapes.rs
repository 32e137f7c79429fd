//! The JSON shapes of the Atlassian Statuspage public API (v2), field for
//! field and in Statuspage's order, so existing widgets and clients read an
//! outpost page unchanged. Fields Statuspage sends as `null` are `Option`s
//! serialized as `null`, never skipped.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Serialize, Serializer};

use crate::render::site::IncidentStatus;

/// An instant as Statuspage writes it, in UTC with milliseconds:
/// `2026-11-25T10:00:00.000Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp(pub DateTime<Utc>);

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&crate::render::when::IsoMillis(self.0))
    }
}

/// A calendar date (`start_date`): `2026-11-25`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub NaiveDate);

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&crate::render::when::IsoDay(self.0))
    }
}

/// `page`: present in every response.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub id: String,
    pub name: String,
    /// The public base URL; null when `[page] url` is not set (an empty
    /// string would read as "this very page" to clients that follow it).
    pub url: Option<String>,
    pub time_zone: String,
    pub updated_at: Stamp,
}

/// `status`: the page's rollup.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub indicator: Indicator,
    pub description: &'static str,
}

/// `status.indicator`. Statuspage documents none/minor/major/critical, and
/// live pages also send `maintenance` while a maintenance is in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    None,
    Minor,
    Major,
    Critical,
    Maintenance,
}

/// `components[].status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

/// `components[]`: a probe, or a group of probes (`group: true`).
#[derive(Debug, Clone, Serialize)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub status: ComponentStatus,
    pub created_at: Stamp,
    pub updated_at: Stamp,
    pub position: usize,
    pub description: Option<String>,
    pub showcase: bool,
    pub start_date: Option<Day>,
    pub group_id: Option<String>,
    pub page_id: String,
    pub group: bool,
    pub only_show_if_degraded: bool,
    /// Member ids; Statuspage sends this key on groups only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<String>>,
}

/// `incidents[].impact` and `scheduled_maintenances[].impact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    None,
    Minor,
    Major,
    Critical,
    Maintenance,
}

/// `scheduled_maintenances[].status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceStatus {
    Scheduled,
    InProgress,
    Verifying,
    Completed,
}

/// The status of an update: an incident's or a maintenance's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum UpdateStatus {
    Incident(IncidentStatus),
    Maintenance(MaintenanceStatus),
}

/// `incident_updates[].affected_components[]`: a component whose status this
/// update changed.
#[derive(Debug, Clone, Serialize)]
pub struct AffectedComponent {
    pub code: String,
    pub name: String,
    pub old_status: ComponentStatus,
    pub new_status: ComponentStatus,
}

/// `incident_updates[]`.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentUpdate {
    pub id: String,
    pub status: UpdateStatus,
    pub body: String,
    pub incident_id: String,
    pub created_at: Stamp,
    pub updated_at: Stamp,
    pub display_at: Stamp,
    /// `null` when the update changed no component, as Statuspage sends it.
    pub affected_components: Option<Vec<AffectedComponent>>,
    pub deliver_notifications: bool,
    pub custom_tweet: Option<String>,
    pub tweet_id: Option<String>,
}

/// `incidents[]`, and with `S = MaintenanceStatus` plus the schedule,
/// `scheduled_maintenances[]`.
#[derive(Debug, Clone, Serialize)]
pub struct Incident<S> {
    pub id: String,
    pub name: String,
    pub status: S,
    pub created_at: Stamp,
    pub updated_at: Stamp,
    pub monitoring_at: Option<Stamp>,
    pub resolved_at: Option<Stamp>,
    pub impact: Impact,
    pub shortlink: String,
    pub started_at: Stamp,
    pub page_id: String,
    pub incident_updates: Vec<IncidentUpdate>,
    pub components: Vec<Component>,
    /// Statuspage's written postmortem (Markdown); only on incidents that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postmortem_body: Option<String>,
    #[serde(flatten)]
    pub schedule: Option<Schedule>,
}

/// `scheduled_for` and `scheduled_until` of a maintenance.
#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    pub scheduled_for: Stamp,
    pub scheduled_until: Stamp,
}

/// A scheduled maintenance.
pub type Maintenance = Incident<MaintenanceStatus>;

/// `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary<'a> {
    pub page: &'a Page,
    pub components: &'a [Component],
    pub incidents: Vec<&'a Incident<IncidentStatus>>,
    pub scheduled_maintenances: Vec<&'a Maintenance>,
    pub status: &'a Status,
}

/// `status.json`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusDoc<'a> {
    pub page: &'a Page,
    pub status: &'a Status,
}

/// `components.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentsDoc<'a> {
    pub page: &'a Page,
    pub components: &'a [Component],
}

/// `incidents.json` and `incidents/unresolved.json`.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentsDoc<'a> {
    pub page: &'a Page,
    pub incidents: Vec<&'a Incident<IncidentStatus>>,
}

/// `scheduled-maintenances.json`, `/upcoming.json` and `/active.json`.
#[derive(Debug, Clone, Serialize)]
pub struct MaintenancesDoc<'a> {
    pub page: &'a Page,
    pub scheduled_maintenances: Vec<&'a Maintenance>,
}

//! `api/v2/*.json` in the Atlassian Statuspage public API format (SPEC §7),
//! so existing widgets and clients read an outpost page unchanged.
//!
//! The shapes are typed ([`shapes`]); the mapping from outpost's words to
//! Statuspage's is in [`build`], with each choice explained there.

mod build;
pub mod shapes;

use serde::Serialize;

use self::build::Api;
use self::shapes::{
    ComponentsDoc, IncidentsDoc, MaintenanceStatus, MaintenancesDoc, StatusDoc, Summary,
};
use super::site::IncidentStatus;
use super::{File, Site};

pub(crate) use self::build::{history_link, link};

/// The API files.
pub fn files(site: &Site) -> Vec<File> {
    let api = Api::new(site);
    let page = &api.page;
    let unresolved: Vec<_> = api
        .incidents
        .iter()
        .filter(|i| {
            !matches!(
                i.status,
                IncidentStatus::Resolved | IncidentStatus::Postmortem
            )
        })
        .collect();
    let maintenances = |keep: &dyn Fn(MaintenanceStatus) -> bool| -> Vec<_> {
        api.maintenances.iter().filter(|m| keep(m.status)).collect()
    };
    let upcoming = |s| s == MaintenanceStatus::Scheduled;
    let active = |s| {
        matches!(
            s,
            MaintenanceStatus::InProgress | MaintenanceStatus::Verifying
        )
    };
    vec![
        json(
            "api/v2/summary.json",
            &Summary {
                page,
                components: &api.components,
                incidents: unresolved.clone(),
                scheduled_maintenances: maintenances(&|s| upcoming(s) || active(s)),
                status: &api.status,
            },
        ),
        json(
            "api/v2/status.json",
            &StatusDoc {
                page,
                status: &api.status,
            },
        ),
        json(
            "api/v2/components.json",
            &ComponentsDoc {
                page,
                components: &api.components,
            },
        ),
        json(
            "api/v2/incidents.json",
            &IncidentsDoc {
                page,
                incidents: api.incidents.iter().collect(),
            },
        ),
        json(
            "api/v2/incidents/unresolved.json",
            &IncidentsDoc {
                page,
                incidents: unresolved,
            },
        ),
        json(
            "api/v2/scheduled-maintenances.json",
            &MaintenancesDoc {
                page,
                scheduled_maintenances: maintenances(&|_| true),
            },
        ),
        json(
            "api/v2/scheduled-maintenances/upcoming.json",
            &MaintenancesDoc {
                page,
                scheduled_maintenances: maintenances(&upcoming),
            },
        ),
        json(
            "api/v2/scheduled-maintenances/active.json",
            &MaintenancesDoc {
                page,
                scheduled_maintenances: maintenances(&active),
            },
        ),
    ]
}

/// One JSON file, compact as Statuspage serves it. Serializing these shapes
/// cannot fail (structs with string keys, no floats), so a failure is a bug.
fn json<T: Serialize>(path: &str, doc: &T) -> File {
    let mut bytes = serde_json::to_vec(doc).expect("Statuspage shapes serialize");
    bytes.push(b'\n');
    File::new(path, bytes)
}

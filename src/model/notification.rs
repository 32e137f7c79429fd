//! What a notification says, independent of the channel that carries it. It is
//! stored in the outbox as JSON, so its shape is part of the store; the store,
//! evaluation and alerting all speak it, so it lives here, below them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::burn::BurnDetails;
use super::{Cause, State};

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The state became `down` (from operational or degraded).
    Down,
    /// The state became `degraded`.
    Degraded,
    /// Back to `operational`: the incident is resolved.
    Recovered,
    /// Still down after `remind_every`.
    Reminder,
    /// `outpost alert test CHANNEL`.
    Test,
    /// An objective burns its budget fast (14.4× over 1 h and 5 min by default).
    #[serde(rename = "burn-fast")]
    BurnFast,
    /// An objective burns its budget steadily (6× over 6 h and 30 min).
    #[serde(rename = "burn-slow")]
    BurnSlow,
    /// An objective burns its budget over days (1× over 3 d and 6 h).
    #[serde(rename = "burn-ticket")]
    BurnTicket,
    /// A burn alert ended: its short window no longer burns.
    #[serde(rename = "burn-ok")]
    BurnOk,
}

impl EventKind {
    /// Whether the event is about a failure (reminders and recoveries follow one).
    pub fn opens(self) -> bool {
        matches!(self, EventKind::Down | EventKind::Degraded)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Down => "down",
            EventKind::Degraded => "degraded",
            EventKind::Recovered => "recovered",
            EventKind::Reminder => "reminder",
            EventKind::Test => "test",
            EventKind::BurnFast => "burn-fast",
            EventKind::BurnSlow => "burn-slow",
            EventKind::BurnTicket => "burn-ticket",
            EventKind::BurnOk => "burn-ok",
        }
    }

    /// Whether the event is a burn alert starting.
    pub fn is_burn_alert(self) -> bool {
        matches!(
            self,
            EventKind::BurnFast | EventKind::BurnSlow | EventKind::BurnTicket
        )
    }
}

/// One event about one probe, to be told to one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub event: EventKind,
    pub probe_id: String,
    pub probe_name: String,
    pub group: Option<String>,
    /// The state after the event.
    pub state: State,
    pub previous_state: State,
    /// When the incident started (the state left operational).
    pub since: DateTime<Utc>,
    /// When the event happened.
    pub at: DateTime<Utc>,
    /// The incident's first failure.
    pub cause: Option<Cause>,
    pub message: Option<String>,
    /// The store's incident id; with the probe id it makes stable dedup keys.
    pub incident_id: i64,
    /// The probe's page on the public status page, when `page.url` is set.
    pub link: Option<String>,
    pub page_title: String,
    /// Set on burn events (and their reminders): the objective and its burn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burn: Option<BurnDetails>,
}

impl Notification {
    /// How long the incident has lasted at the time of the event.
    pub fn duration(&self) -> chrono::Duration {
        self.at - self.since
    }

    /// A key that is the same for every event of one incident (PagerDuty
    /// `dedup_key`, GitHub issue marker).
    pub fn dedup_key(&self) -> String {
        match &self.burn {
            // One key per probe and objective: PagerDuty folds the fast, slow
            // and ticket alerts of one objective into one incident.
            Some(b) => format!("outpost/{}/slo-{}", self.probe_id, b.objective),
            None => format!("outpost/{}/{}", self.probe_id, self.incident_id),
        }
    }
}

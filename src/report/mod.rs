//! Output formats of a run: a table for people, JSON for programs, JUnit XML
//! and GitHub annotations for CI.

pub mod github;
pub mod json;
pub mod junit;
pub mod table;

use chrono::{DateTime, Utc};

use crate::alert::outbox::DeliveryReport;
use crate::evaluate::Evaluation;
use crate::model::{ProbeResult, State};

/// What one run found.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub location: String,
    pub started_at: DateTime<Utc>,
    pub results: Vec<ProbeResult>,
    pub evaluation: Evaluation,
    pub delivery: DeliveryReport,
}

impl RunReport {
    /// The state of `probe` after this run, if it was evaluated.
    pub fn state_of(&self, probe: &str) -> Option<State> {
        self.evaluation.states.get(probe).copied()
    }
}

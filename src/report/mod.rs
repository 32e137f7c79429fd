//! Output formats of a run: a table for people, JSON for programs.

pub mod json;
pub mod table;

use chrono::{DateTime, Utc};

use crate::model::ProbeResult;

/// What one run found.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub location: String,
    pub started_at: DateTime<Utc>,
    pub results: Vec<ProbeResult>,
}

//! The JSON document of `--format json` (SPEC §4).

use serde::Serialize;

use super::RunReport;
use crate::model::{Cause, Outcome, Phases, millis};

#[derive(Serialize)]
struct Document<'a> {
    location: &'a str,
    started_at: String,
    results: Vec<Row<'a>>,
}

#[derive(Serialize)]
struct Row<'a> {
    probe: &'a str,
    outcome: Outcome,
    /// Filled by the evaluation stage (thresholds over runs); null until a
    /// probe has a state.
    state: Option<&'a str>,
    cause: Option<Cause>,
    message: Option<&'a str>,
    status: Option<u16>,
    latency_ms: f64,
    phases: Phases,
    cert_expires_at: Option<String>,
}

/// Render the run as one JSON document and a newline.
pub fn render(report: &RunReport) -> String {
    let doc = Document {
        location: &report.location,
        started_at: report
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        results: report
            .results
            .iter()
            .map(|r| Row {
                probe: &r.probe.0,
                outcome: r.outcome,
                state: None,
                cause: r.cause,
                message: r.message.as_deref(),
                status: r.status,
                latency_ms: millis(r.latency),
                phases: r.phases,
                cert_expires_at: r
                    .cert_expires_at
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            })
            .collect(),
    };
    let mut s =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

//! The JSON document of `--format json` (SPEC §4).

use serde::Serialize;

use super::RunReport;
use crate::alert::outbox::DeliveryReport;
use crate::model::{Cause, HttpVersion, Outcome, Phases, State, StepRecord, millis};

#[derive(Serialize)]
struct Document<'a> {
    location: &'a str,
    started_at: String,
    results: Vec<Row<'a>>,
    /// State changes caused by this run.
    changes: Vec<ChangeRow<'a>>,
    /// Incidents opened, updated or resolved by this run.
    incidents: Vec<IncidentRow<'a>>,
    notifications: &'a DeliveryReport,
    /// Each probe's objectives after this run: budget left, burn rate per
    /// window, the burn alerts firing.
    burn: &'a std::collections::BTreeMap<String, crate::evaluate::burn::status::ProbeBurn>,
}

#[derive(Serialize)]
struct ChangeRow<'a> {
    probe: &'a str,
    from: State,
    to: State,
    at: String,
}

#[derive(Serialize)]
struct IncidentRow<'a> {
    id: i64,
    probe: &'a str,
    started_at: String,
    resolved_at: Option<String>,
    worst_state: State,
    cause: Option<Cause>,
    message: Option<&'a str>,
    failed_results: u32,
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Serialize)]
struct Row<'a> {
    probe: &'a str,
    outcome: Outcome,
    /// The probe's state after this run (thresholds over consecutive results).
    state: Option<State>,
    cause: Option<Cause>,
    message: Option<&'a str>,
    status: Option<u16>,
    latency_ms: f64,
    phases: Phases,
    cert_expires_at: Option<String>,
    /// Bytes of the final body as received, and after decompression.
    body_bytes: Option<u64>,
    body_decoded_bytes: Option<u64>,
    http_version: Option<HttpVersion>,
    /// The address reached (the proxy's, through a proxy).
    ip: Option<String>,
    /// A flow's steps (capture names, never their values); absent for other kinds.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    steps: &'a [StepRecord],
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
                state: report.state_of(&r.probe.0),
                cause: r.cause,
                message: r.message.as_deref(),
                status: r.status,
                latency_ms: millis(r.latency),
                phases: r.phases,
                cert_expires_at: r
                    .cert_expires_at
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                body_bytes: r.body_bytes,
                body_decoded_bytes: r.body_decoded_bytes,
                http_version: r.http_version,
                ip: r.ip.map(|ip| ip.to_string()),
                steps: &r.steps,
            })
            .collect(),
        changes: report
            .evaluation
            .changes
            .iter()
            .map(|c| ChangeRow {
                probe: &c.probe,
                from: c.from,
                to: c.to,
                at: time(c.at),
            })
            .collect(),
        incidents: report
            .evaluation
            .incidents
            .iter()
            .map(|i| IncidentRow {
                id: i.id,
                probe: &i.probe,
                started_at: time(i.started_at),
                resolved_at: i.resolved_at.map(time),
                worst_state: i.worst_state,
                cause: i.cause,
                message: i.message.as_deref(),
                failed_results: i.failed_results,
            })
            .collect(),
        notifications: &report.delivery,
        burn: &report.evaluation.burn,
    };
    let mut s =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

//! `outpost demo`'s pieces: local endpoints ([`endpoints`]), the demo config
//! (an embedded `probes.toml` template), simulated history ([`history`]) and the
//! written incident notes. `commands/demo.rs` puts them together.

pub mod endpoints;
mod flow;
pub mod history;
mod shop;
pub mod simulate;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use endpoints::{DNS_ANSWERS, DNS_NAME, Endpoints};
use history::Script;

/// The demo config, with `{{NAME}}` placeholders for addresses and dates.
const TEMPLATE: &str = include_str!("probes.toml");

/// Where the demo's results say they were measured.
pub const LOCATION: &str = "demo";

/// The demo's `probes.toml` for `endpoints`, with maintenance windows from `script`.
pub fn config_text(endpoints: &Endpoints, script: &Script) -> String {
    let answers: Vec<String> = DNS_ANSWERS.iter().map(|ip| format!("\"{ip}\"")).collect();
    let fill = [
        ("API", endpoints.api.to_string()),
        ("SLOW", endpoints.slow.to_string()),
        ("FLAPPING", endpoints.flapping.to_string()),
        ("FAILING", endpoints.failing.to_string()),
        ("HTTPS", endpoints.https.to_string()),
        ("TCP", endpoints.tcp.to_string()),
        ("METRICS", endpoints.metrics.to_string()),
        ("DNS", endpoints.dns.to_string()),
        ("SHOP", endpoints.shop.to_string()),
        ("DNS_NAME", DNS_NAME.to_string()),
        ("DNS_ANSWERS", answers.join(", ")),
        ("PAST_MAINTENANCE_START", rfc3339(script.maintenance.0)),
        ("PAST_MAINTENANCE_END", rfc3339(script.maintenance.1)),
        ("NEXT_MAINTENANCE_START", rfc3339(script.next_maintenance.0)),
        ("NEXT_MAINTENANCE_END", rfc3339(script.next_maintenance.1)),
    ];
    fill.iter()
        .fold(TEMPLATE.to_string(), |text, (name, value)| {
            text.replace(&format!("{{{{{name}}}}}"), value)
        })
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Incident notes people would have written, as `incidents/*.md` files: one
/// postmortem of the old Payments outage and one tracking the current one.
/// Each attaches to the automatic incident of the same probe and time.
pub fn incident_notes(script: &Script) -> Vec<(&'static str, String)> {
    let past = &script.past_outage;
    let now = script.now;
    let at = |t: DateTime<Utc>| rfc3339(t);
    vec![
        (
            "payments-pool-exhaustion.md",
            format!(
                r#"+++
title = "Payments API unavailable"
probes = ["payments"]
impact = "major"

[[updates]]
at = "{}"
status = "investigating"
body = "Payments requests are failing or timing out. We are investigating."

[[updates]]
at = "{}"
status = "identified"
body = "A configuration change halved the database connection pool. We are rolling it back."

[[updates]]
at = "{}"
status = "monitoring"
body = "The rollback is complete and error rates are falling. We are watching closely."

[[updates]]
at = "{}"
status = "resolved"
body = "Payments have been healthy for 30 minutes. No payment was charged twice."
+++
## What happened

A configuration change reduced the **payments database pool** from 40 to 20
connections. At the afternoon peak every connection was busy, requests queued
behind them and the load balancer answered `503`.

## What we are changing

- Pool sizes are now checked in CI against the expected peak.
- Outpost alerts on `degraded` for Payments, not only on `down`.
"#,
                at(past.from + Duration::minutes(10)),
                at(past.from + Duration::minutes(55)),
                at(past.to - Duration::minutes(10)),
                at(past.to + Duration::minutes(30)),
            ),
        ),
        (
            "payments-errors-today.md",
            format!(
                r#"+++
title = "Payments API returning errors"
probes = ["payments"]
impact = "major"

[[updates]]
at = "{}"
status = "investigating"
body = "Payments requests are failing with `503 Service Unavailable`. We are investigating."

[[updates]]
at = "{}"
status = "identified"
body = "An expired credential between the API and the card processor. A new one is being rolled out."
+++
"#,
                at(now - Duration::minutes(25)),
                at(now - Duration::minutes(10)),
            ),
        ),
    ]
}

/// A folder under the system's temporary directory, removed on drop: the demo's
/// `probes.toml`, CA, incident notes and (by default) store.
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// Create a new, empty folder.
    pub fn new() -> std::io::Result<ScratchDir> {
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let path =
            std::env::temp_dir().join(format!("outpost-demo-{}-{nanos:x}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(ScratchDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

//! `outpost alert test CHANNEL`: prove a channel works before an incident does.

use std::io::Write;

use chrono::Utc;

use super::{CommandError, Exit};
use crate::alert::outbox::ATTEMPT_TIMEOUT;
use crate::alert::{Delivery, EventKind, Notification, deliver, http_post};
use crate::cli::AlertTestArgs;
use crate::config;
use crate::model::State;

/// Send one test notification; exit 0 when the channel accepted it, 1 when not.
pub async fn alert_test(args: &AlertTestArgs) -> Result<Exit, CommandError> {
    let cfg = config::load(&args.config.config).map_err(|e| CommandError::usage(e.to_string()))?;
    let Some(channel) = cfg.channels.iter().find(|c| c.name == args.channel) else {
        let known: Vec<&str> = cfg.channels.iter().map(|c| c.name.as_str()).collect();
        return Err(CommandError::usage(format!(
            "no channel named {:?} (defined: {})",
            args.channel,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    };
    let http =
        http_post::client(None).map_err(|e| CommandError::usage(cfg.secrets.redact(&e.message)))?;
    let now = Utc::now();
    let n = Notification {
        event: EventKind::Test,
        probe_id: "outpost-test".to_string(),
        probe_name: "Outpost test".to_string(),
        group: None,
        state: State::Operational,
        previous_state: State::Operational,
        since: now,
        at: now,
        cause: None,
        message: None,
        incident_id: 0,
        link: cfg.page.url.as_ref().map(|u| u.to_string()),
        page_title: cfg.page.title.clone(),
        burn: None,
    };
    let delivery = Delivery {
        http,
        timeout: ATTEMPT_TIMEOUT,
    };
    let mut out = std::io::stdout().lock();
    match deliver(&delivery, channel, &n).await {
        Ok(receipt) => {
            let _ = writeln!(
                out,
                "{} ({}): delivered: {}",
                channel.name,
                channel.kind.as_str(),
                crate::alert::outgoing_text(&cfg.secrets, &receipt.detail)
            );
            Ok(Exit::Ok)
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "{} ({}): not delivered: {}",
                channel.name,
                channel.kind.as_str(),
                crate::alert::outgoing_text(&cfg.secrets, &e.message)
            );
            Ok(Exit::Failing)
        }
    }
}

//! The words of a notification, shared by every channel so they all say the same.

use crate::model::burn::BurnDetails;
use crate::model::{EventKind, Notification};

/// A one-line title: `[DOWN] Public API is down`.
pub fn title(n: &Notification) -> String {
    if let Some(b) = &n.burn {
        return burn_title(n, b);
    }
    match n.event {
        EventKind::Down => format!("[DOWN] {} is down", n.probe_name),
        EventKind::Degraded => format!("[DEGRADED] {} is degraded", n.probe_name),
        EventKind::Recovered => format!("[RECOVERED] {} is operational again", n.probe_name),
        EventKind::Reminder => format!("[STILL DOWN] {} is still {}", n.probe_name, n.state),
        EventKind::Test => format!("[TEST] Outpost test notification for {}", n.page_title),
        // Burn events always carry their details; these words are a fallback.
        EventKind::BurnFast | EventKind::BurnSlow | EventKind::BurnTicket => {
            format!("[BURN] {} is burning its error budget", n.probe_name)
        }
        EventKind::BurnOk => format!("[BURN OK] {} no longer burns its budget", n.probe_name),
    }
}

/// `[BURN FAST] Public API: availability budget burning at 33.3x`.
fn burn_title(n: &Notification, b: &BurnDetails) -> String {
    let rate = b.windows.first().map(|w| w.burn_rate).unwrap_or(0.0);
    let tag = match n.event {
        EventKind::BurnOk => {
            return format!(
                "[BURN OK] {}: {} {} burn has stopped",
                n.probe_name, b.objective, b.alert
            );
        }
        EventKind::Reminder => "STILL BURNING".to_string(),
        _ => format!("BURN {}", b.alert.as_str().to_ascii_uppercase()),
    };
    format!(
        "[{tag}] {}: {} budget burning at {}x",
        n.probe_name,
        b.objective,
        rate_text(rate)
    )
}

fn rate_text(rate: f64) -> String {
    if rate.is_finite() {
        format!("{rate:.1}")
    } else {
        "∞".to_string()
    }
}

/// The lines a burn event adds: objective, windows, budget, exhaustion.
fn burn_lines(b: &BurnDetails) -> Vec<String> {
    let mut lines = Vec::new();
    let objective = match b.under_ms {
        Some(ms) => format!("{}% of results faster than {ms} ms", b.target),
        None => format!("{}% available", b.target),
    };
    lines.push(format!(
        "Objective ({}): {objective} over 30 days; {} alert at {}x.",
        b.objective,
        b.alert,
        rate_text(b.threshold)
    ));
    let windows: Vec<String> = b
        .windows
        .iter()
        .map(|w| {
            format!(
                "{}: {}x ({} of {} results)",
                w.window,
                rate_text(w.burn_rate),
                w.bad,
                w.results
            )
        })
        .collect();
    lines.push(format!("Burn rate: {}.", windows.join(", ")));
    let exhaustion = match b.exhausted_in_seconds {
        Some(s) => format!(
            "; exhausted in {} at this rate",
            human_duration(chrono::Duration::seconds(s))
        ),
        None => String::new(),
    };
    lines.push(format!(
        "Budget left: {:.1}% of 30 days{exhaustion}.",
        b.budget_left * 100.0
    ));
    lines
}

/// The plain-text body: state, since when (and for how long), cause, link.
pub fn body(n: &Notification) -> String {
    let mut lines = Vec::new();
    let since = n.since.format("%Y-%m-%d %H:%M UTC");
    if let Some(b) = &n.burn {
        lines.push(match n.event {
            EventKind::BurnOk => format!(
                "The {} {} burn alert ended at {} after {} (since {since}).",
                b.objective,
                b.alert,
                n.at.format("%Y-%m-%d %H:%M UTC"),
                human_duration(n.duration())
            ),
            _ => format!(
                "Burning since {since}, for {}.",
                human_duration(n.duration())
            ),
        });
        lines.extend(burn_lines(b));
        if let Some(link) = &n.link {
            lines.push(link.clone());
        }
        return lines.join("\n");
    }
    match n.event {
        EventKind::Recovered => lines.push(format!(
            "{} recovered at {} after {} (since {since}).",
            n.probe_name,
            n.at.format("%Y-%m-%d %H:%M UTC"),
            human_duration(n.duration())
        )),
        EventKind::Test => lines.push(
            "This is a test notification from Outpost: this channel is configured correctly."
                .to_string(),
        ),
        _ => lines.push(format!(
            "State: {} (was {}) since {since}, for {}.",
            n.state,
            n.previous_state,
            human_duration(n.duration())
        )),
    }
    if n.event != EventKind::Test
        && let Some(cause) = n.cause
    {
        match &n.message {
            Some(m) => lines.push(format!("Cause: {cause}: {m}")),
            None => lines.push(format!("Cause: {cause}")),
        }
    }
    if let Some(link) = &n.link {
        lines.push(link.clone());
    }
    lines.join("\n")
}

/// `2h 5m`, `45s`, `3d 4h`: the two largest units.
pub fn human_duration(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (days, hours, mins, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m {s}s"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(human_duration(chrono::Duration::seconds(45)), "45s");
        assert_eq!(human_duration(chrono::Duration::seconds(125)), "2m 5s");
        assert_eq!(human_duration(chrono::Duration::seconds(7500)), "2h 5m");
        assert_eq!(human_duration(chrono::Duration::seconds(90_000)), "1d 1h");
    }
}

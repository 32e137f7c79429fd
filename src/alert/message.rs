//! The words of a notification, shared by every channel so they all say the same.

use crate::model::{EventKind, Notification};

/// A one-line title: `[DOWN] Public API is down`.
pub fn title(n: &Notification) -> String {
    match n.event {
        EventKind::Down => format!("[DOWN] {} is down", n.probe_name),
        EventKind::Degraded => format!("[DEGRADED] {} is degraded", n.probe_name),
        EventKind::Recovered => format!("[RECOVERED] {} is operational again", n.probe_name),
        EventKind::Reminder => format!("[STILL DOWN] {} is still {}", n.probe_name, n.state),
        EventKind::Test => format!("[TEST] Outpost test notification for {}", n.page_title),
    }
}

/// The plain-text body: state, since when (and for how long), cause, link.
pub fn body(n: &Notification) -> String {
    let mut lines = Vec::new();
    let since = n.since.format("%Y-%m-%d %H:%M UTC");
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

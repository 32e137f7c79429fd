//! The time a run believes it is. Tests (and a replay of a past incident) set it
//! with `--now`/`OUTPOST_NOW`; time then flows from there at the real rate, so
//! durations measured inside a probe stay real.

use chrono::{DateTime, Duration, Utc};

/// A clock: the system's, or the system's shifted to start at a chosen instant.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    offset: Duration,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock {
            offset: Duration::zero(),
        }
    }

    /// A clock that reads `start` now and advances in real time.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Clock {
            offset: start - Utc::now(),
        }
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_clock_starts_where_told() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let c = Clock::starting_at(start);
        let now = c.now();
        assert!(now >= start && now - start < Duration::seconds(60));
    }
}

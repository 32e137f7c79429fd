//! Durations written as `"250ms"`, `"10s"`, `"5m"`, `"1h"`, and the range each
//! one accepts. The ranges are the documented contract (README, `[defaults]`):
//! enforced at load, so no later instant arithmetic can overflow.

use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// A duration as written in the config, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dur {
    pub value: Duration,
    pub span: Range<usize>,
}

/// The smallest and largest value a duration key accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub min: Duration,
    pub max: Duration,
}

const MS: Duration = Duration::from_millis(1);
const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);

/// `timeout`: the whole probe.
pub const TIMEOUT: Bounds = Bounds {
    min: MS,
    max: Duration::from_secs(600),
};
/// `degraded_after`: slower than this is degraded.
pub const DEGRADED_AFTER: Bounds = TIMEOUT;
/// `interval`: the expected cadence of a probe.
pub const INTERVAL: Bounds = Bounds {
    min: SECOND,
    max: Duration::from_secs(7 * 86_400),
};
/// A channel's `remind_every`.
pub const REMIND_EVERY: Bounds = Bounds {
    min: MINUTE,
    max: Duration::from_secs(7 * 86_400),
};
/// The command line's `--every` and `--render-every`. Rounds shorter than
/// a second are no use in production but cost nothing to allow, and make a
/// local trial (or a test of the workflow's own steps) quick.
pub const FLAG: Bounds = Bounds {
    min: Duration::from_millis(100),
    max: DAY,
};
/// No duration anywhere is longer: what the parser accepts before a key's own
/// range is checked.
const LONGEST: Duration = Duration::from_secs(7 * 86_400);

impl Bounds {
    /// `d` when it is within the bounds, else a message naming `key` and the range.
    pub fn check(&self, key: &str, d: Duration) -> Result<Duration, String> {
        if d < self.min || d > self.max {
            Err(format!(
                "{key} must be between {} and {} (got {})",
                humantime::format_duration(self.min),
                humantime::format_duration(self.max),
                humantime::format_duration(d)
            ))
        } else {
            Ok(d)
        }
    }
}

/// Parse a duration string of at most a week; zero is refused because every
/// duration here is a wait.
pub fn parse(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| {
        format!("invalid duration {s:?} ({e}): write a number and a unit such as \"250ms\", \"10s\", \"5m\" or \"1h\"")
    })?;
    if d.is_zero() {
        return Err(format!("duration {s:?} must be greater than zero"));
    }
    if d > LONGEST {
        return Err(format!(
            "duration {s:?} is too long: no duration may exceed {} (each key's range is in README.md)",
            humantime::format_duration(LONGEST)
        ));
    }
    Ok(d)
}

/// A command-line duration (`--every`, `--render-every`), within [`FLAG`].
pub fn parse_flag(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| {
        format!("invalid duration {s:?} ({e}): write a number and a unit such as \"10s\" or \"1m\"")
    })?;
    FLAG.check("the duration", d)
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<String>::deserialize(d)?;
        let span = s.span();
        parse(s.get_ref())
            .map(|value| Dur { value, span })
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("5m").unwrap(), Duration::from_secs(300));
        assert!(parse("5 parsecs").is_err());
        assert!(parse("0s").is_err());
    }

    #[test]
    fn nothing_longer_than_a_week_parses() {
        assert_eq!(parse("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert!(parse("8d").is_err());
        assert!(parse("300000y").is_err());
        assert!(parse("18446744073709551615s").is_err());
    }

    #[test]
    fn flags_stay_within_a_day() {
        assert_eq!(parse_flag("1s").unwrap(), SECOND);
        assert_eq!(parse_flag("1d").unwrap(), DAY);
        assert!(parse_flag("0s").is_err());
        assert!(parse_flag("25h").is_err());
        assert!(parse_flag("18446744073709551615s").is_err());
    }
}

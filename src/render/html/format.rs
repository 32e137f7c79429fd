//! Numbers, durations and dates as the pages print them.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::model::{Cause, Outcome, State};
use crate::render::site::{Impact, IncidentStatus, Overall};
use crate::render::when::year;

/// What the pages print where there is no value.
pub const NO_DATA: &str = "No data";

/// Uptime in percent: "100%", "99.95%", "99.999%" (never rounded up to 100).
pub fn uptime(pct: Option<f64>) -> String {
    let Some(pct) = pct.filter(|p| p.is_finite()) else {
        return NO_DATA.to_string();
    };
    if pct >= 100.0 {
        return "100%".to_string();
    }
    if pct <= 0.0 {
        return "0%".to_string();
    }
    // Floor, so 99.9996 reads 99.999% and not a dishonest 100.00%; the
    // epsilon keeps 99.99 (stored as 99.98999…) from reading 99.98%.
    let floor = |scale: f64| (pct * scale + 1e-6).floor() / scale;
    let two = floor(100.0);
    let three = floor(1000.0);
    if two >= 100.0 {
        // Only an epsilon away from 100, but not 100.
        return "99.999%".to_string();
    }
    if two < 99.99 || three == two {
        format!("{two:.2}%")
    } else {
        format!("{three:.3}%")
    }
}

/// Latency: "0.4 ms", "12 ms", "123 ms", "1.2 s", "14 s".
pub fn latency(ms: Option<f64>) -> String {
    Latency(ms).to_string()
}

/// [`latency`], formatted where it is written (tables of them).
#[derive(Debug, Clone, Copy)]
pub struct Latency(pub Option<f64>);

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(ms) = self.0.filter(|m| m.is_finite() && *m >= 0.0) else {
            return f.write_str(NO_DATA);
        };
        if ms < 10.0 {
            let t = tenths(ms);
            if t.is_multiple_of(10) {
                write!(f, "{} ms", t / 10)
            } else {
                write!(f, "{}.{} ms", t / 10, t % 10)
            }
        } else if ms < 999.5 {
            write!(f, "{} ms", units(ms))
        } else if ms < 9_950.0 {
            let t = tenths(ms / 1000.0);
            write!(f, "{}.{} s", t / 10, t % 10)
        } else {
            write!(f, "{:.0} s", ms / 1000.0)
        }
    }
}

// Pages print thousands of latencies, and `{:.0}` and `{:.1}` take the
// exact (slow) path of float formatting. These give the same digits: the
// nearest, ties to even, decided on the exact value of the float.

/// `v` (`0 <= v < 2^52`) to the nearest whole number, as `{v:.0}` rounds it.
fn units(v: f64) -> u64 {
    let whole = v.floor();
    // Exact: `v` and its floor share their exponent's range.
    let frac = v - whole;
    let up = frac > 0.5 || (frac == 0.5 && whole % 2.0 == 1.0);
    whole as u64 + u64::from(up)
}

/// `v` (`0 <= v < 1000`) in tenths, as `{v:.1}` rounds it.
fn tenths(v: f64) -> u64 {
    let below = (v * 10.0).floor();
    // The sign of 10·v − (below + ½), computed exactly (one rounding, which
    // keeps the sign and gives zero only for an exact tie).
    let d = v.mul_add(10.0, -(below + 0.5));
    let up = d > 0.0 || (d == 0.0 && below % 2.0 == 1.0);
    below as u64 + u64::from(up)
}

/// A duration in its two largest units: "45s", "12m", "2h 5m", "3d 4h".
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, mins, secs) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// Minutes as a duration: "0 min", "14 min", "2h 5m".
pub fn minutes(m: u32) -> String {
    if m < 60 {
        format!("{m} min")
    } else {
        duration(Duration::from_secs(u64::from(m) * 60))
    }
}

/// The error budget left: "87% budget left", "budget spent",
/// "budget overspent by 40%", "no budget data".
pub fn budget(left: Option<f64>) -> String {
    match left.filter(|l| l.is_finite()) {
        None => "no budget data".to_string(),
        Some(l) if l > 0.0 => format!("{:.0}% budget left", (l * 100.0).floor().min(100.0)),
        Some(l) if l >= 0.0 => "budget spent".to_string(),
        // Past twice the budget the exact figure (a down probe with a 99.9%
        // SLO is "overspent by 99900%") says less than one word.
        Some(l) if l < -1.0 => "budget exhausted".to_string(),
        Some(l) => format!("budget overspent by {:.0}%", (-l * 100.0).ceil()),
    }
}

/// The error budget left, for a card titled "Error budget": "87% left",
/// "spent", "overspent by 40%", "No data".
pub fn budget_short(left: Option<f64>) -> String {
    match left.filter(|l| l.is_finite()) {
        None => NO_DATA.to_string(),
        Some(l) if l > 0.0 => format!("{:.0}% left", (l * 100.0).floor().min(100.0)),
        Some(l) if l >= 0.0 => "spent".to_string(),
        Some(l) if l < -1.0 => "exhausted".to_string(),
        Some(l) => format!("overspent by {:.0}%", (-l * 100.0).ceil()),
    }
}

/// The SLO objective: "99.9%".
pub fn percent(p: f64) -> String {
    let s = format!("{p:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// An instant for people in the page's zone: "25 Nov 2026, 14:03 UTC",
/// "25 Nov 2026, 15:03 CET".
pub fn datetime(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz)
        .format("%-d %b %Y, %H:%M %Z")
        .to_string()
}

/// An instant for `<time datetime>`: "2026-11-25T14:03:00Z".
pub fn iso(t: DateTime<Utc>) -> String {
    crate::render::when::Iso(t).to_string()
}

/// A day for people: "Tue 25 Nov 2026".
pub fn day(d: NaiveDate) -> String {
    Day(d).to_string()
}

/// A short day: "25 Nov".
pub fn day_short(d: NaiveDate) -> String {
    DayShort(d).to_string()
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// [`day`] (`%a %-d %b %Y`), formatted where it is written: a page of bars
/// and tables prints hundreds of days, and parsing a strftime string for
/// each was a fiftieth of a render.
#[derive(Debug, Clone, Copy)]
pub struct Day(pub NaiveDate);

/// [`day_short`] (`%-d %b`), formatted where it is written.
#[derive(Debug, Clone, Copy)]
pub struct DayShort(pub NaiveDate);

/// A day with its year (`%-d %b %Y`): "25 Nov 2026".
#[derive(Debug, Clone, Copy)]
pub struct DayYear(pub NaiveDate);

fn month(d: NaiveDate) -> &'static str {
    MONTHS.get(d.month0() as usize).copied().unwrap_or("")
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let weekday = WEEKDAYS
            .get(self.0.weekday().num_days_from_monday() as usize)
            .copied()
            .unwrap_or("");
        write!(f, "{weekday} {}", DayYear(self.0))
    }
}

impl fmt::Display for DayShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0.day(), month(self.0))
    }
}

impl fmt::Display for DayYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", DayShort(self.0))?;
        year(f, self.0.year())
    }
}

/// A span of days: "3 Aug – 9 Sep 2026", "28 Dec 2025 – 3 Jan 2026".
pub fn day_range(from: NaiveDate, to: NaiveDate) -> String {
    if from == to {
        day(from)
    } else if from.year() == to.year() {
        format!("{} – {}", DayShort(from), DayYear(to))
    } else {
        format!("{} – {}", DayYear(from), DayYear(to))
    }
}

/// The word for a state, as Statuspage writes component statuses.
pub fn state_word(s: State) -> &'static str {
    match s {
        State::Operational => "Operational",
        State::Degraded => "Degraded",
        State::Down => "Down",
        State::Maintenance => "Maintenance",
        State::Unknown => "Unknown",
    }
}

/// The CSS class and icon name of a state (`ok`, `warn`, `down`, `maint`, `unknown`).
pub fn state_key(s: State) -> &'static str {
    match s {
        State::Operational => "ok",
        State::Degraded => "warn",
        State::Down => "down",
        State::Maintenance => "maint",
        State::Unknown => "unknown",
    }
}

/// The banner's words (Statuspage's indicator descriptions).
pub fn overall_word(o: Overall) -> &'static str {
    match o {
        Overall::Operational => "All Systems Operational",
        Overall::Degraded => "Degraded Performance",
        Overall::PartialOutage => "Partial Outage",
        Overall::MajorOutage => "Major Outage",
        Overall::Maintenance => "Under Maintenance",
    }
}

/// The banner's class and icon name.
pub fn overall_key(o: Overall) -> &'static str {
    match o {
        Overall::Operational => "ok",
        Overall::Degraded => "warn",
        Overall::PartialOutage => "partial",
        Overall::MajorOutage => "down",
        Overall::Maintenance => "maint",
    }
}

/// An outcome for people.
pub fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Up => "Up",
        Outcome::Degraded => "Degraded",
        Outcome::Down => "Down",
    }
}

/// An outcome's class and icon name.
pub fn outcome_key(o: Outcome) -> &'static str {
    match o {
        Outcome::Up => "ok",
        Outcome::Degraded => "warn",
        Outcome::Down => "down",
    }
}

/// A failure cause for people.
pub fn cause_word(c: Cause) -> &'static str {
    match c {
        Cause::Dns => "DNS resolution",
        Cause::Connect => "Connection",
        Cause::Tls => "TLS",
        Cause::Timeout => "Timeout",
        Cause::Status => "HTTP status",
        Cause::Assertion => "Assertion",
        Cause::Body => "Response body",
        Cause::Protocol => "Protocol",
    }
}

/// An incident status for people.
pub fn incident_status_word(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Investigating => "Investigating",
        IncidentStatus::Identified => "Identified",
        IncidentStatus::Monitoring => "Monitoring",
        IncidentStatus::Resolved => "Resolved",
        IncidentStatus::Postmortem => "Postmortem",
    }
}

/// An impact for people, and its class and icon name.
pub fn impact(i: Impact) -> (&'static str, &'static str) {
    match i {
        Impact::None => ("No impact", "unknown"),
        Impact::Minor => ("Minor", "warn"),
        Impact::Major => ("Major", "down"),
        Impact::Critical => ("Critical", "down"),
    }
}

/// Text from people inside our own words where markup cannot go (attributes,
/// `<title>`): between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE, so
/// a right-to-left name or a stray U+202E cannot reorder the words around it.
pub fn isolate(s: &str) -> String {
    format!("\u{2068}{s}\u{2069}")
}

/// A string safe as an HTML id, a URL fragment and a file name: ASCII letters,
/// digits, `-` and `_`; anything else becomes `-`.
pub fn slug(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if out.is_empty() { "-".to_string() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_never_rounds_up_to_100() {
        assert_eq!(uptime(Some(100.0)), "100%");
        assert_eq!(uptime(Some(99.9996)), "99.999%");
        assert_eq!(uptime(Some(99.95)), "99.95%");
        assert_eq!(uptime(Some(99.958)), "99.95%");
        assert_eq!(uptime(Some(97.0)), "97.00%");
        assert_eq!(uptime(Some(99.99)), "99.99%");
        assert_eq!(uptime(Some(99.995)), "99.995%");
        assert_eq!(uptime(Some(99.999_999_999)), "99.999%");
        assert_eq!(uptime(Some(0.0)), "0%");
        assert_eq!(uptime(None), "No data");
        assert_eq!(uptime(Some(f64::NAN)), "No data");
    }

    #[test]
    fn latency_units() {
        assert_eq!(latency(Some(0.42)), "0.4 ms");
        assert_eq!(latency(Some(4.0)), "4 ms");
        assert_eq!(latency(Some(123.4)), "123 ms");
        assert_eq!(latency(Some(999.7)), "1.0 s");
        assert_eq!(latency(Some(1234.0)), "1.2 s");
        assert_eq!(latency(Some(14_200.0)), "14 s");
        assert_eq!(latency(None), "No data");
    }

    #[test]
    fn days_read_as_strftime_writes_them() {
        let mut d = NaiveDate::from_ymd_opt(2023, 12, 25).unwrap_or_default();
        for _ in 0..800 {
            assert_eq!(day(d), d.format("%a %-d %b %Y").to_string());
            assert_eq!(day_short(d), d.format("%-d %b").to_string());
            assert_eq!(DayYear(d).to_string(), d.format("%-d %b %Y").to_string());
            d = d.succ_opt().unwrap_or_default();
        }
        for y in [1, 999, 9999, 10_000, -5] {
            let d = NaiveDate::from_ymd_opt(y, 1, 2).unwrap_or_default();
            assert_eq!(day(d), d.format("%a %-d %b %Y").to_string(), "{y}");
        }
    }

    #[test]
    fn latency_digits_are_those_of_float_formatting() {
        let reference = |ms: f64| {
            if ms < 10.0 {
                let t = format!("{ms:.1}");
                format!("{} ms", t.strip_suffix(".0").unwrap_or(&t))
            } else if ms < 999.5 {
                format!("{ms:.0} ms")
            } else if ms < 9_950.0 {
                format!("{:.1} s", ms / 1000.0)
            } else {
                format!("{:.0} s", ms / 1000.0)
            }
        };
        let mut values = vec![
            0.0, 0.04, 0.05, 0.15, 0.25, 0.35, 0.45, 4.0, 9.94, 9.95, 9.96, 9.99, 10.0, 12.5, 13.5,
            14.5, 999.4, 999.5, 1_050.0, 1_150.0, 1_250.0, 9_949.0, 9_950.0, 123_456.0,
        ];
        // Every tie and near-tie of a tenth and of a whole, and a spread of
        // values between.
        for k in 0..100_000u32 {
            let x = f64::from(k) / 100.0 + 0.05;
            values.extend([x, x.next_up(), x.next_down()]);
            let y = f64::from(k % 1_000) + 0.5;
            values.extend([y, y.next_up(), y.next_down()]);
            values.push(f64::from(k) * 0.173_205_08);
        }
        for ms in values {
            assert_eq!(latency(Some(ms)), reference(ms), "{ms:e}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration(Duration::from_secs(45)), "45s");
        assert_eq!(duration(Duration::from_secs(12 * 60 + 3)), "12m");
        assert_eq!(duration(Duration::from_secs(2 * 3600 + 5 * 60)), "2h 5m");
        assert_eq!(duration(Duration::from_secs(7200)), "2h");
        assert_eq!(
            duration(Duration::from_secs(3 * 86_400 + 4 * 3600)),
            "3d 4h"
        );
        assert_eq!(minutes(14), "14 min");
        assert_eq!(minutes(125), "2h 5m");
    }

    #[test]
    fn budgets_and_percents() {
        assert_eq!(budget(Some(0.873)), "87% budget left");
        assert_eq!(budget(Some(0.0)), "budget spent");
        assert_eq!(budget(Some(-0.4)), "budget overspent by 40%");
        assert_eq!(budget(None), "no budget data");
        assert_eq!(budget(Some(-999.0)), "budget exhausted");
        assert_eq!(budget_short(Some(0.873)), "87% left");
        assert_eq!(budget_short(Some(-0.4)), "overspent by 40%");
        assert_eq!(budget_short(None), "No data");
        assert_eq!(percent(99.9), "99.9%");
        assert_eq!(percent(99.95), "99.95%");
        assert_eq!(percent(99.0), "99%");
    }

    #[test]
    fn slugs_are_safe_file_names() {
        assert_eq!(slug("api-gw_2"), "api-gw_2");
        assert_eq!(slug("../etc/passwd"), "---etc-passwd");
        assert_eq!(slug("<x>"), "-x-");
        assert_eq!(slug(""), "-");
    }

    #[test]
    fn day_ranges() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            day_range(d(2026, 8, 3), d(2026, 9, 9)),
            "3 Aug – 9 Sep 2026"
        );
        assert_eq!(
            day_range(d(2025, 12, 28), d(2026, 1, 3)),
            "28 Dec 2025 – 3 Jan 2026"
        );
        assert_eq!(
            day_range(d(2026, 11, 25), d(2026, 11, 25)),
            "Wed 25 Nov 2026"
        );
    }
}

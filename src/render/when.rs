//! Instants and days as machines read them (ISO 8601 in UTC), written
//! without parsing a strftime string each time: a site of 10,000 probes
//! prints hundreds of thousands of them.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

/// `2026-11-25T14:03:00Z`, as `%Y-%m-%dT%H:%M:%SZ`.
#[derive(Debug, Clone, Copy)]
pub struct Iso(pub DateTime<Utc>);

/// `2026-11-25T14:03:00.000Z`, as `%Y-%m-%dT%H:%M:%S%.3fZ`.
#[derive(Debug, Clone, Copy)]
pub struct IsoMillis(pub DateTime<Utc>);

/// `2026-11-25`, as `%Y-%m-%d`.
#[derive(Debug, Clone, Copy)]
pub struct IsoDay(pub NaiveDate);

/// The year as strftime's `%Y` writes it.
pub fn year(f: &mut fmt::Formatter<'_>, y: i32) -> fmt::Result {
    if (0..=9999).contains(&y) {
        write!(f, "{y:04}")
    } else {
        write!(f, "{y:+05}")
    }
}

impl fmt::Display for IsoDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        year(f, self.0.year())?;
        write!(f, "-{:02}-{:02}", self.0.month(), self.0.day())
    }
}

/// The date and time to the second; a leap second reads `:60`.
fn to_second(f: &mut fmt::Formatter<'_>, t: DateTime<Utc>) -> fmt::Result {
    let leap = u32::from(t.nanosecond() >= 1_000_000_000);
    write!(
        f,
        "{}T{:02}:{:02}:{:02}",
        IsoDay(t.date_naive()),
        t.hour(),
        t.minute(),
        t.second() + leap
    )
}

impl fmt::Display for Iso {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        to_second(f, self.0)?;
        f.write_str("Z")
    }
}

impl fmt::Display for IsoMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        to_second(f, self.0)?;
        write!(
            f,
            ".{:03}Z",
            self.0.nanosecond() % 1_000_000_000 / 1_000_000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_strftime_writes_them() {
        let mut t = DateTime::from_timestamp(-62_000_000_000, 0).unwrap_or_default();
        // From year 5 to 2262, in steps that visit every month, hour and
        // millisecond pattern.
        while t.year() < 2262 {
            assert_eq!(
                Iso(t).to_string(),
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            );
            assert_eq!(
                IsoMillis(t).to_string(),
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            );
            let d = t.date_naive();
            assert_eq!(IsoDay(d).to_string(), d.format("%Y-%m-%d").to_string());
            t += chrono::Duration::milliseconds(987_654_321_987);
        }
        let far = NaiveDate::from_ymd_opt(12_345, 6, 7).unwrap_or_default();
        assert_eq!(IsoDay(far).to_string(), far.format("%Y-%m-%d").to_string());
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 1_500))
            .unwrap_or_default()
            .and_utc();
        assert_eq!(
            IsoMillis(leap).to_string(),
            leap.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        );
        assert_eq!(
            Iso(leap).to_string(),
            leap.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        );
    }
}

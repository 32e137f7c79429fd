//! The day bars: one slot per day, with quiet stretches merged.
//!
//! A page of 100 probes × 90 days is 9,000 bars. Giving each its own
//! focusable element and label costs well over the 200 KB budget and makes a
//! keyboard user tab 9,000 times. So consecutive days that say the same thing
//! (fully up with no incident, or no data at all) become one element that still
//! draws one bar per day (CSS repeats the bar `--n` times) and carries one
//! label for its span of dates; every eventful day keeps its own element.
//!
//! The index shows every probe's row, so its bars are [`Detail::Brief`]: a
//! day that was operational with no incident and no outage minutes is quiet
//! even when a lone failed result left it below 100%, and a label is one short
//! line of dates, state and minutes. A page of 100 probes with a year of
//! simulated outages, slow spells and blips, all of them down, stays under
//! 200 KB that way; the probe page keeps [`Detail::Full`] labels for every day.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::format;
use crate::model::State;
use crate::render::site::DayView;

/// How many of the most recent days a phone shows.
pub const PHONE_DAYS: usize = 30;

/// One focusable element of a bar row: one day, or a run of quiet days.
#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    /// Class: `ok`, `warn`, `down`, `maint`, `unknown`, `none` (no data).
    pub c: &'static str,
    /// Days this element stands for (1 for an eventful day).
    pub n: usize,
    /// For the element that holds the phone window's first day, how many of
    /// its days lie in that window: a phone hides the elements before it (CSS
    /// `.p ~ li`) and draws only those days of it, so no other element
    /// carries a mark and no run is cut in two at the window's edge.
    pub phone_days: Option<usize>,
    /// True for the first element of the right half: it and those after it
    /// open their tooltips leftwards.
    pub mid: bool,
    /// What hover, focus and screen readers get: dates, state, uptime,
    /// minutes of outage, incidents. Raw text, escaped by the template.
    pub label: String,
}

/// How much a bar's label says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// For the index: quiet days merge whatever their uptime, incidents are counted.
    Brief,
    /// For the probe page: every day below 100% stands alone, incidents are named.
    Full,
}

/// Merge `days` (oldest first) into bars; `titles` maps incident ids to titles.
pub fn bars(days: &[DayView], titles: &HashMap<&str, &str>, detail: Detail) -> Vec<Bar> {
    let total = days.len();
    let phone_start = total.saturating_sub(PHONE_DAYS);
    let year = days.last().map_or(0, |d| d.date.year());
    let mut out = Vec::new();
    let mut mid_seen = false;
    let mut i = 0;
    while i < total {
        let kind = quiet_kind(&days[i], detail);
        let mut j = i + 1;
        if kind.is_some() {
            while j < total && quiet_kind(&days[j], detail) == kind {
                j += 1;
            }
        }
        let run = &days[i..j];
        let label = match (detail, kind) {
            (Detail::Brief, _) => brief_label(run, kind, year),
            (Detail::Full, Some(Quiet::Up)) => {
                format!("{}\nOperational · 100% uptime\nNo incidents", span(run))
            }
            (Detail::Full, Some(Quiet::NoData)) => format!("{}\nNo data", span(run)),
            (Detail::Full, None) => eventful_label(&days[i], titles),
        };
        let mid = !mid_seen && i * 2 >= total;
        mid_seen |= mid;
        out.push(Bar {
            c: class(days[i].worst),
            n: j - i,
            phone_days: (i <= phone_start && phone_start < j).then(|| j - phone_start),
            mid,
            label,
        });
        i = j;
    }
    out
}

/// The bars as the items of their `<ol>`, labels escaped. Written here
/// rather than by a template loop: a site of 10,000 probe pages has 900,000
/// bars, and a template spent a twentieth of the render on them.
///
/// An index of 100 probes carries thousands of these, so each is as short as
/// HTML allows: values without spaces go unquoted, the optional `</li>` is
/// left out (the next `<li>` or the `</ol>` closes it) and an operational
/// day, the stylesheet's default, has no class.
pub fn html(bars: &[Bar]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bars.len() * 80);
    for b in bars {
        out.push_str("<li tabindex=0");
        // An operational day is the stylesheet's default bar and needs no
        // class: most bars of a page are operational.
        let classes = [
            (b.c != class(Some(State::Operational))).then_some(b.c),
            b.phone_days.is_some().then_some("p"),
            b.mid.then_some("m"),
        ];
        let count = classes.iter().flatten().count();
        if count > 0 {
            out.push_str(if count > 1 { " class=\"" } else { " class=" });
            for (i, c) in classes.iter().flatten().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(c);
            }
            if count > 1 {
                out.push('"');
            }
        }
        // Writing to a String cannot fail.
        if b.n > 1 {
            let _ = write!(out, " style=--n:{}", b.n);
            if let Some(m) = b.phone_days {
                let _ = write!(out, ";--m:{m}");
            }
        }
        out.push_str(" aria-label=\"");
        let _ = super::escape::Escaped(&mut out).write_str(&b.label);
        out.push_str("\">");
    }
    out
}

/// Days that may merge with their neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quiet {
    Up,
    NoData,
}

fn quiet_kind(d: &DayView, detail: Detail) -> Option<Quiet> {
    let calm = d.partial_minutes == 0 && d.major_minutes == 0 && d.incidents.is_empty();
    let full_up = d.uptime == Some(100.0) || (detail == Detail::Brief && d.uptime.is_some());
    match d.worst {
        None if calm && d.uptime.is_none() => Some(Quiet::NoData),
        Some(State::Operational) if calm && full_up => Some(Quiet::Up),
        _ => None,
    }
}

/// The index's label: dates, state and minutes, in one short line ("25 Sep:
/// Down 25 min"); the probe page has the uptime and the incidents.
fn brief_label(run: &[DayView], kind: Option<Quiet>, year: i32) -> String {
    let (Some(first), Some(last)) = (run.first(), run.last()) else {
        return String::new();
    };
    let dates = brief_dates(first.date, last.date, year);
    match kind {
        Some(Quiet::Up) => format!("{dates}: Operational"),
        Some(Quiet::NoData) => format!("{dates}: {}", format::NO_DATA),
        None => {
            let d = first;
            let mut label = format!(
                "{dates}: {}",
                d.worst.map_or(format::NO_DATA, format::state_word)
            );
            // The minutes of the day's worst state follow its word ("Down 25
            // min"); the other kind is named.
            let (own, other, other_word) = match d.worst {
                Some(State::Degraded) => (d.partial_minutes, d.major_minutes, "down"),
                _ => (d.major_minutes, d.partial_minutes, "degraded"),
            };
            if own > 0 {
                label.push(' ');
                label.push_str(&format::minutes(own));
            }
            if other > 0 {
                label.push_str(&format!(", {other_word} {}", format::minutes(other)));
            }
            label
        }
    }
}

/// The dates of an index label, shortest first: "25 Sep", "4–17 Sep",
/// "26 Sep – 15 Oct". A 90-day window may reach into last year, and only
/// then is a year written: "20 Dec 2025 – 5 Jan", "18 Nov 2025".
fn brief_dates(first: NaiveDate, last: NaiveDate, year: i32) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(24);
    // Writing to a String cannot fail.
    if first == last {
        let _ = write!(out, "{}", format::DayShort(first));
    } else if first.year() != last.year() {
        let _ = write!(
            out,
            "{} – {}",
            format::DayYear(first),
            format::DayShort(last)
        );
    } else if first.month() == last.month() {
        let _ = write!(out, "{}–{}", first.day(), format::DayShort(last));
    } else {
        let _ = write!(
            out,
            "{} – {}",
            format::DayShort(first),
            format::DayShort(last)
        );
    }
    if last.year() != year {
        let _ = write!(out, " {}", last.year());
    }
    out
}

fn span(run: &[DayView]) -> String {
    match (run.first(), run.last()) {
        (Some(a), Some(b)) if run.len() > 1 => {
            format!("{} ({} days)", format::day_range(a.date, b.date), run.len())
        }
        (Some(a), _) => format::day(a.date),
        _ => String::new(),
    }
}

fn eventful_label(d: &DayView, titles: &HashMap<&str, &str>) -> String {
    let state = match d.worst {
        Some(s) => format::state_word(s),
        None => format::NO_DATA,
    };
    let mut label = format::day(d.date);
    label.push('\n');
    label.push_str(state);
    if d.uptime.is_some() {
        label.push_str(" · ");
        label.push_str(&format::uptime(d.uptime));
        label.push_str(" uptime");
    }
    // Only the outage kinds that happened: the label is repeated per bar, and
    // "0 min" says nothing.
    if d.partial_minutes > 0 {
        label.push_str(&format!(
            "\nDegraded {}",
            format::minutes(d.partial_minutes)
        ));
    }
    if d.major_minutes > 0 {
        label.push_str(&format!("\nDown {}", format::minutes(d.major_minutes)));
    }
    if d.incidents.is_empty() {
        label.push_str("\nNo incidents");
    } else {
        for id in &d.incidents {
            label.push_str("\nIncident: ");
            label.push_str(&format::isolate(
                titles.get(id.as_str()).copied().unwrap_or(id),
            ));
        }
    }
    label
}

/// The class of a day's worst state.
fn class(worst: Option<State>) -> &'static str {
    match worst {
        None => "none",
        Some(s) => format::state_key(s),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn day(n: u32, worst: Option<State>, uptime: Option<f64>) -> DayView {
        DayView {
            date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(n.into()),
            worst,
            uptime,
            partial_minutes: 0,
            major_minutes: 0,
            incidents: Vec::new(),
        }
    }

    #[test]
    fn quiet_days_merge_and_eventful_days_stay_alone() {
        let mut days: Vec<DayView> = (0..90)
            .map(|n| day(n, Some(State::Operational), Some(100.0)))
            .collect();
        for d in &mut days[..10] {
            d.worst = None;
            d.uptime = None;
        }
        days[40].worst = Some(State::Down);
        days[40].uptime = Some(97.5);
        days[40].major_minutes = 36;
        days[40].incidents = vec!["auto-1".into()];
        let titles = HashMap::from([("auto-1", "API errors")]);
        let bars = bars(&days, &titles, Detail::Full);
        assert_eq!(bars.iter().map(|b| b.n).sum::<usize>(), 90);
        let kinds: Vec<_> = bars.iter().map(|b| (b.c, b.n)).collect();
        assert_eq!(kinds, [("none", 10), ("ok", 30), ("down", 1), ("ok", 49)]);
        assert!(bars[2].label.contains("Down 36 min"));
        assert!(
            bars[2]
                .label
                .contains("Incident: \u{2068}API errors\u{2069}")
        );
        assert!(bars[0].label.contains("No data"));
        // The phone's 30 days are the last 30 of the last element (days
        // 41–89), which starts left of the middle: nothing else is marked.
        assert_eq!(bars[3].phone_days, Some(30));
        assert_eq!(bars.iter().filter(|b| b.phone_days.is_some()).count(), 1);
        assert!(bars.iter().all(|b| !b.mid));
    }

    #[test]
    fn brief_bars_merge_dented_quiet_days_and_say_one_line() {
        let mut days: Vec<DayView> = (0..90)
            .map(|n| day(n, Some(State::Operational), Some(100.0)))
            .collect();
        days[5].uptime = Some(99.86);
        days[40].worst = Some(State::Down);
        days[40].uptime = Some(97.5);
        days[40].major_minutes = 36;
        days[40].incidents = vec!["auto-1".into(), "auto-2".into()];
        let titles = HashMap::from([("auto-1", "API errors")]);
        let full = bars(&days, &titles, Detail::Full);
        let brief = bars(&days, &titles, Detail::Brief);
        assert_eq!(brief.iter().map(|b| b.n).sum::<usize>(), 90);
        assert!(
            brief.len() < full.len(),
            "{} vs {}",
            brief.len(),
            full.len()
        );
        assert_eq!(brief[0].n, 40);
        assert_eq!(brief[0].label, "1 Jan – 9 Feb: Operational");
        assert_eq!(brief[1].label, "10 Feb: Down 36 min");
        assert!(full.iter().any(|b| b.label.contains("API errors")));
    }

    #[test]
    fn brief_dates_say_a_year_only_when_it_is_not_this_one() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let cases = [
            ((d(2026, 9, 25), d(2026, 9, 25)), "25 Sep"),
            ((d(2026, 9, 4), d(2026, 9, 17)), "4–17 Sep"),
            ((d(2026, 9, 26), d(2026, 10, 15)), "26 Sep – 15 Oct"),
            ((d(2025, 12, 20), d(2026, 1, 5)), "20 Dec 2025 – 5 Jan"),
            ((d(2025, 11, 18), d(2025, 11, 18)), "18 Nov 2025"),
            ((d(2025, 11, 2), d(2025, 11, 18)), "2–18 Nov 2025"),
            ((d(2025, 10, 2), d(2025, 11, 18)), "2 Oct – 18 Nov 2025"),
        ];
        for ((a, b), want) in cases {
            assert_eq!(brief_dates(a, b, 2026), want, "{a} – {b}");
        }
    }

    #[test]
    fn bar_markup_is_short_and_escaped() {
        let bar = |c, n, phone_days, mid, label: &str| Bar {
            c,
            n,
            phone_days,
            mid,
            label: label.to_string(),
        };
        let html = html(&[
            bar("ok", 14, None, false, "4–17 Sep: Operational"),
            bar("ok", 3, Some(2), false, "18–20 Sep: Operational"),
            bar("down", 1, None, false, "21 Sep: Down 17 min"),
            bar("warn", 1, None, true, "a \"<b>\" & c"),
        ]);
        assert_eq!(
            html,
            "<li tabindex=0 style=--n:14 aria-label=\"4–17 Sep: Operational\">\
             <li tabindex=0 class=p style=--n:3;--m:2 aria-label=\"18–20 Sep: Operational\">\
             <li tabindex=0 class=down aria-label=\"21 Sep: Down 17 min\">\
             <li tabindex=0 class=\"warn m\" aria-label=\"a &quot;&lt;b&gt;&quot; &amp; c\">"
        );
    }
}

//! The numbers behind each chart, as a table of HTML rows (the chart's
//! text alternative, under "Show the numbers").

use std::fmt::Write;

use chrono::{DateTime, Duration, Timelike, Utc};
use serde::Serialize;

use super::{Bucket, PHASES, phase_values};
use crate::render::html::{escape::Escaped, format};
use crate::render::site::{DayLatency, Point};

/// A plain table: header cells, and its rows as HTML.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub head: Vec<&'static str>,
    /// One `<tr>` per row, each after a newline, its first cell the row's
    /// header; cells escaped. Written here rather than by a template loop:
    /// two tables of a probe page hold 500 cells, and looping over them in
    /// the template was a tenth of rendering 10,000 probes.
    pub body: String,
}

/// Add a row of `cells` to a table's `body` (see [`Table::body`]).
fn row(body: &mut String, cells: &[&dyn std::fmt::Display]) {
    body.push_str("\n<tr>");
    for (i, c) in cells.iter().enumerate() {
        let (open, close) = if i == 0 {
            ("<th scope=\"row\">", "</th>")
        } else {
            ("<td>", "</td>")
        };
        body.push_str(open);
        // Writing to a String cannot fail.
        let _ = write!(Escaped(body), "{c}");
        body.push_str(close);
    }
    body.push_str("</tr>");
}

/// The numbers behind the 24-hour chart: one row an hour with results, newest first.
pub(super) fn hourly(points: &[Point], start: DateTime<Utc>, now: DateTime<Utc>) -> Table {
    let mut head = vec!["Hour (UTC)", "Results", "Failed", "Mean"];
    head.extend(PHASES.iter().map(|(_, w)| *w));
    let mut hours = Vec::new();
    let mut h = start;
    while h < now {
        let end = h + Duration::hours(1);
        let mut b = Bucket::default();
        for p in points.iter().filter(|p| p.at >= h && p.at < end) {
            b.add(p);
        }
        if b.count > 0 {
            hours.push((h, end, b));
        }
        h = end;
    }
    let mut body = String::new();
    for (h, end, b) in hours.iter().rev() {
        let phase =
            |k: usize| Dash((b.phase_n[k] > 0).then(|| b.phase_sum[k] / b.phase_n[k] as f64));
        row(
            &mut body,
            &[
                &HourSpan(*h, *end),
                &b.count,
                &b.down,
                &format::Latency(b.mean_latency()),
                &phase(0),
                &phase(1),
                &phase(2),
                &phase(3),
                &phase(4),
            ],
        );
    }
    Table { head, body }
}

/// "14:00–15:00".
struct HourSpan(DateTime<Utc>, DateTime<Utc>);

impl std::fmt::Display for HourSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (a, b) = (self.0, self.1);
        write!(
            f,
            "{:02}:{:02}–{:02}:{:02}",
            a.hour(),
            a.minute(),
            b.hour(),
            b.minute()
        )
    }
}

/// A latency, or a dash where there is none.
struct Dash(Option<f64>);

impl std::fmt::Display for Dash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(_) => format::Latency(self.0).fmt(f),
            None => f.write_str("–"),
        }
    }
}

/// The numbers behind the 30-day chart: one row a day, newest first.
pub(super) fn daily(days: &[DayLatency]) -> Table {
    let mut head = vec!["Date", "p50", "p95"];
    head.extend(PHASES.iter().map(|(_, w)| *w));
    let mut body = String::new();
    for d in days.iter().rev() {
        let [a, b, c, e, f] = phase_values(&d.phases).map(Dash);
        row(
            &mut body,
            &[
                &format::Day(d.date),
                &format::Latency(d.p50),
                &format::Latency(d.p95),
                &a,
                &b,
                &c,
                &e,
                &f,
            ],
        );
    }
    Table { head, body }
}

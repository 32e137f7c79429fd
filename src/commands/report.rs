//! `outpost report`: uptime, latency percentiles and SLO budget per probe over
//! `--days`, from the daily rollups (percentiles merged, never averaged).

use std::io::{IsTerminal, Write};

use chrono::{Duration, Utc};
use owo_colors::OwoColorize;
use serde::Serialize;

use super::{CommandError, Exit};
use crate::cli::{ReportArgs, ReportFormat};
use crate::config;
use crate::evaluate::burn::status::{self as burn_status, ObjectiveStatus};
use crate::model::burn::Objective;
use crate::rollup::{budget_left, summarize};
use crate::store::Store;

/// One probe's line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub probe: String,
    pub name: String,
    pub results: u64,
    pub down: u64,
    pub uptime: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub slo: f64,
    /// The error budget left as a fraction, rounded to 4 places: 1 untouched,
    /// 0 spent, negative overspent (-1 is twice the allowed downtime, -999 a
    /// thousand times: a 99.9% objective with a probe that was always down).
    pub budget_left: Option<f64>,
    /// The availability burn rate over the last hour (1: the budget would
    /// last exactly 30 days).
    pub burn_rate_1h: Option<f64>,
    /// Burn alerts firing, as `objective/alert` (`availability/fast`).
    pub burning: Vec<String>,
    /// Every objective: budget left over 30 days, burn rate per window.
    pub objectives: Vec<ObjectiveStatus>,
}

/// Print the report.
pub fn report(args: &ReportArgs) -> Result<Exit, CommandError> {
    let cfg = config::load(&args.config.config).map_err(|e| CommandError::usage(e.to_string()))?;
    // Opening creates a missing store; a report only reads, so a mistyped
    // --db must not leave an empty store behind and print "no data".
    if !args.db.exists() {
        return Err(CommandError::store(format!(
            "{}: no such store (`outpost run` creates it)",
            args.db.display()
        )));
    }
    let store = Store::open(&args.db).map_err(|e| CommandError::store(e.to_string()))?;
    let now = args.now.unwrap_or_else(Utc::now);
    let to = now.date_naive();
    let from = to - Duration::days(i64::from(args.days) - 1);
    let mut rows = Vec::new();
    for spec in &cfg.probes {
        let rollups = store
            .rollups(&spec.id.0, from, to)
            .map_err(|e| CommandError::store(e.to_string()))?;
        let s = summarize(&rollups, from, to);
        let burn = burn_status::read(&store, &cfg, spec, now)
            .map_err(|e| CommandError::store(e.to_string()))?;
        let hour_rate = burn
            .objective(Objective::Availability)
            .filter(|o| o.results > 0)
            .and_then(|o| o.windows.iter().find(|w| w.seconds == 3600))
            .map(|w| round4(w.burn_rate));
        let burning = burn
            .objectives
            .iter()
            .flat_map(|o| o.firing.iter().map(move |a| format!("{}/{a}", o.objective)))
            .collect();
        rows.push(Row {
            probe: spec.id.0.clone(),
            name: spec.name.clone(),
            results: s.counts.runs,
            down: s.counts.down,
            uptime: s.uptime(),
            p50_ms: s.percentile(0.50),
            p95_ms: s.percentile(0.95),
            p99_ms: s.percentile(0.99),
            slo: spec.slo,
            budget_left: s.uptime().map(|u| round4(budget_left(spec.slo, u))),
            burn_rate_1h: hour_rate,
            burning,
            objectives: burn.objectives,
        });
    }
    let text = match args.format {
        ReportFormat::Json => json(&rows, args.days, now),
        ReportFormat::Csv => csv(&rows),
        ReportFormat::Table => table(&rows, args.days, std::io::stdout().is_terminal()),
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    Ok(Exit::Ok)
}

fn json(rows: &[Row], days: u32, now: chrono::DateTime<Utc>) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        days: u32,
        generated_at: String,
        probes: &'a [Row],
    }
    let doc = Doc {
        days,
        generated_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        probes: rows,
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map(|v| format!("{v:.decimals$}")).unwrap_or_default()
}

/// RFC 4180: quote fields holding a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "probe,name,results,down,uptime_percent,p50_ms,p95_ms,p99_ms,slo_percent,budget_left,burn_rate_1h,burning\n",
    );
    for r in rows {
        let fields = [
            csv_field(&r.probe),
            csv_field(&r.name),
            r.results.to_string(),
            r.down.to_string(),
            opt(r.uptime, 4),
            opt(r.p50_ms, 3),
            opt(r.p95_ms, 3),
            opt(r.p99_ms, 3),
            r.slo.to_string(),
            opt(r.budget_left, 4),
            opt(r.burn_rate_1h, 4),
            csv_field(&r.burning.join(" ")),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

fn table(rows: &[Row], days: u32, color: bool) -> String {
    const COLUMNS: usize = 11;
    let header = [
        "PROBE", "NAME", "RESULTS", "DOWN", "UPTIME", "P50", "P95", "P99", "SLO", "BURN 1H",
        "BURNING",
    ];
    let ms = |v: Option<f64>| {
        v.map(|v| format!("{v:.1} ms"))
            .unwrap_or_else(|| "-".into())
    };
    let cells: Vec<[String; COLUMNS]> = rows
        .iter()
        .map(|r| {
            [
                r.probe.clone(),
                r.name.clone(),
                r.results.to_string(),
                r.down.to_string(),
                r.uptime
                    .map(|u| format!("{u:.3}%"))
                    .unwrap_or_else(|| "no data".into()),
                ms(r.p50_ms),
                ms(r.p95_ms),
                ms(r.p99_ms),
                format!("{}%", r.slo),
                r.burn_rate_1h
                    .map(|b| format!("{b:.1}x"))
                    .unwrap_or_else(|| "-".into()),
                if r.burning.is_empty() {
                    "-".to_string()
                } else {
                    r.burning.join(" ")
                },
            ]
        })
        .collect();
    let budgets: Vec<String> = rows.iter().map(|r| budget_word(r.budget_left)).collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    // Pad by visible width, then colour: escape codes take no columns.
    let line = |row: &[String], budget: &str, left: Option<f64>| {
        let mut s = String::new();
        for (i, c) in row.iter().enumerate() {
            s.push_str(c);
            s.push_str(&" ".repeat(widths[i].saturating_sub(c.chars().count()) + 2));
        }
        match left {
            Some(b) if color => s.push_str(&paint_budget(budget, b)),
            _ => s.push_str(budget),
        }
        s.trim_end().to_string()
    };
    let mut out = line(&header.map(String::from), "BUDGET LEFT", None);
    out.push('\n');
    for ((row, budget), r) in cells.iter().zip(&budgets).zip(rows) {
        out.push_str(&line(row, budget, r.budget_left));
        out.push('\n');
    }
    out.push_str(&format!(
        "\nover the last {days} days (UTC), percentiles merged from daily histograms\n"
    ));
    out
}

/// Four decimal places: `-999.0000000000568` is float noise, not precision.
fn round4(v: f64) -> f64 {
    let r = (v * 10_000.0).round() / 10_000.0;
    // No "-0" in JSON.
    if r == 0.0 { 0.0 } else { r }
}

/// The error budget left in words: a percentage, or "exhausted" when overspent.
fn budget_word(left: Option<f64>) -> String {
    match left {
        None => "-".into(),
        Some(b) if b < 0.0 => "exhausted".into(),
        Some(b) => format!("{:.0}%", b * 100.0),
    }
}

fn paint_budget(text: &str, left: f64) -> String {
    if left < 0.0 {
        text.red().bold().to_string()
    } else if left < 0.25 {
        text.yellow().to_string()
    } else {
        text.green().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_rounded_without_float_noise() {
        assert_eq!(round4(-999.0000000000568), -999.0);
        assert_eq!(round4(budget_left(99.9, 0.0)), -999.0);
        assert_eq!(round4(0.123456), 0.1235);
        assert_eq!(round4(-0.00001).to_string(), "0");
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    fn row(probe: &str, budget_left: Option<f64>) -> Row {
        Row {
            probe: probe.into(),
            name: format!("The {probe}"),
            results: 10,
            down: 1,
            uptime: budget_left.map(|_| 90.0),
            p50_ms: Some(12.34),
            p95_ms: None,
            p99_ms: None,
            slo: 99.9,
            budget_left,
            burn_rate_1h: Some(0.0),
            burning: Vec::new(),
            objectives: Vec::new(),
        }
    }

    #[test]
    fn the_table_is_aligned_and_plain_off_a_terminal() {
        let rows = [row("api", Some(-99.0)), row("longer-id", Some(0.5))];
        let text = table(&rows, 30, false);
        assert!(!text.contains('\u{1b}'), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        let col = |l: &str, word: &str| l.find(word).expect(word);
        assert_eq!(col(lines[0], "NAME"), col(lines[1], "The api"));
        assert_eq!(col(lines[0], "NAME"), col(lines[2], "The longer-id"));
        assert!(lines[1].ends_with("exhausted") && lines[2].ends_with("50%"));
        assert!(table(&rows, 30, true).contains('\u{1b}'));
        assert!(table(&[row("new", None)], 30, false).contains("no data"));
    }
}

//! The human table of `--format table`: aligned, coloured on a terminal.

use owo_colors::OwoColorize;

use super::RunReport;
use crate::config::ProbeSpec;
use crate::model::{Outcome, ProbeResult};

/// Render the run as an aligned table; `color` adds ANSI colours.
pub fn render(report: &RunReport, specs: &[ProbeSpec], color: bool) -> String {
    let header = [
        "PROBE", "KIND", "RESULT", "STATE", "LATENCY", "STATUS", "DETAIL",
    ];
    let rows: Vec<[String; 7]> = report
        .results
        .iter()
        .map(|r| {
            let kind = specs
                .iter()
                .find(|s| s.id == r.probe)
                .map(ProbeSpec::kind_name)
                .unwrap_or("");
            [
                r.probe.0.clone(),
                kind.to_string(),
                outcome_word(r),
                report
                    .state_of(&r.probe.0)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                format!("{} ms", r.latency.as_millis()),
                r.status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "-".into()),
                detail(r),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String; 7], color_outcome: Option<Outcome>| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            let text = match (i, color_outcome) {
                (2, Some(o)) if color => paint(cell, o),
                _ => cell.clone(),
            };
            s.push_str(&text);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        s.trim_end().to_string()
    };
    let head = header.map(String::from);
    let head_line = line(&head, None);
    if color {
        out.push_str(&head_line.bold().to_string());
    } else {
        out.push_str(&head_line);
    }
    out.push('\n');
    for (row, r) in rows.iter().zip(&report.results) {
        out.push_str(&line(row, Some(r.outcome)));
        out.push('\n');
    }
    if !report.evaluation.changes.is_empty() {
        out.push('\n');
        for c in &report.evaluation.changes {
            out.push_str(&format!("state: {} {} → {}\n", c.probe, c.from, c.to));
        }
    }
    for i in &report.evaluation.incidents {
        let status = match i.resolved_at {
            Some(t) => format!("resolved {}", t.format("%Y-%m-%d %H:%M UTC")),
            None => "open".to_string(),
        };
        let cause = i.cause.map(|c| c.to_string()).unwrap_or_default();
        out.push_str(&sanitize(&format!(
            "incident #{} {} {} since {}, worst {}, {} failed results: {} {}",
            i.id,
            i.probe,
            status,
            i.started_at.format("%Y-%m-%d %H:%M UTC"),
            i.worst_state,
            i.failed_results,
            cause,
            i.message.as_deref().unwrap_or("")
        )));
        out.push('\n');
    }
    let d = &report.delivery;
    if d.delivered + d.pending + d.failed + d.superseded > 0 {
        out.push_str(&format!(
            "notifications: {} delivered, {} still queued, {} given up",
            d.delivered, d.pending, d.failed
        ));
        if d.superseded > 0 {
            out.push_str(&format!(
                ", {} superseded by a newer event of their incident",
                d.superseded
            ));
        }
        out.push('\n');
        for e in &d.errors {
            out.push_str(&sanitize(&format!("  {e}")));
            out.push('\n');
        }
    }
    let count = |o: Outcome| report.results.iter().filter(|r| r.outcome == o).count();
    out.push_str(&format!(
        "\n{} probes from {}: {} up, {} degraded, {} down\n",
        report.results.len(),
        report.location,
        count(Outcome::Up),
        count(Outcome::Degraded),
        count(Outcome::Down)
    ));
    out
}

fn outcome_word(r: &ProbeResult) -> String {
    // A symbol as well as a colour, so the table reads without colour too.
    match r.outcome {
        Outcome::Up => "✔ up".to_string(),
        Outcome::Degraded => "▲ degraded".to_string(),
        Outcome::Down => "✖ down".to_string(),
    }
}

fn paint(cell: &str, o: Outcome) -> String {
    match o {
        Outcome::Up => cell.green().to_string(),
        Outcome::Degraded => cell.yellow().to_string(),
        Outcome::Down => cell.red().bold().to_string(),
    }
}

fn detail(r: &ProbeResult) -> String {
    let text = match (&r.cause, &r.message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        (None, _) => String::new(),
    };
    sanitize(&text)
}

/// Target-controlled text: no control characters (escape sequences) reach the terminal.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

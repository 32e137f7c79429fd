//! `--format github`: workflow-command annotations and a Markdown job summary.
//!
//! Both renderers are pure; the command layer looks up `$GITHUB_STEP_SUMMARY`
//! and appends the summary with [`append_summary`].

use std::io::Write;
use std::path::Path;

use super::RunReport;
use crate::config::ProbeSpec;
use crate::model::{Outcome, ProbeResult};

/// Annotations for down and degraded probes, then the plain table.
pub fn render(report: &RunReport, specs: &[ProbeSpec]) -> String {
    let mut out = String::new();
    for r in &report.results {
        let command = match r.outcome {
            Outcome::Down => "error",
            Outcome::Degraded => "warning",
            Outcome::Up => continue,
        };
        let title = format!("{} is {}", name_of(specs, r), r.outcome);
        out.push_str(&format!(
            "::{command} title={}::{}\n",
            escape_property(&title),
            escape_data(&detail(r))
        ));
    }
    // Every table line starts with a probe id or fixed text, never with
    // target-controlled text, so the runner cannot read a command in it.
    out.push_str(&super::table::render(report, specs, false));
    out
}

/// The Markdown job summary: overall line, a table, state changes and incidents.
pub fn summary(report: &RunReport, specs: &[ProbeSpec]) -> String {
    let count = |o: Outcome| report.results.iter().filter(|r| r.outcome == o).count();
    let (total, down, degraded) = (
        report.results.len(),
        count(Outcome::Down),
        count(Outcome::Degraded),
    );
    let overall = if down > 0 {
        format!("❌ {down} down, {degraded} degraded of {total}")
    } else if degraded > 0 {
        format!("⚠️ {degraded} degraded of {total}")
    } else if total == 0 {
        "No probes ran".to_string()
    } else if total == 1 {
        "✅ 1 probe up".to_string()
    } else {
        format!("✅ All {total} probes up")
    };
    let mut out = format!(
        "### {overall}\n\nFrom {} at {}.\n\n",
        escape_markdown(&report.location),
        report.started_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    out.push_str("| Probe | Result | State | Latency | Status | Detail |\n");
    out.push_str("| --- | --- | --- | ---: | ---: | --- |\n");
    for r in &report.results {
        let state = report
            .state_of(&r.probe.0)
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into());
        let status = r
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "| {} | {} | {state} | {} ms | {status} | {} |\n",
            escape_markdown(name_of(specs, r)),
            outcome_word(r.outcome),
            r.latency.as_millis(),
            escape_markdown(&detail(r)),
        ));
    }
    let name = |id: &str| {
        specs
            .iter()
            .find(|s| s.id.0 == id)
            .map(|s| s.name.as_str())
            .unwrap_or(id)
            .to_string()
    };
    if !report.evaluation.changes.is_empty() {
        out.push_str("\n**State changes**\n\n");
        for c in &report.evaluation.changes {
            out.push_str(&format!(
                "- {}: {} → {}\n",
                escape_markdown(&name(&c.probe)),
                c.from,
                c.to
            ));
        }
    }
    if !report.evaluation.incidents.is_empty() {
        out.push_str("\n**Incidents**\n\n");
        for i in &report.evaluation.incidents {
            let status = match i.resolved_at {
                Some(t) => format!("resolved {}", t.format("%Y-%m-%d %H:%M UTC")),
                None => "open".to_string(),
            };
            let why = match (i.cause, i.message.as_deref()) {
                (Some(c), Some(m)) => format!(": {c}: {m}"),
                (Some(c), None) => format!(": {c}"),
                (None, Some(m)) => format!(": {m}"),
                (None, None) => String::new(),
            };
            out.push_str(&format!(
                "- #{} {}: {status}, since {}, worst {}, {} failed results{}\n",
                i.id,
                escape_markdown(&name(&i.probe)),
                i.started_at.format("%Y-%m-%d %H:%M UTC"),
                i.worst_state,
                i.failed_results,
                escape_markdown(&why),
            ));
        }
    }
    out.push('\n');
    out
}

/// Append `markdown` to the step summary file; other steps write there too,
/// so it is never truncated.
pub fn append_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(markdown.as_bytes())?;
    f.flush()
}

fn name_of<'a>(specs: &'a [ProbeSpec], r: &'a ProbeResult) -> &'a str {
    specs
        .iter()
        .find(|s| s.id == r.probe)
        .map(|s| s.name.as_str())
        .unwrap_or(&r.probe.0)
}

fn detail(r: &ProbeResult) -> String {
    match (&r.cause, &r.message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        (None, Some(m)) => m.clone(),
        (None, None) => String::new(),
    }
}

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Up => "✅ up",
        Outcome::Degraded => "⚠️ degraded",
        Outcome::Down => "❌ down",
    }
}

/// Escape the message part of a workflow command (after the second `::`).
fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// Escape a property value of a workflow command (`title=...`).
fn escape_property(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape_data(s).chars() {
        match c {
            ':' => out.push_str("%3A"),
            ',' => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

/// Target-controlled text inside a Markdown table cell or list item: no HTML,
/// no links or emphasis, no cell breaks, on one line.
fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escapes_percent_and_line_breaks_only() {
        assert_eq!(escape_data("100% a\r\nb: c, d"), "100%25 a%0D%0Ab: c, d");
        // `%` first: an already escaped sequence is not taken for a line break.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn property_also_escapes_colon_and_comma() {
        assert_eq!(
            escape_property("a:b,c%d\ne::error::x"),
            "a%3Ab%2Cc%25d%0Ae%3A%3Aerror%3A%3Ax"
        );
    }

    #[test]
    fn markdown_cell_cannot_break_out() {
        assert_eq!(
            escape_markdown("a|b <img src=x> & [l](u)\n*x*"),
            "a\\|b &lt;img src=x&gt; &amp; \\[l\\](u) \\*x\\*"
        );
        assert_eq!(escape_markdown("a\\|b"), "a\\\\\\|b");
    }
}

//! `--format github`: workflow-command annotations and a Markdown job summary.
//!
//! GitHub caps the annotations a step may show, so a job of many rounds
//! (`--repeat`) reports once: [`Job`] folds every round in, and gives one
//! annotation per probe (its worst round) and one summary. The renderers are
//! pure; the command layer looks up `$GITHUB_STEP_SUMMARY` and appends the
//! summary with [`append_summary`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::RunReport;
use crate::config::{ConfigError, ProbeSpec};
use crate::evaluate::Change;
use crate::model::{Outcome, ProbeResult, State};
use crate::store::incidents::Incident;

/// State changes kept for the summary; a flapping probe over thousands of
/// rounds would otherwise make it unreadable (and unbounded).
const MAX_CHANGES: usize = 100;

/// One probe over the job.
#[derive(Debug, Clone)]
struct ProbeLine {
    /// The worst result; the latest of equally bad ones.
    worst: ProbeResult,
    rounds: u32,
    /// Rounds whose result was the worst outcome.
    worst_rounds: u32,
}

/// Every round of one job, folded: what the annotations and the summary say.
#[derive(Debug, Clone, Default)]
pub struct Job {
    location: String,
    first_started: Option<DateTime<Utc>>,
    last_started: Option<DateTime<Utc>>,
    rounds: u32,
    /// In the order probes first reported.
    probes: Vec<ProbeLine>,
    /// States after the latest round.
    states: BTreeMap<String, State>,
    changes: Vec<Change>,
    changes_dropped: usize,
    /// The latest version of each incident a round touched, in first-seen order.
    incidents: Vec<Incident>,
}

impl Job {
    pub fn new() -> Self {
        Job::default()
    }

    /// A job of the single round `report`.
    pub fn of(report: &RunReport) -> Self {
        let mut job = Job::new();
        job.add(report);
        job
    }

    /// How many rounds were folded in.
    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    /// Fold in one round.
    pub fn add(&mut self, report: &RunReport) {
        self.location.clone_from(&report.location);
        self.first_started.get_or_insert(report.started_at);
        self.last_started = Some(report.started_at);
        self.rounds += 1;
        for r in &report.results {
            match self.probes.iter_mut().find(|l| l.worst.probe == r.probe) {
                Some(line) => {
                    line.rounds += 1;
                    if r.outcome > line.worst.outcome {
                        line.worst = r.clone();
                        line.worst_rounds = 1;
                    } else if r.outcome == line.worst.outcome {
                        line.worst = r.clone();
                        line.worst_rounds += 1;
                    }
                }
                None => self.probes.push(ProbeLine {
                    worst: r.clone(),
                    rounds: 1,
                    worst_rounds: 1,
                }),
            }
        }
        self.states.extend(
            report
                .evaluation
                .states
                .iter()
                .map(|(k, v)| (k.clone(), *v)),
        );
        for c in &report.evaluation.changes {
            if self.changes.len() < MAX_CHANGES {
                self.changes.push(c.clone());
            } else {
                self.changes_dropped += 1;
            }
        }
        for i in &report.evaluation.incidents {
            match self.incidents.iter_mut().find(|k| k.id == i.id) {
                Some(known) => *known = i.clone(),
                None => self.incidents.push(i.clone()),
            }
        }
    }

    /// One annotation per down or degraded probe, from its worst round.
    pub fn annotations(&self, specs: &[ProbeSpec]) -> String {
        let mut out = String::new();
        for line in &self.probes {
            let r = &line.worst;
            let command = match r.outcome {
                Outcome::Down => "error",
                Outcome::Degraded => "warning",
                Outcome::Up => continue,
            };
            let mut title = format!("{} is {}", name_of(specs, r), r.outcome);
            if self.rounds > 1 {
                title.push_str(&format!(
                    " in {} of {} rounds",
                    line.worst_rounds, line.rounds
                ));
            }
            out.push_str(&format!(
                "::{command} title={}::{}\n",
                escape_property(&title),
                escape_data(&detail(r))
            ));
        }
        out
    }

    /// The Markdown job summary: overall line, a table (each probe's worst
    /// round), state changes and incidents.
    pub fn summary(&self, specs: &[ProbeSpec]) -> String {
        let count = |o: Outcome| self.probes.iter().filter(|l| l.worst.outcome == o).count();
        let (total, down, degraded) = (
            self.probes.len(),
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
        let when = |t: Option<DateTime<Utc>>| {
            t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default()
        };
        let mut out = if self.rounds > 1 {
            format!(
                "### {overall}\n\nFrom {}, {} rounds from {} to {}; each probe's worst round.\n\n",
                escape_markdown(&self.location),
                self.rounds,
                when(self.first_started),
                when(self.last_started)
            )
        } else {
            format!(
                "### {overall}\n\nFrom {} at {}.\n\n",
                escape_markdown(&self.location),
                when(self.first_started)
            )
        };
        out.push_str("| Probe | Result | State | Latency | Status | Detail |\n");
        out.push_str("| --- | --- | --- | ---: | ---: | --- |\n");
        for line in &self.probes {
            let r = &line.worst;
            let state = self
                .states
                .get(&r.probe.0)
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into());
            let status = r
                .status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into());
            let mut result = outcome_word(r.outcome).to_string();
            if line.rounds > 1 {
                result.push_str(&format!(" ({} of {})", line.worst_rounds, line.rounds));
            }
            out.push_str(&format!(
                "| {} | {result} | {state} | {} ms | {status} | {} |\n",
                escape_markdown(name_of(specs, r)),
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
        if !self.changes.is_empty() {
            out.push_str("\n**State changes**\n\n");
            for c in &self.changes {
                out.push_str(&format!(
                    "- {}: {} → {}\n",
                    escape_markdown(&name(&c.probe)),
                    c.from,
                    c.to
                ));
            }
            if self.changes_dropped > 0 {
                out.push_str(&format!("- … and {} more\n", self.changes_dropped));
            }
        }
        if !self.incidents.is_empty() {
            out.push_str("\n**Incidents**\n\n");
            for i in &self.incidents {
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
}

/// Annotations for down and degraded probes, then the plain table: one round.
pub fn render(report: &RunReport, specs: &[ProbeSpec]) -> String {
    let mut out = Job::of(report).annotations(specs);
    out.push_str(&table(report, specs));
    out
}

/// One round's plain table. Every table line starts with a probe id or fixed
/// text, never with target-controlled text, so the runner cannot read a
/// command in it.
pub fn table(report: &RunReport, specs: &[ProbeSpec]) -> String {
    super::table::render(report, specs, false)
}

/// The Markdown job summary of one round.
pub fn summary(report: &RunReport, specs: &[ProbeSpec]) -> String {
    Job::of(report).summary(specs)
}

/// A config error as annotations on the file, one per located problem, so the
/// workflow run shows it on `probes.toml` (a missing secret among them).
pub fn config_annotations(err: &ConfigError, path: &Path) -> String {
    let file = escape_property(&path.display().to_string().replace('\\', "/"));
    let problems = err.problems();
    if problems.is_empty() {
        return format!(
            "::error file={file},title=Outpost config::{}\n",
            escape_data(&err.to_string())
        );
    }
    let mut out = String::new();
    for p in problems {
        let mut message = p.message.clone();
        if let Some(hint) = &p.hint {
            message.push_str(&format!("\n{hint}"));
        }
        out.push_str(&format!(
            "::error file={file},line={},col={},title=Outpost config::{}\n",
            p.line,
            p.col,
            escape_data(&message)
        ));
    }
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

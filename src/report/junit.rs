//! `--format junit`: one JUnit XML test case per probe, for CI test reporters,
//! and for each `flow` a suite of its own with a test case per step.
//!
//! Written by hand: the document is small and flat, and every piece of text
//! goes through [`text`] or [`attr`], which escape markup and drop the
//! characters XML 1.0 cannot hold at all.

use std::fmt::Write as _;
use std::time::Duration;

use super::RunReport;
use crate::cli::FailOn;
use crate::config::ProbeSpec;
use crate::model::{Outcome, ProbeResult, StepRecord, millis};

/// Render the run as a JUnit XML document and a newline.
///
/// A down probe is always a `<failure>`. A degraded probe is a passing test
/// case with a `<system-out>` saying why (JUnit consumers count it as passed,
/// as `--fail-on down` does), unless `fail_on` is `degraded`: then it is a
/// failure too, so the report fails where the exit code does.
pub fn render(report: &RunReport, specs: &[ProbeSpec], fail_on: FailOn) -> String {
    render_rounds(std::slice::from_ref(report), specs, fail_on)
}

/// Render several rounds (`--repeat`) as ONE document, a `<testsuite>` per
/// round, so a CI reads the whole job's XML as one valid file.
pub fn render_rounds(reports: &[RunReport], specs: &[ProbeSpec], fail_on: FailOn) -> String {
    let fails = |o: Outcome| match o {
        Outcome::Down => true,
        Outcome::Degraded => fail_on == FailOn::Degraded,
        Outcome::Up => false,
    };
    let all = || reports.iter().flat_map(|r| &r.results);
    let steps = || all().flat_map(|r| &r.steps);
    let tests = all().count() + steps().count();
    let failures = all().filter(|r| fails(r.outcome)).count()
        + steps().filter(|s| s.outcome.is_some_and(&fails)).count();
    let time = seconds(all().map(|r| r.latency).sum());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"outpost\" tests=\"{tests}\" failures=\"{failures}\" \
         errors=\"0\" time=\"{time}\">"
    );
    for (round, report) in reports.iter().enumerate() {
        let name = if reports.len() > 1 {
            format!("outpost round {}", round + 1)
        } else {
            "outpost".to_string()
        };
        suite(&mut out, &name, report, specs, &fails);
        for r in report.results.iter().filter(|r| !r.steps.is_empty()) {
            flow_suite(&mut out, &name, report, r, &fails);
        }
    }
    out.push_str("</testsuites>\n");
    out
}

fn suite(
    out: &mut String,
    name: &str,
    report: &RunReport,
    specs: &[ProbeSpec],
    fails: &dyn Fn(Outcome) -> bool,
) {
    let tests = report.results.len();
    let failures = report.results.iter().filter(|r| fails(r.outcome)).count();
    // Probes run concurrently; like most reporters we give the suite the sum of
    // its test cases' times.
    let time = seconds(report.results.iter().map(|r| r.latency).sum());
    // The JUnit schema's timestamp has no time zone; it is UTC.
    let timestamp = report.started_at.format("%Y-%m-%dT%H:%M:%S");
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" \
         errors=\"0\" skipped=\"0\" time=\"{time}\" timestamp=\"{timestamp}\" \
         hostname=\"{}\">",
        attr(name),
        attr(&report.location)
    );
    for r in &report.results {
        let spec = specs.iter().find(|s| s.id == r.probe);
        let class = spec
            .map(|s| s.group.as_deref().unwrap_or(s.kind_name()))
            .unwrap_or("probe");
        let _ = write!(
            out,
            "    <testcase classname=\"outpost.{}\" name=\"{}\" time=\"{}\"",
            attr(class),
            attr(&r.probe.0),
            seconds(r.latency)
        );
        let details = details(report, spec, r);
        match r.outcome {
            Outcome::Up => out.push_str("/>\n"),
            o if fails(o) => {
                let cause = r.cause.map(|c| c.as_str()).unwrap_or(o.as_str());
                let message = match &r.message {
                    Some(m) => format!("{cause}: {m}"),
                    None => cause.to_string(),
                };
                let _ = write!(
                    out,
                    ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                    attr(cause),
                    attr(&message),
                    text(&details)
                );
            }
            _ => {
                let _ = write!(
                    out,
                    ">\n      <system-out>{}</system-out>\n    </testcase>\n",
                    text(&format!(
                        "degraded, counted as passed \
                         (--fail-on degraded makes it a failure)\n{details}"
                    ))
                );
            }
        }
    }
    out.push_str("  </testsuite>\n");
}

/// A flow's steps as a suite of their own, named after the round's suite and
/// the probe: a step that did not run is `<skipped>`, a clean-up step's
/// failure is a failure of its own test case.
fn flow_suite(
    out: &mut String,
    round: &str,
    report: &RunReport,
    r: &ProbeResult,
    fails: &dyn Fn(Outcome) -> bool,
) {
    let failed = |s: &StepRecord| s.outcome.is_some_and(fails);
    let failures = r.steps.iter().filter(|s| failed(s)).count();
    let skipped = r.steps.iter().filter(|s| s.outcome.is_none()).count();
    let time = seconds(r.steps.iter().map(|s| s.latency).sum());
    let timestamp = report.started_at.format("%Y-%m-%dT%H:%M:%S");
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" \
         errors=\"0\" skipped=\"{skipped}\" time=\"{time}\" timestamp=\"{timestamp}\" \
         hostname=\"{}\">",
        attr(&format!("{round} / {}", r.probe)),
        r.steps.len(),
        attr(&report.location)
    );
    for (i, s) in r.steps.iter().enumerate() {
        let _ = write!(
            out,
            "    <testcase classname=\"outpost.flow.{}\" name=\"{}\" time=\"{}\"",
            attr(&r.probe.0),
            attr(&format!("{}. {}", i + 1, s.name)),
            seconds(s.latency)
        );
        let mut details = String::new();
        if let Some(code) = s.status {
            let _ = writeln!(details, "status: {code}");
        }
        if s.always {
            details.push_str("clean-up step (always = true)\n");
        }
        let _ = write!(details, "location: {}", report.location);
        match s.outcome {
            None => out.push_str(
                ">\n      <skipped message=\"not run: an earlier step failed or the flow timed out\"/>\n    </testcase>\n",
            ),
            Some(Outcome::Up) => out.push_str("/>\n"),
            Some(o) if fails(o) => {
                let cause = s.cause.map(|c| c.as_str()).unwrap_or(o.as_str());
                let message = match &s.message {
                    Some(m) => format!("{cause}: {m}"),
                    None => cause.to_string(),
                };
                let _ = write!(
                    out,
                    ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                    attr(cause),
                    attr(&message),
                    text(&details)
                );
            }
            Some(_) => {
                let _ = write!(
                    out,
                    ">\n      <system-out>{}</system-out>\n    </testcase>\n",
                    text(&format!(
                        "degraded, counted as passed: {}\n{details}",
                        s.message.as_deref().unwrap_or("")
                    ))
                );
            }
        }
    }
    out.push_str("  </testsuite>\n");
}

/// The body of a failure or system-out: what a person needs to act on it.
fn details(report: &RunReport, spec: Option<&ProbeSpec>, r: &ProbeResult) -> String {
    let mut s = String::new();
    if let Some(spec) = spec {
        let _ = writeln!(s, "probe: {} ({})", spec.name, r.probe);
    }
    if let Some(c) = r.cause {
        let _ = writeln!(s, "cause: {c}");
    }
    if let Some(m) = &r.message {
        let _ = writeln!(s, "message: {m}");
    }
    if let Some(code) = r.status {
        let _ = writeln!(s, "status: {code}");
    }
    let phase = |name: &str, d: Option<Duration>| match d {
        Some(d) => format!("{name} {} ms", millis(d)),
        None => format!("{name} -"),
    };
    let p = &r.phases;
    let _ = writeln!(
        s,
        "phases: {}, {}, {}, {}, {}",
        phase("dns", p.dns),
        phase("connect", p.connect),
        phase("tls", p.tls),
        phase("ttfb", p.ttfb),
        phase("transfer", p.transfer)
    );
    if let Some(state) = report.state_of(&r.probe.0) {
        let _ = writeln!(s, "state: {state}");
    }
    let _ = write!(s, "location: {}", report.location);
    s
}

fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// Whether XML 1.0 can hold `c` at all (the `Char` production); the rest is
/// dropped, since not even a character reference may name it.
fn xml_char(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..
    )
}

/// Escape element text.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|&c| xml_char(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Escape an attribute value (double-quoted); line breaks and tabs become
/// character references, which attribute normalisation keeps.
fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|&c| xml_char(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_markup_and_drops_invalid_characters() {
        assert_eq!(
            text("a<b>&c\"'\u{0}\u{1b}[31m\u{FFFE}\n\tz"),
            "a&lt;b&gt;&amp;c\"'[31m\n\tz"
        );
    }

    #[test]
    fn attr_escapes_quotes_and_keeps_line_breaks_as_references() {
        assert_eq!(
            attr("<&\"'>\r\n\t\u{7}ok"),
            "&lt;&amp;&quot;&apos;&gt;&#13;&#10;&#9;ok"
        );
    }

    #[test]
    fn astral_and_private_use_characters_are_kept() {
        assert_eq!(text("🦀\u{E000}"), "🦀\u{E000}");
    }
}

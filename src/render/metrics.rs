//! `metrics.prom`: the latest result of each probe in the Prometheus text
//! exposition format, with blackbox_exporter's metric names, for a node
//! exporter textfile collector or a Pushgateway.
//!
//! Every series carries `probe="ID"`; those about a result also carry
//! `location` (where the latest result was taken). Probes without a result
//! are left out. No sample has a timestamp (the textfile collector rejects
//! them); `outpost_probe_result_timestamp_seconds` tells how fresh each is.

use super::site::{LatestResult, ProbeView};
use super::{File, Site};
use crate::model::{Outcome, State};

/// The metrics file.
pub fn file(site: &Site) -> File {
    let probes: Vec<(&ProbeView, &LatestResult)> = site
        .groups
        .iter()
        .flat_map(|g| &g.probes)
        .filter_map(|p| p.latest.as_ref().map(|l| (p, l)))
        .collect();
    File::new("metrics.prom", render(&probes))
}

/// One metric family: its name, help text and samples per probe.
struct Family {
    name: &'static str,
    help: &'static str,
    samples: fn(&ProbeView, &LatestResult) -> Vec<Sample>,
}

/// One sample: labels after `probe` (`location` first when it applies), value.
struct Sample {
    labels: Vec<(&'static str, String)>,
    value: f64,
}

fn at(l: &LatestResult, value: f64) -> Sample {
    Sample {
        labels: vec![("location", l.location.clone())],
        value,
    }
}

/// A sample about one step of a flow: `location`, then `step`.
fn step_sample(l: &LatestResult, step: &str, value: f64) -> Sample {
    Sample {
        labels: vec![("location", l.location.clone()), ("step", step.to_string())],
        value,
    }
}

fn ms(v: Option<f64>) -> f64 {
    v.map_or(0.0, |ms| ms / 1000.0)
}

/// Probe kinds that speak HTTP, for the `probe_http_*` families.
fn is_http(p: &ProbeView) -> bool {
    matches!(p.kind, "http" | "metrics")
}

/// A value of an HTTP probe's latest result, when it has one.
fn http_number(p: &ProbeView, l: &LatestResult, v: Option<f64>) -> Vec<Sample> {
    match v {
        Some(v) if is_http(p) => vec![at(l, v)],
        _ => Vec::new(),
    }
}

/// blackbox_exporter's names and help texts, then outpost's own.
///
/// `probe_success` is 1 for `up` and `degraded` results (the target answered
/// and every hard assertion held) and 0 for `down`. The HTTP phases use
/// blackbox's names (dns → `resolve`, ttfb → `processing`) and, as blackbox
/// does, all five are written for HTTP probes, 0 for a phase that did not
/// happen; so is `probe_http_status_code` (0: no response).
const FAMILIES: &[Family] = &[
    Family {
        name: "probe_success",
        help: "Displays whether or not the probe was a success",
        samples: |_, l| vec![at(l, f64::from(u8::from(l.outcome != Outcome::Down)))],
    },
    Family {
        name: "probe_duration_seconds",
        help: "Returns how long the probe took to complete in seconds",
        samples: |_, l| vec![at(l, l.latency_ms / 1000.0)],
    },
    Family {
        name: "probe_dns_lookup_time_seconds",
        help: "Returns the time taken for probe dns lookup in seconds",
        samples: |_, l| {
            l.phases
                .dns
                .map(|d| at(l, d / 1000.0))
                .into_iter()
                .collect()
        },
    },
    Family {
        name: "probe_http_duration_seconds",
        help: "Duration of http request by phase, summed over all redirects",
        samples: |p, l| {
            if !is_http(p) {
                return Vec::new();
            }
            let f = &l.phases;
            [
                ("resolve", f.dns),
                ("connect", f.connect),
                ("tls", f.tls),
                ("processing", f.ttfb),
                ("transfer", f.transfer),
            ]
            .into_iter()
            .map(|(phase, v)| Sample {
                labels: vec![
                    ("location", l.location.clone()),
                    ("phase", phase.to_string()),
                ],
                value: ms(v),
            })
            .collect()
        },
    },
    Family {
        name: "probe_http_status_code",
        help: "Response HTTP status code",
        samples: |p, l| {
            if is_http(p) {
                vec![at(l, f64::from(l.status.unwrap_or(0)))]
            } else {
                Vec::new()
            }
        },
    },
    Family {
        name: "probe_http_content_length",
        help: "Length of http content response",
        samples: |p, l| http_number(p, l, l.body_bytes.map(|b| b as f64)),
    },
    Family {
        name: "probe_http_uncompressed_body_length",
        help: "Length of uncompressed response body",
        samples: |p, l| http_number(p, l, l.body_decoded_bytes.map(|b| b as f64)),
    },
    Family {
        name: "probe_http_version",
        help: "Returns the version of HTTP of the probe response",
        samples: |p, l| http_number(p, l, l.http_version.map(|v| v.number())),
    },
    Family {
        name: "probe_ip_protocol",
        help: "Specifies whether probe ip protocol is IP4 or IP6",
        samples: |_, l| {
            l.ip.map(|ip| at(l, if ip.is_ipv4() { 4.0 } else { 6.0 }))
                .into_iter()
                .collect()
        },
    },
    Family {
        name: "probe_ssl_earliest_cert_expiry",
        help: "Returns earliest SSL cert expiry in unixtime",
        samples: |_, l| {
            l.cert_expires_at
                .map(|t| at(l, t.timestamp() as f64))
                .into_iter()
                .collect()
        },
    },
    Family {
        name: "probe_step_duration_seconds",
        help: "Duration of each step of a flow probe's latest run in seconds (steps that did not run are left out)",
        samples: |_, l| {
            l.steps
                .iter()
                .filter(|s| s.outcome.is_some())
                .map(|s| step_sample(l, &s.name, s.latency_ms / 1000.0))
                .collect()
        },
    },
    Family {
        name: "probe_step_success",
        help: "Whether each step of a flow probe's latest run succeeded (1) or went down (0); steps that did not run are left out",
        samples: |_, l| {
            l.steps
                .iter()
                .filter_map(|s| {
                    let up = s.outcome? != Outcome::Down;
                    Some(step_sample(l, &s.name, f64::from(u8::from(up))))
                })
                .collect()
        },
    },
    Family {
        name: "outpost_probe_state",
        help: "Current state of the probe: 1 for its state, 0 for the others",
        samples: |p, _| {
            [
                State::Operational,
                State::Degraded,
                State::Down,
                State::Maintenance,
                State::Unknown,
            ]
            .into_iter()
            .map(|s| Sample {
                labels: vec![("state", s.as_str().to_string())],
                value: f64::from(u8::from(p.state == s)),
            })
            .collect()
        },
    },
    Family {
        name: "outpost_slo_objective",
        help: "The objective as a ratio: availability, or the share of results faster than the latency threshold",
        samples: |p, _| {
            p.burn
                .objectives
                .iter()
                .map(|o| Sample {
                    labels: vec![("objective", o.objective.as_str().to_string())],
                    value: o.target / 100.0,
                })
                .collect()
        },
    },
    Family {
        name: "outpost_slo_error_budget_remaining",
        help: "Share of the 30-day error budget left (1 untouched, 0 spent, negative overspent)",
        samples: |p, _| {
            p.burn
                .objectives
                .iter()
                .filter_map(|o| {
                    o.budget_left.map(|left| Sample {
                        labels: vec![("objective", o.objective.as_str().to_string())],
                        value: left,
                    })
                })
                .collect()
        },
    },
    Family {
        name: "outpost_slo_burn_rate",
        help: "How fast the error budget burns over each alerting window (1: exactly the budget in 30 days)",
        samples: |p, _| {
            p.burn
                .objectives
                .iter()
                .flat_map(|o| {
                    o.windows.iter().map(|w| Sample {
                        labels: vec![
                            ("objective", o.objective.as_str().to_string()),
                            ("window", w.window.clone()),
                        ],
                        value: w.burn_rate,
                    })
                })
                .collect()
        },
    },
    Family {
        name: "outpost_probe_result_timestamp_seconds",
        help: "Unix time of the probe's latest result",
        samples: |_, l| vec![at(l, l.at.timestamp_millis() as f64 / 1000.0)],
    },
];

/// The exposition text: each family once, HELP and TYPE then its samples.
fn render(probes: &[(&ProbeView, &LatestResult)]) -> String {
    let mut out = String::new();
    for family in FAMILIES {
        let mut lines = String::new();
        for (p, l) in probes {
            for s in (family.samples)(p, l) {
                lines.push_str(family.name);
                lines.push_str("{probe=\"");
                lines.push_str(&label_value(&p.id));
                lines.push('"');
                for (k, v) in &s.labels {
                    lines.push_str(&format!(",{k}=\"{}\"", label_value(v)));
                }
                lines.push_str("} ");
                lines.push_str(&number(s.value));
                lines.push('\n');
            }
        }
        if lines.is_empty() {
            continue;
        }
        out.push_str(&format!("# HELP {} {}\n", family.name, family.help));
        out.push_str(&format!("# TYPE {} gauge\n", family.name));
        out.push_str(&lines);
    }
    out
}

/// A label value escaped per the exposition format: backslash, double quote
/// and line feed.
fn label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value as Prometheus parses it (Go's ParseFloat, with `+Inf`,
/// `-Inf` and `NaN`); Rust's `Display` never uses exponents, so it parses.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        // Nanosecond precision, then no trailing zeros: milliseconds divided
        // into seconds would otherwise print as 0.0017130000000000001.
        // Integer nanos where they fit exactly: `{:.9}` takes the slow path
        // of float formatting, millions of times on a large site.
        let fixed = if v.abs() < 9e9 {
            let nanos = (v * 1e9).round() as i64;
            let sign = if nanos < 0 { "-" } else { "" };
            let abs = nanos.unsigned_abs();
            format!("{sign}{}.{:09}", abs / 1_000_000_000, abs % 1_000_000_000)
        } else {
            format!("{v:.9}")
        };
        let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
        if trimmed.is_empty() || trimmed == "-" || trimmed == "-0" {
            "0".to_string()
        } else {
            trimmed.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn numbers_parse_in_go() {
        assert_eq!(number(1.0), "1");
        assert_eq!(number(0.0417), "0.0417");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(1e-7), "0.0000001");
        assert_eq!(number(1.713 / 1000.0), "0.001713");
        assert_eq!(number(1_767_225_600.0), "1767225600");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-0.25), "-0.25");
        assert_eq!(number(-1e-12), "0");
        assert_eq!(number(1e12), "1000000000000");
    }
}

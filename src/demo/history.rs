//! 90 days of simulated results for the demo probes: what the probes would have
//! measured, with realistic latencies (seeded, so every demo looks alike) and a
//! script of things going wrong. The results go through the real store and state
//! machine; nothing here decides a state or opens an incident.

use std::time::Duration;

use chrono::{DateTime, Duration as Span, DurationRound, Timelike, Utc};

use crate::config::{Config, ProbeKind, ProbeSpec};
use crate::model::{Cause, Outcome, Phases, ProbeResult, ResultId};

/// Days of history simulated, today included.
pub const DAYS: i64 = 90;

/// The seed of the demo's latencies and blips.
pub const SEED: u64 = 0x0075_7470_6f73_7421;

/// Spacing of simulated runs older than a day: fine enough for incidents to
/// have believable lengths, coarse enough to simulate 90 days in seconds.
const OLD_STEP_MINUTES: i64 = 15;
/// Spacing of the last day's runs, the probes' `interval`.
const RECENT_STEP_MINUTES: i64 = 5;

/// What goes wrong with a probe for a while.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// The target answers this HTTP status.
    Status(u16),
    /// Most answers are 503, some time out.
    Outage,
    /// The target answers, slower than `degraded_after`: latency in ms.
    Slow { min_ms: f64, max_ms: f64 },
    /// Nothing listens.
    Refused,
    /// The metrics endpoint reports more requests in flight than the soft limit.
    Saturated,
    /// The name server does not answer.
    DnsTimeout,
}

/// One scripted episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub probe: &'static str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub fault: Fault,
}

/// The episodes of the demo, relative to `now`. The maintenance window of the
/// demo config ([`Script::maintenance`]) covers the database's outage.
#[derive(Debug, Clone)]
pub struct Script {
    pub now: DateTime<Utc>,
    pub episodes: Vec<Episode>,
    /// The long Payments outage weeks ago (a written note explains it).
    pub past_outage: Episode,
    /// The Payments outage still going on (a written note tracks it).
    pub current_outage: Episode,
    /// The past maintenance window of the demo config.
    pub maintenance: (DateTime<Utc>, DateTime<Utc>),
    /// An upcoming maintenance window.
    pub next_maintenance: (DateTime<Utc>, DateTime<Utc>),
}

impl Script {
    /// The script for a demo run at `now`.
    pub fn new(now: DateTime<Utc>) -> Script {
        let midnight = now.duration_trunc(Span::days(1)).unwrap_or(now);
        let at = |days_ago: i64, h: i64, m: i64| {
            midnight - Span::days(days_ago) + Span::hours(h) + Span::minutes(m)
        };
        let ep = |probe, from, to, fault| Episode {
            probe,
            from,
            to,
            fault,
        };
        let past_outage = ep("payments", at(23, 13, 40), at(23, 16, 45), Fault::Outage);
        let current_outage = ep(
            "payments",
            now - Span::minutes(35),
            now + Span::hours(1),
            Fault::Status(503),
        );
        let maintenance = (at(12, 2, 0), at(12, 3, 0));
        let episodes = vec![
            past_outage.clone(),
            current_outage.clone(),
            // A degraded afternoon: the search index rebuilt during peak hours.
            ep(
                "search",
                at(9, 13, 0),
                at(9, 17, 30),
                Fault::Slow {
                    min_ms: 650.0,
                    max_ms: 1500.0,
                },
            ),
            // Slow again since a deploy a little over an hour ago (the live
            // endpoint answers in about 600 ms).
            ep(
                "search",
                now - Span::minutes(80),
                now + Span::hours(1),
                Fault::Slow {
                    min_ms: 590.0,
                    max_ms: 680.0,
                },
            ),
            // The database restarts inside its maintenance window.
            ep(
                "postgres",
                maintenance.0 + Span::minutes(5),
                maintenance.1 - Span::minutes(10),
                Fault::Refused,
            ),
            ep("jobs", at(5, 10, 0), at(5, 12, 15), Fault::Saturated),
            ep("dns", at(47, 4, 10), at(47, 4, 55), Fault::DnsTimeout),
            ep("api", at(34, 22, 10), at(34, 22, 40), Fault::Outage),
            ep("checkout", at(2, 19, 20), at(2, 19, 50), Fault::Status(502)),
            ep("checkout", at(16, 7, 5), at(16, 7, 35), Fault::Status(502)),
            ep("website", at(61, 8, 0), at(61, 8, 40), Fault::Refused),
        ];
        Script {
            now,
            episodes,
            past_outage,
            current_outage,
            maintenance,
            next_maintenance: (at(-5, 1, 0), at(-5, 3, 0)),
        }
    }

    fn fault(&self, probe: &str, at: DateTime<Utc>) -> Option<Fault> {
        self.episodes
            .iter()
            .find(|e| e.probe == probe && e.from <= at && at < e.to)
            .map(|e| e.fault)
    }
}

/// The instants of the simulated runs, oldest first, all before `now`: every
/// 15 minutes from midnight 89 days ago, every 5 minutes over the last day.
pub fn run_times(now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let midnight = now.duration_trunc(Span::days(1)).unwrap_or(now);
    let recent_from = now - Span::days(1);
    let mut out = Vec::new();
    let mut t = midnight - Span::days(DAYS - 1);
    while t < recent_from {
        out.push(t);
        t += Span::minutes(OLD_STEP_MINUTES);
    }
    let mut t = recent_from
        .duration_trunc(Span::minutes(RECENT_STEP_MINUTES))
        .unwrap_or(recent_from)
        + Span::minutes(RECENT_STEP_MINUTES);
    while t < now {
        out.push(t);
        t += Span::minutes(RECENT_STEP_MINUTES);
    }
    out
}

/// A small seeded generator (SplitMix64): the demo needs variety, not security.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Log-normal around `median` (Box–Muller).
    pub(crate) fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        median * (sigma * z).exp()
    }
}

/// Produces each run's results.
pub struct Simulation<'a> {
    cfg: &'a Config,
    script: &'a Script,
    cert_expires_at: DateTime<Utc>,
    location: String,
    rng: Rng,
}

impl<'a> Simulation<'a> {
    /// A simulation of `cfg`'s probes following `script`; the website's
    /// certificate expires at `cert_expires_at`.
    pub fn new(
        cfg: &'a Config,
        script: &'a Script,
        cert_expires_at: DateTime<Utc>,
        location: &str,
        seed: u64,
    ) -> Self {
        Simulation {
            cfg,
            script,
            cert_expires_at,
            location: location.to_string(),
            rng: Rng(seed),
        }
    }

    /// The results of every probe for a run at `at`.
    pub fn run(&mut self, at: DateTime<Utc>) -> Vec<ProbeResult> {
        let cfg = self.cfg;
        cfg.probes
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                // Probes of one run start a hair apart, as the engine starts them.
                let started_at = at + Span::milliseconds(i as i64);
                self.result(spec, started_at)
            })
            .collect()
    }

    fn result(&mut self, spec: &ProbeSpec, at: DateTime<Utc>) -> ProbeResult {
        let id = spec.id.0.as_str();
        let fault = self.script.fault(id, at).or_else(|| self.blip(id, at));
        let latency_ms = match fault {
            Some(Fault::Slow { min_ms, max_ms }) => self.rng.between(min_ms, max_ms),
            _ => self.rng.lognormal(median_ms(id), 0.22) * daily_load(at),
        };
        let mut r = ProbeResult {
            probe: spec.id.clone(),
            id: ResultId(self.rng.next_u64() as u32),
            location: self.location.clone(),
            started_at: at,
            outcome: Outcome::Up,
            cause: None,
            message: None,
            status: None,
            latency: ms(latency_ms),
            phases: Phases::default(),
            cert_expires_at: None,
            body_bytes: None,
            body_decoded_bytes: None,
            http_version: None,
            ip: None,
            steps: Vec::new(),
        };
        let is_https = matches!(&spec.kind, ProbeKind::Http(h) if h.url.scheme() == "https");
        match &spec.kind {
            ProbeKind::Http(_) | ProbeKind::Metrics(_) => {
                r.status = Some(200);
                r.phases = http_phases(&mut self.rng, latency_ms, is_https);
                if is_https {
                    r.cert_expires_at = Some(self.cert_expires_at);
                }
            }
            ProbeKind::Tcp(_) => r.phases.connect = Some(r.latency),
            ProbeKind::Tls(_) => {
                r.phases.connect = Some(ms(latency_ms * 0.2));
                r.phases.tls = Some(ms(latency_ms * 0.8));
                r.cert_expires_at = Some(self.cert_expires_at);
            }
            ProbeKind::Dns(_) => r.phases.dns = Some(r.latency),
            ProbeKind::Flow(f) => {
                r.status = Some(200);
                r.steps = super::flow::steps(f, &mut self.rng, latency_ms);
            }
        }

        match fault {
            None => {}
            Some(Fault::Status(code)) => self.status(&mut r, spec, code),
            Some(Fault::Outage) => {
                if self.rng.chance(0.3) {
                    self.timeout(&mut r, spec, "waiting for response");
                } else {
                    self.status(&mut r, spec, 503);
                }
            }
            Some(Fault::Slow { .. }) => {}
            Some(Fault::Refused) => {
                r.outcome = Outcome::Down;
                r.cause = Some(Cause::Connect);
                r.message = Some("connection refused".to_string());
                r.latency = ms(self.rng.between(0.1, 0.4));
                r.status = None;
                r.phases = Phases {
                    connect: Some(r.latency),
                    ..Phases::default()
                };
                r.cert_expires_at = None;
            }
            Some(Fault::Saturated) => {
                let in_flight = self.rng.between(110.0, 190.0).round();
                r.outcome = Outcome::Degraded;
                r.cause = Some(Cause::Assertion);
                r.message = Some(format!(
                    "http_requests_in_flight is {in_flight}, expected < 100"
                ));
            }
            Some(Fault::DnsTimeout) => {
                let server = match &spec.kind {
                    ProbeKind::Dns(d) => d
                        .resolver
                        .map(|a| a.to_string())
                        .unwrap_or_else(|| "system resolver".to_string()),
                    _ => "system resolver".to_string(),
                };
                r.outcome = Outcome::Down;
                r.cause = Some(Cause::Timeout);
                r.message = Some(format!(
                    "no answer from {server} within {}",
                    humantime::format_duration(spec.timeout)
                ));
                r.latency = spec.timeout;
                r.phases.dns = Some(spec.timeout);
            }
        }

        super::flow::fail(&mut r);

        // What `probe::execute` adds after the kind's own checks.
        if r.outcome == Outcome::Up
            && let Some(limit) = spec.degraded_after
            && r.latency > limit
        {
            r.outcome = Outcome::Degraded;
            r.cause = Some(Cause::Timeout);
            r.message = Some(format!(
                "took {} ms, slower than degraded_after {} ms",
                r.latency.as_millis(),
                limit.as_millis()
            ));
        }
        if r.outcome == Outcome::Up
            && let (Some(days), Some(expires)) = (spec.degraded.cert_days, r.cert_expires_at)
        {
            let left = expires - at;
            if left < Span::days(i64::from(days)) {
                r.outcome = Outcome::Degraded;
                r.cause = Some(Cause::Tls);
                r.message = Some(format!(
                    "certificate expires in {} days (expected at least {days})",
                    left.num_days()
                ));
            }
        }
        r
    }

    /// Unscripted single failures: the flapping checkout blips now and then,
    /// more often in the last hours; everything else very rarely.
    fn blip(&mut self, id: &str, at: DateTime<Utc>) -> Option<Fault> {
        let p = match id {
            "checkout" if self.script.now - at < Span::hours(6) => 0.1,
            "checkout" => 0.002,
            "payments" | "api" => 0.001,
            // The order flow's create step fails now and then: its page shows which.
            "orders" => 0.004,
            _ => 0.0,
        };
        self.rng.chance(p).then_some(Fault::Status(502))
    }

    fn status(&mut self, r: &mut ProbeResult, spec: &ProbeSpec, code: u16) {
        let want = if spec.expect.status.is_empty() {
            "2xx".to_string()
        } else {
            crate::assert::status::describe(&spec.expect.status)
        };
        r.outcome = Outcome::Down;
        r.cause = Some(Cause::Status);
        r.message = Some(format!("expected status {want}, got {code}"));
        r.status = Some(code);
        r.latency = ms(self.rng.lognormal(8.0, 0.3));
        r.phases = http_phases(&mut self.rng, crate::model::millis(r.latency), false);
    }

    fn timeout(&mut self, r: &mut ProbeResult, spec: &ProbeSpec, during: &str) {
        r.outcome = Outcome::Down;
        r.cause = Some(Cause::Timeout);
        r.message = Some(format!(
            "timed out after {} during {during}",
            humantime::format_duration(spec.timeout)
        ));
        r.status = None;
        r.latency = spec.timeout;
        r.phases.ttfb = None;
        r.phases.transfer = None;
    }
}

/// Typical latency of each demo probe on a quiet hour, in ms.
fn median_ms(id: &str) -> f64 {
    match id {
        "website" => 34.0,
        "checkout" => 38.0,
        "api" => 21.0,
        "search" => 140.0,
        "payments" => 46.0,
        "orders" => 120.0,
        "postgres" => 0.6,
        "jobs" => 7.5,
        "dns" => 1.3,
        _ => 25.0,
    }
}

/// Busier afternoons (UTC) are a little slower: 0.85 at 03:00, 1.25 at 15:00.
fn daily_load(at: DateTime<Utc>) -> f64 {
    let hour = f64::from(at.hour()) + f64::from(at.minute()) / 60.0;
    1.05 + 0.2 * ((hour - 9.0) / 24.0 * std::f64::consts::TAU).sin()
}

/// Phases of an HTTP request to an IP literal (so no DNS) that took `total` ms.
pub(crate) fn http_phases(rng: &mut Rng, total: f64, tls: bool) -> Phases {
    let connect = rng.between(0.15, 0.6).min(total * 0.2);
    let handshake = if tls {
        Some(rng.between(2.5, 5.0).min(total * 0.3))
    } else {
        None
    };
    let rest = (total - connect - handshake.unwrap_or(0.0)).max(0.0);
    let transfer = rest * rng.between(0.02, 0.08);
    Phases {
        dns: None,
        connect: Some(ms(connect)),
        tls: handshake.map(ms),
        ttfb: Some(ms(rest - transfer)),
        transfer: Some(ms(transfer)),
    }
}

pub(crate) fn ms(v: f64) -> Duration {
    Duration::from_secs_f64(v.max(0.0) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_times_cover_ninety_days_and_end_before_now() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:02:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let times = run_times(now);
        let first = times.first().copied().unwrap_or(now);
        let last = times.last().copied().unwrap_or(now);
        assert_eq!(first.to_rfc3339(), "2026-08-28T00:00:00+00:00");
        assert!(last < now && now - last <= Span::minutes(5));
        assert!(times.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn the_generator_is_seeded() {
        let (mut a, mut b) = (Rng(7), Rng(7));
        assert_eq!(a.next_u64(), b.next_u64());
        let x = a.lognormal(20.0, 0.2);
        assert!(x > 5.0 && x < 80.0);
    }
}

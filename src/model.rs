//! The vocabulary every stage shares: outcomes, causes, phases and results.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

mod notification;
pub use notification::{EventKind, Notification};

/// A probe's stable identifier (a slug).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ProbeId(pub String);

impl fmt::Display for ProbeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The outcome of one execution of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Up,
    Degraded,
    Down,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Up => "up",
            Outcome::Degraded => "degraded",
            Outcome::Down => "down",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "up" => Ok(Outcome::Up),
            "degraded" => Ok(Outcome::Degraded),
            "down" => Ok(Outcome::Down),
            other => Err(UnknownVariant(other.to_string())),
        }
    }
}

/// Why a result is not `up`: the classified failure of SPEC §1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cause {
    Dns,
    Connect,
    Tls,
    Timeout,
    Status,
    Assertion,
    Body,
    Protocol,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Dns => "dns",
            Cause::Connect => "connect",
            Cause::Tls => "tls",
            Cause::Timeout => "timeout",
            Cause::Status => "status",
            Cause::Assertion => "assertion",
            Cause::Body => "body",
            Cause::Protocol => "protocol",
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Cause {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "dns" => Cause::Dns,
            "connect" => Cause::Connect,
            "tls" => Cause::Tls,
            "timeout" => Cause::Timeout,
            "status" => Cause::Status,
            "assertion" => Cause::Assertion,
            "body" => Cause::Body,
            "protocol" => Cause::Protocol,
            other => return Err(UnknownVariant(other.to_string())),
        })
    }
}

/// A stored enum value this binary does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownVariant(pub String);

/// A failure with its classification and a short human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub cause: Cause,
    pub message: String,
}

impl Failure {
    pub fn new(cause: Cause, message: impl Into<String>) -> Self {
        Failure {
            cause,
            message: message.into(),
        }
    }
}

/// Time spent in each phase of a request, measured inside the client.
/// A phase that did not happen (no DNS for an IP literal, no TLS for plain HTTP,
/// or a probe that failed before reaching it) is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Phases {
    pub dns: Option<Duration>,
    pub connect: Option<Duration>,
    pub tls: Option<Duration>,
    pub ttfb: Option<Duration>,
    pub transfer: Option<Duration>,
}

/// Duration as milliseconds with microsecond precision, as the JSON output shows it.
pub fn millis(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

fn ser_opt_ms<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&millis(*d)),
        None => s.serialize_none(),
    }
}

impl Serialize for Phases {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Ms<'a> {
            #[serde(serialize_with = "ser_opt_ms")]
            dns_ms: &'a Option<Duration>,
            #[serde(serialize_with = "ser_opt_ms")]
            connect_ms: &'a Option<Duration>,
            #[serde(serialize_with = "ser_opt_ms")]
            tls_ms: &'a Option<Duration>,
            #[serde(serialize_with = "ser_opt_ms")]
            ttfb_ms: &'a Option<Duration>,
            #[serde(serialize_with = "ser_opt_ms")]
            transfer_ms: &'a Option<Duration>,
        }
        Ms {
            dns_ms: &self.dns,
            connect_ms: &self.connect,
            tls_ms: &self.tls,
            ttfb_ms: &self.ttfb,
            transfer_ms: &self.transfer,
        }
        .serialize(s)
    }
}

/// What a probe kind reports back, before the engine stamps it with id and time.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub outcome: Outcome,
    pub failure: Option<Failure>,
    pub status: Option<u16>,
    pub phases: Phases,
    pub cert_expires_at: Option<DateTime<Utc>>,
}

impl Observation {
    /// An `up` observation with nothing filled in yet.
    pub fn up() -> Self {
        Observation {
            outcome: Outcome::Up,
            failure: None,
            status: None,
            phases: Phases::default(),
            cert_expires_at: None,
        }
    }

    /// Mark down with a cause, keeping whatever was measured so far.
    pub fn down(mut self, failure: Failure) -> Self {
        self.outcome = Outcome::Down;
        self.failure = Some(failure);
        self
    }

    /// Mark degraded unless already down; the first degradation's reason is kept.
    pub fn degrade(mut self, failure: Failure) -> Self {
        if self.outcome == Outcome::Up {
            self.outcome = Outcome::Degraded;
            self.failure = Some(failure);
        }
        self
    }
}

/// One execution of a probe, as stored and reported.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    pub probe: ProbeId,
    pub location: String,
    pub started_at: DateTime<Utc>,
    pub outcome: Outcome,
    pub cause: Option<Cause>,
    pub message: Option<String>,
    pub status: Option<u16>,
    pub latency: Duration,
    pub phases: Phases,
    pub cert_expires_at: Option<DateTime<Utc>>,
}

/// A probe's state, changed only through thresholds over consecutive results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Operational,
    Degraded,
    Down,
    Maintenance,
    Unknown,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Operational => "operational",
            State::Degraded => "degraded",
            State::Down => "down",
            State::Maintenance => "maintenance",
            State::Unknown => "unknown",
        }
    }

    /// How bad a state is, for "worst state" comparisons; maintenance and
    /// unknown rank with operational because they are not failures.
    pub fn severity(self) -> u8 {
        match self {
            State::Operational | State::Maintenance | State::Unknown => 0,
            State::Degraded => 1,
            State::Down => 2,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "operational" => State::Operational,
            "degraded" => State::Degraded,
            "down" => State::Down,
            "maintenance" => State::Maintenance,
            "unknown" => State::Unknown,
            other => return Err(UnknownVariant(other.to_string())),
        })
    }
}

//! The vocabulary every stage shares: outcomes, causes, phases and results.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

pub mod burn;
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

/// The HTTP version a response came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpVersion {
    Http10,
    Http11,
    Http2,
}

impl HttpVersion {
    /// As written in `http_version` and the JSON output: `"1.0"`, `"1.1"`, `"2"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Http10 => "1.0",
            HttpVersion::Http11 => "1.1",
            HttpVersion::Http2 => "2",
        }
    }

    /// As a number, for `probe_http_version` in metrics.prom (blackbox_exporter's values).
    pub fn number(self) -> f64 {
        match self {
            HttpVersion::Http10 => 1.0,
            HttpVersion::Http11 => 1.1,
            HttpVersion::Http2 => 2.0,
        }
    }
}

impl fmt::Display for HttpVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HttpVersion {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "1.0" => HttpVersion::Http10,
            "1.1" => HttpVersion::Http11,
            "2" => HttpVersion::Http2,
            other => return Err(UnknownVariant(other.to_string())),
        })
    }
}

impl Serialize for HttpVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
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
    /// Bytes of the final response body as received (before decompression).
    pub body_bytes: Option<u64>,
    /// Bytes of the final response body after decompression.
    pub body_decoded_bytes: Option<u64>,
    pub http_version: Option<HttpVersion>,
    /// The address the probe connected to (the proxy's, through a proxy).
    pub ip: Option<IpAddr>,
    /// A `flow` probe's steps, in order; empty for every other kind.
    pub steps: Vec<StepRecord>,
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
            body_bytes: None,
            body_decoded_bytes: None,
            http_version: None,
            ip: None,
            steps: Vec::new(),
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

/// What tells two results of one probe, location and start millisecond apart:
/// a random number drawn when the probe ran. It travels with the result through
/// shards and merges, so the same result merged twice lands once, and two runs
/// that started a probe in the same millisecond both keep theirs (the chance
/// that they also drew the same 32 bits is one in four billion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResultId(pub u32);

impl ResultId {
    /// A fresh identity for a result being measured now.
    pub fn random() -> ResultId {
        ResultId(rand::random())
    }
}

/// One execution of a probe, as stored and reported.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    pub probe: ProbeId,
    pub id: ResultId,
    pub location: String,
    pub started_at: DateTime<Utc>,
    pub outcome: Outcome,
    pub cause: Option<Cause>,
    pub message: Option<String>,
    pub status: Option<u16>,
    pub latency: Duration,
    pub phases: Phases,
    pub cert_expires_at: Option<DateTime<Utc>>,
    /// Bytes of the final response body as received (HTTP kinds; `None` when
    /// no body was read).
    pub body_bytes: Option<u64>,
    /// Bytes of that body after decompression (equal to `body_bytes` when it
    /// was not compressed).
    pub body_decoded_bytes: Option<u64>,
    /// The HTTP version that answered.
    pub http_version: Option<HttpVersion>,
    /// The address the probe reached (the proxy's, through a proxy).
    pub ip: Option<IpAddr>,
    /// A `flow` probe's steps, in order. Empty (and unallocated) for every
    /// other kind, so the field costs them nothing but its header.
    pub steps: Vec<StepRecord>,
}

/// One step of a `flow` run: what an `http` probe would have reported for it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub name: String,
    /// `None` when the step did not run: an earlier step failed (and this one
    /// is not `always`), or the flow's time was up.
    pub outcome: Option<Outcome>,
    pub cause: Option<Cause>,
    pub message: Option<String>,
    pub status: Option<u16>,
    pub latency: Duration,
    pub phases: Phases,
    /// A clean-up step (`always = true`): it runs after a failure and does not
    /// count towards the flow's outcome.
    pub always: bool,
    /// Names bound by this step's `capture` (never their values).
    pub captures: Vec<String>,
}

impl StepRecord {
    /// A step that did not run.
    pub fn skipped(name: impl Into<String>, always: bool) -> Self {
        StepRecord {
            name: name.into(),
            outcome: None,
            cause: None,
            message: None,
            status: None,
            latency: Duration::ZERO,
            phases: Phases::default(),
            always,
            captures: Vec::new(),
        }
    }

    /// As the JSON output and JUnit name it: an outcome, or `skipped`.
    pub fn outcome_str(&self) -> &'static str {
        self.outcome.map_or("skipped", Outcome::as_str)
    }
}

impl Serialize for StepRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Row<'a> {
            name: &'a str,
            outcome: &'static str,
            cause: Option<Cause>,
            message: Option<&'a str>,
            status: Option<u16>,
            latency_ms: f64,
            phases: Phases,
            always: bool,
            captures: &'a [String],
        }
        Row {
            name: &self.name,
            outcome: self.outcome_str(),
            cause: self.cause,
            message: self.message.as_deref(),
            status: self.status,
            latency_ms: millis(self.latency),
            phases: self.phases,
            always: self.always,
            captures: &self.captures,
        }
        .serialize(s)
    }
}

/// What a probe's state machine at one location remembers between runs: the
/// store persists it, `evaluate::machine` steps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Machine {
    pub state: State,
    /// Consecutive `up` results.
    pub up_streak: u32,
    /// Consecutive results that were not `up` (degraded or down).
    pub bad_streak: u32,
    /// Consecutive `down` results.
    pub down_streak: u32,
}

impl Default for Machine {
    fn default() -> Self {
        Machine {
            state: State::Unknown,
            up_streak: 0,
            bad_streak: 0,
            down_streak: 0,
        }
    }
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

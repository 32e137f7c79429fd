//! What `probes.toml` says, exactly as written: serde structs that refuse unknown
//! keys. Meaning (defaults, kinds, references) is checked in `resolve.rs`.

use std::collections::BTreeMap;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::duration::Dur;
use super::text::{Text, substitute};
use crate::assert::{Comparator, JsonCheck, Selector, StatusSpec};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct File {
    #[serde(default)]
    pub page: PageSection,
    #[serde(default)]
    pub defaults: Tunables,
    #[serde(default)]
    pub probe: Vec<Spanned<ProbeSection>>,
    #[serde(default)]
    pub channel: Vec<Spanned<ChannelSection>>,
    #[serde(default)]
    pub maintenance: Vec<Spanned<MaintenanceSection>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PageSection {
    pub title: Option<Text>,
    pub url: Option<Spanned<Text>>,
    pub description: Option<Text>,
    pub history_days: Option<Spanned<u32>>,
    pub timezone: Option<Spanned<Text>>,
}

/// The keys of `[defaults]`, each overridable per probe.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Tunables {
    pub timeout: Option<Dur>,
    pub interval: Option<Dur>,
    pub degraded_after: Option<Dur>,
    pub failure_threshold: Option<Spanned<u32>>,
    pub success_threshold: Option<Spanned<u32>>,
    pub retention_days: Option<Spanned<u32>>,
    pub user_agent: Option<Spanned<Text>>,
    pub slo: Option<Spanned<f64>>,
    pub latency_slo: Option<Spanned<LatencySloSection>>,
    pub burn: Option<Spanned<BurnSection>>,
    pub quorum: Option<Spanned<u32>>,
    pub max_body: Option<Spanned<ByteSize>>,
    pub host_concurrency: Option<Spanned<u32>>,
    pub ip_version: Option<Spanned<IpVersionName>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KindName {
    Http,
    Tcp,
    Tls,
    Dns,
    Metrics,
    Flow,
}

/// DNS record types a `dns` probe can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum RecordType {
    A,
    #[serde(rename = "AAAA")]
    Aaaa,
    #[serde(rename = "CNAME")]
    Cname,
    #[serde(rename = "MX")]
    Mx,
    #[serde(rename = "TXT")]
    Txt,
    #[serde(rename = "NS")]
    Ns,
}

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Ns => "NS",
        }
    }
}

// Default: a flow's step is resolved as a section with only its keys set.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ProbeSection {
    pub id: Option<Spanned<String>>,
    pub name: Option<Spanned<Text>>,
    pub group: Option<Text>,
    pub kind: Option<Spanned<KindName>>,
    pub url: Option<Spanned<Text>>,
    pub target: Option<Spanned<Text>>,
    pub method: Option<Spanned<String>>,
    pub headers: Option<Spanned<BTreeMap<String, Text>>>,
    pub body: Option<Spanned<Text>>,
    pub follow_redirects: Option<Spanned<bool>>,
    pub public_target: Option<bool>,
    pub channels: Option<Spanned<Vec<Spanned<String>>>>,
    pub expect: Option<Spanned<ExpectSection>>,
    pub degraded: Option<Spanned<ExpectSection>>,
    pub ca_file: Option<Spanned<Text>>,
    pub insecure: Option<Spanned<bool>>,
    pub record: Option<Spanned<RecordType>>,
    pub resolver: Option<Spanned<Text>>,
    // Tunables, repeated because `flatten` and `deny_unknown_fields` do not mix.
    pub timeout: Option<Dur>,
    pub interval: Option<Dur>,
    pub degraded_after: Option<Dur>,
    pub failure_threshold: Option<Spanned<u32>>,
    pub success_threshold: Option<Spanned<u32>>,
    pub retention_days: Option<Spanned<u32>>,
    pub user_agent: Option<Spanned<Text>>,
    pub slo: Option<Spanned<f64>>,
    pub latency_slo: Option<Spanned<LatencySloSection>>,
    pub burn: Option<Spanned<BurnSection>>,
    pub quorum: Option<Spanned<u32>>,
    pub max_body: Option<Spanned<ByteSize>>,
    pub host_concurrency: Option<Spanned<u32>>,
    pub ip_version: Option<Spanned<IpVersionName>>,
    // Client features of HTTP probes (and mTLS for `tls` probes).
    pub http_version: Option<Spanned<HttpVersionName>>,
    pub proxy: Option<Spanned<Text>>,
    pub client_cert: Option<Spanned<Text>>,
    pub client_key: Option<Spanned<Text>>,
    /// The steps of a `flow` probe, in order.
    pub step: Option<Spanned<Vec<Spanned<super::flow::StepSection>>>>,
}

/// `latency_slo = { under = "300ms", percent = 99 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySloSection {
    pub under: Dur,
    pub percent: Spanned<f64>,
}

/// `[burn]` (in `[defaults]` or a probe): the burn-rate alerts' tuning.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BurnSection {
    /// A long window with fewer results never fires.
    pub min_results: Option<Spanned<u32>>,
    /// Short windows are stretched back to hold at least this many results.
    pub short_min_results: Option<Spanned<u32>>,
    pub fast: Option<Spanned<BurnRuleSection>>,
    pub slow: Option<Spanned<BurnRuleSection>>,
    pub ticket: Option<Spanned<BurnRuleSection>>,
}

/// `fast = { rate = 14.4, long = "1h", short = "5m" }`; `enabled = false`
/// turns that alert off.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BurnRuleSection {
    pub rate: Option<Spanned<f64>>,
    pub long: Option<Dur>,
    pub short: Option<Dur>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ExpectSection {
    pub status: Option<Spanned<Vec<StatusValue>>>,
    pub body_contains: Option<Text>,
    pub body_matches: Option<Pattern>,
    pub json: Option<Spanned<JsonChecks>>,
    pub headers: Option<Spanned<CmpMap>>,
    pub cert_days: Option<Spanned<u32>>,
    pub answers: Option<Spanned<Vec<Text>>>,
    pub metrics: Option<Spanned<MetricChecks>>,
}

/// A size in bytes written as `"1MiB"`, `"512KiB"`, `"64MB"` or a number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a size such as \"1MiB\" or \"512KiB\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                v.trim()
                    .parse::<bytesize::ByteSize>()
                    .map(|b| ByteSize(b.as_u64()))
                    .map_err(|_| {
                        E::custom(format!(
                            "invalid size {v:?}: write a number and a unit such as \"1MiB\", \"512KiB\" or \"64MiB\""
                        ))
                    })
            }
        }
        d.deserialize_any(V)
    }
}

/// `ip_version`: `"any"`, `"4"` or `"6"` (the numbers 4 and 6 are accepted too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpVersionName {
    Any,
    V4,
    V6,
}

impl<'de> Deserialize<'de> for IpVersionName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = IpVersionName;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"any\", \"4\" or \"6\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IpVersionName, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IpVersionName, E> {
                match v.trim() {
                    "any" => Ok(IpVersionName::Any),
                    "4" => Ok(IpVersionName::V4),
                    "6" => Ok(IpVersionName::V6),
                    other => Err(E::custom(format!(
                        "invalid ip_version {other:?}: write \"any\", \"4\" or \"6\""
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `http_version`: `"1.1"` or `"2"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersionName {
    Http11,
    Http2,
}

impl<'de> Deserialize<'de> for HttpVersionName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = HttpVersionName;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"1.1\" or \"2\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<HttpVersionName, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<HttpVersionName, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<HttpVersionName, E> {
                match v.trim() {
                    "1.1" => Ok(HttpVersionName::Http11),
                    "2" | "2.0" => Ok(HttpVersionName::Http2),
                    other => Err(E::custom(format!(
                        "invalid http_version {other:?}: write \"1.1\" or \"2\" (leave it out to negotiate)"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A status written as a number (`200`) or a string (`"2xx"`).
#[derive(Debug, Clone, Copy)]
pub struct StatusValue(pub StatusSpec);

impl<'de> Deserialize<'de> for StatusValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StatusValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a status code such as 200 or a class such as \"2xx\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusValue, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusValue, E> {
                StatusSpec::parse(v).map(StatusValue).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A compiled regex (`body_matches`).
#[derive(Debug, Clone)]
pub struct Pattern(pub regex::Regex);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = substitute(&String::deserialize(d)?).map_err(de::Error::custom)?;
        regex::Regex::new(&s)
            .map(Pattern)
            .map_err(|e| de::Error::custom(format!("invalid regex: {}", last_line(&e.to_string()))))
    }
}

fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or("").trim().to_string()
}

/// A comparator written as a string (`"< 100"`), a number or a boolean.
#[derive(Debug, Clone)]
pub struct CmpValue(pub Comparator);

impl<'de> Deserialize<'de> for CmpValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = CmpValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a comparator string such as \"< 100\", a number or a boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CmpValue, E> {
                let v = substitute(v).map_err(E::custom)?;
                Comparator::parse(&v).map(CmpValue).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<CmpValue, E> {
                Ok(CmpValue(Comparator::equals(&v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<CmpValue, E> {
                Ok(CmpValue(Comparator::equals(&v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<CmpValue, E> {
                Ok(CmpValue(Comparator::equals(&v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

/// `{ key = comparator, ... }` with keys kept in file order.
#[derive(Debug, Clone, Default)]
pub struct CmpMap(pub Vec<(String, Comparator)>);

impl<'de> Deserialize<'de> for CmpMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CmpMap;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of comparators")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CmpMap, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, CmpValue>()? {
                    out.push((k, v.0));
                }
                Ok(CmpMap(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// `expect.json`: JSONPath queries compiled at load time.
#[derive(Debug, Clone, Default)]
pub struct JsonChecks(pub Vec<JsonCheck>);

impl<'de> Deserialize<'de> for JsonChecks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = CmpMap::deserialize(d)?;
        let mut out = Vec::new();
        for (k, comparator) in map.0 {
            let path = serde_json_path::JsonPath::parse(&k).map_err(|e| {
                de::Error::custom(format!(
                    "invalid JSONPath {k:?}: {}",
                    last_line(&e.to_string())
                ))
            })?;
            out.push(JsonCheck {
                source: k,
                path,
                comparator,
            });
        }
        Ok(JsonChecks(out))
    }
}

/// `expect.metrics`: selectors parsed at load time.
#[derive(Debug, Clone, Default)]
pub struct MetricChecks(pub Vec<(Selector, Comparator)>);

impl<'de> Deserialize<'de> for MetricChecks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = CmpMap::deserialize(d)?;
        let mut out = Vec::new();
        for (k, comparator) in map.0 {
            let sel = Selector::parse(&k).map_err(de::Error::custom)?;
            out.push((sel, comparator));
        }
        Ok(MetricChecks(out))
    }
}

/// Alert destinations (SPEC §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChannelKind {
    Webhook,
    Slack,
    Discord,
    Teams,
    GithubIssue,
    Email,
    Pagerduty,
    Ntfy,
    Telegram,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Discord => "discord",
            ChannelKind::Teams => "teams",
            ChannelKind::GithubIssue => "github-issue",
            ChannelKind::Email => "email",
            ChannelKind::Pagerduty => "pagerduty",
            ChannelKind::Ntfy => "ntfy",
            ChannelKind::Telegram => "telegram",
        }
    }
}

/// State changes a channel can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    Down,
    Degraded,
    Recovered,
    /// Burn alerts (README, "Burn-rate alerts"); each one's `burn-ok` goes to
    /// the channels told of it.
    #[serde(rename = "burn-fast")]
    BurnFast,
    #[serde(rename = "burn-slow")]
    BurnSlow,
    #[serde(rename = "burn-ticket")]
    BurnTicket,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSection {
    pub name: Spanned<String>,
    pub kind: Spanned<ChannelKind>,
    pub url: Option<Spanned<Text>>,
    pub on: Option<Vec<Event>>,
    pub remind_every: Option<Dur>,
    /// HMAC key for `webhook` signatures.
    pub secret: Option<Text>,
    /// API token: `github-issue`, `telegram`, or an `ntfy` access token.
    pub token: Option<Text>,
    /// Overrides the service's API base URL (self-hosted instances, tests).
    pub base_url: Option<Spanned<Text>>,
    /// `owner/name` for `github-issue`.
    pub repo: Option<Spanned<Text>>,
    pub labels: Option<Vec<Text>>,
    /// Events API v2 integration key for `pagerduty`.
    pub routing_key: Option<Text>,
    pub chat_id: Option<Text>,
    pub topic: Option<Text>,
    pub to: Option<Vec<Text>>,
    pub from: Option<Text>,
    pub smtp_host: Option<Text>,
    pub smtp_port: Option<u16>,
    pub username: Option<Text>,
    pub password: Option<Text>,
    pub starttls: Option<bool>,
    /// Extra trusted roots (PEM) for a self-hosted endpoint or SMTP server.
    pub ca_file: Option<Spanned<Text>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceSection {
    pub title: Text,
    pub description: Option<Text>,
    pub probes: Option<Vec<Spanned<String>>>,
    pub start: Spanned<Instant>,
    pub end: Spanned<Instant>,
}

/// An instant written as an RFC 3339 string or a TOML offset date-time.
#[derive(Debug, Clone, Copy)]
pub struct Instant(pub chrono::DateTime<chrono::Utc>);

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Toml(toml::value::Datetime),
        }
        let s = match Raw::deserialize(d)? {
            Raw::Text(s) => s,
            Raw::Toml(dt) => dt.to_string(),
        };
        chrono::DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Instant(t.with_timezone(&chrono::Utc)))
            .map_err(|e| {
                de::Error::custom(format!(
                    "invalid date-time {s:?} ({e}): write RFC 3339 such as \"2026-12-01T02:00:00Z\""
                ))
            })
    }
}

//! The resolved configuration: defaults merged, kinds decided, references checked.
//! This is what the rest of Outpost reads; nothing here is raw text.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderName, HeaderValue, Method};
use rustls::pki_types::CertificateDer;
use url::Url;

pub use super::schema::{ChannelKind, Event, RecordType};
use super::text::Text;
use crate::assert::Expect;
use crate::model::ProbeId;
use crate::model::burn::BurnAlert;
use crate::redact::Secrets;

/// Everything `probes.toml` configures, validated.
#[derive(Debug)]
pub struct Config {
    pub path: PathBuf,
    pub page: Page,
    pub probes: Vec<ProbeSpec>,
    pub channels: Vec<ChannelConfig>,
    pub maintenance: Vec<Maintenance>,
    pub secrets: Secrets,
}

/// `[page]`.
#[derive(Debug, Clone)]
pub struct Page {
    pub title: String,
    pub url: Option<Url>,
    pub description: Option<String>,
    pub history_days: u32,
    pub timezone: String,
}

/// One `[[probe]]`, with every default applied.
#[derive(Debug, Clone)]
pub struct ProbeSpec {
    pub id: ProbeId,
    pub name: String,
    pub group: Option<String>,
    pub kind: ProbeKind,
    pub timeout: Duration,
    pub interval: Duration,
    pub degraded_after: Option<Duration>,
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub retention_days: u32,
    pub slo: f64,
    /// `latency_slo`: the share of available results faster than a threshold.
    pub latency_slo: Option<LatencySlo>,
    /// The burn-rate alerts on both objectives.
    pub burn: BurnPolicy,
    pub quorum: u32,
    /// Channel names; every channel when the probe lists none.
    pub channels: Vec<String>,
    pub public_target: bool,
    pub expect: Expect,
    /// Soft assertions: failing one makes the result `degraded`.
    pub degraded: Expect,
    /// The target as written, `${NAME}` references intact: safe to print.
    pub target_display: String,
    /// At most this many probes run against this probe's host while it runs.
    pub host_concurrency: usize,
    /// Which address family to connect over.
    pub ip_version: IpVersion,
}

impl ProbeSpec {
    /// The host this probe talks to, for the per-host concurrency bound.
    pub fn host(&self) -> String {
        match &self.kind {
            ProbeKind::Http(h) | ProbeKind::Metrics(h) => {
                h.url.host_str().unwrap_or_default().to_ascii_lowercase()
            }
            ProbeKind::Tcp(e) => e.host.to_ascii_lowercase(),
            ProbeKind::Tls(t) => t.endpoint.host.to_ascii_lowercase(),
            ProbeKind::Dns(d) => match d.resolver {
                Some(r) => r.ip().to_string(),
                None => "system-resolver".to_string(),
            },
            // Steps usually share a host; the first one stands for the flow.
            ProbeKind::Flow(f) => f
                .steps
                .first()
                .and_then(|s| s.target.url.host_str())
                .unwrap_or_default()
                .to_ascii_lowercase(),
        }
    }

    /// The kind's name as written in the config.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ProbeKind::Http(_) => "http",
            ProbeKind::Tcp(_) => "tcp",
            ProbeKind::Tls(_) => "tls",
            ProbeKind::Dns(_) => "dns",
            ProbeKind::Metrics(_) => "metrics",
            ProbeKind::Flow(_) => "flow",
        }
    }
}

/// `latency_slo = { under, percent }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencySlo {
    pub under: Duration,
    pub percent: f64,
}

/// `[burn]`, resolved: the rules of the alerts that are on, and the counts
/// that keep a new probe or a sparse window from paging.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnPolicy {
    pub rules: Vec<BurnRule>,
    pub min_results: u32,
    pub short_min_results: u32,
}

/// One burn alert: fires when both windows burn at `rate` or faster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnRule {
    pub alert: BurnAlert,
    pub rate: f64,
    pub long: Duration,
    pub short: Duration,
}

impl Default for BurnPolicy {
    fn default() -> Self {
        BurnPolicy {
            rules: BurnAlert::ALL
                .into_iter()
                .map(|alert| {
                    let (rate, long, short) = alert.defaults();
                    BurnRule {
                        alert,
                        rate,
                        long,
                        short,
                    }
                })
                .collect(),
            min_results: 10,
            short_min_results: 20,
        }
    }
}

/// What a probe does, by kind.
#[derive(Debug, Clone)]
pub enum ProbeKind {
    Http(HttpTarget),
    Tcp(Endpoint),
    Tls(TlsTarget),
    Dns(DnsTarget),
    Metrics(HttpTarget),
    Flow(super::flow::FlowTarget),
}

/// An HTTP request to make (also the scrape of a `metrics` probe).
#[derive(Clone)]
pub struct HttpTarget {
    pub url: Url,
    pub method: Method,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Vec<u8>>,
    pub follow_redirects: bool,
    pub tls: TlsOptions,
    pub user_agent: String,
    /// Body assertions see this many bytes after decompression.
    pub max_body: usize,
    /// The HTTP version to insist on; `None` negotiates by ALPN.
    pub http_version: Option<HttpVersionChoice>,
    pub proxy: ProxySetting,
}

// Debug shows no path, query or credentials: they may hold `${ENV}` secrets.
impl std::fmt::Debug for HttpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTarget")
            .field("method", &self.method)
            .field("scheme", &self.url.scheme())
            .field("host", &self.url.host_str())
            .field("port", &self.url.port_or_known_default())
            .field("headers", &self.headers.len())
            .field("follow_redirects", &self.follow_redirects)
            .field("max_body", &self.max_body)
            .field("http_version", &self.http_version)
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

/// Trust settings for a TLS connection.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Extra roots from `ca_file`, trusted beside the system's. A server whose
    /// leaf certificate is one of them is trusted as it is (as curl does).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Skip verification but still report the certificate.
    pub insecure: bool,
    /// The certificate and key to present when the server asks (`client_cert`).
    pub client_identity: Option<ClientIdentity>,
}

/// A client certificate chain with its private key, checked to match at load.
#[derive(Clone)]
pub struct ClientIdentity(pub Arc<rustls::sign::CertifiedKey>);

// The key never reaches a log, even through `{:?}`.
impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certificates", &self.0.cert.len())
            .finish_non_exhaustive()
    }
}

/// `ip_version`: which address family a probe connects over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IpVersion {
    /// Both, Happy Eyeballs style (RFC 8305).
    #[default]
    Any,
    V4,
    V6,
}

impl IpVersion {
    /// Whether a probe with this setting may connect to `ip`.
    pub fn admits(self, ip: IpAddr) -> bool {
        match self {
            IpVersion::Any => true,
            IpVersion::V4 => ip.is_ipv4(),
            IpVersion::V6 => ip.is_ipv6(),
        }
    }

    /// As written in the config: `"any"`, `"4"`, `"6"`.
    pub fn as_str(self) -> &'static str {
        match self {
            IpVersion::Any => "any",
            IpVersion::V4 => "4",
            IpVersion::V6 => "6",
        }
    }
}

/// `http_version`: the HTTP version a probe insists on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersionChoice {
    Http11,
    Http2,
}

/// Which proxy an HTTP probe goes through.
#[derive(Clone, Default)]
pub enum ProxySetting {
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, read at run time.
    #[default]
    FromEnv,
    /// `proxy = ""`: never a proxy.
    Off,
    /// `proxy = "http://user:pass@host:port"` (`NO_PROXY` still applies, as in curl).
    Url(ProxyUrl),
}

impl std::fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProxySetting::FromEnv => f.write_str("FromEnv"),
            ProxySetting::Off => f.write_str("Off"),
            ProxySetting::Url(u) => write!(f, "Url({})", u.display()),
        }
    }
}

/// A proxy URL as configured; its credentials are secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    raw: String,
    display: String,
}

impl ProxyUrl {
    /// A proxy URL; `display` is computed once, without credentials.
    pub fn new(url: &Url) -> Self {
        ProxyUrl {
            raw: url.as_str().to_string(),
            display: proxy_display(url),
        }
    }

    /// The URL with its credentials, for the proxy client only.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// `scheme://host:port`, safe to print.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The password, if any: a secret to redact from every output.
    pub fn password(&self) -> Option<String> {
        let url = Url::parse(&self.raw).ok()?;
        url.password().map(str::to_string)
    }
}

/// `scheme://host:port` of a proxy URL: what a message may name.
pub fn proxy_display(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(80)
    )
}

/// A host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

/// A TLS handshake to make.
#[derive(Debug, Clone)]
pub struct TlsTarget {
    pub endpoint: Endpoint,
    pub tls: TlsOptions,
}

/// A DNS question to ask.
#[derive(Debug, Clone)]
pub struct DnsTarget {
    pub name: String,
    pub record: RecordType,
    /// `None`: the system resolver (`/etc/resolv.conf`).
    pub resolver: Option<SocketAddr>,
}

/// One `[[channel]]`: parsed now, acted on by the alerting stage.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    pub name: String,
    pub kind: ChannelKind,
    pub url: Option<Text>,
    pub on: Vec<Event>,
    pub remind_every: Option<Duration>,
    pub secret: Option<Text>,
    pub token: Option<Text>,
    pub base_url: Option<Url>,
    pub repo: Option<Text>,
    pub labels: Vec<String>,
    pub routing_key: Option<Text>,
    pub chat_id: Option<Text>,
    pub topic: Option<Text>,
    pub to: Vec<Text>,
    pub from: Option<Text>,
    pub smtp_host: Option<Text>,
    pub smtp_port: u16,
    pub username: Option<Text>,
    pub password: Option<Text>,
    pub starttls: bool,
    /// PEM roots from the channel's `ca_file`, trusted beside the system's.
    pub ca_pem: Option<Vec<u8>>,
}

/// One `[[maintenance]]` window.
#[derive(Debug, Clone)]
pub struct Maintenance {
    pub title: String,
    pub description: Option<String>,
    /// Probe ids; empty means every probe.
    pub probes: Vec<ProbeId>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Maintenance {
    /// Whether `probe` is under maintenance at `at`.
    pub fn covers(&self, probe: &ProbeId, at: DateTime<Utc>) -> bool {
        at >= self.start && at < self.end && (self.probes.is_empty() || self.probes.contains(probe))
    }
}

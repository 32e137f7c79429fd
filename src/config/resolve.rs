//! From what the file says to what Outpost does: defaults merged, kinds decided,
//! targets parsed, references and ids checked. Problems are collected, not
//! returned one at a time, so a user fixes a whole file in one pass.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use toml::Spanned;
use url::Url;

use super::Problems;
use super::duration::{self, Dur};
use super::plan::*;
use super::schema::{self, ExpectSection, KindName, ProbeSection, Tunables};
use super::text::Text;
use crate::assert::Expect;
use crate::bounded_read;
use crate::model::ProbeId;
use crate::redact::Secrets;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
/// Raw results kept by default: the page needs 24 hours at full resolution
/// (the 24-hour chart, flapping); longer windows come from the rollups. A
/// day keeps 100 probes at one-minute resolution within the data branch's
/// 10 MB budget; each further day costs about 3 MB for them.
const DEFAULT_RETENTION_DAYS: u32 = 1;
const DEFAULT_DEGRADED_AFTER: Duration = Duration::from_secs(1);
/// Body assertions see the first 1 MiB unless `max_body` says otherwise.
const DEFAULT_MAX_BODY: u64 = 1024 * 1024;
/// `max_body` is held in memory per probe in flight: 64 MiB at most.
const MAX_MAX_BODY: u64 = 64 * 1024 * 1024;
/// Probes at once per host unless `host_concurrency` says otherwise: polite.
const DEFAULT_HOST_CONCURRENCY: u32 = 4;
const MAX_HOST_CONCURRENCY: u32 = 256;

pub(super) fn resolve(
    file: schema::File,
    path: &Path,
    base_dir: &Path,
    secrets: Secrets,
    p: &mut Problems<'_>,
) -> Config {
    let page = resolve_page(file.page, p);
    let defaults = file.defaults;
    check_tunables(&defaults, p);

    if file.probe.is_empty() {
        p.at(
            0..0,
            "no [[probe]] defined",
            Some("add at least one [[probe]] with a `url` (HTTP) or a `kind` and `target`"),
        );
    }

    let channels = super::channels::resolve_channels(file.channel, base_dir, p);
    let channel_names: BTreeSet<String> = channels.iter().map(|c| c.name.clone()).collect();

    let mut probes = Vec::new();
    let mut seen: HashMap<String, ()> = HashMap::new();
    for section in file.probe {
        let span = section.span();
        let section = section.into_inner();
        if let Some(probe) = resolve_probe(
            section,
            span.clone(),
            &defaults,
            base_dir,
            &channel_names,
            p,
        ) {
            if seen.insert(probe.id.0.clone(), ()).is_some() {
                p.at(
                    span,
                    format!("duplicate probe id {:?}", probe.id.0),
                    Some("ids must be unique; set `id` explicitly on one of the probes"),
                );
            } else {
                probes.push(probe);
            }
        }
    }

    let maintenance = super::maintenance::resolve_maintenance(file.maintenance, &probes, p);

    Config {
        path: path.to_path_buf(),
        page,
        probes,
        channels,
        maintenance,
        secrets,
    }
}

fn resolve_page(s: schema::PageSection, p: &mut Problems<'_>) -> Page {
    let url = s.url.and_then(|u| {
        let span = u.span();
        match Url::parse(u.get_ref().value()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
            Ok(_) | Err(_) => {
                p.at(
                    span,
                    "page.url must be an absolute http(s) URL",
                    Some("for example \"https://status.acme.dev\""),
                );
                None
            }
        }
    });
    let history_days = match s.history_days {
        Some(d) if *d.get_ref() == 0 || *d.get_ref() > 3650 => {
            p.at(d.span(), "history_days must be between 1 and 3650", None);
            90
        }
        Some(d) => d.into_inner(),
        None => 90,
    };
    Page {
        title: s
            .title
            .map(|t| t.value().to_string())
            .unwrap_or_else(|| "Status".to_string()),
        url,
        description: s.description.map(|t| t.value().to_string()),
        history_days,
        timezone: match s.timezone {
            Some(t) => match t.get_ref().value().trim().parse::<chrono_tz::Tz>() {
                Ok(tz) => tz.name().to_string(),
                Err(_) => {
                    p.at(
                        t.span(),
                        format!("unknown time zone {:?}", t.get_ref().template()),
                        Some("use an IANA name such as \"UTC\", \"Europe/Berlin\" or \"America/New_York\""),
                    );
                    "UTC".to_string()
                }
            },
            None => "UTC".to_string(),
        },
    }
}

fn check_tunables(t: &Tunables, p: &mut Problems<'_>) {
    check_counts(
        [
            &t.failure_threshold,
            &t.success_threshold,
            &t.quorum,
            &t.retention_days,
        ],
        p,
    );
    check_retention(t.retention_days.as_ref(), p);
    check_slo(t.slo.as_ref(), p);
    check_client_limits(t.max_body.as_ref(), t.host_concurrency.as_ref(), p);
    check_durations([&t.timeout, &t.interval, &t.degraded_after], p);
    check_user_agent(t.user_agent.as_ref(), p);
}

/// `max_body` within 1 byte..64 MiB and `host_concurrency` within 1..256.
fn check_client_limits(
    max_body: Option<&Spanned<schema::ByteSize>>,
    host_concurrency: Option<&Spanned<u32>>,
    p: &mut Problems<'_>,
) {
    if let Some(m) = max_body {
        let v = m.get_ref().0;
        if v == 0 || v > MAX_MAX_BODY {
            p.at(
                m.span(),
                "max_body must be between 1 byte and 64MiB",
                Some("for example \"1MiB\" (the default) or \"16MiB\""),
            );
        }
    }
    if let Some(h) = host_concurrency {
        let v = *h.get_ref();
        if v == 0 || v > MAX_HOST_CONCURRENCY {
            p.at(
                h.span(),
                "host_concurrency must be between 1 and 256",
                Some("the number of probes at once against one host; default 4"),
            );
        }
    }
}

/// The probe sends `user_agent` as a header: a value no header can carry
/// would be dropped silently at run time, so it is refused here.
fn check_user_agent(ua: Option<&Spanned<Text>>, p: &mut Problems<'_>) {
    if let Some(ua) = ua
        && HeaderValue::from_str(ua.get_ref().value()).is_err()
    {
        p.at(
            ua.span(),
            "user_agent cannot be sent as a header",
            Some("header values cannot contain line breaks or control characters"),
        );
    }
}

/// Each duration key within its documented range (duration.rs), located.
fn check_durations([timeout, interval, degraded_after]: [&Option<Dur>; 3], p: &mut Problems<'_>) {
    let keys = [
        ("timeout", timeout, duration::TIMEOUT),
        ("interval", interval, duration::INTERVAL),
        ("degraded_after", degraded_after, duration::DEGRADED_AFTER),
    ];
    for (key, value, bounds) in keys {
        if let Some(d) = value
            && let Err(message) = bounds.check(key, d.value)
        {
            p.at(d.span.clone(), message, None);
        }
    }
}

/// The longest retention: ten years of raw results (and of `now - retention`
/// arithmetic that cannot leave chrono's range).
const MAX_RETENTION_DAYS: u32 = 3650;

fn check_retention(days: Option<&Spanned<u32>>, p: &mut Problems<'_>) {
    if let Some(d) = days
        && *d.get_ref() > MAX_RETENTION_DAYS
    {
        p.at(
            d.span(),
            format!("retention_days must be between 1 and {MAX_RETENTION_DAYS}"),
            None,
        );
    }
}

fn check_counts(values: [&Option<Spanned<u32>>; 4], p: &mut Problems<'_>) {
    for v in values.into_iter().flatten() {
        if *v.get_ref() == 0 {
            p.at(v.span(), "must be at least 1", None);
        }
    }
}

fn check_slo(slo: Option<&Spanned<f64>>, p: &mut Problems<'_>) {
    if let Some(s) = slo {
        let v = *s.get_ref();
        if !(v > 0.0 && v <= 100.0) {
            p.at(
                s.span(),
                "slo is a percentage above 0 and at most 100",
                Some("for example 99.9"),
            );
        }
    }
}

/// Lower-case slug of a name: `"Public API"` → `"public-api"`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn resolve_probe(
    s: ProbeSection,
    span: std::ops::Range<usize>,
    d: &Tunables,
    base_dir: &Path,
    channel_names: &BTreeSet<String>,
    p: &mut Problems<'_>,
) -> Option<ProbeSpec> {
    let errors_before = p.list.len();
    check_counts(
        [
            &s.failure_threshold,
            &s.success_threshold,
            &s.quorum,
            &s.retention_days,
        ],
        p,
    );
    check_retention(s.retention_days.as_ref(), p);
    check_slo(s.slo.as_ref(), p);
    check_client_limits(s.max_body.as_ref(), s.host_concurrency.as_ref(), p);
    check_durations([&s.timeout, &s.interval, &s.degraded_after], p);

    let name = s.name.as_ref().map(|n| n.get_ref().value().to_string());
    let id = match (&s.id, &name) {
        (Some(id), _) => {
            if !valid_id(id.get_ref()) {
                p.at(
                    id.span(),
                    format!("invalid probe id {:?}", id.get_ref()),
                    Some("ids are 1 to 64 characters of a-z, 0-9, `-` and `_`"),
                );
            }
            id.get_ref().clone()
        }
        (None, Some(n)) => {
            let s = slug(n);
            if s.is_empty() {
                p.at(
                    span.clone(),
                    format!("cannot derive an id from name {n:?}"),
                    Some("set `id` explicitly"),
                );
            }
            s
        }
        (None, None) => {
            p.at(span.clone(), "a probe needs a `name` or an `id`", None);
            return None;
        }
    };
    let name = name.unwrap_or_else(|| id.clone());

    let kind_name = match (&s.kind, &s.url) {
        (Some(k), _) => *k.get_ref(),
        (None, Some(_)) => KindName::Http,
        (None, None) => {
            p.at(
                span.clone(),
                format!("probe {id:?} has neither `url` nor `kind`"),
                Some(
                    "set `url` for an HTTP probe, or `kind` (tcp, tls, dns, metrics) and `target`",
                ),
            );
            return None;
        }
    };

    check_keys_apply(&s, kind_name, p);

    let mut tls = resolve_tls_options(&s, base_dir, p);
    tls.client_identity = resolve_client_identity(&s, base_dir, p);
    check_user_agent(s.user_agent.as_ref(), p);
    let user_agent = s
        .user_agent
        .as_ref()
        .or(d.user_agent.as_ref())
        .map(|t| t.get_ref().value().to_string())
        .unwrap_or_else(|| format!("outpost/{}", env!("CARGO_PKG_VERSION")));

    let (kind, target_display) = match kind_name {
        KindName::Http | KindName::Metrics => {
            let Some(url) = &s.url else {
                p.at(
                    span.clone(),
                    format!("a {} probe needs `url`", kind_str(kind_name)),
                    None,
                );
                return None;
            };
            let mut target = resolve_http(&s, url, tls, user_agent, p)?;
            target.max_body = s
                .max_body
                .as_ref()
                .or(d.max_body.as_ref())
                .map(|m| m.get_ref().0)
                .unwrap_or(DEFAULT_MAX_BODY)
                .clamp(1, MAX_MAX_BODY) as usize;
            target.http_version = s.http_version.as_ref().map(|v| match v.get_ref() {
                schema::HttpVersionName::Http11 => HttpVersionChoice::Http11,
                schema::HttpVersionName::Http2 => HttpVersionChoice::Http2,
            });
            target.proxy = resolve_proxy(s.proxy.as_ref(), p);
            let display = url.get_ref().template().to_string();
            if kind_name == KindName::Http {
                (ProbeKind::Http(target), display)
            } else {
                (ProbeKind::Metrics(target), display)
            }
        }
        KindName::Tcp | KindName::Tls => {
            let Some(t) = &s.target else {
                p.at(
                    span.clone(),
                    format!(
                        "a {} probe needs `target = \"host:port\"`",
                        kind_str(kind_name)
                    ),
                    None,
                );
                return None;
            };
            let default_port = (kind_name == KindName::Tls).then_some(443);
            let endpoint = parse_endpoint(t.get_ref().value(), default_port)
                .map_err(|m| {
                    p.at(
                        t.span(),
                        m,
                        Some("write `host:port`, for example \"db.acme.dev:5432\""),
                    )
                })
                .ok()?;
            let display = t.get_ref().template().to_string();
            // The TLS handshake names the server (SNI, verification).
            if kind_name == KindName::Tls
                && rustls::pki_types::ServerName::try_from(endpoint.host.as_str()).is_err()
            {
                p.at(
                    t.span(),
                    format!("invalid server name in target {:?}", t.get_ref().template()),
                    Some("a TLS target is a DNS name or an IP address, with a port"),
                );
                return None;
            }
            if kind_name == KindName::Tcp {
                (ProbeKind::Tcp(endpoint), display)
            } else {
                (ProbeKind::Tls(TlsTarget { endpoint, tls }), display)
            }
        }
        KindName::Dns => {
            let Some(t) = &s.target else {
                p.at(
                    span.clone(),
                    "a dns probe needs `target` (the name to resolve)",
                    None,
                );
                return None;
            };
            let name = t.get_ref().value().trim().trim_end_matches('.').to_string();
            // The probe asks exactly this: a name hickory refuses fails here, not at run time.
            if name.is_empty()
                || name.contains(char::is_whitespace)
                || name.contains('/')
                || hickory_proto::rr::Name::from_utf8(&name).is_err()
            {
                p.at(
                    t.span(),
                    format!("invalid DNS name {:?}", t.get_ref().template()),
                    None,
                );
            }
            let resolver = s.resolver.as_ref().and_then(|r| {
                parse_resolver(r.get_ref().value())
                    .map_err(|m| p.at(r.span(), m, Some("write an IP address with an optional port, for example \"1.1.1.1:53\"")))
                    .ok()
            });
            let record = s
                .record
                .as_ref()
                .map(|r| *r.get_ref())
                .unwrap_or(schema::RecordType::A);
            (
                ProbeKind::Dns(DnsTarget {
                    name,
                    record,
                    resolver,
                }),
                t.get_ref().template().to_string(),
            )
        }
    };

    let ip_version = resolve_ip_version(&s, d, &kind, p);

    let expect = resolve_expect(s.expect, kind_name, p);
    let degraded = resolve_expect(s.degraded, kind_name, p);

    let channels = match &s.channels {
        Some(list) => {
            let mut out = Vec::new();
            for c in list.get_ref() {
                if channel_names.contains(c.get_ref()) {
                    out.push(c.get_ref().clone());
                } else {
                    let known: Vec<&str> = channel_names.iter().map(String::as_str).collect();
                    let hint = if known.is_empty() {
                        "no [[channel]] is defined; add one with this name".to_string()
                    } else {
                        format!("defined channels: {}", known.join(", "))
                    };
                    p.at(
                        c.span(),
                        format!("unknown channel {:?}", c.get_ref()),
                        Some(&hint),
                    );
                }
            }
            out
        }
        None => channel_names.iter().cloned().collect(),
    };

    let pick = |own: &Option<Dur>, def: &Option<Dur>, fallback: Duration| {
        own.as_ref()
            .or(def.as_ref())
            .map(|d| d.value)
            .unwrap_or(fallback)
    };
    let timeout = pick(&s.timeout, &d.timeout, DEFAULT_TIMEOUT);
    let degraded_after = Some(pick(
        &s.degraded_after,
        &d.degraded_after,
        DEFAULT_DEGRADED_AFTER,
    ));
    let interval = pick(&s.interval, &d.interval, DEFAULT_INTERVAL);
    let num = |own: &Option<Spanned<u32>>, def: &Option<Spanned<u32>>, fallback: u32| {
        own.as_ref()
            .or(def.as_ref())
            .map(|v| *v.get_ref())
            .unwrap_or(fallback)
            .max(1)
    };

    if p.list.len() > errors_before {
        return None;
    }
    Some(ProbeSpec {
        id: ProbeId(id),
        name,
        group: s.group.map(|g| g.value().to_string()),
        kind,
        timeout,
        interval,
        degraded_after,
        failure_threshold: num(&s.failure_threshold, &d.failure_threshold, 2),
        success_threshold: num(&s.success_threshold, &d.success_threshold, 1),
        retention_days: num(&s.retention_days, &d.retention_days, DEFAULT_RETENTION_DAYS),
        slo: s
            .slo
            .or(d.slo.clone())
            .map(Spanned::into_inner)
            .unwrap_or(99.9),
        quorum: num(&s.quorum, &d.quorum, 1),
        channels,
        public_target: s.public_target.unwrap_or(false),
        expect,
        degraded,
        target_display,
        host_concurrency: s
            .host_concurrency
            .as_ref()
            .or(d.host_concurrency.as_ref())
            .map(|h| *h.get_ref())
            .unwrap_or(DEFAULT_HOST_CONCURRENCY)
            .clamp(1, MAX_HOST_CONCURRENCY) as usize,
        ip_version,
    })
}

fn kind_str(k: KindName) -> &'static str {
    match k {
        KindName::Http => "http",
        KindName::Tcp => "tcp",
        KindName::Tls => "tls",
        KindName::Dns => "dns",
        KindName::Metrics => "metrics",
    }
}

/// Keys that mean nothing for a kind are errors: they are usually a mistake.
fn check_keys_apply(s: &ProbeSection, kind: KindName, p: &mut Problems<'_>) {
    use KindName::*;
    let http_like = matches!(kind, Http | Metrics);
    let checks: [(&str, Option<std::ops::Range<usize>>, bool); 15] = [
        ("url", s.url.as_ref().map(Spanned::span), http_like),
        ("target", s.target.as_ref().map(Spanned::span), !http_like),
        ("method", s.method.as_ref().map(Spanned::span), http_like),
        ("headers", s.headers.as_ref().map(Spanned::span), http_like),
        ("body", s.body.as_ref().map(Spanned::span), http_like),
        (
            "follow_redirects",
            s.follow_redirects.as_ref().map(Spanned::span),
            http_like,
        ),
        (
            "ca_file",
            s.ca_file.as_ref().map(Spanned::span),
            http_like || kind == Tls,
        ),
        ("record", s.record.as_ref().map(Spanned::span), kind == Dns),
        (
            "resolver",
            s.resolver.as_ref().map(Spanned::span),
            kind == Dns,
        ),
        (
            "max_body",
            s.max_body.as_ref().map(Spanned::span),
            http_like,
        ),
        (
            "http_version",
            s.http_version.as_ref().map(Spanned::span),
            http_like,
        ),
        ("proxy", s.proxy.as_ref().map(Spanned::span), http_like),
        (
            "client_cert",
            s.client_cert.as_ref().map(Spanned::span),
            http_like || kind == Tls,
        ),
        (
            "client_key",
            s.client_key.as_ref().map(Spanned::span),
            http_like || kind == Tls,
        ),
        (
            "ip_version",
            s.ip_version.as_ref().map(Spanned::span),
            kind != Dns,
        ),
    ];
    for (key, span, applies) in checks {
        if let Some(span) = span
            && !applies
        {
            p.at(
                span,
                format!("`{key}` does not apply to a {} probe", kind_str(kind)),
                Some("remove the key, or set `kind` to the probe kind you meant"),
            );
        }
    }
    if let Some(i) = &s.insecure
        && !(http_like || kind == Tls)
    {
        p.at(
            i.span(),
            format!("`insecure` does not apply to a {} probe", kind_str(kind)),
            None,
        );
    }
}

fn resolve_tls_options(s: &ProbeSection, base_dir: &Path, p: &mut Problems<'_>) -> TlsOptions {
    let insecure = s.insecure.as_ref().map(|i| *i.get_ref()).unwrap_or(false);
    let mut extra_roots = Vec::new();
    if let Some(ca) = &s.ca_file {
        let path = base_dir.join(ca.get_ref().value());
        match bounded_read::read(&path, bounded_read::PEM_LIMIT) {
            Ok(pem) => {
                let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut pem.as_slice()).collect();
                match certs {
                    Ok(c) if !c.is_empty() => extra_roots = c,
                    Ok(_) => p.at(
                        ca.span(),
                        format!("{} holds no PEM certificate", path.display()),
                        Some("ca_file must hold one or more `-----BEGIN CERTIFICATE-----` blocks"),
                    ),
                    Err(e) => p.at(
                        ca.span(),
                        format!("{} is not valid PEM: {e}", path.display()),
                        None,
                    ),
                }
            }
            Err(e) => p.at(
                ca.span(),
                format!("cannot read ca_file {}: {e}", path.display()),
                Some("ca_file is relative to the directory of probes.toml"),
            ),
        }
    }
    TlsOptions {
        extra_roots,
        insecure,
        client_identity: None,
    }
}

fn resolve_http(
    s: &ProbeSection,
    url: &Spanned<Text>,
    tls: TlsOptions,
    user_agent: String,
    p: &mut Problems<'_>,
) -> Option<HttpTarget> {
    let parsed = match Url::parse(url.get_ref().value()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
        Ok(u) => {
            p.at(
                url.span(),
                format!("unsupported URL scheme {:?}", u.scheme()),
                Some("probe URLs are http:// or https://"),
            );
            return None;
        }
        Err(e) => {
            p.at(
                url.span(),
                format!("invalid URL {:?}: {e}", url.get_ref().template()),
                Some("write an absolute URL such as \"https://api.acme.dev/health\""),
            );
            return None;
        }
    };
    let method = match &s.method {
        Some(m) => match Method::from_bytes(m.get_ref().trim().to_ascii_uppercase().as_bytes()) {
            Ok(m) => m,
            Err(_) => {
                p.at(
                    m.span(),
                    format!("invalid HTTP method {:?}", m.get_ref()),
                    None,
                );
                return None;
            }
        },
        None => Method::GET,
    };
    let mut headers = Vec::new();
    if let Some(h) = &s.headers {
        for (k, v) in h.get_ref() {
            let name = HeaderName::from_bytes(k.as_bytes());
            let value = HeaderValue::from_str(v.value());
            match (name, value) {
                (Ok(n), Ok(mut val)) => {
                    val.set_sensitive(v.is_secret());
                    headers.push((n, val));
                }
                (Err(_), _) => p.at(h.span(), format!("invalid header name {k:?}"), None),
                (_, Err(_)) => p.at(
                    h.span(),
                    format!("invalid value for header {k:?}"),
                    Some("header values cannot contain line breaks or control characters"),
                ),
            }
        }
    }
    Some(HttpTarget {
        url: parsed,
        method,
        headers,
        body: s
            .body
            .as_ref()
            .map(|b| b.get_ref().value().as_bytes().to_vec()),
        follow_redirects: s
            .follow_redirects
            .as_ref()
            .map(|f| *f.get_ref())
            .unwrap_or(true),
        tls,
        user_agent,
        max_body: DEFAULT_MAX_BODY as usize,
        http_version: None,
        proxy: ProxySetting::FromEnv,
    })
}

/// `proxy`: `""` turns proxies off; otherwise an `http://` URL with a host.
fn resolve_proxy(proxy: Option<&Spanned<Text>>, p: &mut Problems<'_>) -> ProxySetting {
    let Some(proxy) = proxy else {
        return ProxySetting::FromEnv;
    };
    let value = proxy.get_ref().value().trim();
    if value.is_empty() {
        return ProxySetting::Off;
    }
    let hint = Some(
        "write `proxy = \"http://host:port\"` (credentials as http://user:pass@host:port), or `proxy = \"\"` for none",
    );
    // A bare `host:port` means http, as curl reads it.
    let with_scheme = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{value}")
    };
    match Url::parse(&with_scheme) {
        Ok(u) if u.scheme() == "http" && u.host_str().is_some_and(|h| !h.is_empty()) => {
            ProxySetting::Url(ProxyUrl::new(&u))
        }
        Ok(u) => {
            p.at(
                proxy.span(),
                format!(
                    "unsupported proxy scheme {:?}: only http:// proxies are supported",
                    u.scheme()
                ),
                hint,
            );
            ProxySetting::Off
        }
        // The URL may hold a password: the message names the problem, not the text.
        Err(e) => {
            p.at(proxy.span(), format!("invalid proxy URL: {e}"), hint);
            ProxySetting::Off
        }
    }
}

/// `client_cert` and `client_key`: PEM files relative to probes.toml, read and
/// checked to belong together now, so a run never fails on them.
fn resolve_client_identity(
    s: &ProbeSection,
    base_dir: &Path,
    p: &mut Problems<'_>,
) -> Option<ClientIdentity> {
    let (cert, key) = match (&s.client_cert, &s.client_key) {
        (None, None) => return None,
        (Some(c), Some(k)) => (c, k),
        (Some(c), None) => {
            p.at(
                c.span(),
                "client_cert needs client_key",
                Some("set client_key to the PEM file of the certificate's private key"),
            );
            return None;
        }
        (None, Some(k)) => {
            p.at(
                k.span(),
                "client_key needs client_cert",
                Some("set client_cert to the PEM file of the client certificate"),
            );
            return None;
        }
    };
    let read = |t: &Spanned<Text>, key: &str, p: &mut Problems<'_>| {
        let path = base_dir.join(t.get_ref().value());
        std::fs::read(&path)
            .map_err(|e| {
                p.at(
                    t.span(),
                    format!("cannot read {key} {}: {e}", path.display()),
                    Some("paths are relative to the directory of probes.toml"),
                )
            })
            .ok()
            .map(|pem| (path, pem))
    };
    let (cert_path, cert_pem) = read(cert, "client_cert", p)?;
    let (key_path, key_pem) = read(key, "client_key", p)?;
    let chain: Vec<_> = match rustls_pemfile::certs(&mut cert_pem.as_slice()).collect() {
        Ok(c) => c,
        Err(e) => {
            p.at(
                cert.span(),
                format!("{} is not valid PEM: {e}", cert_path.display()),
                None,
            );
            return None;
        }
    };
    if chain.is_empty() {
        p.at(
            cert.span(),
            format!("{} holds no PEM certificate", cert_path.display()),
            Some("client_cert must hold a `-----BEGIN CERTIFICATE-----` block, the client's first"),
        );
        return None;
    }
    let key_hint = Some(
        "client_key must hold one PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`), RSA (`BEGIN RSA PRIVATE KEY`) or EC (`BEGIN EC PRIVATE KEY`)",
    );
    // Errors about the key name the file, never its content.
    let key_der = match rustls_pemfile::private_key(&mut key_pem.as_slice()) {
        Ok(Some(k)) => k,
        Ok(None) => {
            p.at(
                key.span(),
                format!("{} holds no private key", key_path.display()),
                key_hint,
            );
            return None;
        }
        Err(_) => {
            p.at(
                key.span(),
                format!("{} is not a valid PEM private key", key_path.display()),
                key_hint,
            );
            return None;
        }
    };
    let provider = rustls::crypto::ring::default_provider();
    match rustls::sign::CertifiedKey::from_der(chain, key_der, &provider) {
        Ok(k) => Some(ClientIdentity(std::sync::Arc::new(k))),
        Err(rustls::Error::InconsistentKeys(_)) => {
            p.at(
                key.span(),
                format!(
                    "{} is not the key of the certificate in {}",
                    key_path.display(),
                    cert_path.display()
                ),
                Some("client_key must be the private key the client certificate was issued for"),
            );
            None
        }
        Err(_) => {
            p.at(
                key.span(),
                format!(
                    "{} holds a key type that cannot be used",
                    key_path.display()
                ),
                Some("RSA, ECDSA (P-256, P-384) and Ed25519 keys are supported"),
            );
            None
        }
    }
}

/// `ip_version` (per probe or from `[defaults]`); an IP literal target of the
/// other family is an error, since no connection could ever be made.
fn resolve_ip_version(
    s: &ProbeSection,
    d: &Tunables,
    kind: &ProbeKind,
    p: &mut Problems<'_>,
) -> IpVersion {
    let (setting, from_probe) = match (&s.ip_version, &d.ip_version) {
        (Some(v), _) => (v, true),
        (None, Some(v)) if !matches!(kind, ProbeKind::Dns(_)) => (v, false),
        _ => return IpVersion::Any,
    };
    let version = match setting.get_ref() {
        schema::IpVersionName::Any => IpVersion::Any,
        schema::IpVersionName::V4 => IpVersion::V4,
        schema::IpVersionName::V6 => IpVersion::V6,
    };
    let literal = match kind {
        ProbeKind::Http(t) | ProbeKind::Metrics(t) => match t.url.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            _ => None,
        },
        ProbeKind::Tcp(e) => e.host.parse().ok(),
        ProbeKind::Tls(t) => t.endpoint.host.parse().ok(),
        ProbeKind::Dns(_) => None,
    };
    if let Some(ip) = literal
        && !version.admits(ip)
    {
        let family = if ip.is_ipv4() { "IPv4" } else { "IPv6" };
        let message = format!(
            "ip_version = \"{}\" contradicts the target, an {family} address ({ip})",
            version.as_str()
        );
        let hint = if from_probe {
            "remove ip_version, or target a host name or an address of that family"
        } else {
            "[defaults] sets ip_version; set `ip_version = \"any\"` on this probe, or target a host name"
        };
        // Located at the probe's own key; a default is reported where it is set.
        p.at(setting.span(), message, Some(hint));
    }
    version
}

fn parse_endpoint(s: &str, default_port: Option<u16>) -> Result<Endpoint, String> {
    let s = s.trim();
    // Bracketed IPv6: [::1]:443
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("invalid target {s:?}"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| format!("invalid port in {s:?}"))?,
            None => default_port.ok_or_else(|| format!("target {s:?} has no port"))?,
        };
        return Ok(Endpoint {
            host: host.to_string(),
            port,
        });
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            let port: u16 = port
                .parse()
                .map_err(|_| format!("invalid port {port:?} in {s:?}"))?;
            if host.is_empty() || port == 0 {
                return Err(format!("invalid target {s:?}"));
            }
            Ok(Endpoint {
                host: host.to_string(),
                port,
            })
        }
        _ if !s.is_empty() && !s.contains(':') && !s.contains('/') => match default_port {
            Some(port) => Ok(Endpoint {
                host: s.to_string(),
                port,
            }),
            None => Err(format!("target {s:?} has no port")),
        },
        _ => Err(format!("invalid target {s:?}")),
    }
}

fn parse_resolver(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    s.trim_matches(|c| c == '[' || c == ']')
        .parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("invalid resolver address {s:?}"))
}

fn resolve_expect(
    e: Option<Spanned<ExpectSection>>,
    kind: KindName,
    p: &mut Problems<'_>,
) -> Expect {
    let Some(e) = e else { return Expect::default() };
    let span = e.span();
    let e = e.into_inner();
    use KindName::*;
    let http_like = matches!(kind, Http | Metrics);
    let present: [(&str, bool, bool); 8] = [
        ("status", e.status.is_some(), http_like),
        ("body_contains", e.body_contains.is_some(), kind == Http),
        ("body_matches", e.body_matches.is_some(), kind == Http),
        ("json", e.json.is_some(), kind == Http),
        ("headers", e.headers.is_some(), http_like),
        ("cert_days", e.cert_days.is_some(), http_like || kind == Tls),
        ("answers", e.answers.is_some(), kind == Dns),
        ("metrics", e.metrics.is_some(), kind == Metrics),
    ];
    for (key, is_present, applies) in present {
        if is_present && !applies {
            p.at(
                span.clone(),
                format!(
                    "expectation `{key}` does not apply to a {} probe",
                    kind_str(kind)
                ),
                None,
            );
        }
    }
    if let Some(d) = &e.cert_days
        && *d.get_ref() == 0
    {
        p.at(d.span(), "cert_days must be at least 1", None);
    }
    Expect {
        status: e
            .status
            .map(|s| s.into_inner().into_iter().map(|v| v.0).collect())
            .unwrap_or_default(),
        body_contains: e.body_contains.map(|t| t.value().to_string()),
        body_matches: e.body_matches.map(|m| m.0),
        json: e.json.map(|j| j.into_inner().0).unwrap_or_default(),
        headers: e
            .headers
            .map(|h| {
                h.into_inner()
                    .0
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
                    .collect()
            })
            .unwrap_or_default(),
        cert_days: e.cert_days.map(Spanned::into_inner),
        answers: e
            .answers
            .map(|a| {
                a.into_inner()
                    .into_iter()
                    .map(|t| t.value().trim().to_string())
                    .collect()
            })
            .unwrap_or_default(),
        metrics: e.metrics.map(|m| m.into_inner().0).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Public API"), "public-api");
        assert_eq!(slug("  Apex DNS!! "), "apex-dns");
        assert_eq!(slug("日本"), "");
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            parse_endpoint("db:5432", None).unwrap(),
            Endpoint {
                host: "db".into(),
                port: 5432
            }
        );
        assert_eq!(parse_endpoint("[::1]:443", None).unwrap().host, "::1");
        assert_eq!(parse_endpoint("acme.dev", Some(443)).unwrap().port, 443);
        assert!(parse_endpoint("acme.dev", None).is_err());
        assert!(parse_endpoint("acme.dev:x", None).is_err());
    }
}

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

mod burn;
mod connection;
mod ranges;

use connection::*;
pub(super) use connection::{
    resolve_client_identity, resolve_http, resolve_proxy, resolve_tls_options,
};
use ranges::*;
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
    mut s: ProbeSection,
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
    burn::check_objectives(s.latency_slo.as_ref(), s.burn.as_ref(), p);
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
                    "set `url` for an HTTP probe, or `kind` (tcp, tls, dns, metrics) and `target`, or `kind = \"flow\"` and steps",
                ),
            );
            return None;
        }
    };

    check_keys_apply(&s, kind_name, p);
    let steps = s.step.take();
    if let Some(steps) = &steps
        && kind_name != KindName::Flow
    {
        p.at(
            steps.span(),
            format!("`step` does not apply to a {} probe", kind_str(kind_name)),
            Some("set `kind = \"flow\"` for a probe of several requests"),
        );
    }

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
        KindName::Flow => {
            let steps = steps.map(Spanned::into_inner).unwrap_or_default();
            let max_body = d
                .max_body
                .as_ref()
                .map(|m| m.get_ref().0)
                .unwrap_or(DEFAULT_MAX_BODY);
            let display = steps
                .first()
                .and_then(|st| st.get_ref().url.as_ref())
                .map(|u| u.get_ref().template().to_string())
                .unwrap_or_default();
            let flow = super::flow::resolve_flow(
                steps,
                span.clone(),
                base_dir,
                &user_agent,
                (max_body, MAX_MAX_BODY),
                p,
            )?;
            (ProbeKind::Flow(flow), display)
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
        latency_slo: burn::latency_slo(s.latency_slo.as_ref(), d.latency_slo.as_ref()),
        burn: burn::policy(s.burn.as_ref(), d.burn.as_ref()),
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
        KindName::Flow => "flow",
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

pub(super) fn resolve_expect(
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

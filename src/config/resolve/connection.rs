//! How a probe reaches its target: HTTP options, TLS trust and client
//! identity, proxies, address family, endpoints and resolvers.

use super::*;

pub(in crate::config) fn resolve_tls_options(
    s: &ProbeSection,
    base_dir: &Path,
    p: &mut Problems<'_>,
) -> TlsOptions {
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

pub(in crate::config) fn resolve_http(
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
pub(in crate::config) fn resolve_proxy(
    proxy: Option<&Spanned<Text>>,
    p: &mut Problems<'_>,
) -> ProxySetting {
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
pub(in crate::config) fn resolve_client_identity(
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
pub(super) fn resolve_ip_version(
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
        // Each step's host may differ; a literal is checked when it is dialled.
        ProbeKind::Flow(_) => None,
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

pub(super) fn parse_endpoint(s: &str, default_port: Option<u16>) -> Result<Endpoint, String> {
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

pub(super) fn parse_resolver(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    s.trim_matches(|c| c == '[' || c == ']')
        .parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("invalid resolver address {s:?}"))
}

//! `http` probes: one request per hop on a fresh connection (HTTP/2 or
//! HTTP/1.1 by ALPN, directly or through a proxy), phases timed inside the
//! client, redirects followed by hand, then the `expect` and `degraded` checks.

use std::time::Instant;

use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use url::Url;

use super::body;
use super::flow::Jar;
use super::net::{self, add_phase};
use super::{ProbeContext, Progress, Stage};
use crate::assert::{BodyPrefix, Expect, check_body, check_cert_days, check_headers, check_status};
use crate::config::{HttpTarget, HttpVersionChoice, IpVersion, ProbeSpec};
use crate::model::{Cause, Failure, Observation, Phases};
use exchange::{Form, Protocol, Response, build_request, exchange};

mod exchange;
mod proxy;
mod userinfo;

pub use proxy::ProxyEnv;

/// Redirects followed before giving up (curl and browsers use similar limits).
const MAX_REDIRECTS: usize = 10;

/// A response read by [`fetch`]: status, headers and the (decompressed) body.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: body::Body,
}

impl Fetched {
    /// What body assertions see.
    pub fn prefix(&self) -> BodyPrefix<'_> {
        BodyPrefix {
            bytes: &self.body.prefix,
            total: self.body.decoded_bytes,
        }
    }
}

/// Make the request (following redirects when asked), recording phases in
/// `progress`. The final body is read to its end (for the transfer timing and
/// its size); its first `keep` decoded bytes are returned.
///
/// Phases are summed over every hop, as blackbox_exporter does, so they add up to
/// the latency `execute` measures for the whole chain.
pub async fn fetch(
    target: &HttpTarget,
    ip_version: IpVersion,
    ctx: &ProbeContext,
    progress: &mut Progress,
    keep: usize,
) -> Result<Fetched, Failure> {
    fetch_with(target, ip_version, ctx, progress, keep, None).await
}

/// [`fetch`] with a cookie jar (a `flow` step): each hop, redirects
/// included, sends the jar's cookies for its URL and keeps what it sets.
pub async fn fetch_with(
    target: &HttpTarget,
    ip_version: IpVersion,
    ctx: &ProbeContext,
    progress: &mut Progress,
    keep: usize,
    mut jar: Option<&mut Jar>,
) -> Result<Fetched, Failure> {
    progress.phases = Phases::default();
    let mut hop = Hop {
        url: target.url.clone(),
        method: target.method.clone(),
        headers: target.headers.clone(),
        body: target.body.clone(),
    };
    let mut redirects = 0;
    loop {
        let response = match jar.as_deref_mut() {
            None => send(&hop, target, ip_version, ctx, progress).await?,
            Some(jar) => {
                let response =
                    send(&hop.with_cookies(jar), target, ip_version, ctx, progress).await?;
                jar.store(&hop.url, &response.headers);
                response
            }
        };
        progress.status = Some(response.status.as_u16());
        progress.http_version = response.version;
        if target.follow_redirects
            && let Some(next) = redirect_location(&response, &hop.url)
        {
            let next = next?;
            if redirects == MAX_REDIRECTS {
                return Err(Failure::new(
                    Cause::Protocol,
                    format!("too many redirects ({MAX_REDIRECTS})"),
                ));
            }
            redirects += 1;
            // Dropping the response closes its connection: each hop is fresh.
            hop = hop.redirect(response.status, next);
            continue;
        }
        progress.stage = Stage::Transfer;
        let started = Instant::now();
        let read = body::read(response.body, &response.headers, keep).await;
        add_phase(&mut progress.phases.transfer, started.elapsed());
        let body = read?;
        progress.body_bytes = Some(body.wire_bytes);
        progress.body_decoded_bytes = Some(body.decoded_bytes);
        return Ok(Fetched {
            status: response.status.as_u16(),
            headers: response.headers,
            body,
        });
    }
}

/// Run an `http` probe: fetch, then the hard checks (`expect`, status 2xx by
/// default), then the soft ones (`degraded`). Without a body assertion the body
/// is read and counted, not kept.
pub async fn probe(
    target: &HttpTarget,
    spec: &ProbeSpec,
    ctx: &ProbeContext,
    progress: &mut Progress,
) -> Observation {
    let keep = if spec.expect.needs_body() || spec.degraded.needs_body() {
        target.max_body
    } else {
        0
    };
    let fetched = match fetch(target, spec.ip_version, ctx, progress, keep).await {
        Ok(f) => f,
        Err(f) => return progress.observation().down(f),
    };
    let observation = progress.observation();
    let cert = progress.cert_expires_at;
    if let Err(f) = check(&spec.expect, &fetched, cert, true) {
        return observation.down(f);
    }
    match check(&spec.degraded, &fetched, cert, false) {
        Ok(()) => observation,
        Err(f) => observation.degrade(f),
    }
}

/// One `expect`-style table against a response; `hard` applies the 2xx default.
pub(super) fn check(
    expect: &Expect,
    fetched: &Fetched,
    cert_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    hard: bool,
) -> Result<(), Failure> {
    check_status(&expect.status, fetched.status, hard)?;
    check_headers(&expect.headers, &fetched.headers)?;
    check_body(expect, &fetched.prefix())?;
    // The certificate is the last one seen on the redirect chain; a plain-http
    // URL has none, and asking for `cert_days` there fails ("no certificate").
    if let Some(days) = expect.cert_days {
        check_cert_days(days, cert_expires_at, chrono::Utc::now(), Cause::Tls)?;
    }
    Ok(())
}

/// The request of one hop of a redirect chain.
#[derive(Clone)]
struct Hop {
    url: Url,
    method: Method,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<Vec<u8>>,
}

impl Hop {
    /// This hop with the jar's cookies for its URL added to the configured
    /// ones, in one `Cookie` header as RFC 6265 asks.
    fn with_cookies(&self, jar: &Jar) -> Hop {
        let mut hop = self.clone();
        let Some(cookie) = jar.header_for(&hop.url) else {
            return hop;
        };
        match hop.headers.iter_mut().find(|(n, _)| n == header::COOKIE) {
            Some((_, configured)) => {
                let mut joined = configured.as_bytes().to_vec();
                joined.extend_from_slice(b"; ");
                joined.extend_from_slice(cookie.as_bytes());
                if let Ok(mut v) = HeaderValue::from_bytes(&joined) {
                    v.set_sensitive(true);
                    *configured = v;
                }
            }
            None => hop.headers.push((header::COOKIE, cookie)),
        }
        hop
    }

    /// The next hop after a redirect with `status` to `url`.
    fn redirect(mut self, status: StatusCode, url: Url) -> Hop {
        let to_get = match status.as_u16() {
            303 => self.method != Method::HEAD,
            // What every browser does for 301/302, and what RFC 9110 allows.
            301 | 302 => self.method != Method::GET && self.method != Method::HEAD,
            _ => false,
        };
        if to_get {
            self.method = Method::GET;
            self.body = None;
            self.headers.retain(|(n, _)| n != header::CONTENT_TYPE);
        }
        // Credentials are meant for the origin they were configured for: never
        // hand them to another host a redirect points at.
        if url.origin() != self.url.origin() {
            self.headers.retain(|(n, _)| {
                n != header::AUTHORIZATION
                    && n != header::COOKIE
                    && n != header::PROXY_AUTHORIZATION
            });
        }
        self.url = url;
        self
    }
}

/// Where a redirect points, resolved against the current URL; `None` when the
/// response is not a redirect (or has no `Location`, so it is the answer).
fn redirect_location(response: &Response, current: &Url) -> Option<Result<Url, Failure>> {
    if !matches!(response.status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response.headers.get(header::LOCATION)?;
    let location = String::from_utf8_lossy(location.as_bytes());
    let next = match current.join(location.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(u),
        Ok(_) => Err(Failure::new(
            Cause::Protocol,
            "redirect to an unsupported scheme",
        )),
        Err(e) => Err(Failure::new(
            Cause::Protocol,
            format!("invalid redirect location: {e}"),
        )),
    };
    Some(next)
}

/// ALPN protocols offered for a choice of version: both when negotiating,
/// h2 first, as browsers and curl do.
fn alpn(choice: Option<HttpVersionChoice>) -> &'static [&'static [u8]] {
    match choice {
        None => &[b"h2", b"http/1.1"],
        Some(HttpVersionChoice::Http11) => &[b"http/1.1"],
        Some(HttpVersionChoice::Http2) => &[b"h2"],
    }
}

/// The protocol a TLS connection agreed on; insisting on HTTP/2 with a server
/// that did not choose it is a `protocol` failure.
fn negotiated(alpn: Option<&[u8]>, choice: Option<HttpVersionChoice>) -> Result<Protocol, Failure> {
    match (alpn, choice) {
        (Some(b"h2"), _) => Ok(Protocol::Http2),
        (_, Some(HttpVersionChoice::Http2)) => Err(Failure::new(
            Cause::Protocol,
            "the server does not speak HTTP/2 (it did not choose h2 in ALPN)",
        )),
        _ => Ok(Protocol::Http1),
    }
}

/// A refused ALPN protocol, in words that name the version.
fn alpn_refused(f: Failure, choice: Option<HttpVersionChoice>) -> Failure {
    if f.cause != Cause::Protocol {
        return f;
    }
    let message = match choice {
        Some(HttpVersionChoice::Http2) => {
            "the server does not speak HTTP/2 (it refused h2 in ALPN)"
        }
        Some(HttpVersionChoice::Http11) => {
            "the server does not speak HTTP/1.1 (it refused http/1.1 in ALPN)"
        }
        None => "the server speaks neither HTTP/2 nor HTTP/1.1 (it refused both in ALPN)",
    };
    Failure::new(Cause::Protocol, message)
}

/// Connect (directly or through a proxy, with TLS for https) and exchange one
/// request on a fresh connection.
async fn send(
    hop: &Hop,
    target: &HttpTarget,
    ip_version: IpVersion,
    ctx: &ProbeContext,
    progress: &mut Progress,
) -> Result<Response, Failure> {
    let https = match hop.url.scheme() {
        "https" => true,
        "http" => false,
        _ => return Err(Failure::new(Cause::Protocol, "unsupported URL scheme")),
    };
    let host = hop
        .url
        .host_str()
        .ok_or_else(|| Failure::new(Cause::Protocol, "URL has no host"))?;
    let port = hop
        .url
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });
    let choice = target.http_version;
    let route = proxy::route(&hop.url, &target.proxy, &ctx.proxies)?;
    let ua = &target.user_agent;
    match (https, route) {
        (false, None) => {
            // HTTP/2 over plain http only when insisted on: prior knowledge, as
            // curl's --http2-prior-knowledge.
            let protocol = match choice {
                Some(HttpVersionChoice::Http2) => Protocol::Http2,
                _ => Protocol::Http1,
            };
            let request = build_request(hop, ua, protocol, Form::Origin, None)?;
            let stream = net::open(host, port, ip_version, progress).await?;
            exchange(stream, request, protocol, None, progress).await
        }
        (false, Some(route)) => {
            if choice == Some(HttpVersionChoice::Http2) {
                return Err(Failure::new(
                    Cause::Protocol,
                    "http_version = \"2\" over http:// cannot go through a proxy (use https, or proxy = \"\")",
                ));
            }
            let request = build_request(hop, ua, Protocol::Http1, Form::Absolute, route.auth())?;
            let stream = route.open(ip_version, progress).await?;
            let response = exchange(stream, request, Protocol::Http1, None, progress).await?;
            if response.status == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
                return Err(route.failure("authentication required (407)"));
            }
            Ok(response)
        }
        (true, None) => {
            let stream = net::open(host, port, ip_version, progress).await?;
            let tls = net::handshake(
                stream,
                host,
                &target.tls,
                &ctx.trust,
                alpn(choice),
                progress,
            )
            .await
            .map_err(|f| alpn_refused(f, choice))?;
            let protocol = negotiated(tls.alpn.as_deref(), choice)?;
            let request = build_request(hop, ua, protocol, Form::Origin, None)?;
            let explain = tls.explain.clone();
            exchange(tls.stream, request, protocol, Some(&explain), progress).await
        }
        (true, Some(route)) => {
            let stream = route.open(ip_version, progress).await?;
            let tunnel = route.tunnel(stream, host, port, progress).await?;
            let tls = net::handshake(
                tunnel,
                host,
                &target.tls,
                &ctx.trust,
                alpn(choice),
                progress,
            )
            .await
            .map_err(|f| alpn_refused(f, choice))?;
            let protocol = negotiated(tls.alpn.as_deref(), choice)?;
            let request = build_request(hop, ua, protocol, Form::Origin, None)?;
            let explain = tls.explain.clone();
            exchange(tls.stream, request, protocol, Some(&explain), progress).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_switch_to_get_and_drop_credentials_across_origins() {
        let hop = Hop {
            url: Url::parse("http://a.test/x").unwrap(),
            method: Method::POST,
            headers: vec![
                (header::AUTHORIZATION, HeaderValue::from_static("Bearer t")),
                (header::CONTENT_TYPE, HeaderValue::from_static("text/plain")),
            ],
            body: Some(b"hi".to_vec()),
        };
        let next = hop.redirect(
            StatusCode::SEE_OTHER,
            Url::parse("http://b.test/y").unwrap(),
        );
        assert_eq!(next.method, Method::GET);
        assert!(next.body.is_none());
        assert!(next.headers.is_empty());
    }

    #[test]
    fn permanent_redirects_keep_the_method() {
        let hop = Hop {
            url: Url::parse("http://a.test/x").unwrap(),
            method: Method::POST,
            headers: vec![],
            body: Some(b"hi".to_vec()),
        };
        let next = hop.redirect(
            StatusCode::PERMANENT_REDIRECT,
            Url::parse("http://a.test/y").unwrap(),
        );
        assert_eq!(next.method, Method::POST);
        assert_eq!(next.body.as_deref(), Some(&b"hi"[..]));
    }
}

//! `http` probes: one request per hop on a fresh connection, phases timed inside
//! the client, redirects followed by hand, then the `expect` and `degraded` checks.

use std::collections::HashSet;
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, StatusCode, Uri, Version};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;
use url::Url;

use super::body;
use super::net::{self, add_phase};
use super::{ProbeContext, Progress, Stage};
use crate::assert::{Expect, check_body, check_cert_days, check_headers, check_status, short};
use crate::config::{HttpTarget, ProbeSpec};
use crate::model::{Cause, Failure, Observation, Phases};
use userinfo::basic_auth;

mod userinfo;

/// Redirects followed before giving up (curl and browsers use similar limits).
const MAX_REDIRECTS: usize = 10;

/// A response read by [`fetch`]: status, headers and the (decompressed) body.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Make the request (following redirects when asked), recording phases in
/// `progress`. The final body is always streamed under the 1 MiB cap (for the
/// transfer timing and so an oversized body is caught); it is returned only when
/// `read_body` is set.
///
/// Phases are summed over every hop, as blackbox_exporter does, so they add up to
/// the latency `execute` measures for the whole chain.
pub async fn fetch(
    target: &HttpTarget,
    ctx: &ProbeContext,
    progress: &mut Progress,
    read_body: bool,
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
        let response = send(&hop, target, ctx, progress).await?;
        progress.status = Some(response.status.as_u16());
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
        let read = body::read(response.body, &response.headers).await;
        add_phase(&mut progress.phases.transfer, started.elapsed());
        let body = read?;
        return Ok(Fetched {
            status: response.status.as_u16(),
            headers: response.headers,
            body: if read_body { body } else { Vec::new() },
        });
    }
}

/// Run an `http` probe: fetch, then the hard checks (`expect`, status 2xx by
/// default), then the soft ones (`degraded`).
pub async fn probe(
    target: &HttpTarget,
    spec: &ProbeSpec,
    ctx: &ProbeContext,
    progress: &mut Progress,
) -> Observation {
    let fetched = match fetch(target, ctx, progress, true).await {
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
fn check(
    expect: &Expect,
    fetched: &Fetched,
    cert_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    hard: bool,
) -> Result<(), Failure> {
    check_status(&expect.status, fetched.status, hard)?;
    check_headers(&expect.headers, &fetched.headers)?;
    check_body(expect, &fetched.body)?;
    // The certificate is the last one seen on the redirect chain; a plain-http
    // URL has none, and asking for `cert_days` there fails ("no certificate").
    if let Some(days) = expect.cert_days {
        check_cert_days(days, cert_expires_at, chrono::Utc::now(), Cause::Tls)?;
    }
    Ok(())
}

/// The request of one hop of a redirect chain.
struct Hop {
    url: Url,
    method: Method,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<Vec<u8>>,
}

impl Hop {
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

/// A response head, its body still on the wire, and the connection carrying it.
struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Incoming,
    _connection: AbortOnDrop,
}

/// Ends the spawned hyper connection task when the probe is done with it (or
/// is dropped by the timeout), so no connection outlives its probe.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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

/// Connect (with TLS for https) and exchange one request on a fresh connection.
async fn send(
    hop: &Hop,
    target: &HttpTarget,
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
    let request = build_request(hop, &target.user_agent)?;
    let stream = net::open(host, port, progress).await?;
    if https {
        let tls = net::handshake(
            stream,
            host,
            &target.tls,
            &ctx.trust,
            &[b"http/1.1"],
            progress,
        )
        .await?;
        exchange(tls, request, progress).await
    } else {
        exchange(stream, request, progress).await
    }
}

/// HTTP/1.1 over an open stream: write the request, wait for the response head.
async fn exchange<S>(
    stream: S,
    request: Request<Full<Bytes>>,
    progress: &mut Progress,
) -> Result<Response, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| response_failure(&e))?;
    let task = AbortOnDrop(tokio::spawn(async move {
        // Its errors reach us through `send_request` and the body.
        let _ = connection.await;
    }));
    progress.stage = Stage::Waiting;
    // hyper writes the request and reads the head in one future; a request is a
    // few hundred bytes, so ttfb starts when it is handed over.
    let started = Instant::now();
    let response = sender.send_request(request).await;
    add_phase(&mut progress.phases.ttfb, started.elapsed());
    let (parts, body) = response.map_err(|e| response_failure(&e))?.into_parts();
    Ok(Response {
        status: parts.status,
        headers: parts.headers,
        body,
        _connection: task,
    })
}

fn build_request(hop: &Hop, user_agent: &str) -> Result<Request<Full<Bytes>>, Failure> {
    let url = &hop.url;
    let mut target = url.path().to_string();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let uri: Uri = target
        .parse()
        .map_err(|_| Failure::new(Cause::Protocol, "URL path is not a valid request target"))?;

    let mut headers = HeaderMap::new();
    let mut host = url.host_str().unwrap_or_default().to_string();
    if let Some(port) = url.port() {
        host = format!("{host}:{port}");
    }
    if let Ok(v) = HeaderValue::from_str(&host) {
        headers.insert(header::HOST, v);
    }
    if let Ok(v) = HeaderValue::from_str(user_agent) {
        headers.insert(header::USER_AGENT, v);
    }
    headers.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("gzip, deflate"),
    );
    if let Some(auth) = basic_auth(url) {
        headers.insert(header::AUTHORIZATION, auth);
    }
    let body = hop.body.clone().unwrap_or_default();
    // Some servers answer 411 to a POST without a length, even an empty one.
    if hop.body.is_some() || matches!(hop.method, Method::POST | Method::PUT | Method::PATCH) {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    // Configured headers replace ours of the same name (a `Host` override for a
    // virtual host, a custom `User-Agent`); repeated names are all sent.
    let mut replaced = HashSet::new();
    for (name, value) in &hop.headers {
        if replaced.insert(name.clone()) {
            headers.remove(name);
        }
        headers.append(name.clone(), value.clone());
    }

    let mut request = Request::new(Full::new(Bytes::from(body)));
    *request.method_mut() = hop.method.clone();
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    Ok(request)
}

/// Classify a failure to get a response head: all `protocol`.
fn response_failure(e: &hyper::Error) -> Failure {
    let io = std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>());
    let message = if e.is_parse() || e.is_parse_status() {
        short(&format!("malformed HTTP response: {e}"))
    } else if e.is_incomplete_message() {
        "connection closed before the response was complete".to_string()
    } else if let Some(io) = io {
        match io.kind() {
            std::io::ErrorKind::ConnectionReset => "connection reset by peer".to_string(),
            std::io::ErrorKind::BrokenPipe => {
                "connection closed while sending the request".to_string()
            }
            _ => format!("request failed: {}", net::io_message(io)),
        }
    } else {
        short(&format!("request failed: {e}"))
    };
    Failure::new(Cause::Protocol, message)
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

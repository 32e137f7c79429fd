//! One request on an open connection, in HTTP/1.1 or HTTP/2, with the time to
//! the response head measured inside the client.

use std::collections::HashSet;
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, StatusCode, Uri, Version};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;

use super::super::net::{self, Explainer, add_phase};
use super::super::{Progress, Stage};
use super::Hop;
use super::userinfo::basic_auth;
use crate::assert::short;
use crate::model::{Cause, Failure, HttpVersion};

/// The protocol spoken on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

/// How the request names its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `GET /path` to the origin.
    Origin,
    /// `GET http://host/path` to a forward proxy.
    Absolute,
}

/// A response head, its body still on the wire, and the connection carrying it.
pub struct Response {
    pub status: StatusCode,
    pub version: Option<HttpVersion>,
    pub headers: HeaderMap,
    pub body: Incoming,
    pub _connection: AbortOnDrop,
}

/// Ends the spawned hyper connection task when the probe is done with it (or
/// is dropped by the timeout), so no connection outlives its probe.
pub struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Send `request` over `stream` in `protocol` and wait for the response head.
/// `ttfb` runs from the protocol handshake (HTTP/2's preface and settings) to
/// the head, as curl's time_starttransfer minus time_appconnect does.
pub async fn exchange<S>(
    stream: S,
    request: Request<Full<Bytes>>,
    protocol: Protocol,
    explain: Option<&Explainer>,
    progress: &mut Progress,
) -> Result<Response, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    progress.stage = Stage::Waiting;
    let started = Instant::now();
    let result = match protocol {
        Protocol::Http1 => {
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| response_failure(&e, protocol, explain))?;
            let task = AbortOnDrop(tokio::spawn(async move {
                // Its errors reach us through `send_request` and the body.
                let _ = connection.await;
            }));
            sender.send_request(request).await.map(|r| (r, task))
        }
        Protocol::Http2 => {
            let (mut sender, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                    .await
                    .map_err(|e| response_failure(&e, protocol, explain))?;
            let task = AbortOnDrop(tokio::spawn(async move {
                let _ = connection.await;
            }));
            sender.send_request(request).await.map(|r| (r, task))
        }
    };
    add_phase(&mut progress.phases.ttfb, started.elapsed());
    let (response, task) = result.map_err(|e| response_failure(&e, protocol, explain))?;
    let (parts, body) = response.into_parts();
    Ok(Response {
        status: parts.status,
        version: version(parts.version),
        headers: parts.headers,
        body,
        _connection: task,
    })
}

fn version(v: Version) -> Option<HttpVersion> {
    match v {
        Version::HTTP_10 => Some(HttpVersion::Http10),
        Version::HTTP_11 => Some(HttpVersion::Http11),
        Version::HTTP_2 => Some(HttpVersion::Http2),
        _ => None,
    }
}

/// The request of one hop: HTTP/2 names the target in `:authority` (from the
/// URI, or a configured `Host` header), HTTP/1.1 in `Host`.
pub fn build_request(
    hop: &Hop,
    user_agent: &str,
    protocol: Protocol,
    form: Form,
    proxy_auth: Option<&HeaderValue>,
) -> Result<Request<Full<Bytes>>, Failure> {
    let url = &hop.url;
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    let mut authority = url.host_str().unwrap_or_default().to_string();
    if let Some(port) = url.port() {
        authority = format!("{authority}:{port}");
    }
    let configured_host = hop
        .headers
        .iter()
        .find(|(n, _)| n == header::HOST)
        .and_then(|(_, v)| v.to_str().ok())
        .map(str::to_string);
    let target = match (protocol, form) {
        (Protocol::Http2, _) => format!(
            "{}://{}{path}",
            url.scheme(),
            configured_host.as_deref().unwrap_or(&authority)
        ),
        (Protocol::Http1, Form::Absolute) => format!("{}://{authority}{path}", url.scheme()),
        (Protocol::Http1, Form::Origin) => path,
    };
    let uri: Uri = target
        .parse()
        .map_err(|_| Failure::new(Cause::Protocol, "URL path is not a valid request target"))?;

    let mut headers = HeaderMap::new();
    if protocol == Protocol::Http1
        && let Ok(v) = HeaderValue::from_str(&authority)
    {
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
    if let Some(auth) = proxy_auth {
        headers.insert(header::PROXY_AUTHORIZATION, auth.clone());
    }
    let body = hop.body.clone().unwrap_or_default();
    // Some servers answer 411 to a POST without a length, even an empty one.
    if hop.body.is_some() || matches!(hop.method, Method::POST | Method::PUT | Method::PATCH) {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    // Configured headers replace ours of the same name (a `Host` override for a
    // virtual host, a custom `User-Agent`); repeated names are all sent.
    // HTTP/2 carries the host in `:authority` instead.
    let mut replaced = HashSet::new();
    for (name, value) in &hop.headers {
        if protocol == Protocol::Http2 && name == header::HOST {
            continue;
        }
        if replaced.insert(name.clone()) {
            headers.remove(name);
        }
        headers.append(name.clone(), value.clone());
    }

    let mut request = Request::new(Full::new(Bytes::from(body)));
    *request.method_mut() = hop.method.clone();
    *request.uri_mut() = uri;
    *request.version_mut() = match protocol {
        Protocol::Http1 => Version::HTTP_11,
        Protocol::Http2 => Version::HTTP_2,
    };
    *request.headers_mut() = headers;
    Ok(request)
}

/// Classify a failure to get a response head: a TLS refusal that arrived after
/// the handshake (a client certificate rejected in TLS 1.3) is `tls`, the rest
/// `protocol`.
fn response_failure(e: &hyper::Error, protocol: Protocol, explain: Option<&Explainer>) -> Failure {
    if let Some(f) = explain.and_then(|x| tls_in_chain(e, x)) {
        return f;
    }
    let io = io_in_chain(e);
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
    } else if protocol == Protocol::Http2 {
        short(&format!("the HTTP/2 exchange failed: {}", h2_reason(e)))
    } else {
        short(&format!("request failed: {e}"))
    };
    // Without TLS there was no ALPN to agree on HTTP/2: a server that does not
    // speak it drops or garbles the exchange, which is what to say.
    if protocol == Protocol::Http2 && explain.is_none() {
        return Failure::new(
            Cause::Protocol,
            format!(
                "the server does not speak HTTP/2 over plain http (prior knowledge): {message}"
            ),
        );
    }
    Failure::new(Cause::Protocol, message)
}

/// The innermost description of an HTTP/2 error.
fn h2_reason(e: &hyper::Error) -> String {
    let mut last = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

fn io_in_chain<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        if let Some(h2) = s.downcast_ref::<h2::Error>()
            && let Some(io) = h2.get_io()
        {
            return Some(io);
        }
        source = s.source();
    }
    None
}

/// A rustls error anywhere under a hyper error, explained.
pub fn tls_in_chain(e: &(dyn std::error::Error + 'static), explain: &Explainer) -> Option<Failure> {
    io_in_chain(e).and_then(|io| explain.tls_error(io))
}

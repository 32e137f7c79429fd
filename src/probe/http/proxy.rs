//! Proxies for HTTP probes: which one a request goes through (the environment's
//! `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` or the probe's `proxy`), the
//! connection to it, and the `CONNECT` tunnel for https. Every failure on the
//! way is cause `connect` and names the proxy, never its credentials.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Uri};
use http_body_util::Full;
use hyper::upgrade::Upgraded;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use std::time::Instant;
use tokio::net::TcpStream;
use url::Url;

use super::super::net::{self, add_phase};
use super::super::{Progress, Stage};
use crate::assert::short;
use crate::config::{IpVersion, ProxySetting, proxy_display};
use crate::model::{Cause, Failure};

/// The proxy variables of the environment, read once per run. Names and
/// precedence follow curl (lower case first); `HTTP_PROXY` in upper case is
/// honoured too, since Outpost never runs as a CGI script (curl ignores it to
/// avoid the "httpoxy" header injection).
#[derive(Clone, Default)]
pub struct ProxyEnv {
    http: Option<(&'static str, String)>,
    https: Option<(&'static str, String)>,
    all: Option<(&'static str, String)>,
    no: String,
}

// Names only: values may hold credentials.
impl std::fmt::Debug for ProxyEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = |v: &Option<(&'static str, String)>| v.as_ref().map(|(n, _)| *n);
        f.debug_struct("ProxyEnv")
            .field("http", &name(&self.http))
            .field("https", &name(&self.https))
            .field("all", &name(&self.all))
            .field("no_proxy", &!self.no.is_empty())
            .finish()
    }
}

impl ProxyEnv {
    /// Read the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Read proxy variables through `lookup` (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: [&'static str; 2]| {
            names.into_iter().find_map(|n| {
                lookup(n)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (n, v.trim().to_string()))
            })
        };
        ProxyEnv {
            http: first(["http_proxy", "HTTP_PROXY"]),
            https: first(["https_proxy", "HTTPS_PROXY"]),
            all: first(["all_proxy", "ALL_PROXY"]),
            no: first(["no_proxy", "NO_PROXY"])
                .map(|(_, v)| v)
                .unwrap_or_default(),
        }
    }
}

/// The proxy one request goes through.
#[derive(Debug, Clone)]
pub struct Route {
    host: String,
    port: u16,
    /// `http://host:port (from HTTPS_PROXY)`: safe to print.
    name: String,
    auth: Option<HeaderValue>,
}

impl Route {
    /// `Proxy-Authorization`, when the proxy URL has credentials.
    pub fn auth(&self) -> Option<&HeaderValue> {
        self.auth.as_ref()
    }

    /// A failure of this proxy: cause `connect`, naming it.
    pub fn failure(&self, what: impl std::fmt::Display) -> Failure {
        Failure::new(Cause::Connect, format!("proxy {}: {what}", self.name))
    }

    /// Resolve and connect to the proxy; the `dns` and `connect` phases are
    /// the proxy's, and so is the address recorded.
    pub async fn open(
        &self,
        ip_version: IpVersion,
        progress: &mut Progress,
    ) -> Result<TcpStream, Failure> {
        net::open(&self.host, self.port, ip_version, progress)
            .await
            .map_err(|f| self.failure(format!("cannot connect: {}", f.message)))
    }

    /// Ask the proxy for a tunnel to `host:port` (`CONNECT`); its time counts
    /// in the `connect` phase, since the target is reached only then.
    pub async fn tunnel(
        &self,
        stream: TcpStream,
        host: &str,
        port: u16,
        progress: &mut Progress,
    ) -> Result<TokioIo<Upgraded>, Failure> {
        progress.stage = Stage::Connect;
        let started = Instant::now();
        let result = self.connect_request(stream, host, port).await;
        add_phase(&mut progress.phases.connect, started.elapsed());
        result
    }

    async fn connect_request(
        &self,
        stream: TcpStream,
        host: &str,
        port: u16,
    ) -> Result<TokioIo<Upgraded>, Failure> {
        let authority = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let uri: Uri = authority
            .parse()
            .map_err(|_| self.failure("the target is not a valid CONNECT authority"))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
                .await
                .map_err(|e| self.failure(short(&format!("CONNECT failed: {e}"))))?;
        let task = tokio::spawn(connection.with_upgrades());
        let mut request = Request::new(Full::new(Bytes::new()));
        *request.method_mut() = Method::CONNECT;
        *request.uri_mut() = uri;
        if let Ok(v) = HeaderValue::from_str(&authority) {
            request.headers_mut().insert(header::HOST, v);
        }
        if let Some(auth) = &self.auth {
            request
                .headers_mut()
                .insert(header::PROXY_AUTHORIZATION, auth.clone());
        }
        let response = sender.send_request(request).await.map_err(|e| {
            task.abort();
            self.failure(short(&format!("no answer to CONNECT: {e}")))
        })?;
        let status = response.status();
        if !status.is_success() {
            task.abort();
            return Err(self.failure(
                format!(
                    "refused the tunnel to {authority}: {} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("")
                )
                .trim_end()
                .to_string(),
            ));
        }
        hyper::upgrade::on(response)
            .await
            .map(TokioIo::new)
            .map_err(|e| self.failure(short(&format!("tunnel failed: {e}"))))
    }
}

/// The proxy for `url`, if any, under curl's rules: `NO_PROXY` (host names with
/// their subdomains, IP addresses and CIDR ranges, `*`) wins, then the
/// scheme's variable, then `ALL_PROXY`. A per-probe `proxy` replaces the
/// variables (`NO_PROXY` still applies, as with curl's `--proxy`).
pub fn route(url: &Url, setting: &ProxySetting, env: &ProxyEnv) -> Result<Option<Route>, Failure> {
    let (matcher, source) = match setting {
        ProxySetting::Off => return Ok(None),
        ProxySetting::Url(p) => (
            Matcher::builder()
                .all(p.raw().to_string())
                .no(env.no.clone())
                .build(),
            "the probe's proxy key",
        ),
        ProxySetting::FromEnv => {
            if env.http.is_none() && env.https.is_none() && env.all.is_none() {
                return Ok(None);
            }
            let value = |v: &Option<(&'static str, String)>| {
                v.as_ref().map(|(_, s)| s.clone()).unwrap_or_default()
            };
            let scheme_var = if url.scheme() == "https" {
                &env.https
            } else {
                &env.http
            };
            let source = scheme_var
                .as_ref()
                .or(env.all.as_ref())
                .map(|(n, _)| *n)
                .unwrap_or("the environment");
            (
                Matcher::builder()
                    .http(value(&env.http))
                    .https(value(&env.https))
                    .all(value(&env.all))
                    .no(env.no.clone())
                    .build(),
                source,
            )
        }
    };
    let Some(host) = url.host() else {
        return Ok(None);
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let Ok(dst) = format!("{}://{host}:{port}/", url.scheme()).parse::<Uri>() else {
        return Ok(None);
    };
    let Some(intercept) = matcher.intercept(&dst) else {
        return Ok(None);
    };
    let proxy = intercept.uri();
    let scheme = proxy.scheme_str().unwrap_or("http");
    let proxy_host = proxy.host().unwrap_or_default();
    let proxy_port = proxy
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    let name = match Url::parse(&format!(
        "{scheme}://{}",
        proxy.authority().map(|a| a.as_str()).unwrap_or_default()
    )) {
        Ok(u) => format!("{} (from {source})", proxy_display(&u)),
        Err(_) => format!("{scheme}://{proxy_host}:{proxy_port} (from {source})"),
    };
    if scheme != "http" {
        return Err(Failure::new(
            Cause::Connect,
            format!("proxy {name} is not supported: only http:// proxies are"),
        ));
    }
    Ok(Some(Route {
        host: proxy_host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port: proxy_port,
        name,
        auth: intercept.basic_auth().cloned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> ProxyEnv {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxyEnv::from_lookup(move |n| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
    }

    fn via(url: &str, e: &ProxyEnv) -> Option<String> {
        route(&Url::parse(url).unwrap(), &ProxySetting::FromEnv, e)
            .unwrap()
            .map(|r| r.name)
    }

    #[test]
    fn curls_variables_and_precedence() {
        let e = env(&[
            ("HTTPS_PROXY", "http://upper:3128"),
            ("https_proxy", "http://lower:3128"),
            ("HTTP_PROXY", "plain:8080"),
            ("NO_PROXY", "internal.test, 10.0.0.0/8, .corp.test"),
        ]);
        assert_eq!(
            via("https://api.example/", &e).as_deref(),
            Some("http://lower:3128 (from https_proxy)")
        );
        assert_eq!(
            via("http://api.example/", &e).as_deref(),
            Some("http://plain:8080 (from HTTP_PROXY)")
        );
        for direct in [
            "https://internal.test/",
            "https://deep.internal.test/",
            "https://10.1.2.3/",
            "https://a.corp.test/",
        ] {
            assert_eq!(via(direct, &e), None, "{direct}");
        }
        assert!(via("https://notinternal.test/", &e).is_some());

        let all = env(&[("ALL_PROXY", "http://every:1"), ("no_proxy", "*")]);
        assert_eq!(via("https://x.test/", &all), None);
        let all = env(&[("all_proxy", "http://every:1")]);
        assert_eq!(
            via("http://x.test/", &all).as_deref(),
            Some("http://every:1 (from all_proxy)")
        );
        assert_eq!(via("https://x.test/", &env(&[])), None);
    }

    #[test]
    fn credentials_become_a_header_and_never_the_name() {
        let e = env(&[]);
        let setting = ProxySetting::Url(crate::config::ProxyUrl::new(
            &Url::parse("http://u:s3cret@p.test:3128").unwrap(),
        ));
        let r = route(&Url::parse("https://a.test/").unwrap(), &setting, &e)
            .unwrap()
            .unwrap();
        assert_eq!(r.name, "http://p.test:3128 (from the probe's proxy key)");
        assert!(r.auth().is_some_and(|a| a.is_sensitive()));
        assert!(!format!("{r:?}").contains("s3cret"));
        let off = route(
            &Url::parse("https://a.test/").unwrap(),
            &ProxySetting::Off,
            &env(&[("ALL_PROXY", "http://p:1")]),
        )
        .unwrap();
        assert!(off.is_none());
    }

    #[test]
    fn unsupported_proxy_schemes_are_named() {
        let e = env(&[("ALL_PROXY", "socks5://u:pw@s.test:1080")]);
        let err = route(
            &Url::parse("https://a.test/").unwrap(),
            &ProxySetting::FromEnv,
            &e,
        )
        .unwrap_err();
        assert_eq!(err.cause, Cause::Connect);
        assert!(
            err.message.contains("socks5://s.test:1080"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("pw"), "{}", err.message);
    }
}

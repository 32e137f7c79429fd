//! The cookie jar of one flow run: what a browser would keep between the
//! requests of a session (RFC 6265 storage and matching: domain, path,
//! expiry, `Secure`), by the `cookie_store` crate.

use cookie_store::{CookieStore, RawCookie};
use http::header::{self, HeaderMap, HeaderValue};
use url::Url;

/// Cookies set by the responses of one run, sent with its later requests.
#[derive(Debug, Default)]
pub struct Jar {
    store: CookieStore,
    /// Every value ever set, expired or replaced since: still secrets.
    seen: Vec<String>,
}

impl Jar {
    pub fn new() -> Self {
        Jar::default()
    }

    /// Keep the `Set-Cookie`s of a response from `url`. A cookie that does
    /// not parse, or that `url` may not set (another domain), is ignored, as
    /// a browser ignores it.
    pub fn store(&mut self, url: &Url, headers: &HeaderMap) {
        let cookies = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|s| RawCookie::parse(s).ok());
        // One by one: `store_response_cookies` logs each cookie, value and
        // all, at debug level, and cookies are secrets.
        for cookie in cookies {
            if !cookie.value().is_empty() && !self.seen.iter().any(|v| v == cookie.value()) {
                self.seen.push(cookie.value().to_string());
            }
            let _ = self.store.insert_raw(&cookie, url);
        }
    }

    /// The `Cookie` header for a request to `url`, if any cookie matches.
    pub fn header_for(&self, url: &Url) -> Option<HeaderValue> {
        let pairs: Vec<String> = self
            .store
            .get_request_values(url)
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        if pairs.is_empty() {
            return None;
        }
        let mut value = HeaderValue::from_str(&pairs.join("; ")).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// Every value a response set in this run, whether the jar still holds
    /// it or not: secrets like captures (a session id).
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.seen.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(jar: &mut Jar, url: &str, cookie: &str) {
        let mut h = HeaderMap::new();
        h.insert(header::SET_COOKIE, HeaderValue::from_str(cookie).unwrap());
        jar.store(&Url::parse(url).unwrap(), &h);
    }

    fn sent(jar: &Jar, url: &str) -> Option<String> {
        jar.header_for(&Url::parse(url).unwrap())
            .map(|v| v.to_str().unwrap().to_string())
    }

    #[test]
    fn sends_cookies_by_domain_path_and_scheme() {
        let mut jar = Jar::new();
        set(&mut jar, "http://app.test/login", "sid=abc; Path=/");
        set(&mut jar, "http://app.test/login", "admin=1; Path=/admin");
        set(&mut jar, "https://app.test/login", "tls=1; Secure");
        set(
            &mut jar,
            "http://app.test/login",
            "evil=1; Domain=other.test",
        );
        assert_eq!(
            sent(&jar, "http://app.test/orders").as_deref(),
            Some("sid=abc")
        );
        let admin = sent(&jar, "http://app.test/admin/x").unwrap();
        assert!(
            admin.contains("sid=abc") && admin.contains("admin=1"),
            "{admin}"
        );
        assert_eq!(sent(&jar, "http://other.test/"), None);
        assert!(sent(&jar, "https://app.test/").unwrap().contains("tls=1"));
    }

    #[test]
    fn an_expired_cookie_is_removed() {
        let mut jar = Jar::new();
        set(&mut jar, "http://app.test/", "sid=abc");
        set(&mut jar, "http://app.test/logout", "sid=; Max-Age=0");
        assert_eq!(sent(&jar, "http://app.test/"), None);
        // Gone from the jar, but still a secret to keep out of messages.
        assert_eq!(jar.values().collect::<Vec<_>>(), ["abc"]);
    }
}

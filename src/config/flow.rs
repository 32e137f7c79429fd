//! `flow` probes: `[[probe.step]]` as written, and the steps they resolve to.
//!
//! A step is an `http` probe with templates and captures: its HTTP keys go
//! through the same resolution as an `http` probe's (so every key means the
//! same), with each `{{name}}` in `url`, `headers` and `body` checked against
//! the built-ins and the captures of earlier steps.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

use http::HeaderName;
use serde::Deserialize;
use toml::Spanned;

use super::Problems;
use super::duration::{self, Dur};
use super::plan::{HttpTarget, HttpVersionChoice};
use super::resolve::{
    resolve_client_identity, resolve_expect, resolve_http, resolve_proxy, resolve_tls_options,
};
use super::schema::{ByteSize, ExpectSection, HttpVersionName, KindName, ProbeSection};
use super::text::Text;
use crate::assert::Expect;

mod template;

pub use template::{Builtin, Piece, Template};

/// One `[[probe.step]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSection {
    pub name: Option<Spanned<Text>>,
    pub url: Option<Spanned<Text>>,
    pub method: Option<Spanned<String>>,
    pub headers: Option<Spanned<BTreeMap<String, Text>>>,
    pub body: Option<Spanned<Text>>,
    pub follow_redirects: Option<Spanned<bool>>,
    pub ca_file: Option<Spanned<Text>>,
    pub insecure: Option<Spanned<bool>>,
    pub client_cert: Option<Spanned<Text>>,
    pub client_key: Option<Spanned<Text>>,
    pub proxy: Option<Spanned<Text>>,
    pub http_version: Option<Spanned<HttpVersionName>>,
    pub max_body: Option<Spanned<ByteSize>>,
    pub timeout: Option<Dur>,
    pub expect: Option<Spanned<ExpectSection>>,
    pub degraded: Option<Spanned<ExpectSection>>,
    pub capture: Option<Spanned<BTreeMap<String, Spanned<CaptureSection>>>>,
    pub always: Option<bool>,
}

/// A capture as written: `"status"`, or a table naming where the value is.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum CaptureSection {
    Word(String),
    Table(CaptureTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureTable {
    pub json: Option<String>,
    pub header: Option<String>,
    pub body: Option<String>,
    pub regex: Option<String>,
}

/// A resolved `flow` probe: its steps in order.
#[derive(Debug, Clone)]
pub struct FlowTarget {
    pub steps: Vec<FlowStep>,
}

/// One step: the request an `http` probe would make (with the URL, headers
/// and body as templates expanded at run time), its checks and captures.
#[derive(Debug, Clone)]
pub struct FlowStep {
    pub name: String,
    /// Everything but what the templates fill in: the URL here was parsed
    /// with each `{{name}}` stood in for, to check it at load time.
    pub target: HttpTarget,
    pub url: Template,
    /// Header values as templates; `sensitive` when they hold a `${ENV}`
    /// secret or a capture.
    pub headers: Vec<(HeaderName, Template, bool)>,
    pub body: Option<Template>,
    pub expect: Expect,
    pub degraded: Expect,
    pub captures: Vec<Capture>,
    pub always: bool,
    /// The step's own bound; the flow's remaining time bounds it too.
    pub timeout: Option<Duration>,
}

impl FlowStep {
    /// The captures its URL, headers and body refer to.
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.url
            .capture_names()
            .chain(self.headers.iter().flat_map(|(_, t, _)| t.capture_names()))
            .chain(self.body.iter().flat_map(Template::capture_names))
    }

    /// Whether the checks or captures read the body (else it is counted, not kept).
    pub fn needs_body(&self) -> bool {
        self.expect.needs_body()
            || self.degraded.needs_body()
            || self
                .captures
                .iter()
                .any(|c| matches!(c.source, CaptureSource::Json(_) | CaptureSource::Body))
    }
}

/// A value bound from a response for later steps.
#[derive(Debug, Clone)]
pub struct Capture {
    pub name: String,
    pub source: CaptureSource,
    /// Applied to the source's text: the first group when it has one, else
    /// the whole match.
    pub regex: Option<regex::Regex>,
    /// As written, for messages (`$.token`, `header Location`).
    pub describe: String,
}

#[derive(Debug, Clone)]
pub enum CaptureSource {
    Json(serde_json_path::JsonPath),
    Header(HeaderName),
    Body,
    Status,
}

/// Resolve the steps of a `flow` probe at `span`. `flow` is the probe's
/// section (its `ip_version` and `user_agent` apply to every step).
pub(super) fn resolve_flow(
    steps: Vec<Spanned<StepSection>>,
    span: std::ops::Range<usize>,
    base_dir: &Path,
    user_agent: &str,
    max_body: (u64, u64),
    p: &mut Problems<'_>,
) -> Option<FlowTarget> {
    if steps.is_empty() {
        p.at(
            span,
            "a flow probe needs at least one [[probe.step]]",
            Some("add `[[probe.step]]` tables, each with a `url`, after the probe's keys"),
        );
        return None;
    }
    let errors_before = p.list.len();
    let mut known: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for (i, step) in steps.into_iter().enumerate() {
        let span = step.span();
        if let Some(s) = resolve_step(
            step.into_inner(),
            i,
            span,
            base_dir,
            user_agent,
            max_body,
            &mut known,
            p,
        ) {
            out.push(s);
        }
    }
    if p.list.len() > errors_before {
        return None;
    }
    Some(FlowTarget { steps: out })
}

#[allow(clippy::too_many_arguments)]
fn resolve_step(
    s: StepSection,
    index: usize,
    span: std::ops::Range<usize>,
    base_dir: &Path,
    user_agent: &str,
    (default_max_body, max_max_body): (u64, u64),
    known: &mut HashSet<String>,
    p: &mut Problems<'_>,
) -> Option<FlowStep> {
    let name = s
        .name
        .as_ref()
        .map(|n| n.get_ref().value().trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("step {}", index + 1));
    if let Some(t) = &s.timeout
        && let Err(m) = duration::TIMEOUT.check("timeout", t.value)
    {
        p.at(t.span.clone(), m, None);
    }
    let Some(url) = s.url else {
        p.at(span, format!("step `{name}` needs `url`"), None);
        return None;
    };

    // Templates first: what the URL, headers and body may refer to is what
    // earlier steps captured (their names are in `known`) and the built-ins.
    let url_template = parse_template(&url, known, p);
    let mut header_templates = Vec::new();
    if let Some(h) = &s.headers {
        for (k, v) in h.get_ref() {
            match Template::parse(v.value()) {
                Ok(t) => {
                    check_names(&t, known, h.span(), p);
                    if let Ok(n) = HeaderName::from_bytes(k.as_bytes()) {
                        let sensitive = v.is_secret() || t.has_captures();
                        header_templates.push((n, t, sensitive));
                    }
                }
                Err(m) => p.at(h.span(), format!("header {k:?}: {m}"), None),
            }
        }
    }
    let body_template = s.body.as_ref().and_then(|b| parse_template(b, known, p));

    // The rest is an `http` probe's: resolved by the same code, with each
    // `{{name}}` stood in for so the URL and headers can be checked now.
    let stand_in = |t: &Spanned<Text>| {
        let v = t.get_ref().value();
        let filled = Template::parse(v)
            .map(|t| t.stand_in())
            .unwrap_or_else(|_| v.to_string());
        Spanned::new(t.span(), Text::literal(filled))
    };
    let url_checked = stand_in(&url);
    let headers = s.headers.map(|h| {
        let span = h.span();
        let filled = h
            .into_inner()
            .into_iter()
            .map(|(k, v)| {
                let f = Template::parse(v.value())
                    .map(|t| t.stand_in())
                    .unwrap_or_else(|_| v.value().to_string());
                (k, Text::literal(f))
            })
            .collect();
        Spanned::new(span, filled)
    });
    let section = ProbeSection {
        url: Some(url_checked.clone()),
        method: s.method,
        headers,
        body: s.body.as_ref().map(stand_in),
        follow_redirects: s.follow_redirects,
        ca_file: s.ca_file,
        insecure: s.insecure,
        client_cert: s.client_cert,
        client_key: s.client_key,
        ..ProbeSection::default()
    };
    let mut tls = resolve_tls_options(&section, base_dir, p);
    tls.client_identity = resolve_client_identity(&section, base_dir, p);
    let mut target = resolve_http(&section, &url_checked, tls, user_agent.to_string(), p);
    if let Some(t) = &mut target {
        t.max_body = s
            .max_body
            .as_ref()
            .map(|m| m.get_ref().0)
            .unwrap_or(default_max_body)
            .clamp(1, max_max_body) as usize;
        t.http_version = s.http_version.as_ref().map(|v| match v.get_ref() {
            HttpVersionName::Http11 => HttpVersionChoice::Http11,
            HttpVersionName::Http2 => HttpVersionChoice::Http2,
        });
        t.proxy = resolve_proxy(s.proxy.as_ref(), p);
    }
    let expect = resolve_expect(s.expect, KindName::Http, p);
    let degraded = resolve_expect(s.degraded, KindName::Http, p);

    let captures = s
        .capture
        .map(|c| resolve_captures(c, &name, known, p))
        .unwrap_or_default();

    Some(FlowStep {
        name,
        target: target?,
        url: url_template?,
        headers: header_templates,
        body: body_template,
        expect,
        degraded,
        captures,
        always: s.always.unwrap_or(false),
        timeout: s.timeout.map(|t| t.value),
    })
}

/// Parse the template in `t`, reporting a malformed one or an unknown name at it.
fn parse_template(
    t: &Spanned<Text>,
    known: &HashSet<String>,
    p: &mut Problems<'_>,
) -> Option<Template> {
    match Template::parse(t.get_ref().value()) {
        Ok(template) => {
            check_names(&template, known, t.span(), p);
            Some(template)
        }
        Err(m) => {
            p.at(t.span(), m, None);
            None
        }
    }
}

/// Each `{{name}}` is a built-in or a capture of an earlier step.
fn check_names(
    t: &Template,
    known: &HashSet<String>,
    span: std::ops::Range<usize>,
    p: &mut Problems<'_>,
) {
    for name in t.capture_names() {
        if !known.contains(name) {
            let mut defined: Vec<&str> = known.iter().map(String::as_str).collect();
            defined.sort_unstable();
            let hint = if defined.is_empty() {
                "no earlier step captures anything; built-ins are {{uuid}}, {{now}}, {{timestamp}} and {{random}}".to_string()
            } else {
                format!(
                    "earlier steps capture: {}; built-ins are {{{{uuid}}}}, {{{{now}}}}, {{{{timestamp}}}} and {{{{random}}}}",
                    defined.join(", ")
                )
            };
            p.at(
                span.clone(),
                format!("unknown `{{{{{name}}}}}`: no earlier step captures {name:?}"),
                Some(&hint),
            );
        }
    }
}

fn resolve_captures(
    c: Spanned<BTreeMap<String, Spanned<CaptureSection>>>,
    step: &str,
    known: &mut HashSet<String>,
    p: &mut Problems<'_>,
) -> Vec<Capture> {
    let mut out = Vec::new();
    let hint = Some(
        "write `name = \"status\"`, `name = { json = \"$.path\" }`, `name = { header = \"Location\", regex = \"…\" }` or `name = { body = \"regex with (group)\" }`",
    );
    for (name, section) in c.into_inner() {
        let span = section.span();
        if !template::valid_name(&name) || Builtin::named(&name).is_some() {
            p.at(
                span.clone(),
                format!("invalid capture name {name:?} in step `{step}`"),
                Some(
                    "names are letters, digits and `_`, not starting with a digit, and not uuid, now, timestamp or random",
                ),
            );
            continue;
        }
        let compile = |re: &str, p: &mut Problems<'_>| match regex::Regex::new(re) {
            Ok(r) => Some(r),
            Err(e) => {
                let last = e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                p.at(
                    span.clone(),
                    format!("capture `{name}`: invalid regex: {last}"),
                    None,
                );
                None
            }
        };
        let (source, regex, describe) = match section.into_inner() {
            CaptureSection::Word(w) if w.trim() == "status" => {
                (CaptureSource::Status, None, "the status".to_string())
            }
            CaptureSection::Word(w) => {
                p.at(
                    span.clone(),
                    format!("capture `{name}`: unknown source {w:?}"),
                    hint,
                );
                continue;
            }
            CaptureSection::Table(t) => {
                let regex = match &t.regex {
                    Some(re) => match compile(re, p) {
                        Some(r) => Some(r),
                        None => continue,
                    },
                    None => None,
                };
                match (t.json, t.header, t.body) {
                    (Some(j), None, None) => match serde_json_path::JsonPath::parse(&j) {
                        Ok(path) => (CaptureSource::Json(path), regex, j),
                        Err(e) => {
                            let last = e
                                .to_string()
                                .lines()
                                .last()
                                .unwrap_or("")
                                .trim()
                                .to_string();
                            p.at(
                                span.clone(),
                                format!("capture `{name}`: invalid JSONPath {j:?}: {last}"),
                                Some("JSONPath queries start with `$`, for example \"$.access_token\""),
                            );
                            continue;
                        }
                    },
                    (None, Some(h), None) => match HeaderName::from_bytes(h.trim().as_bytes()) {
                        Ok(n) => (CaptureSource::Header(n), regex, format!("header {h}")),
                        Err(_) => {
                            p.at(
                                span.clone(),
                                format!("capture `{name}`: invalid header name {h:?}"),
                                None,
                            );
                            continue;
                        }
                    },
                    (None, None, Some(b)) => {
                        if regex.is_some() {
                            p.at(
                                span.clone(),
                                format!(
                                    "capture `{name}`: `body` is the regex already; remove `regex`"
                                ),
                                None,
                            );
                            continue;
                        }
                        match compile(&b, p) {
                            Some(r) => (CaptureSource::Body, Some(r), "the body".to_string()),
                            None => continue,
                        }
                    }
                    _ => {
                        p.at(
                            span.clone(),
                            format!(
                                "capture `{name}` needs exactly one of `json`, `header` and `body`"
                            ),
                            hint,
                        );
                        continue;
                    }
                }
            }
        };
        known.insert(name.clone());
        out.push(Capture {
            name,
            source,
            regex,
            describe,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{ProbeKind, parse};

    fn flow(toml: &str) -> Result<super::FlowTarget, String> {
        let cfg = parse(Path::new("probes.toml"), toml, |n| {
            (n == "PASS").then(|| "hunter22".to_string())
        })
        .map_err(|e| e.to_string())?;
        match cfg.probes.into_iter().next().map(|p| p.kind) {
            Some(ProbeKind::Flow(f)) => Ok(f),
            other => Err(format!("not a flow: {other:?}")),
        }
    }

    #[test]
    fn steps_resolve_with_their_defaults_and_captures() {
        let f = flow(
            r#"[[probe]]
id = "f"
kind = "flow"
user_agent = "synthetic/1"

[[probe.step]]
url = "https://a.test/login"
method = "post"
body = '{"password": "${PASS}"}'
capture = { token = { json = "$.token" }, code = "status" }

[[probe.step]]
name = "  read  "
url = "https://a.test/x/{{token}}?at={{now}}"
headers = { Authorization = "Bearer {{token}}", X-Plain = "yes" }
timeout = "2s"
always = true
"#,
        )
        .expect("valid");
        let [login, read] = &f.steps[..] else {
            panic!("two steps")
        };
        assert_eq!(login.name, "step 1");
        assert_eq!(login.target.method, http::Method::POST);
        assert_eq!(login.target.user_agent, "synthetic/1");
        let names: Vec<&str> = login.captures.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["code", "token"]);
        assert!(login.needs_body());
        assert_eq!(read.name, "read");
        assert!(read.always);
        assert_eq!(read.timeout, Some(std::time::Duration::from_secs(2)));
        assert_eq!(read.references().collect::<Vec<_>>(), ["token", "token"]);
        let sensitive: Vec<bool> = read.headers.iter().map(|(_, _, s)| *s).collect();
        assert_eq!(sensitive, [true, false]);
        assert!(!read.needs_body());
    }

    #[test]
    fn flow_level_http_keys_and_bad_steps_are_refused() {
        let e = flow(
            r#"[[probe]]
id = "f"
kind = "flow"
url = "https://a.test/"

[[probe.step]]
url = "ftp://a.test/"
timeout = "11m"
capture = { uuid = "status", n = "body" }
"#,
        )
        .expect_err("invalid");
        assert!(
            e.contains("probes.toml:4:7: `url` does not apply to a flow probe"),
            "{e}"
        );
        assert!(e.contains("unsupported URL scheme"), "{e}");
        assert!(e.contains("timeout"), "{e}");
        assert!(e.contains("invalid capture name \"uuid\""), "{e}");
        assert!(e.contains("capture `n`: unknown source \"body\""), "{e}");
    }
}

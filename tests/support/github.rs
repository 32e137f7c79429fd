//! An in-memory fake of the GitHub REST endpoints Outpost uses: those of the
//! `github-issue` channel (get a repository, list issues with state and label
//! filters and pages, create an issue, comment on one, patch one) and the one
//! the status workflow's keep-alive step calls (enable a workflow). It checks
//! the Bearer token and records every call.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde_json::{Value, json};

use super::http::{self, Body};
use super::tls::{self, Identity};

/// One issue as the fake holds it.
#[derive(Debug, Clone)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    /// `open` or `closed`.
    pub state: String,
    pub state_reason: Option<String>,
    pub comments: Vec<String>,
    pub pull_request: bool,
}

/// One request the fake answered: method, path and query, status.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub authorization: String,
}

#[derive(Default)]
struct State {
    issues: Vec<Issue>,
    calls: Vec<Call>,
    /// Statuses to answer the next requests with, before any routing.
    failures: VecDeque<u16>,
}

/// A fake GitHub API for `owner/repo`, accepting `token`.
pub struct FakeGithub {
    pub addr: SocketAddr,
    https: bool,
    state: Arc<Mutex<State>>,
}

impl FakeGithub {
    /// Start the fake for repository `repo` (`owner/name`), over HTTP.
    pub fn start(repo: &str, token: &str) -> Self {
        Self::start_with(repo, token, None)
    }

    /// The same over HTTPS with `identity`, as a GitHub Enterprise server
    /// signed by a private CA.
    pub fn start_https(repo: &str, token: &str, identity: Identity) -> Self {
        Self::start_with(repo, token, Some(identity))
    }

    fn start_with(repo: &str, token: &str, identity: Option<Identity>) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let repo = repo.to_string();
        let token = token.to_string();
        let handler = move |req| {
            let state = shared.clone();
            let repo = repo.clone();
            let token = token.clone();
            async move { handle(req, &state, &repo, &token).await }
        };
        let https = identity.is_some();
        let addr = match identity {
            Some(identity) => tls::serve_https(identity, handler),
            None => http::serve(handler),
        };
        FakeGithub { addr, https, state }
    }

    /// What to write as the channel's `base_url` (GitHub Enterprise style for HTTPS).
    pub fn base_url(&self) -> String {
        if self.https {
            format!("https://localhost:{}/api/v3", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        }
    }

    pub fn issues(&self) -> Vec<Issue> {
        self.state.lock().expect("state").issues.clone()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().expect("state").calls.clone()
    }

    /// Forget the calls so far.
    pub fn clear_calls(&self) {
        self.state.lock().expect("state").calls.clear();
    }

    /// Answer the next request with `status` (and a GitHub-style error body).
    pub fn fail_next(&self, status: u16) {
        self.state.lock().expect("state").failures.push_back(status);
    }

    /// Add an issue directly, as a person (or another tool) would have opened it.
    pub fn seed(&self, title: &str, body: &str, labels: &[&str], pull_request: bool) -> u64 {
        let mut s = self.state.lock().expect("state");
        let number = s.issues.len() as u64 + 1;
        s.issues.push(Issue {
            number,
            title: title.to_string(),
            body: body.to_string(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            state: "open".to_string(),
            state_reason: None,
            comments: Vec::new(),
            pull_request,
        });
        number
    }
}

fn json_response(status: u16, v: Value) -> Response<Body> {
    let mut r = http::respond(status, v.to_string());
    r.headers_mut().insert(
        "content-type",
        "application/json; charset=utf-8".parse().expect("header"),
    );
    r
}

fn error(status: u16, message: &str) -> Response<Body> {
    json_response(
        status,
        json!({"message": message, "documentation_url": "https://docs.github.com/rest"}),
    )
}

fn issue_json(i: &Issue) -> Value {
    let mut v = json!({
        "number": i.number,
        "title": i.title,
        "body": i.body,
        "state": i.state,
        "state_reason": i.state_reason,
        "labels": i.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
        "html_url": format!("https://github.example/issues/{}", i.number),
    });
    if i.pull_request {
        v["pull_request"] = json!({"url": "https://github.example/pulls/1"});
    }
    v
}

fn query_param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn handle(
    req: Request<Incoming>,
    state: &Mutex<State>,
    repo: &str,
    token: &str,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let header = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    let authorization = header("authorization");
    let mut s = state.lock().expect("state");
    let response = if let Some(status) = s.failures.pop_front() {
        error(status, "injected failure")
    } else if authorization != format!("Bearer {token}") {
        // GitHub's answer to a bad token; echoes nothing of it.
        error(401, "Bad credentials")
    } else if header("user-agent").is_empty() {
        error(
            403,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
        )
    } else if header("accept") != "application/vnd.github+json"
        || header("x-github-api-version") != "2022-11-28"
    {
        error(400, "missing GitHub media type or API version")
    } else {
        route(&mut s, &method, &path, &query, &body, repo)
    };
    s.calls.push(Call {
        method: method.to_string(),
        path,
        query,
        status: response.status().as_u16(),
        authorization,
    });
    response
}

fn route(
    s: &mut State,
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
    repo: &str,
) -> Response<Body> {
    let path = path.strip_prefix("/api/v3").unwrap_or(path);
    let prefix = format!("/repos/{repo}");
    let Some(rest) = path.strip_prefix(&prefix) else {
        return error(404, "Not Found");
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let input: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (method.as_str(), segments.as_slice()) {
        ("GET", []) => json_response(200, json!({"full_name": repo, "has_issues": true})),
        ("GET", ["issues"]) => {
            let state = query_param(query, "state").unwrap_or_else(|| "open".to_string());
            let labels: Vec<String> = query_param(query, "labels")
                .map(|l| l.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            let per_page: usize = query_param(query, "per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(30)
                .min(100);
            let page: usize = query_param(query, "page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1)
                .max(1);
            // Newest first, as GitHub sorts by default.
            let matching: Vec<Value> = s
                .issues
                .iter()
                .rev()
                .filter(|i| state == "all" || i.state == state)
                .filter(|i| labels.iter().all(|l| i.labels.contains(l)))
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(issue_json)
                .collect();
            json_response(200, Value::Array(matching))
        }
        ("POST", ["issues"]) => {
            let Some(title) = input["title"].as_str() else {
                return error(422, "Validation Failed: title");
            };
            let number = s.issues.len() as u64 + 1;
            let issue = Issue {
                number,
                title: title.to_string(),
                body: input["body"].as_str().unwrap_or_default().to_string(),
                labels: input["labels"]
                    .as_array()
                    .map(|ls| {
                        ls.iter()
                            .filter_map(|l| l.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                state: "open".to_string(),
                state_reason: None,
                comments: Vec::new(),
                pull_request: false,
            };
            let answer = issue_json(&issue);
            s.issues.push(issue);
            json_response(201, answer)
        }
        ("POST", ["issues", number, "comments"]) => {
            let Some(issue) = find(s, number) else {
                return error(404, "Not Found");
            };
            let Some(text) = input["body"].as_str() else {
                return error(422, "Validation Failed: body");
            };
            issue.comments.push(text.to_string());
            json_response(201, json!({"id": issue.comments.len(), "body": text}))
        }
        ("PATCH", ["issues", number]) => {
            let Some(issue) = find(s, number) else {
                return error(404, "Not Found");
            };
            if let Some(state) = input["state"].as_str() {
                issue.state = state.to_string();
            }
            if let Some(reason) = input["state_reason"].as_str() {
                issue.state_reason = Some(reason.to_string());
            }
            let answer = issue_json(issue);
            json_response(200, answer)
        }
        ("PUT", ["actions", "workflows", _workflow, "enable"]) => http::respond(204, ""),
        _ => error(404, "Not Found"),
    }
}

fn find<'a>(s: &'a mut State, number: &str) -> Option<&'a mut Issue> {
    let number: u64 = number.parse().ok()?;
    s.issues.iter_mut().find(|i| i.number == number)
}

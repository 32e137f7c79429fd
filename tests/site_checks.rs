//! Checks over a whole site rendered by the real binary (SPEC §7): every
//! string a target sends is hostile and comes out inert in every file;
//! `metrics.prom` passes `promtool check metrics`; the index of 100 probes with
//! 90 days of bars stays under 200 KB.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use support::{Workspace, http, outpost};

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";
const SECRET: &str = "hunter2-in-the-url";

/// Run `outpost run` at `now` (the exit code may be 1: probes are down).
fn run_at(ws: &Workspace, toml: &str, now: &str) {
    let (code, doc) = ws.run_json(toml, &["--now", now]);
    assert!(code == 0 || code == 1, "run at {now}: exit {code}\n{doc:#}");
}

/// `outpost render` of the workspace's store into `out`.
fn render(ws: &Workspace, out: &Path, now: &str) {
    let o = outpost()
        .arg("render")
        .arg("-c")
        .arg(ws.path().join("probes.toml"))
        .arg("--db")
        .arg(ws.db())
        .arg("--out")
        .arg(out)
        .args(["--now", now])
        .output()
        .expect("run outpost render");
    assert!(
        o.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Every file under `dir`, relative path and bytes, sorted.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read(&path).expect("read")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A target that puts markup in everything it sends: a header, a JSON field,
/// an HTML body and a Prometheus exposition with a broken line.
fn hostile_target() -> SocketAddr {
    http::serve(|req| async move {
        let path = req.uri().path().to_string();
        let (status, body) = match path.as_str() {
            "/json" => (
                200,
                serde_json::json!({ "status": format!("{SCRIPT}{IMG}") }).to_string(),
            ),
            "/metrics" => (200, format!("up 1\nqueue_depth 3 {SCRIPT}\n")),
            "/error" => (500, format!("<html><body>{SCRIPT}{IMG}</body></html>")),
            _ => (200, format!("<html><body>{SCRIPT}{IMG}</body></html>")),
        };
        let mut r = http::respond(status, body);
        r.headers_mut().insert(
            "x-app",
            hyper::header::HeaderValue::from_static(
                "<script>alert(1)</script>\"><img src=x onerror=alert(1)>",
            ),
        );
        r
    })
}

fn hostile_config(target: SocketAddr) -> String {
    format!(
        r#"[page]
title = "Acme </title><script>alert(1)</script>"
description = "{desc}"
url = "https://status.example.test"

[defaults]
failure_threshold = 1

[[probe]]
id = "named"
name = "<script>x</script>"
group = "</style><script>alert(1)</script>"
url = "http://{target}/"

[[probe]]
id = "header"
name = "Header {img}"
group = "</style><script>alert(1)</script>"
url = "http://{target}/"
expect.headers = {{ "x-app" = "ok" }}

[[probe]]
id = "json"
name = "JSON"
group = "</style>"
url = "http://{target}/json"
expect.json = {{ "$.status" = "UP" }}

[[probe]]
id = "body"
name = "Body"
url = "http://{target}/"
expect.body_contains = "{SCRIPT} not there"

[[probe]]
id = "status"
name = "Status"
url = "http://user:{SECRET}@{target}/error?token={SECRET}"
public_target = true

[[probe]]
id = "metrics"
name = "Metrics"
kind = "metrics"
url = "http://{target}/metrics"
expect.metrics = {{ "up" = "== 1" }}
"#,
        desc = IMG.replace('"', "\\\""),
        img = IMG.replace('"', "\\\""),
    )
}

/// A written incident whose Markdown carries raw HTML and a `javascript:` link.
const HOSTILE_INCIDENT: &str = r#"+++
title = "Errors on <script>alert(1)</script>"
probes = ["named"]
impact = "major"

[[updates]]
at = "2026-11-20T10:05:00Z"
status = "investigating"
body = "Looking <img src=x onerror=alert(1)> into [it](javascript:alert(1))."
+++
<script>alert(1)</script>

<img src=x onerror=alert(1)>

[click me](javascript:alert(1))
"#;

/// One tag of an HTML document: its lower-case name (`/style` for a closing
/// tag) and attributes (lower-case name, value).
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
}

/// The tags of `html`, read the way a browser's tokenizer does in the data
/// state: a `<` followed by a letter, `/` or `!` opens one, quoted attribute
/// values may hold anything. Escaped text (`&lt;`) never opens a tag, so
/// every tag found is live markup.
fn tags(html: &str) -> Vec<Tag> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        let start = i;
        if html[i..].starts_with("<!--") {
            i = html[i..].find("-->").map_or(b.len(), |e| i + e + 3);
            continue;
        }
        let opens = b
            .get(i + 1)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'/' || *c == b'!');
        if !opens {
            i += 1;
            continue;
        }
        i += 1;
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
            if i > name_start && b[i] == b'/' {
                break;
            }
            i += 1;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        let mut attrs = Vec::new();
        loop {
            while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() || b[i] == b'>' {
                i += 1;
                break;
            }
            let a = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && !b"=>/".contains(&b[i]) {
                i += 1;
            }
            let attr = html[a..i].to_ascii_lowercase();
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let mut value = String::new();
            if b.get(i) == Some(&b'=') {
                i += 1;
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                match b.get(i) {
                    Some(&q) if q == b'"' || q == b'\'' => {
                        let end = html[i + 1..].find(q as char).map_or(b.len(), |e| i + 1 + e);
                        value = html[i + 1..end].to_string();
                        i = end + 1;
                    }
                    _ => {
                        let v = i;
                        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                            i += 1;
                        }
                        value = html[v..i].to_string();
                    }
                }
            }
            if !attr.is_empty() {
                attrs.push((attr, value));
            }
        }
        let end = i.min(b.len());
        out.push(Tag {
            name,
            attrs,
            text: html[start..end].to_string(),
        });
    }
    out
}

/// Problems with the live markup of an HTML document (or an HTML fragment
/// from a feed): scripts, images, frames, event handlers, `javascript:` URLs,
/// style blocks (pages link the site's own `style.css`) and other
/// stylesheets. Outpost's own inline script is taken out first.
fn live_markup(html: &str) -> Vec<String> {
    let own = format!(
        "<script>\n{}\n</script>",
        include_str!("../templates/dismiss.js")
    );
    let html = html.replace(&own, "");
    let mut problems = Vec::new();
    for tag in tags(&html) {
        match tag.name.as_str() {
            "script" | "/script" | "img" | "iframe" | "object" | "embed" | "style" => {
                problems.push(format!("live <{}> tag: {}", tag.name, tag.text));
            }
            "link" => {
                let attr = |n: &str| {
                    tag.attrs
                        .iter()
                        .find(|(k, _)| k == n)
                        .map(|(_, v)| v.as_str())
                };
                if attr("rel") == Some("stylesheet")
                    && !matches!(attr("href"), Some("style.css" | "../style.css"))
                {
                    problems.push(format!("another stylesheet: {}", tag.text));
                }
            }
            _ => {}
        }
        for (name, value) in &tag.attrs {
            if name.starts_with("on") {
                problems.push(format!("event handler attribute {name}: {}", tag.text));
            }
            let value = value.trim().to_ascii_lowercase();
            if value.starts_with("javascript:") || value.starts_with("data:text/html") {
                problems.push(format!("script URL in {name}: {}", tag.text));
            }
        }
    }
    problems
}

/// The HTML carried inside a feed, after XML unescaping (what a feed reader
/// renders): Atom `type="html"` elements and RSS item descriptions.
fn feed_html(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| {
            n.is_element()
                && (n.attribute("type") == Some("html")
                    || (n.tag_name().name() == "description"
                        && n.parent_element()
                            .is_some_and(|p| p.tag_name().name() == "item")))
        })
        .filter_map(|n| n.text().map(str::to_string))
        .collect()
}

#[test]
fn hostile_text_is_inert_in_every_file() {
    let target = hostile_target();
    let ws = Workspace::new();
    let toml = hostile_config(target);
    std::fs::create_dir(ws.path().join("incidents")).expect("mkdir incidents");
    std::fs::write(ws.path().join("incidents/hostile.md"), HOSTILE_INCIDENT).expect("incident");
    for minute in [0, 5, 10] {
        run_at(&ws, &toml, &format!("2026-11-20T10:{minute:02}:00Z"));
    }
    // Kept after the test (under target/tmp) so a failure can be looked at.
    let out =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("hostile-site-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    render(&ws, &out, "2026-11-20T10:15:00Z");

    let site = files(&out);
    let mut problems = Vec::new();
    let mut seen_messages = false;
    for (rel, bytes) in &site {
        let text = String::from_utf8_lossy(bytes);
        if text.contains(SECRET) {
            problems.push(format!("{rel}: shows the URL's credentials or query"));
        }
        let ext = rel.rsplit('.').next().unwrap_or("");
        match ext {
            "html" => {
                problems.extend(
                    live_markup(&text)
                        .into_iter()
                        .map(|p| format!("{rel}: {p}")),
                );
                if text.to_ascii_lowercase().contains("onerror=alert") {
                    seen_messages = true;
                }
            }
            "json" => {
                if let Err(e) = serde_json::from_slice::<serde_json::Value>(bytes) {
                    problems.push(format!("{rel}: not JSON: {e}"));
                }
            }
            "svg" | "atom" | "rss" | "xml" => match roxmltree::Document::parse(&text) {
                Ok(doc) => {
                    if ext == "svg" {
                        let bad = doc.descendants().filter(|n| n.is_element()).any(|n| {
                            n.tag_name().name() == "script"
                                || n.attributes().any(|a| a.name().starts_with("on"))
                        });
                        if bad {
                            problems.push(format!("{rel}: live script in SVG"));
                        }
                    }
                    for fragment in feed_html(&doc) {
                        problems.extend(
                            live_markup(&fragment)
                                .into_iter()
                                .map(|p| format!("{rel} (feed HTML): {p}")),
                        );
                    }
                }
                Err(e) => problems.push(format!("{rel}: not XML: {e}")),
            },
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The hostile text was shown (escaped), not dropped: otherwise the checks
    // above prove nothing.
    assert!(seen_messages, "no page quotes the hostile target text");
    let index = std::fs::read_to_string(out.join("index.html")).expect("index");
    assert!(
        index.contains("&lt;script&gt;x&lt;&#x2F;script&gt;")
            || index.contains("&lt;script&gt;x&lt;/script&gt;"),
        "the probe named with markup is missing or not escaped"
    );
    let every = site
        .iter()
        .map(|(r, _)| r.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    for needed in [
        "index.html",
        "history.html",
        "history.atom",
        "history.rss",
        "metrics.prom",
        "api/v2/summary.json",
        "probe/named.html",
        "badge/named.svg",
    ] {
        assert!(every.contains(needed), "{needed} missing from {every}");
    }
    // Each probe's message quotes its target's markup somewhere on its page.
    for id in ["header", "json", "metrics"] {
        let page = std::fs::read_to_string(out.join(format!("probe/{id}.html"))).expect("page");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;"),
            "probe/{id}.html does not quote the target's text"
        );
    }
}

#[test]
fn tag_scanner_finds_live_markup() {
    let inert = "<p title=\"a > b onerror=x\" class=x>&lt;script&gt;alert(1)&lt;/script&gt; onerror=x a < b</p><!-- <script> -->";
    assert!(live_markup(inert).is_empty(), "{:?}", live_markup(inert));
    assert_eq!(live_markup("<p><script>alert(1)</script></p>").len(), 2);
    assert_eq!(
        live_markup("<p title=\"\"><img src=x onerror=alert(1)>").len(),
        2
    );
    assert_eq!(
        live_markup("<a href=\" JavaScript:alert(1)\">x</a>").len(),
        1
    );
    assert_eq!(live_markup("<svg/onload=alert(1)>").len(), 1);
    assert_eq!(live_markup("<style></style>").len(), 1);
    assert_eq!(
        live_markup("<link rel=\"stylesheet\" href=\"https://x.test/a.css\">").len(),
        1
    );
    assert!(live_markup("<link rel=\"stylesheet\" href=\"../style.css\">").is_empty());
    let own = format!(
        "<script>\n{}\n</script>",
        include_str!("../templates/dismiss.js")
    );
    assert!(live_markup(&own).is_empty());
    assert_eq!(live_markup(&own.replace("Escape", "Enter")).len(), 2);
}

/// `promtool`, when installed.
fn promtool() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("promtool"))
        .find(|p| p.is_file())
}

#[test]
fn metrics_file_passes_promtool() {
    let Some(promtool) = promtool() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but promtool is missing (apt-get install prometheus)"
        );
        eprintln!("note: skipping promtool check (promtool missing, CI unset)");
        return;
    };
    let web = http::serve(|_req| async { http::respond(200, "ok") });
    let broken = http::serve(|_req| async { http::respond(503, "no") });
    let ws = Workspace::new();
    let toml = format!(
        "[[probe]]\nid = \"web\"\nname = \"Web \\\"main\\\"\"\ngroup = \"Edge\"\nurl = \"http://{web}/\"\n\n\
         [[probe]]\nid = \"broken\"\nurl = \"http://{broken}/\"\n\n\
         [[probe]]\nid = \"db\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{}\"\n\n\
         [[probe]]\nid = \"scrape\"\nkind = \"metrics\"\nurl = \"http://{web}/metrics\"\n",
        http::closed_port()
    );
    run_at(&ws, &toml, "2026-11-20T10:00:00Z");
    let out = ws.path().join("public");
    render(&ws, &out, "2026-11-20T10:05:00Z");
    let metrics = std::fs::read(out.join("metrics.prom")).expect("metrics.prom");
    for name in ["probe_success", "probe_duration_seconds"] {
        assert!(
            String::from_utf8_lossy(&metrics).contains(name),
            "metrics.prom has no {name}"
        );
    }

    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&metrics).expect("write to promtool");
    }
    let o = child.wait_with_output().expect("promtool");
    assert!(
        o.status.success(),
        "promtool check metrics failed:\n{}{}\n--- metrics.prom ---\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&metrics)
    );
}

/// Days of history the size check simulates, one run a day.
const DAYS: usize = 90;

/// Whether `probe` (of 100) fails on `day` (0 = 89 days ago) at `minute`.
/// Every ninth day a fifth of the probes have a short outage (each probe
/// twice in the 90 days), recovered five minutes later; today every probe is
/// down, the worst case of the page (every row says Down, and the happening-now
/// cards summarise).
fn fails(probe: usize, day: usize, minute: usize) -> bool {
    if day + 1 == DAYS {
        return true;
    }
    minute == 0 && day % 9 == 4 && (probe + day / 9).is_multiple_of(5)
}

/// 100 probes against one local server (which answers 503 for the probes
/// failing at the moment), run once a day for 90 days, twice on bad days.
#[test]
fn index_of_100_probes_with_90_days_is_under_200_kb() {
    // day * 100 + minute of the run in progress.
    let clock = Arc::new(AtomicUsize::new(0));
    let c = clock.clone();
    let web = http::serve(move |req| {
        let now = c.load(Ordering::SeqCst);
        let probe: usize = req
            .uri()
            .path()
            .trim_start_matches("/p")
            .parse()
            .unwrap_or(0);
        async move {
            if fails(probe, now / 100, now % 100) {
                http::respond(503, "unavailable")
            } else {
                http::respond(200, "ok")
            }
        }
    });
    let mut toml = String::from(
        "[page]\ntitle = \"Big\"\nurl = \"https://status.example.test\"\nhistory_days = 90\n\n\
         [defaults]\nfailure_threshold = 1\ntimeout = \"2s\"\n",
    );
    for i in 0..100 {
        let group = [
            "Edge",
            "Core services",
            "Data",
            "Payments",
            "Internal tools",
        ][i % 5];
        toml.push_str(&format!(
            "\n[[probe]]\nid = \"p{i}\"\nname = \"Service number {i}\"\ngroup = \"{group}\"\nurl = \"http://{web}/p{i}\"\n"
        ));
    }
    let ws = Workspace::new();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("date");
    for day in 0..DAYS {
        let date = today - chrono::Days::new((DAYS - 1 - day) as u64);
        let bad = (0..100).any(|p| fails(p, day, 0));
        for minute in if bad { &[0, 5][..] } else { &[0][..] } {
            clock.store(day * 100 + minute, Ordering::SeqCst);
            run_at(&ws, &toml, &format!("{date}T10:{minute:02}:00Z"));
        }
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("site-100-probes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    render(&ws, &out, &format!("{today}T10:15:00Z"));
    let index = std::fs::read_to_string(out.join("index.html")).expect("index");
    for i in 0..100 {
        assert!(
            index.contains(&format!("Service number {i}<")),
            "probe {i} missing from index.html"
        );
    }
    let kb = index.len() as f64 / 1024.0;
    eprintln!("index.html for 100 probes: {kb:.1} KB");
    assert!(
        index.len() < 200 * 1024,
        "index.html is {kb:.1} KB for 100 probes; the budget is 200 KB"
    );
}

/// The text files of a rendered site: HTML, JSON and feeds (not badges).
fn public_texts(dir: &Path) -> Vec<(String, String)> {
    files(dir)
        .into_iter()
        .filter(|(p, _)| !p.ends_with(".svg"))
        .map(|(p, b)| (p, String::from_utf8_lossy(&b).into_owned()))
        .collect()
}

#[test]
fn private_addresses_never_reach_a_public_output() {
    let closed = http::closed_port();
    // "resolver 127.0.0.1:PORT answered NXDOMAIN for A nope.private.example".
    let silent = support::dns::serve_dns().to_string();
    let toml = format!(
        r#"[page]
title = "Private"

[defaults]
failure_threshold = 1

[[probe]]
id = "resolver"
name = "Resolver"
kind = "dns"
target = "nope.private.example"
record = "A"
resolver = "{silent}"
timeout = "1s"

[[probe]]
id = "web"
name = "Web"
url = "http://127.0.0.1:{closed}/private-path"
timeout = "1s"

[[probe]]
id = "open"
name = "Open"
url = "http://localhost:{closed}/public-path"
timeout = "1s"
public_target = true
"#
    );
    let ws = Workspace::new();
    let now = "2026-11-25T10:00:00Z";
    let (_, doc) = ws.run_json(&toml, &["--now", now]);
    // The JSON output is private: it keeps the whole message.
    let message = support::result(&doc, "resolver")["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(message.contains("nope.private.example"), "{doc:#}");
    let out = ws.path().join("site");
    render(&ws, &out, now);
    let texts = public_texts(&out);
    for (path, text) in &texts {
        for secret in [silent.as_str(), "private.example", "private-path"] {
            assert!(!text.contains(secret), "{path} shows {secret}");
        }
        assert!(
            !text.contains(&format!("127.0.0.1:{closed}")),
            "{path} shows the private address"
        );
    }
    let page = &texts
        .iter()
        .find(|(p, _)| p == "probe/resolver.html")
        .expect("resolver page")
        .1;
    assert!(
        page.contains("[hidden]"),
        "the message says something was hidden"
    );
    // A public target keeps its address in its messages.
    let open = &texts
        .iter()
        .find(|(p, _)| p == "probe/open.html")
        .expect("open")
        .1;
    assert!(open.contains("public-path"));
}

/// Every `href` and `src` of an HTML page (entities decoded as the site writes them).
fn html_links(html: &str) -> Vec<String> {
    tags(html)
        .into_iter()
        .flat_map(|t| t.attrs)
        .filter(|(k, _)| k == "href" || k == "src")
        .map(|(_, v)| {
            v.replace("&amp;", "&")
                .replace("&#x2F;", "/")
                .replace("&#47;", "/")
        })
        .collect()
}

/// The ids a page defines.
fn html_ids(html: &str) -> Vec<String> {
    tags(html)
        .into_iter()
        .flat_map(|t| t.attrs)
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v)
        .collect()
}

/// `outpost demo` rendered into the workspace; returns the site folder.
fn demo_site(ws: &Workspace) -> PathBuf {
    let out = ws.path().join("site");
    let o = outpost()
        .arg("demo")
        .arg("--out")
        .arg(&out)
        .arg("--db")
        .arg(ws.path().join("demo.db"))
        .output()
        .expect("run outpost demo");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

#[test]
fn the_written_postmortem_is_on_history_the_probe_page_the_api_and_the_feeds() {
    let ws = Workspace::new();
    let out = demo_site(&ws);
    let read = |p: &str| std::fs::read_to_string(out.join(p)).expect("read");
    // From the Markdown below the front matter of the demo's note.
    let html = "<strong>payments database pool</strong>";
    assert!(read("history.html").contains(html), "history.html");
    assert!(read("probe/payments.html").contains(html), "probe page");
    let incidents: serde_json::Value =
        serde_json::from_str(&read("api/v2/incidents.json")).expect("json");
    let with: Vec<&serde_json::Value> = incidents["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .filter(|i| i["postmortem_body"].is_string())
        .collect();
    assert_eq!(with.len(), 1, "one incident has a postmortem");
    assert!(
        with[0]["postmortem_body"]
            .as_str()
            .is_some_and(|b| b.contains("**payments database pool**"))
    );
    for feed in ["history.atom", "history.rss"] {
        assert!(
            read(feed).contains("payments database pool"),
            "{feed} carries the postmortem"
        );
    }
}

#[test]
fn every_internal_link_and_fragment_of_the_demo_site_lands() {
    let ws = Workspace::new();
    let out = demo_site(&ws);
    let all = public_texts(&out);
    let by_path: std::collections::HashMap<&str, &str> =
        all.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();

    // (the file a link is in, the link)
    let mut links: Vec<(String, String)> = Vec::new();
    for (path, text) in &all {
        if path.ends_with(".html") {
            links.extend(html_links(text).into_iter().map(|l| (path.clone(), l)));
        } else if path.ends_with(".json") {
            let v: serde_json::Value = serde_json::from_str(text).expect("json");
            for list in ["incidents", "scheduled_maintenances"] {
                for i in v[list].as_array().into_iter().flatten() {
                    if let Some(l) = i["shortlink"].as_str() {
                        links.push((String::new(), l.to_string()));
                    }
                }
            }
        } else if path.ends_with(".atom") || path.ends_with(".rss") {
            let doc = roxmltree::Document::parse(text).expect("feed");
            for n in doc.descendants() {
                if n.has_tag_name("link") {
                    let l = n.attribute("href").or(n.text()).unwrap_or("").trim();
                    if !l.is_empty() {
                        links.push((String::new(), l.to_string()));
                    }
                }
            }
        }
    }
    assert!(links.len() > 100, "only {} links", links.len());
    let mut fragments = 0;
    for (from, link) in &links {
        if link.starts_with("http://")
            || link.starts_with("https://")
            || link.starts_with("mailto:")
        {
            continue;
        }
        let (file, fragment) = match link.split_once('#') {
            Some((f, frag)) => (f, Some(frag)),
            None => (link.as_str(), None),
        };
        // Relative to the linking file's folder (API and feed links to the root).
        let mut parts: Vec<&str> = from.split('/').collect();
        parts.pop();
        let target = if file.is_empty() {
            from.clone()
        } else {
            for seg in file.split('/') {
                match seg {
                    ".." => {
                        parts.pop();
                    }
                    "." | "" => {}
                    s => parts.push(s),
                }
            }
            parts.join("/")
        };
        let Some(text) = by_path.get(target.as_str()) else {
            assert!(
                out.join(&target).is_file(),
                "{from}: {link} leads nowhere ({target})"
            );
            continue;
        };
        if let Some(frag) = fragment.filter(|f| !f.is_empty()) {
            fragments += 1;
            assert!(
                html_ids(text).iter().any(|id| id == frag),
                "{from}: {link}: no id {frag} in {target}"
            );
        }
    }
    assert!(fragments > 10, "only {fragments} fragments followed");
}

/// A probe that is down from its very first result, run and rendered at the
/// same instant.
fn fresh_outage(ws: &Workspace, extra: &str) -> PathBuf {
    let closed = http::closed_port();
    let toml = format!(
        r#"[page]
title = "Fresh"
history_days = 30

[defaults]
failure_threshold = 1

[[probe]]
id = "web"
name = "Web"
url = "http://127.0.0.1:{closed}/"
timeout = "1s"
{extra}"#
    );
    let now = "2026-11-25T10:00:00Z";
    run_at(ws, &toml, now);
    let out = ws.path().join("site");
    // A minute later, as the next cron job would.
    render(ws, &out, "2026-11-25T10:01:00Z");
    out
}

/// The class of the last day bar (today) of each bar row of `html`.
fn today_classes(html: &str) -> Vec<String> {
    html.split("<ol class=\"bars")
        .skip(1)
        .filter_map(|row| {
            let row = &row[..row.find("</ol>")?];
            let last = row.rfind("<li")?;
            let tag = &row[last..];
            // Bars quote a class only when it has a space; an operational
            // bar has none, and counts as "" (not as no bar at all).
            let Some(at) = tag.find(" class=") else {
                return Some(String::new());
            };
            let value = &tag[at + 7..];
            let class = match value.strip_prefix('"') {
                Some(quoted) => &quoted[..quoted.find('"')?],
                None => &value[..value.find([' ', '>'])?],
            };
            Some(class.to_string())
        })
        .collect()
}

#[test]
fn todays_bar_is_down_the_minute_a_probe_goes_down() {
    let ws = Workspace::new();
    let out = fresh_outage(&ws, "");
    for page in ["index.html", "probe/web.html"] {
        let html = std::fs::read_to_string(out.join(page)).expect("read");
        let classes = today_classes(&html);
        assert!(!classes.is_empty(), "{page}: no bars");
        for c in classes {
            assert!(c.split(' ').any(|c| c == "down"), "{page}: today is {c}");
        }
        assert!(!html.contains("Operational · 0% uptime"), "{page}");
    }
}

#[test]
fn a_new_probe_at_zero_uptime_claims_no_spent_budget_no_p95_and_no_empty_months() {
    let ws = Workspace::new();
    let out = fresh_outage(&ws, "");
    let html = std::fs::read_to_string(out.join("probe/web.html")).expect("read");
    assert!(
        !html.contains("used up"),
        "one failed minute is not the budget"
    );
    assert!(!html.contains("exhausted") && !html.contains("overspent"));
    let cards = &html[html.find("p95 latency, 30 days").expect("p95 card")..];
    let value = &cards[cards.find("class=\"v\">").expect("value") + 10..];
    assert!(
        !value.starts_with(|c: char| c.is_ascii_digit()),
        "p95 of a probe that never answered: {}",
        &value[..20.min(value.len())]
    );
    let months = &html[html.find("<h3>By month</h3>").expect("months")..];
    let months = &months[..months.find("</ol>").unwrap_or(months.len())];
    assert_eq!(months.matches("<li").count(), 1, "{months}");
    let index = std::fs::read_to_string(out.join("index.html")).expect("read");
    assert!(!index.contains("Investigating"), "nobody is investigating");
    assert!(index.contains("Ongoing"));
}

#[test]
fn completed_maintenance_stays_in_the_history_window() {
    let ws = Workspace::new();
    let out = fresh_outage(
        &ws,
        r#"
[[maintenance]]
title = "Database upgrade"
start = "2026-11-20T01:00:00Z"
end = "2026-11-20T02:00:00Z"

[[maintenance]]
title = "Ancient move"
start = "2026-09-01T01:00:00Z"
end = "2026-09-01T02:00:00Z"
"#,
    );
    let history = std::fs::read_to_string(out.join("history.html")).expect("read");
    assert!(history.contains("Database upgrade") && history.contains("Completed"));
    assert!(!history.contains("Ancient move"), "older than history_days");
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("api/v2/scheduled-maintenances.json")).expect("read"),
    )
    .expect("json");
    let list = doc["scheduled_maintenances"].as_array().expect("list");
    assert_eq!(list.len(), 1, "{doc:#}");
    assert_eq!(list[0]["name"], "Database upgrade");
    assert_eq!(list[0]["status"], "completed");
}

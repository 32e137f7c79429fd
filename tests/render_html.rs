//! The HTML status pages (SPEC §7): index.html, probe/ID.html, history.html,
//! rendered from hand-built sites: one with several groups, probes in every
//! state, 90 days of history with "No data" days, open and resolved
//! incidents, maintenance and hostile text; one of 100 probes for the size
//! budget.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use outpost::model::{Cause, Outcome, State};
use outpost::render::site::{
    DayLatency, DayView, Group, Impact, IncidentStatus, IncidentUpdate, IncidentView, LatestResult,
    LocationLatency, MaintenanceView, Overall, PageInfo, PeriodUptime, PhasesMs, Point, ProbeView,
    Site, Windows,
};
use outpost::render::{File, RenderError, html};

const SCRIPT_NAME: &str = "<script>alert(1)</script>";
const IMG_MESSAGE: &str = "\"><img src=x onerror=alert(1)>";
const STYLE_GROUP: &str = "</style><script>";
const MARKUP_TITLE: &str = "Errors on <b onmouseover=alert(2)>checkout</b> & 'cart'";

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("timestamp")
}

fn now() -> DateTime<Utc> {
    t("2026-11-25T10:00:00Z")
}

fn today() -> NaiveDate {
    now().date_naive()
}

fn phases(scale: f64) -> PhasesMs {
    PhasesMs {
        dns: Some(2.0 * scale),
        connect: Some(8.0 * scale),
        tls: Some(15.0 * scale),
        ttfb: Some(60.0 * scale),
        transfer: Some(4.0 * scale),
    }
}

/// 90 days ending today: all up, except what `event` says about day `i`
/// (0 = oldest).
fn days(event: impl Fn(usize, &mut DayView)) -> Vec<DayView> {
    (0..90)
        .map(|i| {
            let mut d = DayView {
                date: today() - Duration::days(89 - i as i64),
                worst: Some(State::Operational),
                uptime: Some(100.0),
                partial_minutes: 0,
                major_minutes: 0,
                incidents: Vec::new(),
            };
            event(i, &mut d);
            d
        })
        .collect()
}

fn latest(outcome: Outcome, message: Option<&str>) -> LatestResult {
    LatestResult {
        at: now() - Duration::minutes(1),
        location: "eu-west".into(),
        outcome,
        cause: (outcome != Outcome::Up).then_some(Cause::Status),
        message: message.map(str::to_string),
        status: Some(if outcome == Outcome::Down { 503 } else { 200 }),
        latency_ms: 89.4,
        phases: phases(1.0),
        cert_expires_at: Some(t("2027-01-09T00:00:00Z")),
        body_bytes: None,
        body_decoded_bytes: None,
        http_version: None,
        ip: None,
        steps: Vec::new(),
    }
}

fn probe(id: &str, name: &str, state: State, position: usize) -> ProbeView {
    let recent = (0..288)
        .map(|i| {
            let at = now() - Duration::minutes(5 * (288 - i));
            let outcome = match i {
                100..=103 => Outcome::Down,
                200 => Outcome::Degraded,
                _ => Outcome::Up,
            };
            let scale = 1.0 + (i % 24) as f64 / 24.0;
            Point {
                at,
                outcome,
                latency_ms: 89.0 * scale,
                phases: phases(scale),
                count: 1,
                down: u32::from(outcome == Outcome::Down),
                degraded: u32::from(outcome == Outcome::Degraded),
            }
        })
        .collect();
    let daily_latency = (0..30)
        .map(|i| DayLatency {
            date: today() - Duration::days(29 - i),
            p50: (i != 3).then_some(80.0 + i as f64),
            p95: (i != 3).then_some(140.0 + 2.0 * i as f64),
            phases: if i == 3 {
                PhasesMs::default()
            } else {
                phases(1.0)
            },
        })
        .collect();
    let period = |label: String, i: usize| PeriodUptime {
        label,
        uptime: (i > 0).then_some(if i == 5 { 99.2 } else { 99.99 }),
    };
    ProbeView {
        id: id.into(),
        name: name.into(),
        group: None,
        position,
        kind: "http",
        target: Some(format!("https://{id}.example.com/health")),
        state,
        state_since: Some(now() - Duration::hours(3)),
        first_seen: Some(t("2026-01-01T00:00:00Z")),
        latest: Some(latest(Outcome::Up, None)),
        days: days(|_, _| {}),
        uptime: Windows {
            h24: Some(100.0),
            d7: Some(99.98),
            d30: Some(99.95),
            d90: Some(99.982),
        },
        p50: Windows {
            h24: Some(82.0),
            d7: Some(84.0),
            d30: Some(85.0),
            d90: Some(86.0),
        },
        p95: Windows {
            h24: Some(150.0),
            d7: Some(160.0),
            d30: Some(1234.0),
            d90: Some(170.0),
        },
        p99: Windows {
            h24: Some(300.0),
            d7: None,
            d30: Some(320.0),
            d90: Some(330.0),
        },
        slo: 99.9,
        slo_budget_left: Some(0.87),
        burn: Default::default(),
        recent,
        daily_latency,
        weeks: (0..12)
            .map(|i| period(format!("2026-W{:02}", 37 + i), i))
            .collect(),
        months: (0..12)
            .map(|i| period(format!("2026-{:02}", i + 1), i))
            .collect(),
        locations: Vec::new(),
        steps: Vec::new(),
    }
}

fn update(id: &str, at: &str, status: IncidentStatus, body: &str, html: &str) -> IncidentUpdate {
    IncidentUpdate {
        id: id.into(),
        at: t(at),
        status,
        body: body.into(),
        body_html: html.into(),
        automatic: false,
    }
}

/// Several groups, a probe in every state, 90 days with "No data" days, open
/// and resolved incidents, maintenance and hostile text.
fn site() -> Site {
    let mut api = probe("api", "Public API", State::Operational, 0);
    api.locations = vec![
        LocationLatency {
            location: "eu-west".into(),
            p50: Some(80.0),
            p95: Some(150.0),
            results: 288,
        },
        LocationLatency {
            location: "us-east".into(),
            p50: Some(120.0),
            p95: Some(210.0),
            results: 287,
        },
    ];
    api.days = days(|i, d| {
        if i == 70 {
            d.worst = Some(State::Degraded);
            d.uptime = Some(99.3);
            d.partial_minutes = 42;
            d.incidents = vec!["checkout".into()];
        }
    });

    let mut db = probe("db", "Postgres", State::Down, 1);
    db.latest = Some(latest(Outcome::Down, Some("connection refused")));
    db.slo_budget_left = Some(-0.4);
    db.days = days(|i, d| {
        if i == 89 {
            d.worst = Some(State::Down);
            d.uptime = Some(97.5);
            d.major_minutes = 36;
            d.incidents = vec!["auto-7".into()];
        }
    });

    let mut web = probe("web", "Website", State::Degraded, 2);
    web.latest = Some(latest(Outcome::Degraded, Some("slow: 2.1 s > 1 s")));

    let mut cdn = probe("cdn", "CDN", State::Maintenance, 3);
    cdn.days = days(|i, d| {
        if i == 89 {
            d.worst = Some(State::Maintenance);
        }
    });

    // A new probe: no data for its first 60 days.
    let mut dns = probe("dns", "Apex DNS", State::Unknown, 4);
    dns.latest = None;
    dns.slo_budget_left = None;
    dns.recent.clear();
    dns.locations.clear();
    dns.days = days(|i, d| {
        if i < 60 {
            d.worst = None;
            d.uptime = None;
        }
    });

    let mut evil = probe("evil", SCRIPT_NAME, State::Down, 5);
    evil.latest = Some(latest(Outcome::Down, Some(IMG_MESSAGE)));
    evil.target = Some(format!("https://x.example/{IMG_MESSAGE}"));
    evil.days = days(|i, d| {
        if i == 88 {
            d.worst = Some(State::Down);
            d.uptime = Some(50.0);
            d.major_minutes = 720;
            d.incidents = vec!["evil-1".into()];
        }
    });

    Site {
        page: PageInfo {
            title: "Acme".into(),
            description: Some("Status of Acme's public services.".into()),
            url: None,
            timezone: "UTC".into(),
            history_days: 90,
        },
        generated_at: now(),
        overall: Overall::PartialOutage,
        groups: vec![
            Group {
                id: "core".into(),
                name: Some("Core services".into()),
                probes: vec![api, db, web],
            },
            Group {
                id: "edge".into(),
                name: Some(STYLE_GROUP.into()),
                probes: vec![cdn, dns],
            },
            Group {
                id: "other".into(),
                name: None,
                probes: vec![evil],
            },
        ],
        incidents: vec![
            IncidentView {
                automatic: true,
                postmortem: None,
                postmortem_html: None,
                id: "auto-7".into(),
                title: "Postgres is down".into(),
                status: IncidentStatus::Investigating,
                impact: Impact::Major,
                probes: vec!["db".into()],
                started_at: t("2026-11-25T09:24:00Z"),
                resolved_at: None,
                worst_state: Some(State::Down),
                cause: Some(Cause::Connect),
                message: Some("connection refused".into()),
                updates: vec![update(
                    "1",
                    "2026-11-25T09:30:00Z",
                    IncidentStatus::Investigating,
                    "Looking into it",
                    "<p>We are <strong>looking</strong> into it.</p>",
                )],
            },
            IncidentView {
                automatic: false,
                postmortem: None,
                postmortem_html: None,
                id: "evil-1".into(),
                title: format!("{SCRIPT_NAME} failing"),
                status: IncidentStatus::Resolved,
                impact: Impact::Critical,
                probes: vec!["evil".into(), "gone".into()],
                started_at: t("2026-11-24T01:00:00Z"),
                resolved_at: Some(t("2026-11-24T13:00:00Z")),
                worst_state: Some(State::Down),
                cause: Some(Cause::Status),
                message: Some(IMG_MESSAGE.into()),
                updates: Vec::new(),
            },
            IncidentView {
                automatic: false,
                postmortem: Some("A **bad** deploy.".into()),
                postmortem_html: Some("<p>POSTMORTEM: a <strong>bad</strong> deploy.</p>".into()),
                id: "checkout".into(),
                title: MARKUP_TITLE.into(),
                status: IncidentStatus::Resolved,
                impact: Impact::Minor,
                probes: vec!["api".into()],
                started_at: t("2026-10-06T08:00:00Z"),
                resolved_at: Some(t("2026-10-06T08:42:00Z")),
                worst_state: Some(State::Degraded),
                cause: None,
                message: None,
                updates: vec![
                    update(
                        "2",
                        "2026-10-06T08:42:00Z",
                        IncidentStatus::Resolved,
                        "Fixed",
                        "<p>Fixed by <em>rolling back</em>.</p>",
                    ),
                    update(
                        "1",
                        "2026-10-06T08:05:00Z",
                        IncidentStatus::Identified,
                        "Bad deploy",
                        "<p>A bad deploy &lt;v2&gt;.</p>",
                    ),
                ],
            },
        ],
        maintenance: vec![
            MaintenanceView {
                id: "cdn-swap".into(),
                title: "CDN provider swap".into(),
                description: Some("Traffic moves to the <new> CDN.".into()),
                probes: vec!["cdn".into()],
                start: t("2026-11-25T09:00:00Z"),
                end: t("2026-11-25T11:00:00Z"),
                status: "in_progress",
            },
            MaintenanceView {
                id: "db-upgrade".into(),
                title: "Postgres 17 upgrade".into(),
                description: None,
                probes: vec!["db".into()],
                start: t("2026-11-28T22:00:00Z"),
                end: t("2026-11-29T00:30:00Z"),
                status: "scheduled",
            },
        ],
    }
}

/// 100 probes in 10 groups with a realistic spread of bad days.
fn big_site() -> Site {
    let mut s = site();
    s.incidents.truncate(1);
    s.groups = (0..10)
        .map(|g| Group {
            id: format!("group-{g}"),
            name: Some(format!("Region {g}")),
            probes: (0..10)
                .map(|i| {
                    let n = g * 10 + i;
                    let mut p = probe(
                        &format!("service-{n}"),
                        &format!("Service number {n}"),
                        State::Operational,
                        n,
                    );
                    p.days = days(|d, day| {
                        // A bad day every so often, a few probes with a rough week.
                        if (d * 7 + n * 13) % 41 == 0 || (n % 9 == 0 && (80..84).contains(&d)) {
                            day.worst = Some(if d % 2 == 0 {
                                State::Down
                            } else {
                                State::Degraded
                            });
                            day.uptime = Some(98.75);
                            day.partial_minutes = 12;
                            day.major_minutes = 6;
                            day.incidents = vec!["auto-7".into()];
                        }
                        if n % 17 == 0 && d < 30 {
                            day.worst = None;
                            day.uptime = None;
                            day.partial_minutes = 0;
                            day.major_minutes = 0;
                            day.incidents.clear();
                        }
                    });
                    p
                })
                .collect(),
        })
        .collect();
    s
}

/// The stylesheet every page links.
fn stylesheet(site: &Site) -> String {
    html::pages(site, None)
        .expect("pages render")
        .into_iter()
        .map(text)
        .find(|(path, _)| path == "style.css")
        .expect("style.css")
        .1
}

/// Outpost's own script, as every page inlines it.
fn own_script() -> String {
    format!(
        "<script>\n{}\n</script>",
        include_str!("../templates/dismiss.js")
    )
}

/// The HTML pages (not the stylesheet they share).
fn render(site: &Site) -> HashMap<String, String> {
    html::pages(site, None)
        .expect("pages render")
        .into_iter()
        .map(text)
        .filter(|(path, _)| path.ends_with(".html"))
        .collect()
}

fn text(f: File) -> (String, String) {
    (f.path, String::from_utf8(f.bytes).expect("utf-8"))
}

/// The `<li>` elements of every bar row, as their opening tags.
fn bar_rows(html: &str) -> Vec<Vec<&str>> {
    html.split("<ol class=\"bars")
        .skip(1)
        .map(|rest| {
            let row = &rest[..rest.find("</ol>").expect("bars end")];
            row.split("<li")
                .skip(1)
                .map(|li| &li[..li.find('>').expect("tag end")])
                .collect()
        })
        .collect()
}

/// An attribute's value, quoted or not (bars leave out the quotes they can).
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}="))? + name.len() + 2;
    let rest = &tag[start..];
    match rest.strip_prefix('"') {
        Some(quoted) => Some(&quoted[..quoted.find('"')?]),
        None => Some(&rest[..rest.find([' ', '>']).unwrap_or(rest.len())]),
    }
}

/// Whether a bar's tag has the class `c`.
fn has_class(tag: &str, c: &str) -> bool {
    attr(tag, "class").is_some_and(|v| v.split(' ').any(|x| x == c))
}

/// How many days a bar element stands for.
fn days_of(tag: &str) -> usize {
    attr(tag, "style")
        .and_then(|s| s.split(';').find_map(|d| d.strip_prefix("--n:")))
        .map_or(1, |n| n.parse().expect("--n is a number"))
}

#[test]
fn every_probe_row_is_there_with_its_state_in_words() {
    let pages = render(&site());
    let index = &pages["index.html"];
    for (id, name, word) in [
        ("api", "Public API", "Operational"),
        ("db", "Postgres", "Down"),
        ("web", "Website", "Degraded"),
        ("cdn", "CDN", "Maintenance"),
        ("dns", "Apex DNS", "Unknown"),
    ] {
        let row_start = index
            .find(&format!(
                "<h3><a href=\"probe/{id}.html\"><bdi>{name}</bdi></a>"
            ))
            .unwrap_or_else(|| panic!("row of {id}"));
        let row = &index[row_start..row_start + 400];
        assert!(
            row.contains("<use href=\"#i-") && row.contains(&format!("</svg>{word}</span>")),
            "{id} shows icon and the word {word}: {row}"
        );
    }
    // The banner: icon, Statuspage's words and a colour class.
    assert!(index.contains("class=\"banner s-partial\""));
    assert!(index.contains("<h2 id=\"overall\">Partial Outage</h2>"));
    // Every probe has its page, and the history page exists.
    for id in ["api", "db", "web", "cdn", "dns", "evil"] {
        assert!(pages.contains_key(&format!("probe/{id}.html")), "{id}");
    }
    assert!(pages.contains_key("history.html"));
}

#[test]
fn a_down_probe_says_down_in_text_not_only_in_colour() {
    let pages = render(&site());
    let db = &pages["probe/db.html"];
    assert!(db.contains("</svg>Down</span>"));
    assert!(db.contains("connection refused"));
    assert!(db.contains("503"));
    let index = &pages["index.html"];
    let row = &index[index.find("<h3><a href=\"probe/db.html").unwrap()..];
    let row = &row[..row.find("</li>\n").unwrap()];
    assert!(row.contains(">Down</span>"), "{row}");
    // The row's numbers: uptime, p95 over 30 days, overspent budget.
    assert!(row.contains("99.98% uptime"), "{row}");
    assert!(row.contains("p95 1.2 s"), "{row}");
    assert!(row.contains("budget overspent by 40%"), "{row}");
}

#[test]
fn bars_cover_every_day_and_each_is_focusable_with_a_dated_label() {
    let site = site();
    let index = render(&site)["index.html"].clone();
    let rows = bar_rows(&index);
    assert_eq!(rows.len(), 6, "one bar row per probe");
    for row in &rows {
        assert_eq!(
            row.iter().map(|li| days_of(li)).sum::<usize>(),
            site.page.history_days as usize,
            "a row covers history_days days: {row:?}"
        );
        for li in row {
            assert_eq!(attr(li, "tabindex"), Some("0"), "{li}");
            let label = attr(li, "aria-label").expect("label");
            assert!(
                ["Aug", "Sep", "Oct", "Nov"]
                    .iter()
                    .any(|m| label.contains(&format!(" {m}"))),
                "label has a date: {label}"
            );
        }
    }
    // On the index an eventful day stands alone with its date, state and
    // minutes in one line; the probe page adds its uptime and incident titles.
    let last = rows[1].last().unwrap();
    assert_eq!(days_of(last), 1);
    assert!(has_class(last, "down"));
    assert_eq!(attr(last, "aria-label").unwrap(), "25 Nov: Down 36 min");
    let pages = render(&site);
    let db_rows = bar_rows(&pages["probe/db.html"]);
    let last = db_rows[0].last().unwrap();
    assert_eq!(days_of(last), 1);
    let label = attr(last, "aria-label").unwrap();
    assert!(label.contains("Wed 25 Nov 2026"), "{label}");
    assert!(label.contains("97.50% uptime"), "{label}");
    assert!(label.contains("Down 36 min"), "{label}");
    assert!(
        label.contains("Incident: \u{2068}Postgres is down\u{2069}"),
        "{label}"
    );
    // Degraded minutes on a degraded day, with the (escaped) title.
    let api_rows = bar_rows(&pages["probe/api.html"]);
    let api_bad = api_rows[0].iter().find(|li| has_class(li, "warn")).unwrap();
    let label = attr(api_bad, "aria-label").unwrap();
    assert!(label.contains("Degraded 42 min"), "{label}");
    assert!(
        label.contains("Errors on &lt;b onmouseover=alert(2)&gt;checkout"),
        "{label}"
    );
    // Maintenance has its own colour.
    assert!(has_class(rows[3].last().unwrap(), "maint"));
}

#[test]
fn no_data_days_are_marked_and_drawn_apart() {
    let index = render(&site())["index.html"].clone();
    let dns = &bar_rows(&index)[4];
    let first = dns[0];
    assert!(has_class(first, "none"), "{first}");
    assert!(attr(first, "aria-label").unwrap().contains("No data"));
    assert_eq!(
        dns.iter()
            .filter(|li| has_class(li, "none"))
            .map(|li| days_of(li))
            .sum::<usize>(),
        60
    );
    // Drawn apart: a short grey dash instead of a full bar, and in the key.
    assert!(stylesheet(&site()).contains(".bars .none{--c:var(--none);background-size:"));
    assert!(index.contains("<span class=\"k none\">No data</span>"));
}

#[test]
fn hostile_text_is_escaped_on_every_page() {
    let pages = render(&site());
    for (path, html) in &pages {
        for raw in [
            SCRIPT_NAME,
            "<img src=x",
            STYLE_GROUP,
            "<b onmouseover",
            "<new>",
        ] {
            assert!(!html.contains(raw), "{path} contains raw {raw:?}");
        }
        // The only script is ours.
        assert!(
            !html.replace(&own_script(), "").contains("<script"),
            "{path} has a script"
        );
    }
    let index = &pages["index.html"];
    assert!(
        index.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;")
            || index.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    assert!(
        index.contains("&lt;&#x2F;style&gt;&lt;script&gt;")
            || index.contains("&lt;/style&gt;&lt;script&gt;")
    );
    let evil = &pages["probe/evil.html"];
    assert!(evil.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    let history = &pages["history.html"];
    assert!(history.contains("Errors on &lt;b onmouseover=alert(2)&gt;checkout&lt;"));
    assert!(history.contains("&amp; &#39;cart&#39;"));
    // Sanitized update bodies are the one HTML inserted as is.
    assert!(history.contains("<p>Fixed by <em>rolling back</em>.</p>"));
    assert!(history.contains("<p>A bad deploy &lt;v2&gt;.</p>"));
    // Maintenance descriptions are text.
    assert!(index.contains("Traffic moves to the &lt;new&gt; CDN."));
}

#[test]
fn templates_can_be_overridden_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>{{ page.title }}</title><p>{% for g in index.groups %}{% for p in g.probes %}[{{ p.name }}]{% endfor %}{% endfor %}</p>{% include \"footer-note.html\" %}",
    )
    .unwrap();
    std::fs::write(dir.path().join("footer-note.html"), "<p>Custom note</p>").unwrap();
    let pages: HashMap<_, _> = html::pages(&site(), Some(dir.path()))
        .unwrap()
        .into_iter()
        .map(text)
        .collect();
    let index = &pages["index.html"];
    assert!(
        index.starts_with("<!doctype html><title>Acme</title>"),
        "{index}"
    );
    assert!(index.contains("[Public API]"));
    // Escaping stays on in a user's template.
    assert!(index.contains("[&lt;script&gt;"));
    assert!(index.contains("<p>Custom note</p>"));
    // The rest fall back to the built-in templates.
    assert!(pages["history.html"].contains("<h1>Incident history</h1>"));
    assert!(pages["probe/api.html"].contains("<h1><bdi>Public API</bdi></h1>"));
}

#[test]
fn a_broken_template_is_a_template_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("history.html"), "{% for x in %}oops").unwrap();
    match html::pages(&site(), Some(dir.path())) {
        Err(RenderError::Template { name, message }) => {
            assert_eq!(name, "history.html");
            assert!(!message.is_empty());
        }
        other => panic!("expected a template error, got {other:?}"),
    }
    // A template that parses but fails to render names the failing template too.
    std::fs::write(dir.path().join("history.html"), "{{ nope.nothing }}").unwrap();
    match html::pages(&site(), Some(dir.path())) {
        Err(RenderError::Template { name, .. }) => assert_eq!(name, "history.html"),
        other => panic!("expected a template error, got {other:?}"),
    }
}

#[test]
fn pages_request_nothing_from_other_hosts() {
    let mut s = site();
    s.page.url = Some("https://status.acme.test/".into());
    let files: HashMap<String, String> = html::pages(&s, None)
        .expect("pages render")
        .into_iter()
        .map(text)
        .collect();
    let css = &files["style.css"];
    assert!(!css.contains("@import") && !css.contains("url("), "{css}");
    // The one script is Outpost's own, inline (Esc closes a day's tooltip).
    let own_script = own_script();
    for (path, html) in render(&s) {
        assert_eq!(html.matches("<script").count(), 1, "{path}");
        assert!(html.contains(&own_script), "{path}");
        let html = html.replace(&own_script, "");
        // The one stylesheet is the site's own.
        let root = if path.starts_with("probe/") {
            "../"
        } else {
            ""
        };
        assert_eq!(
            html.matches("<link rel=\"stylesheet\"").count(),
            1,
            "{path}"
        );
        assert!(
            html.contains(&format!(
                "<link rel=\"stylesheet\" href=\"{root}style.css\">"
            )),
            "{path}"
        );
        for bad in ["<script", "@import", "url(", "<iframe", "<img"] {
            assert!(!html.contains(bad), "{path} has {bad}");
        }
        // Absolute URLs only in links built from page.url.
        for attr_name in ["href=\"", "src=\""] {
            for (i, _) in html.match_indices(attr_name) {
                let value = &html[i + attr_name.len()..];
                let value = &value[..value.find('"').unwrap()];
                if value.contains("://") || value.starts_with("//") {
                    assert!(
                        value.starts_with("https://status.acme.test/"),
                        "{path}: {attr_name}{value}"
                    );
                }
            }
        }
        assert!(html.contains(&format!(
            "<link rel=\"canonical\" href=\"https://status.acme.test/{path}\">"
        )));
    }
}

#[test]
fn relative_links_lead_to_rendered_files() {
    let pages = render(&site());
    let known: BTreeSet<String> = pages
        .keys()
        .cloned()
        .chain(
            [
                "history.atom",
                "history.rss",
                "api/v2/summary.json",
                "style.css",
            ]
            .iter()
            .map(|s| s.to_string()),
        )
        .collect();
    for (path, html) in &pages {
        let dir = if path.starts_with("probe/") {
            "probe/"
        } else {
            ""
        };
        for (i, _) in html.match_indices("href=\"") {
            let value = &html[i + 6..];
            let value = &value[..value.find('"').unwrap()];
            let target = value.split('#').next().unwrap();
            if target.is_empty() {
                continue;
            }
            let resolved = match target.strip_prefix("../") {
                Some(rest) => rest.to_string(),
                None => format!("{dir}{target}"),
            };
            assert!(known.contains(&resolved), "{path}: {value} → {resolved}");
        }
    }
}

#[test]
fn every_page_is_a_proper_document() {
    for (path, html) in render(&site()) {
        for needle in [
            "<html lang=\"en\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<meta name=\"description\" content=\"",
            "<header",
            "<main id=\"main\"",
            "<footer",
            "<h1",
            "rel=\"alternate\" type=\"application/atom+xml\"",
            "rel=\"alternate\" type=\"application/rss+xml\"",
            "<time datetime=\"2026-11-25T10:00:00Z\">25 Nov 2026, 10:00 UTC</time>",
            "api/v2/summary.json",
        ] {
            assert!(html.contains(needle), "{path} lacks {needle}");
        }
        assert_eq!(html.matches("<h1").count(), 1, "{path} has one h1");
        assert!(html.contains("href=\"style.css\"") || html.contains("href=\"../style.css\""));
        let title = &html[html.find("<title>").unwrap()..html.find("</title>").unwrap()];
        assert!(title.contains("Acme"), "{path}: {title}");
    }
    let css = stylesheet(&site());
    for needle in ["prefers-color-scheme:dark", ":focus-visible"] {
        assert!(css.contains(needle), "style.css lacks {needle}");
    }
}

#[test]
fn the_front_page_lists_incidents_maintenance_and_quiet_days() {
    let index = render(&site())["index.html"].clone();
    let now_section = &index[index.find("id=\"now\"").unwrap()..index.find("id=\"next\"").unwrap()];
    assert!(now_section.contains("Postgres is down"));
    assert!(now_section.contains("<p>We are <strong>looking</strong> into it.</p>"));
    assert!(now_section.contains("CDN provider swap"));
    assert!(now_section.contains("In progress"));
    let next = &index[index.find("id=\"next\"").unwrap()..];
    assert!(next.contains("Postgres 17 upgrade"));
    assert!(next.contains("28 Nov 2026, 22:00 UTC"));
    let past = &index[index.find("id=\"past\"").unwrap()..];
    assert_eq!(past.matches("<div class=\"day\">").count(), 14);
    assert!(past.contains("<time datetime=\"2026-11-25\">25 November 2026</time>"));
    assert!(past.contains("<time datetime=\"2026-11-12\">12 November 2026</time>"));
    assert!(
        past.contains("&lt;script&gt;alert(1)"),
        "yesterday's incident"
    );
    assert_eq!(past.matches("No incidents reported.").count(), 12);
    // The October incident is older than 14 days: only on the history page.
    assert!(!past.contains("checkout"));
    assert!(index.contains("href=\"history.html\""));
}

#[test]
fn history_lists_every_incident_newest_first_with_updates() {
    let history = render(&site())["history.html"].clone();
    let a = history.find("Postgres is down").unwrap();
    let b = history.find("&lt;script&gt;alert(1)").unwrap();
    let c = history.find("Errors on").unwrap();
    assert!(a < b && b < c, "newest first");
    assert!(history.contains("<h2 id=\"m-1\">November 2026</h2>"));
    assert!(history.contains("<h2 id=\"m-2\">October 2026</h2>"));
    assert!(history.contains("id=\"incident-checkout\""));
    assert!(history.contains("<strong>Identified</strong>"));
    assert!(history.contains("lasted 42m"));
    // A probe that is no longer configured is named without a link.
    assert!(history.contains(", <bdi>gone</bdi></p>"));
}

#[test]
fn the_probe_page_has_charts_with_text_alternatives() {
    let pages = render(&site());
    let api = &pages["probe/api.html"];
    assert!(api.contains("<svg viewBox=\"0 0 600 200\""));
    assert!(api.contains("<title id=\"c24-t\">Latency over the last 24 hours, by phase</title>"));
    assert!(api.contains("<title id=\"c30-t\">"));
    assert!(api.contains("<desc id=\"c24-d\">288 results"));
    assert!(api.contains("<summary>Show the numbers</summary>"));
    assert!(api.contains("class=\"ph-ttfb\""));
    assert!(api.contains("class=\"line line-p95\""));
    assert!(api.contains("class=\"mark-down\""), "failed results marked");
    // Latest result, phases, certificate.
    assert!(api.contains("Time to first byte <strong>60 ms</strong>"));
    assert!(api.contains("9 Jan 2027, 00:00 UTC"));
    assert!(api.contains("(in 44 days)"));
    // Uptime by day, week and month; locations; SLO; incidents; way back.
    assert_eq!(bar_rows(api).len(), 1);
    assert!(api.contains("2026-W48"));
    assert!(api.contains("<span class=\"pl\">2026-06</span> <span class=\"pv\">99.20%</span>"));
    assert!(api.contains("<th scope=\"row\"><bdi>us-east</bdi></th>"));
    assert!(api.contains(">87% left<"));
    assert!(api.contains("About 37 min of downtime left of 43 min allowed over 30 days."));
    assert!(api.contains("href=\"../history.html#incident-checkout\""));
    assert!(api.contains("href=\"../index.html\""));
    // One location only: no location table; no data: said so.
    let dns = &pages["probe/dns.html"];
    assert!(!dns.contains("id=\"locations\""));
    assert!(dns.contains("No result yet."));
    assert!(dns.contains("No data for this period."));
    // The target is shown only as text.
    let evil = &pages["probe/evil.html"];
    assert!(evil.contains("<code><bdi>https://x.example/&quot;&gt;&lt;img"));
}

#[test]
fn a_hundred_probes_fit_in_200_kb() {
    let site = big_site();
    let pages = render(&site);
    let index = &pages["index.html"];
    let rows = bar_rows(index);
    assert_eq!(rows.len(), 100);
    assert!(
        rows.iter()
            .all(|r| r.iter().map(|li| days_of(li)).sum::<usize>() == 90)
    );
    assert!(
        index.len() < 200_000,
        "index.html is {} bytes for 100 probes",
        index.len()
    );
}

/// `OUTPOST_PREVIEW=/tmp/outpost-preview cargo test --test render_html preview`
/// writes the fixture's pages there to look at in a browser.
#[test]
fn preview() {
    let Some(dir) = std::env::var_os("OUTPOST_PREVIEW") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let mut files = html::pages(&site(), None).unwrap();
    let big = html::pages(&big_site(), None).unwrap();
    if let Some(index) = big.into_iter().find(|f| f.path == "index.html") {
        files.push(File::new("big.html", index.bytes));
    }
    outpost::render::write(&files, &dir).unwrap();
}

#[test]
fn an_empty_site_still_renders_every_page() {
    let mut s = site();
    s.groups.clear();
    s.incidents.clear();
    s.maintenance.clear();
    s.overall = Overall::Operational;
    s.page.description = None;
    s.page.history_days = 0;
    let pages = render(&s);
    assert_eq!(pages.len(), 2, "index and history, no probe pages");
    let index = &pages["index.html"];
    assert!(index.contains("<h2 id=\"overall\">All Systems Operational</h2>"));
    assert!(index.contains("No probes are configured."));
    assert!(!index.contains("id=\"now\""));
    assert_eq!(index.matches("No incidents reported.").count(), 14);
    assert!(pages["history.html"].contains("No incidents or maintenance reported."));
}

#[test]
fn times_are_shown_in_the_page_time_zone() {
    let mut s = site();
    s.page.timezone = "Europe/Berlin".into();
    let files = html::pages(&s, None).expect("render");
    let index = files
        .iter()
        .find(|f| f.path == "index.html")
        .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
        .expect("index");
    assert!(
        index.contains(" CET") || index.contains(" CEST"),
        "no CET time in the page"
    );
    assert!(index.contains("Times are in Europe/Berlin"));
}

#[test]
fn the_written_postmortem_is_shown_with_its_incident() {
    let pages = render(&site());
    let pm = "<p>POSTMORTEM: a <strong>bad</strong> deploy.</p>";
    assert!(pages["history.html"].contains(pm), "history.html");
    assert!(pages["probe/api.html"].contains(pm), "the probe page");
}

#[test]
fn automatic_incidents_say_ongoing_or_resolved_unless_people_wrote() {
    let mut s = site();
    // auto-7 with only outpost's own update: nobody is investigating.
    s.incidents[0]
        .updates
        .iter_mut()
        .for_each(|u| u.automatic = true);
    let pages = render(&s);
    let now_section = section(&pages["index.html"], "id=\"now\"");
    assert!(now_section.contains("Ongoing"), "{now_section}");
    assert!(!now_section.contains("Investigating"), "{now_section}");
    // With a person's update, the person's status.
    let pages = render(&site());
    assert!(section(&pages["index.html"], "id=\"now\"").contains("Investigating"));
}

/// The text of `html` from `marker` to the end of its `</section>`.
fn section<'a>(html: &'a str, marker: &str) -> &'a str {
    let from = html.find(marker).unwrap_or(html.len());
    let rest = &html[from..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

/// `n` probes of one group, all down since about the same minute.
fn outage_site(n: usize, groups: usize) -> Site {
    let mut s = site();
    s.groups = (0..groups)
        .map(|g| Group {
            id: format!("g{g}"),
            name: Some(format!("Region {g}")),
            probes: (0..n / groups)
                .map(|i| {
                    let k = g * (n / groups) + i;
                    let mut p = probe(&format!("p{k}"), &format!("Service {k}"), State::Down, k);
                    p.group = Some(format!("Region {g}"));
                    p
                })
                .collect(),
        })
        .collect();
    s.incidents = (0..n)
        .map(|k| IncidentView {
            automatic: true,
            postmortem: None,
            postmortem_html: None,
            id: format!("auto-{}", 100 + k),
            title: format!("Service {k} outage"),
            status: IncidentStatus::Investigating,
            impact: Impact::Major,
            probes: vec![format!("p{k}")],
            started_at: now() - chrono::Duration::minutes(30 + (k % 3) as i64),
            resolved_at: None,
            worst_state: Some(State::Down),
            cause: Some(Cause::Connect),
            message: Some("connection refused".into()),
            updates: Vec::new(),
        })
        .collect();
    s.maintenance.clear();
    s
}

#[test]
fn many_outages_that_start_together_are_one_card() {
    let pages = render(&outage_site(60, 1));
    let now_section = section(&pages["index.html"], "id=\"now\"");
    assert_eq!(now_section.matches("<article").count(), 1, "{now_section}");
    assert!(now_section.contains("60 services of Region 0 are down"));
    assert_eq!(now_section.matches("href=\"probe/").count(), 60);
}

#[test]
fn happening_now_is_capped_with_and_n_more() {
    let pages = render(&outage_site(60, 60));
    let now_section = section(&pages["index.html"], "id=\"now\"");
    assert_eq!(now_section.matches("<article").count(), 4, "{now_section}");
    assert!(now_section.contains("and 56 more"), "{now_section}");
    assert!(now_section.contains("href=\"history.html\""));
}

#[test]
fn user_strings_are_isolated_from_our_words() {
    let mut s = site();
    let evil = "Payments \u{202E}reversed";
    s.groups[0].probes[0].name = evil.into();
    s.groups[0].name = Some(format!("Core {evil}"));
    s.incidents[0].title = format!("{evil} outage");
    let pages = render(&s);
    for (path, html) in &pages {
        let mut rest = html.as_str();
        while let Some(at) = rest.find('\u{202E}') {
            let before = &rest[..at];
            let open_bdi = before.rfind("<bdi>").unwrap_or(0);
            let close_bdi = before.rfind("</bdi>");
            let fsi = before.rfind('\u{2068}');
            let pdi = before.rfind('\u{2069}');
            let in_bdi = before.contains("<bdi>") && close_bdi.is_none_or(|c| c < open_bdi);
            let in_fsi = fsi.is_some_and(|f| pdi.is_none_or(|p| p < f));
            let in_title = before
                .rfind("<title>")
                .is_some_and(|t| before.rfind("</title>").is_none_or(|c| c < t));
            assert!(
                in_bdi || in_fsi || in_title,
                "{path}: an override outside <bdi>: …{}",
                &before[before.len().saturating_sub(80)..]
            );
            rest = &rest[at + 3..];
        }
    }
}

#[test]
fn groups_with_some_members_down_say_partial_outage_in_orange() {
    let pages = render(&site());
    let index = &pages["index.html"];
    // Core: api operational, db down, web degraded.
    let core = section(index, "aria-labelledby=\"g-core\"");
    assert!(core.contains("s-partial"), "{core}");
    assert!(core.contains("Partial outage"));
    assert!(stylesheet(&site()).contains("--partial:"));
}

#[test]
fn degraded_days_are_labelled_degraded_not_partial_outage() {
    let pages = render(&site());
    for (path, html) in &pages {
        assert!(!html.contains("Partial outage 42 min"), "{path}");
    }
    assert!(pages["index.html"].contains("Degraded 42 min"));
}

#[test]
fn a_hundred_probes_all_down_still_fit_in_200_kb() {
    let mut site = big_site();
    let mut incidents = Vec::new();
    for (g, group) in site.groups.iter_mut().enumerate() {
        for (i, p) in group.probes.iter_mut().enumerate() {
            p.state = State::Down;
            p.group = group.name.clone();
            let k = g * 10 + i;
            incidents.push(IncidentView {
                automatic: true,
                postmortem: None,
                postmortem_html: None,
                id: format!("auto-{}", 1000 + k),
                title: format!("{} outage", p.name),
                status: IncidentStatus::Investigating,
                impact: Impact::Major,
                probes: vec![p.id.clone()],
                // Some start together, some apart.
                started_at: now() - Duration::minutes((k % 7 * 40) as i64 + 5),
                resolved_at: None,
                worst_state: Some(State::Down),
                cause: Some(Cause::Connect),
                message: Some("connection refused".into()),
                updates: vec![IncidentUpdate {
                    id: format!("auto-{}-1", 1000 + k),
                    at: now() - Duration::minutes(5),
                    status: IncidentStatus::Investigating,
                    body: format!("{} is down: connection refused", p.name),
                    body_html: format!("{} is down: connection refused", p.name),
                    automatic: true,
                }],
            });
        }
    }
    site.incidents = incidents;
    site.overall = Overall::MajorOutage;
    let index = &render(&site)["index.html"];
    assert!(
        index.len() < 200_000,
        "index.html is {} bytes for 100 probes all down",
        index.len()
    );
}

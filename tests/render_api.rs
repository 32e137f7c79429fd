//! The machine-readable outputs of the status page (SPEC §7): the Statuspage
//! API, the feeds, the badges and metrics.prom, rendered from a hand-built
//! site with probes in every state and hostile text everywhere.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use chrono::{DateTime, Duration, Utc};
use outpost::model::{Cause, Outcome, State};
use outpost::render::site::{
    Group, Impact, IncidentStatus, IncidentUpdate, IncidentView, LatestResult, MaintenanceView,
    Overall, PageInfo, PhasesMs, ProbeView, Site, Windows,
};
use outpost::render::{File, badge, feeds, metrics, statuspage};
use serde_json::Value;

const HOSTILE: &str = "<script>alert(\"x\")</script> & 'q' \u{1}\u{7}\u{1b}[31m\nline two";
const EVIL_ID: &str = "evil\"probe\nx\\";

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("timestamp")
}

fn now() -> DateTime<Utc> {
    t("2026-11-25T10:00:00Z")
}

fn latest(outcome: Outcome, status: Option<u16>, cert: bool) -> LatestResult {
    LatestResult {
        at: now() - Duration::minutes(1),
        location: "runner \"eu\"".into(),
        outcome,
        cause: (outcome != Outcome::Up).then_some(Cause::Status),
        message: (outcome != Outcome::Up).then(|| HOSTILE.to_string()),
        status,
        latency_ms: 41.7,
        phases: PhasesMs {
            dns: Some(0.4),
            connect: Some(1.1),
            tls: cert.then_some(6.0),
            ttfb: Some(33.9),
            transfer: Some(0.3),
        },
        cert_expires_at: cert.then(|| t("2027-01-09T00:00:00Z")),
        body_bytes: status.map(|_| 1234),
        body_decoded_bytes: status.map(|_| 4096),
        http_version: status.map(|_| outpost::model::HttpVersion::Http2),
        ip: Some(std::net::IpAddr::from([127, 0, 0, 1])),
        steps: Vec::new(),
    }
}

fn probe(
    id: &str,
    name: &str,
    kind: &'static str,
    state: State,
    position: usize,
    latest: Option<LatestResult>,
) -> ProbeView {
    ProbeView {
        id: id.into(),
        name: name.into(),
        group: None,
        position,
        kind,
        target: None,
        state,
        state_since: latest.as_ref().map(|_| now() - Duration::hours(2)),
        first_seen: latest.as_ref().map(|_| t("2026-01-01T00:00:00Z")),
        latest,
        days: Vec::new(),
        uptime: Windows::default(),
        p50: Windows::default(),
        p95: Windows::default(),
        p99: Windows::default(),
        slo: 99.9,
        slo_budget_left: None,
        burn: Default::default(),
        recent: Vec::new(),
        daily_latency: Vec::new(),
        weeks: Vec::new(),
        months: Vec::new(),
        locations: Vec::new(),
        steps: Vec::new(),
    }
}

fn update(id: &str, at: &str, status: IncidentStatus, body: &str) -> IncidentUpdate {
    IncidentUpdate {
        id: id.into(),
        at: t(at),
        status,
        body: body.into(),
        body_html: String::new(),
        automatic: false,
    }
}

/// Groups, a probe in every state, open and resolved incidents, maintenance
/// in every phase, and hostile strings in every text field.
fn site(url: Option<&str>) -> Site {
    let core = vec![
        probe(
            "api",
            "Public API",
            "http",
            State::Operational,
            0,
            Some(latest(Outcome::Up, Some(200), true)),
        ),
        probe(
            "web",
            "Web \"app\" <b>",
            "http",
            State::Degraded,
            1,
            Some(latest(Outcome::Degraded, Some(200), true)),
        ),
        probe(
            "db",
            "Postgres",
            "tcp",
            State::Down,
            2,
            Some(latest(Outcome::Down, None, false)),
        ),
    ];
    let edge = vec![
        probe(
            "cdn",
            "CDN",
            "http",
            State::Maintenance,
            3,
            Some(latest(Outcome::Up, Some(204), true)),
        ),
        probe("apex-dns", "Apex DNS", "dns", State::Unknown, 4, None),
    ];
    let loose = vec![probe(
        EVIL_ID,
        HOSTILE,
        "metrics",
        State::Down,
        5,
        Some(latest(Outcome::Down, Some(503), true)),
    )];
    let mut hostile_update = update(
        "1",
        "2026-11-25T09:50:00Z",
        IncidentStatus::Investigating,
        HOSTILE,
    );
    hostile_update.body_html = String::new();
    let mut noted = update(
        "3",
        "2026-11-25T09:40:00Z",
        IncidentStatus::Monitoring,
        "Fix **deployed**",
    );
    noted.body_html = "<p>Fix <strong>deployed</strong></p>".into();
    Site {
        page: PageInfo {
            title: "Acme <Status> & \"Co\"".into(),
            description: Some(format!("Live status {HOSTILE}")),
            url: url.map(str::to_string),
            timezone: "UTC".into(),
            history_days: 90,
        },
        generated_at: now(),
        overall: Overall::PartialOutage,
        groups: vec![
            Group {
                id: "core-services".into(),
                name: Some("Core services".into()),
                probes: core,
            },
            Group {
                id: "edge".into(),
                name: Some("Edge <&>".into()),
                probes: edge,
            },
            Group {
                id: "other".into(),
                name: None,
                probes: loose,
            },
        ],
        incidents: vec![
            IncidentView {
                automatic: true,
                postmortem: None,
                postmortem_html: None,
                id: "auto-3".into(),
                title: format!("Postgres is down {HOSTILE}"),
                status: IncidentStatus::Investigating,
                impact: Impact::Major,
                probes: vec!["db".into(), EVIL_ID.into()],
                started_at: t("2026-11-25T09:50:00Z"),
                resolved_at: None,
                worst_state: Some(State::Down),
                cause: Some(Cause::Connect),
                message: Some(HOSTILE.into()),
                updates: vec![hostile_update],
            },
            IncidentView {
                automatic: false,
                postmortem: Some("The *cache* was cold.".into()),
                postmortem_html: Some("<p>The <em>cache</em> was cold.</p>".into()),
                id: "slow-web".into(),
                title: "Web is slow".into(),
                status: IncidentStatus::Monitoring,
                impact: Impact::Minor,
                probes: vec!["web".into()],
                started_at: t("2026-11-25T09:00:00Z"),
                resolved_at: None,
                worst_state: Some(State::Degraded),
                cause: None,
                message: None,
                updates: vec![
                    noted,
                    update(
                        "2",
                        "2026-11-25T09:20:00Z",
                        IncidentStatus::Identified,
                        "Found it",
                    ),
                    update(
                        "1",
                        "2026-11-25T09:00:00Z",
                        IncidentStatus::Investigating,
                        "Looking",
                    ),
                ],
            },
            IncidentView {
                automatic: true,
                postmortem: None,
                postmortem_html: None,
                id: "auto-1".into(),
                title: "Public API is down".into(),
                status: IncidentStatus::Resolved,
                impact: Impact::Critical,
                probes: vec!["api".into(), "gone-probe".into()],
                started_at: t("2026-11-20T08:00:00Z"),
                resolved_at: Some(t("2026-11-20T08:30:00Z")),
                worst_state: Some(State::Down),
                cause: Some(Cause::Timeout),
                message: Some("timed out".into()),
                updates: vec![
                    update(
                        "2",
                        "2026-11-20T08:30:00Z",
                        IncidentStatus::Resolved,
                        "Recovered",
                    ),
                    update(
                        "1",
                        "2026-11-20T08:00:00Z",
                        IncidentStatus::Investigating,
                        "timed out",
                    ),
                ],
            },
        ],
        maintenance: vec![
            MaintenanceView {
                id: "cdn-swap".into(),
                title: format!("CDN swap {HOSTILE}"),
                description: Some(HOSTILE.into()),
                probes: vec!["cdn".into()],
                start: t("2026-11-25T09:30:00Z"),
                end: t("2026-11-25T11:00:00Z"),
                status: "in_progress",
            },
            MaintenanceView {
                id: "db-upgrade".into(),
                title: "Database upgrade".into(),
                description: None,
                probes: Vec::new(),
                start: t("2026-12-01T02:00:00Z"),
                end: t("2026-12-01T03:00:00Z"),
                status: "scheduled",
            },
            MaintenanceView {
                id: "old-work".into(),
                title: "Old work".into(),
                description: None,
                probes: vec!["api".into()],
                start: t("2026-11-24T02:00:00Z"),
                end: t("2026-11-24T03:00:00Z"),
                status: "completed",
            },
        ],
    }
}

fn by_path(files: Vec<File>) -> HashMap<String, Vec<u8>> {
    files.into_iter().map(|f| (f.path, f.bytes)).collect()
}

fn json(files: &HashMap<String, Vec<u8>>, path: &str) -> Value {
    let bytes = files
        .get(path)
        .unwrap_or_else(|| panic!("{path} not rendered"));
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn api() -> HashMap<String, Vec<u8>> {
    by_path(statuspage::files(&site(Some("https://status.acme.dev/"))))
}

// Statuspage's field names, object by object.
const PAGE: &[&str] = &["id", "name", "url", "time_zone", "updated_at"];
const STATUS: &[&str] = &["indicator", "description"];
const COMPONENT: &[&str] = &[
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
];
const INCIDENT: &[&str] = &[
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "impact",
    "shortlink",
    "started_at",
    "page_id",
    "incident_updates",
    "components",
];
const UPDATE: &[&str] = &[
    "id",
    "status",
    "body",
    "incident_id",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
    "deliver_notifications",
    "custom_tweet",
    "tweet_id",
];
const AFFECTED: &[&str] = &["code", "name", "old_status", "new_status"];

const COMPONENT_STATUSES: &[&str] = &[
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
];
const INCIDENT_STATUSES: &[&str] = &[
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "postmortem",
];
const MAINTENANCE_STATUSES: &[&str] = &["scheduled", "in_progress", "verifying", "completed"];

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn assert_keys(what: &str, v: &Value, expected: &[&str]) {
    let want: BTreeSet<&str> = expected.iter().copied().collect();
    assert_eq!(keys(v), want, "{what} fields: {v:#}");
}

fn assert_stamp(what: &str, v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"));
    let ok = s.len() == 24
        && DateTime::parse_from_rfc3339(s).is_ok()
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.';
    assert!(ok, "{what} is not like 2026-11-25T10:00:00.000Z: {s}");
}

fn assert_opt_stamp(what: &str, v: &Value) {
    if !v.is_null() {
        assert_stamp(what, v);
    }
}

fn assert_str(what: &str, v: &Value) {
    assert!(v.is_string(), "{what} is not a string: {v}");
}

fn assert_enum(what: &str, v: &Value, allowed: &[&str]) {
    let s = v.as_str().unwrap_or_default();
    assert!(allowed.contains(&s), "{what}: {v} not in {allowed:?}");
}

fn check_page(v: &Value) {
    assert_keys("page", v, PAGE);
    for k in ["id", "name", "time_zone"] {
        assert_str(k, &v[k]);
    }
    assert!(
        v["url"].is_string() || v["url"].is_null(),
        "page.url: {}",
        v["url"]
    );
    assert_stamp("page.updated_at", &v["updated_at"]);
}

fn check_component(v: &Value) {
    if v["group"] == true {
        let mut with_members = COMPONENT.to_vec();
        with_members.push("components");
        assert_keys("group", v, &with_members);
        let members = v["components"].as_array().expect("group members");
        assert!(members.iter().all(Value::is_string));
    } else {
        assert_keys("component", v, COMPONENT);
    }
    assert_str("component.id", &v["id"]);
    assert_str("component.name", &v["name"]);
    assert_str("component.page_id", &v["page_id"]);
    assert_enum("component.status", &v["status"], COMPONENT_STATUSES);
    assert_stamp("component.created_at", &v["created_at"]);
    assert_stamp("component.updated_at", &v["updated_at"]);
    assert!(v["position"].as_u64().is_some_and(|p| p >= 1));
    assert!(v["description"].is_null() || v["description"].is_string());
    assert!(v["showcase"].is_boolean());
    assert!(v["group"].is_boolean());
    assert!(v["only_show_if_degraded"].is_boolean());
    assert!(v["group_id"].is_null() || v["group_id"].is_string());
    let start = &v["start_date"];
    assert!(
        start.is_null()
            || start
                .as_str()
                .is_some_and(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()),
        "start_date {start}"
    );
}

fn check_event(v: &Value, maintenance: bool) {
    if maintenance {
        let mut fields = INCIDENT.to_vec();
        fields.extend(["scheduled_for", "scheduled_until"]);
        assert_keys("scheduled_maintenance", v, &fields);
        assert_stamp("scheduled_for", &v["scheduled_for"]);
        assert_stamp("scheduled_until", &v["scheduled_until"]);
        assert_enum("maintenance.status", &v["status"], MAINTENANCE_STATUSES);
        assert_eq!(v["impact"], "maintenance");
    } else {
        let mut fields = INCIDENT.to_vec();
        // Statuspage's written postmortem, only where one was written.
        if v.get("postmortem_body").is_some() {
            assert_str("postmortem_body", &v["postmortem_body"]);
            fields.push("postmortem_body");
        }
        assert_keys("incident", v, &fields);
        assert_enum("incident.status", &v["status"], INCIDENT_STATUSES);
        assert_enum(
            "incident.impact",
            &v["impact"],
            &["none", "minor", "major", "critical"],
        );
    }
    for k in ["id", "name", "shortlink", "page_id"] {
        assert_str(k, &v[k]);
    }
    for k in ["created_at", "updated_at", "started_at"] {
        assert_stamp(k, &v[k]);
    }
    for k in ["monitoring_at", "resolved_at"] {
        assert_opt_stamp(k, &v[k]);
    }
    let updates = v["incident_updates"].as_array().expect("incident_updates");
    assert!(!updates.is_empty(), "an event has at least one update");
    for u in updates {
        assert_keys("incident_update", u, UPDATE);
        assert_eq!(u["incident_id"], v["id"]);
        for k in ["id", "body"] {
            assert_str(k, &u[k]);
        }
        for k in ["created_at", "updated_at", "display_at"] {
            assert_stamp(k, &u[k]);
        }
        let statuses = if maintenance {
            MAINTENANCE_STATUSES
        } else {
            INCIDENT_STATUSES
        };
        assert_enum("update.status", &u["status"], statuses);
        assert!(u["deliver_notifications"].is_boolean());
        assert!(u["custom_tweet"].is_null() && u["tweet_id"].is_null());
        if let Some(affected) = u["affected_components"].as_array() {
            for a in affected {
                assert_keys("affected_component", a, AFFECTED);
                assert_enum("old_status", &a["old_status"], COMPONENT_STATUSES);
                assert_enum("new_status", &a["new_status"], COMPONENT_STATUSES);
            }
        } else {
            assert!(u["affected_components"].is_null());
        }
    }
    for c in v["components"].as_array().expect("components") {
        check_component(c);
    }
}

#[test]
fn every_api_file_has_statuspage_shapes() {
    let files = api();
    let paths = [
        "api/v2/summary.json",
        "api/v2/status.json",
        "api/v2/components.json",
        "api/v2/incidents.json",
        "api/v2/incidents/unresolved.json",
        "api/v2/scheduled-maintenances.json",
        "api/v2/scheduled-maintenances/upcoming.json",
        "api/v2/scheduled-maintenances/active.json",
    ];
    for path in paths {
        let doc = json(&files, path);
        check_page(&doc["page"]);
        if let Some(status) = doc.get("status") {
            assert_keys("status", status, STATUS);
            assert_enum(
                "indicator",
                &status["indicator"],
                &["none", "minor", "major", "critical", "maintenance"],
            );
            assert_str("description", &status["description"]);
        }
        for c in doc
            .get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            check_component(c);
        }
        for i in doc
            .get("incidents")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            check_event(i, false);
        }
        for m in doc
            .get("scheduled_maintenances")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            check_event(m, true);
        }
    }
    let top = |p: &str| {
        keys(&json(&files, p))
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        top("api/v2/summary.json"),
        [
            "components",
            "incidents",
            "page",
            "scheduled_maintenances",
            "status"
        ]
    );
    assert_eq!(top("api/v2/status.json"), ["page", "status"]);
    assert_eq!(top("api/v2/components.json"), ["components", "page"]);
    assert_eq!(top("api/v2/incidents.json"), ["incidents", "page"]);
}

#[test]
fn page_and_status_follow_the_site() {
    let files = api();
    let doc = json(&files, "api/v2/status.json");
    assert_eq!(doc["page"]["name"], "Acme <Status> & \"Co\"");
    assert_eq!(doc["page"]["id"], "acme-status-co");
    assert_eq!(doc["page"]["url"], "https://status.acme.dev/");
    assert_eq!(doc["page"]["updated_at"], "2026-11-25T10:00:00.000Z");
    assert_eq!(doc["status"]["indicator"], "major");
    assert_eq!(doc["status"]["description"], "Partial System Outage");

    for (overall, indicator, description) in [
        (Overall::Operational, "none", "All Systems Operational"),
        (Overall::Degraded, "minor", "Partially Degraded Service"),
        (Overall::MajorOutage, "critical", "Major System Outage"),
        (
            Overall::Maintenance,
            "maintenance",
            "Service Under Maintenance",
        ),
    ] {
        let mut s = site(None);
        s.overall = overall;
        let doc = json(&by_path(statuspage::files(&s)), "api/v2/status.json");
        assert_eq!(doc["status"]["indicator"], indicator);
        assert_eq!(doc["status"]["description"], description);
        assert!(doc["page"]["url"].is_null(), "no page.url: null, not \"\"");
    }
}

#[test]
fn components_map_states_and_groups_list_members() {
    let doc = json(&api(), "api/v2/components.json");
    let comps = doc["components"].as_array().expect("components");
    let find = |id: &str| {
        comps
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("component {id}"))
    };
    for (id, status) in [
        ("api", "operational"),
        ("web", "degraded_performance"),
        ("db", "major_outage"),
        ("cdn", "under_maintenance"),
        ("apex-dns", "operational"),
        (EVIL_ID, "major_outage"),
    ] {
        assert_eq!(find(id)["status"], status, "{id}");
        assert_eq!(find(id)["group"], false);
        assert!(find(id).get("components").is_none());
    }
    assert_eq!(find("apex-dns")["description"], "No recent data");
    assert_eq!(find(EVIL_ID)["name"], HOSTILE, "text stays text in JSON");

    let groups: Vec<&Value> = comps.iter().filter(|c| c["group"] == true).collect();
    assert_eq!(groups.len(), 2, "the unnamed group is not a component");
    let core = find("group-core-services");
    assert_eq!(core["name"], "Core services");
    assert_eq!(core["components"], serde_json::json!(["api", "web", "db"]));
    assert_eq!(
        core["status"], "partial_outage",
        "one of three members down"
    );
    assert!(core["group_id"].is_null());
    let edge = find("group-edge");
    assert_eq!(edge["status"], "under_maintenance");
    for group in groups {
        for member in group["components"].as_array().expect("members") {
            let m = find(member.as_str().expect("id"));
            assert_eq!(m["group_id"], group["id"]);
        }
    }
    assert!(find(EVIL_ID)["group_id"].is_null());
    let positions: Vec<u64> = ["group-core-services", "api", "web", "db"]
        .iter()
        .map(|id| find(id)["position"].as_u64().expect("position"))
        .collect();
    assert_eq!(
        positions,
        [1, 2, 3, 4],
        "a group never shares its first child's"
    );
    let all: BTreeSet<u64> = comps
        .iter()
        .map(|c| c["position"].as_u64().expect("position"))
        .collect();
    assert_eq!(all.len(), comps.len(), "positions are unique");
    assert!(
        comps
            .iter()
            .all(|c| !c["id"].as_str().unwrap_or("").starts_with("group-group-")),
        "no doubled prefix"
    );
}

#[test]
fn summary_holds_only_unresolved_incidents_and_current_maintenance() {
    let files = api();
    let ids = |doc: &Value, key: &str| -> Vec<String> {
        doc[key]
            .as_array()
            .expect(key)
            .iter()
            .map(|v| v["id"].as_str().expect("id").to_string())
            .collect()
    };
    let summary = json(&files, "api/v2/summary.json");
    assert_eq!(ids(&summary, "incidents"), ["auto-3", "slow-web"]);
    let mut current = ids(&summary, "scheduled_maintenances");
    current.sort();
    assert_eq!(current, ["cdn-swap", "db-upgrade"]);
    for i in summary["incidents"].as_array().expect("incidents") {
        assert!(i["resolved_at"].is_null());
        assert_ne!(i["status"], "resolved");
    }

    let all = json(&files, "api/v2/incidents.json");
    assert_eq!(ids(&all, "incidents"), ["auto-3", "slow-web", "auto-1"]);
    let unresolved = json(&files, "api/v2/incidents/unresolved.json");
    assert_eq!(ids(&unresolved, "incidents"), ["auto-3", "slow-web"]);

    let maint = |p| ids(&json(&files, p), "scheduled_maintenances");
    assert_eq!(
        maint("api/v2/scheduled-maintenances.json"),
        ["db-upgrade", "cdn-swap", "old-work"]
    );
    assert_eq!(
        maint("api/v2/scheduled-maintenances/upcoming.json"),
        ["db-upgrade"]
    );
    assert_eq!(
        maint("api/v2/scheduled-maintenances/active.json"),
        ["cdn-swap"]
    );
}

#[test]
fn incidents_carry_updates_components_and_links() {
    let all = json(&api(), "api/v2/incidents.json");
    let incidents = all["incidents"].as_array().expect("incidents");
    let resolved = &incidents[2];
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["impact"], "critical");
    assert_eq!(resolved["resolved_at"], "2026-11-20T08:30:00.000Z");
    assert_eq!(resolved["started_at"], "2026-11-20T08:00:00.000Z");
    assert_eq!(resolved["updated_at"], "2026-11-20T08:30:00.000Z");
    assert_eq!(
        resolved["shortlink"],
        "https://status.acme.dev/history.html#incident-auto-1"
    );
    let noted = incidents
        .iter()
        .find(|i| i["id"] == "slow-web")
        .expect("slow-web");
    assert_eq!(noted["postmortem_body"], "The *cache* was cold.");
    assert!(
        resolved.get("postmortem_body").is_none(),
        "only where written"
    );
    let comps: Vec<&str> = resolved["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(comps, ["api"], "unknown probe ids are skipped");
    let updates = resolved["incident_updates"].as_array().expect("updates");
    assert_eq!(updates[0]["status"], "resolved");
    assert_eq!(
        updates[0]["affected_components"][0]["new_status"],
        "operational"
    );
    assert_eq!(
        updates[0]["affected_components"][0]["old_status"],
        "major_outage"
    );
    assert_eq!(updates[1]["affected_components"][0]["code"], "api");
    assert_eq!(
        updates[1]["affected_components"][0]["new_status"],
        "major_outage"
    );

    let slow = &incidents[1];
    assert_eq!(slow["monitoring_at"], "2026-11-25T09:40:00.000Z");
    let statuses: Vec<&str> = slow["incident_updates"]
        .as_array()
        .expect("updates")
        .iter()
        .map(|u| u["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["monitoring", "identified", "investigating"]);

    let hostile = &incidents[0];
    assert_eq!(hostile["incident_updates"][0]["body"], HOSTILE);

    let maint = json(&api(), "api/v2/scheduled-maintenances.json");
    let m = &maint["scheduled_maintenances"];
    assert_eq!(m[0]["id"], "db-upgrade");
    assert_eq!(m[0]["status"], "scheduled");
    assert_eq!(
        m[0]["components"].as_array().expect("components").len(),
        6,
        "no probes listed: every probe"
    );
    assert_eq!(m[1]["status"], "in_progress");
    assert_eq!(m[1]["scheduled_for"], "2026-11-25T09:30:00.000Z");
    assert_eq!(m[1]["scheduled_until"], "2026-11-25T11:00:00.000Z");
    assert_eq!(m[2]["status"], "completed");
    assert_eq!(m[2]["resolved_at"], "2026-11-24T03:00:00.000Z");
    assert_eq!(m[2]["incident_updates"][0]["status"], "completed");
}

// ---------------------------------------------------------------- feeds

const ATOM: &str = "http://www.w3.org/2005/Atom";

fn parse(bytes: &[u8]) -> roxmltree::Document<'_> {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("not XML: {e}\n{text}"))
}

fn no_injected_elements(doc: &roxmltree::Document, allowed: &[&str]) {
    for n in doc.descendants().filter(|n| n.is_element()) {
        assert!(
            allowed.contains(&n.tag_name().name()),
            "unexpected element <{}>",
            n.tag_name().name()
        );
    }
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> roxmltree::Node<'a, 'i> {
    n.children()
        .find(|c| c.has_tag_name(name))
        .unwrap_or_else(|| panic!("<{name}> missing"))
}

#[test]
fn atom_feed_is_valid_and_hostile_text_stays_text() {
    for url in [Some("https://status.acme.dev"), None] {
        let files = by_path(feeds::files(&site(url)));
        let bytes = &files["history.atom"];
        assert!(!bytes.iter().any(|b| *b < 0x20 && !b"\t\n\r".contains(b)));
        let doc = parse(bytes);
        let feed = doc.root_element();
        assert!(feed.has_tag_name((ATOM, "feed")));
        no_injected_elements(
            &doc,
            &[
                "feed",
                "id",
                "title",
                "subtitle",
                "updated",
                "link",
                "author",
                "name",
                "generator",
                "entry",
                "published",
                "content",
            ],
        );
        assert_eq!(
            child(feed, "title").text(),
            Some("Acme <Status> & \"Co\": incident history")
        );
        assert!(
            child(feed, "id")
                .text()
                .is_some_and(|i| i.starts_with("urn:uuid:"))
        );
        assert_eq!(child(feed, "updated").text(), Some("2026-11-25T09:50:00Z"));
        let links: Vec<_> = feed.children().filter(|n| n.has_tag_name("link")).collect();
        let rel = |r: &str| {
            links
                .iter()
                .find(|l| l.attribute("rel") == Some(r))
                .and_then(|l| l.attribute("href"))
                .unwrap_or_else(|| panic!("link rel={r}"))
        };
        let base = if url.is_some() {
            "https://status.acme.dev/"
        } else {
            ""
        };
        assert_eq!(rel("self"), format!("{base}history.atom"));
        assert_eq!(rel("alternate"), format!("{base}history.html"));

        let entries: Vec<_> = feed
            .children()
            .filter(|n| n.has_tag_name("entry"))
            .collect();
        assert_eq!(entries.len(), 3);
        let first = entries[0];
        assert!(
            child(first, "title")
                .text()
                .is_some_and(|t| t.contains("<script>alert(\"x\")</script>"))
        );
        assert_eq!(
            child(first, "link").attribute("href"),
            Some(format!("{base}history.html#incident-auto-3").as_str())
        );
        assert_eq!(
            child(first, "published").text(),
            Some("2026-11-25T09:50:00Z")
        );
        let content = child(first, "content");
        assert_eq!(content.attribute("type"), Some("html"));
        let html = content.text().expect("content");
        assert!(
            html.contains("&lt;script&gt;"),
            "body escaped as HTML: {html}"
        );
        assert!(!html.contains("<script"), "{html}");
        let ids: BTreeSet<&str> = entries
            .iter()
            .map(|e| child(*e, "id").text().expect("id"))
            .collect();
        assert_eq!(ids.len(), 3, "entry ids are distinct");
        assert!(ids.iter().all(|i| i.starts_with("urn:uuid:")));
    }
    // Ids are stable across renders.
    let a = by_path(feeds::files(&site(None)));
    let mut later = site(None);
    later.generated_at = now() + Duration::hours(1);
    let b = by_path(feeds::files(&later));
    assert_eq!(a["history.atom"], b["history.atom"]);
}

#[test]
fn rss_feed_is_valid() {
    for url in [Some("https://status.acme.dev"), None] {
        let files = by_path(feeds::files(&site(url)));
        let doc = parse(&files["history.rss"]);
        let rss = doc.root_element();
        assert!(rss.has_tag_name("rss"));
        assert_eq!(rss.attribute("version"), Some("2.0"));
        no_injected_elements(
            &doc,
            &[
                "rss",
                "channel",
                "title",
                "link",
                "description",
                "lastBuildDate",
                "generator",
                "item",
                "guid",
                "pubDate",
            ],
        );
        let channel = child(rss, "channel");
        // Decoded once by XML it is still HTML-escaped: a reader shows it as text.
        assert!(
            child(channel, "description")
                .text()
                .is_some_and(|d| d.contains("&lt;script&gt;"))
        );
        let built = child(channel, "lastBuildDate")
            .text()
            .expect("lastBuildDate");
        assert!(DateTime::parse_from_rfc2822(built).is_ok(), "{built}");
        let self_link = channel.children().find(|n| n.has_tag_name((ATOM, "link")));
        assert_eq!(
            self_link.is_some(),
            url.is_some(),
            "atom:link only when absolute"
        );
        let items: Vec<_> = channel
            .children()
            .filter(|n| n.has_tag_name("item"))
            .collect();
        assert_eq!(items.len(), 3);
        for item in &items {
            let guid = child(*item, "guid");
            assert_eq!(guid.attribute("isPermaLink"), Some("false"));
            let date = child(*item, "pubDate").text().expect("pubDate");
            assert!(DateTime::parse_from_rfc2822(date).is_ok(), "{date}");
            assert!(
                child(*item, "link")
                    .text()
                    .is_some_and(|l| l.contains("history.html#"))
            );
        }
    }
}

// ---------------------------------------------------------------- badges

#[test]
fn badges_are_svg_and_shields_endpoint_json() {
    let s = site(None);
    let files = by_path(badge::files(&s));
    assert_eq!(files.len(), 12, "an svg and a json per probe");
    for path in files.keys() {
        let name = path.strip_prefix("badge/").expect("under badge/");
        assert!(!name.contains('/') && !name.contains('\n') && !name.starts_with('.'));
    }
    for (id, word, color) in [
        ("api", "operational", "1a7f37"),
        ("web", "degraded", "9a6700"),
        ("db", "down", "cf222e"),
        ("cdn", "maintenance", "0969da"),
        ("apex-dns", "unknown", "59636e"),
    ] {
        let doc = parse(&files[&format!("badge/{id}.svg")]);
        let svg = doc.root_element();
        assert!(svg.has_tag_name(("http://www.w3.org/2000/svg", "svg")));
        let title = child(svg, "title").text().expect("title");
        assert!(title.ends_with(&format!(": {word}")), "{title}");
        let width: u32 = svg
            .attribute("width")
            .expect("width")
            .parse()
            .expect("number");
        assert!(width > 40);

        let endpoint: Value =
            serde_json::from_slice(&files[&format!("badge/{id}.json")]).expect("json");
        assert_eq!(
            keys(&endpoint),
            BTreeSet::from(["schemaVersion", "label", "message", "color", "cacheSeconds"])
        );
        assert_eq!(endpoint["schemaVersion"], 1);
        assert_eq!(endpoint["message"], word);
        assert_eq!(endpoint["color"], color);
        assert!(endpoint["cacheSeconds"].as_u64().is_some_and(|c| c >= 300));
        assert!(endpoint["label"].is_string());
    }
    // The hostile probe: name escaped, no injected element, id kept in the folder.
    let evil = files
        .iter()
        .find(|(p, _)| p.ends_with(".svg") && p.contains("evil"))
        .expect("hostile badge");
    let doc = parse(evil.1);
    no_injected_elements(
        &doc,
        &[
            "svg",
            "title",
            "linearGradient",
            "stop",
            "clipPath",
            "rect",
            "g",
            "text",
        ],
    );
    let title = child(doc.root_element(), "title").text().expect("title");
    assert!(title.starts_with("<script>"), "{title}");
    // A longer label makes a wider badge.
    let width = |p: &str| -> u32 {
        parse(&files[p])
            .root_element()
            .attribute("width")
            .expect("width")
            .parse()
            .expect("n")
    };
    assert!(width("badge/api.svg") > width("badge/db.svg"));
}

// ---------------------------------------------------------------- metrics

fn metrics_text(s: &Site) -> String {
    String::from_utf8(metrics::file(s).bytes).expect("UTF-8")
}

#[test]
fn metrics_are_prometheus_text_with_blackbox_names() {
    let text = metrics_text(&site(None));
    let names = [
        "probe_success",
        "probe_duration_seconds",
        "probe_dns_lookup_time_seconds",
        "probe_http_duration_seconds",
        "probe_http_status_code",
        "probe_http_content_length",
        "probe_http_uncompressed_body_length",
        "probe_http_version",
        "probe_ip_protocol",
        "probe_ssl_earliest_cert_expiry",
        "outpost_probe_state",
        "outpost_probe_result_timestamp_seconds",
    ];
    let mut seen_type = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().expect("HELP or TYPE");
            let name = parts.next().expect("name");
            assert!(names.contains(&name), "{line}");
            assert!(kind == "HELP" || kind == "TYPE", "{line}");
            if kind == "TYPE" {
                assert_eq!(parts.next(), Some("gauge"));
                assert!(seen_type.insert(name), "family {name} written twice");
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("name{labels} value");
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("value in {line}"));
        let (name, labels) = series.split_once('{').expect("labels");
        assert!(names.contains(&name), "{line}");
        assert!(
            labels.starts_with("probe=\"") && labels.ends_with('}'),
            "{line}"
        );
    }
    assert_eq!(seen_type.len(), names.len());

    let has = |l: &str| text.lines().any(|x| x == l);
    let loc = r#"location="runner \"eu\"""#;
    assert!(has(&format!("probe_success{{probe=\"api\",{loc}}} 1")));
    assert!(
        has(&format!("probe_success{{probe=\"web\",{loc}}} 1")),
        "degraded counts as success"
    );
    assert!(has(&format!("probe_success{{probe=\"db\",{loc}}} 0")));
    assert!(has(&format!(
        "probe_duration_seconds{{probe=\"api\",{loc}}} 0.0417"
    )));
    assert!(has(&format!(
        "probe_http_duration_seconds{{probe=\"api\",{loc},phase=\"processing\"}} 0.0339"
    )));
    assert!(has(&format!(
        "probe_http_duration_seconds{{probe=\"api\",{loc},phase=\"resolve\"}} 0.0004"
    )));
    assert!(has(&format!(
        "probe_http_status_code{{probe=\"api\",{loc}}} 200"
    )));
    assert!(has(&format!(
        "probe_http_content_length{{probe=\"api\",{loc}}} 1234"
    )));
    assert!(has(&format!(
        "probe_http_uncompressed_body_length{{probe=\"api\",{loc}}} 4096"
    )));
    assert!(has(&format!("probe_http_version{{probe=\"api\",{loc}}} 2")));
    assert!(has(&format!("probe_ip_protocol{{probe=\"db\",{loc}}} 4")));
    assert!(has(&format!(
        "probe_ssl_earliest_cert_expiry{{probe=\"api\",{loc}}} {}",
        t("2027-01-09T00:00:00Z").timestamp()
    )));
    assert!(has(
        "outpost_probe_state{probe=\"cdn\",state=\"maintenance\"} 1"
    ));
    assert!(has(
        "outpost_probe_state{probe=\"cdn\",state=\"operational\"} 0"
    ));
    assert!(
        !text.contains("probe_http_status_code{probe=\"db\""),
        "tcp has no HTTP status"
    );
    assert!(!text.contains("probe=\"apex-dns\""), "no result, no series");
    // The hostile id: quote, newline and backslash escaped, on one line.
    assert!(
        has(&format!(
            "probe_success{{probe=\"evil\\\"probe\\nx\\\\\",{loc}}} 0"
        )),
        "{text}"
    );
}

#[test]
fn metrics_pass_promtool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("metrics.prom");
    std::fs::write(&path, metrics_text(&site(None))).expect("write");
    let stdin = std::fs::File::open(&path).expect("open");
    let out = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(stdin)
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("CI").is_none(),
                "promtool is required in CI (apt-get install prometheus)"
            );
            eprintln!("promtool not installed: skipped");
            return;
        }
        Err(e) => panic!("promtool: {e}"),
    };
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_empty_site_renders_empty_but_valid_outputs() {
    let mut s = site(None);
    s.groups.clear();
    s.incidents.clear();
    s.maintenance.clear();
    s.overall = Overall::Operational;
    let files = by_path(statuspage::files(&s));
    let summary = json(&files, "api/v2/summary.json");
    assert_eq!(summary["components"], serde_json::json!([]));
    assert_eq!(summary["incidents"], serde_json::json!([]));
    let feeds = by_path(feeds::files(&s));
    let atom = parse(&feeds["history.atom"]);
    assert_eq!(
        child(atom.root_element(), "updated").text(),
        Some("2026-11-25T10:00:00Z")
    );
    assert!(badge::files(&s).is_empty());
    assert!(metrics::file(&s).bytes.is_empty());
}

use std::path::Path;
use std::time::Duration;

use super::*;

fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> + 'static {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

fn ok(src: &str) -> Config {
    match parse(Path::new("probes.toml"), src, env(&[("TOKEN", "tok-123")])) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn problems(src: &str) -> Vec<Problem> {
    match parse(Path::new("probes.toml"), src, env(&[])) {
        Ok(_) => panic!("expected an error for:\n{src}"),
        Err(e) => e.problems().to_vec(),
    }
}

#[test]
fn defaults_merge_and_kind_is_implied_by_url() {
    let c = ok(r#"
[defaults]
timeout = "3s"
failure_threshold = 5

[[probe]]
name = "Public API"
url = "https://api.example.test/health"
timeout = "1s"

[[probe]]
name = "DB"
kind = "tcp"
target = "db.example.test:5432"
"#);
    assert_eq!(c.page.title, "Status");
    let api = &c.probes[0];
    assert_eq!(api.id.0, "public-api");
    assert_eq!(api.kind_name(), "http");
    assert_eq!(api.timeout, Duration::from_secs(1));
    assert_eq!(api.failure_threshold, 5);
    assert_eq!(api.success_threshold, 1);
    let db = &c.probes[1];
    assert_eq!(db.timeout, Duration::from_secs(3));
    assert_eq!(db.host(), "db.example.test");
}

#[test]
fn secrets_are_substituted_and_tracked() {
    let c = ok(r#"
[[probe]]
name = "api"
url = "https://api.example.test/?key=${TOKEN}"
headers = { Authorization = "Bearer ${TOKEN}" }
"#);
    let p = &c.probes[0];
    assert_eq!(p.target_display, "https://api.example.test/?key=${TOKEN}");
    let ProbeKind::Http(h) = &p.kind else {
        panic!("http")
    };
    assert!(h.url.as_str().contains("tok-123"));
    assert!(h.headers[0].1.is_sensitive());
    assert_eq!(
        c.secrets.redact("failed for tok-123"),
        "failed for ${TOKEN}"
    );
    assert!(
        !format!("{c:?}").contains("tok-123"),
        "Debug leaks a secret"
    );
}

#[test]
fn every_kind_parses() {
    let c = ok(r#"
[[probe]]
name = "dns"
kind = "dns"
target = "example.test"
record = "MX"
resolver = "127.0.0.1:5353"
expect.answers = ["10 mail.example.test"]

[[probe]]
name = "cert"
kind = "tls"
target = "example.test"
expect.cert_days = 21

[[probe]]
name = "m"
kind = "metrics"
url = "http://127.0.0.1:9100/metrics"
expect.metrics = { 'up{job="api"}' = "== 1", "inflight" = "< 200" }
degraded.metrics = { "inflight" = "< 100" }

[[probe]]
name = "json"
url = "http://127.0.0.1/"
expect.status = [200, "3xx"]
expect.json = { "$.status" = "UP", "$.depth" = "< 100", "$.ok" = true }
expect.headers = { "Content-Type" = "~ json" }
"#);
    assert_eq!(c.probes.len(), 4);
    let ProbeKind::Tls(t) = &c.probes[1].kind else {
        panic!("tls")
    };
    assert_eq!(t.endpoint.port, 443);
    assert_eq!(c.probes[2].expect.metrics.len(), 2);
    assert_eq!(c.probes[3].expect.headers[0].0, "content-type");
    assert_eq!(c.probes[3].expect.status.len(), 2);
}

#[test]
fn errors_point_at_line_and_column() {
    let p = problems("[[probe]]\nname = \"a\"\nurl = \"http://x/\"\ntimout = \"1s\"\n");
    assert_eq!((p[0].line, p[0].col), (4, 1));
    assert!(p[0].message.contains("unknown field `timout`"));
    assert!(p[0].hint.is_some());
}

#[test]
fn meaning_errors_are_all_reported() {
    let p = problems(
        r#"[[probe]]
name = "a"
url = "ftp://x/"

[[probe]]
name = "b"
kind = "tcp"
target = "nohost"

[[probe]]
name = "c"
url = "http://x/"
channels = ["pager"]

[[probe]]
name = "d"
kind = "tcp"
target = "h:1"
record = "A"
"#,
    );
    let lines: Vec<usize> = p.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![3, 8, 13, 19], "{p:#?}");
}

#[test]
fn duplicate_ids_and_bad_values() {
    let p = problems(
        "[[probe]]\nname = \"API\"\nurl = \"http://x/\"\n[[probe]]\nname = \"api\"\nurl = \"http://y/\"\n",
    );
    assert!(p[0].message.contains("duplicate probe id \"api\""));
    let p = problems("[[probe]]\nname = \"a\"\nurl = \"http://x/\"\nexpect.body_matches = \"(\"\n");
    assert_eq!(p[0].line, 4);
    assert!(p[0].message.contains("invalid regex"));
    let p = problems(
        "[[probe]]\nname = \"a\"\nurl = \"http://x/\"\nexpect.json = { \"$.a\" = \"< x\" }\n",
    );
    assert_eq!(p[0].line, 4);
    let p = problems("[[probe]]\nname = \"a\"\nurl = \"http://x/\"\nexpect.status = [\"7xx\"]\n");
    assert_eq!(p[0].line, 4);
}

#[test]
fn channels_and_maintenance() {
    let c = ok(r#"
[[probe]]
id = "api"
url = "http://x/"
channels = ["oncall"]

[[channel]]
name = "oncall"
kind = "slack"
url = "https://hooks.example.test/${TOKEN}"
on = ["down", "recovered"]
remind_every = "2h"

[[maintenance]]
title = "DB upgrade"
probes = ["api"]
start = "2026-12-01T02:00:00Z"
end = 2026-12-01T03:00:00Z
"#);
    assert_eq!(c.channels[0].remind_every, Some(Duration::from_secs(7200)));
    assert_eq!(c.maintenance[0].probes[0].0, "api");
    let p = problems(
        "[[probe]]\nid = \"a\"\nurl = \"http://x/\"\n[[channel]]\nname = \"x\"\nkind = \"pagerduty\"\n[[maintenance]]\ntitle = \"t\"\nprobes = [\"zz\"]\nstart = \"2026-12-01T03:00:00Z\"\nend = \"2026-12-01T02:00:00Z\"\n",
    );
    assert_eq!(p.len(), 3, "{p:#?}");
}

#[test]
fn time_zones_are_iana_names() {
    let c =
        ok("[page]\ntimezone = \"Europe/Berlin\"\n[[probe]]\nname = \"a\"\nurl = \"http://x/\"\n");
    assert_eq!(c.page.timezone, "Europe/Berlin");
    let p = problems(
        "[page]\ntimezone = \"Mars/Olympus\"\n[[probe]]\nname = \"a\"\nurl = \"http://x/\"\n",
    );
    assert_eq!((p[0].line, p[0].col), (2, 12));
    assert!(p[0].message.contains("unknown time zone"));
}

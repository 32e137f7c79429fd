//! `outpost report` after runs spread over days.

mod support;

use support::{Workspace, http, outpost};

#[test]
fn report_counts_uptime_and_formats() {
    let web = http::serve(|_req| async { http::respond(200, "ok") });
    let ws = Workspace::new();
    let toml = format!(
        "[[probe]]\nid = \"web\"\nname = \"Web, \\\"main\\\"\"\nurl = \"http://{web}/\"\n\n[[probe]]\nid = \"db\"\nkind = \"tcp\"\ntarget = \"127.0.0.1:{}\"\n",
        http::closed_port()
    );
    for day in 20..=24 {
        ws.run_json(&toml, &["--now", &format!("2026-11-{day}T10:00:00Z")]);
    }
    let cfg = ws.path().join("probes.toml");
    let report = |format: &str| {
        let out = outpost()
            .arg("report")
            .arg("-c")
            .arg(&cfg)
            .arg("--db")
            .arg(ws.db())
            .args([
                "--days",
                "7",
                "--format",
                format,
                "--now",
                "2026-11-25T12:00:00Z",
            ])
            .output()
            .expect("report");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let doc: serde_json::Value = serde_json::from_str(&report("json")).expect("json");
    assert_eq!(doc["days"], 7);
    let web = &doc["probes"][0];
    assert_eq!(web["probe"], "web");
    assert_eq!(web["results"], 5);
    assert_eq!(web["uptime"], 100.0);
    assert!(web["p95_ms"].is_f64());
    let db = &doc["probes"][1];
    assert_eq!(
        (db["results"].as_u64(), db["down"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(db["uptime"], 0.0);

    let csv = report("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("probe,name,results"));
    assert!(
        lines[1].starts_with("web,\"Web, \"\"main\"\"\",5,0,100.0000"),
        "{csv}"
    );
    let records: Vec<Vec<String>> = lines.iter().map(|l| parse_csv_line(l)).collect();
    let header = &records[0];
    assert!(records.iter().all(|r| r.len() == header.len()), "{csv}");
    let field = |row: usize, name: &str| {
        let i = header.iter().position(|h| h == name).expect(name);
        records[row][i].clone()
    };
    assert_eq!(field(1, "name"), "Web, \"main\"");
    assert_eq!(
        (field(2, "probe"), field(2, "down")),
        ("db".into(), "5".into())
    );
    assert_eq!(field(2, "uptime_percent"), "0.0000");

    let table = report("table");
    assert!(table.starts_with("PROBE"));
    assert!(!table.contains('\u{1b}'), "plain text on a pipe: {table}");
    let web_line = table
        .lines()
        .find(|l| l.starts_with("web "))
        .expect("web row");
    let db_line = table
        .lines()
        .find(|l| l.starts_with("db "))
        .expect("db row");
    assert!(web_line.contains("Web, \"main\"") && web_line.contains("100.000%"));
    assert!(db_line.ends_with("exhausted"), "{table}");
    // Aligned: every row's second column starts where the header's does.
    let name_col = table.find("NAME").expect("NAME");
    assert_eq!(web_line.find("Web"), Some(name_col));

    // Days before --days are left out: a 1-day window has nothing for the 25th.
    let one_day = outpost()
        .arg("report")
        .arg("-c")
        .arg(&cfg)
        .arg("--db")
        .arg(ws.db())
        .args([
            "--days",
            "1",
            "--format",
            "json",
            "--now",
            "2026-11-24T23:00:00Z",
        ])
        .output()
        .expect("report");
    let doc: serde_json::Value = serde_json::from_slice(&one_day.stdout).expect("json");
    assert_eq!(doc["probes"][0]["results"], 1);
}

#[test]
fn a_missing_store_or_bad_config_is_an_error() {
    let ws = Workspace::new();
    ws.config("[[probe]]\nid = \"x\"\nurl = \"http://127.0.0.1:9/\"\n");
    let missing = ws.path().join("nowhere.db");
    let out = outpost()
        .current_dir(ws.path())
        .args(["report", "--db"])
        .arg(&missing)
        .output()
        .expect("report");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!missing.exists(), "a report never creates a store");

    ws.config("[[probe]]\nid = 3\n");
    let out = outpost()
        .current_dir(ws.path())
        .arg("report")
        .output()
        .expect("report");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// RFC 4180 fields of one line (no line breaks inside quotes here).
fn parse_csv_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().expect("field").push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().expect("field").push(c),
        }
    }
    assert!(!quoted, "unterminated quote in {line:?}");
    fields
}

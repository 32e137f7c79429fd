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

    let table = report("table");
    assert!(table.starts_with("PROBE"));
    assert!(
        table.contains("db") && table.contains("exhausted"),
        "{table}"
    );
}

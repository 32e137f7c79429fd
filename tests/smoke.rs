mod support;

use support::{Workspace, http, result};

#[test]
fn run_reports_json_for_a_local_target() {
    let addr = http::serve(|_req| async { http::respond(503, "nope") });
    let ws = Workspace::new();
    let (code, doc) = ws.run_json(
        &format!("[[probe]]\nname = \"api\"\nurl = \"http://{addr}/health\"\n"),
        &[],
    );
    assert_eq!(doc["location"], "test");
    let r = result(&doc, "api");
    assert!(r["outcome"].is_string());
    assert!(code == 0 || code == 1);
}

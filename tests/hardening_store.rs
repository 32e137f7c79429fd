//! Issue 9: the store and the run under a broken environment. Logging to a
//! full device never costs a run its results (item 4); a store that cannot be
//! written is refused before probing (item 7); a damaged store is reported,
//! never rendered from half its data (item 10).

mod support;

use std::fs::OpenOptions;
use std::path::Path;
use std::process::Stdio;

use support::{Workspace, http};

/// `/dev/full`: every write fails with ENOSPC.
fn dev_full() -> std::fs::File {
    OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full")
}

/// The binary as a plain `std::process::Command`, for redirecting stdio to files.
fn bin(ws: &Workspace, db: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("outpost"));
    c.env_remove("RUST_LOG")
        .arg("run")
        .arg("-c")
        .arg(ws.path().join("probes.toml"))
        .arg("--db")
        .arg(db);
    c
}

fn results_in(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open store");
    conn.query_row("SELECT COALESCE(SUM(n), 0) FROM result_blocks", [], |r| {
        r.get(0)
    })
    .expect("count results")
}

fn healthy_probe(ws: &Workspace) {
    let target = http::serve(|_req| async { http::respond(200, "ok") });
    ws.config(&format!(
        "[[probe]]\nid = \"api\"\nurl = \"http://{target}/\"\n"
    ));
}

#[test]
fn logging_to_a_full_device_never_costs_the_run_its_results() {
    for format in ["text", "json"] {
        let ws = Workspace::new();
        healthy_probe(&ws);
        let out = bin(&ws, &ws.db())
            .args(["--log-format", format, "--format", "json"])
            .env("RUST_LOG", "outpost=debug")
            .stderr(dev_full())
            .stdout(Stdio::piped())
            .output()
            .expect("run outpost");
        assert_eq!(
            out.status.code(),
            Some(0),
            "--log-format {format}: stdout {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(results_in(&ws.db()), 1, "--log-format {format}");
    }
}

#[test]
fn a_store_error_with_stderr_on_a_full_device_still_exits_3() {
    let ws = Workspace::new();
    healthy_probe(&ws);
    let random = ws.path().join("random.db");
    std::fs::write(&random, b"not a database at all, just some text\n").expect("write");
    let status = bin(&ws, &random)
        .env("RUST_LOG", "outpost=info")
        .stdout(Stdio::null())
        .stderr(dev_full())
        .status()
        .expect("run outpost");
    assert_eq!(status.code(), Some(3));
}

/// Whether this test runs as root, which file permissions do not stop: the
/// binary is then run as `nobody` so that they do.
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `outpost run` on `db`, as `nobody` when the test runs as root.
fn run_unprivileged(ws: &Workspace, db: &Path) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut c = bin(ws, db);
    c.args(["--format", "json"]);
    if is_root() {
        c.uid(65534).gid(65534);
    }
    c.output().expect("run outpost")
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn sidecars(db: &Path) -> Vec<String> {
    ["-wal", "-shm", "-journal"]
        .iter()
        .map(|s| format!("{}{s}", db.display()))
        .filter(|p| Path::new(p).exists())
        .collect()
}

/// A probe whose target counts its requests, and a store it has run once into.
fn probed_once(ws: &Workspace) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let target = http::serve(move |_req| {
        h.fetch_add(1, Ordering::SeqCst);
        async { http::respond(200, "ok") }
    });
    ws.config(&format!(
        "[[probe]]\nid = \"api\"\nurl = \"http://{target}/\"\n"
    ));
    let status = bin(ws, &ws.db())
        .stdout(Stdio::null())
        .status()
        .expect("first run");
    assert_eq!(status.code(), Some(0));
    assert!(sidecars(&ws.db()).is_empty(), "a clean store to start from");
    chmod(ws.path(), 0o777);
    chmod(&ws.path().join("probes.toml"), 0o644);
    hits
}

#[test]
fn a_read_only_store_is_refused_before_the_first_probe() {
    use std::sync::atomic::Ordering;
    let ws = Workspace::new();
    let hits = probed_once(&ws);
    let before = hits.load(Ordering::SeqCst);
    chmod(&ws.db(), 0o444);
    let out = run_unprivileged(&ws, &ws.db());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("read-only"), "{stderr}");
    assert_eq!(hits.load(Ordering::SeqCst), before, "nothing was probed");
    assert_eq!(
        sidecars(&ws.db()),
        Vec::<String>::new(),
        "nothing left beside it"
    );
}

#[test]
fn a_store_in_a_read_only_directory_is_refused_before_the_first_probe() {
    use std::sync::atomic::Ordering;
    let ws = Workspace::new();
    let hits = probed_once(&ws);
    let before = hits.load(Ordering::SeqCst);
    chmod(&ws.db(), 0o666);
    chmod(ws.path(), 0o555);
    let out = run_unprivileged(&ws, &ws.db());
    let missing = ws.path().join("new.db");
    let created = run_unprivileged(&ws, &missing);
    chmod(ws.path(), 0o777);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("not writable"), "{stderr}");
    let stderr = String::from_utf8_lossy(&created.stderr);
    assert_eq!(created.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("not writable"), "{stderr}");
    assert_eq!(hits.load(Ordering::SeqCst), before, "nothing was probed");
    assert!(!missing.exists());
    assert_eq!(sidecars(&ws.db()), Vec::<String>::new());
}

/// Run `script` with `sh` in a mount namespace of its own, where it may mount
/// a small tmpfs: as root directly, otherwise as root of a user namespace.
/// `None` when this machine allows neither (the reason is printed).
fn in_mount_namespace(script: &str, env: &[(&str, &Path)]) -> Option<std::process::Output> {
    let mut c = std::process::Command::new("unshare");
    if !is_root() {
        c.arg("--map-root-user");
    }
    c.args(["--mount", "sh", "-c", script]);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().ok()?;
    if out.status.code() == Some(97) || !out.status.success() && out.stdout.is_empty() {
        println!(
            "no mount namespace here, the full-disk run was not made: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    Some(out)
}

#[test]
fn a_full_disk_says_disk_full() {
    let ws = Workspace::new();
    healthy_probe(&ws);
    // A store with history, copied onto a tmpfs that is then filled up; and
    // a new store on the full tmpfs.
    let status = bin(&ws, &ws.db())
        .stdout(Stdio::null())
        .status()
        .expect("first run");
    assert_eq!(status.code(), Some(0));
    let mnt = ws.path().join("mnt");
    std::fs::create_dir(&mnt).expect("mkdir");
    let script = r#"
        mount -t tmpfs -o size=512k tmpfs "$MNT" || exit 97
        cp "$DB" "$MNT/outpost.db"
        dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null
        echo ready
        "$OUTPOST" run -c "$CONFIG" --db "$MNT/outpost.db" >/dev/null 2>"$MNT/../existing.err"
        echo "existing $?"
        "$OUTPOST" run -c "$CONFIG" --db "$MNT/new.db" >/dev/null 2>"$MNT/../new.err"
        echo "new $?"
    "#;
    let outpost = assert_cmd::cargo::cargo_bin("outpost");
    let config = ws.path().join("probes.toml");
    let db = ws.db();
    let Some(out) = in_mount_namespace(
        script,
        &[
            ("MNT", &mnt),
            ("OUTPOST", &outpost),
            ("CONFIG", &config),
            ("DB", &db),
        ],
    ) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("existing 3") && stdout.contains("new 3"),
        "{stdout}"
    );
    for name in ["existing.err", "new.err"] {
        let err = std::fs::read_to_string(ws.path().join(name)).expect("stderr file");
        assert!(err.contains("disk full"), "{name}: {err}");
    }
}

/// Overwrite page `page` (1-based) of the SQLite file at `db` with noise.
fn corrupt_page(db: &Path, page: u64) {
    use std::io::{Seek, SeekFrom, Write};
    let conn = rusqlite::Connection::open(db).expect("open");
    let size: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .expect("page_size");
    let size = u64::try_from(size).expect("page size");
    drop(conn);
    let mut f = OpenOptions::new().write(true).open(db).expect("open file");
    f.seek(SeekFrom::Start((page - 1) * size)).expect("seek");
    let noise: Vec<u8> = (0..size).map(|i| (i * 7919 % 251) as u8).collect();
    f.write_all(&noise).expect("write");
}

#[test]
fn a_damaged_store_is_reported_never_rendered() {
    let ws = Workspace::new();
    healthy_probe(&ws);
    for _ in 0..3 {
        let status = bin(&ws, &ws.db())
            .stdout(Stdio::null())
            .status()
            .expect("run");
        assert_eq!(status.code(), Some(0));
    }
    // Every command reads the rollups: damage their table's root page.
    let root: i64 = rusqlite::Connection::open(ws.db())
        .expect("open")
        .query_row(
            "SELECT rootpage FROM sqlite_schema WHERE name = 'day_rollups'",
            [],
            |r| r.get(0),
        )
        .expect("rootpage");
    corrupt_page(&ws.db(), u64::try_from(root).expect("page"));
    let config = ws.path().join("probes.toml");
    let out_dir = ws.path().join("public");
    let commands: [(&str, Vec<std::ffi::OsString>); 3] = [
        (
            "run",
            vec!["run".into(), "-c".into(), config.clone().into()],
        ),
        (
            "render",
            vec![
                "render".into(),
                "-c".into(),
                config.clone().into(),
                "--out".into(),
                out_dir.clone().into(),
            ],
        ),
        (
            "report",
            vec!["report".into(), "-c".into(), config.clone().into()],
        ),
    ];
    for (name, args) in commands {
        let copy = ws.path().join(format!("{name}.db"));
        std::fs::copy(ws.db(), &copy).expect("copy");
        let out = support::outpost()
            .args(&args)
            .arg("--db")
            .arg(&copy)
            .output()
            .expect("outpost");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{name}: {stderr}");
        assert!(
            stderr.contains("the store is damaged: restore it from the data branch or a backup"),
            "{name}: {stderr}"
        );
    }
    assert!(
        !out_dir.join("index.html").exists(),
        "no page from half the data"
    );
}

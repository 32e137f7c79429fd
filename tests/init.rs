//! `outpost init`: the scaffold passes `check`, is never written over without
//! `--force`, and every workflow file of the project validates against GitHub's
//! schemas.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use support::{Workspace, outpost};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn repo_file(rel: &str) -> PathBuf {
    Path::new(ROOT).join(rel)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `outpost init ARGS --dir DIR`: exit code, stdout, stderr.
fn init(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = outpost()
        .arg("init")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .expect("run outpost init");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn init_writes_a_config_that_passes_check() {
    let ws = Workspace::new();
    let (code, stdout, stderr) = init(ws.path(), &[]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let config = ws.path().join("probes.toml");
    assert!(
        stdout.contains(&format!("wrote {}", config.display())),
        "{stdout}"
    );
    assert!(stdout.contains("outpost check"), "{stdout}");
    assert!(
        !ws.path().join(".github").exists(),
        "no workflow without --github"
    );

    // The commented-out channel reads ${SLACK_WEBHOOK_URL}: the starter must pass
    // without it.
    let out = outpost()
        .args(["check", "-c"])
        .arg(&config)
        .env_remove("SLACK_WEBHOOK_URL")
        .output()
        .expect("run outpost check");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn init_in_the_current_folder_by_default() {
    let ws = Workspace::new();
    let out = outpost()
        .arg("init")
        .current_dir(ws.path())
        .output()
        .expect("run outpost init");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("wrote probes.toml\n"), "{stdout}");
    assert!(ws.path().join("probes.toml").is_file());
}

#[test]
fn init_github_writes_the_repository_workflow() {
    let ws = Workspace::new();
    let (code, stdout, stderr) = init(ws.path(), &["--github"]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let workflow = ws.path().join(".github/workflows/status.yml");
    assert!(stdout.contains("status.yml"), "{stdout}");
    assert!(stdout.contains("Pages"), "{stdout}");
    // One source of truth: our own status workflow is what users get.
    assert!(
        read(&workflow) == read(&repo_file(".github/workflows/status.yml")),
        ".github/workflows/status.yml differs from src/scaffold/status.yml: copy the template over it"
    );
    assert!(ws.path().join("probes.toml").is_file());
}

#[test]
fn second_init_refuses_and_changes_nothing() {
    let ws = Workspace::new();
    assert_eq!(init(ws.path(), &["--github"]).0, 0);
    let config = ws.path().join("probes.toml");
    let workflow = ws.path().join(".github/workflows/status.yml");
    std::fs::write(&config, "# mine\n").expect("edit config");
    let before = (read(&config), read(&workflow));

    let (code, stdout, stderr) = init(ws.path(), &["--github"]);
    assert_eq!(code, 2, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains(&config.display().to_string()), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!((read(&config), read(&workflow)), before);
}

#[test]
fn one_existing_file_means_nothing_is_written() {
    let ws = Workspace::new();
    let config = ws.path().join("probes.toml");
    std::fs::write(&config, "# mine\n").expect("write config");

    let (code, _, stderr) = init(ws.path(), &["--github"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("probes.toml"), "{stderr}");
    assert!(!stderr.contains("status.yml"), "{stderr}");
    assert_eq!(read(&config), b"# mine\n");
    assert!(
        !ws.path().join(".github").exists(),
        "the workflow must not be written when probes.toml exists"
    );
}

#[test]
fn force_overwrites() {
    let ws = Workspace::new();
    let config = ws.path().join("probes.toml");
    let workflow = ws.path().join(".github/workflows/status.yml");
    std::fs::create_dir_all(workflow.parent().expect("parent")).expect("mkdir");
    std::fs::write(&config, "# mine\n").expect("write config");
    std::fs::write(&workflow, "# mine\n").expect("write workflow");

    let (code, stdout, stderr) = init(ws.path(), &["--github", "--force"]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(read(&config), read(&repo_file("src/scaffold/probes.toml")));
    assert_eq!(read(&workflow), read(&repo_file("src/scaffold/status.yml")));
}

/// How to run check-jsonschema here, or None when it is not installed.
fn schema_checker() -> Option<Vec<&'static str>> {
    let candidates: [&[&'static str]; 2] = [
        &["check-jsonschema"],
        &["python3", "-m", "check_jsonschema"],
    ];
    candidates.into_iter().map(<[_]>::to_vec).find(|cmd| {
        Process::new(cmd[0])
            .args(&cmd[1..])
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Validate `files` against one of check-jsonschema's vendored schemas.
fn validate(checker: &[&str], schema: &str, files: &[PathBuf]) {
    let out = Process::new(checker[0])
        .args(&checker[1..])
        .args(["--builtin-schema", schema])
        .args(files)
        .output()
        .expect("run check-jsonschema");
    assert!(
        out.status.success(),
        "{schema}: {files:?}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn workflows_and_action_match_github_schemas() {
    let Some(checker) = schema_checker() else {
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!("check-jsonschema is required in CI: python3 -m pip install check-jsonschema");
        }
        eprintln!(
            "note: skipped the workflow schema checks: check-jsonschema is not installed \
             (python3 -m pip install check-jsonschema)"
        );
        return;
    };
    let ws = Workspace::new();
    assert_eq!(init(ws.path(), &["--github"]).0, 0);
    let workflows = vec![
        ws.path().join(".github/workflows/status.yml"),
        repo_file(".github/workflows/ci.yml"),
        repo_file(".github/workflows/release.yml"),
        repo_file(".github/workflows/status.yml"),
    ];
    validate(&checker, "vendor.github-workflows", &workflows);
    validate(
        &checker,
        "vendor.github-actions",
        &[repo_file("action.yml")],
    );
}

#[test]
fn installers_download_what_the_release_builds() {
    let release =
        String::from_utf8(read(&repo_file(".github/workflows/release.yml"))).expect("utf-8");
    let installers = [
        repo_file("src/scaffold/status.yml"),
        repo_file("action.yml"),
    ];
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
    ] {
        assert!(
            release.contains(&format!("- target: {target}\n")),
            "release.yml builds no {target}"
        );
        for installer in &installers {
            let text = String::from_utf8(read(installer)).expect("utf-8");
            assert!(
                text.contains(&format!(") target={target} ;;")),
                "{} does not download {target}",
                installer.display()
            );
        }
    }
    // Asset names: outpost-VERSION-TARGET.tar.gz and .tar.gz.sha256 from tag vVERSION.
    assert!(release.contains(r#"name="outpost-${GITHUB_REF_NAME#v}-${{ matrix.target }}""#));
    assert!(release.contains(r#"tar -czf "$name.tar.gz" "$name""#));
    assert!(release.contains(r#""$name.tar.gz.sha256""#));
    for installer in &installers {
        let text = String::from_utf8(read(installer)).expect("utf-8");
        assert!(text.contains(r#"asset="outpost-$OUTPOST_VERSION-$target.tar.gz""#));
        assert!(text.contains(r#"/releases/download/v$OUTPOST_VERSION""#));
        assert!(text.contains(r#""$base/$asset.sha256""#));
    }
}

#[test]
fn action_defaults_to_this_version() {
    let action = String::from_utf8(read(&repo_file("action.yml"))).expect("utf-8");
    let version = action
        .split("\n  version:\n")
        .nth(1)
        .expect("a `version` input");
    let pin = format!("default: \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(
        version.lines().take(4).any(|l| l.trim() == pin),
        "action.yml's version input must default to {pin}"
    );
}

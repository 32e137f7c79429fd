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
        ".github/workflows/status.yml differs from what `outpost init --github` writes: \
         run `cargo run -- init --github --force` at the repository root \
         (then restore probes.toml with `git checkout probes.toml`)"
    );
    assert!(ws.path().join("probes.toml").is_file());
}

/// `src/scaffold/status.yml` with its placeholders filled from Cargo.toml.
fn filled_scaffold() -> String {
    let template = String::from_utf8(read(&repo_file("src/scaffold/status.yml"))).expect("utf-8");
    let repository = env!("CARGO_PKG_REPOSITORY");
    let slug = repository
        .strip_prefix("https://github.com/")
        .expect("Cargo.toml's repository is on GitHub");
    template
        .replace("@OUTPOST_VERSION@", env!("CARGO_PKG_VERSION"))
        .replace("@OUTPOST_REPO@", slug)
        .replace("@OUTPOST_CRATE@", env!("CARGO_PKG_NAME"))
}

#[test]
fn init_fills_the_release_repository_and_crate_from_cargo_toml() {
    let ws = Workspace::new();
    assert_eq!(init(ws.path(), &["--github"]).0, 0);
    let written =
        String::from_utf8(read(&ws.path().join(".github/workflows/status.yml"))).expect("utf-8");
    assert_eq!(written, filled_scaffold());
    assert!(!written.contains("@OUTPOST_"), "a placeholder is left");
    // The crate on crates.io is not called `outpost` (that name is taken by
    // an unrelated project); the workflow builds ours, pinned.
    assert_ne!(env!("CARGO_PKG_NAME"), "outpost");
    assert!(written.contains(&format!("OUTPOST_CRATE: \"{}\"", env!("CARGO_PKG_NAME"))));
    assert!(
        written
            .contains(r#"cargo install --locked "$OUTPOST_CRATE" --version "=$OUTPOST_VERSION""#)
    );
    // Built once, then cached by version and runner.
    assert!(
        written.contains(
            "key: outpost-${{ env.OUTPOST_VERSION }}-${{ runner.os }}-${{ runner.arch }}"
        )
    );
}

#[test]
fn init_ignores_the_local_store_once() {
    let ws = Workspace::new();
    let gitignore = ws.path().join(".gitignore");
    std::fs::write(&gitignore, "target\noutpost.db-shm\n").expect("write .gitignore");
    let (code, stdout, stderr) = init(ws.path(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "added outpost.db, outpost.db-wal to {}",
            gitignore.display()
        )),
        "{stdout}"
    );
    let text = String::from_utf8(read(&gitignore)).expect("utf-8");
    assert!(text.starts_with("target\noutpost.db-shm\n"), "{text}");
    for entry in ["outpost.db", "outpost.db-wal", "outpost.db-shm"] {
        assert_eq!(
            text.lines().filter(|l| *l == entry).count(),
            1,
            "{entry} once in:\n{text}"
        );
    }

    // Again (with --force, over the scaffold): nothing more is added.
    let (code, stdout, _) = init(ws.path(), &["--github", "--force"]);
    assert_eq!(code, 0);
    assert!(!stdout.contains(".gitignore"), "{stdout}");
    assert_eq!(String::from_utf8(read(&gitignore)).expect("utf-8"), text);
}

#[test]
fn init_writes_a_gitignore_that_git_honours() {
    let ws = Workspace::new();
    let (code, stdout, _) = init(ws.path(), &["--github"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(".gitignore"), "{stdout}");
    for name in ["outpost.db", "outpost.db-wal", "outpost.db-shm"] {
        std::fs::write(ws.path().join(name), "x").expect("write");
    }
    let git = |args: &[&str]| {
        let out = Process::new("git")
            .current_dir(ws.path())
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .expect("git");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    git(&["init", "--quiet"]);
    git(&["add", "-A"]);
    let staged = git(&["diff", "--cached", "--name-only"]);
    assert_eq!(
        staged.lines().collect::<Vec<_>>(),
        [".github/workflows/status.yml", ".gitignore", "probes.toml"],
        "a first `git add -A` commits no store"
    );
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
    assert_eq!(read(&workflow), filled_scaffold().into_bytes());
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
    // The commented-out alternative for several locations, as a user
    // uncomments it, is a valid workflow too.
    let written = String::from_utf8(read(&workflows[0])).expect("utf-8");
    let several = ws.path().join("several.yml");
    std::fs::write(&several, several_locations(&written)).expect("write");
    let mut workflows = workflows;
    workflows.push(several);
    validate(&checker, "vendor.github-workflows", &workflows);
    validate(
        &checker,
        "vendor.github-actions",
        &[repo_file("action.yml")],
    );
}

/// The workflow with its commented-out `probe` and `merge` jobs uncommented
/// in place of the `probe` job, and `deploy` needing `merge`.
fn several_locations(workflow: &str) -> String {
    let start = workflow.find("\njobs:\n").expect("jobs") + 1;
    let deploy = workflow.find("\n  deploy:\n").expect("deploy job") + 1;
    let alternative = workflow.find("\n#  probe:\n").expect("the alternative") + 1;
    let comment = workflow[..alternative]
        .rfind("\n\n")
        .expect("the comment before the alternative");
    let jobs: Vec<&str> = workflow[alternative..]
        .lines()
        .map(|l| l.strip_prefix('#').expect("commented"))
        .collect();
    format!(
        "{}{}\n{}",
        &workflow[..start + "jobs:\n".len()],
        jobs.join("\n"),
        workflow[deploy..comment].replace("needs: probe", "needs: merge")
    )
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

/// Run action.yml's "Install Outpost" step as GitHub would for an action
/// checked out at `action_path` (read from `cwd`), with fakes of curl (no
/// release found) and cargo (installs a stub): what each was asked.
fn run_action_install(action_path: &str, cwd: &Path, temp: &Path) -> (bool, String, String) {
    let action: serde_norway::Value =
        serde_norway::from_slice(&read(&repo_file("action.yml"))).expect("action.yml");
    let step = action["runs"]["steps"]
        .as_sequence()
        .expect("steps")
        .iter()
        .find(|s| s["name"].as_str() == Some("Install Outpost"))
        .expect("an Install Outpost step");
    assert_eq!(step["shell"].as_str(), Some("bash"));
    std::fs::create_dir_all(temp).expect("mkdir");
    let script = temp.join("install.sh");
    std::fs::write(&script, step["run"].as_str().expect("run")).expect("write script");

    let fakes = temp.join("fakes");
    std::fs::create_dir_all(&fakes).expect("mkdir");
    let log = temp.join("calls.log");
    let write_exe = |name: &str, body: &str| {
        let path = fakes.join(name);
        std::fs::write(&path, body).expect("write fake");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    };
    write_exe(
        "curl",
        "#!/bin/sh\nprintf 'curl %s\\n' \"$*\" >> \"$CALLS\"\nexit 22\n",
    );
    write_exe(
        "cargo",
        "#!/bin/sh\nprintf 'cargo %s\\n' \"$*\" >> \"$CALLS\"\n\
         while [ \"$#\" -gt 0 ]; do [ \"$1\" = --root ] && root=\"$2\"; shift; done\n\
         mkdir -p \"$root/bin\"\n\
         printf '#!/bin/sh\\necho outpost stub\\n' > \"$root/bin/outpost\"\n\
         chmod +x \"$root/bin/outpost\"\n",
    );
    let runner_temp = temp.join("runner-temp");
    std::fs::create_dir_all(&runner_temp).expect("mkdir");
    let github_path = temp.join("github-path");
    let out = Process::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(&script)
        .current_dir(cwd)
        .env(
            "PATH",
            format!(
                "{}:{}",
                fakes.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("CALLS", &log)
        .env("GITHUB_ACTION_PATH", action_path)
        .env("GITHUB_PATH", &github_path)
        .env("OUTPOST_VERSION", env!("CARGO_PKG_VERSION"))
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", &runner_temp)
        .output()
        .expect("run the install step");
    (
        out.status.success(),
        std::fs::read_to_string(&log).unwrap_or_default(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A copy of what an action checkout holds that the install step reads.
fn action_checkout(dir: &Path) {
    std::fs::create_dir_all(dir.join(".github/scripts")).expect("mkdir");
    std::fs::copy(repo_file("Cargo.toml"), dir.join("Cargo.toml")).expect("copy");
    std::fs::copy(
        repo_file(".github/scripts/outpost-package.sh"),
        dir.join(".github/scripts/outpost-package.sh"),
    )
    .expect("copy");
}

/// Issue 8: used as `uses: ./`, action.yml took the repository to be `/home`
/// on Linux and `D:/a` on Windows. Every path shape now gives Cargo.toml's.
#[test]
fn action_installs_from_cargo_toml_whatever_its_path() {
    let slug = env!("CARGO_PKG_REPOSITORY")
        .strip_prefix("https://github.com/")
        .expect("on GitHub");
    let version = env!("CARGO_PKG_VERSION");
    let shapes = [
        ("uses: ./ on Linux", "home/runner/work/status/status", false),
        ("uses: ./ on Windows", r"D:\a\status\status", true),
        (
            "uses: OWNER/REPO@v1",
            "home/runner/work/_actions/someone/outpost/v1",
            false,
        ),
    ];
    for (shape, path, windows) in shapes {
        let ws = Workspace::new();
        let (action_path, cwd) = if windows {
            // Relative to the working folder here; bash reads it with `/`.
            action_checkout(&ws.path().join(path.replace('\\', "/")));
            (path.to_string(), ws.path().to_path_buf())
        } else {
            let dir = ws.path().join(path);
            action_checkout(&dir);
            (dir.display().to_string(), ws.path().to_path_buf())
        };
        let temp = ws.path().join("t");
        let (ok, calls, output) = run_action_install(&action_path, &cwd, &temp);
        assert!(ok, "{shape}: {output}\n{calls}");
        let asset = format!(
            "https://github.com/{slug}/releases/download/v{version}/outpost-{version}-x86_64-unknown-linux-musl.tar.gz"
        );
        assert!(calls.contains(&asset), "{shape}: {calls}");
        assert!(
            calls.contains(&format!(
                "cargo install --locked {} --version ={version} --root ",
                env!("CARGO_PKG_NAME")
            )),
            "{shape}: {calls}"
        );
        for wrong in ["github.com/home", "github.com/D:", "github.com//"] {
            assert!(!calls.contains(wrong), "{shape}: {calls}");
        }
        assert!(output.contains("outpost stub"), "{shape}: {output}");
    }
}

#[test]
fn action_outside_an_outpost_checkout_stops() {
    let ws = Workspace::new();
    let dir = ws.path().join("elsewhere");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let (ok, calls, output) =
        run_action_install(&dir.display().to_string(), ws.path(), &ws.path().join("t"));
    assert!(!ok, "{output}");
    assert!(calls.is_empty(), "nothing downloaded or built: {calls}");
    assert!(output.contains("is not a checkout of Outpost"), "{output}");
}

/// The README installs what Cargo.toml names, before it tells anyone to run
/// `outpost`, and still opens with the demo and the tests.
#[test]
fn readme_installs_what_cargo_toml_names_first() {
    let readme = String::from_utf8(read(&repo_file("README.md"))).expect("utf-8");
    let first_block = readme.find("```sh\n").expect("a shell block");
    assert!(readme[first_block..].starts_with("```sh\ncargo run --release -- demo\n```"));
    let second = readme[first_block + 6..]
        .find("```sh\n")
        .expect("a second block")
        + first_block
        + 6;
    assert!(readme[second..].starts_with("```sh\ncargo test --locked\n```"));

    let install = readme.find("\n## Install\n").expect("an Install section");
    let end = readme[install + 1..].find("\n## ").expect("a next section") + install + 1;
    let section = &readme[install..end];
    let repository = env!("CARGO_PKG_REPOSITORY");
    assert!(
        section.contains(&format!("base={repository}/releases/download/v$v")),
        "{section}"
    );
    assert!(section.contains("sha256sum -c"), "{section}");
    assert!(
        section.contains(&format!(
            "cargo install --locked {}",
            env!("CARGO_PKG_NAME")
        )),
        "{section}"
    );
    assert!(
        section.contains("cargo install --locked --path ."),
        "{section}"
    );
    for first_use in ["`outpost check`", "`outpost run`", "outpost init"] {
        let at = readme.find(first_use).expect(first_use);
        assert!(at > install, "{first_use} comes before the Install section");
    }
}

//! The status workflow that `outpost init --github` writes, run for real
//! (issue 8): its `run:` steps in order, with GitHub's expressions substituted
//! and the built binary on PATH, against a local bare repository as origin and
//! probes of HTTP servers started here. Only the steps that need GitHub itself
//! are left out (installing a release binary, its cache, and Pages); checkout
//! and artifacts are done with git and file copies, the keep-alive call goes to
//! a fake GitHub API.
//!
//! Scenarios: three cron runs; two jobs that overlap; a Probe step killed with
//! SIGKILL; a data branch without a store; three locations merged. Each checks
//! result counts (through `outpost report`), that `outpost-data` is one commit
//! without a parent holding only the store, that main is untouched, and the
//! store's size.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_norway::Value;
use support::github::FakeGithub;
use support::{http, outpost};

/// The cadence the Probe step runs at here instead of `--every 1m`.
const EVERY: &str = "--every 200ms";
/// Rounds per Probe step, as the scaffold says.
const ROUNDS: u64 = 4;
/// Probes in the test config.
const PROBES: u64 = 2;
/// The store budget on the data branch (SPEC §6).
const BUDGET: u64 = 10 * 1024 * 1024;
const REPOSITORY: &str = "owner/status";
const TOKEN: &str = "ghs_test_token";

// ---------------------------------------------------------------- git setup

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.test")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.test")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `git ARGS` that may fail: stdout when it succeeded.
fn git_try(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("run git");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A repository as a user has it on GitHub: main holds what `outpost init
/// --github` wrote, with probes.toml pointing at `target`.
struct Origin {
    root: tempfile::TempDir,
    main: String,
    api: FakeGithub,
}

impl Origin {
    fn new(target: SocketAddr) -> Origin {
        let root = tempfile::tempdir().expect("tempdir");
        let bare = root.path().join("origin.git");
        std::fs::create_dir(&bare).expect("mkdir");
        git(
            &bare,
            &["init", "--quiet", "--bare", "--initial-branch=main"],
        );
        let seed = root.path().join("seed");
        std::fs::create_dir(&seed).expect("mkdir");
        git(&seed, &["init", "--quiet", "--initial-branch=main"]);
        let out = outpost()
            .args(["init", "--github", "--dir"])
            .arg(&seed)
            .output()
            .expect("outpost init");
        assert!(out.status.success(), "{out:?}");
        std::fs::write(
            seed.join("probes.toml"),
            format!(
                "[page]\ntitle = \"Status\"\n\n\
                 [[probe]]\nid = \"home\"\nurl = \"http://{target}/ok\"\n\n\
                 [[probe]]\nid = \"api\"\nurl = \"http://{target}/fail\"\n"
            ),
        )
        .expect("write probes.toml");
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "--quiet", "-m", "Outpost"]);
        let url = format!("file://{}", bare.display());
        git(&seed, &["push", "--quiet", &url, "main"]);
        let main = git(&bare, &["rev-parse", "refs/heads/main"]);
        Origin {
            root,
            main,
            api: FakeGithub::start(REPOSITORY, TOKEN),
        }
    }

    fn bare(&self) -> PathBuf {
        self.root.path().join("origin.git")
    }

    fn url(&self) -> String {
        format!("file://{}", self.bare().display())
    }

    /// The commit of branch outpost-data, if it exists.
    fn data_commit(&self) -> Option<String> {
        git_try(
            &self.bare(),
            &["rev-parse", "--verify", "refs/heads/outpost-data"],
        )
    }

    /// The workflow as init wrote it on main.
    fn workflow(&self) -> String {
        git(
            &self.bare(),
            &["show", "refs/heads/main:.github/workflows/status.yml"],
        )
    }

    /// Main never gets a commit from the workflow; the data branch is one
    /// commit with no parent holding only outpost.db, under the budget.
    /// Returns the store's path, copied out.
    fn check_branches(&self) -> PathBuf {
        let bare = self.bare();
        assert_eq!(
            git(&bare, &["rev-parse", "refs/heads/main"]),
            self.main,
            "main changed"
        );
        assert_eq!(
            git(
                &bare,
                &["for-each-ref", "--format=%(refname)", "refs/heads"]
            ),
            "refs/heads/main\nrefs/heads/outpost-data"
        );
        assert_eq!(
            git(&bare, &["rev-list", "--count", "refs/heads/outpost-data"]),
            "1",
            "outpost-data must be one commit"
        );
        assert_eq!(
            git(
                &bare,
                &["rev-list", "--max-parents=0", "refs/heads/outpost-data"]
            ),
            git(&bare, &["rev-parse", "refs/heads/outpost-data"]),
            "the commit has no parent"
        );
        assert_eq!(
            git(
                &bare,
                &["ls-tree", "--name-only", "refs/heads/outpost-data"]
            ),
            "outpost.db"
        );
        let size: u64 = git(
            &bare,
            &["cat-file", "-s", "refs/heads/outpost-data:outpost.db"],
        )
        .parse()
        .expect("size");
        assert!(size > 0 && size < BUDGET, "store of {size} bytes");
        let out = Command::new("git")
            .current_dir(&bare)
            .args(["show", "refs/heads/outpost-data:outpost.db"])
            .output()
            .expect("git show");
        assert!(out.status.success());
        let copy = tempfile::Builder::new()
            .prefix("saved")
            .tempdir_in(self.root.path())
            .expect("tempdir")
            .keep()
            .join("outpost.db");
        std::fs::write(&copy, &out.stdout).expect("write copy");
        copy
    }

    /// Results in the saved store: the sum of `outpost report`'s counts.
    fn saved_results(&self) -> u64 {
        let db = self.check_branches();
        results_in(&db, &self.root.path().join("seed/probes.toml"))
    }

    /// Keep-alive calls the fake API received.
    fn keepalive_calls(&self) -> usize {
        self.api
            .calls()
            .iter()
            .filter(|c| {
                c.method == "PUT"
                    && c.path == format!("/repos/{REPOSITORY}/actions/workflows/status.yml/enable")
                    && c.status == 204
                    && c.authorization == format!("Bearer {TOKEN}")
            })
            .count()
    }
}

/// `outpost report --format json --days 400`: the sum of `probes[].results`.
fn results_in(db: &Path, config: &Path) -> u64 {
    let out = outpost()
        .args(["report", "--format", "json", "--days", "400", "-c"])
        .arg(config)
        .arg("--db")
        .arg(db)
        .output()
        .expect("outpost report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    doc["probes"]
        .as_array()
        .expect("probes")
        .iter()
        .map(|p| p["results"].as_u64().expect("results"))
        .sum()
}

// ---------------------------------------------------------------- expressions

/// A value of GitHub's expression language, as far as the workflow uses it.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(String),
    Bool(bool),
}

impl Val {
    fn truthy(&self) -> bool {
        match self {
            Val::Bool(b) => *b,
            Val::Str(s) => !s.is_empty(),
        }
    }

    fn text(&self) -> String {
        match self {
            Val::Bool(b) => b.to_string(),
            Val::Str(s) => s.clone(),
        }
    }
}

/// Evaluates `${{ }}` expressions: contexts, string literals, `==`, `!=`,
/// `&&`, `||`, `!`, parentheses and the status functions.
struct Eval<'a> {
    ctx: &'a BTreeMap<String, String>,
    job_failed: bool,
    tokens: Vec<String>,
    pos: usize,
}

fn tokenize(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::from("'");
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                s.push(chars[i]);
                i += 1;
            }
            i += 1;
            out.push(s);
        } else if "=!&|".contains(c) && i + 1 < chars.len() && "=&|".contains(chars[i + 1]) {
            out.push(chars[i..i + 2].iter().collect());
            i += 2;
        } else if "()!".contains(c) {
            out.push(c.to_string());
            i += 1;
        } else {
            let mut s = String::new();
            while i < chars.len() && (chars[i].is_alphanumeric() || "._-".contains(chars[i])) {
                s.push(chars[i]);
                i += 1;
            }
            assert!(!s.is_empty(), "cannot read expression {expr:?} at {i}");
            out.push(s);
        }
    }
    out
}

impl Eval<'_> {
    fn run(ctx: &BTreeMap<String, String>, job_failed: bool, expr: &str) -> Val {
        let mut e = Eval {
            ctx,
            job_failed,
            tokens: tokenize(expr),
            pos: 0,
        };
        let v = e.or();
        assert_eq!(e.pos, e.tokens.len(), "trailing tokens in {expr:?}");
        v
    }

    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn next(&mut self) -> String {
        let t = self.tokens[self.pos].clone();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Val {
        let mut v = self.and();
        while self.peek() == Some("||") {
            self.next();
            let r = self.and();
            v = if v.truthy() { v } else { r };
        }
        v
    }

    fn and(&mut self) -> Val {
        let mut v = self.not();
        while self.peek() == Some("&&") {
            self.next();
            let r = self.not();
            v = if v.truthy() { r } else { v };
        }
        v
    }

    fn not(&mut self) -> Val {
        if self.peek() == Some("!") {
            self.next();
            return Val::Bool(!self.not().truthy());
        }
        self.compare()
    }

    fn compare(&mut self) -> Val {
        let left = self.primary();
        match self.peek() {
            Some("==") | Some("!=") => {
                let op = self.next();
                let right = self.primary();
                // GitHub compares strings ignoring case.
                let same = left.text().eq_ignore_ascii_case(&right.text());
                Val::Bool(if op == "==" { same } else { !same })
            }
            _ => left,
        }
    }

    fn primary(&mut self) -> Val {
        let t = self.next();
        if t == "(" {
            let v = self.or();
            assert_eq!(self.next(), ")");
            return v;
        }
        if let Some(s) = t.strip_prefix('\'') {
            return Val::Str(s.to_string());
        }
        if self.peek() == Some("(") {
            self.next();
            assert_eq!(self.next(), ")", "only functions without arguments");
            return Val::Bool(match t.as_str() {
                "always" => true,
                "success" => !self.job_failed,
                "failure" => self.job_failed,
                "cancelled" => false,
                other => panic!("function {other}() is not emulated"),
            });
        }
        match t.as_str() {
            "true" => Val::Bool(true),
            "false" => Val::Bool(false),
            name => Val::Str(self.lookup(name)),
        }
    }

    fn lookup(&self, name: &str) -> String {
        if let Some(v) = self.ctx.get(name) {
            return v.clone();
        }
        // Missing secrets, outputs and step results are empty, as on GitHub.
        for prefix in ["secrets.", "steps.", "matrix.", "env."] {
            if name.starts_with(prefix) {
                return String::new();
            }
        }
        panic!("the workflow uses ${{{{ {name} }}}}, which this test does not emulate")
    }
}

/// Replace every `${{ expr }}` in `text`.
fn substitute(text: &str, ctx: &BTreeMap<String, String>, job_failed: bool) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = after.find("}}").expect("closing }}");
        out.push_str(&Eval::run(ctx, job_failed, after[..end].trim()).text());
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------- the runner

/// What a step did.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Success,
    Failure,
    Skipped,
}

impl Outcome {
    fn word(&self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One step's log.
#[derive(Debug, Clone)]
struct StepLog {
    name: String,
    outcome: Outcome,
    stdout: String,
    stderr: String,
}

/// How to run the Probe step.
#[derive(Debug, Clone, Copy)]
enum Probe {
    Normal,
    /// SIGKILL the step's processes once this many rounds have printed their
    /// table (so are stored), with `every` between rounds.
    KillAfterRounds(usize, &'static str),
}

/// One job of the workflow on a fresh runner.
struct Job<'o> {
    origin: &'o Origin,
    steps: Vec<Value>,
    /// Workflow and job `env:`, unsubstituted.
    env: Vec<(String, String)>,
    default_shell: Option<String>,
    ctx: BTreeMap<String, String>,
    temp: tempfile::TempDir,
    workspace: PathBuf,
    artifacts: PathBuf,
    next: usize,
    failed: bool,
    logs: Vec<StepLog>,
    probe: Probe,
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| match x {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn map_of(v: &Value, key: &str) -> Vec<(String, String)> {
    let Some(Value::Mapping(m)) = v.get(key) else {
        return Vec::new();
    };
    m.iter()
        .map(|(k, v)| {
            let k = k.as_str().expect("key").to_string();
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                other => panic!("{k}: {other:?}"),
            };
            (k, v)
        })
        .collect()
}

/// The directory holding the binary under test.
fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_outpost"))
        .parent()
        .expect("bin dir")
        .to_path_buf()
}

impl<'o> Job<'o> {
    /// Job `name` of `workflow` (a parsed document), as run `run_id` triggered
    /// by `event`, with `matrix` values.
    fn new(
        origin: &'o Origin,
        workflow: &Value,
        name: &str,
        run_id: u32,
        event: &str,
        matrix: &[(&str, &str)],
        artifacts: &Path,
    ) -> Job<'o> {
        let job = &workflow["jobs"][name];
        assert!(job.is_mapping(), "no job {name}");
        let steps = job["steps"].as_sequence().expect("steps").clone();
        let mut env = map_of(workflow, "env");
        env.extend(map_of(job, "env"));
        let default_shell = job
            .get("defaults")
            .and_then(|d| d.get("run"))
            .and_then(|r| str_of(r, "shell"));
        let temp = tempfile::tempdir().expect("tempdir");
        let workspace = temp.path().join("work");
        let runner_temp = temp.path().join("runner-temp");
        std::fs::create_dir(&runner_temp).expect("mkdir");
        let mut ctx = BTreeMap::new();
        for (k, v) in [
            ("github.event_name", event.to_string()),
            ("github.token", TOKEN.to_string()),
            ("github.run_id", run_id.to_string()),
            ("runner.os", "Linux".to_string()),
            ("runner.arch", "X64".to_string()),
            ("runner.temp", runner_temp.display().to_string()),
        ] {
            ctx.insert(k.to_string(), v);
        }
        for (k, v) in matrix {
            ctx.insert(format!("matrix.{k}"), v.to_string());
        }
        Job {
            origin,
            steps,
            env,
            default_shell,
            ctx,
            temp,
            workspace,
            artifacts: artifacts.to_path_buf(),
            next: 0,
            failed: false,
            logs: Vec::new(),
            probe: Probe::Normal,
        }
    }

    fn runner_temp(&self) -> PathBuf {
        self.temp.path().join("runner-temp")
    }

    /// The environment every step starts from, as a GitHub runner sets it.
    fn base_env(&self, run_id: &str) -> Vec<(String, String)> {
        let path = format!(
            "{}:{}",
            bin_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        vec![
            ("PATH".into(), path),
            ("HOME".into(), self.temp.path().display().to_string()),
            ("CI".into(), "true".into()),
            ("GITHUB_ACTIONS".into(), "true".into()),
            ("GITHUB_RUN_ID".into(), run_id.into()),
            ("GITHUB_REPOSITORY".into(), REPOSITORY.into()),
            (
                "GITHUB_WORKFLOW_REF".into(),
                format!("{REPOSITORY}/.github/workflows/status.yml@refs/heads/main"),
            ),
            ("GITHUB_API_URL".into(), self.origin.api.base_url()),
            (
                "GITHUB_WORKSPACE".into(),
                self.workspace.display().to_string(),
            ),
            ("RUNNER_OS".into(), "Linux".into()),
            ("RUNNER_ARCH".into(), "X64".into()),
            (
                "RUNNER_TEMP".into(),
                self.runner_temp().display().to_string(),
            ),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            ("GIT_CONFIG_GLOBAL".into(), "/dev/null".into()),
        ]
    }

    fn step_name(step: &Value) -> String {
        str_of(step, "name")
            .or_else(|| str_of(step, "uses"))
            .unwrap_or_else(|| "step".into())
    }

    /// Run steps up to and including the one named `last`.
    fn run_through(&mut self, last: &str) {
        while self.next < self.steps.len() {
            let name = Self::step_name(&self.steps[self.next]);
            self.run_next();
            if name == last {
                return;
            }
        }
        panic!("no step {last}");
    }

    /// Run the remaining steps.
    fn finish(&mut self) {
        while self.next < self.steps.len() {
            self.run_next();
        }
    }

    fn run_all(&mut self) {
        self.finish();
    }

    fn log(&self, name: &str) -> &StepLog {
        self.logs
            .iter()
            .find(|l| l.name == name)
            .unwrap_or_else(|| panic!("step {name} not run; ran {:?}", self.names()))
    }

    fn names(&self) -> Vec<(String, &'static str)> {
        self.logs
            .iter()
            .map(|l| (l.name.clone(), l.outcome.word()))
            .collect()
    }

    fn run_next(&mut self) {
        let step = self.steps[self.next].clone();
        self.next += 1;
        let name = Self::step_name(&step);
        let condition = str_of(&step, "if").unwrap_or_else(|| "success()".into());
        let condition = condition
            .trim()
            .trim_start_matches("${{")
            .trim_end_matches("}}")
            .to_string();
        let run = Eval::run(&self.ctx, self.failed, &condition).truthy();
        let (outcome, stdout, stderr) = if !run {
            (Outcome::Skipped, String::new(), String::new())
        } else if let Some(uses) = str_of(&step, "uses") {
            self.uses(&uses, &step)
        } else if name == "Install Outpost" {
            // Downloads a release or builds from crates.io: the binary under
            // test is on PATH instead.
            (Outcome::Skipped, String::new(), String::new())
        } else {
            self.shell(&step, &name)
        };
        let continue_on_error = str_of(&step, "continue-on-error").as_deref() == Some("true");
        if outcome == Outcome::Failure && !continue_on_error {
            self.failed = true;
        }
        if let Some(id) = str_of(&step, "id") {
            self.ctx
                .insert(format!("steps.{id}.outcome"), outcome.word().to_string());
        }
        self.logs.push(StepLog {
            name,
            outcome,
            stdout,
            stderr,
        });
    }

    /// Actions: checkout with git, artifacts with copies; the cache and Pages
    /// need GitHub and are skipped.
    fn uses(&mut self, uses: &str, step: &Value) -> (Outcome, String, String) {
        let with = |key: &str| {
            step.get("with")
                .and_then(|w| str_of(w, key))
                .map(|v| substitute(&v, &self.ctx, self.failed))
        };
        let action = uses.split('@').next().unwrap_or(uses);
        match action {
            "actions/checkout" => {
                let out = Command::new("git")
                    .args(["clone", "--quiet", "--depth=1", "--branch=main"])
                    .arg(self.origin.url())
                    .arg(&self.workspace)
                    .env("GIT_CONFIG_NOSYSTEM", "1")
                    .env("GIT_CONFIG_GLOBAL", "/dev/null")
                    .output()
                    .expect("git clone");
                let outcome = if out.status.success() {
                    Outcome::Success
                } else {
                    Outcome::Failure
                };
                (
                    outcome,
                    String::new(),
                    String::from_utf8_lossy(&out.stderr).into(),
                )
            }
            "actions/upload-artifact" => {
                let name = with("name").expect("artifact name");
                let path = self.workspace.join(with("path").expect("artifact path"));
                if path.is_file() {
                    let dir = self.artifacts.join(&name);
                    std::fs::create_dir_all(&dir).expect("mkdir");
                    let file = path.file_name().expect("file name");
                    std::fs::copy(&path, dir.join(file)).expect("copy artifact");
                }
                (Outcome::Success, String::new(), String::new())
            }
            "actions/download-artifact" => {
                let pattern = with("pattern").expect("pattern");
                let prefix = pattern.strip_suffix('*').expect("a prefix pattern");
                let into = self.workspace.join(with("path").expect("path"));
                std::fs::create_dir_all(&into).expect("mkdir");
                for entry in std::fs::read_dir(&self.artifacts).expect("artifacts") {
                    let entry = entry.expect("entry");
                    if !entry.file_name().to_string_lossy().starts_with(prefix) {
                        continue;
                    }
                    for file in std::fs::read_dir(entry.path()).expect("artifact") {
                        let file = file.expect("file");
                        std::fs::copy(file.path(), into.join(file.file_name()))
                            .expect("copy artifact");
                    }
                }
                (Outcome::Success, String::new(), String::new())
            }
            "actions/cache" | "actions/upload-pages-artifact" | "actions/deploy-pages" => {
                (Outcome::Skipped, String::new(), String::new())
            }
            other => panic!("action {other} is not emulated"),
        }
    }

    fn shell(&mut self, step: &Value, name: &str) -> (Outcome, String, String) {
        let mut script = substitute(&str_of(step, "run").expect("run"), &self.ctx, self.failed);
        let mut probe = Probe::Normal;
        if name == "Probe" {
            let every = match self.probe {
                Probe::Normal => EVERY,
                Probe::KillAfterRounds(_, every) => every,
            };
            assert_eq!(
                script.matches("--every 1m").count(),
                1,
                "the Probe step's cadence changed: {script}"
            );
            script = script.replace("--every 1m", every);
            probe = self.probe;
        }
        let shell = str_of(step, "shell").or_else(|| self.default_shell.clone());
        let files = self.temp.path().join(format!("step-{}", self.next));
        std::fs::create_dir(&files).expect("mkdir");
        let script_path = files.join("script.sh");
        std::fs::write(&script_path, &script).expect("write script");
        let output = files.join("output");
        let github_path = files.join("path");
        let summary = self.temp.path().join("summary.md");
        for f in [&output, &github_path] {
            std::fs::write(f, "").expect("touch");
        }

        let mut cmd = Command::new("bash");
        // GitHub's templates: `shell: bash` adds pipefail, the default does not.
        match shell.as_deref() {
            Some("bash") => cmd.args(["--noprofile", "--norc", "-eo", "pipefail"]),
            None => cmd.args(["-e"]),
            Some(other) => panic!("shell {other} is not emulated"),
        };
        cmd.arg(&script_path)
            .current_dir(&self.workspace)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let run_id = self.ctx["github.run_id"].clone();
        for (k, v) in self.base_env(&run_id) {
            cmd.env(k, v);
        }
        cmd.env("GITHUB_OUTPUT", &output)
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_STEP_SUMMARY", &summary);
        let mut env = self.env.clone();
        env.extend(map_of(step, "env"));
        for (k, v) in env {
            let v = substitute(&v, &self.ctx, self.failed);
            self.ctx.insert(format!("env.{k}"), v.clone());
            cmd.env(k, v);
        }

        let mut child = cmd.spawn().expect("spawn bash");
        let stderr = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s);
            s
        });
        let mut stdout = String::new();
        let mut tables = 0;
        let mut killed = false;
        for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
            let line = line.expect("stdout line");
            if line.starts_with("PROBE ") {
                tables += 1;
            }
            stdout.push_str(&line);
            stdout.push('\n');
            if let Probe::KillAfterRounds(n, _) = probe
                && tables >= n
                && !killed
            {
                // As a runner losing the job: every process of the step, at once.
                let pid = i32::try_from(child.id()).expect("pid");
                // SAFETY: kill(2) on the process group this test created.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
                killed = true;
            }
        }
        let status = child.wait().expect("wait");
        let stderr = stderr.join().expect("stderr thread");
        for line in std::fs::read_to_string(&output).expect("output").lines() {
            if let Some((k, v)) = line.split_once('=')
                && let Some(id) = str_of(step, "id")
            {
                self.ctx
                    .insert(format!("steps.{id}.outputs.{k}"), v.to_string());
            }
        }
        let outcome = if status.success() {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        if let Probe::KillAfterRounds(n, _) = probe {
            assert!(
                killed,
                "the Probe step ended before {n} rounds:\n{stdout}\n{stderr}"
            );
        }
        (outcome, stdout, stderr)
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.temp.path().join("summary.md")).unwrap_or_default()
    }

    fn workspace_file(&self, name: &str) -> PathBuf {
        self.workspace.join(name)
    }
}

fn parse(text: &str) -> Value {
    serde_norway::from_str(text).expect("workflow YAML")
}

/// `/ok` answers 200, `/fail` 503.
fn target() -> SocketAddr {
    http::serve(|req| async move {
        match req.uri().path() {
            "/ok" => http::respond(200, "all good"),
            _ => http::respond(503, "unavailable"),
        }
    })
}

/// The steps a job left out because they need GitHub itself.
fn skipped(job: &Job<'_>) -> Vec<String> {
    job.logs
        .iter()
        .filter(|l| l.outcome == Outcome::Skipped)
        .map(|l| l.name.clone())
        .collect()
}

// ---------------------------------------------------------------- scenarios

#[test]
fn three_cron_runs_keep_every_result_in_one_parentless_commit() {
    let origin = Origin::new(target());
    let workflow = parse(&origin.workflow());
    let artifacts = tempfile::tempdir().expect("tempdir");
    for run in 1..=3u32 {
        let mut job = Job::new(
            &origin,
            &workflow,
            "probe",
            run,
            "schedule",
            &[],
            artifacts.path(),
        );
        job.run_all();
        assert!(!job.failed, "run {run}: {:#?}", job.logs);
        assert_eq!(
            skipped(&job),
            [
                "Cache the Outpost binary",
                "Install Outpost",
                "Upload the status page"
            ],
            "only what needs GitHub itself is left out"
        );
        if run == 1 {
            assert!(
                job.log("Restore the store from branch outpost-data")
                    .stdout
                    .contains("starting a new store")
            );
        }
        let save = job.log("Save the store to branch outpost-data");
        assert!(save.stdout.contains(": ok (schema "), "{}", save.stdout);
        assert!(save.stdout.contains("Saved the store as"), "{save:?}");
        assert_eq!(
            origin.saved_results(),
            u64::from(run) * ROUNDS * PROBES,
            "after run {run}"
        );
        // The page was rendered for the Pages upload.
        assert!(job.workspace_file("public/index.html").is_file());

        // `--format github` over four rounds: one annotation for the down
        // probe, one summary for the job.
        let probe = job.log("Probe");
        assert_eq!(
            probe.stdout.matches("::error ").count(),
            1,
            "{}",
            probe.stdout
        );
        assert!(
            probe.stdout.contains("in 4 of 4 rounds"),
            "{}",
            probe.stdout
        );
        assert_eq!(probe.stdout.matches("PROBE ").count(), ROUNDS as usize);
        let summary = job.summary();
        assert_eq!(
            summary.lines().filter(|l| l.starts_with("### ")).count(),
            1,
            "{summary}"
        );
    }
    // Every scheduled run asked GitHub to keep its schedule enabled.
    assert_eq!(origin.keepalive_calls(), 3);
}

#[test]
fn two_overlapping_jobs_both_keep_their_results() {
    let origin = Origin::new(target());
    let workflow = parse(&origin.workflow());
    let artifacts = tempfile::tempdir().expect("tempdir");
    let mut first = Job::new(
        &origin,
        &workflow,
        "probe",
        1,
        "schedule",
        &[],
        artifacts.path(),
    );
    first.run_all();
    assert!(!first.failed, "{:#?}", first.logs);
    let before = origin.saved_results();
    assert_eq!(before, ROUNDS * PROBES);

    // A cron job and a manual one restore the same commit and probe at once;
    // the cron job saves first.
    let mut cron = Job::new(
        &origin,
        &workflow,
        "probe",
        2,
        "schedule",
        &[],
        artifacts.path(),
    );
    let mut manual = Job::new(
        &origin,
        &workflow,
        "probe",
        3,
        "workflow_dispatch",
        &[],
        artifacts.path(),
    );
    cron.run_through("Probe");
    manual.run_through("Probe");
    assert_eq!(
        cron.ctx["steps.restore.outputs.commit"],
        manual.ctx["steps.restore.outputs.commit"]
    );
    cron.finish();
    assert!(!cron.failed, "{:#?}", cron.logs);
    assert_eq!(origin.saved_results(), before + ROUNDS * PROBES);

    manual.finish();
    assert!(!manual.failed, "{:#?}", manual.logs);
    let save = manual.log("Save the store to branch outpost-data");
    assert!(
        save.stdout.contains("Another job saved the store first"),
        "the lease must refuse the second push: {save:#?}"
    );
    assert_eq!(
        origin.saved_results(),
        before + 2 * ROUNDS * PROBES,
        "both jobs' results are saved"
    );
    // The manual run does not call the keep-alive.
    assert_eq!(origin.keepalive_calls(), 2);

    // The next job builds on the merged store.
    let mut late = Job::new(
        &origin,
        &workflow,
        "probe",
        4,
        "workflow_dispatch",
        &[],
        artifacts.path(),
    );
    late.run_all();
    assert!(!late.failed, "{:#?}", late.logs);
    assert_eq!(origin.saved_results(), before + 3 * ROUNDS * PROBES);
}

#[test]
fn a_probe_step_killed_with_sigkill_still_saves_its_stored_rounds() {
    let origin = Origin::new(target());
    let workflow = parse(&origin.workflow());
    let artifacts = tempfile::tempdir().expect("tempdir");
    let mut job = Job::new(
        &origin,
        &workflow,
        "probe",
        1,
        "schedule",
        &[],
        artifacts.path(),
    );
    job.probe = Probe::KillAfterRounds(2, "--every 2s");
    job.run_through("Probe");
    let probe = job.log("Probe").clone();
    assert_eq!(probe.outcome, Outcome::Failure);
    let printed = probe.stdout.matches("PROBE ").count() as u64;
    assert!(printed >= 2, "{}", probe.stdout);
    let wal = job.workspace_file("outpost.db-wal");
    let wal_bytes = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    eprintln!("after SIGKILL: outpost.db-wal holds {wal_bytes} bytes");

    job.finish();
    let save = job.log("Save the store to branch outpost-data");
    assert_eq!(save.outcome, Outcome::Success, "{save:#?}");
    assert!(save.stdout.contains("WAL checkpointed"), "{save:#?}");
    assert_eq!(
        job.log("Upload the status page").outcome,
        Outcome::Skipped,
        "a failed job deploys nothing"
    );
    assert!(!wal.exists() || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) == 0);
    // Every round that printed its table was stored, and at most the one in
    // flight besides it.
    let saved = origin.saved_results();
    assert!(
        saved >= printed * PROBES
            && saved <= (printed + 1) * PROBES
            && saved.is_multiple_of(PROBES),
        "{saved} results saved after {printed} rounds"
    );
}

#[test]
fn a_data_branch_without_a_store_stops_the_job() {
    let origin = Origin::new(target());
    // Someone replaced the store with something else.
    let seed = origin.root.path().join("seed");
    git(&seed, &["checkout", "--quiet", "--orphan", "outpost-data"]);
    git(&seed, &["rm", "-r", "--quiet", "--cached", "."]);
    std::fs::write(seed.join("notes.txt"), "not a store\n").expect("write");
    git(&seed, &["add", "notes.txt"]);
    git(&seed, &["commit", "--quiet", "-m", "notes"]);
    git(&seed, &["push", "--quiet", &origin.url(), "outpost-data"]);
    git(&seed, &["checkout", "--quiet", "-f", "main"]);
    let before = origin.data_commit().expect("branch");

    let workflow = parse(&origin.workflow());
    let artifacts = tempfile::tempdir().expect("tempdir");
    let mut job = Job::new(
        &origin,
        &workflow,
        "probe",
        1,
        "schedule",
        &[],
        artifacts.path(),
    );
    job.run_all();
    assert!(job.failed);
    let restore = job.log("Restore the store from branch outpost-data");
    assert_eq!(restore.outcome, Outcome::Failure);
    assert!(
        restore.stdout.contains("holds no outpost.db"),
        "{restore:#?}"
    );
    for step in ["Probe", "Save the store to branch outpost-data"] {
        assert_eq!(job.log(step).outcome, Outcome::Skipped, "{step}");
    }
    assert_eq!(origin.data_commit().as_deref(), Some(before.as_str()));
    assert_eq!(
        git(&origin.bare(), &["rev-parse", "refs/heads/main"]),
        origin.main
    );
}

#[test]
fn a_damaged_store_on_the_branch_is_never_replaced() {
    let origin = Origin::new(target());
    let workflow = parse(&origin.workflow());
    let artifacts = tempfile::tempdir().expect("tempdir");
    let mut job = Job::new(
        &origin,
        &workflow,
        "probe",
        1,
        "schedule",
        &[],
        artifacts.path(),
    );
    job.run_all();
    assert!(!job.failed, "{:#?}", job.logs);

    // Truncate the saved store in a parentless commit of its own.
    let db = origin.check_branches();
    let bytes = std::fs::read(&db).expect("read");
    let damaged = origin.root.path().join("damaged.db");
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).expect("write");
    let bare = origin.bare();
    let blob = git(
        &bare,
        &["hash-object", "-w", &damaged.display().to_string()],
    );
    let tree = {
        let mut child = Command::new("git")
            .current_dir(&bare)
            .arg("mktree")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("mktree");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("100644 blob {blob}\toutpost.db\n").as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("mktree");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let commit = git(&bare, &["commit-tree", &tree, "-m", "damaged"]);
    git(&bare, &["update-ref", "refs/heads/outpost-data", &commit]);

    let mut job = Job::new(
        &origin,
        &workflow,
        "probe",
        2,
        "schedule",
        &[],
        artifacts.path(),
    );
    job.run_all();
    assert!(job.failed);
    let restore = job.log("Restore the store from branch outpost-data");
    assert_eq!(restore.outcome, Outcome::Failure);
    assert!(
        restore
            .stderr
            .contains("the store is damaged: restore it from the data branch or a backup"),
        "{restore:#?}"
    );
    assert_eq!(origin.data_commit().as_deref(), Some(commit.as_str()));
}

/// The workflow with its commented-out alternative for several locations in
/// place of the `probe` job.
fn several_locations(workflow: &str) -> Value {
    let marker = "\n#  probe:\n";
    let at = workflow.find(marker).expect("the commented alternative");
    let jobs: String = workflow[at + 1..]
        .lines()
        .map(|l| {
            l.strip_prefix('#')
                .unwrap_or_else(|| panic!("not commented: {l}"))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut doc = parse(workflow);
    let alternative: Value = parse(&format!("jobs:\n{jobs}\n"));
    let jobs = doc["jobs"].as_mapping_mut().expect("jobs");
    jobs.remove("probe");
    for (k, v) in alternative["jobs"].as_mapping().expect("jobs") {
        jobs.insert(k.clone(), v.clone());
    }
    doc
}

#[test]
fn three_locations_merge_into_one_store() {
    let origin = Origin::new(target());
    let workflow = several_locations(&origin.workflow());
    let runners = ["ubuntu-latest", "macos-latest", "windows-latest"];
    let matrix = workflow["jobs"]["probe"]["strategy"]["matrix"]["runner"]
        .as_sequence()
        .expect("matrix")
        .iter()
        .map(|v| v.as_str().expect("runner").to_string())
        .collect::<Vec<_>>();
    assert_eq!(matrix, runners);
    for run in 1..=2u32 {
        let artifacts = tempfile::tempdir().expect("tempdir");
        for runner in runners {
            let mut job = Job::new(
                &origin,
                &workflow,
                "probe",
                run,
                "schedule",
                &[("runner", runner)],
                artifacts.path(),
            );
            job.run_all();
            assert!(!job.failed, "{runner}: {:#?}", job.logs);
        }
        let mut merge = Job::new(
            &origin,
            &workflow,
            "merge",
            run,
            "schedule",
            &[],
            artifacts.path(),
        );
        merge.run_all();
        assert!(!merge.failed, "{:#?}", merge.logs);
        // Every shard started from the saved store: merging twice what they
        // share adds nothing.
        assert_eq!(
            origin.saved_results(),
            u64::from(run) * 3 * ROUNDS * PROBES,
            "after run {run}"
        );
        assert!(merge.workspace_file("public/index.html").is_file());
    }
    let db = origin.check_branches();
    let out = outpost()
        .args(["check", "--db"])
        .arg(&db)
        .output()
        .expect("check");
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("{} results", 2 * 3 * ROUNDS * PROBES))
    );
}

//! Test fixtures shared by the integration tests: servers on 127.0.0.1 and a
//! way to run the real `outpost` binary. Each test binary uses a part of it.
#![allow(dead_code)]

pub mod dns;
pub mod github;
pub mod http;
pub mod proxy;
pub mod smtp;
pub mod tls;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A temporary working folder with a `probes.toml` and a store path.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Workspace {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `probes.toml` and return its path.
    pub fn config(&self, toml: &str) -> PathBuf {
        let p = self.dir.path().join("probes.toml");
        std::fs::write(&p, toml).expect("write config");
        p
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("outpost.db")
    }

    /// `outpost run -c probes.toml --db outpost.db` for this workspace (write
    /// the config with [`Workspace::config`] first).
    pub fn run_cmd(&self) -> Command {
        let mut c = outpost();
        c.arg("run")
            .arg("-c")
            .arg(self.dir.path().join("probes.toml"))
            .arg("--db")
            .arg(self.db());
        c
    }

    /// `outpost run -c probes.toml --db outpost.db --format json` and the parsed
    /// document, with the exit code.
    pub fn run_json(&self, toml: &str, extra: &[&str]) -> (i32, serde_json::Value) {
        self.config(toml);
        let out = self
            .run_cmd()
            .args(["--format", "json", "--location", "test"])
            .args(extra)
            .output()
            .expect("run outpost");
        let code = out.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let doc = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}); exit {code}\nstdout:\n{stdout}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (code, doc)
    }
}

/// The real binary under test.
pub fn outpost() -> Command {
    let mut c = Command::cargo_bin("outpost").expect("outpost binary");
    c.env_remove("RUST_LOG").env_remove("OUTPOST_LOCATION");
    c
}

/// The result row of `probe` in a run document.
pub fn result<'a>(doc: &'a serde_json::Value, probe: &str) -> &'a serde_json::Value {
    doc["results"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["probe"] == probe))
        .unwrap_or_else(|| panic!("no result for {probe} in {doc:#}"))
}

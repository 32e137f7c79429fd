//! `outpost init`: scaffold a starter `probes.toml` and, with `--github`, the
//! GitHub Actions workflow that probes, keeps the store and publishes the page.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{CommandError, Exit};
use crate::cli::InitArgs;

/// The starter config; tests/init.rs checks that it passes `outpost check`.
pub const PROBES_TOML: &str = include_str!("../scaffold/probes.toml");

/// The status workflow, with placeholders that [`status_yml`] fills. This
/// repository's own `.github/workflows/status.yml` is what `init` writes from it
/// (tests/init.rs compares them).
pub const STATUS_YML_TEMPLATE: &str = include_str!("../scaffold/status.yml");

/// Where the config goes, relative to `--dir`.
pub const PROBES_PATH: &str = "probes.toml";

/// Where the workflow goes, relative to `--dir`.
pub const WORKFLOW_PATH: &str = ".github/workflows/status.yml";

/// Where `init` lists the local store files so that `git add -A` skips them.
pub const GITIGNORE_PATH: &str = ".gitignore";

/// The store and its SQLite sidecars: never committed to main (CI keeps the
/// store on its own branch).
pub const IGNORED: [&str; 3] = ["outpost.db", "outpost.db-wal", "outpost.db-shm"];

/// The repository that publishes release binaries, as `OWNER/NAME`, from
/// Cargo.toml's `repository`: the one place it is written.
pub fn release_repository() -> &'static str {
    let url = env!("CARGO_PKG_REPOSITORY");
    let slug = url.strip_prefix("https://github.com/").unwrap_or(url);
    let slug = slug.strip_suffix('/').unwrap_or(slug);
    slug.strip_suffix(".git").unwrap_or(slug)
}

/// The status workflow pinned to this binary's version, its release
/// repository and its crate.
pub fn status_yml() -> String {
    STATUS_YML_TEMPLATE
        .replace("@OUTPOST_VERSION@", env!("CARGO_PKG_VERSION"))
        .replace("@OUTPOST_REPO@", release_repository())
        .replace("@OUTPOST_CRATE@", env!("CARGO_PKG_NAME"))
}

/// One file `init` writes.
struct Scaffold {
    /// Relative to `--dir`, with `/` separators.
    path: &'static str,
    contents: String,
}

/// Write the scaffold; refuse, writing nothing, when any target exists and
/// `--force` is not given.
pub fn init(args: &InitArgs) -> Result<Exit, CommandError> {
    let mut files = vec![Scaffold {
        path: PROBES_PATH,
        contents: PROBES_TOML.to_string(),
    }];
    if args.github {
        files.push(Scaffold {
            path: WORKFLOW_PATH,
            contents: status_yml(),
        });
    }

    // Look at every target before writing any: a refusal leaves no half scaffold.
    if !args.force {
        let existing: Vec<String> = files
            .iter()
            .map(|f| shown(&args.dir, f.path))
            .filter(|p| p.symlink_metadata().is_ok())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(CommandError::usage(format!(
                "{} already {}; nothing was written (use --force to overwrite)",
                existing.join(", "),
                if existing.len() == 1 {
                    "exists"
                } else {
                    "exist"
                }
            )));
        }
    }

    let mut written = Vec::new();
    for f in &files {
        let path = shown(&args.dir, f.path);
        write_file(&path, &f.contents, args.force).map_err(|e| {
            let mut message = format!("cannot write {}: {e}", path.display());
            if !written.is_empty() {
                message.push_str(&format!(" (already written: {})", written.join(", ")));
            }
            CommandError::usage(message)
        })?;
        written.push(path.display().to_string());
    }
    let gitignore = shown(&args.dir, GITIGNORE_PATH);
    let ignored = ignore_store(&gitignore).map_err(|e| {
        CommandError::usage(format!(
            "cannot update {}: {e} (already written: {})",
            gitignore.display(),
            written.join(", ")
        ))
    })?;

    let mut out = io::stdout().lock();
    let _ = out.write_all(summary(&args.dir, &written, &ignored, args.github).as_bytes());
    Ok(Exit::Ok)
}

/// Add the lines of [`IGNORED`] that `path` lacks (creating it if needed);
/// returns those added. Running it again adds nothing.
fn ignore_store(path: &Path) -> io::Result<Vec<&'static str>> {
    let existing = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let present = |entry: &str| {
        existing.lines().any(|line| {
            let line = line.trim();
            line == entry || line.strip_prefix('/') == Some(entry)
        })
    };
    let missing: Vec<&'static str> = IGNORED.into_iter().filter(|e| !present(e)).collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    let mut addition = String::new();
    if !existing.is_empty() && !existing.ends_with('\n') {
        addition.push('\n');
    }
    if !existing.is_empty() {
        addition.push('\n');
    }
    addition.push_str("# Outpost's local store (CI keeps it on the branch outpost-data)\n");
    for entry in &missing {
        addition.push_str(entry);
        addition.push('\n');
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(addition.as_bytes())?;
    file.sync_all()?;
    Ok(missing)
}

/// `rel` under `dir`, without a leading `./` when `dir` is the current folder.
fn shown(dir: &Path, rel: &str) -> PathBuf {
    let rel: PathBuf = rel.split('/').collect();
    if dir == Path::new(".") || dir.as_os_str().is_empty() {
        rel
    } else {
        dir.join(rel)
    }
}

/// Create `path` (and its folders). Without `overwrite` the file must not exist
/// when it is opened, so a file that appeared since the check is never clobbered.
fn write_file(path: &Path, contents: &str, overwrite: bool) -> io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let mut options = OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// What was written and what to do next.
fn summary(dir: &Path, written: &[String], ignored: &[&str], github: bool) -> String {
    let config = shown(dir, PROBES_PATH).display().to_string();
    let mut s = String::new();
    for path in written {
        s.push_str(&format!("wrote {path}\n"));
    }
    let mut to_commit = written.to_vec();
    if !ignored.is_empty() {
        let gitignore = shown(dir, GITIGNORE_PATH).display().to_string();
        s.push_str(&format!("added {} to {gitignore}\n", ignored.join(", ")));
        to_commit.push(gitignore);
    }
    s.push_str("\nNext steps:\n");
    s.push_str(&format!(
        "  1. Edit {config}: your endpoints, and a [[channel]] for alerts.\n"
    ));
    s.push_str(&format!("  2. Validate it:  outpost check -c {config}\n"));
    s.push_str(&format!("  3. Try it once:  outpost run -c {config}\n"));
    if github {
        s.push_str(&format!("  4. Commit {} and push.\n", to_commit.join(", ")));
        s.push_str(
            "  5. On GitHub: Settings > Pages > Source: GitHub Actions. Secrets that\n     \
             probes.toml reads (SLACK_WEBHOOK_URL, ...) go in Settings > Secrets and\n     \
             variables > Actions, and in the `env:` of the probe job of status.yml.\n",
        );
    } else {
        s.push_str(
            "  4. Commit it, and run `outpost run` from cron or CI. `outpost init --github`\n     \
             scaffolds a GitHub Actions workflow that publishes a status page on GitHub Pages.\n",
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_the_current_folder_have_no_dot_prefix() {
        assert_eq!(
            shown(Path::new("."), PROBES_PATH),
            PathBuf::from("probes.toml")
        );
        assert_eq!(
            shown(Path::new("site"), WORKFLOW_PATH),
            Path::new("site")
                .join(".github")
                .join("workflows")
                .join("status.yml")
        );
    }

    #[test]
    fn the_workflow_pins_this_version_repository_and_crate() {
        let yml = status_yml();
        for pin in [
            format!("OUTPOST_VERSION: \"{}\"", env!("CARGO_PKG_VERSION")),
            format!("OUTPOST_REPO: \"{}\"", release_repository()),
            format!("OUTPOST_CRATE: \"{}\"", env!("CARGO_PKG_NAME")),
        ] {
            assert!(yml.contains(&pin), "status.yml lacks {pin}");
        }
        assert!(!yml.contains("@OUTPOST_"), "a placeholder is left");
    }

    #[test]
    fn the_release_repository_is_owner_slash_name() {
        let repo = release_repository();
        let parts: Vec<&str> = repo.split('/').collect();
        assert_eq!(parts.len(), 2, "{repo}");
        assert!(
            parts.iter().all(|p| !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))),
            "{repo}"
        );
    }
}

//! `outpost check`: validate the config and nothing else; with `--db`, check
//! a store and checkpoint it so that its main file can be saved on its own.

use std::io::Write;
use std::path::Path;

use super::{CommandError, Exit};
use crate::cli::CheckArgs;
use crate::store::Store;
use crate::{config, human_incidents};

/// What to do about a damaged store, in every message that reports one.
const RESTORE: &str = "the store is damaged: restore it from the data branch or a backup";

/// Check the store with `--db`, else the config; print a one-line summary.
pub fn check(args: &CheckArgs) -> Result<Exit, CommandError> {
    match &args.db {
        Some(db) => check_store(db),
        None => check_config(args),
    }
}

/// Load the config; print a one-line summary when it is valid.
fn check_config(args: &CheckArgs) -> Result<Exit, CommandError> {
    let cfg = config::load(&args.config.config).map_err(|e| CommandError::usage(e.to_string()))?;
    let ids: Vec<&str> = cfg.probes.iter().map(|p| p.id.0.as_str()).collect();
    let incidents = human_incidents::load_dir(&human_incidents::folder_for(&cfg.path), &ids)
        .map_err(|errors| {
            CommandError::usage(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}: ok ({} probes, {} channels, {} maintenance, {} written incidents)",
        args.config.config.display(),
        cfg.probes.len(),
        cfg.channels.len(),
        cfg.maintenance.len(),
        incidents.len()
    );
    Ok(Exit::Ok)
}

/// Open the store (refusing foreign and newer files), run `quick_check`,
/// checkpoint the WAL into the main file and print what it holds.
fn check_store(path: &Path) -> Result<Exit, CommandError> {
    // Opening creates a missing or empty file; a check must not turn a
    // mistyped path or a truncated download into a valid empty store.
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() == 0 => {
            return Err(CommandError::store(format!(
                "{}: the file is empty, not a store",
                path.display()
            )));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CommandError::store(format!(
                "{}: no such store (`outpost run` creates it)",
                path.display()
            )));
        }
        Err(e) => {
            return Err(CommandError::store(format!(
                "{}: cannot read the store: {e}",
                path.display()
            )));
        }
    }
    let damaged =
        |detail: String| CommandError::store(format!("{}: {RESTORE}\n{detail}", path.display()));
    let store = Store::open(path).map_err(|e| {
        if e.is_damage() {
            damaged(e.to_string())
        } else {
            CommandError::store(e.to_string())
        }
    })?;
    let problems = store.quick_check().map_err(|e| {
        if e.is_damage() {
            damaged(e.to_string())
        } else {
            CommandError::store(e.to_string())
        }
    })?;
    if !problems.is_empty() {
        return Err(damaged(format!(
            "quick_check: {}",
            problems.join("\nquick_check: ")
        )));
    }
    let checkpoint = store
        .checkpoint()
        .map_err(|e| CommandError::store(e.to_string()))?;
    if !checkpoint.complete() {
        return Err(CommandError::store(format!(
            "{}: another process is using the store, so its WAL could not be \
             checkpointed ({} of {} frames copied): save it once that process has ended",
            path.display(),
            checkpoint.copied,
            checkpoint.wal_frames
        )));
    }
    let figures = store
        .figures()
        .map_err(|e| CommandError::store(e.to_string()))?;
    let schema = store
        .schema_version()
        .map_err(|e| CommandError::store(e.to_string()))?;
    let bytes = std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| CommandError::store(format!("{}: {e}", path.display())))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}: ok (schema {schema}, {} results, {} incidents, {}, WAL checkpointed)",
        path.display(),
        figures.results,
        figures.incidents,
        size(bytes)
    );
    Ok(Exit::Ok)
}

/// A file size for people: bytes, KiB or MiB with one decimal.
fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    if bytes < KIB {
        format!("{bytes} bytes")
    } else if bytes < MIB {
        format!("{:.1} KiB", bytes as f64 / KIB as f64)
    } else {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(512), "512 bytes");
        assert_eq!(size(4096), "4.0 KiB");
        assert_eq!(size(10 * 1024 * 1024 + 512 * 1024), "10.5 MiB");
    }
}

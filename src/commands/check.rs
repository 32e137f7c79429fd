//! `outpost check`: validate the config and nothing else.

use std::io::Write;

use super::{CommandError, Exit};
use crate::cli::CheckArgs;
use crate::{config, human_incidents};

/// Load the config; print a one-line summary when it is valid.
pub fn check(args: &CheckArgs) -> Result<Exit, CommandError> {
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

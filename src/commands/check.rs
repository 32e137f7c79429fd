//! `outpost check`: validate the config and nothing else.

use std::io::Write;

use super::{CommandError, Exit};
use crate::cli::CheckArgs;
use crate::config;

/// Load the config; print a one-line summary when it is valid.
pub fn check(args: &CheckArgs) -> Result<Exit, CommandError> {
    let cfg = config::load(&args.config.config).map_err(|e| CommandError::usage(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}: ok ({} probes, {} channels, {} maintenance)",
        args.config.config.display(),
        cfg.probes.len(),
        cfg.channels.len(),
        cfg.maintenance.len()
    );
    Ok(Exit::Ok)
}

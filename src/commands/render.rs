//! `outpost render`: the static status site from the store.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::{CommandError, Exit};
use crate::cli::RenderArgs;
use crate::config::{self, Config};
use crate::human_incidents;
use crate::render;
use crate::store::Store;

/// Render the site into `args.out`.
pub fn render(args: &RenderArgs) -> Result<Exit, CommandError> {
    let cfg = config::load(&args.config.config).map_err(|e| CommandError::usage(e.to_string()))?;
    let store = Store::open(&args.db).map_err(|e| CommandError::store(e.to_string()))?;
    let now = args.now.unwrap_or_else(Utc::now);
    let summary = render_site(&cfg, &store, &args.out, args.templates.as_deref(), now)?;
    let _ = writeln!(std::io::stdout().lock(), "{summary}");
    Ok(Exit::Ok)
}

/// Gather, render and write the site; returns a one-line summary. Shared by
/// `render` and `run --render`.
pub fn render_site(
    cfg: &Config,
    store: &Store,
    out: &Path,
    templates: Option<&Path>,
    now: DateTime<Utc>,
) -> Result<String, CommandError> {
    let started = Instant::now();
    let ids: Vec<&str> = cfg.probes.iter().map(|p| p.id.0.as_str()).collect();
    let human = human_incidents::load_dir(&human_incidents::folder_for(&cfg.path), &ids).map_err(
        |errors| {
            CommandError::usage(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        },
    )?;
    let frame = render::gather::frame(cfg, store, &human, now)
        .map_err(|e| CommandError::store(e.to_string()))?;
    tracing::debug!(
        probes = cfg.probes.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "read the site's frame"
    );
    let render::gather::Frame { site, incidents } = frame;
    // Each thread reads its probes' history through a connection of its own.
    let path = store.path();
    let new_fill = || {
        let reader = Store::reader(path).map_err(|e| render::RenderError::Store(e.to_string()))?;
        let incidents = &incidents;
        Ok(move |view: &mut render::site::ProbeView| {
            let spec = &cfg.probes[view.position];
            render::gather::fill(cfg, &reader, spec, view, incidents.of(&view.id), now)
                .map_err(|e| render::RenderError::Store(e.to_string()))
        })
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let written =
        render::render_to(site, templates, out, workers, &new_fill).map_err(|e| match e {
            render::RenderError::Template { .. } => CommandError::usage(e.to_string()),
            _ => CommandError::store(e.to_string()),
        })?;
    Ok(format!(
        "rendered {} files ({} KB) into {} in {} ms",
        written.files,
        written.bytes / 1024,
        out.display(),
        started.elapsed().as_millis()
    ))
}

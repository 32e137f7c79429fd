//! The static status site (SPEC §7): gathered once into a [`site::Site`], then
//! written by each output. Every output is a pure function from the site to
//! files, so it can be tested without a store.

pub mod badge;
pub mod feeds;
pub mod gather;
pub mod history;
pub mod html;
pub mod metrics;
pub mod output;
pub mod scrub;
pub mod site;
pub mod statuspage;
pub mod steps;
pub mod when;

use std::path::{Path, PathBuf};

use output::Output;

pub use site::Site;

/// One file of the site: a path relative to the output folder, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub bytes: Vec<u8>,
}

impl File {
    pub fn new(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        File {
            path: path.into(),
            bytes: bytes.into(),
        }
    }
}

/// Why the site could not be rendered or written.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    #[error("store: {0}")]
    Store(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Render every output of `site`; `templates` overrides built-in templates.
pub fn render(site: &Site, templates: Option<&Path>) -> Result<Vec<File>, RenderError> {
    let mut files = html::pages(site, templates)?;
    files.extend(statuspage::files(site));
    files.extend(feeds::files(site));
    files.extend(badge::files(site));
    files.push(metrics::file(site));
    Ok(files)
}

/// What [`render_to`] wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Written {
    pub files: usize,
    pub bytes: usize,
}

/// Render every output of the site into `out`, given its frame (a site
/// whose probe views are bare: see [`gather::frame`]). Each probe's history
/// is read once, by the `fill` that `new_fill` makes for each of `workers`
/// threads; its page is written at once, and its view, without the raw
/// points only its page shows, is kept for the index, the API and the feeds.
/// Memory holds one probe's data per thread, not the site's.
pub fn render_to<M, F>(
    mut site: Site,
    templates: Option<&Path>,
    out: &Path,
    workers: usize,
    new_fill: &M,
) -> Result<Written, RenderError>
where
    M: Fn() -> Result<F, RenderError> + Sync,
    F: FnMut(&mut site::ProbeView) -> Result<(), RenderError>,
{
    let started = std::time::Instant::now();
    let out = &Output::new(out);
    let (filled, mut written) = probe_pages(&site, templates, out, workers, new_fill)?;
    tracing::debug!(
        probes = filled.len(),
        workers,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "wrote the probe pages"
    );
    let mut brief = Vec::with_capacity(filled.len());
    for (view, (full, bars)) in site
        .groups
        .iter_mut()
        .flat_map(|g| &mut g.probes)
        .zip(filled)
    {
        brief.push((full.id.clone(), bars));
        *view = full;
    }
    site.overall = gather::overall_of(&site);
    // The pages and the data files need only the finished site: made on
    // two threads, they take half the time the render waits for them (the
    // index, the API and the metrics of 10,000 probes are each large).
    let (pages, data) = std::thread::scope(|s| {
        let site = &site;
        let pages = s.spawn(move || {
            let started = std::time::Instant::now();
            let w = into(out, |sink| {
                html::Renderer::with_brief(site, templates, brief)?.site_pages(sink)
            });
            let elapsed_ms = started.elapsed().as_millis() as u64;
            tracing::debug!(elapsed_ms, "wrote the index and history");
            w
        });
        let started = std::time::Instant::now();
        let data = into(out, |sink| {
            statuspage::files(site)
                .into_iter()
                .chain(feeds::files(site))
                .chain([metrics::file(site)])
                .try_for_each(sink)
        });
        let elapsed_ms = started.elapsed().as_millis() as u64;
        tracing::debug!(elapsed_ms, "wrote the API, feeds and metrics");
        let pages = pages
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (pages, data)
    });
    for w in [pages?, data?] {
        written.files += w.files;
        written.bytes += w.bytes;
    }
    Ok(written)
}

/// Write under `out` the files `make` hands to its sink.
fn into(
    out: &Output,
    make: impl FnOnce(&mut dyn FnMut(File) -> Result<(), RenderError>) -> Result<(), RenderError>,
) -> Result<Written, RenderError> {
    let mut written = Written::default();
    make(&mut |f: File| {
        written.files += 1;
        written.bytes += f.bytes.len();
        out.write(&f)
    })?;
    Ok(written)
}

/// Fill and write every probe page and badge of `site` (see [`render_to`]);
/// returns the filled views, without what only their pages show, and their
/// index bars, in the site's order.
fn probe_pages<M, F>(
    site: &Site,
    templates: Option<&Path>,
    out: &Output,
    workers: usize,
    new_fill: &M,
) -> Result<(Vec<(site::ProbeView, html::BriefBars)>, Written), RenderError>
where
    M: Fn() -> Result<F, RenderError> + Sync,
    F: FnMut(&mut site::ProbeView) -> Result<(), RenderError>,
{
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let bare: Vec<&site::ProbeView> = site.groups.iter().flat_map(|g| &g.probes).collect();
    let pages = html::Renderer::new(site, templates)?;
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    type Done = Vec<(usize, (site::ProbeView, html::BriefBars))>;
    let work = || -> Result<(Done, Written), RenderError> {
        let mut fill = new_fill()?;
        let (mut done, mut written) = (Vec::new(), Written::default());
        while !failed.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(b) = bare.get(i) else { break };
            let mut view = (*b).clone();
            let mut write = |f: File| {
                written.files += 1;
                written.bytes += f.bytes.len();
                out.write(&f)
            };
            let page = fill(&mut view)
                .and_then(|()| pages.probe_page(&view))
                .and_then(&mut write)
                .and_then(|()| badge::files_of(&view).into_iter().try_for_each(&mut write));
            if let Err(e) = page {
                failed.store(true, Ordering::Relaxed);
                return Err(e);
            }
            let bars = pages.brief_bars(&view);
            view.keep_for_site();
            done.push((i, (view, bars)));
        }
        Ok((done, written))
    };
    let each: Vec<_> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..workers.max(1)).map(|_| s.spawn(work)).collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut filled = Vec::with_capacity(bare.len());
    let mut written = Written::default();
    for r in each {
        let (done, w) = r?;
        filled.extend(done);
        written.files += w.files;
        written.bytes += w.bytes;
    }
    filled.sort_by_key(|(i, _)| *i);
    Ok((filled.into_iter().map(|(_, v)| v).collect(), written))
}

/// Write `files` under `out`, creating folders (see [`output`]).
pub fn write(files: &[File], out: &Path) -> Result<(), RenderError> {
    let out = Output::new(out);
    files.iter().try_for_each(|f| out.write(f))
}

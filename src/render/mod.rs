//! The static status site (SPEC §7): gathered once into a [`site::Site`], then
//! written by each output. Every output is a pure function from the site to
//! files, so it can be tested without a store.

pub mod badge;
pub mod feeds;
pub mod gather;
pub mod history;
pub mod html;
pub mod metrics;
pub mod scrub;
pub mod site;
pub mod statuspage;
pub mod steps;

use std::path::{Path, PathBuf};

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

/// Render every output of `site` straight into `out`, each file written as
/// soon as it is rendered: memory holds one page at a time, not the site.
///
/// `recent` gives each probe page its last 24 hours of results and 30 days
/// of latency when the site was gathered without them (see
/// [`gather::gather_slim`]).
pub fn render_to(
    site: &Site,
    templates: Option<&Path>,
    recent: &mut html::PageData<'_>,
    out: &Path,
) -> Result<Written, RenderError> {
    let mut written = Written::default();
    // Folders made so far: 10,000 probe pages share one, and asking the file
    // system again for each page was a tenth of the render's time.
    let mut made: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    let mut sink = |f: File| -> Result<(), RenderError> {
        written.files += 1;
        written.bytes += f.bytes.len();
        write_in(&f, out, &mut made)
    };
    html::pages_into(site, templates, recent, &mut sink)?;
    for f in statuspage::files(site)
        .into_iter()
        .chain(feeds::files(site))
        .chain(badge::files(site))
        .chain([metrics::file(site)])
    {
        sink(f)?;
    }
    Ok(written)
}

/// Write `files` under `out`, creating folders; each file is written to a
/// temporary name and renamed, so a reader never sees half a page.
pub fn write(files: &[File], out: &Path) -> Result<(), RenderError> {
    for f in files {
        write_one(f, out)?;
    }
    Ok(())
}

fn write_one(f: &File, out: &Path) -> Result<(), RenderError> {
    write_in(f, out, &mut std::collections::HashSet::new())
}

/// [`write_one`], creating only folders not in `made`.
fn write_in(
    f: &File,
    out: &Path,
    made: &mut std::collections::HashSet<PathBuf>,
) -> Result<(), RenderError> {
    let path = out.join(&f.path);
    if let Some(dir) = path.parent()
        && !made.contains(dir)
    {
        std::fs::create_dir_all(dir).map_err(|source| RenderError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        made.insert(dir.to_path_buf());
    }
    let tmp = path.with_extension("tmp-outpost");
    std::fs::write(&tmp, &f.bytes).map_err(|source| RenderError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| RenderError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(())
}

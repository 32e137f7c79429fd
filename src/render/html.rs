//! The HTML pages: index.html, probe/ID.html, history.html (tera templates
//! embedded in the binary, overridable with `--templates DIR`).
//!
//! The templates receive views (`view.rs`) rather than the raw site, with
//! words, numbers and times already formatted; every string in them is raw
//! and escaped by tera's autoescape, which is on for every template.
//!
//! Context of every page: `page` ([`view::Common`]), `root` (`""` or `"../"`,
//! the way back to the site root), `path` (the page's own path),
//! `doc_title` and `doc_description`. Then `index` for index.html (and
//! `site`, the raw [`Site`], when `--templates` is given), `probe` for probe.html, `months` for history.html.

mod bars;
pub(crate) mod format;
mod objectives;
mod svg;
mod templates;
mod view;

use std::path::Path;

use tera::Context;

pub use templates::BUILT_IN;

use super::site::{DayLatency, Point, ProbeView};
use super::{File, RenderError, Site};
use templates::Templates;
use view::Views;

/// Render the HTML pages.
pub fn pages(site: &Site, templates: Option<&Path>) -> Result<Vec<File>, RenderError> {
    let mut files = Vec::new();
    pages_into(site, templates, &mut |_| Ok(None), &mut |f| {
        files.push(f);
        Ok(())
    })?;
    Ok(files)
}

/// Where a probe page gets its last 24 hours of results and 30 days of
/// latency: `None` to use the site's `recent` and `daily_latency`, or the
/// data read just for this page.
pub type PageData<'a> =
    dyn FnMut(&ProbeView) -> Result<Option<(Vec<Point>, Vec<DayLatency>)>, RenderError> + 'a;

/// Render the HTML pages, handing each to `sink` as soon as it is rendered,
/// so a site of 10,000 probe pages never holds more than one of them.
pub fn pages_into(
    site: &Site,
    templates: Option<&Path>,
    recent: &mut PageData<'_>,
    sink: &mut dyn FnMut(File) -> Result<(), RenderError>,
) -> Result<(), RenderError> {
    let templates_dir = templates;
    let templates = Templates::load(templates)?;
    let views = Views::new(site);
    let common = views.common();

    let description = common.description.clone().unwrap_or_else(|| {
        format!(
            "Current status and incident history of {}.",
            format::isolate(&common.title)
        )
    });
    let base = |path: &str, root: &str, title: String, description: String| {
        let mut ctx = Context::new();
        ctx.insert("page", &common);
        ctx.insert("root", root);
        ctx.insert("path", path);
        ctx.insert("doc_title", &title);
        ctx.insert("doc_description", &description);
        ctx
    };

    let mut ctx = base(
        "index.html",
        "",
        format!("{} status", format::isolate(&common.title)),
        description,
    );
    ctx.insert("index", &views.index());
    // The whole site as a template value costs tens of kilobytes a probe;
    // the built-in templates do not use it, so only overrides get it.
    if templates_dir.is_some() {
        ctx.insert("site", site);
    }
    sink(page(&templates, "index.html", "index.html", &ctx)?)?;
    drop(ctx);

    let mut ctx = base(
        "history.html",
        "",
        format!("Incident history · {}", format::isolate(&common.title)),
        format!(
            "Every incident of {}, newest first.",
            format::isolate(&common.title)
        ),
    );
    ctx.insert("months", &views.history());
    sink(page(&templates, "history.html", "history.html", &ctx)?)?;

    for p in views.probes() {
        let loaded = recent(p)?;
        let detail = match &loaded {
            Some((points, daily)) => views.probe(p, points, daily),
            None => views.probe(p, &p.recent, &p.daily_latency),
        };
        let path = format!("probe/{}.html", detail.row.slug);
        let mut ctx = base(
            &path,
            "../",
            format!(
                "{} · {} status",
                format::isolate(&p.name),
                format::isolate(&common.title)
            ),
            format!(
                "{}: {}. Uptime and latency over {} days.",
                format::isolate(&p.name),
                detail.row.status.word,
                common.history_days
            ),
        );
        ctx.insert("probe", &detail);
        sink(page(&templates, "probe.html", &path, &ctx)?)?;
    }
    Ok(())
}

fn page(t: &Templates, template: &str, path: &str, ctx: &Context) -> Result<File, RenderError> {
    let html = t.render(template, ctx)?;
    Ok(File::new(path, html))
}

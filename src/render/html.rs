//! The HTML pages: index.html, probe/ID.html, history.html (tera templates
//! embedded in the binary, overridable with `--templates DIR`).
//!
//! The templates receive views (`view.rs`) rather than the raw site, with
//! words, numbers and times already formatted; every string in them is raw
//! and escaped by tera's autoescape, which is on for every template.
//!
//! Context of every page: `page` ([`view::Common`]), `root` (`""` or `"../"`,
//! the way back to the site root), `path` (the page's own path),
//! `doc_title` and `doc_description`. Then `index` and `site` for
//! index.html, `probe` for probe.html, `months` for history.html.

mod bars;
pub(crate) mod format;
mod svg;
mod templates;
mod view;

use std::path::Path;

use tera::Context;

pub use templates::BUILT_IN;

use super::{File, RenderError, Site};
use templates::Templates;
use view::Views;

/// Render the HTML pages.
pub fn pages(site: &Site, templates: Option<&Path>) -> Result<Vec<File>, RenderError> {
    let templates = Templates::load(templates)?;
    let views = Views::new(site);
    let common = views.common();
    let mut files = Vec::new();

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
    ctx.insert("site", site);
    files.push(page(&templates, "index.html", "index.html", &ctx)?);

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
    files.push(page(&templates, "history.html", "history.html", &ctx)?);

    for p in views.probes() {
        let detail = views.probe(p);
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
        files.push(page(&templates, "probe.html", &path, &ctx)?);
    }
    Ok(files)
}

fn page(t: &Templates, template: &str, path: &str, ctx: &Context) -> Result<File, RenderError> {
    let html = t.render(template, ctx)?;
    Ok(File::new(path, html))
}

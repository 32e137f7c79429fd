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
mod escape;
pub(crate) mod format;
mod objectives;
mod svg;
mod templates;
mod view;

use std::path::Path;

use tera::Context;

pub use templates::BUILT_IN;

use super::site::ProbeView;
use super::{File, RenderError, Site};
use templates::Templates;
use view::Views;

/// Render the HTML pages, each probe page from its view's own `recent` and
/// `daily_latency`.
pub fn pages(site: &Site, templates: Option<&Path>) -> Result<Vec<File>, RenderError> {
    let pages = Renderer::new(site, templates)?;
    let mut files = Vec::new();
    pages.site_pages(&mut |f| {
        files.push(f);
        Ok(())
    })?;
    for p in pages.views.probes() {
        files.push(pages.probe_page(p)?);
    }
    Ok(files)
}

/// What every page of one render shares: the templates and the site's
/// views. Probe pages need of the other probes only their names, groups and
/// incidents, so they can be rendered from a site whose other views are
/// still bare (see `gather::frame`).
pub struct Renderer<'s> {
    templates: Templates,
    /// Only overrides get the raw site (see `site_pages`).
    custom: bool,
    site: &'s Site,
    views: Views<'s>,
    common: view::Common,
}

/// A probe's bars on the index, made beside its page (see
/// [`Renderer::brief_bars`]).
pub struct BriefBars(String);

impl<'s> Renderer<'s> {
    pub fn new(site: &'s Site, templates: Option<&Path>) -> Result<Self, RenderError> {
        Self::with_brief(site, templates, Vec::new())
    }

    /// A renderer whose index takes each probe's bars from `brief` (by
    /// probe id) rather than from its days.
    pub fn with_brief(
        site: &'s Site,
        templates: Option<&Path>,
        brief: Vec<(String, BriefBars)>,
    ) -> Result<Self, RenderError> {
        let views =
            Views::new(site).with_brief(brief.into_iter().map(|(id, b)| (id, b.0)).collect());
        let common = views.common();
        Ok(Renderer {
            templates: Templates::load(templates)?,
            custom: templates.is_some(),
            site,
            views,
            common,
        })
    }

    fn context(&self, path: &str, root: &str, title: String, description: String) -> Context {
        let mut ctx = Context::new();
        ctx.insert("page", &self.common);
        ctx.insert("root", root);
        ctx.insert("path", path);
        ctx.insert("doc_title", &title);
        ctx.insert("doc_description", &description);
        ctx
    }

    /// index.html, history.html and the stylesheet every page links, each
    /// handed to `sink`.
    pub fn site_pages(
        &self,
        sink: &mut dyn FnMut(File) -> Result<(), RenderError>,
    ) -> Result<(), RenderError> {
        sink(page(
            &self.templates,
            "style.css",
            "style.css",
            &Context::new(),
        )?)?;
        let title = format::isolate(&self.common.title);
        let description = self
            .common
            .description
            .clone()
            .unwrap_or_else(|| format!("Current status and incident history of {title}."));
        let mut ctx = self.context("index.html", "", format!("{title} status"), description);
        ctx.insert("index", &self.views.index());
        // The whole site as a template value costs tens of kilobytes a
        // probe; the built-in templates do not use it, so only overrides
        // get it.
        if self.custom {
            ctx.insert("site", self.site);
        }
        sink(page(&self.templates, "index.html", "index.html", &ctx)?)?;
        drop(ctx);

        let mut ctx = self.context(
            "history.html",
            "",
            format!("Incident history · {title}"),
            format!("Every incident of {title}, newest first."),
        );
        ctx.insert("months", &self.views.history());
        sink(page(&self.templates, "history.html", "history.html", &ctx)?)
    }

    /// The index bars of `p`, a view with its history filled in.
    pub fn brief_bars(&self, p: &ProbeView) -> BriefBars {
        BriefBars(self.views.brief_bars(p))
    }

    /// probe/ID.html of `p`, a view with its history filled in.
    pub fn probe_page(&self, p: &ProbeView) -> Result<File, RenderError> {
        let detail = self.views.probe(p, &p.recent, &p.daily_latency);
        let path = format!("probe/{}.html", detail.row.slug);
        let mut ctx = self.context(
            &path,
            "../",
            format!(
                "{} · {} status",
                format::isolate(&p.name),
                format::isolate(&self.common.title)
            ),
            format!(
                "{}: {}. Uptime and latency over {} days.",
                format::isolate(&p.name),
                detail.row.status.word,
                self.common.history_days
            ),
        );
        ctx.insert("probe", &detail);
        page(&self.templates, "probe.html", &path, &ctx)
    }
}

fn page(t: &Templates, template: &str, path: &str, ctx: &Context) -> Result<File, RenderError> {
    let html = t.render(template, ctx)?;
    Ok(File::new(path, html))
}

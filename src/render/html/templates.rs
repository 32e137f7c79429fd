//! The templates: built into the binary, each overridable by a file of the
//! same name in `--templates DIR`.

use std::path::Path;

use tera::{Context, ErrorKind, Tera};

use crate::render::RenderError;

/// Every built-in template, parents before children. `style.css` is written
/// once beside the pages, which link it (10,000 probe pages carried 135 MB
/// of the same stylesheet); `dismiss.js`, the one script, is inlined; the
/// other names without a page of their own are partials, included by the
/// pages.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("style.css", include_str!("../../../templates/style.css")),
    ("dismiss.js", include_str!("../../../templates/dismiss.js")),
    ("icons.html", include_str!("../../../templates/icons.html")),
    (
        "incident.html",
        include_str!("../../../templates/incident.html"),
    ),
    (
        "maintenance.html",
        include_str!("../../../templates/maintenance.html"),
    ),
    ("chart.html", include_str!("../../../templates/chart.html")),
    (
        "incident_brief.html",
        include_str!("../../../templates/incident_brief.html"),
    ),
    ("base.html", include_str!("../../../templates/base.html")),
    ("index.html", include_str!("../../../templates/index.html")),
    ("probe.html", include_str!("../../../templates/probe.html")),
    (
        "history.html",
        include_str!("../../../templates/history.html"),
    ),
];

/// Room for a typical probe page (about 20 KB).
const PAGE_BYTES: usize = 32 * 1024;

/// The templates of one render.
pub struct Templates {
    tera: Tera,
}

impl Templates {
    /// The built-in templates, each replaced by `dir/NAME` when that file
    /// exists. Other `.html`, `.css` and `.js` files in `dir` are added too, so an
    /// override can include partials of its own.
    pub fn load(dir: Option<&Path>) -> Result<Self, RenderError> {
        let mut sources: Vec<(String, String)> = BUILT_IN
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect();
        if let Some(dir) = dir {
            for (name, source) in &mut sources {
                if let Some(text) = read_optional(&dir.join(&*name))? {
                    *source = text;
                }
            }
            for name in extra_names(dir)? {
                if let Some(text) = read_optional(&dir.join(&name))? {
                    sources.push((name, text));
                }
            }
        }
        let mut tera = Tera::new();
        // Every template, whatever its name: text from the site is always raw.
        tera.autoescape_on([""]);
        tera.set_escape_fn(super::escape::for_tera);
        tera.add_raw_templates(sources.iter().map(|(n, s)| (n.as_str(), s.as_str())))
            .map_err(|e| RenderError::Template {
                name: failing_template(&e).unwrap_or_else(|| "templates".to_string()),
                message: message(&e),
            })?;
        Ok(Templates { tera })
    }

    /// Render the template `name` into bytes (UTF-8: templates and values
    /// are strings). Into a buffer sized for a probe page, rather than
    /// Tera's own, which grows from the template's length and is then
    /// checked for UTF-8 again.
    pub fn render(&self, name: &str, context: &Context) -> Result<Vec<u8>, RenderError> {
        let mut out = Vec::with_capacity(PAGE_BYTES);
        self.tera
            .render_to(name, context, &mut out)
            .map_err(|e| RenderError::Template {
                name: failing_template(&e).unwrap_or_else(|| name.to_string()),
                message: message(&e),
            })?;
        Ok(out)
    }
}

/// The contents of `path`, or None when there is no such file.
fn read_optional(path: &Path) -> Result<Option<String>, RenderError> {
    match crate::bounded_read::read_text(path, crate::bounded_read::TEMPLATE_LIMIT) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.is_not_found() => Ok(None),
        // A template the user gave that cannot be read is their input's
        // problem (exit 2), like one that does not parse.
        Err(e) => Err(RenderError::Template {
            name: path.display().to_string(),
            message: e.to_string(),
        }),
    }
}

/// Files in `dir` that are not built-in names but look like templates.
fn extra_names(dir: &Path) -> Result<Vec<String>, RenderError> {
    let io = |source| RenderError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let wanted = (name.ends_with(".html") || name.ends_with(".css") || name.ends_with(".js"))
            && !name.starts_with('.')
            && !BUILT_IN.iter().any(|(n, _)| *n == name)
            && entry.file_type().is_ok_and(|t| t.is_file());
        if wanted {
            names.push(name);
        }
    }
    // Stable order, so errors and output do not depend on the file system.
    names.sort();
    Ok(names)
}

/// The template an error points into, when tera says.
fn failing_template(e: &tera::Error) -> Option<String> {
    match e.kind() {
        ErrorKind::SyntaxError(r) | ErrorKind::RenderingError(r) if !r.filename().is_empty() => {
            Some(r.filename().to_string())
        }
        ErrorKind::MissingParent { current, .. } => Some(current.clone()),
        ErrorKind::CircularExtend { tpl, .. } | ErrorKind::CircularInclude { tpl, .. } => {
            Some(tpl.clone())
        }
        _ => None,
    }
}

/// The error and its causes on one string.
fn message(e: &tera::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

//! The HTML pages: index.html, probe/ID.html, history.html (tera templates
//! embedded in the binary, overridable with `--templates DIR`).

use std::path::Path;

use super::{File, RenderError, Site};

/// Render the HTML pages.
pub fn pages(_site: &Site, _templates: Option<&Path>) -> Result<Vec<File>, RenderError> {
    Ok(Vec::new())
}

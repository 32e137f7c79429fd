//! `api/v2/*.json` in the Atlassian Statuspage public API format.

use super::{File, Site};

/// The API files.
pub fn files(_site: &Site) -> Vec<File> {
    Vec::new()
}

//! `history.atom` and `history.rss`: incident feeds.

use super::{File, Site};

/// The feed files.
pub fn files(_site: &Site) -> Vec<File> {
    Vec::new()
}

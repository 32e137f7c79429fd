//! `badge/ID.svg` (shields-style) and `badge/ID.json` (shields.io endpoint).

use super::{File, Site};

/// The badge files.
pub fn files(_site: &Site) -> Vec<File> {
    Vec::new()
}

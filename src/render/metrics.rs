//! `metrics.prom`: the latest results with blackbox_exporter metric names.

use super::{File, Site};

/// The metrics file.
pub fn file(_site: &Site) -> File {
    File::new("metrics.prom", Vec::new())
}

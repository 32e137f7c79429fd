//! `[[maintenance]]` windows: times and probe references.

use toml::Spanned;

use super::Problems;
use super::plan::*;
use super::schema;
use crate::model::ProbeId;

pub(super) fn resolve_maintenance(
    sections: Vec<Spanned<schema::MaintenanceSection>>,
    probes: &[ProbeSpec],
    p: &mut Problems<'_>,
) -> Vec<Maintenance> {
    let mut out = Vec::new();
    for section in sections {
        let m = section.into_inner();
        let start = m.start.get_ref().0;
        let end = m.end.get_ref().0;
        if end <= start {
            p.at(
                m.end.span(),
                "maintenance `end` must be after `start`",
                None,
            );
        }
        let mut ids = Vec::new();
        for id in m.probes.unwrap_or_default() {
            if probes.iter().any(|pr| pr.id.0 == *id.get_ref()) {
                ids.push(ProbeId(id.get_ref().clone()));
            } else {
                p.at(id.span(), format!("unknown probe id {:?}", id.get_ref()), Some("maintenance `probes` lists probe ids (the slug of the name unless `id` is set)"));
            }
        }
        out.push(Maintenance {
            title: m.title.value().to_string(),
            description: m.description.map(|d| d.value().to_string()),
            probes: ids,
            start,
            end,
        });
    }
    out
}

//! `history.atom` (Atom 1.0) and `history.rss` (RSS 2.0): incident feeds,
//! one entry per incident, newest first.
//!
//! Links are absolute under `page.url` when it is set, relative to the site
//! root otherwise. Ids are `urn:uuid:` URIs derived from the page and the
//! incident id, so an entry keeps its id across renders and edits.

pub mod xml;

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use self::xml::escape;
use super::site::{Impact, IncidentStatus, IncidentView};
use super::statuspage::{history_link, link};
use super::{File, Site};

/// Feed readers want the recent past, not years of history.
const MAX_ENTRIES: usize = 50;

/// The feed files.
pub fn files(site: &Site) -> Vec<File> {
    let entries: Vec<Entry> = site
        .incidents
        .iter()
        .take(MAX_ENTRIES)
        .map(|i| Entry::new(site, i))
        .collect();
    vec![
        File::new("history.atom", atom(site, &entries)),
        File::new("history.rss", rss(site, &entries)),
    ]
}

/// What both feeds say about one incident.
struct Entry {
    id: String,
    title: String,
    link: String,
    published: DateTime<Utc>,
    updated: DateTime<Utc>,
    /// HTML, raw: each feed escapes it as text.
    html: String,
}

impl Entry {
    fn new(site: &Site, i: &IncidentView) -> Entry {
        let updated = i
            .updates
            .iter()
            .map(|u| u.at)
            .chain(i.resolved_at)
            .chain([i.started_at])
            .max()
            .unwrap_or(i.started_at);
        Entry {
            id: stable_id(site, "incident", &i.id),
            title: i.title.clone(),
            link: history_link(site, &i.id),
            published: i.started_at,
            updated,
            html: content(site, i),
        }
    }
}

/// The entry body as HTML, in the style of Statuspage's feeds: the affected
/// probes, then each update (newest first) with its time and status.
fn content(site: &Site, i: &IncidentView) -> String {
    let mut html = String::new();
    let names: Vec<&str> = i
        .probes
        .iter()
        .map(|id| {
            site.groups
                .iter()
                .flat_map(|g| &g.probes)
                .find(|p| &p.id == id)
                .map_or(id.as_str(), |p| p.name.as_str())
        })
        .collect();
    let status = if i.automatic && !i.has_human_updates() {
        if i.resolved_at.is_some() {
            "Resolved"
        } else {
            "Ongoing"
        }
    } else {
        status_word(i.status)
    };
    html.push_str(&format!(
        "<p><strong>{}</strong> · impact {}",
        status,
        impact_word(i.impact)
    ));
    if !names.is_empty() {
        html.push_str(&format!(" · affects {}", escape(&names.join(", "))));
    }
    html.push_str("</p>");
    if i.updates.is_empty() {
        let text = i.message.as_deref().unwrap_or(&i.title);
        html.push_str(&paragraph(text));
    }
    if let Some(pm) = &i.postmortem_html {
        // Rendered from Markdown with raw HTML disabled: safe to insert.
        html.push_str("<p><strong>What happened</strong></p>");
        html.push_str(pm);
    }
    for u in &i.updates {
        let word = match (u.automatic, u.status) {
            (true, IncidentStatus::Resolved) => "Resolved",
            (true, _) => "Detected",
            (false, s) => status_word(s),
        };
        html.push_str(&format!(
            "<p><small>{}</small><br><strong>{}</strong></p>",
            u.at.format("%Y-%m-%d %H:%M UTC"),
            word
        ));
        if u.body_html.trim().is_empty() {
            html.push_str(&paragraph(&u.body));
        } else {
            // Rendered from Markdown with raw HTML disabled: safe to insert.
            html.push_str(&u.body_html);
        }
    }
    html
}

/// Plain text as one HTML paragraph, line breaks kept.
fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", escape(text).replace('\n', "<br>"))
}

fn status_word(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Investigating => "Investigating",
        IncidentStatus::Identified => "Identified",
        IncidentStatus::Monitoring => "Monitoring",
        IncidentStatus::Resolved => "Resolved",
        IncidentStatus::Postmortem => "Postmortem",
    }
}

fn impact_word(i: Impact) -> &'static str {
    match i {
        Impact::None => "none",
        Impact::Minor => "minor",
        Impact::Major => "major",
        Impact::Critical => "critical",
    }
}

/// A stable `urn:uuid:` for `kind`/`id` on this page: a name-based UUID
/// (RFC 9562 version 8, from SHA-256) of the page's URL, or its title when it
/// has none, and the id.
fn stable_id(site: &Site, kind: &str, id: &str) -> String {
    let page = site.page.url.as_deref().unwrap_or(&site.page.title);
    let hash = Sha256::digest(format!("outpost\n{page}\n{kind}\n{id}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// When the feed last changed: its newest entry, or the render time when
/// there are no incidents (so an unchanged history renders byte-identical).
fn feed_updated(site: &Site, entries: &[Entry]) -> DateTime<Utc> {
    entries
        .iter()
        .map(|e| e.updated)
        .max()
        .unwrap_or(site.generated_at)
}

fn feed_title(site: &Site) -> String {
    format!("{}: incident history", site.page.title)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `history.atom`.
fn atom(site: &Site, entries: &[Entry]) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    x.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    x.push_str(&format!(
        "  <id>{}</id>\n",
        escape(&stable_id(site, "feed", "history"))
    ));
    x.push_str(&format!("  <title>{}</title>\n", escape(&feed_title(site))));
    if let Some(d) = &site.page.description {
        x.push_str(&format!("  <subtitle>{}</subtitle>\n", escape(d)));
    }
    x.push_str(&format!(
        "  <updated>{}</updated>\n",
        rfc3339(feed_updated(site, entries))
    ));
    x.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        escape(&link(site, "history.atom"))
    ));
    x.push_str(&format!(
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        escape(&link(site, "history.html"))
    ));
    x.push_str(&format!(
        "  <author><name>{}</name></author>\n",
        escape(&site.page.title)
    ));
    x.push_str("  <generator>outpost</generator>\n");
    for e in entries {
        x.push_str("  <entry>\n");
        x.push_str(&format!("    <id>{}</id>\n", escape(&e.id)));
        x.push_str(&format!("    <title>{}</title>\n", escape(&e.title)));
        x.push_str(&format!(
            "    <published>{}</published>\n",
            rfc3339(e.published)
        ));
        x.push_str(&format!("    <updated>{}</updated>\n", rfc3339(e.updated)));
        x.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            escape(&e.link)
        ));
        x.push_str(&format!(
            "    <content type=\"html\">{}</content>\n",
            escape(&e.html)
        ));
        x.push_str("  </entry>\n");
    }
    x.push_str("</feed>\n");
    x
}

/// `history.rss`. `atom:link rel="self"` is only written with an absolute
/// URL, as RSS validators require.
fn rss(site: &Site, entries: &[Entry]) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    x.push_str("<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n");
    x.push_str("  <channel>\n");
    x.push_str(&format!(
        "    <title>{}</title>\n",
        escape(&feed_title(site))
    ));
    x.push_str(&format!(
        "    <link>{}</link>\n",
        escape(&link(site, "history.html"))
    ));
    let description = site
        .page
        .description
        .clone()
        .unwrap_or_else(|| format!("Incidents on {}", site.page.title));
    // RSS readers render <description> as HTML: escape the text for HTML,
    // then the result for XML, so config text shows as text.
    x.push_str(&format!(
        "    <description>{}</description>\n",
        escape(&escape(&description))
    ));
    x.push_str(&format!(
        "    <lastBuildDate>{}</lastBuildDate>\n",
        feed_updated(site, entries).to_rfc2822()
    ));
    if site.page.url.is_some() {
        x.push_str(&format!(
            "    <atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>\n",
            escape(&link(site, "history.rss"))
        ));
    }
    x.push_str("    <generator>outpost</generator>\n");
    for e in entries {
        x.push_str("    <item>\n");
        x.push_str(&format!("      <title>{}</title>\n", escape(&e.title)));
        x.push_str(&format!("      <link>{}</link>\n", escape(&e.link)));
        x.push_str(&format!(
            "      <description>{}</description>\n",
            escape(&e.html)
        ));
        x.push_str(&format!(
            "      <guid isPermaLink=\"false\">{}</guid>\n",
            escape(&e.id)
        ));
        x.push_str(&format!(
            "      <pubDate>{}</pubDate>\n",
            e.published.to_rfc2822()
        ));
        x.push_str("    </item>\n");
    }
    x.push_str("  </channel>\n</rss>\n");
    x
}

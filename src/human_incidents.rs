//! Incidents written by people: Markdown files in an `incidents/` folder beside
//! probes.toml, shown beside the automatic incidents (SPEC §7).
//!
//! Each file has TOML front matter between `+++` lines, then optional Markdown
//! (a summary or postmortem):
//!
//! ```text
//! +++
//! title = "Elevated API errors"
//! probes = ["api"]            # probe ids
//! impact = "major"            # none, minor, major, critical
//!
//! [[updates]]
//! at = "2026-11-20T10:05:00Z"
//! status = "investigating"    # investigating, identified, monitoring, resolved
//! body = "We are looking into elevated error rates."
//! +++
//! A bad deploy was rolled back.
//! ```
//!
//! TOML rather than YAML front matter: one config language, already parsed with
//! located errors, and no YAML crate to trust.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use pulldown_cmark::{Event, Parser, Tag};
use serde::Deserialize;

/// Incident statuses people write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

/// Impact levels people write (Statuspage's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    None,
    Minor,
    Major,
    Critical,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: String,
    #[serde(default)]
    probes: Vec<toml::Spanned<String>>,
    impact: Option<Impact>,
    #[serde(default)]
    updates: Vec<RawUpdate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpdate {
    at: toml::Spanned<String>,
    status: UpdateStatus,
    body: String,
}

/// One update, oldest first in the file, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub at: DateTime<Utc>,
    pub status: UpdateStatus,
    pub body: String,
    /// The body rendered from Markdown with raw HTML disabled.
    pub body_html: String,
}

/// A human-written incident.
#[derive(Debug, Clone, PartialEq)]
pub struct HumanIncident {
    /// The file stem: a stable id.
    pub id: String,
    pub title: String,
    pub probes: Vec<String>,
    pub impact: Impact,
    /// Sorted oldest first.
    pub updates: Vec<Update>,
    /// The Markdown after the front matter (a summary or postmortem), raw.
    pub summary: Option<String>,
    /// The same, rendered.
    pub summary_html: Option<String>,
}

impl HumanIncident {
    /// When it started: the first update.
    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        self.updates.first().map(|u| u.at)
    }

    /// When it was resolved: the last update, if it says resolved.
    pub fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.updates
            .last()
            .filter(|u| u.status == UpdateStatus::Resolved)
            .map(|u| u.at)
    }
}

/// A problem in an incident file, located like config errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{col}: {message}")]
pub struct IncidentFileError {
    pub path: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// The `incidents/` folder beside a config file.
pub fn folder_for(config: &Path) -> PathBuf {
    config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("incidents")
}

/// Load every `*.md` file of `dir` (none when the folder does not exist);
/// `known_probes` checks the `probes` references.
pub fn load_dir(
    dir: &Path,
    known_probes: &[&str],
) -> Result<Vec<HumanIncident>, Vec<IncidentFileError>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let display = path.display().to_string();
        match crate::bounded_read::read_text(&path, crate::bounded_read::INCIDENT_LIMIT) {
            Ok(text) => {
                let id = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                match parse(&display, &id, &text, known_probes) {
                    Ok(i) => out.push(i),
                    Err(e) => errors.extend(e),
                }
            }
            Err(e) => errors.push(IncidentFileError {
                path: display,
                line: 1,
                col: 1,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Parse one incident file.
pub fn parse(
    path: &str,
    id: &str,
    text: &str,
    known_probes: &[&str],
) -> Result<HumanIncident, Vec<IncidentFileError>> {
    let err = |line: usize, col: usize, message: String| IncidentFileError {
        path: path.to_string(),
        line,
        col,
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = text.strip_prefix("+++") else {
        return Err(vec![err(
            1,
            1,
            "an incident file starts with a `+++` line and TOML front matter".into(),
        )]);
    };
    let rest = rest.trim_start_matches(['\r', ' ', '\t']);
    let rest = rest.strip_prefix('\n').unwrap_or(rest);
    let Some(end) = rest.find("\n+++") else {
        return Err(vec![err(
            1,
            1,
            "front matter is not closed by a `+++` line".into(),
        )]);
    };
    let front = &rest[..=end];
    let after = &rest[end + 4..];
    let body = after.split_once('\n').map(|(_, b)| b).unwrap_or("");
    // Front matter starts on line 2 of the file.
    let locate = |offset: usize| {
        let before = &front[..offset.min(front.len())];
        let line = before.matches('\n').count() + 2;
        let col = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        (line, col)
    };
    let fm: FrontMatter = toml::from_str(front).map_err(|e| {
        let (line, col) = locate(e.span().map(|s| s.start).unwrap_or(0));
        vec![err(line, col, e.message().trim().to_string())]
    })?;
    let mut errors = Vec::new();
    let mut probes = Vec::new();
    for p in &fm.probes {
        if known_probes.contains(&p.get_ref().as_str()) {
            probes.push(p.get_ref().clone());
        } else {
            let (line, col) = locate(p.span().start);
            errors.push(err(
                line,
                col,
                format!("unknown probe id {:?}", p.get_ref()),
            ));
        }
    }
    let mut updates = Vec::new();
    for u in fm.updates {
        match DateTime::parse_from_rfc3339(u.at.get_ref().trim()) {
            Ok(at) => updates.push(Update {
                at: at.with_timezone(&Utc),
                status: u.status,
                body_html: markdown_to_safe_html(&u.body),
                body: u.body,
            }),
            Err(e) => {
                let (line, col) = locate(u.at.span().start);
                errors.push(err(
                    line,
                    col,
                    format!("invalid date-time {:?}: {e}", u.at.get_ref()),
                ));
            }
        }
    }
    if updates.is_empty() && errors.is_empty() {
        errors.push(err(
            2,
            1,
            "an incident needs at least one [[updates]] entry with `at`, `status` and `body`"
                .into(),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    updates.sort_by_key(|u| u.at);
    let summary = body.trim();
    Ok(HumanIncident {
        id: id.to_string(),
        title: fm.title,
        probes,
        impact: fm.impact.unwrap_or(Impact::Minor),
        updates,
        summary: (!summary.is_empty()).then(|| summary.to_string()),
        summary_html: (!summary.is_empty()).then(|| markdown_to_safe_html(summary)),
    })
}

/// Markdown to HTML with raw HTML shown as text and only safe link schemes kept,
/// so a note can never inject markup or script into the page.
pub fn markdown_to_safe_html(markdown: &str) -> String {
    let events = Parser::new(markdown).map(|event| match event {
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: if safe_url(&dest_url) {
                dest_url
            } else {
                "#".into()
            },
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            // Images could load from other hosts; only relative ones are kept.
            dest_url: if dest_url.contains(':') || dest_url.starts_with("//") {
                "#".into()
            } else {
                dest_url
            },
            title,
            id,
        }),
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    match lower.split_once(':') {
        Some((scheme, _)) if !scheme.contains('/') => matches!(scheme, "http" | "https" | "mailto"),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "+++\ntitle = \"API errors\"\nprobes = [\"api\"]\nimpact = \"major\"\n\n[[updates]]\nat = \"2026-11-20T10:40:00Z\"\nstatus = \"resolved\"\nbody = \"Rolled back.\"\n\n[[updates]]\nat = \"2026-11-20T10:05:00Z\"\nstatus = \"investigating\"\nbody = \"Looking into it <script>alert(1)</script>\"\n+++\nA **bad** deploy.\n";

    #[test]
    fn parses_and_sorts_updates() {
        let i = parse("incidents/api.md", "api", FILE, &["api"]).expect("parse");
        assert_eq!(i.title, "API errors");
        assert_eq!(i.impact, Impact::Major);
        assert_eq!(i.updates[0].status, UpdateStatus::Investigating);
        assert_eq!(
            i.resolved_at().map(|t| t.to_rfc3339()),
            Some("2026-11-20T10:40:00+00:00".into())
        );
        assert_eq!(
            i.summary_html.as_deref(),
            Some("<p>A <strong>bad</strong> deploy.</p>\n")
        );
    }

    #[test]
    fn raw_html_and_script_links_are_neutralised() {
        let i = parse("x.md", "x", FILE, &["api"]).expect("parse");
        assert!(!i.updates[0].body_html.contains("<script>"));
        assert!(i.updates[0].body_html.contains("&lt;script&gt;"));
        let html = markdown_to_safe_html("[x](javascript:alert(1)) [y](https://ok.example)");
        assert!(!html.contains("javascript:"));
        assert!(html.contains("https://ok.example"));
    }

    #[test]
    fn errors_are_located() {
        let bad = FILE.replace("probes = [\"api\"]", "probes = [\"nope\"]");
        let e = parse("incidents/x.md", "x", &bad, &["api"]).unwrap_err();
        assert_eq!((e[0].line, e[0].col), (3, 11), "{e:?}");
        let bad = FILE.replace("impact = \"major\"", "impakt = \"major\"");
        let e = parse("incidents/x.md", "x", &bad, &["api"]).unwrap_err();
        assert_eq!(e[0].line, 4, "{e:?}");
        assert!(parse("x.md", "x", "no front matter", &[]).is_err());
    }
}

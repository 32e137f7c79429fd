//! `badge/ID.svg` (a shields.io "flat" badge: the probe name on the left, its
//! state on the right) and `badge/ID.json` (the shields.io endpoint schema, for
//! `https://img.shields.io/endpoint?url=…` and its styles).

use serde::Serialize;

use super::feeds::xml::escape;
use super::site::ProbeView;
use super::{File, Site};
use crate::model::State;

/// shields.io refuses less than 300 seconds.
const CACHE_SECONDS: u32 = 300;

/// Labels longer than this are cut with an ellipsis, to keep badges badge-sized.
const MAX_LABEL: usize = 40;

/// The badge files.
pub fn files(site: &Site) -> Vec<File> {
    site.groups
        .iter()
        .flat_map(|g| &g.probes)
        .flat_map(files_of)
        .collect()
}

/// The two badges of one probe.
pub fn files_of(probe: &ProbeView) -> [File; 2] {
    let name = file_stem(&probe.id);
    [
        File::new(format!("badge/{name}.svg"), svg(probe)),
        File::new(format!("badge/{name}.json"), endpoint(probe)),
    ]
}

/// Probe ids are slugs (`a-z 0-9 - _`); anything else is percent-encoded so
/// that an id can never leave the `badge/` folder.
fn file_stem(id: &str) -> String {
    let mut out = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The message word and its background colour (for the endpoint, as
/// shields.io takes hex: without `#`; for the SVG, with). shields' own
/// brightgreen, yellow and red fail WCAG AA under white text (2.3, 1.98 and
/// 3.61 to 1); these are the page's colours, each at least 4.5 to 1.
fn look(state: State) -> (&'static str, &'static str, &'static str) {
    match state {
        State::Operational => ("operational", "1a7f37", "#1a7f37"),
        State::Degraded => ("degraded", "9a6700", "#9a6700"),
        State::Down => ("down", "cf222e", "#cf222e"),
        State::Maintenance => ("maintenance", "0969da", "#0969da"),
        State::Unknown => ("unknown", "59636e", "#59636e"),
    }
}

fn label(probe: &ProbeView) -> String {
    let clean: String = probe.name.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.chars().count() > MAX_LABEL {
        let cut: String = clean.chars().take(MAX_LABEL - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        clean.to_string()
    }
}

/// The shields.io endpoint schema.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Endpoint<'a> {
    schema_version: u8,
    label: &'a str,
    message: &'a str,
    color: &'a str,
    cache_seconds: u32,
}

fn endpoint(probe: &ProbeView) -> Vec<u8> {
    let (message, color, _) = look(probe.state);
    let label = label(probe);
    let mut bytes = serde_json::to_vec_pretty(&Endpoint {
        schema_version: 1,
        label: &label,
        message,
        color,
        cache_seconds: CACHE_SECONDS,
    })
    .expect("badge endpoint serializes");
    bytes.push(b'\n');
    bytes
}

/// Advance width in pixels of `c` in Verdana at 11px (shields.io's font),
/// from Verdana's metrics; close enough that text fits its box, and
/// `textLength` squeezes or stretches the rest.
fn char_width(c: char) -> f64 {
    match c {
        ' ' => 3.87,
        'i' | 'l' => 3.02,
        'j' => 3.79,
        'f' => 3.87,
        't' => 4.33,
        'r' => 4.69,
        'c' | 's' => 5.73,
        'z' => 5.64,
        'a' => 6.6,
        'e' => 6.55,
        'k' | 'v' | 'x' | 'y' => 6.51,
        'o' => 6.68,
        'b' | 'd' | 'g' | 'p' | 'q' => 6.85,
        'h' | 'n' | 'u' => 6.96,
        'w' => 9.0,
        'm' => 10.7,
        'I' => 5.0,
        'J' => 5.02,
        'L' => 6.18,
        'F' => 6.33,
        'P' => 6.63,
        'E' => 6.95,
        'T' | 'Y' => 6.73,
        'A' | 'S' | 'V' | 'X' => 7.52,
        'B' | 'Z' => 7.54,
        'K' | 'R' => 7.64,
        'C' => 7.68,
        'U' => 8.05,
        'N' => 8.23,
        'H' => 8.27,
        'D' => 8.47,
        'G' => 8.52,
        'O' | 'Q' => 8.66,
        'M' => 9.25,
        'W' => 10.96,
        '0'..='9' | '_' | '$' | '*' | '{' | '}' => 7.0,
        '.' | ',' => 4.0,
        ':' | ';' => 4.7,
        '-' => 4.64,
        '\'' => 2.95,
        '"' => 5.41,
        '!' => 4.42,
        '(' | ')' => 5.47,
        '[' | ']' => 5.0,
        '/' | '\\' => 4.93,
        '|' => 4.93,
        '?' => 6.0,
        '&' => 8.21,
        '<' | '>' | '=' | '+' | '~' | '^' | '#' => 9.21,
        '%' => 11.92,
        '@' => 11.0,
        '…' => 10.7,
        c if is_zero_width(c) => 0.0,
        c if is_wide(c) => 11.0,
        // Capitals of Greek and Cyrillic are as wide as Latin ones.
        c if c.is_uppercase() => 8.0,
        _ => 7.0,
    }
}

/// Combining marks, joiners and selectors: they draw on the letter before.
fn is_zero_width(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x05BF..=0x05C7
        | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06ED
        | 0x0900..=0x0903 | 0x093A..=0x094F | 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2069 | 0x20D0..=0x20FF
        | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F | 0xE0100..=0xE01EF)
}

/// East Asian wide characters and emoji, a full em in any font.
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F300..=0x1FAFF
        | 0x20000..=0x3FFFD)
}

/// The width of `text` in pixels, rounded up.
fn text_width(text: &str) -> u32 {
    text.chars().map(char_width).sum::<f64>().ceil() as u32
}

/// The flat badge, laid out as shields.io does: 5 px of padding either side
/// of each text, text drawn at 10x scale for sub-pixel placement, with a
/// shadow copy 1 px lower.
fn svg(probe: &ProbeView) -> String {
    let (message, _, colour) = look(probe.state);
    let label = label(probe);
    let label_text = text_width(&label);
    let message_text = text_width(message);
    let left = label_text + 10;
    let right = message_text + 10;
    let width = left + right;
    let title = escape(&format!("{label}: {message}"));
    let label = escape(&label);
    let label_x = left * 5;
    let message_x = left * 10 + right * 5;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{title}"><title>{title}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/><rect x="{left}" width="{right}" height="20" fill="{colour}"/><rect width="{width}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110"><text aria-hidden="true" x="{label_x}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{lt}">{label}</text><text x="{label_x}" y="140" transform="scale(.1)" fill="#fff" textLength="{lt}">{label}</text><text aria-hidden="true" x="{message_x}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{mt}">{message}</text><text x="{message_x}" y="140" transform="scale(.1)" fill="#fff" textLength="{mt}">{message}</text></g></svg>
"##,
        lt = label_text * 10,
        mt = message_text * 10,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_grow_with_text() {
        assert!(text_width("operational") > text_width("down"));
        assert_eq!(text_width(""), 0);
        assert!(text_width("WWW") > text_width("iii"));
    }

    /// WCAG relative luminance of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0);
        let lin = |c: u32| {
            let c = f64::from(c) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(v >> 16 & 0xff) + 0.7152 * lin(v >> 8 & 0xff) + 0.0722 * lin(v & 0xff)
    }

    #[test]
    fn badge_text_contrast_is_at_least_4_5_to_1() {
        let white = luminance("#ffffff");
        for state in [
            State::Operational,
            State::Degraded,
            State::Down,
            State::Maintenance,
            State::Unknown,
        ] {
            let (_, hex, colour) = look(state);
            assert_eq!(format!("#{hex}"), colour);
            let ratio = (white + 0.05) / (luminance(colour) + 0.05);
            assert!(ratio >= 4.5, "{state:?}: {ratio:.2}:1");
        }
        // The label's grey too.
        assert!((white + 0.05) / (luminance("#555555") + 0.05) >= 4.5);
    }

    #[test]
    fn non_latin_widths_are_measured() {
        // Combining marks take no room; CJK a full em; Cyrillic like Latin.
        assert_eq!(text_width("e\u{301}"), text_width("e"));
        assert_eq!(text_width("\u{202E}"), 0);
        assert!(text_width("状態") >= 22);
        assert!(text_width("Статус") >= text_width("Status"));
        assert!(text_width("مرحبا") >= 30);
    }

    #[test]
    fn file_stems_never_escape_the_folder() {
        assert_eq!(file_stem("api_v2-x"), "api_v2-x");
        assert_eq!(file_stem("../x"), "%2E%2E%2Fx");
    }
}

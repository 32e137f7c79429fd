//! XML text escaping for the feeds and badges. Written by hand rather than
//! with an XML crate: we only ever write, a fixed and small set of elements,
//! and escaping is the one thing to get right, so it is here and tested.

/// Escape `text` for XML character data or an attribute value (either quote):
/// `& < > " '` become entities, and characters XML 1.0 forbids (control
/// characters other than tab, newline and carriage return; U+FFFE, U+FFFF)
/// are dropped, as are the discouraged C1 controls and DEL, which never carry
/// meaning in status text.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if allowed(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// Whether `c` may appear in an XML 1.0 document (and is not a C1 control).
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{7e}')
        || (c > '\u{9f}' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_invalid_characters() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}c\u{7f}\u{85}d\u{FFFF}"), "abcd");
        assert_eq!(escape("tab\tnl\ncr\r é 😀"), "tab\tnl\ncr\r é 😀");
    }
}

//! Text made safe for where it is shown: spreadsheet cells (no formula injection) and terminals
//! (no escape sequences). Shop data (names, categories, raw rejected rows) reaches both.

use std::borrow::Cow;

/// A CSV cell that a spreadsheet will not run as a formula: text starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return gets a leading `'` (OWASP's advice for CSV injection).
/// Apply it to text columns only: numbers such as `-5.00` stay numbers.
pub fn csv_safe(s: &str) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// Text a terminal shows as written: control characters (ESC, BEL, C1 controls, …) are printed
/// as `\u{..}` escapes instead of acting; newlines and tabs stay.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    let bad = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().map(|c| if bad(c) { c.escape_unicode().to_string() } else { c.to_string() }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_plain_text_kept() {
        assert_eq!(csv_safe("=HYPERLINK(\"http://x\",\"y\")"), "'=HYPERLINK(\"http://x\",\"y\")");
        for s in ["+1", "-cmd", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_safe(s).starts_with('\''), "{s:?}");
        }
        assert_eq!(csv_safe("Ana Lima"), "Ana Lima");
        assert_eq!(csv_safe(""), "");
    }

    #[test]
    fn control_characters_are_escaped_for_terminals() {
        assert_eq!(terminal_safe("a\u{1b}]0;x\u{7}b\u{1b}[2J"), "a\\u{1b}]0;x\\u{7}b\\u{1b}[2J");
        assert_eq!(terminal_safe("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(terminal_safe("Café\tok\n"), "Café\tok\n");
    }
}

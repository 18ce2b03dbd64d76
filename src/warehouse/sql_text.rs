//! SQL texts assembled at compile time from shared parts, so that a rule is written once.
//!
//! A query's `.sql` file may name a part as `{name}`; `sql_text!` replaces each
//! with its text (parts may name other parts) and yields a `&'static str`, as `include_str!`
//! does. The queries stay constants: `tests/postgres.rs` runs the same texts on PostgreSQL, and
//! `shoplens schema` prints the `order_lines` view byte for byte.
//!
//! The revenue statuses are such a part, `{revenue_statuses}`, made from the one Rust list
//! [`Status::REVENUE`]: a constant rather than a table registered in each session, so the texts
//! also run where no such table exists (an exported warehouse in PostgreSQL, the DDL of
//! `shoplens schema`).

use crate::model::Status;

/// A part's name (with its braces) and its text.
pub(crate) type Part = (&'static str, &'static str);

const fn revenue_statuses_len() -> usize {
    let mut len = 0;
    let mut i = 0;
    while i < Status::REVENUE.len() {
        if i > 0 {
            len += 2;
        }
        len += Status::REVENUE[i].as_str().len() + 2;
        i += 1;
    }
    len
}

const REVENUE_STATUSES_LEN: usize = revenue_statuses_len();

const fn revenue_statuses_bytes() -> [u8; REVENUE_STATUSES_LEN] {
    let mut out = [0u8; REVENUE_STATUSES_LEN];
    let mut at = 0;
    let mut i = 0;
    while i < Status::REVENUE.len() {
        if i > 0 {
            out[at] = b',';
            out[at + 1] = b' ';
            at += 2;
        }
        out[at] = b'\'';
        at += 1;
        let name = Status::REVENUE[i].as_str().as_bytes();
        let mut j = 0;
        while j < name.len() {
            out[at] = name[j];
            at += 1;
            j += 1;
        }
        out[at] = b'\'';
        at += 1;
        i += 1;
    }
    out
}

const REVENUE_STATUSES_BYTES: [u8; REVENUE_STATUSES_LEN] = revenue_statuses_bytes();

/// The revenue statuses as a SQL list: `'processing', 'shipped', 'delivered'`.
pub(crate) const REVENUE_STATUSES: &str = utf8(&REVENUE_STATUSES_BYTES);

/// The part every query may use: `{revenue_statuses}`.
pub(crate) const REVENUE_STATUSES_PART: Part = ("{revenue_statuses}", REVENUE_STATUSES);

/// `bytes` as text (at compile time).
pub(crate) const fn utf8(bytes: &[u8]) -> &str {
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => panic!("SQL text is not UTF-8"),
    }
}

/// Whether `text` holds `needle` at `at`.
const fn holds(text: &[u8], at: usize, needle: &[u8]) -> bool {
    if at + needle.len() > text.len() {
        return false;
    }
    let mut i = 0;
    while i < needle.len() {
        if text[at + i] != needle[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Which part of `parts` starts at `at` in `text`, if any.
const fn part_at(text: &[u8], at: usize, parts: &[Part]) -> Option<usize> {
    if text[at] != b'{' {
        return None;
    }
    let mut p = 0;
    while p < parts.len() {
        if holds(text, at, parts[p].0.as_bytes()) {
            return Some(p);
        }
        p += 1;
    }
    None
}

/// The length of `text` with its parts replaced (recursively).
pub(crate) const fn expanded_len(text: &str, parts: &[Part]) -> usize {
    let bytes = text.as_bytes();
    let mut len = 0;
    let mut at = 0;
    while at < bytes.len() {
        match part_at(bytes, at, parts) {
            Some(p) => {
                len += expanded_len(parts[p].1, parts);
                at += parts[p].0.len();
            }
            None => {
                len += 1;
                at += 1;
            }
        }
    }
    len
}

/// Writes `text` with its parts replaced into `out` from `start`; returns where it ended.
const fn write(text: &str, parts: &[Part], out: &mut [u8], start: usize) -> usize {
    let bytes = text.as_bytes();
    let mut pos = start;
    let mut at = 0;
    while at < bytes.len() {
        match part_at(bytes, at, parts) {
            Some(p) => {
                pos = write(parts[p].1, parts, out, pos);
                at += parts[p].0.len();
            }
            None => {
                out[pos] = bytes[at];
                pos += 1;
                at += 1;
            }
        }
    }
    pos
}

/// `text` with its parts replaced, as `N` bytes (`N` from [`expanded_len`]).
pub(crate) const fn expand<const N: usize>(text: &str, parts: &[Part]) -> [u8; N] {
    let mut out = [0u8; N];
    let end = write(text, parts, &mut out, 0);
    assert!(end == N, "expanded_len and expand disagree");
    out
}

/// A SQL text with its `{parts}` replaced, as a `&'static str` computed at compile time:
/// `sql_text!(include_str!("q.sql"), PARTS)`, `PARTS` a `&[Part]` constant.
macro_rules! sql_text {
    ($text:expr, $parts:expr) => {{
        const TEXT: &str = $text;
        const LEN: usize = $crate::warehouse::sql_text::expanded_len(TEXT, $parts);
        const BYTES: [u8; LEN] = $crate::warehouse::sql_text::expand::<LEN>(TEXT, $parts);
        $crate::warehouse::sql_text::utf8(&BYTES)
    }};
}
pub(crate) use sql_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revenue_statuses_are_the_rust_list_quoted() {
        assert_eq!(REVENUE_STATUSES, "'processing', 'shipped', 'delivered'");
        const PARTS: &[Part] = &[REVENUE_STATUSES_PART, ("{inner}", "s IN ({revenue_statuses})")];
        const TEXT: &str = sql_text!("WHERE {inner} AND {other}", PARTS);
        assert_eq!(TEXT, "WHERE s IN ('processing', 'shipped', 'delivered') AND {other}");
    }
}

//! Calendar types: `Month`, the shop's time zone, and the source format's date and timestamp rules.

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use std::fmt;
use std::str::FromStr;

/// A calendar month, `YYYY-MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// The month holding `date`.
    pub fn of(date: NaiveDate) -> Month {
        Month { year: date.year(), month: date.month() }
    }

    /// The month's first day.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("a Month is always a valid month")
    }

    /// The month after this one.
    pub fn succ(self) -> Month {
        if self.month == 12 {
            Month { year: self.year + 1, month: 1 }
        } else {
            Month { year: self.year, month: self.month + 1 }
        }
    }

    /// The month before this one.
    pub fn pred(self) -> Month {
        if self.month == 1 {
            Month { year: self.year - 1, month: 12 }
        } else {
            Month { year: self.year, month: self.month - 1 }
        }
    }

    /// The month's last day.
    pub fn last_day(self) -> NaiveDate {
        self.succ().first_day().pred_opt().expect("months have a last day")
    }

    /// The month of the year, 1 to 12.
    pub fn month_of_year(self) -> u32 {
        self.month
    }

    /// The last complete month of data whose latest order is on `last_order` (kpis.md): that
    /// order's month when it falls on the month's last day, else the month before.
    pub fn last_complete(last_order: NaiveDate) -> Month {
        let m = Month::of(last_order);
        if m.last_day() == last_order { m } else { m.pred() }
    }

    /// How many months `self` is after `earlier` (negative when before).
    pub fn months_since(self, earlier: Month) -> i64 {
        (self.year as i64 - earlier.year as i64) * 12 + self.month as i64 - earlier.month as i64
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl serde::Serialize for Month {
    /// As `YYYY-MM`, the form kpis.md's JSON uses.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl utoipa::PartialSchema for Month {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .pattern(Some(r"^\d{4}-\d{2}$"))
            .description(Some("a calendar month, YYYY-MM"))
            .examples(["2024-03"])
            .into()
    }
}

impl utoipa::ToSchema for Month {}

impl FromStr for Month {
    type Err = String;
    fn from_str(s: &str) -> Result<Month, String> {
        NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d")
            .ok()
            .filter(|_| s.trim().len() == 7)
            .map(Month::of)
            .ok_or_else(|| format!("'{s}' is not a month (YYYY-MM)"))
    }
}

/// The shop's time zone, an IANA name (`Europe/Berlin`); timestamps are bucketed into its days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShopTz(pub Tz);

impl Default for ShopTz {
    fn default() -> Self {
        ShopTz(Tz::UTC)
    }
}

impl FromStr for ShopTz {
    type Err = String;
    fn from_str(s: &str) -> Result<ShopTz, String> {
        s.trim().parse::<Tz>().map(ShopTz).map_err(|_| format!("'{s}' is not an IANA time zone name"))
    }
}

impl fmt::Display for ShopTz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

/// Parses a source-format date, `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let s = text.trim();
    if s.len() != 10 {
        return Err(format!("'{s}' is not a date (YYYY-MM-DD)"));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("'{s}' is not a date (YYYY-MM-DD)"))
}

/// Parses a source-format timestamp into shop-local time.
///
/// Accepts `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]]` (or a space for `T`), optionally followed by
/// `Z` or `±HH:MM`. Without an offset the time is already shop-local; with one it is converted.
pub fn parse_timestamp(text: &str, tz: ShopTz) -> Result<NaiveDateTime, String> {
    let s = text.trim();
    let bad = || format!("'{s}' is not a timestamp (YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|±HH:MM])");
    // every valid form is ASCII; checking first keeps the byte slicing below on char boundaries
    if !s.is_ascii() {
        return Err(bad());
    }
    let (local, offset) = split_offset(s).ok_or_else(bad)?;
    let naive = parse_naive(local).ok_or_else(bad)?;
    match offset {
        None => Ok(naive),
        Some(off) => {
            let instant = off.from_local_datetime(&naive).single().ok_or_else(bad)?;
            Ok(instant.with_timezone(&tz.0).naive_local())
        }
    }
}

/// Splits a trailing `Z` or `±HH:MM` from a timestamp; `None` if the offset is malformed.
fn split_offset(s: &str) -> Option<(&str, Option<FixedOffset>)> {
    if let Some(rest) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        return Some((rest, FixedOffset::east_opt(0)));
    }
    // An offset can only follow a time, so the date's own '-' signs are never mistaken for one.
    if s.len() > 16 {
        let (head, tail) = s.split_at(s.len() - 6);
        let b = tail.as_bytes();
        if (b[0] == b'+' || b[0] == b'-') && b[3] == b':' {
            let hours: i32 = tail[1..3].parse().ok()?;
            let minutes: i32 = tail[4..6].parse().ok()?;
            if hours > 23 || minutes > 59 || !tail[1..3].bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let secs = (hours * 3600 + minutes * 60) * if b[0] == b'-' { -1 } else { 1 };
            return Some((head, Some(FixedOffset::east_opt(secs)?)));
        }
    }
    Some((s, None))
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    if s.len() == 10 {
        return parse_date(s).ok().map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists"));
    }
    let sep = *s.as_bytes().get(10)?;
    if sep != b'T' && sep != b't' && sep != b' ' {
        return None;
    }
    if let Some(t) = whole_seconds(s) {
        return Some(t);
    }
    let normal = format!("{}T{}", &s[..10], &s[11..]);
    const FORMATS: [&str; 2] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"];
    FORMATS.iter().find_map(|f| NaiveDateTime::parse_from_str(&normal, f).ok())
}

/// `YYYY-MM-DD?HH:MM:SS` (the separator already checked), the form nearly every export uses,
/// read without chrono's format parser (a tenth of an import's time went there); anything else,
/// a leap second included, is left to it.
fn whole_seconds(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() != 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?.and_hms_opt(
        num(11, 13)?,
        num(14, 16)?,
        num(17, 19)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_agrees_with_chrono() {
        for s in [
            "2024-03-05T10:20:30",
            "2024-02-29 23:59:59",
            "1999-12-31T00:00:00",
            "2023-02-29T10:00:00",
            "2024-13-01T10:00:00",
            "2024-03-05T24:00:00",
            "2024-03-05T10:60:00",
            "2024-03-05T10:20:60",
            "2024-03-05T1a:20:30",
            "+024-03-05T10:20:30",
        ] {
            let normal = format!("{}T{}", &s[..10], &s[11..]);
            let chrono = NaiveDateTime::parse_from_str(&normal, "%Y-%m-%dT%H:%M:%S").ok();
            let fast = whole_seconds(s);
            // where the fast path declines, chrono decides (leap seconds): it never disagrees
            assert!(fast.is_none() || fast == chrono, "{s}: {fast:?} vs {chrono:?}");
            if s == "2024-03-05T10:20:30" || s == "2024-02-29 23:59:59" {
                assert!(fast.is_some(), "{s}");
            }
        }
    }

    fn ts(s: &str, tz: &str) -> String {
        parse_timestamp(s, tz.parse().unwrap()).map(|t| t.to_string()).unwrap_or_else(|e| e)
    }

    #[test]
    fn accepts_every_timestamp_form() {
        assert_eq!(ts("2024-03-05", "UTC"), "2024-03-05 00:00:00");
        assert_eq!(ts("2024-03-05T10:20", "UTC"), "2024-03-05 10:20:00");
        assert_eq!(ts("2024-03-05 10:20:30", "UTC"), "2024-03-05 10:20:30");
        assert_eq!(ts("2024-03-05T10:20:30.250", "UTC"), "2024-03-05 10:20:30.250");
        assert_eq!(ts("2024-03-05T23:30:00Z", "Europe/Berlin"), "2024-03-06 00:30:00");
        assert_eq!(ts("2024-03-05T23:30:00+02:00", "UTC"), "2024-03-05 21:30:00");
        assert_eq!(ts("2024-03-05T23:30-05:00", "UTC"), "2024-03-06 04:30:00");
        // without an offset the time is already shop-local
        assert_eq!(ts("2024-03-05T23:30:00", "Europe/Berlin"), "2024-03-05 23:30:00");
    }

    #[test]
    fn refuses_malformed_timestamps() {
        for bad in [
            "",
            "2024-13-01",
            "2024-02-30",
            "05/03/2024",
            "2024-03-05T25:00",
            "2024-03-05X10:00",
            "2024-03-05T10:00+2:00",
            "yesterday",
            // non-ASCII where the parser slices: an error, never a panic
            "2024-01-01T10:00:00é12345",
            "2024-01-01T10:0é",
            "2024-01-01é10:00",
        ] {
            assert!(parse_timestamp(bad, ShopTz::default()).is_err(), "{bad}");
        }
    }

    #[test]
    fn months_step_and_parse() {
        let m: Month = "2024-12".parse().unwrap();
        assert_eq!(m.succ().to_string(), "2025-01");
        assert_eq!(m.succ().pred(), m);
        assert_eq!(m.last_day().to_string(), "2024-12-31");
        assert!("2024-13".parse::<Month>().is_err());
        assert!("2024-1".parse::<Month>().is_err());
    }
}

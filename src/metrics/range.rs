//! Date ranges and what they are compared with: `--vs`/`vs=` (previous period, previous year, a
//! range), the comparison range of a range, and the default range a first screen opens on.

use chrono::{Months, NaiveDate};
use serde::Serialize;

/// What to compare a range with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Versus {
    /// The same number of days just before the range.
    #[default]
    PreviousPeriod,
    /// The same days one year earlier.
    PreviousYear,
    /// A range of its own (first and last day, `first <= last`).
    Range(NaiveDate, NaiveDate),
}

impl std::str::FromStr for Versus {
    type Err = String;
    fn from_str(s: &str) -> Result<Versus, String> {
        match s {
            "previous_period" => Ok(Versus::PreviousPeriod),
            "previous_year" => Ok(Versus::PreviousYear),
            _ => {
                let bad = || format!("'{s}' is not previous_period, previous_year or FROM:TO (two YYYY-MM-DD days)");
                let (a, b) = s.split_once(':').ok_or_else(bad)?;
                let day = |t: &str| {
                    crate::model::time::parse_date(t)
                        .ok()
                        .filter(|d| (crate::model::filter::FIRST_DAY..=crate::model::filter::LAST_DAY).contains(d))
                };
                match (day(a), day(b)) {
                    (Some(a), Some(b)) if a <= b => Ok(Versus::Range(a, b)),
                    (Some(_), Some(_)) => Err(format!("'{s}': the first day is after the last")),
                    _ => Err(bad()),
                }
            }
        }
    }
}

impl std::fmt::Display for Versus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Versus::PreviousPeriod => f.write_str("previous_period"),
            Versus::PreviousYear => f.write_str("previous_year"),
            Versus::Range(a, b) => write!(f, "{a}:{b}"),
        }
    }
}

/// The range a comparison covers (both days included).
pub(crate) fn comparison_range(from: NaiveDate, to: NaiveDate, vs: Versus) -> (NaiveDate, NaiveDate) {
    match vs {
        Versus::PreviousPeriod => {
            let days = (to - from).num_days() + 1;
            (from - chrono::Duration::days(days), from - chrono::Duration::days(1))
        }
        Versus::PreviousYear => (
            from.checked_sub_months(Months::new(12)).unwrap_or(from),
            to.checked_sub_months(Months::new(12)).unwrap_or(to),
        ),
        Versus::Range(a, b) => (a, b),
    }
}

/// Whether the range compared with shares days with the range itself (an all-time range against
/// the year before, say): such a comparison means nothing.
pub(crate) fn overlaps(from: NaiveDate, to: NaiveDate, vs: Versus) -> bool {
    let (a, b) = comparison_range(from, to, vs);
    a <= to && from <= b
}

/// The range a first screen opens on, and what it is compared with: chosen so that both have
/// data, since "how are we doing compared with before" is the first question.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DefaultRange {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// What it is compared with, as the `vs` parameter says it.
    pub vs: String,
    /// How a page names the choice.
    pub(crate) label: String,
}

impl DefaultRange {
    /// The comparison as a [`Versus`].
    pub(crate) fn versus(&self) -> Versus {
        self.vs.parse().expect("a default range names a valid comparison")
    }
}

/// The default range for data from `first` to `last` (order days): the last 12 complete months
/// against the 12 before when there are two years of data, else the last complete month against
/// the same month a year before when there is more than a year, else against the month before;
/// `None` when no complete month has one before it.
pub fn default_range(first: NaiveDate, last: NaiveDate) -> Option<DefaultRange> {
    use crate::model::Month;
    let (start, end) = (Month::of(first), Month::last_complete(last));
    let span = end.months_since(start);
    let month = |m: Month| m.first_day().format("%b %Y").to_string();
    if span >= 23 {
        let from = (0..11).fold(end, |m, _| m.pred());
        // the 12 calendar months before, not the same number of days (a leap year differs)
        let (before_end, before_from) = (from.pred(), (0..12).fold(from, |m, _| m.pred()));
        return Some(DefaultRange {
            from: from.first_day(),
            to: end.last_day(),
            vs: format!("{}:{}", before_from.first_day(), before_end.last_day()),
            label: format!("{} – {} vs the 12 months before", month(from), month(end)),
        });
    }
    if span >= 12 {
        return Some(DefaultRange {
            from: end.first_day(),
            to: end.last_day(),
            vs: "previous_year".into(),
            label: format!("{} vs a year before", month(end)),
        });
    }
    if span >= 1 {
        let before = end.pred();
        return Some(DefaultRange {
            from: end.first_day(),
            to: end.last_day(),
            vs: format!("{}:{}", before.first_day(), before.last_day()),
            label: format!("{} vs {}", month(end), month(before)),
        });
    }
    None
}

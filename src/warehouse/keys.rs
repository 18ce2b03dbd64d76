//! The warehouse's date encodings, both ways: the date dimension's key (`YYYYMMDD`, which the
//! facts are sorted by) and Arrow's `Date32` (days since 1970-01-01), and a date as a query
//! parameter of either kind.

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Date32Type;
use datafusion::common::ScalarValue;

/// `YYYYMMDD` as an integer: the date dimension's key.
pub fn date_key(d: NaiveDate) -> i32 {
    d.year() * 10_000 + d.month() as i32 * 100 + d.day() as i32
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
}

/// Days since 1970-01-01, Arrow's `Date32`.
pub(crate) fn date32(d: NaiveDate) -> i32 {
    (d - epoch()).num_days() as i32
}

/// The day of a `Date32` value.
pub(crate) fn from_date32(days: i32) -> NaiveDate {
    epoch() + chrono::Duration::days(days as i64)
}

/// The day in row `row` of `column`, a `Date32` column (the value, null or not).
pub(crate) fn date_at(column: &dyn Array, row: usize) -> NaiveDate {
    from_date32(column.as_primitive::<Date32Type>().value(row))
}

/// A day as a date key parameter (`Int32`).
pub(crate) fn key_param(d: NaiveDate) -> ScalarValue {
    ScalarValue::Int32(Some(date_key(d)))
}

/// A day, or NULL, as a `Date32` parameter.
pub(crate) fn date_param(d: Option<NaiveDate>) -> ScalarValue {
    ScalarValue::Date32(d.map(date32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_days_round_trip() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(date_key(d), 20240229);
        assert_eq!(from_date32(date32(d)), d);
        assert_eq!(date32(epoch()), 0);
    }
}

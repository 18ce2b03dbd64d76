//! Period comparisons for the dashboard's cards: the summary of a date range against the one
//! before it or the same range a year earlier.

use super::{Kpis, Summary};
use crate::model::Filter;
use chrono::{Months, NaiveDate};
use serde::Serialize;

/// What to compare a range with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Versus {
    /// The same number of days just before the range.
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

/// The range a comparison covers (both days included).
pub fn comparison_range(from: NaiveDate, to: NaiveDate, vs: Versus) -> (NaiveDate, NaiveDate) {
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

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// The summary KPIs.
    pub summary: Summary,
    /// The repeat-customer rate.
    pub repeat_customer_rate: f64,
}

/// The change of each figure: relative (`current / previous - 1`, null when previous is 0) for
/// the summary, in points (a difference) for the repeat-customer rate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// Relative change.
    pub total_revenue: Option<f64>,
    /// Relative change.
    pub orders: Option<f64>,
    /// Relative change.
    pub average_order_value: Option<f64>,
    /// Relative change.
    pub customers: Option<f64>,
    /// Difference of the rates (null when the comparison range has no customer).
    pub repeat_customer_rate: Option<f64>,
}

/// A range, its comparison range, and the changes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// The requested range.
    pub range: Period,
    /// The range compared with.
    pub comparison: Period,
    /// How each figure changed.
    pub change: Change,
}

fn relative(now: f64, before: f64) -> Option<f64> {
    (before != 0.0).then(|| super::round6(now / before - 1.0))
}

/// Builds a comparison from the two ranges' KPIs.
pub fn compare(filter: &Filter, now: &Kpis, comparison_filter: &Filter, before: &Kpis) -> Comparison {
    let period = |f: &Filter, k: &Kpis| Period {
        from: f.from().expect("comparisons have bounded ranges"),
        to: f.to().expect("comparisons have bounded ranges"),
        summary: k.summary.clone(),
        repeat_customer_rate: k.order_frequency.repeat_customer_rate,
    };
    let (a, b) = (&now.summary, &before.summary);
    let money = |c: super::Cents| c.0 as f64;
    Comparison {
        range: period(filter, now),
        comparison: period(comparison_filter, before),
        change: Change {
            total_revenue: relative(money(a.total_revenue), money(b.total_revenue)),
            orders: relative(a.orders as f64, b.orders as f64),
            average_order_value: relative(money(a.average_order_value), money(b.average_order_value)),
            customers: relative(a.customers as f64, b.customers as f64),
            repeat_customer_rate: (b.customers > 0).then(|| {
                super::round6(now.order_frequency.repeat_customer_rate - before.order_frequency.repeat_customer_rate)
            }),
        },
    }
}

/// The comparison of `filter`'s range (open ends: the data's first and last order day) with the
/// range `vs` names; `None` when the warehouse has no orders.
///
/// # Errors
/// A query fails.
pub async fn period_comparison(
    wh: &crate::warehouse::Warehouse,
    filter: &Filter,
    vs: Versus,
) -> Result<Option<Comparison>, super::MetricsError> {
    let dims = super::dimensions(wh).await?;
    let (Some(first), Some(last)) = (filter.from().or(dims.first_date), filter.to().or(dims.last_date)) else {
        return Ok(None);
    };
    let now = filter.with_range(Some(first), Some(last.max(first)));
    let (cf, ct) = comparison_range(first, last.max(first), vs);
    let before = filter.with_range(Some(cf), Some(ct));
    let (a, b) = futures::try_join!(super::compute(wh, &now), super::compute(wh, &before))?;
    Ok(Some(compare(&now, &a, &before, &b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_ranges() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            comparison_range(d("2024-03-01"), d("2024-03-31"), Versus::PreviousPeriod),
            (d("2024-01-30"), d("2024-02-29"))
        );
        assert_eq!(
            comparison_range(d("2024-02-01"), d("2024-02-29"), Versus::PreviousYear),
            (d("2023-02-01"), d("2023-02-28"))
        );
        assert!("last_week".parse::<Versus>().is_err());
        assert_eq!("2023-01-01:2023-01-31".parse::<Versus>(), Ok(Versus::Range(d("2023-01-01"), d("2023-01-31"))));
        assert!("2023-02-01:2023-01-31".parse::<Versus>().is_err());
        assert!("2023-02-01:".parse::<Versus>().is_err());
    }
}

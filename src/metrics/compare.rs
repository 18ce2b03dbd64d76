//! Period comparisons for the dashboard's cards: the summary of a date range against the one
//! before it or the same range a year earlier.

pub use super::range::{DefaultRange, Versus, default_range};
pub(crate) use super::range::{comparison_range, overlaps};
use super::results::{Cents, Kpis, Summary, round6};
use crate::model::Filter;
use crate::warehouse::query::MetricsError;
use chrono::NaiveDate;
use serde::Serialize;

/// A selection without dates opened on the default range and its comparison (the filter's other
/// fields kept); a selection with dates as it is, against the previous period.
pub fn with_default(filter: &Filter, dims: &super::Dimensions) -> (Filter, Versus) {
    match (&dims.default_range, filter.from(), filter.to()) {
        (Some(r), None, None) => (filter.with_range(Some(r.from), Some(r.to)), r.versus()),
        _ => (filter.clone(), Versus::PreviousPeriod),
    }
}

/// Why `filter`'s range (open ends: the data's first and last day) cannot be compared under `vs`
/// in data whose orders span `dims`: the comparison shares days with the range, or has no orders.
/// `None` when it can (or when there is no data to tell).
pub(crate) fn why_not_comparable(filter: &Filter, vs: Versus, dims: &super::Dimensions) -> Option<String> {
    let (first, last) = (dims.first_date?, dims.last_date?);
    let (from, to) = (filter.from().unwrap_or(first), filter.to().unwrap_or(last));
    let (a, b) = comparison_range(from, to, vs);
    let why = if overlaps(from, to, vs) {
        format!("{a} to {b} shares days with {from} to {to}")
    } else if b < first || a > last {
        format!("{a} to {b} has no orders")
    } else {
        return None;
    };
    Some(format!("{why} (the data covers {first} to {last})"))
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// The summary KPIs.
    pub summary: Summary,
    /// The books.
    pub books: super::Books,
    /// The repeat-customer rate.
    pub repeat_customer_rate: f64,
}

/// The change of each figure: relative (`current / previous - 1`, null when previous is 0) for
/// the summary, in points (a difference) for the repeat-customer rate.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
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
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Comparison {
    /// The requested range.
    pub range: Period,
    /// The range compared with.
    pub comparison: Period,
    /// How each figure changed.
    pub change: Change,
}

fn relative(now: f64, before: f64) -> Option<f64> {
    (before != 0.0).then(|| round6(now / before - 1.0))
}

/// Builds a comparison from the two ranges' KPIs.
pub fn compare(filter: &Filter, now: &Kpis, comparison_filter: &Filter, before: &Kpis) -> Comparison {
    let period = |f: &Filter, k: &Kpis| Period {
        from: f.from().expect("comparisons have bounded ranges"),
        to: f.to().expect("comparisons have bounded ranges"),
        summary: k.summary.clone(),
        books: k.books.clone(),
        repeat_customer_rate: k.order_frequency.repeat_customer_rate,
    };
    let (a, b) = (&now.summary, &before.summary);
    let money = |c: Cents| c.0 as f64;
    Comparison {
        range: period(filter, now),
        comparison: period(comparison_filter, before),
        change: Change {
            total_revenue: relative(money(a.total_revenue), money(b.total_revenue)),
            orders: relative(a.orders as f64, b.orders as f64),
            average_order_value: relative(money(a.average_order_value), money(b.average_order_value)),
            customers: relative(a.customers as f64, b.customers as f64),
            repeat_customer_rate: (b.customers > 0).then(|| {
                round6(now.order_frequency.repeat_customer_rate - before.order_frequency.repeat_customer_rate)
            }),
        },
    }
}

/// The comparison of `filter`'s range (open ends: the data's first and last order day) with the
/// range `vs` names; `None` when the warehouse has no orders.
///
/// # Errors
/// A query fails.
pub(crate) async fn period_comparison(
    wh: &crate::warehouse::Warehouse,
    filter: &Filter,
    vs: Versus,
) -> Result<Option<Comparison>, MetricsError> {
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

    #[test]
    fn the_default_range_has_data_before_it() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // two years and more: the last 12 complete months against the 12 before
        let r = default_range(d("2010-01-06"), d("2014-01-02")).unwrap();
        assert_eq!((r.from, r.to, r.vs.as_str()), (d("2013-01-01"), d("2013-12-31"), "2012-01-01:2012-12-31"));
        assert_eq!(comparison_range(r.from, r.to, r.versus()), (d("2012-01-01"), d("2012-12-31")));
        assert!(!overlaps(r.from, r.to, r.versus()));
        // a month in progress is not the range's end
        let r = default_range(d("2022-03-10"), d("2024-03-30")).unwrap();
        assert_eq!((r.from, r.to), (d("2023-03-01"), d("2024-02-29")));
        // more than a year: the last complete month against the same month a year before
        let r = default_range(d("2023-01-15"), d("2024-03-31")).unwrap();
        assert_eq!((r.from, r.to, r.vs.as_str()), (d("2024-03-01"), d("2024-03-31"), "previous_year"));
        // less: against the month before
        let r = default_range(d("2024-01-15"), d("2024-03-20")).unwrap();
        assert_eq!((r.from, r.to, r.vs.as_str()), (d("2024-02-01"), d("2024-02-29"), "2024-01-01:2024-01-31"));
        assert_eq!(r.label, "Feb 2024 vs Jan 2024");
        // nothing complete with a month before it
        assert_eq!(default_range(d("2024-03-01"), d("2024-03-20")), None);
        assert_eq!(default_range(d("2024-02-03"), d("2024-03-20")), None);
        // all time against the year before overlaps
        assert!(overlaps(d("2010-01-06"), d("2014-01-02"), Versus::PreviousYear));
    }
}

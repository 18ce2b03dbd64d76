//! Cohort retention (customers.md): customers grouped by the month of their first purchase day,
//! followed month by month: how many are active, their revenue, and the cumulative revenue per
//! customer.

use super::queries::{last_order_date, session, sql};
use crate::metrics::results::{Cents, rows};
use crate::metrics::{MetricsError, date_param, round6, run};
use crate::model::money::round_ratio;
use crate::model::{Filter, Month};
use crate::warehouse::Warehouse;
use serde::Serialize;

/// One month of a cohort.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CohortMonth {
    /// The calendar month.
    pub month: Month,
    /// Months since the cohort's month.
    pub k: i64,
    /// The cohort's customers with a purchase day this month.
    pub active: i64,
    /// active / cohort size.
    pub retention: f64,
    /// The line revenue of the cohort's customers this month.
    pub revenue: Cents,
    /// The revenue of months 0..=k over the cohort size.
    pub cumulative_revenue_per_customer: Cents,
    /// False for a month after the data's last complete month.
    pub complete: bool,
}

/// One cohort.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Cohort {
    /// The month of its customers' first purchase day.
    pub cohort: Month,
    /// Its size.
    pub customers: i64,
    /// Every month from the cohort's to the last with a revenue line.
    pub months: Vec<CohortMonth>,
}

/// Every cohort, by month ascending.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Cohorts {
    /// The cohorts.
    pub cohorts: Vec<Cohort>,
}

/// The cohorts whose month falls in `filter`'s date range (the months of its first and last
/// days, both included; all cohorts when open), restricted by its other filters.
///
/// # Errors
/// A query fails.
pub async fn cohorts(wh: &Warehouse, filter: &Filter) -> Result<Cohorts, MetricsError> {
    let s = session(wh, filter).await?;
    let params = vec![
        date_param(filter.from().map(|d| Month::of(d).first_day())),
        date_param(filter.to().map(|d| Month::of(d).first_day())),
    ];
    let batches = run(&s.ctx, "cohorts", sql::COHORTS, params).await?;
    let last_complete = last_order_date(wh).await?.map(Month::last_complete);
    let mut out: Vec<Cohort> = Vec::new();
    let mut cumulative = 0i128;
    for (c, r) in rows(&batches) {
        let cohort = Month::of(c.date("cohort", r));
        let month = Month::of(c.date("month_start", r));
        let customers = c.int("customers", r);
        if out.last().is_none_or(|last| last.cohort != cohort) {
            out.push(Cohort { cohort, customers, months: Vec::new() });
            cumulative = 0;
        }
        let revenue = c.units4("revenue", r);
        cumulative += revenue;
        let active = c.int("active", r);
        out.last_mut().expect("pushed above").months.push(CohortMonth {
            month,
            k: month.months_since(cohort),
            active,
            retention: round6(active as f64 / customers as f64),
            revenue: Cents(crate::model::money::round_scaled(revenue, 4, 2)),
            cumulative_revenue_per_customer: Cents(round_ratio(cumulative, customers as i128 * 100, 0)),
            complete: last_complete.is_some_and(|l| month <= l),
        });
    }
    Ok(Cohorts { cohorts: out })
}

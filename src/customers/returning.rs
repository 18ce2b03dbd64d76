//! The returning-customer rate (customers.md): customers with an order in a range whose orders
//! from their first ever up to the range's end number 2 or more.

use super::queries::{session, sql};
use crate::metrics::results::rows;
use crate::metrics::{MetricsError, orders_session, round6, run};
use crate::model::Filter;
use crate::warehouse::Warehouse;
use crate::warehouse::keys::date_key;
use chrono::NaiveDate;
use datafusion::common::ScalarValue;
use serde::Serialize;

/// The returning-customer rate of a range.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Returning {
    /// Customers with an order in the range.
    pub customers: i64,
    /// Of those, customers with 2 or more orders from their first up to the range's end.
    pub returning: i64,
    /// returning / customers (0 when there are no customers).
    pub returning_customer_rate: f64,
    /// kpis.md's repeat-customer rate of the same range (2+ orders inside it), for contrast.
    pub repeat_customer_rate: f64,
}

/// The returning-customer rate for `filter`'s range (all data when open) and other filters.
///
/// # Errors
/// A query fails.
pub async fn returning(wh: &Warehouse, filter: &Filter) -> Result<Returning, MetricsError> {
    let s = session(wh, filter).await?;
    let from = filter.from().unwrap_or(NaiveDate::MIN);
    let to = filter.to().unwrap_or(NaiveDate::MAX);
    let (from, to) = (
        from.max(NaiveDate::from_ymd_opt(1, 1, 1).expect("valid")),
        to.min(NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid")),
    );
    let params = vec![ScalarValue::Int32(Some(date_key(from))), ScalarValue::Int32(Some(date_key(to)))];
    let batches = run(&s.ctx, "returning", sql::RETURNING, params).await?;
    let (c, r) = rows(&batches).next().expect("an aggregate returns one row");
    let (customers, returning) = (c.int("customers", r), c.int("returning", r));
    let rate = if customers == 0 { 0.0 } else { round6(returning as f64 / customers as f64) };
    let in_range = orders_session(wh, filter).await?;
    let frequency = run(&in_range.ctx, "order_frequency", crate::metrics::sql::ORDER_FREQUENCY, vec![]).await?;
    let repeat = crate::metrics::OrderFrequency::from_batches(&frequency).repeat_customer_rate;
    Ok(Returning { customers, returning, returning_customer_rate: rate, repeat_customer_rate: repeat })
}

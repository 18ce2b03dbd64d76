//! CLV on a warehouse: the per-customer summary by `clv_summary.sql`, then [`model`].

use super::model::{Clv, ClvOptions, model};
use super::summary::Summary;
use crate::customers::queries::{last_order_date, session, sql};
use crate::metrics::results::rows;
use crate::metrics::{MetricsError, run};
use crate::model::Filter;
use crate::warehouse::Warehouse;
use crate::warehouse::keys::date_key;
use chrono::NaiveDate;
use datafusion::common::ScalarValue;

/// The per-customer summary of a warehouse (customers.md), restricted by `filter`'s category,
/// country and method.
///
/// # Errors
/// A query fails.
pub async fn summary(wh: &Warehouse, filter: &Filter, end: NaiveDate) -> Result<Vec<Summary>, MetricsError> {
    let s = session(wh, filter).await?;
    let batches = run(&s.ctx, "clv_summary", sql::CLV_SUMMARY, vec![ScalarValue::Int32(Some(date_key(end)))]).await?;
    Ok(rows(&batches)
        .map(|(c, r)| {
            let x = c.int("x", r) as f64;
            let (first, last) = (c.date("first_day", r), c.date("last_day", r));
            let weeks = |d: chrono::TimeDelta| d.num_days() as f64 / 7.0;
            let repeat = c.units4("repeat_value", r) as f64 / 10_000.0;
            Summary {
                id: c.text("customer_id", r).unwrap_or_default(),
                x,
                t_x: weeks(last - first),
                t: weeks(end - first),
                m: if x > 0.0 { repeat / x } else { 0.0 },
            }
        })
        .collect())
}

/// CLV on a warehouse.
///
/// # Errors
/// A query fails.
pub async fn clv(wh: &Warehouse, filter: &Filter, options: &ClvOptions) -> Result<Clv, MetricsError> {
    let end = match options.calibration_end {
        Some(d) => Some(d),
        None => last_order_date(wh).await?,
    };
    let Some(end) = end else {
        let mut empty = model(&[], None, options);
        empty.warnings = vec!["the warehouse has no orders".into()];
        return Ok(empty);
    };
    let rows = summary(wh, filter, end).await?;
    let options = options.clone();
    let mut out = tokio::task::spawn_blocking(move || model(&rows, Some(end), &options)).await.map_err(|e| {
        MetricsError { query: "clv", source: datafusion::error::DataFusionError::External(Box::new(e)) }
    })?;
    if out.customers == 0 {
        out.warnings = vec![format!("no customer has a purchase on or before the calibration end {end}")];
    }
    Ok(out)
}

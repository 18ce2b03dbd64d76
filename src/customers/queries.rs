//! What the customer analyses share: their queries (`sql/`), the session of a filter's revenue
//! orders they run on, and the day of the latest order.

use crate::metrics::{Filtered, MetricsError, orders_session};
use crate::model::Filter;
use crate::warehouse::Warehouse;
use chrono::NaiveDate;

/// The analyses' queries, embedded from `src/customers/sql/`.
pub mod sql {
    /// Cohort retention.
    pub(crate) const COHORTS: &str = include_str!("sql/cohorts.sql");
    /// The returning-customer rate.
    pub(crate) const RETURNING: &str = include_str!("sql/returning.sql");
    /// RFM scores and segments per customer.
    pub const RFM: &str = include_str!("sql/rfm.sql");
    /// The CLV models' per-customer summary.
    pub(crate) const CLV_SUMMARY: &str = include_str!("sql/clv_summary.sql");
    /// Each purchase net of its order's returns.
    pub(crate) const NET_ORDERS: &str = include_str!("sql/net_orders.sql");
}

/// The filter's revenue orders over all dates, each valued net of its order's returns whenever
/// refunded (customers.md): each analysis reads dates its own way, and none reads lines.
pub(super) async fn session(wh: &Warehouse, filter: &Filter) -> Result<Filtered, MetricsError> {
    let s = orders_session(wh, &filter.with_range(None, None)).await?;
    let wrap = |source| MetricsError { query: "net_orders", source };
    let returns = s.ctx.table("revenue_returns").await.map_err(wrap)?.count().await.map_err(wrap)?;
    if returns > 0 {
        let sales = s.ctx.deregister_table("revenue_orders").map_err(wrap)?.expect("registered by orders_session");
        s.ctx.register_table("sale_orders", sales).map_err(wrap)?;
        let net = s.ctx.sql(sql::NET_ORDERS).await.map_err(wrap)?.into_view();
        s.ctx.register_table("revenue_orders", net).map_err(wrap)?;
    }
    Ok(s)
}

/// The day of the warehouse's latest order (of any status), if any.
pub(super) async fn last_order_date(wh: &Warehouse) -> Result<Option<NaiveDate>, MetricsError> {
    let ctx = wh.session().await.map_err(|source| MetricsError { query: "session", source })?;
    crate::metrics::last_order_date(&ctx).await
}

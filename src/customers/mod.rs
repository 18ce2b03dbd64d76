//! Customer analytics (`shared/spec/customers.md`): cohort retention, the returning-customer rate,
//! RFM segments and lifetime value. Each figure is defined once in a `.sql` file of `sql/`, run on
//! the filter's revenue orders (the same `revenue_orders` the KPIs read); the CLV models are
//! fitted in Rust (`clv`).

pub mod clv;
pub mod cohorts;
pub mod returning;
pub mod rfm;

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
}

pub use clv::{ClvOptions, clv};

pub use clv::Clv;
pub use cohorts::Cohorts;
pub use cohorts::cohorts;
pub use returning::Returning;
pub use returning::returning;
pub use rfm::Rfm;
pub use rfm::RfmCustomer;
pub use rfm::rfm;

/// The filter's revenue orders over all dates: each analysis reads dates its own way, and none
/// reads lines.
async fn session(wh: &Warehouse, filter: &Filter) -> Result<Filtered, MetricsError> {
    orders_session(wh, &filter.with_range(None, None)).await
}

/// The day of the warehouse's latest order (of any status), if any.
async fn last_order_date(wh: &Warehouse) -> Result<Option<NaiveDate>, MetricsError> {
    let ctx = wh.session().await.map_err(|source| MetricsError { query: "session", source })?;
    crate::metrics::last_order_date(&ctx).await
}

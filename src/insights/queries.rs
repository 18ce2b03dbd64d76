//! What the insights share: their queries (`sql/`) and the error of one.

use crate::metrics::MetricsError;

/// The insight queries, embedded from `src/insights/sql/`.
pub mod sql {
    /// Revenue and orders of both periods of a bridge.
    pub(crate) const BRIDGE_TOTALS: &str = include_str!("sql/bridge_totals.sql");
    /// Per product, both periods.
    pub(crate) const BRIDGE_PRODUCTS: &str = include_str!("sql/bridge_products.sql");
    /// Per country, both periods.
    pub(crate) const BRIDGE_COUNTRIES: &str = include_str!("sql/bridge_countries.sql");
    /// Per main payment method, both periods.
    pub(crate) const BRIDGE_METHODS: &str = include_str!("sql/bridge_methods.sql");
    /// Customers of either period by group.
    pub(crate) const BRIDGE_CUSTOMERS: &str =
        crate::warehouse::sql_text::sql_text!(include_str!("sql/bridge_customers.sql"), crate::metrics::sql::PARTS);
    /// Gross merchandise value, discounts and revenue per status.
    pub(crate) const GROSS_TO_NET: &str =
        crate::warehouse::sql_text::sql_text!(include_str!("sql/gross_to_net.sql"), crate::metrics::sql::PARTS);
    /// Revenue per day.
    pub(crate) const DAILY: &str = include_str!("sql/daily.sql");
    /// Revenue per month of every category, country and payment method.
    pub(crate) const SEGMENT_MONTHS: &str =
        crate::warehouse::sql_text::sql_text!(include_str!("sql/segment_months.sql"), crate::metrics::sql::PARTS);
}

pub(super) fn query_error(query: &'static str) -> impl Fn(datafusion::error::DataFusionError) -> MetricsError {
    move |source| MetricsError { query, source }
}

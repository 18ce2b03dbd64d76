//! Insights: why revenue moved (revenue bridges and gross to net), where the current month is
//! heading (the month-to-date projection) and what is off (alerts). Definitions in
//! `docs/insights.md`; every amount is exact and every bridge adds up to its change to the cent.

pub mod alerts;
pub mod bridge;
pub mod projection;

pub use alerts::alerts;

pub use alerts::Alerts;

pub use alerts::Alert;
pub use bridge::{Explanation, explain};
pub use projection::Projection;
pub use projection::projection;

use crate::metrics::MetricsError;
use crate::model::money::round_scaled;

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
    pub(crate) const SEGMENT_MONTHS: &str = include_str!("sql/segment_months.sql");
}

/// Exact money in the warehouse's unit, ten-thousandths, rounded half away from zero to cents.
fn cents(units4: i128) -> i128 {
    round_scaled(units4, 4, 2)
}

/// Rounds parts to cents so that they add up to `total` cents exactly.
///
/// Each part is `(exact, start)`: its exact amount in ten-thousandths and the cents it starts
/// from (its own rounding, or the difference of two rounded figures the user sees elsewhere).
/// Whatever the starts miss of `total` is given one cent at a time to the parts whose start is
/// furthest below (or above) their exact amount. When every amount is whole cents the starts are
/// exact and nothing moves.
fn apportion(parts: &[(i128, i128)], total: i128) -> Vec<i128> {
    let mut out: Vec<i128> = parts.iter().map(|p| p.1).collect();
    if out.is_empty() {
        return out;
    }
    let mut rest = total - out.iter().sum::<i128>();
    while rest != 0 {
        let step = rest.signum();
        // the part whose rounded value lags its exact amount most in the direction needed
        let lag = |i: usize| (parts[i].0 - out[i] * 100) * step;
        let i = (0..out.len()).max_by(|a, b| lag(*a).cmp(&lag(*b)).then(b.cmp(a))).expect("parts");
        out[i] += step;
        rest -= step;
    }
    out
}

fn query_error(query: &'static str) -> impl Fn(datafusion::error::DataFusionError) -> MetricsError {
    move |source| MetricsError { query, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportioned_parts_add_up_and_stay_within_a_cent() {
        // three thirds of 1.00: 0.3333.. each, starts 0.33, one cent to place
        let parts = [(3333, 33), (3333, 33), (3334, 33)];
        assert_eq!(apportion(&parts, 100), vec![33, 33, 34]);
        // whole cents: nothing moves
        assert_eq!(apportion(&[(12_500, 125), (-2_500, -25)], 100), vec![125, -25]);
        // a negative residue takes from the part rounded up the most
        assert_eq!(apportion(&[(50, 1), (40, 0)], 0), vec![0, 0]);
        assert_eq!(apportion(&[(150, 2), (150, 2)], 3), vec![1, 2]);
        assert!(apportion(&[], 0).is_empty());
    }
}

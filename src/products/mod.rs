//! Products (docs/products.md): what sells (performance per product, variant and category, with
//! returns and a comparison), what is rising and falling (a significance test on order counts),
//! what sells together (pairs with the measures of mlxtend's association rules), and what
//! customers buy first and next (the journey). Each analysis is a `.sql` file of `sql/` over the
//! filter's revenue lines and returns, its items given by [`Level`] (`items.sql`).

mod journey;
mod pairs;
mod performance;
mod trend;

pub use journey::{Journey, JourneyRow, NEXT_ITEMS, NextItem, journey};
pub use pairs::{PairOptions, Pairs, Rule, pairs};
pub use performance::{Performance, Period, ProductRow, csv, performance};
pub use trend::{Direction, FDR, Trend, binomial_two_sided};

use crate::metrics::{self, Filtered, MetricsError};
use crate::model::Filter;
use crate::warehouse::Warehouse;
use datafusion::common::ScalarValue;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What an item of the products analyses is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A product, its variants rolled up into it (products.csv's `variant_of`).
    #[default]
    Product,
    /// Each product_id: a variant (a size, a colour) where the export has variants.
    Variant,
    /// A category.
    Category,
}

impl Level {
    /// Its name in a parameter and in `items.sql`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Product => "product",
            Level::Variant => "variant",
            Level::Category => "category",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Level, String> {
        match s.trim() {
            "product" => Ok(Level::Product),
            "variant" => Ok(Level::Variant),
            "category" => Ok(Level::Category),
            other => Err(format!("'{other}' is not one of product, variant, category")),
        }
    }
}

/// A session with the filter's revenue lines and returns (`metrics::filtered_session`), the
/// items of `level` as the view `items` and each item once as `item_names`.
async fn session(wh: &Warehouse, filter: &Filter, level: Level) -> Result<Filtered, MetricsError> {
    let filtered = metrics::filtered_session(wh, filter).await?;
    let wrap = |source| MetricsError { query: "items", source };
    let items = filtered
        .ctx
        .sql(include_str!("sql/items.sql"))
        .await
        .map_err(wrap)?
        .with_param_values(vec![ScalarValue::Utf8(Some(level.as_str().into()))])
        .map_err(wrap)?;
    filtered.ctx.register_table("items", items.into_view()).map_err(wrap)?;
    let names = filtered.ctx.sql(include_str!("sql/item_names.sql")).await.map_err(wrap)?;
    filtered.ctx.register_table("item_names", names.into_view()).map_err(wrap)?;
    Ok(filtered)
}

/// `units4` (ten-thousandths of money) per one of `n`, in cents rounded half away from zero;
/// none when `n` is not positive.
fn mean_cents(units4: i128, n: i64) -> Option<crate::metrics::Cents> {
    if n <= 0 {
        return None;
    }
    let d = 100 * i128::from(n);
    let (q, r) = (units4 / d, units4 % d);
    Some(crate::metrics::Cents(if 2 * r.abs() >= d { q + units4.signum() } else { q }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Cents;

    #[test]
    fn a_mean_rounds_half_away_from_zero() {
        // 10.00 over 3 units: 3.333… → 3.33; 10.01 over 2: 5.005 → 5.01
        assert_eq!(mean_cents(100_000, 3), Some(Cents(333)));
        assert_eq!(mean_cents(100_100, 2), Some(Cents(501)));
        assert_eq!(mean_cents(-100_100, 2), Some(Cents(-501)));
        assert_eq!(mean_cents(5, 0), None);
    }
}

//! Products (docs/products.md): what sells (performance per product, variant and category, with
//! returns and a comparison), what is rising and falling (a significance test on order counts),
//! what sells together (pairs with the measures of mlxtend's association rules), and what
//! customers buy first and next (the journey). Each analysis is a `.sql` file of `sql/` over the
//! filter's revenue lines and returns, its items given by [`Level`] (`items.sql`).

mod first_day;
mod journey;
mod pairs;
mod performance;
mod trend;

pub use journey::{Journey, JourneyRow, NEXT_ITEMS, NextItem, journey};
pub use pairs::{PairOptions, Pairs, Rule, pairs};
pub use performance::{ComparedDays, ItemFigures, Performance, csv, performance};
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

/// A session with the filter's revenue lines and returns (`metrics::lines_session`), the items
/// of `level` as the view `items` and each item once as `item_names`.
async fn session(wh: &Warehouse, filter: &Filter, level: Level) -> Result<Filtered, MetricsError> {
    let filtered = metrics::lines_session(wh, filter).await?;
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

/// Runs an analysis query in `s`; when its hash joins need more memory than the session has, runs
/// it again with sort-merge joins, whose sorts spill to disk: slower, but bounded.
async fn run(
    s: &Filtered,
    name: &'static str,
    sql: &str,
    params: Vec<ScalarValue>,
) -> Result<Vec<datafusion::arrow::record_batch::RecordBatch>, MetricsError> {
    match metrics::run(&s.ctx, name, sql, params.clone()).await {
        Err(e) if exhausted(&e) => {
            let wrap = |source| MetricsError { query: name, source };
            s.ctx.sql("SET datafusion.optimizer.prefer_hash_join = false").await.map_err(wrap)?;
            metrics::run(&s.ctx, name, sql, params).await
        }
        other => other,
    }
}

/// Whether `e` is the memory pool refusing an allocation.
fn exhausted(e: &MetricsError) -> bool {
    matches!(e.source.find_root(), datafusion::error::DataFusionError::ResourcesExhausted(_))
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

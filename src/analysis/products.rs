//! The products analyses (docs/products.md): performance per product, variant or category with
//! trends and sparklines, items bought together, and the product journey.

use super::kpis::VersusQuery;
use super::query::{FilterQuery, number};
use super::{Analysis, AnalysisError, Ctx};
use crate::metrics::compare::Versus;
use crate::model::Filter;
use crate::products::{self, Journey, Level, PairOptions, Pairs, Performance};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The level parameter: what an item is.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct LevelQuery {
    /// product (variants rolled up, the default), variant (each product_id) or category.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Level>, default = "product")]
    pub level: Option<String>,
}

impl LevelQuery {
    fn level(&self) -> Result<Level, AnalysisError> {
        self.level
            .as_deref()
            .map(|v| v.parse().map_err(|e| super::error::bad_parameter("level", e)))
            .transpose()
            .map(Option::unwrap_or_default)
    }
}

/// The parameters of `/api/products`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct ProductsQuery {
    /// The filter and the comparison.
    #[serde(flatten)]
    #[schema(inline)]
    pub versus: VersusQuery,
    /// The level.
    #[serde(flatten)]
    #[schema(inline)]
    pub level: LevelQuery,
}

/// `GET /api/products`.
pub struct ProductsAnalysis;

impl Analysis for ProductsAnalysis {
    const NAME: &'static str = "products";
    const PATH: &'static str = "/api/products";
    const SUMMARY: &'static str =
        "product performance per product, variant or category: net sales, units, returns, trends";
    const DESCRIPTION: &'static str = "Every item with sales or returns in the range. A trend is rising or \
        falling when the exact binomial test of its orders against the comparison period, adjusted over all \
        items (Benjamini-Hochberg), is below 5 %.";
    const TAG: &'static str = "products";
    type Query = ProductsQuery;
    type Options = (Filter, Versus, Level);
    type Output = Performance;

    fn options(q: ProductsQuery) -> Result<(Filter, Versus, Level), AnalysisError> {
        let (f, vs) = q.versus.options()?;
        Ok((f, vs, q.level.level()?))
    }

    async fn run(ctx: &Ctx<'_>, (f, vs, level): &(Filter, Versus, Level)) -> Result<Performance, AnalysisError> {
        Ok(products::performance(ctx.warehouse, f, *level, *vs).await?)
    }

    fn weight(p: &Performance) -> usize {
        4096 + p.items.len() * (400 + 16 * p.months.len())
    }

    const CSV: bool = true;

    async fn csv(ctx: &Ctx<'_>, o: &(Filter, Versus, Level)) -> Result<Vec<u8>, AnalysisError> {
        Ok(products::csv(&*ctx.run::<Self>(o).await?))
    }

    fn csv_name(o: &(Filter, Versus, Level)) -> String {
        format!("products-{}.csv", o.2)
    }
}

/// The parameters of `/api/products/pairs`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct PairsQuery {
    /// The filter (its top is the number of rules given).
    #[serde(flatten)]
    #[schema(inline)]
    pub filter: FilterQuery,
    /// The level.
    #[serde(flatten)]
    #[schema(inline)]
    pub level: LevelQuery,
    /// The least support of a pair: the share of orders holding both.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 1, default = 0)]
    pub min_support: Option<String>,
    /// The least number of orders holding both.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1000000000, default = 3)]
    pub min_orders: Option<String>,
}

/// `GET /api/products/pairs`.
pub struct PairsAnalysis;

impl Analysis for PairsAnalysis {
    const NAME: &'static str = "pairs";
    const PATH: &'static str = "/api/products/pairs";
    const SUMMARY: &'static str =
        "items bought in the same order: support, confidence, lift, leverage and conviction, by lift";
    const TAG: &'static str = "products";
    type Query = PairsQuery;
    type Options = (Filter, PairOptions);
    type Output = Pairs;

    fn options(q: PairsQuery) -> Result<(Filter, PairOptions), AnalysisError> {
        let f = q.filter.filter()?;
        let o = PairOptions {
            level: q.level.level()?,
            min_support: number("min_support", q.min_support.as_deref(), 0.0..=1.0, 0.0)?,
            min_orders: number("min_orders", q.min_orders.as_deref(), 1..=1_000_000_000, 3)?,
            top: f.top(),
        };
        Ok((f, o))
    }

    async fn run(ctx: &Ctx<'_>, (f, o): &(Filter, PairOptions)) -> Result<Pairs, AnalysisError> {
        Ok(products::pairs(ctx.warehouse, f, o).await?)
    }
}

/// The parameters of `/api/products/journey`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct JourneyQuery {
    /// The filter: the range chooses customers by their first purchase day.
    #[serde(flatten)]
    #[schema(inline)]
    pub filter: FilterQuery,
    /// The level.
    #[serde(flatten)]
    #[schema(inline)]
    pub level: LevelQuery,
}

/// `GET /api/products/journey`.
pub struct JourneyAnalysis;

impl Analysis for JourneyAnalysis {
    const NAME: &'static str = "journey";
    const PATH: &'static str = "/api/products/journey";
    const SUMMARY: &'static str =
        "customers by the items of their first purchase: what they buy next, repeat rate, a year's net sales";
    const TAG: &'static str = "products";
    type Query = JourneyQuery;
    type Options = (Filter, Level);
    type Output = Journey;

    fn options(q: JourneyQuery) -> Result<(Filter, Level), AnalysisError> {
        Ok((q.filter.filter()?, q.level.level()?))
    }

    async fn run(ctx: &Ctx<'_>, (f, level): &(Filter, Level)) -> Result<Journey, AnalysisError> {
        Ok(products::journey(ctx.warehouse, f, *level, f.top()).await?)
    }
}

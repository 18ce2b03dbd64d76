//! Revenue by country (`countries.sql`): what the dashboard's world map draws.

use super::query::FilterQuery;
use super::{Analysis, AnalysisError, Ctx};
use crate::metrics::{self, Cents};
use crate::model::Filter;
use serde::Serialize;
use utoipa::ToSchema;

/// One country's revenue.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct CountryRow {
    /// The customers' country, as the export writes it (an ISO 3166 code in the canonical format);
    /// null for customers without one.
    pub country: Option<String>,
    /// Revenue of the filter's lines of customers in it.
    pub revenue: Cents,
    /// Orders those lines belong to.
    pub orders: i64,
    /// Customers those lines belong to.
    pub customers: i64,
}

/// Revenue by country, by revenue descending.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Countries {
    /// Every country with revenue in the selection.
    pub countries: Vec<CountryRow>,
}

/// `GET /api/countries`.
pub struct CountriesAnalysis;

impl Analysis for CountriesAnalysis {
    const NAME: &'static str = "countries";
    const PATH: &'static str = "/api/countries";
    const SUMMARY: &'static str = "revenue, orders and customers by customer country (the world map)";
    const TAG: &'static str = "KPIs";
    type Query = FilterQuery;
    type Options = Filter;
    type Output = Countries;

    fn options(q: FilterQuery) -> Result<Filter, AnalysisError> {
        q.filter()
    }

    async fn run(ctx: &Ctx<'_>, f: &Filter) -> Result<Countries, AnalysisError> {
        const SQL: &str = include_str!("sql/countries.sql");
        let filtered = metrics::orders_session(ctx.warehouse, f).await?;
        let batches = metrics::run(&filtered.ctx, "countries", SQL, vec![]).await?;
        let countries = metrics::rows(&batches)
            .map(|(c, r)| CountryRow {
                country: c.text("country", r).filter(|c| !c.is_empty()),
                revenue: c.cents("revenue", r),
                orders: c.int("orders", r),
                customers: c.int("customers", r),
            })
            .collect();
        Ok(Countries { countries })
    }
}

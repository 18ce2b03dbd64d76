//! The insight analyses (docs/insights.md): why revenue moved, where the month will end, and the
//! segments that left their forecast's interval.

use super::kpis::VersusQuery;
use super::query::{AsOfQuery, NoQuery};
use super::{Analysis, AnalysisError, Ctx};
use crate::insights;
use crate::metrics::compare::Versus;
use crate::model::Filter;
use chrono::NaiveDate;

/// `GET /api/explain`.
pub struct Explain;

impl Analysis for Explain {
    const MAY_HAVE_NO_ANSWER: bool = true;
    const NAME: &'static str = "explain";
    const PATH: &'static str = "/api/explain";
    const SUMMARY: &'static str = "why revenue moved: the change against a comparison range split exactly into drivers";
    const DESCRIPTION: &'static str = "Drivers: orders × average order, customers, categories, price and volume, \
        countries, payment methods, and gross to net (docs/insights.md).";
    const TAG: &'static str = "insights";
    type Query = VersusQuery;
    type Options = (Filter, Versus);
    type Output = insights::Explanation;

    fn options(q: VersusQuery) -> Result<(Filter, Versus), AnalysisError> {
        q.options()
    }

    async fn run(ctx: &Ctx<'_>, (f, vs): &(Filter, Versus)) -> Result<insights::Explanation, AnalysisError> {
        insights::explain(ctx.warehouse, f, *vs).await?.ok_or_else(AnalysisError::no_orders)
    }
}

/// `GET /api/projection`.
pub struct Projection;

impl Analysis for Projection {
    const MAY_HAVE_NO_ANSWER: bool = true;
    const NAME: &'static str = "projection";
    const PATH: &'static str = "/api/projection";
    const SUMMARY: &'static str = "where the month of as_of (default: the latest order day) will end, with an 80 % \
        interval and a backtest against the naive projection";
    const TAG: &'static str = "insights";
    type Query = AsOfQuery;
    type Options = (Filter, Option<NaiveDate>);
    type Output = insights::Projection;

    fn options(q: AsOfQuery) -> Result<(Filter, Option<NaiveDate>), AnalysisError> {
        q.options()
    }

    async fn run(
        ctx: &Ctx<'_>,
        (f, as_of): &(Filter, Option<NaiveDate>),
    ) -> Result<insights::Projection, AnalysisError> {
        insights::projection(ctx.warehouse, f, *as_of).await?.ok_or_else(AnalysisError::no_orders)
    }
}

/// `GET /api/alerts`.
pub struct Alerts;

impl Analysis for Alerts {
    const NAME: &'static str = "alerts";
    const PATH: &'static str = "/api/alerts";
    const SUMMARY: &'static str = "the shop, categories, countries and payment methods whose last complete month fell \
        outside the 95 % interval of its own forecast";
    const TAG: &'static str = "insights";
    type Query = NoQuery;
    type Options = ();
    type Output = insights::Alerts;

    fn options(_: NoQuery) -> Result<(), AnalysisError> {
        Ok(())
    }

    async fn run(ctx: &Ctx<'_>, _: &()) -> Result<insights::Alerts, AnalysisError> {
        Ok(insights::alerts(ctx.warehouse).await?)
    }
}

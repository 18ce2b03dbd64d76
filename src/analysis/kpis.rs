//! The KPI analyses (kpis.md): every KPI, one section of them, a range against its comparison,
//! the filters' choices, and the revenue forecast.

use super::query::{FilterQuery, NoQuery, versus};
use super::{Analysis, AnalysisError, Ctx};
use crate::metrics::compare::{Comparison, Versus};
use crate::metrics::{self, CategoryRow, CustomerRow, MethodRow, MonthRow, OrderFrequency, ProductRow, Summary};
use crate::model::Filter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /api/kpis`.
pub struct Kpis;

impl Analysis for Kpis {
    const NAME: &'static str = "kpis";
    const PATH: &'static str = "/api/kpis";
    const SUMMARY: &'static str = "every KPI of kpis.md";
    const TAG: &'static str = "KPIs";
    type Query = FilterQuery;
    type Options = Filter;
    type Output = metrics::Kpis;

    fn options(q: FilterQuery) -> Result<Filter, AnalysisError> {
        q.filter()
    }

    async fn run(ctx: &Ctx<'_>, f: &Filter) -> Result<metrics::Kpis, AnalysisError> {
        Ok(metrics::compute(ctx.warehouse, f).await?)
    }
}

/// The parameters of `/api/kpis/compare` and `/api/explain`: a filter and the comparison.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct VersusQuery {
    /// The filter.
    #[serde(flatten)]
    #[schema(inline)]
    pub filter: FilterQuery,
    /// What the range is compared with: previous_period (default), previous_year, or FROM:TO (two
    /// YYYY-MM-DD days).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(default = "previous_period", example = "previous_year")]
    pub vs: Option<String>,
}

impl VersusQuery {
    /// The validated filter and comparison.
    ///
    /// # Errors
    /// A value that is not acceptable, named.
    pub fn options(&self) -> Result<(Filter, Versus), AnalysisError> {
        let vs = versus(self.vs.as_deref())?;
        Ok((self.filter.filter()?, vs))
    }

    /// The parameters that give `f` and `vs` (named even when it is the default, as the page
    /// names it).
    pub fn of(f: &Filter, vs: Versus) -> VersusQuery {
        VersusQuery { filter: FilterQuery::of(f), vs: Some(vs.to_string()) }
    }
}

/// `GET /api/kpis/compare`.
pub struct Compare;

impl Analysis for Compare {
    const MAY_HAVE_NO_ANSWER: bool = true;
    const NAME: &'static str = "compare";
    const PATH: &'static str = "/api/kpis/compare";
    const SUMMARY: &'static str =
        "the summary of a range against the previous period or year, with each figure's change";
    const TAG: &'static str = "KPIs";
    type Query = VersusQuery;
    type Options = (Filter, Versus);
    type Output = Comparison;

    fn options(q: VersusQuery) -> Result<(Filter, Versus), AnalysisError> {
        q.options()
    }

    async fn run(ctx: &Ctx<'_>, (f, vs): &(Filter, Versus)) -> Result<Comparison, AnalysisError> {
        metrics::compare::period_comparison(ctx.warehouse, f, *vs).await?.ok_or_else(AnalysisError::no_orders)
    }
}

/// A section of the KPI object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SectionName {
    /// `summary`.
    Summary,
    /// `monthly`.
    Monthly,
    /// `categories`.
    Categories,
    /// `top_products`.
    TopProducts,
    /// `order_frequency`.
    OrderFrequency,
    /// `top_customers`.
    TopCustomers,
    /// `payment_methods`.
    PaymentMethods,
}

impl SectionName {
    const ALL: [&'static str; 7] =
        ["summary", "monthly", "categories", "top-products", "order-frequency", "top-customers", "payment-methods"];
}

/// The parameters of `/api/kpis/{section}`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct SectionQuery {
    /// Which section.
    #[schema(value_type = SectionName)]
    pub section: String,
    /// The filter.
    #[serde(flatten)]
    #[schema(inline)]
    pub filter: FilterQuery,
}

/// One section of the KPIs, as in the whole object.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum SectionAnswer {
    /// `summary`.
    Summary(Summary),
    /// `monthly`.
    Monthly(Vec<MonthRow>),
    /// `categories`.
    Categories(Vec<CategoryRow>),
    /// `top-products`.
    TopProducts(Vec<ProductRow>),
    /// `order-frequency`.
    OrderFrequency(OrderFrequency),
    /// `top-customers`.
    TopCustomers(Vec<CustomerRow>),
    /// `payment-methods`.
    PaymentMethods(Vec<MethodRow>),
}

// Its schema by hand: derived, an untagged enum is `oneOf`, which an empty list (valid as any
// of the sections that are lists) would fail.
impl utoipa::PartialSchema for SectionAnswer {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, Ref};
        let list = |name: &str| ArrayBuilder::new().items(Ref::from_schema_name(name)).build();
        AnyOfBuilder::new()
            .item(Ref::from_schema_name("Summary"))
            .item(list("MonthRow"))
            .item(list("CategoryRow"))
            .item(list("ProductRow"))
            .item(Ref::from_schema_name("OrderFrequency"))
            .item(list("CustomerRow"))
            .item(list("MethodRow"))
            .description(Some("One section of the KPIs, as in the whole object (kpis.md)."))
            .into()
    }
}

impl ToSchema for SectionAnswer {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        fn add<T: ToSchema>(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
            schemas.push((T::name().into(), T::schema()));
            T::schemas(schemas);
        }
        add::<Summary>(schemas);
        add::<MonthRow>(schemas);
        add::<CategoryRow>(schemas);
        add::<ProductRow>(schemas);
        add::<OrderFrequency>(schemas);
        add::<CustomerRow>(schemas);
        add::<MethodRow>(schemas);
    }
}

/// `GET /api/kpis/{section}`.
pub struct Section;

impl Analysis for Section {
    const NAME: &'static str = "section";
    const PATH: &'static str = "/api/kpis/{section}";
    const SUMMARY: &'static str = "one section of the KPIs";
    const TAG: &'static str = "KPIs";
    type Query = SectionQuery;
    type Options = (SectionName, Filter);
    type Output = SectionAnswer;

    fn options(q: SectionQuery) -> Result<(SectionName, Filter), AnalysisError> {
        let name = serde_json::from_value(serde_json::Value::String(q.section.clone())).map_err(|_| {
            AnalysisError::NotFound(format!("no KPI section '{}' (one of {})", q.section, SectionName::ALL.join(", ")))
        })?;
        Ok((name, q.filter.filter()?))
    }

    async fn run(ctx: &Ctx<'_>, (name, f): &(SectionName, Filter)) -> Result<SectionAnswer, AnalysisError> {
        let k = ctx.run::<Kpis>(f).await?;
        Ok(Self::section(&k, *name))
    }

    /// Cut from the whole object, which the dashboard has usually asked for already.
    fn cut(ctx: &Ctx<'_>, (name, f): &(SectionName, Filter)) -> Option<SectionAnswer> {
        ctx.kept::<Kpis>(f).map(|k| Self::section(&k, *name))
    }

    fn to_json(output: &SectionAnswer) -> Result<Vec<u8>, AnalysisError> {
        sorted_json(output)
    }
}

impl Section {
    fn section(k: &metrics::Kpis, name: SectionName) -> SectionAnswer {
        match name {
            SectionName::Summary => SectionAnswer::Summary(k.summary.clone()),
            SectionName::Monthly => SectionAnswer::Monthly(k.monthly.clone()),
            SectionName::Categories => SectionAnswer::Categories(k.categories.clone()),
            SectionName::TopProducts => SectionAnswer::TopProducts(k.top_products.clone()),
            SectionName::OrderFrequency => SectionAnswer::OrderFrequency(k.order_frequency.clone()),
            SectionName::TopCustomers => SectionAnswer::TopCustomers(k.top_customers.clone()),
            SectionName::PaymentMethods => SectionAnswer::PaymentMethods(k.payment_methods.clone()),
        }
    }
}

/// JSON with every object's keys in alphabetical order: the shape some answers have always had
/// (they were once cut from a parsed JSON value), kept so that clients see the same bytes.
pub(super) fn sorted_json(v: &impl Serialize) -> Result<Vec<u8>, AnalysisError> {
    let internal = |e: serde_json::Error| AnalysisError::Internal(e.to_string());
    serde_json::to_vec(&serde_json::to_value(v).map_err(internal)?).map_err(internal)
}

/// `GET /api/dimensions`.
pub struct Dimensions;

impl Analysis for Dimensions {
    const NAME: &'static str = "dimensions";
    const PATH: &'static str = "/api/dimensions";
    const SUMMARY: &'static str =
        "categories, countries, payment methods, the span of order days and the range a first screen opens on";
    const TAG: &'static str = "KPIs";
    type Query = NoQuery;
    type Options = ();
    type Output = metrics::Dimensions;

    fn options(_: NoQuery) -> Result<(), AnalysisError> {
        Ok(())
    }

    async fn run(ctx: &Ctx<'_>, _: &()) -> Result<metrics::Dimensions, AnalysisError> {
        Ok(metrics::dimensions(ctx.warehouse).await?)
    }
}

/// The parameters of `/api/forecast`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct ForecastQuery {
    /// The filter.
    #[serde(flatten)]
    #[schema(inline)]
    pub filter: FilterQuery,
    /// How many months to forecast.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 24, default = 1)]
    pub horizon: Option<String>,
}

/// `GET /api/forecast`.
pub struct Forecast;

impl Analysis for Forecast {
    const MAY_HAVE_NO_ANSWER: bool = true;
    const NAME: &'static str = "forecast";
    const PATH: &'static str = "/api/forecast";
    const SUMMARY: &'static str = "next month's revenue with 80 % and 95 % intervals and the backtest of each model";
    const TAG: &'static str = "KPIs";
    type Query = ForecastQuery;
    type Options = (usize, Filter);
    type Output = crate::forecast::Forecast;

    fn options(q: ForecastQuery) -> Result<(usize, Filter), AnalysisError> {
        let horizon = match q.horizon.as_deref() {
            None => 1,
            Some(h) => h.parse::<usize>().ok().filter(|h| (1..=24).contains(h)).ok_or_else(|| {
                super::error::bad_parameter("horizon", format!("'{h}' is not a whole number from 1 to 24"))
            })?,
        };
        Ok((horizon, q.filter.filter()?))
    }

    async fn run(ctx: &Ctx<'_>, (horizon, f): &(usize, Filter)) -> Result<crate::forecast::Forecast, AnalysisError> {
        let (monthly, last) = metrics::monthly(ctx.warehouse, f).await?;
        let too_short = || AnalysisError::NoAnswer(crate::forecast::ForecastError::TooShort(0).to_string());
        let series = crate::forecast::revenue_series(&monthly, last).ok_or_else(too_short)?;
        let horizon = *horizon;
        // model fitting is CPU work: on the blocking pool, so the runtime keeps answering
        tokio::task::spawn_blocking(move || crate::forecast::forecast(&series, horizon))
            .await
            .map_err(|e| AnalysisError::Internal(e.to_string()))?
            .map_err(|e| AnalysisError::NoAnswer(e.to_string()))
    }
}

//! Metrics: the dashboard KPIs of `shared/spec/kpis.md`, each defined once in a `.sql` file of
//! `sql/` and run by DataFusion on a warehouse. Filters travel as query parameters, never as SQL
//! text. Exact sums come back as decimals and are rounded once, here, into the result types.

pub mod compare;
pub mod results;

use crate::model::Filter;
use crate::warehouse::Warehouse;
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
pub use results::*;
use std::sync::Arc;

/// The KPI queries, embedded from `src/metrics/sql/`.
pub mod sql {
    /// The revenue lines a filter keeps; the table every KPI reads.
    pub const REVENUE_LINES: &str = include_str!("sql/revenue_lines.sql");
    /// Total revenue, orders, average order value, customers.
    pub const SUMMARY: &str = include_str!("sql/summary.sql");
    /// The monthly trend.
    pub const MONTHLY: &str = include_str!("sql/monthly.sql");
    /// Revenue by category.
    pub const CATEGORIES: &str = include_str!("sql/categories.sql");
    /// Top products.
    pub const TOP_PRODUCTS: &str = include_str!("sql/top_products.sql");
    /// Order frequency buckets.
    pub const ORDER_FREQUENCY: &str = include_str!("sql/order_frequency.sql");
    /// Top customers.
    pub const TOP_CUSTOMERS: &str = include_str!("sql/top_customers.sql");
    /// Payment methods.
    pub const PAYMENT_METHODS: &str = include_str!("sql/payment_methods.sql");
    /// The filters' values and the span of order days.
    pub const DIMENSIONS: &str = include_str!("sql/dimensions.sql");
    /// The day of the latest order.
    pub const LAST_ORDER_DATE: &str = include_str!("sql/last_order_date.sql");
}

/// A KPI query failed.
#[derive(Debug, thiserror::Error)]
#[error("KPI query {query}: {source}")]
pub struct MetricsError {
    /// Which query.
    pub query: &'static str,
    /// The engine's error.
    pub source: DataFusionError,
}

fn date_param(d: Option<NaiveDate>) -> ScalarValue {
    ScalarValue::Date32(d.map(crate::import::tables::date32))
}

fn text_param(s: Option<&str>) -> ScalarValue {
    ScalarValue::Utf8(s.map(str::to_string))
}

async fn run(
    ctx: &SessionContext,
    query: &'static str,
    text: &str,
    params: Vec<ScalarValue>,
) -> Result<Vec<RecordBatch>, MetricsError> {
    let wrap = |source| MetricsError { query, source };
    let mut df = ctx.sql(text).await.map_err(wrap)?;
    if !params.is_empty() {
        df = df.with_param_values(params).map_err(wrap)?;
    }
    df.collect().await.map_err(wrap)
}

/// A session holding the filter's revenue lines as the table `revenue_lines`.
async fn filtered_session(wh: &Warehouse, filter: &Filter) -> Result<SessionContext, MetricsError> {
    let ctx = wh.session().await.map_err(|source| MetricsError { query: "session", source })?;
    // open ends are the widest dates Date32 holds comfortably
    let from = filter.from().unwrap_or(NaiveDate::from_ymd_opt(1, 1, 1).expect("valid"));
    let to = filter.to().unwrap_or(NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid"));
    let params = vec![
        ScalarValue::Int32(Some(crate::import::tables::date_key(from))),
        ScalarValue::Int32(Some(crate::import::tables::date_key(to))),
        text_param(filter.category()),
        text_param(filter.country()),
        text_param(filter.method()),
    ];
    let wrap = |source| MetricsError { query: "revenue_lines", source };
    let df = ctx.sql(sql::REVENUE_LINES).await.map_err(wrap)?.with_param_values(params).map_err(wrap)?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await.map_err(wrap)?;
    // spread the batches over partitions so the KPI queries use every core
    let parts = ctx.state().config().target_partitions().max(1);
    let mut partitions = vec![Vec::new(); parts];
    for (i, b) in batches.into_iter().enumerate() {
        partitions[i % parts].push(b);
    }
    let table = MemTable::try_new(schema, partitions).map_err(wrap)?;
    ctx.register_table("revenue_lines", Arc::new(table)).map_err(wrap)?;
    Ok(ctx)
}

fn month_span(filter: &Filter) -> Vec<ScalarValue> {
    vec![
        date_param(filter.from().map(|d| crate::model::Month::of(d).first_day())),
        date_param(filter.to().map(|d| crate::model::Month::of(d).first_day())),
    ]
}

/// The monthly trend alone (for forecasts), and the day of the warehouse's latest order.
///
/// # Errors
/// A query fails.
pub async fn monthly(wh: &Warehouse, filter: &Filter) -> Result<(Vec<MonthRow>, Option<NaiveDate>), MetricsError> {
    let ctx = filtered_session(wh, filter).await?;
    let (rows, last) = futures::try_join!(
        run(&ctx, "monthly", sql::MONTHLY, month_span(filter)),
        run(&ctx, "last_order_date", sql::LAST_ORDER_DATE, vec![]),
    )?;
    let last = last.first().filter(|b| b.num_rows() > 0 && b.column(0).is_valid(0)).map(|b| {
        let days = b.column(0).as_primitive::<datafusion::arrow::datatypes::Date32Type>().value(0);
        NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch") + chrono::Duration::days(days as i64)
    });
    Ok((MonthRow::from_batches(&rows), last))
}

/// Computes every KPI of kpis.md for `filter`.
///
/// # Errors
/// A query fails (a damaged warehouse or an engine error).
pub async fn compute(wh: &Warehouse, filter: &Filter) -> Result<Kpis, MetricsError> {
    let ctx = filtered_session(wh, filter).await?;
    let top = || vec![ScalarValue::Int64(Some(filter.top() as i64))];
    let span = month_span(filter);
    let (summary, monthly, categories, products, frequency, customers, payments) = futures::try_join!(
        run(&ctx, "summary", sql::SUMMARY, vec![]),
        run(&ctx, "monthly", sql::MONTHLY, span),
        run(&ctx, "categories", sql::CATEGORIES, vec![]),
        run(&ctx, "top_products", sql::TOP_PRODUCTS, top()),
        run(&ctx, "order_frequency", sql::ORDER_FREQUENCY, vec![]),
        run(&ctx, "top_customers", sql::TOP_CUSTOMERS, top()),
        run(&ctx, "payment_methods", sql::PAYMENT_METHODS, vec![]),
    )?;
    Ok(Kpis {
        summary: Summary::from_batches(&summary),
        monthly: MonthRow::from_batches(&monthly),
        categories: CategoryRow::from_batches(&categories),
        top_products: ProductRow::from_batches(&products),
        order_frequency: OrderFrequency::from_batches(&frequency),
        top_customers: CustomerRow::from_batches(&customers),
        payment_methods: MethodRow::from_batches(&payments),
    })
}

/// What a dashboard's filters can choose from.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Dimensions {
    /// Product categories.
    pub categories: Vec<String>,
    /// Customer countries.
    pub countries: Vec<String>,
    /// Payment methods.
    pub methods: Vec<String>,
    /// The first order day.
    pub first_date: Option<NaiveDate>,
    /// The last order day.
    pub last_date: Option<NaiveDate>,
}

/// The dimensions' values for the filters.
///
/// # Errors
/// The query fails.
pub async fn dimensions(wh: &Warehouse) -> Result<Dimensions, MetricsError> {
    let ctx = wh.session().await.map_err(|source| MetricsError { query: "session", source })?;
    let batches = run(&ctx, "dimensions", sql::DIMENSIONS, vec![]).await?;
    let mut d = Dimensions::default();
    for b in &batches {
        let text = |i: usize| {
            datafusion::arrow::compute::cast(b.column(i), &datafusion::arrow::datatypes::DataType::Utf8)
                .map_err(|e| MetricsError { query: "dimensions", source: e.into() })
        };
        let (kind, value) = (text(0)?, text(1)?);
        let (kind, value) = (kind.as_string::<i32>(), value.as_string::<i32>());
        for r in 0..b.num_rows() {
            if value.is_null(r) {
                continue;
            }
            let v = value.value(r).to_string();
            match kind.value(r) {
                "category" => d.categories.push(v),
                "country" => d.countries.push(v),
                "method" => d.methods.push(v),
                "first_date" => d.first_date = v.parse().ok(),
                _ => d.last_date = v.parse().ok(),
            }
        }
    }
    Ok(d)
}

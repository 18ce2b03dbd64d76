//! Metrics: the dashboard KPIs of `shared/spec/kpis.md`, each defined once in a `.sql` file of
//! `sql/` and run by DataFusion on a warehouse. Filters travel as query parameters, never as SQL
//! text. Exact sums come back as decimals and are rounded once, here, into the result types.

pub mod compare;
mod range;
pub mod results;
pub mod values;

use crate::model::Filter;
use crate::model::filter::Segment;
use crate::warehouse::Warehouse;
pub(crate) use crate::warehouse::keys::date_param;
use crate::warehouse::keys::key_param;
pub use crate::warehouse::query::MetricsError;
pub(crate) use crate::warehouse::query::run;
use crate::warehouse::query::text_param;
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::prelude::DataFrame;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
pub use results::*;
use std::sync::Arc;

/// The KPI queries, embedded from `src/metrics/sql/`.
pub mod sql {
    use crate::warehouse::sql_text::{Part, REVENUE_STATUSES_PART, sql_text};

    /// The parts the filter's queries share (`warehouse::sql_text`): the revenue statuses, the
    /// filtered lines of every status (`filtered_lines.sql`), the part of the filter an order
    /// shares with its lines (`order_filter.sql`), and an order a filter without a category keeps
    /// (`kept_order.sql`).
    pub(crate) const PARTS: &[Part] = &[
        REVENUE_STATUSES_PART,
        ("{filtered_lines}", include_str!("sql/filtered_lines.sql")),
        ("{order_filter}", include_str!("sql/order_filter.sql")),
        ("{kept_order}", include_str!("sql/kept_order.sql")),
    ];
    /// The revenue lines a filter keeps; the table the line-level KPIs read.
    pub const REVENUE_LINES: &str = sql_text!(include_str!("sql/revenue_lines.sql"), PARTS);
    /// The revenue lines summed per order; the table the order-level KPIs read.
    pub const REVENUE_ORDERS: &str = sql_text!(include_str!("sql/revenue_orders.sql"), PARTS);
    /// The returns a filter keeps, on their own days; the table every net figure reads.
    pub const REVENUE_RETURNS: &str = sql_text!(include_str!("sql/revenue_returns.sql"), PARTS);
    /// The revenue orders summed per customer; the table the customer-level KPIs read.
    pub const REVENUE_CUSTOMERS: &str = include_str!("sql/revenue_customers.sql");
    /// Total revenue, orders, average order value, customers.
    pub const SUMMARY: &str = include_str!("sql/summary.sql");
    /// The books: gross sales to total sales.
    pub const BOOKS: &str = include_str!("sql/books.sql");
    /// Net sales by channel.
    pub const CHANNELS: &str = include_str!("sql/channels.sql");
    /// Sales by discount code.
    pub const DISCOUNT_CODES: &str = include_str!("sql/discount_codes.sql");
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
    /// Payment methods (parameters as in `filtered_lines.sql`).
    pub const PAYMENT_METHODS: &str = sql_text!(include_str!("sql/payment_methods.sql"), PARTS);
    /// The filters' values and the span of order days.
    pub(crate) const DIMENSIONS: &str = include_str!("sql/dimensions.sql");
    /// The day of the latest order.
    pub(crate) const LAST_ORDER_DATE: &str = include_str!("sql/last_order_date.sql");
}

/// A KPI query rewritten for PostgreSQL, for a warehouse exported there (`shoplens export`):
/// the two places where DataFusion's SQL differs. `DOUBLE` is `DOUBLE PRECISION`, and
/// `generate_series` is a set-returning function rather than an array to `unnest`. Parameters
/// stay `$1`, `$2`…, which PostgreSQL binds the same way. `tests/postgres.rs` runs every KPI file
/// so rewritten on an exported warehouse and checks the numbers against `kpi`.
pub fn postgres_sql(text: &str) -> String {
    let mut out = text.replace(" AS DOUBLE)", " AS DOUBLE PRECISION)");
    while let Some(at) = out.find("unnest(generate_series(") {
        // drop `unnest(` and its closing parenthesis; the series' days become dates
        let inner = at + "unnest(".len();
        let mut depth = 0;
        let mut end = None;
        for (i, ch) in out[inner..].char_indices() {
            match ch {
                '(' => depth += 1,
                ')' if depth == 1 => {
                    end = Some(inner + i);
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let series = out[inner..=end].to_string();
        out.replace_range(at..=end + 1, &format!("CAST({series} AS DATE)"));
    }
    out
}

/// A request's session: the filter's revenue orders and lines as the tables `revenue_orders`
/// and `revenue_lines`, and the memory reserved for those it holds.
pub(crate) struct Filtered {
    pub(crate) ctx: SessionContext,
    _held: Vec<MemoryReservation>,
}

/// A session with the filter's revenue lines, orders and customers (`revenue_customers`, the
/// orders summed per customer).
///
/// Each is materialized in memory when it fits in half of the session's memory (revenue orders
/// first: five queries and the customers read them), its bytes reserved in the session's pool so the
/// queries see them; otherwise it stays a view, which every query re-runs as a streaming plan
/// over the Parquet facts (slower, but bounded in memory at any shop size). On a Ballista cluster
/// all stay views.
pub(crate) async fn filtered_session(wh: &Warehouse, filter: &Filter) -> Result<Filtered, MetricsError> {
    session_of(wh, filter, &["revenue_returns", "revenue_orders", "revenue_lines", "revenue_customers"]).await
}

/// Like [`filtered_session`], materializing only `revenue_returns` (the lines and orders stay
/// views, streamed from the facts): for analyses that read the lines once or twice, such as the
/// products analyses, and keep the session's memory for their own joins.
pub(crate) async fn lines_session(wh: &Warehouse, filter: &Filter) -> Result<Filtered, MetricsError> {
    session_of(wh, filter, &["revenue_returns"]).await
}

/// Like [`filtered_session`], materializing only `revenue_orders` (the others stay views): for
/// analyses that read orders only, such as the customer analyses.
pub(crate) async fn orders_session(wh: &Warehouse, filter: &Filter) -> Result<Filtered, MetricsError> {
    session_of(wh, filter, &["revenue_returns", "revenue_orders"]).await
}

/// The parameters of `revenue_lines.sql` (and the queries that share its filter) for `filter`.
pub(crate) fn filter_params(filter: &Filter) -> Vec<ScalarValue> {
    // open ends are the widest dates Date32 holds comfortably
    let from = filter.from().unwrap_or(NaiveDate::from_ymd_opt(1, 1, 1).expect("valid"));
    let to = filter.to().unwrap_or(NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid"));
    vec![
        key_param(from),
        key_param(to),
        text_param(filter.category()),
        text_param(filter.country()),
        text_param(filter.method()),
        text_param(filter.channel()),
        text_param(filter.product()),
    ]
}

/// The parameter of the books' queries: whether a filter of lines is set, a category or a
/// product (shipping, taxes and duties, which belong to no line, are then none).
pub(crate) fn lines_filtered(filter: &Filter) -> ScalarValue {
    ScalarValue::Boolean(Some(filter.category().is_some() || filter.product().is_some()))
}

/// The plans (not run) of the filter's revenue lines and orders in `ctx`; the lines stay
/// registered as the view `revenue_lines`, which the orders' plan reads. The filter's returns
/// are registered as the view `revenue_returns`.
pub(crate) async fn revenue_frames(
    ctx: &SessionContext,
    filter: &Filter,
) -> Result<(DataFrame, DataFrame), MetricsError> {
    values::check(ctx, filter).await?;
    register_returns(ctx, filter).await?;
    let params = filter_params(filter);
    let wrap = |query| move |source| MetricsError { query, source };
    let lines = ctx
        .sql(sql::REVENUE_LINES)
        .await
        .map_err(wrap("revenue_lines"))?
        .with_param_values(params.clone())
        .map_err(wrap("revenue_lines"))?;
    ctx.register_table("revenue_lines", lines.clone().into_view()).map_err(wrap("revenue_lines"))?;
    let orders = ctx
        .sql(sql::REVENUE_ORDERS)
        .await
        .map_err(wrap("revenue_orders"))?
        .with_param_values(params)
        .map_err(wrap("revenue_orders"))?;
    Ok((lines, orders))
}

/// Registers the filter's returns (`revenue_returns.sql`) as the view `revenue_returns`
/// (`session_of` keeps them in memory where it can).
async fn register_returns(ctx: &SessionContext, filter: &Filter) -> Result<(), MetricsError> {
    let wrap = |source| MetricsError { query: "revenue_returns", source };
    let returns =
        ctx.sql(sql::REVENUE_RETURNS).await.map_err(wrap)?.with_param_values(filter_params(filter)).map_err(wrap)?;
    // a session may plan a second filter's tables (a comparison's): the last one's are read
    ctx.deregister_table("revenue_returns").map_err(wrap)?;
    ctx.register_table("revenue_returns", returns.into_view()).map_err(wrap)?;
    Ok(())
}

/// A session with the filter's tables, materializing those of them named in `keep`.
async fn session_of(wh: &Warehouse, filter: &Filter, keep: &[&'static str]) -> Result<Filtered, MetricsError> {
    let ctx = wh.session().await.map_err(|source| MetricsError { query: "session", source })?;
    let wrap = |query| move |source| MetricsError { query, source };
    let (lines, orders) = revenue_frames(&ctx, filter).await?;
    // half: at 10M orders a third left the customers' table (5M rows, 180 MB of a 512 MB pool)
    // a view, which three queries then computed again, each a GROUP BY of 10M orders
    let mut budget = wh.session_memory().bytes() / 2;
    let mut held = Vec::new();
    // the returns first: every net figure reads them, and they are a small part of the lines;
    // the customers before the lines: three queries read them, and they are the smaller
    for name in ["revenue_returns", "revenue_orders", "revenue_customers", "revenue_lines"] {
        let df = match name {
            "revenue_orders" => orders.clone(),
            "revenue_lines" => lines.clone(),
            "revenue_returns" => ctx.table(name).await.map_err(wrap(name))?,
            // planned over the revenue orders as registered just before: materialized if they are
            _ => ctx.sql(sql::REVENUE_CUSTOMERS).await.map_err(wrap(name))?,
        };
        // a cluster's executors cannot read this process's memory: there the views stay views
        let materialized = match wh.engine().is_local() && keep.contains(&name) {
            true => materialize(&ctx, name, df.clone(), budget).await.map_err(wrap(name))?,
            false => None,
        };
        let table = match materialized {
            Some((table, reservation)) => {
                budget -= reservation.size();
                held.push(reservation);
                table
            }
            None => df.into_view(),
        };
        ctx.deregister_table(name).map_err(wrap(name))?;
        ctx.register_table(name, table).map_err(wrap(name))?;
    }
    Ok(Filtered { ctx, _held: held })
}

/// Runs `df` into memory, reserving what it holds in the session's pool, unless it grows past
/// `budget` bytes or the pool refuses: then `None`, and what was read is dropped.
async fn materialize(
    ctx: &SessionContext,
    name: &str,
    df: DataFrame,
    budget: usize,
) -> Result<Option<(Arc<dyn TableProvider>, MemoryReservation)>, DataFusionError> {
    let reservation = MemoryConsumer::new(format!("materialized {name}")).register(&ctx.runtime_env().memory_pool);
    let mut stream = df.execute_stream().await?;
    let schema = stream.schema();
    // spread the batches over partitions so the KPI queries use every core
    let parts = ctx.state().config().target_partitions().max(1);
    let mut partitions = vec![Vec::new(); parts];
    let mut i = 0;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let size = batch.get_array_memory_size();
        if reservation.size() + size > budget || reservation.try_grow(size).is_err() {
            return Ok(None);
        }
        partitions[i % parts].push(batch);
        i += 1;
    }
    Ok(Some((Arc::new(MemTable::try_new(schema, partitions)?), reservation)))
}

fn month_span(filter: &Filter) -> Vec<ScalarValue> {
    vec![
        date_param(filter.from().map(|d| crate::model::Month::of(d).first_day())),
        date_param(filter.to().map(|d| crate::model::Month::of(d).first_day())),
        lines_filtered(filter),
    ]
}

/// The monthly trend alone (for forecasts), and the day of the warehouse's latest order.
///
/// # Errors
/// A query fails.
pub async fn monthly(wh: &Warehouse, filter: &Filter) -> Result<(Vec<MonthRow>, Option<NaiveDate>), MetricsError> {
    let Filtered { ctx, .. } = &orders_session(wh, filter).await?;
    let rows = run(ctx, "monthly", sql::MONTHLY, month_span(filter)).await?;
    let last = last_order_date(ctx).await?;
    let mut monthly = MonthRow::from_batches(&rows);
    MonthRow::mark_in_progress(&mut monthly, last);
    Ok((monthly, last))
}

/// The day of the warehouse's latest order of any status (`last_order_date.sql`), if any.
///
/// # Errors
/// The query fails.
pub(crate) async fn last_order_date(ctx: &SessionContext) -> Result<Option<NaiveDate>, MetricsError> {
    let last = run(ctx, "last_order_date", sql::LAST_ORDER_DATE, vec![]).await?;
    Ok(last
        .first()
        .filter(|b| b.num_rows() > 0 && b.column(0).is_valid(0))
        .map(|b| crate::warehouse::keys::date_at(b.column(0), 0)))
}

/// Computes every KPI of kpis.md for `filter`.
///
/// # Errors
/// A query fails (a damaged warehouse or an engine error).
pub async fn compute(wh: &Warehouse, filter: &Filter) -> Result<Kpis, MetricsError> {
    let Filtered { ctx, .. } = &filtered_session(wh, filter).await?;
    let top = || vec![ScalarValue::Int64(Some(filter.top() as i64))];
    let span = month_span(filter);
    // one query at a time: each uses every core through its partitions, and its operators get
    // the session's whole pool instead of a seventh of it
    let summary = run(ctx, "summary", sql::SUMMARY, vec![]).await?;
    let books = run(ctx, "books", sql::BOOKS, vec![lines_filtered(filter)]).await?;
    let channels = run(ctx, "channels", sql::CHANNELS, vec![]).await?;
    let codes = run(ctx, "discount_codes", sql::DISCOUNT_CODES, vec![]).await?;
    let monthly = run(ctx, "monthly", sql::MONTHLY, span).await?;
    let product_set = ScalarValue::Boolean(Some(filter.product().is_some()));
    let categories = run(ctx, "categories", sql::CATEGORIES, vec![product_set]).await?;
    let products = run(ctx, "top_products", sql::TOP_PRODUCTS, top()).await?;
    let frequency = run(ctx, "order_frequency", sql::ORDER_FREQUENCY, vec![]).await?;
    let customers = run(ctx, "top_customers", sql::TOP_CUSTOMERS, top()).await?;
    let payments = run(ctx, "payment_methods", sql::PAYMENT_METHODS, filter_params(filter)).await?;
    let mut monthly = MonthRow::from_batches(&monthly);
    MonthRow::mark_in_progress(&mut monthly, last_order_date(ctx).await?);
    Ok(Kpis {
        summary: Summary::from_batches(&summary),
        books: Books::from_batches(&books),
        channels: ChannelRow::from_batches(&channels),
        discount_codes: CodeRow::from_batches(&codes),
        monthly,
        categories: CategoryRow::from_batches(&categories),
        top_products: ProductRow::from_batches(&products),
        order_frequency: OrderFrequency::from_batches(&frequency),
        top_customers: CustomerRow::from_batches(&customers),
        payment_methods: MethodRow::from_batches(&payments),
        assumptions: wh.version.manifest.assumptions.clone(),
    })
}

/// What a dashboard's filters can choose from.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Dimensions {
    /// Product categories.
    pub categories: Vec<String>,
    /// Customer countries.
    pub countries: Vec<String>,
    /// Payment methods.
    pub methods: Vec<String>,
    /// Sales channels.
    pub channels: Vec<String>,
    /// The first order day.
    pub first_date: Option<NaiveDate>,
    /// The last order day.
    pub(crate) last_date: Option<NaiveDate>,
    /// The range a first screen opens on, with a comparison that has data (none when the data
    /// has no complete month with one before it).
    pub default_range: Option<range::DefaultRange>,
}

impl Dimensions {
    /// The values segment `s` may take that a filter menu lists (none for products, which are
    /// too many to list and are chosen from the products view).
    pub fn values(&self, s: Segment) -> &[String] {
        match s {
            Segment::Category => &self.categories,
            Segment::Country => &self.countries,
            Segment::Method => &self.methods,
            Segment::Channel => &self.channels,
            Segment::Product => &[],
        }
    }
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
            match (kind.value(r), Segment::of_param(kind.value(r))) {
                (_, Some(Segment::Category)) => d.categories.push(v),
                (_, Some(Segment::Country)) => d.countries.push(v),
                (_, Some(Segment::Method)) => d.methods.push(v),
                (_, Some(Segment::Channel)) => d.channels.push(v),
                ("first_date", _) => d.first_date = v.parse().ok(),
                _ => d.last_date = v.parse().ok(),
            }
        }
    }
    if let (Some(first), Some(last)) = (d.first_date, d.last_date) {
        d.default_range = range::default_range(first, last);
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn postgres_sql_rewrites_doubles_and_series() {
        let sql = "SELECT CAST(a AS DOUBLE) / x, unnest(generate_series(f(a), b, INTERVAL '1 month')) AS m FROM t";
        assert_eq!(
            super::postgres_sql(sql),
            "SELECT CAST(a AS DOUBLE PRECISION) / x, CAST(generate_series(f(a), b, INTERVAL '1 month') AS DATE) AS m FROM t"
        );
        assert!(!super::postgres_sql(super::sql::MONTHLY).contains("unnest"));
    }
}

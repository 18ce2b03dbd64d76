//! Read-only SQL on a warehouse: the `shoplens sql` command and any future SQL endpoint. DDL, DML
//! and other statements are refused; a query has a time limit and the warehouse's memory limit.
//! And the analyses' own queries (KPIs, customers, insights): [`run`] runs one by its name, with
//! its parameters, and names it in its error.

use super::Warehouse;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;
use std::time::Duration;

/// Why a query gave no result.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Not a read-only query, or not valid SQL.
    #[error("{0}")]
    Refused(String),
    /// The engine failed while running it.
    #[error("query failed: {0}")]
    Failed(DataFusionError),
    /// It ran longer than allowed.
    #[error("query stopped after {0:?}: it ran longer than allowed")]
    Timeout(Duration),
}

/// Errors before execution are the user's (bad SQL, unknown table, not read-only); others the engine's.
fn classify(e: DataFusionError) -> QueryError {
    match e.find_root() {
        DataFusionError::Plan(m) if m.contains("not supported") => {
            QueryError::Refused(format!("only read-only queries (SELECT, WITH, EXPLAIN) are allowed: {m}"))
        }
        DataFusionError::SQL(..) | DataFusionError::Plan(_) | DataFusionError::SchemaError(..) => {
            QueryError::Refused(e.to_string())
        }
        _ => QueryError::Failed(e),
    }
}

/// Runs one read-only SQL statement on the warehouse's tables and its `order_lines` view.
///
/// # Errors
/// The statement is not a read-only query, is not valid, fails, or runs past `limit`.
pub async fn read_only(wh: &Warehouse, sql: &str, limit: Duration) -> Result<Vec<RecordBatch>, QueryError> {
    let ctx = wh.session().await.map_err(QueryError::Failed)?;
    let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let run = async {
        let df = ctx.sql_with_options(sql, options).await.map_err(classify)?;
        df.collect().await.map_err(QueryError::Failed)
    };
    tokio::time::timeout(limit, run).await.map_err(|_| QueryError::Timeout(limit))?
}

/// A KPI query failed (any analysis query run by [`run`]), or a filter's value is none of the
/// warehouse's ([`FILTER_VALUES`]).
#[derive(Debug)]
pub struct MetricsError {
    /// Which query.
    pub query: &'static str,
    /// The engine's error.
    pub source: DataFusionError,
}

impl std::error::Error for MetricsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // a filter value's message is whole: the engine's wrapping of it would say it twice
        match self.bad_filter() {
            Some(_) => None,
            None => Some(&self.source),
        }
    }
}

/// The query that holds a filter's values against the warehouse's (`metrics::values`): its error
/// is the user's mistake, already worded for them.
pub const FILTER_VALUES: &str = "filter values";

impl MetricsError {
    /// The message of a filter value the warehouse does not have, if this is that.
    pub fn bad_filter(&self) -> Option<String> {
        match (&self.source, self.query) {
            (DataFusionError::External(e), FILTER_VALUES) => Some(e.to_string()),
            _ => None,
        }
    }
}

impl std::fmt::Display for MetricsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.bad_filter() {
            Some(message) => f.write_str(&message),
            None => write!(f, "KPI query {}: {}", self.query, self.source),
        }
    }
}

/// A text, or NULL, as a query parameter.
pub(crate) fn text_param(s: Option<&str>) -> ScalarValue {
    ScalarValue::Utf8(s.map(str::to_string))
}

/// Runs the analysis query `text` (named `query` in its error and in the debug log) with its
/// parameters `$1`, `$2`… in `ctx`.
pub(crate) async fn run(
    ctx: &SessionContext,
    query: &'static str,
    text: &str,
    params: Vec<ScalarValue>,
) -> Result<Vec<RecordBatch>, MetricsError> {
    let wrap = |source| MetricsError { query, source };
    let started = std::time::Instant::now();
    let mut df = ctx.sql(text).await.map_err(wrap)?;
    if !params.is_empty() {
        df = df.with_param_values(params).map_err(wrap)?;
    }
    let batches = df.collect().await.map_err(wrap)?;
    // `RUST_LOG=shoplens=debug` shows where a suite's time goes, query by query.
    tracing::debug!(query, seconds = started.elapsed().as_secs_f64(), "KPI query");
    Ok(batches)
}

//! The derived tables (`schema::DERIVED`): what a request's filter asks of an order, kept beside
//! the facts so that no filter joins a fact to a fact. Each is defined once, as SQL over the
//! facts and `order_methods` (`sql/order_methods.sql`, each order's payment methods). The import
//! and the append run them month by month over the staged month's facts (an append only for the
//! months it touched: the others are hard-linked with the facts), `order_methods` computed once
//! per month; a version written before the derived tables existed reads the same SQL as views.

use super::parts::month_file;
use super::schema::{
    AGG_LINE, AGG_ORDER, AGG_PAYMENT, DERIVED, DIM_PAYMENT_METHOD, DIM_PRODUCT, FACT_ORDER, FACT_ORDER_LINE,
    FACT_PAYMENT, Table,
};
use super::writer::{TableWriter, WriteError};
use crate::model::MemoryLimit;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext, col};
use futures::StreamExt;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// Each order's payment methods, which every derived table reads as the table `order_methods`.
pub(crate) const ORDER_METHODS: (&str, &str) = ("order_methods", include_str!("sql/order_methods.sql"));

/// Each derived table's name and the SQL that defines it over the fact tables alone
/// (`order_methods` given as a common table expression).
pub fn definitions() -> Vec<(&'static str, String)> {
    let (name, methods) = ORDER_METHODS;
    DERIVED.iter().map(|t| (t.name, format!("WITH {name} AS (\n{methods}\n)\n{}", definition(t)))).collect()
}

/// The SQL that defines `table`, one of [`DERIVED`], over the fact tables.
pub(crate) fn definition(table: &Table) -> &'static str {
    const ORDER: &str = include_str!("sql/agg_order.sql");
    const LINE: &str = include_str!("sql/agg_line.sql");
    const PAYMENT: &str = include_str!("sql/agg_payment.sql");
    match table.name {
        n if n == AGG_ORDER.name => ORDER,
        n if n == AGG_LINE.name => LINE,
        n if n == AGG_PAYMENT.name => PAYMENT,
        other => unreachable!("{other} is not a derived table"),
    }
}

/// Writes the derived tables' files of `months` (`YYYYMM`) in the staged version folder `dir`,
/// each from that month's fact files there, within `memory`. A month without orders gets no file.
///
/// # Errors
/// A fact file cannot be read, or a derived file cannot be written.
pub(crate) async fn build(dir: &Path, months: &BTreeSet<i32>, memory: MemoryLimit) -> Result<(), WriteError> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(super::session::memory_pool(memory))
        .build_arc()
        .map_err(|e| WriteError::new(dir, e))?;
    for table in DERIVED {
        let folder = table.path(dir);
        std::fs::create_dir_all(&folder).map_err(|e| WriteError::new(&folder, e))?;
    }
    // a month is small: one partition each, two months at a time on tasks of their own
    let mut months = futures::stream::iter(months.iter().copied())
        .map(|month| tokio::spawn(build_month(dir.to_path_buf(), month, runtime.clone())))
        .buffer_unordered(2);
    while let Some(done) = months.next().await {
        done.map_err(|e| WriteError::new(dir, e))??;
    }
    Ok(())
}

/// The derived tables' files of one month.
async fn build_month(dir: std::path::PathBuf, month: i32, runtime: Arc<RuntimeEnv>) -> Result<(), WriteError> {
    let dir = dir.as_path();
    let ctx = SessionContext::new_with_config_rt(SessionConfig::new().with_target_partitions(1), runtime);
    for fact in [&FACT_ORDER, &FACT_ORDER_LINE, &FACT_PAYMENT] {
        let path = fact.path(dir).join(month_file(month));
        register_month(&ctx, fact, &path).await.map_err(|e| WriteError::new(&path, e))?;
    }
    // the staged version's methods and products (every one an append's old facts name included)
    for dim in [&DIM_PAYMENT_METHOD, &DIM_PRODUCT] {
        let path = dim.path(dir);
        let schema = dim.schema();
        let options = ParquetReadOptions::default().schema(&schema);
        ctx.register_parquet(dim.name, path.to_string_lossy().as_ref(), options)
            .await
            .map_err(|e| WriteError::new(&path, e))?;
    }
    // computed once, read by each derived table
    let (name, sql) = ORDER_METHODS;
    let at = FACT_PAYMENT.path(dir).join(month_file(month));
    let methods = async {
        let df = ctx.sql(sql).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        MemTable::try_new(schema, vec![df.collect().await?])
    }
    .await
    .map_err(|e| WriteError::new(&at, e))?;
    ctx.register_table(name, Arc::new(methods)).map_err(|e| WriteError::new(&at, e))?;
    for table in DERIVED {
        let file = month_file(month);
        let at = table.path(dir).join(&file);
        let mut stream = async { ctx.sql(definition(table)).await?.execute_stream().await }
            .await
            .map_err(|e| WriteError::new(&at, e))?;
        let mut out: Option<TableWriter> = None;
        while let Some(batch) = stream.next().await {
            let batch = batch.and_then(|b| conform(b, table)).map_err(|e| WriteError::new(&at, e))?;
            if batch.num_rows() == 0 {
                continue;
            }
            if out.is_none() {
                out = Some(TableWriter::create(&table.path(dir), &file, table)?);
            }
            out.as_mut().expect("just created").write(&batch)?;
        }
        if let Some(out) = out {
            out.close()?;
        }
    }
    Ok(())
}

/// Registers one month's file of `fact` as the table of its name (an empty table when the month
/// has none: an order without payments).
async fn register_month(ctx: &SessionContext, fact: &Table, path: &Path) -> Result<(), DataFusionError> {
    let schema = fact.schema();
    if path.exists() {
        // sorted: the derived rows come out in the facts' order without a sort
        let order = vec![fact.sorted_by.iter().map(|c| col(*c).sort(true, false)).collect::<Vec<_>>()];
        let options = ParquetReadOptions::default().schema(&schema).file_sort_order(order);
        ctx.register_parquet(fact.name, path.to_string_lossy().as_ref(), options).await
    } else {
        ctx.register_table(fact.name, Arc::new(MemTable::try_new(schema, vec![vec![]])?)).map(|_| ())
    }
}

/// `batch` with the column types and nullability of `table` (the engine's text type and nullable
/// results are the query's, not the table's).
fn conform(batch: RecordBatch, table: &Table) -> Result<RecordBatch, DataFusionError> {
    let schema = table.schema();
    let columns = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| cast(column, field.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

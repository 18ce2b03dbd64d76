//! The derived tables (`schema::DERIVED`): what a request's filter asks of an order, kept beside
//! the facts so that no filter joins a fact to a fact. Each is defined once, as SQL over the
//! facts (`sql/agg_*.sql`). The import and the append run it month by month over the staged
//! month's facts (an append only for the months it touched: the others are hard-linked with the
//! facts); a version written before the derived tables existed reads the same SQL as a view.

use super::parts::month_file;
use super::schema::{AGG_LINE, AGG_ORDER, AGG_PAYMENT, DERIVED, FACT_ORDER, FACT_ORDER_LINE, FACT_PAYMENT, Table};
use super::sql_text::{Part, sql_text};
use super::writer::{TableWriter, WriteError};
use crate::model::MemoryLimit;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

const PARTS: &[Part] = &[("{order_methods}", include_str!("sql/order_methods.sql"))];

/// Each derived table's name and the SQL that defines it over the fact tables.
pub fn definitions() -> Vec<(&'static str, &'static str)> {
    DERIVED.iter().map(|t| (t.name, definition(t))).collect()
}

/// The SQL that defines `table`, one of [`DERIVED`], over the fact tables.
pub(crate) fn definition(table: &Table) -> &'static str {
    const ORDER: &str = sql_text!(include_str!("sql/agg_order.sql"), PARTS);
    const LINE: &str = sql_text!(include_str!("sql/agg_line.sql"), PARTS);
    const PAYMENT: &str = sql_text!(include_str!("sql/agg_payment.sql"), PARTS);
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
    for &month in months {
        let ctx = SessionContext::new_with_config_rt(SessionConfig::new(), runtime.clone());
        for fact in [&FACT_ORDER, &FACT_ORDER_LINE, &FACT_PAYMENT] {
            let path = fact.path(dir).join(month_file(month));
            register_month(&ctx, fact, &path).await.map_err(|e| WriteError::new(&path, e))?;
        }
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
    }
    Ok(())
}

/// Registers one month's file of `fact` as the table of its name (an empty table when the month
/// has none: an order without payments).
async fn register_month(ctx: &SessionContext, fact: &Table, path: &Path) -> Result<(), DataFusionError> {
    let schema = fact.schema();
    if path.exists() {
        let options = ParquetReadOptions::default().schema(&schema);
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

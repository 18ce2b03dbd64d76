//! The derived tables (`schema::DERIVED`): what a request's filter asks of an order, kept beside
//! the facts so that no filter joins a fact to a fact. Each is defined once, as SQL over the
//! facts and `order_methods` (`sql/order_methods.sql`, each order's payment methods). The import
//! and the append run them month by month over the staged month's facts (an append only for the
//! months it touched: the others are hard-linked with the facts), `order_methods` computed once
//! per month, and the marks of `agg_line` and `agg_payment` in one pass over the ordered rows
//! (`FirstMarks`) rather than by their definitions' windows; a version written before the
//! derived tables existed reads the same SQL as views.

use super::parts::month_file;
use super::schema::{
    AGG_LINE, AGG_ORDER, AGG_PAYMENT, AGG_RETURN, DERIVED, DIM_PAYMENT_METHOD, DIM_PRODUCT, FACT_ORDER,
    FACT_ORDER_LINE, FACT_PAYMENT, FACT_REFUND, FACT_RETURN_LINE, Layout, Table,
};
use super::sql_text::sql_text;
use super::writer::{TableWriter, WriteError};
use crate::model::MemoryLimit;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type};
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

/// `agg_line`'s rows before its mark per category, with each line's category
/// (`sql/agg_line_rows.sql`).
const LINE_ROWS: &str = include_str!("sql/agg_line_rows.sql");
/// `agg_payment`'s rows before its mark per method (`sql/agg_payment_rows.sql`).
const PAYMENT_ROWS: &str = include_str!("sql/agg_payment_rows.sql");

/// The SQL that defines `table`, one of [`DERIVED`], over the fact tables.
pub(crate) fn definition(table: &Table) -> &'static str {
    const ORDER: &str = include_str!("sql/agg_order.sql");
    const LINE: &str = sql_text!(include_str!("sql/agg_line.sql"), &[("{agg_line_rows}", LINE_ROWS)]);
    const PAYMENT: &str = sql_text!(include_str!("sql/agg_payment.sql"), &[("{agg_payment_rows}", PAYMENT_ROWS)]);
    match table.name {
        n if n == AGG_ORDER.name => ORDER,
        n if n == AGG_LINE.name => LINE,
        n if n == AGG_PAYMENT.name => PAYMENT,
        other => unreachable!("{other} is not a derived table"),
    }
}

/// What the build runs for `table`, and the mark it completes the rows with: the definition's
/// windows sort every month by category or method (the one of `agg_line` doubled the import's
/// time), where [`FirstMarks`] needs one pass over the rows in their order.
fn build_query(table: &Table) -> (&'static str, Option<FirstMarks>) {
    match table.name {
        n if n == AGG_LINE.name => (LINE_ROWS, Some(FirstMarks::of("category", false))),
        n if n == AGG_PAYMENT.name => (PAYMENT_ROWS, Some(FirstMarks::of("method_key", true))),
        _ => (definition(table), None),
    }
}

/// A derived table's mark of the first row of each order with each value of a column (the
/// lines' category, the payments' method), computed over rows in the facts' order: an order's
/// rows come together (across batches too) and in their sequence, so the first row of each value
/// is the first one seen. The same as the window of the table's definition, which
/// `tests/append.rs` checks against the built files.
struct FirstMarks {
    column: &'static str,
    keep: bool,
    order: Option<(i32, i32)>,
    seen: Vec<Option<String>>,
}

impl FirstMarks {
    /// Marks by `column`, which stays among the table's columns when `keep`.
    fn of(column: &'static str, keep: bool) -> FirstMarks {
        FirstMarks { column, keep, order: None, seen: Vec::new() }
    }

    /// `batch`'s columns with the mark as the last one (`column` taken out unless kept).
    fn mark(&mut self, batch: &RecordBatch) -> Result<Vec<ArrayRef>, DataFusionError> {
        let at = batch.schema().index_of(self.column)?;
        let values = cast(batch.column(at), &DataType::Utf8)?;
        let values = values.as_string::<i32>();
        let key = |name: &str| -> Result<ArrayRef, DataFusionError> {
            let column = batch.column_by_name(name).ok_or_else(|| DataFusionError::Internal(format!("no {name}")))?;
            Ok(cast(column, &DataType::Int32)?)
        };
        let (days, orders) = (key("date_key")?, key("order_key")?);
        let (days, orders) = (days.as_primitive::<Int32Type>(), orders.as_primitive::<Int32Type>());
        let mut marks = Vec::with_capacity(batch.num_rows());
        for r in 0..batch.num_rows() {
            let order = (days.value(r), orders.value(r));
            if self.order != Some(order) {
                self.order = Some(order);
                self.seen.clear();
            }
            let v = values.is_valid(r).then(|| values.value(r));
            let first = !self.seen.iter().any(|s| s.as_deref() == v);
            if first {
                self.seen.push(v.map(str::to_string));
            }
            marks.push(i32::from(first));
        }
        let mut columns = batch.columns().to_vec();
        if !self.keep {
            columns.remove(at);
        }
        columns.push(Arc::new(Int32Array::from(marks)));
        Ok(columns)
    }
}

/// Writes the files of the derived `tables` (of [`DERIVED`]) for `months` (`YYYYMM`) in the staged
/// version folder `dir`, each from that month's fact files there, within `memory`. A month
/// without orders gets no file.
///
/// # Errors
/// A fact file cannot be read, or a derived file cannot be written.
pub(crate) async fn build(
    dir: &Path,
    months: &BTreeSet<i32>,
    tables: &'static [&'static Table],
    memory: MemoryLimit,
) -> Result<(), WriteError> {
    if months.is_empty() {
        return Ok(());
    }
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(super::session::memory_pool(memory))
        .build_arc()
        .map_err(|e| WriteError::new(dir, e))?;
    for table in tables {
        let folder = table.path(dir);
        std::fs::create_dir_all(&folder).map_err(|e| WriteError::new(&folder, e))?;
    }
    // a month is small: one partition each, two months at a time on tasks of their own
    let mut months = futures::stream::iter(months.iter().copied())
        .map(|month| tokio::spawn(build_month(dir.to_path_buf(), month, tables, runtime.clone())))
        .buffer_unordered(2);
    while let Some(done) = months.next().await {
        done.map_err(|e| WriteError::new(dir, e))??;
    }
    Ok(())
}

/// Writes `agg_return` (`sql/agg_return.sql`) in the staged version folder `dir`: the refunds'
/// goods, shipping and tax with their orders' filter columns, from the staged refund facts and
/// every month of `agg_order` (which must be complete).
///
/// # Errors
/// A file cannot be read, or the table cannot be written.
pub(crate) async fn build_returns(dir: &Path, memory: MemoryLimit) -> Result<(), WriteError> {
    let at = AGG_RETURN.path(dir);
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(super::session::memory_pool(memory))
        .build_arc()
        .map_err(|e| WriteError::new(dir, e))?;
    let ctx = SessionContext::new_with_config_rt(SessionConfig::new(), runtime);
    let batches = async {
        for table in [&FACT_REFUND, &FACT_RETURN_LINE, &AGG_ORDER] {
            let path = table.path(dir);
            let schema = table.schema();
            let options = ParquetReadOptions::default().schema(&schema);
            match (table.layout, path.exists()) {
                (Layout::Single, _) => {
                    ctx.register_parquet(table.name, path.to_string_lossy().as_ref(), options).await?;
                }
                // a folder of parts: every Parquet file in it
                (_, true) => {
                    ctx.register_parquet(table.name, &format!("{}/", path.to_string_lossy()), options).await?;
                }
                // no order at all
                (_, false) => {
                    ctx.register_table(table.name, Arc::new(MemTable::try_new(schema, vec![vec![]])?))?;
                }
            }
        }
        ctx.sql(include_str!("sql/agg_return.sql")).await?.collect().await
    }
    .await
    .map_err(|e| WriteError::new(&at, e))?;
    let mut out = TableWriter::create(dir, &format!("{}.parquet", AGG_RETURN.name), &AGG_RETURN)?;
    for b in &batches {
        let batch = conform(b.columns(), &AGG_RETURN).map_err(|e| WriteError::new(&at, e))?;
        out.write(&batch)?;
    }
    out.close()
}

/// The derived tables' files of one month.
async fn build_month(
    dir: std::path::PathBuf,
    month: i32,
    tables: &'static [&'static Table],
    runtime: Arc<RuntimeEnv>,
) -> Result<(), WriteError> {
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
    for table in tables {
        let file = month_file(month);
        let at = table.path(dir).join(&file);
        let (query, mut marks) = build_query(table);
        let mut stream =
            async { ctx.sql(query).await?.execute_stream().await }.await.map_err(|e| WriteError::new(&at, e))?;
        let mut out: Option<TableWriter> = None;
        while let Some(batch) = stream.next().await {
            let batch = batch
                .and_then(|b| match marks.as_mut() {
                    Some(m) => m.mark(&b),
                    None => Ok(b.columns().to_vec()),
                })
                .and_then(|columns| conform(&columns, table))
                .map_err(|e| WriteError::new(&at, e))?;
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

/// A batch of `table` from a query's `columns`, in the table's order, with the table's column
/// types and nullability (the engine's text type and nullable results are the query's, not the
/// table's).
fn conform(columns: &[ArrayRef], table: &Table) -> Result<RecordBatch, DataFusionError> {
    let schema = table.schema();
    let columns = schema
        .fields()
        .iter()
        .zip(columns)
        .map(|(field, column)| cast(column, field.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::{Field, Schema};

    fn lines(rows: &[(i32, i32, Option<&str>)]) -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("date_key", DataType::Int32, false),
            Field::new("order_key", DataType::Int32, false),
            Field::new("category", DataType::Utf8, true),
        ]);
        let column =
            |f: fn(&(i32, i32, Option<&str>)) -> i32| Arc::new(Int32Array::from_iter_values(rows.iter().map(f)));
        let categories = StringArray::from_iter(rows.iter().map(|r| r.2));
        RecordBatch::try_new(Arc::new(schema), vec![column(|r| r.0), column(|r| r.1), Arc::new(categories)]).unwrap()
    }

    fn marks(columns: &[ArrayRef]) -> Vec<i32> {
        columns.last().unwrap().as_primitive::<Int32Type>().values().to_vec()
    }

    #[test]
    fn each_order_marks_its_first_line_in_each_category_across_batches() {
        let mut m = FirstMarks::of("category", false);
        let first = lines(&[(1, 1, Some("A")), (1, 1, Some("B")), (1, 1, Some("A")), (1, 2, Some("A")), (1, 2, None)]);
        let columns = m.mark(&first).unwrap();
        assert_eq!(columns.len(), 3, "the category gives way to the mark");
        assert_eq!(marks(&columns), [1, 1, 0, 1, 1]);
        // order 2 goes on in the next batch; the same order key on another day is another order
        let next = lines(&[(1, 2, None), (1, 2, Some("A")), (1, 2, Some("C")), (2, 2, Some("A"))]);
        assert_eq!(marks(&m.mark(&next).unwrap()), [0, 0, 1, 1]);
    }
}

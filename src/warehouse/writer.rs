//! Writing warehouse tables: Parquet files with the schema of `schema.rs`, and the sort that puts
//! the facts in date order.

use super::schema::Table;
use crate::model::MemoryLimit;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext, col};
use futures::StreamExt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Rows per Parquet row group: small enough for two cores to scan a table in parallel, large
/// enough for good compression and few statistics.
const ROW_GROUP_ROWS: usize = 256 * 1024;

/// Errors writing a table.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct WriteError {
    /// The file being written.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

impl WriteError {
    pub(crate) fn new(path: &Path, e: impl std::fmt::Display) -> WriteError {
        WriteError { path: path.to_path_buf(), message: e.to_string() }
    }
}

/// A Parquet file of one table, written batch by batch. Encoding and compression run on a
/// thread of their own, so the importer's parsing and the writing use both cores.
pub(crate) struct TableWriter {
    path: PathBuf,
    batches: Option<SyncSender<RecordBatch>>,
    worker: Option<JoinHandle<Result<(), WriteError>>>,
}

/// Batches waiting for the writing thread: enough to keep it busy, few enough to bound memory.
const QUEUED_BATCHES: usize = 2;

/// Columns with about one value per row (ids, names, order and customer keys, timestamps and
/// the sums of an order or line): a Parquet dictionary for them costs a hash lookup per value
/// and saves nothing.
fn unique_values(column: &str) -> bool {
    column.ends_with("_id")
        || column.ends_with("_name")
        || matches!(column, "order_key" | "customer_key" | "order_ts" | "order_revenue" | "line_revenue" | "amount")
}

impl TableWriter {
    /// Creates `dir/<file>` for `table`.
    pub(crate) fn create(dir: &Path, file: &str, table: &Table) -> Result<TableWriter, WriteError> {
        let path = dir.join(file);
        let f = File::create(&path).map_err(|e| WriteError::new(&path, e))?;
        let mut props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_statistics_enabled(EnabledStatistics::Page);
        for (name, ..) in table.columns.iter().filter(|(n, ..)| unique_values(n)) {
            props = props.set_column_dictionary_enabled(ColumnPath::from(*name), false);
        }
        let mut writer =
            ArrowWriter::try_new(f, table.schema(), Some(props.build())).map_err(|e| WriteError::new(&path, e))?;
        let (tx, rx) = sync_channel::<RecordBatch>(QUEUED_BATCHES);
        let at = path.clone();
        let worker = std::thread::spawn(move || {
            for batch in rx {
                writer.write(&batch).map_err(|e| WriteError::new(&at, e))?;
            }
            writer.close().map(|_| ()).map_err(|e| WriteError::new(&at, e))
        });
        Ok(TableWriter { path, batches: Some(tx), worker: Some(worker) })
    }

    /// Appends a batch (its schema must be the table's).
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), WriteError> {
        let sent = self.batches.as_ref().map(|tx| tx.send(batch.clone()));
        match sent {
            Some(Ok(())) => Ok(()),
            // the thread stopped: its error says why
            _ => Err(self.finish().err().unwrap_or_else(|| WriteError::new(&self.path, "the writer stopped"))),
        }
    }

    /// Finishes the file.
    pub(crate) fn close(mut self) -> Result<(), WriteError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        self.batches = None;
        match self.worker.take() {
            Some(worker) => worker.join().map_err(|_| WriteError::new(&self.path, "the writing thread panicked"))?,
            None => Err(WriteError::new(&self.path, "the writer stopped")),
        }
    }
}

impl Drop for TableWriter {
    fn drop(&mut self) {
        // an abandoned writer (the import failed) still ends its thread before the folder goes
        self.batches = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// Reads the Parquet files `inputs` of `table` and hands their rows to `sink` in the table's
/// `sorted_by` order, then deletes the inputs. When `runs`, each input is already in that order
/// and they are merged as they stream (DataFusion's sort-preserving merge, each file a partition
/// of its own); else DataFusion's external sort orders them (bounded by `memory`, spilling to
/// disk).
pub(crate) async fn sort_files(
    inputs: &[PathBuf],
    table: &Table,
    memory: MemoryLimit,
    runs: bool,
    mut sink: impl FnMut(RecordBatch) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    let Some(first) = inputs.first() else { return Ok(()) };
    let err = |e: datafusion::error::DataFusionError| WriteError::new(first, e);
    let runtime =
        RuntimeEnvBuilder::new().with_memory_pool(super::session::memory_pool(memory)).build_arc().map_err(err)?;
    let mut config = SessionConfig::new();
    let order: Vec<_> = table.sorted_by.iter().map(|c| col(*c).sort(true, false)).collect();
    let schema = table.schema();
    let mut options = ParquetReadOptions::default().schema(&schema);
    if runs {
        // a file group per run, which the files' statistics keep apart: merged, not sorted
        config = config.with_target_partitions(inputs.len().max(1));
        config.options_mut().execution.split_file_groups_by_statistics = true;
        options = options.file_sort_order(vec![order.clone()]);
    }
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    let paths: Vec<String> = inputs.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let sorted = ctx.read_parquet(paths, options).await.map_err(err)?.sort(order).map_err(err)?;
    let mut stream = sorted.execute_stream().await.map_err(err)?;
    while let Some(batch) = stream.next().await {
        sink(batch.map_err(err)?)?;
    }
    for p in inputs {
        std::fs::remove_file(p).map_err(|e| WriteError::new(p, e))?;
    }
    Ok(())
}

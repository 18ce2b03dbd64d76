//! Writing warehouse tables: Parquet files with the schema of `schema.rs`, and the sort that puts
//! the facts in date order.

use super::schema::Table;
use crate::model::MemoryLimit;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use std::fs::File;
use std::path::{Path, PathBuf};

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
    fn new(path: &Path, e: impl std::fmt::Display) -> WriteError {
        WriteError { path: path.to_path_buf(), message: e.to_string() }
    }
}

/// A Parquet file of one table, written batch by batch.
pub struct TableWriter {
    path: PathBuf,
    writer: ArrowWriter<File>,
}

impl TableWriter {
    /// Creates `dir/<file>` for `table`.
    pub fn create(dir: &Path, file: &str, table: &Table) -> Result<TableWriter, WriteError> {
        let path = dir.join(file);
        let f = File::create(&path).map_err(|e| WriteError::new(&path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_statistics_enabled(EnabledStatistics::Page)
            .build();
        let writer = ArrowWriter::try_new(f, table.schema(), Some(props)).map_err(|e| WriteError::new(&path, e))?;
        Ok(TableWriter { path, writer })
    }

    /// Appends a batch (its schema must be the table's).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), WriteError> {
        self.writer.write(batch).map_err(|e| WriteError::new(&self.path, e))
    }

    /// Finishes the file.
    pub fn close(self) -> Result<(), WriteError> {
        self.writer.close().map(|_| ()).map_err(|e| WriteError::new(&self.path, e))
    }
}

/// Writes `table` whole from one batch.
pub fn write_table(dir: &Path, table: &Table, batch: &RecordBatch) -> Result<(), WriteError> {
    let mut w = TableWriter::create(dir, &table.file_name(), table)?;
    w.write(batch)?;
    w.close()
}

/// Rewrites the unsorted file `dir/<unsorted>` as `table`'s file sorted by `table.sorted_by`,
/// with DataFusion's external sort (bounded memory, spilling to disk), then deletes the unsorted one.
pub async fn sort_into_table(dir: &Path, unsorted: &str, table: &Table, memory: MemoryLimit) -> Result<(), WriteError> {
    let src = dir.join(unsorted);
    let err = |e: datafusion::error::DataFusionError| WriteError::new(&src, e);
    let runtime =
        RuntimeEnvBuilder::new().with_memory_pool(super::session::memory_pool(memory)).build_arc().map_err(err)?;
    let ctx = SessionContext::new_with_config_rt(SessionConfig::new(), runtime);
    ctx.register_parquet("unsorted", src.to_string_lossy().as_ref(), ParquetReadOptions::default())
        .await
        .map_err(err)?;
    let sql = format!("SELECT * FROM unsorted ORDER BY {}", table.sorted_by.join(", "));
    let mut stream = ctx.sql(&sql).await.map_err(err)?.execute_stream().await.map_err(err)?;
    let mut out = TableWriter::create(dir, &table.file_name(), table)?;
    while let Some(batch) = stream.next().await {
        out.write(&batch.map_err(err)?)?;
    }
    out.close()?;
    std::fs::remove_file(&src).map_err(|e| WriteError::new(&src, e))
}

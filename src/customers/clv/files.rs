//! CLV with files: fitted on a summary CSV instead of a warehouse, or on a warehouse while its
//! summary is written to a CSV (`shoplens customers clv --summary` / `--write-summary`).

use super::csv::{read_summary, write_summary};
use super::model::{Clv, ClvOptions, model};
use super::warehouse::summary;
use crate::metrics::MetricsError;
use crate::model::Filter;
use crate::warehouse::Warehouse;
use std::path::{Path, PathBuf};

/// Why CLV with a file gave no result.
#[derive(Debug, thiserror::Error)]
pub enum ClvFileError {
    /// The summary file cannot be read (the message names the line).
    #[error("{0}")]
    Read(String),
    /// The summary file cannot be written.
    #[error("writing {}", .0.display())]
    Write(PathBuf, #[source] csv::Error),
    /// No calibration end was given and the warehouse has no orders to take it from.
    #[error("the warehouse has no orders")]
    NoOrders,
    /// A query failed.
    #[error(transparent)]
    Query(#[from] MetricsError),
    /// The fit's thread failed.
    #[error(transparent)]
    Fit(#[from] tokio::task::JoinError),
}

/// CLV fitted on the summary CSV `file` (header `ID,x,t_x,T,zbar`), calibrated at the options'
/// calibration end, if any.
///
/// # Errors
/// The file cannot be read, or the fit's thread fails.
pub async fn clv_of_summary_file(file: &Path, options: &ClvOptions) -> Result<Clv, ClvFileError> {
    let rows = read_summary(file).map_err(ClvFileError::Read)?;
    let options = options.clone();
    Ok(tokio::task::spawn_blocking(move || model(&rows, options.calibration_end, &options)).await?)
}

/// CLV on a warehouse, its per-customer summary also written to `path`; calibrated at the
/// options' calibration end, else at the latest order's day.
///
/// # Errors
/// The warehouse has no orders (and no calibration end was given), a query fails, the file
/// cannot be written, or the fit's thread fails.
pub async fn clv_writing_summary(
    wh: &Warehouse,
    filter: &Filter,
    options: &ClvOptions,
    path: &Path,
) -> Result<Clv, ClvFileError> {
    let end = match options.calibration_end {
        Some(d) => d,
        None => crate::metrics::dimensions(wh).await?.last_date.ok_or(ClvFileError::NoOrders)?,
    };
    let rows = summary(wh, filter, end).await?;
    write_summary(&rows, path).map_err(|e| ClvFileError::Write(path.to_path_buf(), e))?;
    let options = options.clone();
    Ok(tokio::task::spawn_blocking(move || model(&rows, Some(end), &options)).await?)
}

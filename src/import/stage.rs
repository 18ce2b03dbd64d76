//! Sources that are not a folder of the canonical files, staged into one in a scratch folder
//! that the import then reads: a PostgreSQL database (its record sets copied out; for an append,
//! only the orders changed since the watermark the last import from it recorded) and the Olist
//! dataset (converted). A flat export is staged the same way by `flat`.

use crate::source::flat::FlatError;
use crate::source::olist;
use crate::source::postgres::{PgError, PgSource, Staged};
use crate::warehouse::Store;
use std::path::{Path, PathBuf};

/// Why a source could not be staged; nothing was imported then.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StageError {
    /// The scratch folder cannot be made (what it was for, and why).
    #[error("a scratch folder for {0}")]
    Scratch(&'static str, #[source] std::io::Error),
    /// The database cannot be read.
    #[error(transparent)]
    Postgres(#[from] PgError),
    /// The Olist dataset cannot be converted.
    #[error(transparent)]
    Olist(#[from] FlatError),
}

/// A folder of its own under the system's temporary folder, removed when dropped.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    /// Creates a new, empty scratch folder.
    ///
    /// # Errors
    /// It cannot be created.
    pub(crate) fn new(what: &str) -> Result<Scratch, std::io::Error> {
        let base = std::env::temp_dir();
        for attempt in 0..100u32 {
            let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
            let dir = base.join(format!("shoplens-{what}-{}-{nanos}-{attempt}", std::process::id()));
            // create_dir, not create_dir_all: the folder must be new, never one planted before
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(Scratch(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("no new scratch folder name"))
    }

    /// The folder.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A database's record sets, copied into a scratch folder.
pub(crate) struct StagedDatabase {
    /// The folder of canonical files (removed when this is dropped).
    pub(crate) scratch: Scratch,
    /// What was read.
    pub(crate) staged: Staged,
    /// The watermark an append read from (the orders changed after it), if any.
    pub(crate) since: Option<String>,
}

/// The watermark the latest import from the source named `source` recorded in the current
/// version, if any.
pub(crate) fn last_watermark(store: &Store, source: &str) -> Option<String> {
    store
        .current()
        .ok()
        .and_then(|v| v.manifest.imports.iter().rev().find(|r| r.source == source).and_then(|r| r.watermark.clone()))
}

/// Copies the database's record sets into a scratch folder; an `append` reads what changed since
/// this database's last recorded watermark in `store`.
///
/// # Errors
/// The scratch folder cannot be made, or the database cannot be read.
pub(crate) async fn stage_database(pg: &PgSource, store: &Store, append: bool) -> Result<StagedDatabase, StageError> {
    let since = if append { last_watermark(store, &pg.name()) } else { None };
    let scratch = Scratch::new("postgres").map_err(|e| StageError::Scratch("the database's rows", e))?;
    let staged = pg.stage(scratch.path(), since.as_deref()).await?;
    Ok(StagedDatabase { scratch, staged, since })
}

/// Converts the Olist dataset's folder `dir` into a scratch folder; returns it and the orders.
///
/// # Errors
/// The scratch folder cannot be made, or the dataset cannot be converted.
pub(crate) fn stage_olist(dir: &Path) -> Result<(Scratch, u64), StageError> {
    let scratch = Scratch::new("olist").map_err(|e| StageError::Scratch("the converted files", e))?;
    let n = olist::convert(dir, scratch.path())?;
    Ok((scratch, n))
}

//! Import: reads an export in the canonical format, validates every row, and writes a new
//! warehouse version beside the current one, published atomically. Every bad row goes to the
//! rejects with its file, line and reason; for every file, read = loaded + rejected.

pub mod flat;
pub mod ids;
mod options;
pub mod previous;
mod refunds;
mod rows;
pub(crate) mod stage;
mod steps;
pub mod tables;

pub use options::{ImportError, ImportOptions, ImportReport, Origin, Progress, Refusal, RejectLimit};

use crate::warehouse::store::{REJECTS, Store};
use std::path::Path;
use std::time::Instant;
use steps::Reading;

/// Runs one step of the import and logs its time (`RUST_LOG=shoplens=debug`).
fn timed<T>(step: &str, run: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = run();
    tracing::debug!(step, seconds = started.elapsed().as_secs_f64(), "import step");
    out
}

/// Imports the export in `source` into the warehouse `store`, replacing its current version.
///
/// # Errors
/// A source file is missing or lacks a required column, another import holds the warehouse, or
/// writing fails. The published version is then unchanged.
pub async fn import_export(source: &Path, store: &Store, opts: &ImportOptions) -> Result<ImportReport, ImportError> {
    steps::check_headers(source, opts)?;
    let lock = store.lock()?;
    let staging = lock.stage()?;
    let dir = staging.dir().to_path_buf();
    let progress = opts.progress.as_deref();
    let rejects = steps::open_rejects(&dir, opts)?;
    let (start, previous) = steps::starting_point(source, store, opts)?;
    let previous = previous.as_ref();
    let key_chunk = steps::key_chunk(opts, previous);

    let mut reading = Reading::begin(source, opts, rejects, start);
    timed("customers", || reading.customers())?;
    timed("products", || reading.products())?;
    timed("orders", || reading.orders())?;
    timed("scan refunds", || reading.scan_refunds())?;
    let touched = steps::touched_months(&reading.orders, previous);
    let mut lines_out = timed("order lines", || reading.order_lines(&dir, previous, &touched))?;
    let payments_out = timed("payments", || reading.payments(&dir, previous, &touched))?;
    timed("refunds", || reading.refunds(&mut lines_out))?;
    let (first_rejects, reasons) = reading.close_rejects()?;
    let preview = reading.preview();
    let files = reading.files.clone();

    steps::refuse_over_limit(store, &dir, opts, &files, &reasons, &first_rejects)?;
    if opts.dry_run {
        return Ok(ImportReport {
            version: String::new(),
            files,
            rejects: dir.join(REJECTS),
            first_rejects,
            reasons,
            published: false,
            preview,
        });
    }

    if let Some(p) = progress {
        p.phase("writing the warehouse");
    }
    let checksums = reading.recorded_checksums();
    let orders_out = timed("dimensions and orders", || {
        steps::write_dimensions_and_orders(&dir, key_chunk, reading, previous, &touched)
    })?;
    if let Some(p) = progress {
        p.phase("finishing facts");
    }
    let started = Instant::now();
    steps::finish_facts(&dir, opts, (orders_out, lines_out, payments_out), previous, &touched).await?;
    tracing::debug!(step = "finish facts", seconds = started.elapsed().as_secs_f64(), "import step");

    if let Some(p) = progress {
        p.phase("publishing");
    }
    let version = steps::publish(store, staging, source, opts, &files, checksums, previous)?;
    drop(lock);
    Ok(ImportReport {
        version,
        files,
        rejects: store.root().join(REJECTS),
        first_rejects,
        reasons,
        published: true,
        preview,
    })
}

//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod hand;
pub mod oracle;
pub mod pg;

use shoplens::generate::{GenerateOptions, generate};
use shoplens::import::{ImportError, ImportOptions, ImportReport, import_export};
use shoplens::metrics;
use shoplens::model::Filter;
use shoplens::model::filter::FilterParams;
use shoplens::warehouse::{Store, Warehouse};
use std::path::Path;

/// A generated shop in a temporary folder.
pub fn shop(seed: u64, orders: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &GenerateOptions { orders, seed, ..Default::default() }).unwrap();
    dir
}

/// Imports `src` into the warehouse at `wh`, publishing whatever share of rows is rejected: the
/// tests of the import's rules look at the rejects (the publish guard has its own tests, in
/// `first_import.rs`).
pub async fn import(src: &Path, wh: &Path) -> Result<ImportReport, ImportError> {
    let opts = ImportOptions { max_rejects: shoplens::import::RejectLimit::ANY, ..Default::default() };
    import_export(src, &Store::new(wh), &opts).await
}

/// Imports with a time zone.
pub async fn import_tz(src: &Path, wh: &Path, tz: &str) -> Result<ImportReport, ImportError> {
    let opts = ImportOptions { timezone: tz.parse().unwrap(), ..Default::default() };
    import_export(src, &Store::new(wh), &opts).await
}

/// The KPI JSON of the warehouse at `wh` for `filter`.
pub async fn kpis(wh: &Path, filter: &Filter) -> serde_json::Value {
    let w = Warehouse::open(&Store::new(wh)).await.unwrap();
    serde_json::to_value(metrics::compute(&w, filter).await.unwrap()).unwrap()
}

/// A filter from optional strings.
pub fn filter(p: FilterParams) -> Filter {
    Filter::parse(p).unwrap()
}

/// Writes `files` (name, content) into a new temporary export folder.
pub fn export(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    dir
}

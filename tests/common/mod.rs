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

/// The `(date_key, order_key, n)` keys of a fact file, in file order.
fn fact_keys(wh: &Path, table: &str, n: &str) -> Vec<(i32, i32, i32)> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int32Type;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let dir = Store::new(wh).current().unwrap().dir;
    // one file per month, in month order
    let mut files: Vec<_> = std::fs::read_dir(dir.join(table)).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let batches = files.iter().flat_map(|f| {
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(f).unwrap()).unwrap().build().unwrap()
    });
    let mut out = Vec::new();
    for batch in batches {
        let batch = batch.unwrap();
        let col = |name: &str| batch.column_by_name(name).unwrap().as_primitive::<Int32Type>().clone();
        let (d, o, k) = (col("date_key"), col("order_key"), col(n));
        out.extend((0..batch.num_rows()).map(|i| (d.value(i), o.value(i), k.value(i))));
    }
    out
}

/// Asserts that the current version's lines and payments are sorted by day, order and number,
/// each key once (every month file in turn).
pub fn assert_sorted(wh: &Path) {
    for (table, n) in [("fact_order_line", "line_no"), ("fact_payment", "payment_seq")] {
        let k = fact_keys(wh, table, n);
        assert!(k.len() > 1000, "{table}: {} rows", k.len());
        assert!(k.windows(2).all(|w| w[0] < w[1]), "{table} is not sorted by date_key, order_key, {n}");
    }
}

//! The fact files are sorted by date whether or not the export was (the import skips its sort
//! when the rows arrive in order), and the queries, which are told the files are sorted, give
//! the same KPIs either way.

mod common;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int32Type;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use shoplens::model::Filter;
use shoplens::warehouse::Store;
use std::path::Path;

/// The `(date_key, order_key, n)` keys of a fact file, in file order.
fn keys(wh: &Path, table: &str, n: &str) -> Vec<(i32, i32, i32)> {
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

fn assert_sorted(wh: &Path) {
    for (table, n) in [("fact_order_line", "line_no"), ("fact_payment", "payment_seq")] {
        let k = keys(wh, table, n);
        assert!(k.len() > 1000, "{table}: {} rows", k.len());
        assert!(k.windows(2).all(|w| w[0] < w[1]), "{table} is not sorted by date_key, order_key, {n}");
    }
}

/// Copies `file` with its data rows in reverse order (these files hold no quoted line breaks).
fn reversed(from: &Path, to: &Path, file: &str) {
    let text = std::fs::read_to_string(from.join(file)).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1..].reverse();
    std::fs::write(to.join(file), lines.join("\n") + "\n").unwrap();
}

#[tokio::test]
async fn facts_are_sorted_whether_or_not_the_export_is() {
    let shop = common::shop(5, 3000);
    let in_order = tempfile::tempdir().unwrap();
    common::import(shop.path(), in_order.path()).await.unwrap();
    assert_sorted(in_order.path());

    let shuffled = tempfile::tempdir().unwrap();
    for f in ["customers.csv", "products.csv"] {
        std::fs::copy(shop.path().join(f), shuffled.path().join(f)).unwrap();
    }
    for f in ["orders.csv", "order_items.csv", "payments.csv"] {
        reversed(shop.path(), shuffled.path(), f);
    }
    let wh = tempfile::tempdir().unwrap();
    common::import(shuffled.path(), wh.path()).await.unwrap();
    assert_sorted(wh.path());

    let filters = [
        Filter::default(),
        common::filter(shoplens::model::filter::FilterParams {
            from: Some("2023-03-01"),
            to: Some("2023-09-30"),
            ..Default::default()
        }),
    ];
    for f in &filters {
        let (a, b) = (common::kpis(in_order.path(), f).await, common::kpis(wh.path(), f).await);
        // keys differ (assigned in file order); the KPIs, which name ids, do not
        assert_eq!(a, b, "{f:?}");
    }
}

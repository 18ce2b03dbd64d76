//! The fact files are sorted by date whether or not the export was (the import skips its sort
//! when the rows arrive in order), and the queries, which are told the files are sorted, give
//! the same KPIs either way.

mod common;

use common::assert_sorted;
use shoplens::model::Filter;
use std::path::Path;

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

//! The demo shop has the features the generator promises, read back through the warehouse.

mod common;

use shoplens::model::Filter;
use shoplens::warehouse::{Store, Warehouse, query};
use std::time::Duration;

async fn scalar(w: &Warehouse, sql: &str) -> String {
    let b = query::read_only(w, sql, Duration::from_secs(30)).await.unwrap();
    datafusion::arrow::util::display::array_value_to_string(b[0].column(0), 0).unwrap()
}

#[tokio::test]
async fn the_demo_shop_looks_like_a_real_shop() {
    let shop = common::shop(9, 30_000);
    let wh = tempfile::tempdir().unwrap();
    let report = common::import(shop.path(), wh.path()).await.unwrap();
    assert!(report.files.values().all(|c| c.rejected == 0), "{report:?}");
    let w = Warehouse::open(&Store::new(wh.path())).await.unwrap();
    let k = serde_json::to_value(shoplens::metrics::compute(&w, &Filter::default()).await.unwrap()).unwrap();

    // growth and a November-December peak: each year's December beats its June, and 2024 beats 2022
    let rev = |m: &str| {
        k["monthly"].as_array().unwrap().iter().find(|x| x["month"] == m).unwrap()["revenue"].as_f64().unwrap()
    };
    for y in [2022, 2023, 2024] {
        assert!(rev(&format!("{y}-12")) > 1.3 * rev(&format!("{y}-06")), "{y}");
    }
    assert!(rev("2024-06") > 1.3 * rev("2022-06"));
    // weekdays sell more than weekends
    let weekday: f64 = scalar(&w, "SELECT CAST(SUM(CASE WHEN d.is_weekend THEN 0 ELSE 1 END) AS DOUBLE) / 5 / (CAST(SUM(CASE WHEN d.is_weekend THEN 1 ELSE 0 END) AS DOUBLE) / 2) FROM fact_order o JOIN dim_date d USING (date_key)").await.parse().unwrap();
    assert!(weekday > 1.1, "weekday/weekend ratio {weekday}");
    // returning customers, and many one-off ones
    let rate = k["order_frequency"]["repeat_customer_rate"].as_f64().unwrap();
    assert!((0.15..0.6).contains(&rate), "repeat rate {rate}");
    assert!(k["order_frequency"]["buckets"][4]["customers"].as_i64().unwrap() > 0);
    // a long tail: the top 10 % of products make far more than 10 % of revenue
    let top = scalar(&w, "WITH p AS (SELECT product_key, SUM(line_revenue) r FROM fact_order_line GROUP BY 1), ranked AS (SELECT r, ROW_NUMBER() OVER (ORDER BY r DESC) n, COUNT(*) OVER () c FROM p) SELECT CAST(SUM(CASE WHEN n <= c / 10 THEN r ELSE 0 END) AS DOUBLE) / CAST(SUM(r) AS DOUBLE) FROM ranked").await;
    assert!(top.parse::<f64>().unwrap() > 0.3, "top decile share {top}");
    // cancelled and returned orders, guests and retired products, split payments and instalments
    for (sql, what) in [
        ("SELECT COUNT(*) FROM fact_order WHERE status = 'cancelled'", "cancelled"),
        ("SELECT COUNT(*) FROM fact_order WHERE status = 'returned'", "returned"),
        ("SELECT COUNT(*) FROM dim_customer WHERE NOT listed", "guests"),
        ("SELECT COUNT(*) FROM dim_product WHERE NOT listed", "retired products"),
        ("SELECT COUNT(*) FROM fact_payment WHERE payment_seq = 2", "split payments"),
        ("SELECT COUNT(*) FROM fact_payment WHERE installments > 1", "instalments"),
        ("SELECT COUNT(*) FROM dim_customer WHERE customer_name LIKE '%,%'", "names with commas"),
        ("SELECT COUNT(*) FROM dim_customer WHERE customer_name LIKE '%\"%'", "names with quotes"),
        ("SELECT COUNT(*) FROM dim_product WHERE product_name LIKE '%\"%'", "products with quotes"),
        (
            "SELECT COUNT(*) FROM dim_customer WHERE customer_name LIKE '%ü%' OR customer_name LIKE '%ø%'",
            "non-ASCII names",
        ),
    ] {
        let n: i64 = scalar(&w, sql).await.parse().unwrap();
        assert!(n > 0, "no {what}");
    }
}

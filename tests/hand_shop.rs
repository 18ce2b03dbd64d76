//! A tiny shop whose every KPI is worked out by hand (in the comments), checked exactly.

mod common;

use serde_json::json;
use shoplens::model::filter::FilterParams;

use common::hand::shop;

#[tokio::test]
async fn every_kpi_equals_the_hand_computation() {
    let src = shop();
    let wh = tempfile::tempdir().unwrap();
    common::import(src.path(), wh.path()).await.unwrap();
    let k = common::kpis(wh.path(), &common::filter(FilterParams::default())).await;
    // revenue lines: O1 20 + 15, O2 40, O3 27 + 5, O5 31, O7 33.3333 = 171.3333 over 5 orders
    assert_eq!(
        k["summary"],
        json!({"total_revenue": 171.33, "orders": 5, "average_order_value": 34.27, "customers": 3})
    );
    assert_eq!(
        k["monthly"],
        json!([
            {"month": "2024-01", "revenue": 35.0, "orders": 1, "customers": 1, "average_order_value": 35.0, "growth": null, "complete": true},
            // 72 / 35 - 1
            {"month": "2024-02", "revenue": 72.0, "orders": 2, "customers": 2, "average_order_value": 36.0, "growth": 1.057143, "complete": true},
            // only a cancelled order: listed with zeros
            {"month": "2024-03", "revenue": 0.0, "orders": 0, "customers": 0, "average_order_value": 0.0, "growth": -1.0, "complete": true},
            // 64.3333 / 2 = 32.16665 -> 32.17; the previous month's revenue is 0: no growth; the
            // latest order is on 2024-04-20, so April is the month in progress
            {"month": "2024-04", "revenue": 64.33, "orders": 2, "customers": 2, "average_order_value": 32.17, "growth": null, "complete": false},
        ])
    );
    assert_eq!(
        k["categories"],
        json!([
            {"category": "Home", "revenue": 120.33, "share": 0.702335, "orders": 4, "units": 7},
            {"category": "Books", "revenue": 46.0, "share": 0.268483, "orders": 2, "units": 3},
            {"category": "Uncategorized", "revenue": 5.0, "share": 0.029183, "orders": 1, "units": 1},
        ])
    );
    assert_eq!(
        k["top_products"],
        json!([
            {"product_id": "P2", "product_name": "Lamp", "category": "Home", "revenue": 73.33, "units": 2, "share": 0.428015, "cumulative_share": 0.428015},
            {"product_id": "P1", "product_name": "Mug", "category": "Home", "revenue": 47.0, "units": 5, "share": 0.274319, "cumulative_share": 0.702335},
            {"product_id": "P3", "product_name": "Book", "category": "Books", "revenue": 46.0, "units": 3, "share": 0.268483, "cumulative_share": 0.970817},
            {"product_id": "P9", "product_name": null, "category": "Uncategorized", "revenue": 5.0, "units": 1, "share": 0.029183, "cumulative_share": 1.0},
        ])
    );
    // C1: O1, O2; C2: O3, O5; G9: O7 (O6 is returned)
    assert_eq!(
        k["order_frequency"],
        json!({"buckets": [
            {"orders": "1", "customers": 1, "share": 0.333333},
            {"orders": "2", "customers": 2, "share": 0.666667},
            {"orders": "3", "customers": 0, "share": 0.0},
            {"orders": "4", "customers": 0, "share": 0.0},
            {"orders": "5+", "customers": 0, "share": 0.0}],
          "repeat_customer_rate": 0.666667})
    );
    assert_eq!(
        k["top_customers"],
        json!([
            {"customer_id": "C1", "customer_name": "Ann", "orders": 2, "revenue": 75.0, "average_order_value": 37.5, "first_order_date": "2024-01-05", "last_order_date": "2024-02-10"},
            {"customer_id": "C2", "customer_name": "Bob", "orders": 2, "revenue": 63.0, "average_order_value": 31.5, "first_order_date": "2024-02-11", "last_order_date": "2024-04-02"},
            {"customer_id": "G9", "customer_name": null, "orders": 1, "revenue": 33.33, "average_order_value": 33.33, "first_order_date": "2024-04-20", "last_order_date": "2024-04-20"},
        ])
    );
    // payments of O1, O2, O3, O5, O7 (not the cancelled O4); PayPal reads as paypal
    assert_eq!(
        k["payment_methods"],
        json!([
            {"method": "paypal", "amount": 71.0, "orders": 2, "share": 0.414397, "average_installments": 1.0},
            {"method": "credit_card", "amount": 55.0, "orders": 2, "share": 0.321012, "average_installments": 4.5},
            {"method": "bank_transfer", "amount": 33.33, "orders": 1, "share": 0.194552, "average_installments": 1.0},
            {"method": "gift_card", "amount": 12.0, "orders": 1, "share": 0.070039, "average_installments": 1.0},
        ])
    );
}

#[tokio::test]
async fn filters_restrict_the_lines_first() {
    let src = shop();
    let wh = tempfile::tempdir().unwrap();
    common::import(src.path(), wh.path()).await.unwrap();
    // country DE: C1's O1 and O2
    let k = common::kpis(wh.path(), &common::filter(FilterParams { country: Some("DE"), ..Default::default() })).await;
    assert_eq!(k["summary"], json!({"total_revenue": 75.0, "orders": 2, "average_order_value": 37.5, "customers": 1}));
    // gift_card: only O3 (27 + 5); its payment figures cover all of O3's payments
    let k = common::kpis(wh.path(), &common::filter(FilterParams { method: Some("gift_card"), ..Default::default() }))
        .await;
    assert_eq!(k["summary"]["total_revenue"], json!(32.0));
    assert_eq!(
        k["payment_methods"][0],
        json!({"method": "credit_card", "amount": 20.0, "orders": 1, "share": 0.625, "average_installments": 6.0})
    );
    // a category keeps only its lines; O1 still counts as an order of Books
    let k =
        common::kpis(wh.path(), &common::filter(FilterParams { category: Some("Books"), ..Default::default() })).await;
    assert_eq!(k["summary"], json!({"total_revenue": 46.0, "orders": 2, "average_order_value": 23.0, "customers": 2}));
    // a customer with no country matches no country; a date range lists each month of it
    let k = common::kpis(
        wh.path(),
        &common::filter(FilterParams {
            from: Some("2024-02-11"),
            to: Some("2024-05-31"),
            top: Some("1"),
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(k["summary"]["total_revenue"], json!(96.33)); // O3 32 + O5 31 + O7 33.3333
    let months: Vec<&str> = k["monthly"].as_array().unwrap().iter().map(|m| m["month"].as_str().unwrap()).collect();
    assert_eq!(months, ["2024-02", "2024-03", "2024-04", "2024-05"]);
    assert_eq!(k["top_customers"].as_array().unwrap().len(), 1);
    assert_eq!(k["top_customers"][0]["customer_id"], "C2");
}

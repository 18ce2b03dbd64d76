//! A tiny shop whose every KPI is worked out by hand (in the comments), checked exactly.

mod common;

use serde_json::json;
use shoplens::model::filter::FilterParams;

use common::hand::shop;

/// The monthly rows without their books (checked on their own).
fn without_books(months: &serde_json::Value) -> serde_json::Value {
    let mut months = months.clone();
    for m in months.as_array_mut().unwrap() {
        for key in ["gross_sales", "discounts", "returns", "shipping", "taxes", "duties", "total_sales"] {
            m.as_object_mut().unwrap().remove(key);
        }
    }
    months
}

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
    // the books of a shop without their columns: gross sales 174.8333 (O1 20 + 15.50, O2 40, O3
    // 30 + 5, O5 31, O7 33.3333), discounts 0.50 + 3, nothing else
    assert_eq!(
        k["books"],
        json!({"gross_sales": 174.83, "discounts": 3.5, "returns": 0.0, "net_sales": 171.33, "shipping": 0.0,
               "taxes": 0.0, "duties": 0.0, "total_sales": 171.33, "returned_units": 0})
    );
    assert_eq!(k["channels"], json!([{"channel": "unspecified", "revenue": 171.33, "orders": 5, "share": 1.0}]));
    assert_eq!(k["discount_codes"], json!([]));
    assert_eq!(k["monthly"][0]["gross_sales"], 35.5);
    assert_eq!(
        without_books(&k["monthly"]),
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

/// The hand shop and one more order with the books' columns, worked by hand: O8 of C3 on 15
/// March through the app, goods 60 (P2 40, P1 2 x 10), code SPRING10 for an order discount of 10,
/// shipping 4.90, tax 9.50; refunded on 25 April: 15 of its goods (no line), its shipping, 2 of
/// tax.
#[tokio::test]
async fn the_books_equal_the_hand_computation() {
    use common::hand::*;
    let orders = format!(
        "order_id,customer_id,order_ts,status,shipping,tax,order_discount,discount_code,channel\n{}\
         O8,C3,2024-03-15T10:00:00,delivered,4.90,9.50,10,SPRING10,app\n",
        ORDERS.lines().skip(1).map(|l| format!("{l},,,,,\n")).collect::<String>()
    );
    let items = format!("{ITEMS}O8,1,P2,1,40,\nO8,2,P1,2,10,\n");
    let src = common::export(&[
        ("customers.csv", CUSTOMERS),
        ("products.csv", PRODUCTS),
        ("orders.csv", &orders),
        ("order_items.csv", &items),
        ("payments.csv", PAYMENTS),
        (
            "refunds.csv",
            "refund_id,order_id,refunded_at,line_no,quantity,amount,shipping,tax\nR1,O8,2024-04-25T12:00:00,,,15,4.90,2\n",
        ),
    ]);
    let wh = tempfile::tempdir().unwrap();
    common::import(src.path(), wh.path()).await.unwrap();
    let k = common::kpis(wh.path(), &common::filter(FilterParams::default())).await;
    // the order discount of 10 over the lines' 40 and 20, to the last 0.0001 by the largest
    // remainder: 6.6667 and 3.3333, so line revenue 33.3333 + 16.6667 = 50. The refund's 15 over
    // those: 10 and 5. Net sales: 171.3333 + 50 - 15 = 206.3333; total sales add shipping 4.90 -
    // 4.90 and taxes 9.50 - 2.
    assert_eq!(
        k["books"],
        json!({"gross_sales": 234.83, "discounts": 13.5, "returns": 15.0, "net_sales": 206.33, "shipping": 0.0,
               "taxes": 7.5, "duties": 0.0, "total_sales": 213.83, "returned_units": 0})
    );
    // 221.3333 of sales over 6 orders; C3 is a customer now
    assert_eq!(
        k["summary"],
        json!({"total_revenue": 206.33, "orders": 6, "average_order_value": 36.89, "customers": 4})
    );
    // March has O8's sale and books; April its refund: 64.3333 - 15
    assert_eq!(
        k["monthly"][2],
        json!({"month": "2024-03", "revenue": 50.0, "orders": 1, "customers": 1, "average_order_value": 50.0,
               "growth": -0.305556, "complete": true, "gross_sales": 60.0, "discounts": 10.0, "returns": 0.0,
               "shipping": 4.9, "taxes": 9.5, "duties": 0.0, "total_sales": 64.4})
    );
    assert_eq!(
        k["monthly"][3],
        json!({"month": "2024-04", "revenue": 49.33, "orders": 2, "customers": 2, "average_order_value": 32.17,
               "growth": -0.013334, "complete": false, "gross_sales": 64.33, "discounts": 0.0, "returns": 15.0,
               "shipping": -4.9, "taxes": -2.0, "duties": 0.0, "total_sales": 42.43})
    );
    // Home: 120.3333 + 50 - 15 of returns; units are net of none returned
    assert_eq!(
        k["categories"],
        json!([
            {"category": "Home", "revenue": 155.33, "share": 0.752827, "orders": 5, "units": 10},
            {"category": "Books", "revenue": 46.0, "share": 0.22294, "orders": 2, "units": 3},
            {"category": "Uncategorized", "revenue": 5.0, "share": 0.024233, "orders": 1, "units": 1},
        ])
    );
    assert_eq!(
        k["channels"],
        json!([
            {"channel": "unspecified", "revenue": 171.33, "orders": 5, "share": 0.830372},
            {"channel": "app", "revenue": 35.0, "orders": 1, "share": 0.169628},
        ])
    );
    assert_eq!(k["discount_codes"], json!([{"code": "SPRING10", "orders": 1, "discounts": 10.0, "revenue": 35.0}]));
    // C3's 50 less the 15 refunded
    assert_eq!(k["top_customers"][2]["customer_id"], "C3");
    assert_eq!(k["top_customers"][2]["revenue"], 35.0);
    assert_eq!(k["top_customers"][2]["average_order_value"], 50.0);

    // April alone: O5 31 and O7 33.3333 sold, O8's refund of that month taken off, whenever O8 was
    let april = common::filter(FilterParams { from: Some("2024-04-01"), to: Some("2024-04-30"), ..Default::default() });
    let k = common::kpis(wh.path(), &april).await;
    assert_eq!(k["summary"]["total_revenue"], 49.33);
    assert_eq!(k["books"]["total_sales"], 42.43);
    // the app channel: only O8, sold in March, refunded in April
    let app = common::filter(FilterParams { channel: Some("app"), to: Some("2024-03-31"), ..Default::default() });
    let k = common::kpis(wh.path(), &app).await;
    assert_eq!(k["books"]["net_sales"], 50.0);
    assert_eq!(k["books"]["total_sales"], 64.4);
    // a category: the returned goods of its lines (10 of the Lamp, 5 of the Mugs are both Home),
    // and no shipping or tax, which are an order's
    let home = common::filter(FilterParams { category: Some("Home"), ..Default::default() });
    let k = common::kpis(wh.path(), &home).await;
    assert_eq!(k["books"]["returns"], 15.0);
    assert_eq!(k["books"]["shipping"], serde_json::Value::Null);
    assert_eq!(k["books"]["total_sales"], serde_json::Value::Null);
}

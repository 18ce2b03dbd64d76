//! The shop's books (kpis.md, "the books"): on generated shops with shipping, tax, order
//! discounts, codes, channels and dated refunds, every figure equals the independent oracle's
//! computation over the raw rows, for the whole range and under each filter; prices that include
//! tax; and the refunds' rules at import.

mod common;

use common::oracle::{self, OracleFilter};
use shoplens::generate::{GenerateOptions, generate};
use shoplens::import::{ImportOptions, RejectLimit, import_export};
use shoplens::model::filter::FilterParams;
use shoplens::warehouse::Store;
use std::path::Path;

/// A generated shop with its books.
fn books_shop(seed: u64, orders: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &GenerateOptions { orders, seed, books: true, ..Default::default() }).unwrap();
    dir
}

async fn import(src: &Path, wh: &Path, taxes_included: bool) {
    let opts = ImportOptions { taxes_included, ..Default::default() };
    let report = import_export(src, &Store::new(wh), &opts).await.unwrap();
    // a generated shop is clean: every refund is kept
    if let Some(refunds) = report.files.get("refunds.csv") {
        assert!(refunds.read > 0 && refunds.rejected == 0, "{refunds:?}");
    }
}

async fn check(wh: &Path, shop: &Path, cases: &[(FilterParams<'_>, OracleFilter)]) {
    for (params, of) in cases {
        let got = common::kpis(wh, &common::filter(params.clone())).await;
        let want = oracle::kpis(shop, of);
        if let Some(d) = oracle::diff(&got, &want, "kpis") {
            panic!("filter {params:?}: {d}");
        }
        assert!(want["summary"]["orders"].as_i64().unwrap() > 0, "{params:?} kept no order");
    }
}

fn of(top: usize) -> OracleFilter {
    OracleFilter { top, ..Default::default() }
}

#[tokio::test]
async fn every_figure_equals_the_oracle_under_each_filter() {
    let shop = books_shop(11, 6000);
    let wh = tempfile::tempdir().unwrap();
    import(shop.path(), wh.path(), false).await;
    let s = |v: &str| Some(v.to_string());
    let cases = vec![
        (FilterParams::default(), of(10)),
        // a range that cuts through refunds made after their orders' month
        (
            FilterParams { from: Some("2023-03-10"), to: Some("2023-08-20"), ..Default::default() },
            OracleFilter { from: s("2023-03-10"), to: s("2023-08-20"), ..of(10) },
        ),
        (FilterParams { category: Some("Toys"), ..Default::default() }, OracleFilter { category: s("Toys"), ..of(10) }),
        (FilterParams { country: Some("DE"), ..Default::default() }, OracleFilter { country: s("DE"), ..of(10) }),
        (FilterParams { method: Some("paypal"), ..Default::default() }, OracleFilter { method: s("paypal"), ..of(10) }),
        (
            FilterParams { channel: Some("marketplace"), top: Some("25"), ..Default::default() },
            OracleFilter { channel: s("marketplace"), ..of(25) },
        ),
        (
            FilterParams { from: Some("2024-01-01"), channel: Some("point of sale"), ..Default::default() },
            OracleFilter { from: s("2024-01-01"), channel: s("point of sale"), ..of(10) },
        ),
    ];
    check(wh.path(), shop.path(), &cases).await;

    // the shop has every part of the books, so the equalities above are not of zeros
    let k = common::kpis(wh.path(), &common::filter(FilterParams::default())).await;
    let b = &k["books"];
    for key in ["returns", "discounts", "shipping", "taxes", "duties"] {
        assert!(b[key].as_f64().unwrap() > 0.0, "{key}: {b}");
    }
    assert!(b["returned_units"].as_i64().unwrap() > 0);
    assert_eq!(k["channels"].as_array().unwrap().len(), 4, "{}", k["channels"]);
    assert!(k["discount_codes"].as_array().unwrap().len() >= 4, "{}", k["discount_codes"]);
    // gross - discounts - returns = net sales; net + shipping + taxes + duties = total sales
    let c = |v: &serde_json::Value| (v.as_f64().unwrap() * 100.0).round() as i64;
    assert_eq!(c(&b["gross_sales"]) - c(&b["discounts"]) - c(&b["returns"]), c(&b["net_sales"]));
    assert_eq!(c(&b["net_sales"]), c(&k["summary"]["total_revenue"]));
    assert_eq!(c(&b["net_sales"]) + c(&b["shipping"]) + c(&b["taxes"]) + c(&b["duties"]), c(&b["total_sales"]));
    // the months add up to the whole
    let months: i64 = k["monthly"].as_array().unwrap().iter().map(|m| c(&m["revenue"])).sum();
    assert!((months - c(&b["net_sales"])).abs() <= k["monthly"].as_array().unwrap().len() as i64);
}

#[tokio::test]
async fn prices_that_include_tax_have_it_taken_out_of_sales() {
    let shop = books_shop(5, 2500);
    // the generator's refunds are of prices before tax: read as tax included, their goods would
    // be more than the goods they return (the hand shop has a refund of prices with tax)
    std::fs::remove_file(shop.path().join("refunds.csv")).unwrap();
    let wh = tempfile::tempdir().unwrap();
    import(shop.path(), wh.path(), true).await;
    let cases = vec![
        (FilterParams::default(), OracleFilter { taxes_included: true, ..of(10) }),
        (
            FilterParams { category: Some("Health"), ..Default::default() },
            OracleFilter { category: Some("Health".into()), taxes_included: true, ..of(10) },
        ),
    ];
    check(wh.path(), shop.path(), &cases).await;
    let with = common::kpis(wh.path(), &common::filter(FilterParams::default())).await;
    let without_wh = tempfile::tempdir().unwrap();
    import(shop.path(), without_wh.path(), false).await;
    let without = common::kpis(without_wh.path(), &common::filter(FilterParams::default())).await;
    // the same money, the tax inside the goods and shipping moved out of net sales and shipping
    let c = |v: &serde_json::Value| (v.as_f64().unwrap() * 100.0).round() as i64;
    assert!(c(&with["books"]["net_sales"]) < c(&without["books"]["net_sales"]));
    assert_eq!(c(&with["books"]["taxes"]), c(&without["books"]["taxes"]));
    // read as before tax, the tax is counted twice: once inside the prices, once as taxes
    let total = |k: &serde_json::Value| c(&k["books"]["total_sales"]);
    assert_eq!(total(&without), total(&with) + c(&with["books"]["taxes"]));
}

/// A refund breaking each rule of source-format.md is rejected with its reason; the others are
/// kept, and only kept refunds count.
#[tokio::test]
async fn refunds_that_break_a_rule_are_rejected_with_their_reason() {
    let src = common::export(&[
        ("customers.csv", "customer_id\nC1\n"),
        ("products.csv", "product_id,category\nP1,Home\nP2,Books\n"),
        (
            "orders.csv",
            "order_id,customer_id,order_ts,status,shipping,tax\n\
             O1,C1,2024-01-10T10:00:00,delivered,5,10\n\
             O2,C1,2024-01-11T10:00:00,cancelled,0,0\n\
             O3,C1,2024-01-12T10:00:00,returned,0,0\n\
             O4,C1,2024-01-13T10:00:00,returned,0,0\n",
        ),
        (
            "order_items.csv",
            "order_id,line_no,product_id,quantity,unit_price\nO1,1,P1,2,30\nO1,2,P2,1,40\nO2,1,P1,1,10\nO3,1,P2,1,25\nO4,1,P1,1,8\n",
        ),
        ("payments.csv", "order_id,payment_seq,method,amount\nO1,1,card,115\n"),
        (
            "refunds.csv",
            "refund_id,order_id,refunded_at,line_no,quantity,amount,shipping,tax\n\
             R1,O1,2024-02-03T09:00:00,1,1,30,,3\n\
             R2,O1,2024-02-01T09:00:00,1,2,60,,\n\
             R3,O9,2024-02-01T09:00:00,,,1,,\n\
             R4,O2,2024-02-01T09:00:00,,,1,,\n\
             R5,O1,2024-01-09T09:00:00,,,1,,\n\
             R6,O1,2024-02-05T09:00:00,,,41,6,\n\
             R7,O1,2024-02-06T09:00:00,2,,40,5,7\n\
             R7,O1,2024-02-07T09:00:00,2,,1,,\n\
             R8,O3,2024-03-01T09:00:00,1,1,25,,\n\
             R9,O1,2024-02-07T09:00:00,3,1,1,,\n\
             R10,O1,2024-02-08T09:00:00,,,0.0001,,\n",
        ),
    ]);
    let wh = tempfile::tempdir().unwrap();
    let opts = ImportOptions { max_rejects: RejectLimit::ANY, ..Default::default() };
    let report = import_export(src.path(), &Store::new(wh.path()), &opts).await.unwrap();
    let c = &report.files["refunds.csv"];
    assert_eq!((c.read, c.loaded, c.rejected), (11, 3, 8), "{c:?}");
    let rejects = std::fs::read_to_string(wh.path().join("rejects.csv")).unwrap();
    let reason = |line: u32| {
        rejects
            .lines()
            .find(|l| l.starts_with(&format!("refunds.csv,{line},")))
            .unwrap_or_else(|| panic!("line {line} not rejected:\n{rejects}"))
            .to_string()
    };
    // R2 (1 Feb) came first, so R1 (3 Feb, one more unit of a line whose two are back) is over
    assert!(reason(2).contains("column quantity"), "{}", reason(2));
    assert!(reason(4).contains("not a loaded order"), "{}", reason(4));
    assert!(reason(5).contains("cancelled"), "{}", reason(5));
    assert!(reason(6).contains("before its order's order_ts"), "{}", reason(6));
    // 60 of goods back already: 41 more would pass the 100 of goods
    assert!(reason(7).contains("column amount"), "{}", reason(7));
    assert!(reason(9).contains("duplicate refund 'R7'"), "{}", reason(9));
    assert!(reason(11).contains("has no loaded line 3"), "{}", reason(11));
    // R7's 40 brings the goods refunded to 100: nothing is left for R10
    assert!(reason(12).contains("column amount"), "{}", reason(12));

    // kept: R2 (60 of line 1, 2 units), R7 (40 of line 2, shipping 5, tax 7), R8 (O3's 25)
    let k = common::kpis(wh.path(), &common::filter(FilterParams::default())).await;
    // sales: O1 100, O3 25 (returned, with a refund: a sale and its return); O4 returned
    // without a refund counts neither; returns 60 + 40 + 25
    assert_eq!(k["summary"]["total_revenue"], 0.0);
    assert_eq!(k["summary"]["orders"], 2);
    assert_eq!(k["books"]["gross_sales"], 125.0);
    assert_eq!(k["books"]["returns"], 125.0);
    assert_eq!(k["books"]["returned_units"], 3);
    assert_eq!(k["books"]["shipping"], 0.0);
    assert_eq!(k["books"]["taxes"], 3.0);
    assert_eq!(k["books"]["total_sales"], 3.0);
}

/// customers.md: a purchase is valued at its line revenue less all of its order's returns,
/// whenever refunded; cohorts and RFM equal the oracle's on a shop with refunds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_analyses_value_purchases_net_of_their_returns() {
    use shoplens::customers as cust;
    let shop = books_shop(7, 4000);
    let wh = tempfile::tempdir().unwrap();
    import(shop.path(), wh.path(), false).await;
    let w = shoplens::warehouse::Warehouse::open(&Store::new(wh.path())).await.unwrap();
    let s = |v: &str| Some(v.to_string());
    for (params, of) in [
        (FilterParams::default(), OracleFilter::default()),
        (
            FilterParams { category: Some("Toys"), ..Default::default() },
            OracleFilter { category: s("Toys"), ..Default::default() },
        ),
        (
            FilterParams { country: Some("DE"), ..Default::default() },
            OracleFilter { country: s("DE"), ..Default::default() },
        ),
    ] {
        let f = common::filter(params.clone());
        let got = serde_json::to_value(cust::cohorts(&w, &f).await.unwrap()).unwrap();
        if let Some(d) = oracle::diff(&got, &oracle::cohorts(shop.path(), &of), "cohorts") {
            panic!("{params:?}: {d}");
        }
        let r = cust::rfm(&w, &f, None).await.unwrap();
        let (want, _) = oracle::rfm(shop.path(), &of, None);
        if let Some(d) = oracle::diff(&serde_json::to_value(&r).unwrap(), &want, "rfm") {
            panic!("{params:?}: {d}");
        }
    }
}

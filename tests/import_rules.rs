//! Every rule of source-format.md's "Bad rows" section and every formatting freedom it grants,
//! each on a hand-written file, with the exact rejects and counts.

mod common;

use shoplens::import::{ImportError, ImportOptions, import_export};
use shoplens::model::filter::FilterParams;
use shoplens::source::Encoding;
use shoplens::warehouse::store::FileCounts;
use shoplens::warehouse::{Store, Warehouse, query};
use std::path::Path;
use std::time::Duration;

const CUSTOMERS: &str = "customer_id,customer_name,country\nC1,Ann,DE\n";
const PRODUCTS: &str = "product_id,product_name,category\nP1,Mug,Home\n";
const ORDERS: &str = "order_id,customer_id,order_ts,status\nO1,C1,2024-01-05T10:00:00,delivered\n";
const ITEMS: &str = "order_id,line_no,product_id,quantity,unit_price,discount\nO1,1,P1,1,10,\n";
const PAYMENTS: &str = "order_id,payment_seq,method,installments,amount\nO1,1,card,1,10\n";

/// An export with the default files, some replaced.
fn export(replace: &[(&str, &str)]) -> tempfile::TempDir {
    let mut files = vec![
        ("customers.csv", CUSTOMERS),
        ("products.csv", PRODUCTS),
        ("orders.csv", ORDERS),
        ("order_items.csv", ITEMS),
        ("payments.csv", PAYMENTS),
    ];
    for (name, content) in replace {
        files.iter_mut().find(|(n, _)| n == name).unwrap().1 = content;
    }
    common::export(&files)
}

/// The rejects of a warehouse as `(file, line, reason)`.
fn rejects(wh: &Path) -> Vec<(String, u64, String)> {
    let mut r = csv::Reader::from_path(wh.join("rejects.csv")).unwrap();
    r.records().map(|x| x.unwrap()).map(|x| (x[0].to_string(), x[1].parse().unwrap(), x[2].to_string())).collect()
}

fn counts(read: u64, loaded: u64, rejected: u64) -> FileCounts {
    FileCounts { read, loaded, rejected }
}

/// Imports and checks one file's counts and its rejects: `(line, words the reason contains)`.
async fn check(
    replace: &[(&str, &str)],
    file: &str,
    expect: FileCounts,
    rejected: &[(u64, &str)],
) -> tempfile::TempDir {
    let src = export(replace);
    let wh = tempfile::tempdir().unwrap();
    let report = common::import(src.path(), wh.path()).await.unwrap();
    assert_eq!(report.files[file], expect, "{file}");
    for c in report.files.values() {
        assert_eq!(c.read, c.loaded + c.rejected);
    }
    let got = rejects(wh.path());
    assert_eq!(got.len(), rejected.len(), "{got:?}");
    for ((f, line, reason), (want_line, want_reason)) in got.iter().zip(rejected) {
        assert_eq!((f.as_str(), *line), (file, *want_line), "{reason}");
        assert!(reason.contains(want_reason), "reason '{reason}' lacks '{want_reason}'");
    }
    wh
}

#[tokio::test]
async fn bad_customers_are_rejected_with_line_column_and_reason() {
    let customers = "customer_id,customer_name,signup_date\nC1,Ann,2024-01-01\n  ,Nobody,\nC1,Ann again,\nC2,Bob,2024-02-30\nC3,\"Zoë, Jr.\",\n";
    check(
        &[("customers.csv", customers)],
        "customers.csv",
        counts(5, 2, 3),
        &[
            (3, "column customer_id: is empty"),
            (4, "column customer_id: duplicate 'C1' (first at line 2)"),
            (5, "column signup_date"),
        ],
    )
    .await;
}

#[tokio::test]
async fn bad_products_are_rejected() {
    let products = "product_id,product_name,category,unit_cost,list_price\nP1,Mug,Home,1,2\nP1,Mug,Home,1,2\nP2,Lamp,Home,-1,2\nP3,Tea,,1,2.12345\nP4,Pen,,,\nP5,Cup,Home,abc,\n";
    check(
        &[("products.csv", products)],
        "products.csv",
        counts(6, 2, 4),
        &[
            (3, "duplicate 'P1'"),
            (4, "column unit_cost: '-1' is negative"),
            (5, "column list_price: '2.12345' has more than 4 fractional digits"),
            (7, "column unit_cost: 'abc' is not a decimal number"),
        ],
    )
    .await;
}

#[tokio::test]
async fn bad_orders_are_rejected_and_unknown_customers_added() {
    let orders = "order_id,customer_id,order_ts,status
O1,C1,2024-01-05T10:00:00,delivered
O1,C1,2024-01-06T10:00:00,delivered
,C1,2024-01-05,delivered
O3,,2024-01-05,delivered
O4,C1,05/01/2024,delivered
O5,C1,2024-01-05,refunded
O6,C1,,shipped
O7,GUEST,2024-01-07,shipped
";
    let wh = check(
        &[("orders.csv", orders)],
        "orders.csv",
        counts(8, 2, 6),
        &[
            (3, "column order_id: duplicate 'O1' (first at line 2)"),
            (4, "column order_id: is empty"),
            (5, "column customer_id: is empty"),
            (6, "column order_ts: '05/01/2024' is not a timestamp"),
            (7, "column status: 'refunded' is not a status"),
            (8, "column order_ts: is empty"),
        ],
    )
    .await;
    // the unknown customer joins the dimension with only its id
    let w = shoplens::warehouse::Warehouse::open(&shoplens::warehouse::Store::new(wh.path())).await.unwrap();
    let b = shoplens::warehouse::query::read_only(
        &w,
        "SELECT customer_id, customer_name, listed FROM dim_customer ORDER BY customer_key",
        std::time::Duration::from_secs(10),
    )
    .await
    .unwrap();
    let table = datafusion::arrow::util::pretty::pretty_format_batches(&b).unwrap().to_string();
    assert!(table.contains("| GUEST       |               | false  |"), "{table}");
}

#[tokio::test]
async fn bad_order_items_are_rejected_and_unknown_products_added() {
    let items = "order_id,line_no,product_id,quantity,unit_price,discount
O1,1,P1,1,10,
O1,1,P1,2,10,
O9,1,P1,1,10,
O1,0,P1,1,10,
O1,2,P1,0,10,
O1,3,P1,1.5,10,
O1,4,P1,1,-10,
O1,5,P1,2,10,20.01
O1,6,P1,1,10,-1
O1,7,,1,10,
O1,8,P1,1,,
O1,9,RETIRED,2,10,20
";
    let wh = check(
        &[("order_items.csv", items)],
        "order_items.csv",
        counts(12, 2, 10),
        &[
            (3, "column line_no: duplicate line 1 of order 'O1'"),
            (4, "column order_id: 'O9' is not a loaded order"),
            (5, "column line_no: '0' must be >= 1"),
            (6, "column quantity: '0' must be >= 1"),
            (7, "column quantity: '1.5' is not a whole number"),
            (8, "column unit_price: '-10' is negative"),
            (9, "column discount: 20.01 is more than quantity * unit_price (20.00)"),
            (10, "column discount: '-1' is negative"),
            (11, "column product_id: is empty"),
            (12, "column unit_price: is empty"),
        ],
    )
    .await;
    // the retired product is loaded, Uncategorized; its line's revenue is 2 * 10 - 20 = 0
    let k = common::kpis(wh.path(), &common::filter(FilterParams::default())).await;
    assert_eq!(k["categories"][1]["category"], "Uncategorized");
    assert_eq!(k["summary"]["total_revenue"], 10.0);
    // each reject keeps its row as read, whether parsing refused it or loading did (the
    // duplicate and the unknown order are refused after parsing, on another thread)
    let mut r = csv::Reader::from_path(wh.path().join("rejects.csv")).unwrap();
    let raw: Vec<(u64, String)> =
        r.records().map(|x| x.unwrap()).map(|x| (x[1].parse().unwrap(), x[3].to_string())).collect();
    let line = |n: u64| raw.iter().find(|(l, _)| *l == n).map(|(_, t)| t.as_str());
    assert_eq!(line(3), Some("O1,1,P1,2,10,"));
    assert_eq!(line(4), Some("O9,1,P1,1,10,"));
    assert_eq!(line(5), Some("O1,0,P1,1,10,"));
}

#[tokio::test]
async fn bad_payments_are_rejected() {
    let payments = "order_id,payment_seq,method,installments,amount
O1,1,card,,10
O1,1,card,1,10
O2,1,card,1,10
O1,0,card,1,10
O1,2,  ,1,10
O1,3,card,0,10
O1,4,card,1,-5
O1,5,card,1,
O1,6, Gift Card ,2,1.5
";
    let wh = check(
        &[("payments.csv", payments)],
        "payments.csv",
        counts(9, 2, 7),
        &[
            (3, "column payment_seq: duplicate payment 1 of order 'O1'"),
            (4, "column order_id: 'O2' is not a loaded order"),
            (5, "column payment_seq: '0' must be >= 1"),
            (6, "column method: is empty"),
            (7, "column installments: '0' must be >= 1"),
            (8, "column amount: '-5' is negative"),
            (9, "column amount: is empty"),
        ],
    )
    .await;
    // empty installments mean 1; methods are lower-cased and trimmed
    let k = common::kpis(wh.path(), &common::filter(FilterParams::default())).await;
    let methods: Vec<(&str, f64)> = k["payment_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["method"].as_str().unwrap(), m["average_installments"].as_f64().unwrap()))
        .collect();
    assert_eq!(methods, [("card", 1.0), ("gift card", 2.0)]);
}

#[tokio::test]
async fn rows_of_the_wrong_width_are_rejected() {
    let orders = "order_id,customer_id,order_ts,status\nO1,C1,2024-01-05,delivered\nO2,C1,2024-01-05\nO3,C1,2024-01-05,delivered,extra\n";
    check(
        &[("orders.csv", orders)],
        "orders.csv",
        counts(3, 1, 2),
        &[(3, "has 3 fields, the header has 4"), (4, "has 5 fields")],
    )
    .await;
}

#[tokio::test]
async fn a_latin1_file_is_refused_clearly_or_converted_with_the_flag() {
    let src = export(&[]);
    // "Müller" in Latin-1: 0xFC is not UTF-8
    std::fs::write(src.path().join("customers.csv"), b"customer_id,customer_name\nC1,Ann\nC2,M\xfcller\n").unwrap();
    let wh = tempfile::tempdir().unwrap();
    let err = common::import(src.path(), wh.path()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "customers.csv: line 3 is not UTF-8; if the file is Latin-1 (Windows-1252), import it with --encoding latin1"
    );
    assert!(!wh.path().join("CURRENT").exists());
    let opts = ImportOptions { encoding: Encoding::Latin1, ..Default::default() };
    let report = import_export(src.path(), &Store::new(wh.path()), &opts).await.unwrap();
    assert_eq!(report.files["customers.csv"], counts(2, 2, 0));
    let w = Warehouse::open(&Store::new(wh.path())).await.unwrap();
    let b =
        query::read_only(&w, "SELECT customer_name FROM dim_customer WHERE customer_id = 'C2'", Duration::from_secs(9))
            .await
            .unwrap();
    assert_eq!(datafusion::arrow::util::display::array_value_to_string(b[0].column(0), 0).unwrap(), "Müller");
}

#[tokio::test]
async fn huge_fields_and_absurd_headers_get_clear_answers() {
    // a 10 MB field: that row is rejected, the rest loads
    let mut products = String::from("product_id,product_name,category\nP1,Mug,Home\nP2,");
    products.push_str(&"x".repeat(10 << 20));
    products.push_str(",Home\nP3,Cup,Home\n");
    check(
        &[("products.csv", products.as_str())],
        "products.csv",
        counts(3, 2, 1),
        &[(3, "more than the 1048576 allowed")],
    )
    .await;
    // a million columns: the file is refused
    let mut header = String::from("customer_id");
    for i in 0..1_000_000 {
        header.push_str(&format!(",c{i}"));
    }
    header.push_str("\nC1\n");
    let src = export(&[("customers.csv", header.as_str())]);
    let wh = tempfile::tempdir().unwrap();
    let err = common::import(src.path(), wh.path()).await.unwrap_err();
    assert_eq!(err.to_string(), "customers.csv: the header has 1000001 columns, more than the 10000 allowed");
}

#[tokio::test]
async fn the_format_freedoms_are_accepted() {
    // BOM, header case and spaces, other column order, extra columns, CRLF, quoted newlines,
    // `canceled`, offsets converted to the shop's time zone, optional columns absent
    let customers = "\u{feff} Customer_ID ,COUNTRY,loyalty_tier\r\nC1,DE,gold\r\n\"C2\",\"FR\",\"multi\nline\"\r\n";
    let products = "Category,Product_Id\r\n,P1\r\n";
    let orders = "status,order_ts,customer_id,order_id,note
Delivered,2024-01-31T23:30:00Z,C1,O1,\"says \"\"hi\"\"\"
CANCELED,2024-02-01 10:00,C2,O2,
 shipped ,2024-02-29T23:59:59.500-01:00,C2,O3,
processing,2024-03-01,C2,O4,
";
    let items =
        "ORDER_ID,LINE_NO,PRODUCT_ID,QUANTITY,UNIT_PRICE\nO1,1,P1,1,10\nO2,1,P1,1,10\nO3,1,P1,1,1.25\nO4,1,P1,1,2\n";
    let src = export(&[
        ("customers.csv", customers),
        ("products.csv", products),
        ("orders.csv", orders),
        ("order_items.csv", items),
    ]);
    let wh = tempfile::tempdir().unwrap();
    let report = common::import_tz(src.path(), wh.path(), "Europe/Berlin").await.unwrap();
    for (file, c) in &report.files {
        assert_eq!(c.rejected, 0, "{file}: {:?}", rejects(wh.path()));
    }
    assert_eq!(report.files["customers.csv"], counts(2, 2, 0));
    let k = common::kpis(wh.path(), &common::filter(FilterParams::default())).await;
    // O1 is 2024-02-01 00:30 in Berlin; O2 is cancelled; O3 is 2024-03-01 01:59 in Berlin
    let months: Vec<(&str, f64)> = k["monthly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["month"].as_str().unwrap(), m["revenue"].as_f64().unwrap()))
        .collect();
    assert_eq!(months, [("2024-02", 10.0), ("2024-03", 3.25)]);
    assert_eq!(k["categories"][0]["category"], "Uncategorized");
    // in UTC the same export puts O1 in January and O3 in February
    let wh_utc = tempfile::tempdir().unwrap();
    common::import(src.path(), wh_utc.path()).await.unwrap();
    let k = common::kpis(wh_utc.path(), &common::filter(FilterParams::default())).await;
    let months: Vec<&str> = k["monthly"].as_array().unwrap().iter().map(|m| m["month"].as_str().unwrap()).collect();
    assert_eq!(months, ["2024-01", "2024-02", "2024-03"]);
}

#[tokio::test]
async fn a_missing_file_or_required_column_fails_the_import_naming_it() {
    let src = export(&[]);
    std::fs::remove_file(src.path().join("payments.csv")).unwrap();
    let wh = tempfile::tempdir().unwrap();
    let err = common::import(src.path(), wh.path()).await.unwrap_err();
    assert!(matches!(err, ImportError::Source(_)));
    assert!(err.to_string().starts_with("payments.csv: cannot be read"), "{err}");

    let src = export(&[("order_items.csv", "order_id,line_no,product_id,unit_price\nO1,1,P1,10\n")]);
    let err = common::import(src.path(), wh.path()).await.unwrap_err();
    assert_eq!(err.to_string(), "order_items.csv: the header has no column 'quantity', which is required");

    let src = export(&[("products.csv", "")]);
    let err = common::import(src.path(), wh.path()).await.unwrap_err();
    assert_eq!(err.to_string(), "products.csv: has no header row");
    // nothing was published
    assert!(!wh.path().join("CURRENT").exists());
}

/// Rows travel from the reading thread in blocks of a few thousand: rejects deep in a long file
/// keep their line and text.
#[tokio::test]
async fn rejects_far_into_a_long_file_keep_their_line_and_text() {
    let mut items = String::from("order_id,line_no,product_id,quantity,unit_price,discount\n");
    for n in 1..=9_000 {
        items.push_str(&format!("O1,{n},P1,1,1,\n"));
    }
    items.push_str("O1,4097,P1,1,1,\nO7,1,P1,1,1,\nO1,9001,P1,x,1,\n");
    let wh = check(
        &[("order_items.csv", &items)],
        "order_items.csv",
        counts(9_003, 9_000, 3),
        &[
            (9_002, "duplicate line 4097 of order 'O1'"),
            (9_003, "'O7' is not a loaded order"),
            (9_004, "column quantity: 'x'"),
        ],
    )
    .await;
    let mut r = csv::Reader::from_path(wh.path().join("rejects.csv")).unwrap();
    let raw: Vec<String> = r.records().map(|x| x.unwrap()[3].to_string()).collect();
    assert_eq!(raw, ["O1,4097,P1,1,1,", "O7,1,P1,1,1,", "O1,9001,P1,x,1,"]);
}

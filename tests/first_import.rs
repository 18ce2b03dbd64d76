//! A shop's own export, right the first time: a mistake in a mapping or an export never reaches
//! the warehouse. A mapped column the header lacks, a constant that is not a value, a column whose
//! values are not its field's kind are refused before any row is read; an import that rejects too
//! much is not published; `--check` publishes nothing; `rollback` brings the previous version
//! back; rejects and `status` name the user's file; the currency is recorded. `--detect` is run
//! on flat files laid out as common shop systems export them, and each mapping it proposes either
//! imports to the oracle's figures or is refused at import, never a wrong number with exit 0.

mod common;

use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shoplens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoplens")).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A deterministic stream of numbers (no shoplens code, no randomness between runs).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// One line of a generated shop.
struct Line {
    sku: String,
    name: String,
    category: &'static str,
    qty: i64,
    price_cents: i64,
    /// A discount rate in percent (Superstore), or a discount amount in cents (the others).
    rate_pct: i64,
    discount_cents: i64,
}

/// One order of a generated shop.
struct Order {
    id: u32,
    customer: u32,
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    /// Canonical status.
    status: &'static str,
    method: &'static str,
    country: &'static str,
    lines: Vec<Line>,
}

const STATUSES: [&str; 6] = ["delivered", "delivered", "delivered", "shipped", "cancelled", "returned"];

fn orders(seed: u64, n: u32) -> Vec<Order> {
    let mut r = Lcg(seed);
    let products = [
        ("TEA-1", "Green tea", "Tea"),
        ("MUG-2", "Mug, large", "Kitchen"),
        ("PEN-3", "Fountain pen", "Office"),
        ("BAG-4", "Tote bag", "Bags"),
        ("LMP-5", "Desk lamp", "Office"),
    ];
    (0..n)
        .map(|i| {
            let lines = (0..1 + r.next(3))
                .map(|_| {
                    let (sku, name, category) = products[r.next(products.len() as u64) as usize];
                    let price_cents = 199 + r.next(9000) as i64;
                    let qty = 1 + r.next(4) as i64;
                    let rate_pct = [0, 0, 10, 20, 50][r.next(5) as usize];
                    let discount_cents = [0, 0, 100, 250][r.next(4) as usize].min(price_cents * qty);
                    Line { sku: sku.into(), name: name.into(), category, qty, price_cents, rate_pct, discount_cents }
                })
                .collect();
            Order {
                id: 1000 + i,
                customer: 1 + r.next(n as u64 / 3 + 1) as u32,
                year: 2023 + r.next(2) as i32,
                month: 1 + r.next(12) as u32,
                day: 1 + r.next(28) as u32,
                hour: r.next(24) as u32,
                status: STATUSES[r.next(STATUSES.len() as u64) as usize],
                method: ["card", "paypal", "bank transfer"][r.next(3) as usize],
                country: ["US", "DE", "FR"][r.next(3) as usize],
                lines,
            }
        })
        .collect()
}

/// Ten-thousandths as a decimal text without trailing zeros (`22.368`).
fn dec(units: i64) -> String {
    let s = format!("{}.{:04}", units / 10_000, units % 10_000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn cents(c: i64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

/// How a layout writes its export.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    Superstore,
    WooCommerce,
    Magento,
    BigCommerce,
    Etsy,
    Amazon,
    Square,
}

impl Layout {
    const ALL: [Layout; 7] = [
        Layout::Superstore,
        Layout::WooCommerce,
        Layout::Magento,
        Layout::BigCommerce,
        Layout::Etsy,
        Layout::Amazon,
        Layout::Square,
    ];

    /// A line's revenue in ten-thousandths, as this layout's discount means it.
    fn net(self, l: &Line) -> i64 {
        match self {
            Layout::Superstore => l.price_cents * l.qty * (100 - l.rate_pct),
            Layout::Magento | Layout::Etsy => (l.price_cents * l.qty - l.discount_cents) * 100,
            _ => l.price_cents * l.qty * 100,
        }
    }

    /// Whether the layout's statuses count (the others have none: every order delivered).
    fn has_status(self) -> bool {
        !matches!(self, Layout::Superstore | Layout::Etsy | Layout::Square)
    }

    /// Whether the layout names customers (Amazon's order report does not: every order a guest).
    fn has_customers(self) -> bool {
        self != Layout::Amazon
    }

    fn status_word(self, status: &str) -> &'static str {
        match (self, status) {
            (Layout::WooCommerce, "delivered") => "completed",
            (Layout::WooCommerce, "shipped") => "processing",
            (Layout::WooCommerce, "cancelled") => "cancelled",
            (Layout::WooCommerce, _) => "refunded",
            (Layout::Magento, "delivered") => "complete",
            (Layout::Magento, "shipped") => "processing",
            (Layout::Magento, "cancelled") => "canceled",
            (Layout::Magento, _) => "pending",
            (Layout::BigCommerce, "delivered") => "Completed",
            (Layout::BigCommerce, "shipped") => "Shipped",
            (Layout::BigCommerce, "cancelled") => "Cancelled",
            (Layout::BigCommerce, _) => "Refunded",
            (Layout::Amazon, "delivered" | "shipped") => "Shipped",
            (Layout::Amazon, "cancelled") => "Cancelled",
            (Layout::Amazon, _) => "Pending",
            _ => "",
        }
    }

    /// Whether the layout's word for `status` is a revenue status.
    fn revenue(self, status: &str) -> bool {
        if !self.has_status() {
            return true;
        }
        matches!(self.status_word(status), "completed" | "processing" | "complete" | "Completed" | "Shipped")
    }

    fn write(self, orders: &[Order], path: &Path) {
        let mut out = String::new();
        let sep = if self == Layout::Amazon { "\t" } else { "," };
        let header: &[&str] = match self {
            Layout::Superstore => &[
                "Row ID",
                "Order ID",
                "Order Date",
                "Ship Date",
                "Ship Mode",
                "Customer ID",
                "Customer Name",
                "Segment",
                "Country",
                "City",
                "State",
                "Postal Code",
                "Region",
                "Product ID",
                "Category",
                "Sub-Category",
                "Product Name",
                "Sales",
                "Quantity",
                "Discount",
                "Profit",
            ],
            Layout::WooCommerce => &[
                "Order Number",
                "Order Status",
                "Order Date",
                "Billing First Name",
                "Billing Email",
                "Billing Country",
                "Payment Method Title",
                "Item SKU",
                "Item Name",
                "Quantity",
                "Item Cost",
                "Order Currency",
            ],
            Layout::Magento => &[
                "Order #",
                "Purchase Date",
                "Status",
                "Customer Email",
                "Bill-to Name",
                "Country",
                "SKU",
                "Product Name",
                "Qty Ordered",
                "Price",
                "Row Total",
                "Discount Amount",
                "Payment Method",
            ],
            Layout::BigCommerce => &[
                "Order ID",
                "Order Status",
                "Order Date",
                "Customer ID",
                "Customer Email",
                "Ship Country",
                "Product SKU",
                "Product Name",
                "Product Qty",
                "Product Unit Price",
                "Product Total Price",
                "Payment Method",
                "Order Currency Code",
            ],
            Layout::Etsy => &[
                "Sale Date",
                "Item Name",
                "Buyer",
                "Quantity",
                "Price",
                "Coupon Code",
                "Discount Amount",
                "Item Total",
                "Currency",
                "Transaction ID",
                "Listing ID",
                "Ship City",
                "Ship State",
                "Ship Country",
                "Order ID",
                "Payment Type",
                "SKU",
            ],
            Layout::Amazon => &[
                "amazon-order-id",
                "merchant-order-id",
                "purchase-date",
                "last-updated-date",
                "order-status",
                "product-name",
                "sku",
                "quantity",
                "currency",
                "item-price",
                "ship-city",
                "ship-country",
            ],
            Layout::Square => &[
                "Date",
                "Time",
                "Category",
                "Item",
                "Qty",
                "SKU",
                "Gross Sales",
                "Discounts",
                "Net Sales",
                "Transaction ID",
                "Customer ID",
                "Customer Name",
            ],
        };
        out.push_str(&header.iter().map(|h| quote(h)).collect::<Vec<_>>().join(sep));
        out.push('\n');
        let mut row_id = 0;
        for o in orders {
            let (y, m, d, h) = (o.year, o.month, o.day, o.hour);
            for (i, l) in o.lines.iter().enumerate() {
                row_id += 1;
                let gross = l.price_cents * l.qty;
                let email = format!("buyer{}@example.com", o.customer);
                let cells: Vec<String> = match self {
                    Layout::Superstore => vec![
                        row_id.to_string(),
                        format!("CA-{}-{}", y, o.id),
                        format!("{m}/{d}/{y}"),
                        format!("{m}/{}/{y}", (d + 3).min(28)),
                        "Standard Class".into(),
                        format!("CG-{:05}", o.customer),
                        format!("Customer {}", o.customer),
                        "Consumer".into(),
                        o.country.into(),
                        "Springfield".into(),
                        "Kentucky".into(),
                        "42420".into(),
                        "South".into(),
                        l.sku.clone(),
                        l.category.into(),
                        "Things".into(),
                        l.name.clone(),
                        dec(self.net(l)),
                        l.qty.to_string(),
                        dec(l.rate_pct * 100),
                        dec(self.net(l) / 7 - 3_000),
                    ],
                    Layout::WooCommerce => vec![
                        o.id.to_string(),
                        self.status_word(o.status).into(),
                        format!("{y}-{m:02}-{d:02} {h:02}:15:00"),
                        format!("Buyer {}", o.customer),
                        email,
                        o.country.into(),
                        o.method.into(),
                        l.sku.clone(),
                        l.name.clone(),
                        l.qty.to_string(),
                        cents(l.price_cents),
                        "USD".into(),
                    ],
                    Layout::Magento => vec![
                        format!("{:09}", o.id),
                        format!("{y}-{m:02}-{d:02} {h:02}:15:00"),
                        self.status_word(o.status).into(),
                        email,
                        format!("Buyer {}", o.customer),
                        o.country.into(),
                        l.sku.clone(),
                        l.name.clone(),
                        l.qty.to_string(),
                        cents(l.price_cents),
                        cents(gross),
                        cents(l.discount_cents),
                        o.method.into(),
                    ],
                    Layout::BigCommerce => vec![
                        o.id.to_string(),
                        self.status_word(o.status).into(),
                        format!("{d:02}/{m:02}/{y}"),
                        o.customer.to_string(),
                        email,
                        o.country.into(),
                        l.sku.clone(),
                        l.name.clone(),
                        l.qty.to_string(),
                        cents(l.price_cents),
                        cents(gross),
                        o.method.into(),
                        "EUR".into(),
                    ],
                    Layout::Etsy => vec![
                        format!("{m:02}/{d:02}/{}", y % 100),
                        l.name.clone(),
                        format!("buyer{}", o.customer),
                        l.qty.to_string(),
                        cents(l.price_cents),
                        if l.discount_cents > 0 { "SPRING".into() } else { String::new() },
                        cents(l.discount_cents),
                        cents(gross),
                        "GBP".into(),
                        format!("{}{i}", o.id),
                        format!("{}", 7_000 + l.sku.len()),
                        "Leeds".into(),
                        String::new(),
                        o.country.into(),
                        o.id.to_string(),
                        o.method.into(),
                        l.sku.clone(),
                    ],
                    Layout::Amazon => vec![
                        format!("114-{:07}-{}", o.id, o.id % 7),
                        String::new(),
                        format!("{y}-{m:02}-{d:02}T{h:02}:15:00+00:00"),
                        format!("{y}-{m:02}-{d:02}T23:59:00+00:00"),
                        self.status_word(o.status).into(),
                        l.name.clone(),
                        l.sku.clone(),
                        l.qty.to_string(),
                        "USD".into(),
                        cents(gross),
                        "Seattle".into(),
                        o.country.into(),
                    ],
                    Layout::Square => vec![
                        format!("{y}-{m:02}-{d:02}"),
                        format!("{h:02}:15:00"),
                        l.category.into(),
                        l.name.clone(),
                        l.qty.to_string(),
                        l.sku.clone(),
                        format!("${}", cents(gross)),
                        format!("-${}", cents(l.discount_cents)),
                        format!("${}", cents(gross - l.discount_cents)),
                        format!("T{}", o.id),
                        format!("C{}", o.customer),
                        format!("Buyer {}", o.customer),
                    ],
                };
                out.push_str(
                    &cells.iter().map(|c| if sep == "," { quote(c) } else { c.clone() }).collect::<Vec<_>>().join(sep),
                );
                out.push('\n');
            }
        }
        std::fs::write(path, out).unwrap();
    }

    /// The oracle: total revenue (rounded to cents), revenue orders, customers with one.
    fn expected(self, orders: &[Order]) -> Value {
        let revenue: Vec<&Order> = orders.iter().filter(|o| self.revenue(o.status)).collect();
        let units: i64 = revenue.iter().flat_map(|o| o.lines.iter().map(|l| self.net(l))).sum();
        let customers: std::collections::BTreeSet<String> = revenue
            .iter()
            .map(|o| if self.has_customers() { o.customer.to_string() } else { format!("guest {}", o.id) })
            .collect();
        let total = ((units + 50) / 100) as f64 / 100.0;
        json!({"total_revenue": total, "orders": revenue.len(), "customers": customers.len()})
    }
}

fn quote(s: &str) -> String {
    if s.contains([',', '"']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// Runs `--detect` on `file`, then imports it with the mapping it printed into a new warehouse
/// in `dir`: the import's output, the mapping, the warehouse. A mapping that lists money columns
/// as unused is refused first; the user then marks them ignored, as its comment says.
fn detect_and_import(dir: &Path, file: &Path, name: &str) -> (Output, String, PathBuf) {
    let out = shoplens(&["import", file.to_str().unwrap(), "--warehouse", "unused", "--detect"]);
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    let proposed = String::from_utf8(out.stdout).unwrap();
    let mapping = dir.join(format!("{name}.toml"));
    std::fs::write(&mapping, &proposed).unwrap();
    let wh = dir.join(format!("wh-{name}"));
    let args =
        ["import", file.to_str().unwrap(), "--warehouse", wh.to_str().unwrap(), "--map", mapping.to_str().unwrap()];
    let mut out = shoplens(&args);
    if proposed.contains("\nunused = ") {
        assert!(stderr(&out).contains("[file] unused"), "{name}: {}", stderr(&out));
        assert!(!wh.join("CURRENT").exists(), "{name}: published with unused money columns");
        std::fs::write(&mapping, proposed.replace("\nunused = ", "\nignore = ")).unwrap();
        out = shoplens(&args);
    }
    (out, proposed, wh)
}

/// The summary figures the oracles give.
async fn summary(wh: &Path) -> Value {
    let k = common::kpis(wh, &shoplens::model::Filter::default()).await;
    json!({
        "total_revenue": k["summary"]["total_revenue"],
        "orders": k["summary"]["orders"],
        "customers": k["summary"]["customers"],
    })
}

#[tokio::test]
async fn detected_mappings_import_right_or_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let shop = orders(7, 120);
    let mut imported = Vec::new();
    let mut report = String::new();
    for layout in Layout::ALL {
        let name = format!("{layout:?}").to_lowercase();
        let file = dir.path().join(format!("{name}.csv"));
        layout.write(&shop, &file);
        let (out, proposed, wh) = detect_and_import(dir.path(), &file, &name);
        if out.status.success() {
            assert_eq!(
                summary(&wh).await,
                layout.expected(&shop),
                "{layout:?} imported with exit 0 but wrong figures:\n{proposed}"
            );
            imported.push(layout);
        } else {
            assert_eq!(out.status.code(), Some(1), "{layout:?}: {}", stderr(&out));
            assert!(!wh.join("CURRENT").exists(), "{layout:?}: a refused import published");
            let _ = writeln!(report, "{layout:?} refused: {}", stderr(&out).trim());
        }
    }
    // the presets' samples, detected instead of preset: the presets' hand-worked figures
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/flat");
    for (file, expected) in [
        ("online_retail_ii.csv", json!({"total_revenue": 202.5, "orders": 3, "customers": 2})),
        ("shopify_orders.csv", json!({"total_revenue": 40.0, "orders": 2, "customers": 1})),
    ] {
        let (out, proposed, wh) = detect_and_import(dir.path(), &samples.join(file), file);
        assert!(out.status.success(), "{file}: {}\n{proposed}", stderr(&out));
        let got = summary(&wh).await;
        assert_eq!(got, expected, "{file}:\n{proposed}");
    }
    // every layout whose amounts are plain numbers is read right; Square's "$12.50" is refused
    assert_eq!(
        imported,
        [Layout::Superstore, Layout::WooCommerce, Layout::Magento, Layout::BigCommerce, Layout::Etsy, Layout::Amazon],
        "{report}"
    );
}

#[test]
fn detect_reads_values_not_only_names() {
    let dir = tempfile::tempdir().unwrap();
    let shop = orders(3, 80);
    let file = dir.path().join("superstore.csv");
    Layout::Superstore.write(&shop, &file);
    let out = shoplens(&["import", file.to_str().unwrap(), "--warehouse", "unused", "--detect"]);
    let m = String::from_utf8(out.stdout).unwrap();
    // the sales are after the discount, which is a rate; the dates are month-first
    for line in [
        "line_total = \"Sales\"",
        "discount_rate = \"Discount\"",
        "line_total_after_discount = true",
        "order_ts = { column = \"Order Date\", format = \"%m/%d/%Y\" }",
        "status = { constant = \"delivered\" }",
        "customer_id = \"Customer ID\"",
    ] {
        assert!(m.contains(line), "{line} missing from:\n{m}");
    }
    assert!(!m.contains("\ndiscount = "), "the rate must not be read as an amount:\n{m}");

    // dates that read day-first and month-first alike are left for the user to decide
    let ambiguous = dir.path().join("ambiguous.csv");
    std::fs::write(&ambiguous, "Order ID,Order Date,SKU,Qty,Price\nA1,03/04/2024,X,1,2.00\nA2,05/06/2024,X,1,2.00\n")
        .unwrap();
    let (out, m, _) = detect_and_import(dir.path(), &ambiguous, "ambiguous");
    assert!(m.contains("# UNDECIDED order_ts: 'Order Date' reads as dates both day-first and month-first"), "{m}");
    // and the mapping printed is refused at import, not guessed
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("field 'order_ts' must be mapped"), "{}", stderr(&out));

    // unknown status words are left as "?" for the user, so the import refuses them
    let statuses = dir.path().join("statuses.csv");
    std::fs::write(
        &statuses,
        "Order ID,Order Date,Order Status,SKU,Qty,Price\nA1,2024-01-05,Completed,X,1,2.00\n\
         A2,2024-01-06,Awaiting Moderation,X,1,2.00\n",
    )
    .unwrap();
    let (out, m, _) = detect_and_import(dir.path(), &statuses, "statuses");
    assert!(
        m.contains(
            r#"status = { column = "Order Status", map = { "Completed" = "delivered", "Awaiting Moderation" = "?" } }"#
        ),
        "{m}"
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("field status: map \"Awaiting Moderation\" = \"?\""), "{}", stderr(&out));
}

/// A small flat export and a good mapping for it.
fn small_flat(dir: &Path) -> (PathBuf, String) {
    let file = dir.join("superstore.csv");
    Layout::Superstore.write(&orders(5, 40), &file);
    let mapping = r#"
[file]
line_total_after_discount = true

[fields]
order_id = "Order ID"
order_ts = { column = "Order Date", format = "%m/%d/%Y" }
status = { constant = "delivered" }
customer_id = "Customer ID"
country = "Country"
product_id = "Product ID"
category = "Category"
quantity = "Quantity"
line_total = "Sales"
discount_rate = "Discount"
"#;
    (file, mapping.to_string())
}

fn import_with(file: &Path, wh: &Path, mapping: &str, extra: &[&str]) -> Output {
    let m = wh.with_extension("toml");
    std::fs::write(&m, mapping).unwrap();
    let mut args =
        vec!["import", file.to_str().unwrap(), "--warehouse", wh.to_str().unwrap(), "--map", m.to_str().unwrap()];
    args.extend_from_slice(extra);
    shoplens(&args)
}

fn current_version(wh: &Path) -> String {
    let m: Value = serde_json::from_str(&std::fs::read_to_string(wh.join("CURRENT")).unwrap()).unwrap();
    m["version"].as_str().unwrap().to_string()
}

#[test]
fn mapping_mistakes_are_refused_before_any_row_and_the_warehouse_stays() {
    let dir = tempfile::tempdir().unwrap();
    let (file, good) = small_flat(dir.path());
    let wh = dir.path().join("wh");
    let out = import_with(&file, &wh, &good, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let version = current_version(&wh);

    let cases = [
        // a misspelled column: named, with the closest header
        (
            good.replace("customer_id = \"Customer ID\"", "customer_id = \"Custmer ID\""),
            "superstore.csv: the header has no column 'Custmer ID' (mapped to customer_id); did you mean 'Customer ID'?",
        ),
        // a misspelled constant, before any row is read
        (
            good.replace("constant = \"delivered\"", "constant = \"deliverd\""),
            "field status: constant 'deliverd' is not a status",
        ),
        // a key that is not one
        (good.replace("format = ", "fromat = "), "field order_ts: unknown key 'fromat'"),
        // a date format that does not read the dates
        (good.replace("%m/%d/%Y", "%Y-%m-%d"), "format = \"%m/%d/%Y\" }"),
        // an amount column that is not one
        (good.replace("line_total = \"Sales\"", "line_total = \"Ship Mode\""), "'Standard Class' is not an amount"),
    ];
    for (mapping, message) in cases {
        let out = import_with(&file, &wh, &mapping, &[]);
        assert_eq!(out.status.code(), Some(1), "{mapping}\n{}", stderr(&out));
        assert!(stderr(&out).contains(message), "expected «{message}» in:\n{}", stderr(&out));
        assert_eq!(current_version(&wh), version, "the warehouse changed");
    }

    // a mapped column that is empty in every row (here a blank Ship Mode) is refused
    let blank = dir.path().join("blank.csv");
    let text = std::fs::read_to_string(&file).unwrap().replace("Standard Class", "");
    std::fs::write(&blank, text).unwrap();
    let out = import_with(&blank, &wh, &good.replace("country = \"Country\"", "method = \"Ship Mode\""), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("mapped columns empty in every one of the 80 rows")
            && stderr(&out).contains("method (column 'Ship Mode')"),
        "{}",
        stderr(&out)
    );
    assert_eq!(current_version(&wh), version);
}

#[tokio::test]
async fn an_import_that_rejects_too_much_is_not_published_and_rollback_restores() {
    let dir = tempfile::tempdir().unwrap();
    let shop = common::shop(3, 400);
    let wh = dir.path().join("wh");
    let out = shoplens(&["import", shop.path().to_str().unwrap(), "--warehouse", wh.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let good = current_version(&wh);
    let before = common::kpis(&wh, &shoplens::model::Filter::default()).await;

    // a tenth of the orders get a status that is not one
    let bad = tempfile::tempdir().unwrap();
    for f in ["customers.csv", "products.csv", "order_items.csv", "payments.csv"] {
        std::fs::copy(shop.path().join(f), bad.path().join(f)).unwrap();
    }
    let orders = std::fs::read_to_string(shop.path().join("orders.csv")).unwrap();
    let mut lines: Vec<String> = orders.lines().map(String::from).collect();
    let status_at = lines[0].split(',').position(|c| c == "status").unwrap();
    for (i, line) in lines.iter_mut().enumerate().skip(1) {
        if i % 10 == 0 {
            let mut cells: Vec<&str> = line.split(',').collect();
            cells[status_at] = "deliverd";
            *line = cells.join(",");
        }
    }
    std::fs::write(bad.path().join("orders.csv"), lines.join("\n") + "\n").unwrap();
    let out = shoplens(&["import", bad.path().to_str().unwrap(), "--warehouse", wh.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    // the orders' lines and payments go with them: their files are over the limit too
    assert!(
        err.contains("not published: order_items.csv, orders.csv, payments.csv lost more than 5 % of their rows"),
        "{err}"
    );
    assert!(err.contains("40 × column status: '…' is not a status"), "{err}");
    assert!(err.contains("--max-rejects"), "{err}");
    assert_eq!(current_version(&wh), good);
    let refused = std::fs::read_to_string(wh.join("rejects.refused.csv")).unwrap();
    assert_eq!(refused.lines().filter(|l| l.contains("'deliverd' is not a status")).count(), 40);
    assert_eq!(common::kpis(&wh, &shoplens::model::Filter::default()).await, before);

    // --check shows the same and publishes nothing
    let out = shoplens(&[
        "import",
        bad.path().to_str().unwrap(),
        "--warehouse",
        wh.to_str().unwrap(),
        "--check",
        "--max-rejects",
        "20",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("nothing was published (--check)"), "{text}");
    assert!(text.contains("the first orders as they would load"), "{text}");
    assert_eq!(current_version(&wh), good);

    // accepted on purpose, it is published; rollback brings the good version back, twice undoes
    let out =
        shoplens(&["import", bad.path().to_str().unwrap(), "--warehouse", wh.to_str().unwrap(), "--max-rejects", "10"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let accepted = current_version(&wh);
    assert_ne!(accepted, good);
    let out = shoplens(&["rollback", "--warehouse", wh.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(current_version(&wh), good);
    assert_eq!(common::kpis(&wh, &shoplens::model::Filter::default()).await, before);
    let out = shoplens(&["rollback", "--warehouse", wh.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(current_version(&wh), accepted);

    // every row of a file rejected is refused whatever the share allowed, unless 100
    let none = tempfile::tempdir().unwrap();
    for f in ["customers.csv", "products.csv", "order_items.csv", "payments.csv"] {
        std::fs::copy(shop.path().join(f), none.path().join(f)).unwrap();
    }
    let all_bad = orders
        .replace(",delivered", ",deliverd")
        .replace(",shipped", ",deliverd")
        .replace(",cancelled", ",deliverd")
        .replace(",returned", ",deliverd")
        .replace(",pending", ",deliverd")
        .replace(",processing", ",deliverd");
    std::fs::write(none.path().join("orders.csv"), all_bad).unwrap();
    let out = shoplens(&[
        "import",
        none.path().to_str().unwrap(),
        "--warehouse",
        wh.to_str().unwrap(),
        "--max-rejects",
        "99",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(current_version(&wh), accepted);
}

#[test]
fn rejects_and_status_name_the_users_file_and_the_currency_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (file, good) = small_flat(dir.path());
    // one line with a quantity that is not a number
    let mut text = std::fs::read_to_string(&file).unwrap();
    let third = text.lines().nth(3).unwrap().to_string();
    let cells: Vec<&str> = third.split(',').collect();
    let qty_at = cells.len() - 3;
    let mut cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
    cells[qty_at] = "two".into();
    text = text.replacen(&third, &cells.join(","), 1);
    std::fs::write(&file, &text).unwrap();
    let wh = dir.path().join("wh");
    let out = import_with(&file, &wh, &good, &["--currency", "usd"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rejects = std::fs::read_to_string(wh.join("rejects.csv")).unwrap();
    assert!(rejects.lines().any(|l| l.starts_with("superstore.csv,4,column quantity: 'two'")), "{rejects}");
    let out = shoplens(&["status", "--warehouse", wh.to_str().unwrap(), "--json"]);
    let imports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let record = &imports[0];
    let absolute = std::fs::canonicalize(&file).unwrap();
    assert_eq!(record["source"], absolute.display().to_string());
    assert!(record["mapping"].as_str().unwrap().ends_with("wh.toml"), "{record}");
    use sha2::Digest;
    let sha = format!("{:x}", sha2::Sha256::digest(text.as_bytes()));
    assert_eq!(record["checksums"]["superstore.csv"], sha);
    assert!(record["checksums"]["mapping"].is_string());
    let out = shoplens(&["status", "--warehouse", wh.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("currency USD"), "{text}");
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(wh.join("CURRENT")).unwrap()).unwrap();
    assert_eq!(manifest["currency"], "USD");
}

#[test]
fn first_contact_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let m = dir.path().join("m.toml");
    std::fs::write(&m, "[fields]\norder_id = \"a\"\n").unwrap();
    let out = shoplens(&[
        "import",
        dir.path().join("missing.csv").to_str().unwrap(),
        "--warehouse",
        wh.to_str().unwrap(),
        "--map",
        m.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.csv: not found"), "{}", stderr(&out));
    let (file, _) = small_flat(dir.path());
    let out = shoplens(&["import", file.to_str().unwrap(), "--warehouse", wh.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("--detect") && err.contains("--map") && err.contains("--preset"), "{err}");

    // an error and its cause are said once
    let out = shoplens(&["kpi", "--warehouse", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).matches("Not a directory").count(), 1, "{}", stderr(&out));
    let out = shoplens(&["import", dir.path().join("shop").to_str().unwrap(), "--warehouse", wh.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let shop = common::shop(2, 50);
    let out = shoplens(&["import", shop.path().to_str().unwrap(), "--warehouse", wh.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    // a port alone is loopback; a taken one is said once
    let out = shoplens(&["serve", "--warehouse", wh.to_str().unwrap(), "--addr", &port]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{err}");
    assert_eq!(err.matches("Address already in use").count(), 1, "{err}");
    let out = shoplens(&["serve", "--warehouse", wh.to_str().unwrap(), "--addr", &format!("localhost:{port}")]);
    assert!(stderr(&out).contains(&format!("cannot listen on 127.0.0.1:{port}")), "{}", stderr(&out));
    let out = shoplens(&["serve", "--warehouse", wh.to_str().unwrap(), "--addr", "shop.example:80"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("localhost:PORT or a port"), "{}", stderr(&out));
    drop(taken);
    // options an analysis does not use are refused, not ignored
    for extra in [["--from", "2024-01-01"], ["--to", "2024-01-31"], ["--top", "5"]] {
        let mut args = vec!["customers", "rfm", "--warehouse", wh.to_str().unwrap()];
        args.extend_from_slice(&extra);
        let out = shoplens(&args);
        assert_ne!(out.status.code(), Some(0), "{extra:?} was accepted");
        assert!(stderr(&out).contains(extra[0]), "{}", stderr(&out));
    }
}

#[test]
fn terminal_tables_fit_the_terminal_and_never_cut_a_number() {
    let shop = common::shop(9, 600);
    let wh = tempfile::tempdir().unwrap();
    let out = shoplens(&["import", shop.path().to_str().unwrap(), "--warehouse", wh.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json = shoplens(&["kpi", "--warehouse", wh.path().to_str().unwrap(), "--json"]);
    let k: Value = serde_json::from_slice(&json.stdout).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .args(["kpi", "--warehouse", wh.path().to_str().unwrap()])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "{} columns: {line}", line.chars().count());
    }
    // every top customer's revenue is there whole, right-aligned; names are left-aligned
    for c in k["top_customers"].as_array().unwrap() {
        let revenue = format!("{:.2}", c["revenue"].as_f64().unwrap());
        let grouped = {
            let (int, frac) = revenue.split_once('.').unwrap();
            let digits: Vec<char> = int.chars().collect();
            let mut out = String::new();
            for (i, d) in digits.iter().enumerate() {
                if i > 0 && (digits.len() - i).is_multiple_of(3) {
                    out.push(',');
                }
                out.push(*d);
            }
            format!("{out}.{frac}")
        };
        assert!(text.contains(&format!(" {grouped} ┆")), "{grouped} missing or cut:\n{text}");
    }
    // explain speaks words, with each driver's before and after
    let out = shoplens(&["explain", "--warehouse", wh.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let explained = String::from_utf8(out.stdout).unwrap();
    for words in
        ["Number of orders", "Average order value", "New customers", "before", "after", "Gross merchandise value"]
    {
        assert!(explained.contains(words), "{words} missing from:\n{explained}");
    }
    assert!(!explained.contains("average_order_value") && !explained.contains("net_revenue"), "{explained}");
    let header = text.lines().find(|l| l.contains("customer") && l.contains("name")).unwrap();
    assert!(header.contains("│ customer") && header.contains("┆ name"), "text headers are left-aligned: {header}");
}

#[test]
fn the_currency_reaches_the_report_and_explain_refuses_an_empty_or_overlapping_comparison() {
    let shop = common::shop(4, 800);
    let wh = tempfile::tempdir().unwrap();
    let w = wh.path().to_str().unwrap();
    let out = shoplens(&["import", shop.path().to_str().unwrap(), "--warehouse", w, "--currency", "usd"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // the report (the page with its data inlined) shows dollars without being told again
    let report = wh.path().join("r.html");
    let out = shoplens(&["report", "--warehouse", w, "--out", report.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read_to_string(&report).unwrap().contains(r#"data-currency="USD""#));
    let out = shoplens(&["kpi", "--warehouse", w]);
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("Amounts in USD."));
    // all time against the year before shares days with itself; against the period before, it
    // has no orders: both refused, naming the data's span
    for vs in ["previous_year", "previous_period"] {
        let out = shoplens(&["explain", "--warehouse", w, "--vs", vs]);
        assert_eq!(out.status.code(), Some(1), "{vs}");
        let err = stderr(&out);
        assert!(err.contains("nothing to compare with") && err.contains("the data covers"), "{err}");
    }
    // without dates or --vs: the default range, which compares
    let out = shoplens(&["explain", "--warehouse", w, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(e["comparison"]["orders"].as_i64().unwrap() > 0, "{e}");
}

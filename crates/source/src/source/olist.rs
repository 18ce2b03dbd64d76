//! The Olist public e-commerce dataset (Brazil, 2016–2018): a folder of related CSV files already
//! close to the canonical format. This turns it into the canonical five files: a customer is
//! Olist's `customer_unique_id` (its `customer_id` is one per order), statuses are mapped,
//! categories translated to English, the country is BR. Every canonical row carries its Olist
//! file and line in a `source_line` column.

use super::flat::FlatError;
use std::collections::HashMap;
use std::path::Path;

/// The Olist files read (`product_category_name_translation.csv` is optional).
pub const FILES: [&str; 5] = [
    "olist_orders_dataset.csv",
    "olist_order_items_dataset.csv",
    "olist_order_payments_dataset.csv",
    "olist_customers_dataset.csv",
    "olist_products_dataset.csv",
];
const TRANSLATION: &str = "product_category_name_translation.csv";

/// Olist's order statuses in the canonical vocabulary.
fn status(s: &str) -> &str {
    match s {
        "delivered" => "delivered",
        "shipped" => "shipped",
        "canceled" | "unavailable" => "cancelled",
        "invoiced" | "processing" | "approved" => "processing",
        "created" => "pending",
        other => other,
    }
}

struct Table {
    name: &'static str,
    header: HashMap<String, usize>,
    rows: Vec<(u64, csv::StringRecord)>,
}

impl Table {
    fn read(dir: &Path, name: &'static str) -> Result<Table, FlatError> {
        let err = |message: String| FlatError::File { file: name.to_string(), message };
        let mut r = csv::Reader::from_path(dir.join(name)).map_err(|e| err(e.to_string()))?;
        let header = r
            .headers()
            .map_err(|e| err(e.to_string()))?
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().trim_start_matches('\u{feff}').to_string(), i))
            .collect();
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| err(e.to_string()))?;
            rows.push((rec.position().map_or(0, |p| p.line()), rec));
        }
        Ok(Table { name, header, rows })
    }

    fn col(&self, column: &str) -> Result<usize, FlatError> {
        self.header.get(column).copied().ok_or_else(|| FlatError::File {
            file: self.name.to_string(),
            message: format!("the header has no column '{column}'"),
        })
    }
}

/// Converts the Olist folder `dir` into the canonical five files in `out`; returns the orders read.
///
/// # Errors
/// A file is missing or lacks a column the conversion needs.
pub fn convert(dir: &Path, out: &Path) -> Result<u64, FlatError> {
    let [orders, items, payments, customers, products] = FILES.map(|f| Table::read(dir, f));
    let (orders, items, payments, customers, products) = (orders?, items?, payments?, customers?, products?);
    let translation: HashMap<String, String> = match Table::read(dir, TRANSLATION) {
        Ok(t) => {
            let (from, to) = (t.col("product_category_name")?, t.col("product_category_name_english")?);
            t.rows.iter().map(|(_, r)| (r[from].to_string(), r[to].to_string())).collect()
        }
        Err(_) => HashMap::new(),
    };
    let err = |e: csv::Error| FlatError::File { file: out.display().to_string(), message: e.to_string() };
    std::fs::create_dir_all(out)
        .map_err(|e| FlatError::File { file: out.display().to_string(), message: e.to_string() })?;
    let open = |name: &str, header: &[&str]| -> Result<csv::Writer<std::fs::File>, FlatError> {
        let mut w = csv::Writer::from_path(out.join(name)).map_err(err)?;
        w.write_record(header).map_err(err)?;
        Ok(w)
    };
    let src = |t: &Table, line: u64| format!("{}:{line}", t.name);

    // customers: one per customer_unique_id; orders name Olist's per-order customer_id
    let (cid, uid, city, state) = (
        customers.col("customer_id")?,
        customers.col("customer_unique_id")?,
        customers.col("customer_city")?,
        customers.col("customer_state")?,
    );
    let mut unique_of: HashMap<&str, &str> = HashMap::new();
    let mut w = open("customers.csv", &["customer_id", "city", "region", "country", "source_line"])?;
    let mut written = std::collections::HashSet::new();
    for (line, r) in &customers.rows {
        unique_of.insert(&r[cid], &r[uid]);
        if written.insert(&r[uid]) {
            w.write_record([&r[uid], &r[city], &r[state], "BR", &src(&customers, *line)]).map_err(err)?;
        }
    }
    w.flush().map_err(|e| err(e.into()))?;

    let (pid, pcat) = (products.col("product_id")?, products.col("product_category_name")?);
    let mut w = open("products.csv", &["product_id", "category", "source_line"])?;
    for (line, r) in &products.rows {
        let cat = translation.get(&r[pcat]).map_or(&r[pcat], |t| t.as_str());
        w.write_record([&r[pid], cat, &src(&products, *line)]).map_err(err)?;
    }
    w.flush().map_err(|e| err(e.into()))?;

    let (oid, ocid, ostatus, ots) = (
        orders.col("order_id")?,
        orders.col("customer_id")?,
        orders.col("order_status")?,
        orders.col("order_purchase_timestamp")?,
    );
    let mut w = open("orders.csv", &["order_id", "customer_id", "order_ts", "status", "source_line"])?;
    for (line, r) in &orders.rows {
        let customer = unique_of.get(&r[ocid]).copied().unwrap_or(&r[ocid]);
        w.write_record([&r[oid], customer, &r[ots], status(&r[ostatus]), &src(&orders, *line)]).map_err(err)?;
    }
    w.flush().map_err(|e| err(e.into()))?;

    let (ioid, iline, ipid, iprice) =
        (items.col("order_id")?, items.col("order_item_id")?, items.col("product_id")?, items.col("price")?);
    let mut w =
        open("order_items.csv", &["order_id", "line_no", "product_id", "quantity", "unit_price", "source_line"])?;
    for (line, r) in &items.rows {
        // Olist lists each unit as its own item: quantity 1, price without freight
        w.write_record([&r[ioid], &r[iline], &r[ipid], "1", &r[iprice], &src(&items, *line)]).map_err(err)?;
    }
    w.flush().map_err(|e| err(e.into()))?;

    let (poid, pseq, ptype, pinst, pval) = (
        payments.col("order_id")?,
        payments.col("payment_sequential")?,
        payments.col("payment_type")?,
        payments.col("payment_installments")?,
        payments.col("payment_value")?,
    );
    let mut w = open("payments.csv", &["order_id", "payment_seq", "method", "installments", "amount", "source_line"])?;
    for (line, r) in &payments.rows {
        // Olist records 0 instalments for some vouchers: one payment
        let inst = if r[pinst].trim() == "0" { "1" } else { &r[pinst] };
        w.write_record([&r[poid], &r[pseq], &r[ptype], inst, &r[pval], &src(&payments, *line)]).map_err(err)?;
    }
    w.flush().map_err(|e| err(e.into()))?;
    Ok(orders.rows.len() as u64)
}

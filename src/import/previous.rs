//! An append's starting point: the current version's dimensions (with their surrogate keys),
//! orders and facts, read back from its Parquet files.

use super::tables::{Dimension, LineBatch, OrderInfo, Orders, PaymentBatch};
use crate::model::{Money, Status};
use crate::source::records::{CustomerRec, ItemRec, PaymentRec, ProductRec};
use crate::warehouse::schema::{self, Table};
use crate::warehouse::store::Version;
use crate::warehouse::writer::{TableWriter, WriteError};
use ahash::{AHashMap as HashMap, AHashSet as HashSet};
use chrono::{DateTime, NaiveDate};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Date32Type, Decimal128Type, Int32Type, TimestampMillisecondType};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};

/// The current version, loaded for an append.
pub struct Previous {
    /// Customers by key order.
    pub customers: Dimension<CustomerRec>,
    /// Products by key order.
    pub products: Dimension<ProductRec>,
    /// Payment methods by key order.
    pub methods: Dimension<()>,
    /// Orders by id.
    pub orders: Orders,
    dir: PathBuf,
}

fn batches(dir: &Path, table: &Table) -> Result<Vec<RecordBatch>, WriteError> {
    let path = dir.join(table.file_name());
    let err = |e: &dyn std::fmt::Display| WriteError { path: path.clone(), message: e.to_string() };
    let file = std::fs::File::open(&path).map_err(|e| err(&e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| err(&e))?.build().map_err(|e| err(&e))?;
    reader.collect::<Result<Vec<_>, _>>().map_err(|e| err(&e))
}

/// Typed access to a batch's columns by name (the schema is ours, so a mismatch is a bug).
struct Row<'a>(&'a RecordBatch, usize);

impl Row<'_> {
    fn col(&self, name: &str) -> &dyn Array {
        self.0.column_by_name(name).unwrap_or_else(|| panic!("warehouse table lacks {name}")).as_ref()
    }
    fn int(&self, name: &str) -> i32 {
        self.col(name).as_primitive::<Int32Type>().value(self.1)
    }
    fn text(&self, name: &str) -> Option<String> {
        let a = self.col(name);
        (!a.is_null(self.1)).then(|| a.as_string::<i32>().value(self.1).to_string())
    }
    fn money(&self, name: &str) -> Option<Money> {
        let a = self.col(name);
        (!a.is_null(self.1))
            .then(|| Money::from_units(a.as_primitive::<Decimal128Type>().value(self.1)).unwrap_or_default())
    }
    fn date(&self, name: &str) -> Option<NaiveDate> {
        let a = self.col(name);
        (!a.is_null(self.1)).then(|| {
            NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
                + chrono::Duration::days(a.as_primitive::<Date32Type>().value(self.1) as i64)
        })
    }
    fn flag(&self, name: &str) -> bool {
        self.col(name).as_boolean().value(self.1)
    }
}

fn rows(batches: &[RecordBatch]) -> impl Iterator<Item = Row<'_>> {
    batches.iter().flat_map(|b| (0..b.num_rows()).map(move |r| Row(b, r)))
}

fn sorted_by_key<'a>(b: &'a [RecordBatch], key: &str) -> Vec<Row<'a>> {
    let mut all: Vec<Row> = rows(b).collect();
    all.sort_by_key(|r| r.int(key));
    all
}

/// Loads the dimensions and orders of `version`.
///
/// # Errors
/// A table cannot be read.
pub fn load(version: &Version) -> Result<Previous, WriteError> {
    let dir = version.dir.clone();
    let mut customers = Dimension::default();
    let b = batches(&dir, &schema::DIM_CUSTOMER)?;
    for r in sorted_by_key(&b, "customer_key") {
        let id = r.text("customer_id").unwrap_or_default();
        let rec = CustomerRec {
            customer_id: id.clone(),
            customer_name: r.text("customer_name"),
            city: r.text("city"),
            region: r.text("region"),
            country: r.text("country"),
            signup_date: r.date("signup_date"),
        };
        customers.insert(id, rec, r.flag("listed"));
    }
    let mut products = Dimension::default();
    let b = batches(&dir, &schema::DIM_PRODUCT)?;
    for r in sorted_by_key(&b, "product_key") {
        let id = r.text("product_id").unwrap_or_default();
        let rec = ProductRec {
            product_id: id.clone(),
            product_name: r.text("product_name"),
            category: r.text("category").unwrap_or_default(),
            unit_cost: r.money("unit_cost"),
            list_price: r.money("list_price"),
        };
        products.insert(id, rec, r.flag("listed"));
    }
    let mut methods = Dimension::default();
    let b = batches(&dir, &schema::DIM_PAYMENT_METHOD)?;
    for r in sorted_by_key(&b, "method_key") {
        methods.insert(r.text("method").unwrap_or_default(), (), true);
    }
    let mut orders = Orders::default();
    let b = batches(&dir, &schema::FACT_ORDER)?;
    for r in rows(&b) {
        let ms = r.col("order_ts").as_primitive::<TimestampMillisecondType>().value(r.1);
        let status: Status = r.text("status").unwrap_or_default().parse().unwrap_or(Status::Pending);
        orders.insert(
            r.text("order_id").unwrap_or_default(),
            OrderInfo {
                order_key: r.int("order_key"),
                customer_key: r.int("customer_key"),
                order_ts: DateTime::from_timestamp_millis(ms).unwrap_or_default().naive_utc(),
                date_key: r.int("date_key"),
                status,
                line_count: r.int("line_count"),
                revenue: r.money("order_revenue").unwrap_or_default(),
                source_line: 0,
                lines_seen: 0,
                payments_seen: 0,
            },
        );
    }
    Ok(Previous { customers, products, methods, orders, dir })
}

impl Previous {
    /// Copies the previous order lines of orders whose lines the new export did not replace,
    /// with their order's current day, customer and status.
    pub fn copy_lines(
        &self,
        by_key: &HashMap<i32, &OrderInfo>,
        replaced: &HashSet<i32>,
        out: &mut TableWriter,
    ) -> Result<(), WriteError> {
        for b in batches(&self.dir, &schema::FACT_ORDER_LINE)? {
            let mut lines = LineBatch::default();
            for r in rows(std::slice::from_ref(&b)) {
                let key = r.int("order_key");
                let (Some(order), false) = (by_key.get(&key), replaced.contains(&key)) else { continue };
                let item = ItemRec {
                    order_id: r.text("order_id").unwrap_or_default(),
                    line_no: r.int("line_no"),
                    product_id: String::new(),
                    quantity: r.int("quantity"),
                    unit_price: r.money("unit_price").unwrap_or_default(),
                    discount: r.money("discount").unwrap_or_default(),
                    line_revenue: r.money("line_revenue").unwrap_or_default(),
                };
                lines.push(&item, order, r.int("product_key"));
            }
            if !lines.is_empty() {
                out.write(&lines.take())?;
            }
        }
        Ok(())
    }

    /// Copies the previous payments of orders whose payments the new export did not replace.
    pub fn copy_payments(
        &self,
        by_key: &HashMap<i32, &OrderInfo>,
        replaced: &HashSet<i32>,
        out: &mut TableWriter,
    ) -> Result<(), WriteError> {
        for b in batches(&self.dir, &schema::FACT_PAYMENT)? {
            let mut payments = PaymentBatch::default();
            for r in rows(std::slice::from_ref(&b)) {
                let key = r.int("order_key");
                let (Some(order), false) = (by_key.get(&key), replaced.contains(&key)) else { continue };
                let p = PaymentRec {
                    order_id: r.text("order_id").unwrap_or_default(),
                    payment_seq: r.int("payment_seq"),
                    method: String::new(),
                    installments: r.int("installments"),
                    amount: r.money("amount").unwrap_or_default(),
                };
                payments.push(&p, order, r.int("method_key"));
            }
            if !payments.is_empty() {
                out.write(&payments.take())?;
            }
        }
        Ok(())
    }
}

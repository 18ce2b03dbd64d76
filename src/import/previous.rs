//! An append's starting point: what the new export needs of the current version, read from its
//! Parquet files without loading the whole warehouse. The small dimensions are read whole; of the
//! customers and orders only the keys of those the export names (found by scanning two columns);
//! of the facts only the months the append touches. Everything else is hard-linked into the new
//! version, so an append costs what it adds.

use super::tables::{
    Dimension, LineBatch, LineFact, LineFigures, NO_EXTRA, OrderInfo, Orders, PackedCustomer, PaymentBatch,
    customer_batch,
};
use crate::model::{Money, Status};
use crate::source::records::{OrderMoney, PaymentRec, ProductRec};
use crate::source::{Encoding, SourceError, SourceFile, TableReader};
use crate::warehouse::parts::{self, FactRows, MonthWriter, chunk_file, chunk_of, month_file, month_of};
use crate::warehouse::schema::{self, Table};
use crate::warehouse::store::Version;
use crate::warehouse::writer::{TableWriter, WriteError};
use ahash::{AHashMap as HashMap, AHashSet as HashSet};
use chrono::DateTime;
use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::{concat_batches, filter_record_batch, sort_to_indices, take_record_batch};
use datafusion::arrow::datatypes::{Decimal128Type, Int32Type, TimestampMillisecondType};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The ids an export names: what an append must look up in the current version.
#[derive(Default)]
pub struct Named {
    /// Order ids of orders.csv, order_items.csv and payments.csv.
    pub orders: HashSet<String>,
    /// Customer ids of customers.csv and orders.csv.
    pub customers: HashSet<String>,
}

/// Reads the ids the export in `source` names: a quick pass over its files before the import
/// proper (rows it cannot read are left to the import to reject).
///
/// # Errors
/// A file cannot be opened or read.
pub(crate) fn named_ids(source: &Path, encoding: Encoding) -> Result<Named, SourceError> {
    let mut named = Named::default();
    for (file, columns) in [
        (SourceFile::Customers, &["customer_id"][..]),
        (SourceFile::Orders, &["order_id", "customer_id"][..]),
        (SourceFile::OrderItems, &["order_id"][..]),
        (SourceFile::Payments, &["order_id"][..]),
    ] {
        let mut reader = TableReader::open(source, file, encoding)?;
        while let Some(row) = reader.next_row()? {
            let Ok(row) = row else { continue };
            for &column in columns {
                let Ok(id) = row.get(column) else { continue };
                let set = if column == "order_id" { &mut named.orders } else { &mut named.customers };
                if !set.contains(id) {
                    set.insert(id.to_string());
                }
            }
        }
    }
    Ok(named)
}

/// What an import starts from: the previous version's keys as far as the export names them
/// (empty for an import that replaces the warehouse).
#[derive(Default)]
pub struct Start {
    /// Customers: the keys of those the export names, and the highest key.
    pub customers: Dimension<PackedCustomer>,
    /// Products, whole.
    pub products: Dimension<ProductRec>,
    /// Payment methods, whole.
    pub methods: Dimension<()>,
    /// Sales channels, whole.
    pub channels: Dimension<()>,
    /// The orders the export names that the version has.
    pub orders: Orders,
    /// The highest order key.
    pub(crate) last_order_key: i32,
}

/// An order of the previous version that an append lists again, as its copied facts take it on.
pub(crate) struct Relisted<'a> {
    /// The order as this import has it.
    pub(crate) info: &'a OrderInfo,
    /// Whether it is a sale.
    pub(crate) is_sale: bool,
    /// Its codes.
    pub(crate) codes: Option<&'a str>,
}

/// The current version, as far as an append needs it once the import has started.
pub struct Previous {
    /// The months (`YYYYMM`) the orders the export names were in.
    pub months: BTreeSet<i32>,
    /// Customer keys per `dim_customer` part.
    pub key_chunk: i32,
    dir: PathBuf,
}

fn err(path: &Path) -> impl Fn(&dyn std::fmt::Display) -> WriteError + '_ {
    move |e| WriteError { path: path.to_path_buf(), message: e.to_string() }
}

/// The batches of one Parquet file, of the named columns only (all when `columns` is empty).
fn read_file(path: &Path, columns: &[&str]) -> Result<Vec<RecordBatch>, WriteError> {
    let e = err(path);
    let file = std::fs::File::open(path).map_err(|x| e(&x))?;
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|x| e(&x))?;
    if !columns.is_empty() {
        let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
        builder = builder.with_projection(mask);
    }
    builder.build().map_err(|x| e(&x))?.collect::<Result<Vec<_>, _>>().map_err(|x| e(&x))
}

/// The batches of every file of `table` in `dir`.
fn read_table(dir: &Path, table: &Table, columns: &[&str]) -> Result<Vec<RecordBatch>, WriteError> {
    let mut out = Vec::new();
    for file in parts::files(dir, table)? {
        out.extend(read_file(&file, columns)?);
    }
    Ok(out)
}

/// Typed access to a batch's columns by name (the schema is ours, so a mismatch is a bug).
struct Row<'a>(&'a RecordBatch, usize);

impl Row<'_> {
    fn col(&self, name: &str) -> &dyn Array {
        self.0.column_by_name(name).unwrap_or_else(|| panic!("warehouse table lacks {name}")).as_ref()
    }
    fn has(&self, name: &str) -> bool {
        self.0.column_by_name(name).is_some()
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

/// The keys of the ids in `wanted` among the `(id, key)` columns of `table`, and the highest key.
fn keys_of(
    dir: &Path,
    table: &Table,
    id: &str,
    key: &str,
    wanted: &HashSet<String>,
) -> Result<(HashMap<String, i32>, i32), WriteError> {
    let mut found = HashMap::new();
    let mut last = 0;
    // file by file: only one month's or key chunk's two columns are in memory at once
    for file in parts::files(dir, table)? {
        for b in read_file(&file, &[id, key])? {
            let (ids, keys) = (b.column_by_name(id), b.column_by_name(key));
            let (Some(ids), Some(keys)) = (ids, keys) else { continue };
            let (ids, keys) = (ids.as_string::<i32>(), keys.as_primitive::<Int32Type>());
            last = last.max(datafusion::arrow::compute::max(keys).unwrap_or(0));
            for r in 0..b.num_rows() {
                let i = ids.value(r);
                if wanted.contains(i) {
                    found.insert(i.to_string(), keys.value(r));
                }
            }
        }
    }
    Ok((found, last))
}

/// Loads what an append of an export naming `named` needs of `version`.
///
/// # Errors
/// A table cannot be read.
pub fn load(version: &Version, named: &Named) -> Result<(Start, Previous), WriteError> {
    let dir = version.dir.clone();
    let (known, last_customer) = keys_of(&dir, &schema::DIM_CUSTOMER, "customer_id", "customer_key", &named.customers)?;
    let customers = Dimension::continuing(last_customer, known);
    let mut products = Dimension::default();
    let b = read_table(&dir, &schema::DIM_PRODUCT, &[])?;
    for r in sorted_by_key(&b, "product_key") {
        let id = r.text("product_id").unwrap_or_default();
        let rec = ProductRec {
            product_id: id.clone(),
            product_name: r.text("product_name"),
            category: r.text("category").unwrap_or_default(),
            // a warehouse written before variants has no such column
            variant_of: r.has("variant_of").then(|| r.text("variant_of")).flatten(),
            unit_cost: r.money("unit_cost"),
            list_price: r.money("list_price"),
        };
        products.insert(&id, rec, r.flag("listed"));
    }
    let mut methods = Dimension::default();
    let b = read_table(&dir, &schema::DIM_PAYMENT_METHOD, &[])?;
    for r in sorted_by_key(&b, "method_key") {
        methods.insert(&r.text("method").unwrap_or_default(), (), true);
    }
    let mut channels = Dimension::default();
    let b = read_table(&dir, &schema::DIM_CHANNEL, &[])?;
    for r in sorted_by_key(&b, "channel_key") {
        channels.insert(&r.text("channel").unwrap_or_default(), (), true);
    }

    let (order_keys, last_order_key) = keys_of(&dir, &schema::FACT_ORDER, "order_id", "order_key", &named.orders)?;
    let wanted: HashSet<i32> = order_keys.values().copied().collect();
    let mut orders = Orders::default();
    let mut months = BTreeSet::new();
    if !wanted.is_empty() {
        // file by file, like `keys_of`
        for file in parts::files(&dir, &schema::FACT_ORDER)? {
            for b in read_file(&file, &[])? {
                for r in rows(std::slice::from_ref(&b)) {
                    if !wanted.contains(&r.int("order_key")) {
                        continue;
                    }
                    let ms = r.col("order_ts").as_primitive::<TimestampMillisecondType>().value(r.1);
                    let status: Status = r.text("status").unwrap_or_default().parse().unwrap_or(Status::Pending);
                    let date_key = r.int("date_key");
                    months.insert(month_of(date_key));
                    let money = |c: &str| r.money(c).unwrap_or_default();
                    // an order's books as written: the shipping with any tax inside already out
                    let books = OrderMoney {
                        shipping: money("shipping"),
                        tax: money("tax"),
                        duties: money("duties"),
                        order_discount: money("order_discount"),
                    };
                    let codes = r.text("discount_codes");
                    let id = r.text("order_id").unwrap_or_default();
                    let position = orders.insert(
                        &id,
                        OrderInfo {
                            order_key: r.int("order_key"),
                            customer_key: r.int("customer_key"),
                            order_ts: DateTime::from_timestamp_millis(ms).unwrap_or_default().naive_utc(),
                            date_key,
                            status,
                            line_count: r.int("line_count"),
                            channel_key: r.int("channel_key"),
                            extra: NO_EXTRA,
                            discounts: i64::try_from(money("discounts").units()).unwrap_or(0),
                            revenue: r.money("order_revenue").and_then(|m| i64::try_from(m.units()).ok()).unwrap_or(0),
                            source_line: 0,
                            lines_seen: 0,
                            payments_seen: 0,
                        },
                    );
                    orders.set_extra(position, books, codes.as_deref());
                }
            }
        }
    }
    let start = Start { customers, products, methods, channels, orders, last_order_key };
    Ok((start, Previous { months, key_chunk: version.manifest.key_chunk.max(1), dir }))
}

/// The first and last order day (`date_key`) in the `fact_order` of the version being written in
/// `version_dir`: the smallest key of its first month's file, the largest of its last.
pub(crate) fn order_days(version_dir: &Path) -> Result<(Option<i32>, Option<i32>), WriteError> {
    let files = parts::files(version_dir, &schema::FACT_ORDER)?;
    let keys = |file: Option<&PathBuf>, pick: fn(i32, i32) -> i32| -> Result<Option<i32>, WriteError> {
        let Some(file) = file else { return Ok(None) };
        let mut out = None;
        for b in read_file(file, &["date_key"])? {
            let dates = b.column(0).as_primitive::<Int32Type>();
            out = dates.iter().flatten().chain(out).reduce(pick);
        }
        Ok(out)
    };
    Ok((keys(files.first(), i32::min)?, keys(files.last(), i32::max)?))
}

/// The `(date_key, order_key, n)` sort keys of rows `first` and `last` of a fact batch.
fn sort_keys(b: &RecordBatch, n: &str, rows: [usize; 2]) -> [(i32, i32, i32); 2] {
    let col = |c: &str| b.column_by_name(c).expect("fact column").as_primitive::<Int32Type>().clone();
    let (d, o, k) = (col("date_key"), col("order_key"), col(n));
    rows.map(|r| (d.value(r), o.value(r), k.value(r)))
}

/// `b` without the rows whose `order_key` is in `drop`.
fn without(b: &RecordBatch, drop: &HashSet<i32>) -> Result<RecordBatch, WriteError> {
    let keys = b.column_by_name("order_key").expect("fact column").as_primitive::<Int32Type>();
    let keep: BooleanArray = keys.iter().map(|k| Some(!k.is_some_and(|k| drop.contains(&k)))).collect();
    filter_record_batch(b, &keep).map_err(|e| err(Path::new("fact"))(&e))
}

impl Previous {
    /// The file names of the months in `months`.
    fn month_files(months: &BTreeSet<i32>) -> HashSet<String> {
        months.iter().map(|m| month_file(*m)).collect()
    }

    /// Writes the previous rows of `table` in `months`, but those of orders in `skip`, to `out`;
    /// rows of orders in `changed` (which the append relisted) go through `rebuild` instead, to
    /// take on the order's new day, customer and status.
    fn copy_months<B: FactRows>(
        &self,
        table: &'static Table,
        months: &BTreeSet<i32>,
        skip: &HashSet<i32>,
        changed: &HashSet<i32>,
        out: &mut MonthWriter<B>,
        mut rebuild: impl FnMut(Row, &mut MonthWriter<B>) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        // the sort key's last column: the line, payment or order number
        let n = table.sorted_by.last().expect("facts have a sort order");
        let drop: HashSet<i32> = skip.union(changed).copied().collect();
        for month in months {
            let path = table.path(&self.dir).join(month_file(*month));
            if !path.exists() {
                continue;
            }
            for b in read_file(&path, &[])? {
                let kept = without(&b, &drop)?;
                if kept.num_rows() > 0 {
                    let [first, last] = sort_keys(&kept, n, [0, kept.num_rows() - 1]);
                    out.batch(kept, first, last)?;
                }
                for r in rows(std::slice::from_ref(&b)) {
                    let key = r.int("order_key");
                    if changed.contains(&key) && !skip.contains(&key) {
                        rebuild(r, out)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Copies the previous order lines of `months`, but those of orders whose lines the new
    /// export replaced; lines of relisted orders take on their order's new attributes.
    pub(crate) fn copy_lines(
        &self,
        months: &BTreeSet<i32>,
        by_key: &HashMap<i32, Relisted<'_>>,
        replaced: &HashSet<i32>,
        out: &mut MonthWriter<LineBatch>,
    ) -> Result<(), WriteError> {
        let changed: HashSet<i32> = by_key.keys().copied().collect();
        self.copy_months(&schema::FACT_ORDER_LINE, months, replaced, &changed, out, |r, out| {
            let relisted = &by_key[&r.int("order_key")];
            let order = relisted.info;
            let money = |c: &str| r.money(c).unwrap_or_default();
            let (order_discount, tax) = (money("order_discount"), money("tax"));
            let order_id = r.text("order_id").unwrap_or_default();
            let figures = LineFigures::new(
                r.int("line_no"),
                r.int("quantity"),
                money("unit_price"),
                money("discount"),
                // before the shares, which the line keeps
                Money::from_units(money("line_revenue").units() + order_discount.units() + tax.units())
                    .unwrap_or_default(),
            );
            let line = LineFact {
                order_id: &order_id,
                figures,
                product_key: r.int("product_key"),
                order_discount,
                tax,
                is_sale: relisted.is_sale,
                codes: relisted.codes,
            };
            out.row((order.date_key, order.order_key, figures.line_no), |b| b.push(&line, order))
        })
    }

    /// Copies the previous payments of `months`, but those of orders whose payments the new
    /// export replaced.
    pub(crate) fn copy_payments(
        &self,
        months: &BTreeSet<i32>,
        by_key: &HashMap<i32, Relisted<'_>>,
        replaced: &HashSet<i32>,
        out: &mut MonthWriter<PaymentBatch>,
    ) -> Result<(), WriteError> {
        let changed: HashSet<i32> = by_key.keys().copied().collect();
        self.copy_months(&schema::FACT_PAYMENT, months, replaced, &changed, out, |r, out| {
            let order = by_key[&r.int("order_key")].info;
            let p = PaymentRec {
                order_id: r.text("order_id").unwrap_or_default(),
                payment_seq: r.int("payment_seq"),
                method: String::new(),
                installments: r.int("installments"),
                amount: r.money("amount").unwrap_or_default(),
            };
            let method_key = r.int("method_key");
            out.row((order.date_key, order.order_key, p.payment_seq), |b| b.push(&p, order, method_key))
        })
    }

    /// Copies the previous orders of `months` but the ones in `relisted` (which the caller
    /// writes with their new attributes).
    pub(crate) fn copy_orders(
        &self,
        months: &BTreeSet<i32>,
        relisted: &HashSet<i32>,
        out: &mut MonthWriter<super::tables::OrderBatch>,
    ) -> Result<(), WriteError> {
        self.copy_months(&schema::FACT_ORDER, months, relisted, &HashSet::new(), out, |_, _| Ok(()))
    }

    /// Writes the key chunks of `dim_customer` that `customers` changed or added to, from the
    /// previous chunk and the new rows, and hard-links the others.
    pub(crate) fn write_customers(
        &self,
        customers: &Dimension<PackedCustomer>,
        version_dir: &Path,
    ) -> Result<(), WriteError> {
        let table = &schema::DIM_CUSTOMER;
        let touched: BTreeSet<i32> = customers.touched_keys().map(|k| chunk_of(k, self.key_chunk)).collect();
        let names: HashSet<String> = touched.iter().map(|c| chunk_file(*c)).collect();
        std::fs::create_dir_all(table.path(version_dir)).map_err(|e| err(version_dir)(&e))?;
        for chunk in touched {
            let keys = chunk * self.key_chunk + 1..(chunk + 1) * self.key_chunk + 1;
            let fresh = customer_batch(customers.rows_in(keys.clone()));
            let replaced: HashSet<i32> = customers.rows_in(keys).map(|(k, ..)| k).collect();
            let old_path = table.path(&self.dir).join(chunk_file(chunk));
            let mut all = Vec::new();
            if old_path.exists() {
                for b in read_file(&old_path, &[])? {
                    let keys = b.column_by_name("customer_key").expect("key column").as_primitive::<Int32Type>();
                    let keep: BooleanArray =
                        keys.iter().map(|k| Some(!k.is_some_and(|k| replaced.contains(&k)))).collect();
                    all.push(filter_record_batch(&b, &keep).map_err(|e| err(&old_path)(&e))?);
                }
            }
            all.push(fresh);
            let e = err(&old_path);
            let merged = concat_batches(&table.schema(), &all).map_err(|x| e(&x))?;
            let key = merged.column_by_name("customer_key").expect("key column");
            let order = sort_to_indices(key, None, None).map_err(|x| e(&x))?;
            let sorted = take_record_batch(&merged, &order).map_err(|x| e(&x))?;
            let mut out = TableWriter::create(&table.path(version_dir), &chunk_file(chunk), table)?;
            out.write(&sorted)?;
            out.close()?;
        }
        parts::link_parts(&self.dir, version_dir, table, |name| !names.contains(name))
    }

    /// Whether the staged version in `version_dir` gives a product of this version another
    /// category: `agg_line` marks one line per order and category, so every month's marks must
    /// then be made again, not only the touched months'.
    ///
    /// # Errors
    /// A product table cannot be read.
    pub(crate) fn recategorized(&self, version_dir: &Path) -> Result<bool, WriteError> {
        let categories = |dir: &Path| -> Result<HashMap<i32, String>, WriteError> {
            let b = read_table(dir, &schema::DIM_PRODUCT, &["product_key", "category"])?;
            Ok(rows(&b).map(|r| (r.int("product_key"), r.text("category").unwrap_or_default())).collect())
        };
        let (before, now) = (categories(&self.dir)?, categories(version_dir)?);
        Ok(before.iter().any(|(key, category)| now.get(key).is_some_and(|c| c != category)))
    }

    /// The months (`YYYYMM`) with orders in the staged version in `version_dir`, once its facts
    /// are complete (the touched months written, the others linked).
    ///
    /// # Errors
    /// The folder cannot be listed.
    pub(crate) fn months_in(version_dir: &Path) -> Result<BTreeSet<i32>, WriteError> {
        let files = parts::files(version_dir, &schema::FACT_ORDER)?;
        Ok(files.iter().filter_map(|f| f.file_stem()?.to_str()?.replace('-', "").parse::<i32>().ok()).collect())
    }

    /// Hard-links the months of `table` not in `months` into the new version.
    pub(crate) fn link_months(
        &self,
        version_dir: &Path,
        table: &Table,
        months: &BTreeSet<i32>,
    ) -> Result<(), WriteError> {
        let names = Previous::month_files(months);
        parts::link_parts(&self.dir, version_dir, table, |name| !names.contains(name))
    }
}

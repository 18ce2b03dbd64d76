//! Import: reads an export in the canonical format, validates every row, and writes a new
//! warehouse version beside the current one, published atomically. Every bad row goes to the
//! rejects with its file, line and reason; for every file, read = loaded + rejected.

pub mod previous;
pub mod tables;

use crate::model::ShopTz;
use crate::model::text::csv_safe;
use crate::source::records::{CustomerRec, ItemRec, OrderRec, PaymentRec, ProductRec};
use crate::source::{Row, SourceError, SourceFile, TableReader};
use crate::warehouse::schema::{self, Table};
use crate::warehouse::store::{FileCounts, ImportRecord, Manifest, REJECTS, Store, StoreError};
use crate::warehouse::writer::{self, TableWriter, WriteError};
use ahash::{AHashMap as HashMap, AHashSet as HashSet};
use chrono::NaiveDate;
use datafusion::arrow::record_batch::RecordBatch;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tables::{LineBatch, OrderInfo, Orders, PaymentBatch};

/// Rows per fact batch: the import's memory for facts is bounded by this, not by the export.
const BATCH_ROWS: usize = 64 * 1024;

/// About the fewest bytes a row of orders.csv (customers.csv) takes: the estimate of how many
/// orders (customers) to make room for at once.
const ORDER_ROW_BYTES: usize = 48;
const CUSTOMER_ROW_BYTES: usize = 48;

/// Receives the import's progress; the CLI draws it as a bar, tests ignore it.
pub trait Progress: Send + Sync {
    /// A file of `bytes` bytes starts.
    fn start_file(&self, file: &str, bytes: u64);
    /// `bytes` of the current file are done.
    fn advance(&self, bytes: u64);
    /// A later phase starts (writing and sorting the tables).
    fn phase(&self, name: &str);
}

/// How to import.
#[derive(Clone, Default)]
pub struct ImportOptions {
    /// The shop's time zone, for bucketing timestamps with an offset into days.
    pub timezone: ShopTz,
    /// Where progress goes, if anywhere.
    pub progress: Option<Arc<dyn Progress>>,
    /// The files' character encoding.
    pub encoding: crate::source::Encoding,
    /// Add to the current version instead of replacing it: new orders are added, an order seen
    /// before is replaced by its newer version, dimensions keep their keys.
    pub append: bool,
    /// Memory the import's sorts may hold before they spill to disk.
    pub memory: crate::model::MemoryLimit,
}

/// What an import did.
#[derive(Clone, Debug)]
pub struct ImportReport {
    /// The version it published.
    pub version: String,
    /// Per source file counts, by file name.
    pub files: BTreeMap<String, FileCounts>,
    /// Where the rejects are.
    pub rejects: PathBuf,
    /// The first few rejects, `(file, line, reason)`, to show the user at once.
    pub first_rejects: Vec<(String, u64, String)>,
}

/// Why an import failed; the warehouse then stays exactly as it was.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A source file is missing, unreadable or lacks a required column.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The warehouse cannot be locked, read or published.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A table or the rejects cannot be written.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Writes rejected rows as CSV: `file,line,reason,record`.
struct Rejects {
    path: PathBuf,
    csv: csv::Writer<std::fs::File>,
    first: Vec<(String, u64, String)>,
}

/// How many rejects an import report quotes.
const QUOTED_REJECTS: usize = 10;

impl Rejects {
    fn create(path: PathBuf) -> Result<Rejects, WriteError> {
        let wrap = |e: csv::Error| WriteError { path: path.clone(), message: e.to_string() };
        let mut csv = csv::Writer::from_path(&path).map_err(wrap)?;
        csv.write_record(["file", "line", "reason", "record"]).map_err(wrap)?;
        Ok(Rejects { path, csv, first: Vec::new() })
    }

    fn add(&mut self, file: SourceFile, line: u64, reason: &str, raw: &str) -> Result<(), WriteError> {
        if self.first.len() < QUOTED_REJECTS {
            self.first.push((file.file_name().to_string(), line, reason.to_string()));
        }
        // the rejects are opened in spreadsheets: a raw row must not run as a formula there
        let (reason, raw) = (csv_safe(reason), csv_safe(raw));
        self.csv
            .write_record([file.file_name(), &line.to_string(), &reason, &raw])
            .map_err(|e| WriteError { path: self.path.clone(), message: e.to_string() })
    }

    fn close(mut self) -> Result<(), WriteError> {
        self.csv.flush().map_err(|e| WriteError { path: self.path.clone(), message: e.to_string() })
    }
}

/// Reads every row of one file, handing each well-shaped row to `load`; a row `load` refuses
/// (with the reason) or that is mis-shaped goes to the rejects.
fn read_rows(
    dir: &Path,
    file: SourceFile,
    encoding: crate::source::Encoding,
    rejects: &mut Rejects,
    progress: Option<&dyn Progress>,
    mut load: impl FnMut(&Row) -> Result<(), String>,
) -> Result<(FileCounts, String), ImportError> {
    let mut reader = TableReader::open(dir, file, encoding)?;
    if let Some(p) = progress {
        p.start_file(file.file_name(), reader.size());
    }
    let mut counts = FileCounts::default();
    loop {
        if counts.read % 8192 == 0
            && let Some(p) = progress
        {
            p.advance(reader.position());
        }
        let Some(row) = reader.next_row()? else { break };
        counts.read += 1;
        let outcome = match row {
            Err(shape) => Err((shape.line, shape.reason, shape.raw)),
            Ok(row) => load(&row).map_err(|reason| (row.line, reason, row.raw())),
        };
        match outcome {
            Ok(()) => counts.loaded += 1,
            Err((line, reason, raw)) => {
                counts.rejected += 1;
                rejects.add(file, line, &reason, &raw)?;
            }
        }
    }
    if let Some(p) = progress {
        p.advance(reader.size());
    }
    Ok((counts, reader.checksum()))
}

/// Builds the batch of a table's rows in a range.
type Chunk<'a> = &'a (dyn Fn(Range<usize>) -> RecordBatch + Sync);

/// Writes each `(table, rows, chunk)` on a thread of its own, built and written `BATCH_ROWS` rows
/// at a time: building and encoding use both cores, and no table is ever whole in memory twice.
fn write_side_by_side(dir: &Path, tables: &[(&Table, usize, Chunk)]) -> Result<(), WriteError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = tables
            .iter()
            .map(|(table, rows, chunk)| {
                scope.spawn(move || {
                    let mut out = TableWriter::create(dir, &table.file_name(), table)?;
                    for start in (0..*rows).step_by(BATCH_ROWS) {
                        out.write(&chunk(start..(start + BATCH_ROWS).min(*rows)))?;
                    }
                    out.close()
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().expect("a table writer panicked"))
    })
}

/// The orders by surrogate key (an append's old facts name their order by key).
fn by_order_key(orders: &Orders) -> HashMap<i32, &OrderInfo> {
    orders.values().map(|o| (o.order_key, o)).collect()
}

/// Imports the export in `source` into the warehouse `store`, replacing its current version.
///
/// # Errors
/// A source file is missing or lacks a required column, another import holds the warehouse, or
/// writing fails. The published version is then unchanged.
pub async fn import_export(source: &Path, store: &Store, opts: &ImportOptions) -> Result<ImportReport, ImportError> {
    // check every header before doing any work, so a broken export fails fast
    for file in SourceFile::ALL {
        TableReader::open(source, file, opts.encoding)?;
    }
    let lock = store.lock()?;
    let staging = lock.stage()?;
    let dir = staging.dir().to_path_buf();
    let progress = opts.progress.as_deref();
    let mut rejects = Rejects::create(dir.join(REJECTS))?;
    let mut files = BTreeMap::new();
    let mut checksums = BTreeMap::new();
    let mut record = |file: SourceFile, (counts, sum): (FileCounts, String)| {
        files.insert(file.file_name().to_string(), counts);
        checksums.insert(file.file_name().to_string(), sum);
    };

    let mut previous = match (opts.append, store.current()) {
        (true, Ok(version)) => Some(previous::load(&version)?),
        _ => None,
    };
    let (mut customers, mut products, mut methods, mut orders) = match &mut previous {
        Some(p) => (
            std::mem::take(&mut p.customers),
            std::mem::take(&mut p.products),
            std::mem::take(&mut p.methods),
            std::mem::take(&mut p.orders),
        ),
        None => Default::default(),
    };
    // growing a map of millions of orders rehashes it again and again: size it from the file
    let file_bytes = |f: SourceFile| std::fs::metadata(source.join(f.file_name())).map_or(0, |m| m.len() as usize);
    orders.reserve(file_bytes(SourceFile::Orders) / ORDER_ROW_BYTES);
    customers.reserve(file_bytes(SourceFile::Customers) / CUSTOMER_ROW_BYTES);
    let mut next_order_key = orders.values().map(|o| o.order_key).max().unwrap_or(0) + 1;
    let old_keys: HashSet<i32> = orders.values().map(|o| o.order_key).collect();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let counts = read_rows(source, SourceFile::Customers, opts.encoding, &mut rejects, progress, |row| {
        let c = CustomerRec::parse(row)?;
        if let Some(line) = first_line.get(&c.customer_id) {
            return Err(format!("column customer_id: duplicate '{}' (first at line {line})", c.customer_id));
        }
        first_line.insert(c.customer_id.clone(), row.line);
        customers.upsert(c.customer_id.clone(), c);
        Ok(())
    })?;
    record(SourceFile::Customers, counts);

    first_line.clear();
    let counts = read_rows(source, SourceFile::Products, opts.encoding, &mut rejects, progress, |row| {
        let p = ProductRec::parse(row)?;
        if let Some(line) = first_line.get(&p.product_id) {
            return Err(format!("column product_id: duplicate '{}' (first at line {line})", p.product_id));
        }
        first_line.insert(p.product_id.clone(), row.line);
        products.upsert(p.product_id.clone(), p);
        Ok(())
    })?;
    record(SourceFile::Products, counts);
    drop(first_line);

    let counts = read_rows(source, SourceFile::Orders, opts.encoding, &mut rejects, progress, |row| {
        let o = OrderRec::parse(row, opts.timezone)?;
        let date_key = tables::date_key(o.order_ts.date());
        let status = o.status;
        match orders.get_mut(&o.order_id) {
            Some(known) if known.source_line != 0 => {
                let line = known.source_line;
                Err(format!("column order_id: duplicate '{}' (first at line {line})", o.order_id))
            }
            // an order seen before: its newer version, same key; its lines stay unless replaced
            Some(known) => {
                known.customer_key = customers.key_or_insert(&o.customer_id, || tables::bare_customer(&o.customer_id));
                known.order_ts = o.order_ts;
                known.date_key = date_key;
                known.status = status;
                known.source_line = row.line;
                Ok(())
            }
            None => {
                let customer_key = customers.key_or_insert(&o.customer_id, || tables::bare_customer(&o.customer_id));
                let info = OrderInfo {
                    order_key: next_order_key,
                    customer_key,
                    order_ts: o.order_ts,
                    date_key,
                    status,
                    line_count: 0,
                    revenue: crate::model::Money::ZERO,
                    source_line: row.line,
                    lines_seen: 0,
                    payments_seen: 0,
                };
                orders.insert(o.order_id, info);
                next_order_key += 1;
                Ok(())
            }
        }
    })?;
    record(SourceFile::Orders, counts);

    const UNSORTED_LINES: &str = "fact_order_line.unsorted.parquet";
    let mut lines_out = TableWriter::create(&dir, UNSORTED_LINES, &schema::FACT_ORDER_LINE)?;
    let mut batch = LineBatch::default();
    let mut lines_order = tables::SortCheck::default();
    let mut seen: HashSet<(i32, i32)> = HashSet::new();
    let mut replaced_lines: HashSet<i32> = HashSet::new();
    let mut write_error: Option<WriteError> = None;
    let counts = read_rows(source, SourceFile::OrderItems, opts.encoding, &mut rejects, progress, |row| {
        let item = ItemRec::parse(row)?;
        let order = orders
            .get_mut(&item.order_id)
            .ok_or_else(|| format!("column order_id: '{}' is not a loaded order of orders.csv", item.order_id))?;
        if old_keys.contains(&order.order_key) && replaced_lines.insert(order.order_key) {
            // the newer export lists this order's lines: they replace the old ones
            order.line_count = 0;
            order.revenue = crate::model::Money::ZERO;
        }
        if !order.mark_line(item.line_no, &mut seen) {
            return Err(format!("column line_no: duplicate line {} of order '{}'", item.line_no, item.order_id));
        }
        let revenue = order.revenue.checked_add(item.line_revenue).ok_or_else(|| {
            format!("column unit_price: order '{}' totals more than DECIMAL(18,4) holds", item.order_id)
        })?;
        order.revenue = revenue;
        order.line_count += 1;
        let product_key = products.key_or_insert(&item.product_id, || tables::bare_product(&item.product_id));
        lines_order.see((order.date_key, order.order_key, item.line_no));
        batch.push(&item, order, product_key);
        if batch.len() >= BATCH_ROWS
            && let Err(e) = lines_out.write(&batch.take())
        {
            write_error.get_or_insert(e);
        }
        Ok(())
    })?;
    if let Some(e) = write_error.take() {
        return Err(e.into());
    }
    if !batch.is_empty() {
        lines_out.write(&batch.take())?;
    }
    if let Some(p) = &previous {
        p.copy_lines(&by_order_key(&orders), &replaced_lines, &mut lines_out)?;
    }
    lines_out.close()?;
    record(SourceFile::OrderItems, counts);
    drop(seen);

    const UNSORTED_PAYMENTS: &str = "fact_payment.unsorted.parquet";
    let mut payments_out = TableWriter::create(&dir, UNSORTED_PAYMENTS, &schema::FACT_PAYMENT)?;
    let mut pay_batch = PaymentBatch::default();
    let mut payments_order = tables::SortCheck::default();
    let mut seen: HashSet<(i32, i32)> = HashSet::new();
    let mut replaced_payments: HashSet<i32> = HashSet::new();
    let appending = previous.is_some();
    let counts = read_rows(source, SourceFile::Payments, opts.encoding, &mut rejects, progress, |row| {
        let p = PaymentRec::parse(row)?;
        let order = orders
            .get_mut(&p.order_id)
            .ok_or_else(|| format!("column order_id: '{}' is not a loaded order of orders.csv", p.order_id))?;
        if !order.mark_payment(p.payment_seq, &mut seen) {
            return Err(format!("column payment_seq: duplicate payment {} of order '{}'", p.payment_seq, p.order_id));
        }
        if appending {
            replaced_payments.insert(order.order_key);
        }
        let method_key = methods.key_or_insert(&p.method, || ());
        payments_order.see((order.date_key, order.order_key, p.payment_seq));
        pay_batch.push(&p, order, method_key);
        if pay_batch.len() >= BATCH_ROWS
            && let Err(e) = payments_out.write(&pay_batch.take())
        {
            write_error.get_or_insert(e);
        }
        Ok(())
    })?;
    if let Some(e) = write_error.take() {
        return Err(e.into());
    }
    if !pay_batch.is_empty() {
        payments_out.write(&pay_batch.take())?;
    }
    if let Some(p) = &previous {
        p.copy_payments(&by_order_key(&orders), &replaced_payments, &mut payments_out)?;
    }
    payments_out.close()?;
    record(SourceFile::Payments, counts);
    let first_rejects = std::mem::take(&mut rejects.first);
    rejects.close()?;

    if let Some(p) = progress {
        p.phase("writing the warehouse");
    }
    let day = |k: i32| NaiveDate::from_ymd_opt(k / 10_000, (k / 100 % 100) as u32, (k % 100) as u32);
    let first_day = orders.values().map(|o| o.date_key).min().and_then(day);
    let last_day = orders.values().map(|o| o.date_key).max().and_then(day);
    let (first, last) = match (first_day, last_day) {
        (Some(f), Some(l)) => (f, l),
        // no order at all: an empty date dimension
        _ => (NaiveDate::from_ymd_opt(2000, 1, 2).expect("valid"), NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid")),
    };
    let order_rows = tables::fact_order_rows(&orders);
    write_side_by_side(
        &dir,
        &[
            (&schema::DIM_CUSTOMER, customers.len(), &|r| customers.batch_of(r)),
            (&schema::DIM_DATE, 1, &|_| tables::dim_date_batch(first, last)),
            (&schema::DIM_PRODUCT, 1, &|_| products.to_batch()),
            (&schema::DIM_PAYMENT_METHOD, 1, &|_| methods.to_batch()),
            (&schema::FACT_ORDER, order_rows.len(), &|r| tables::fact_order_batch(&order_rows[r])),
        ],
    )?;
    drop(order_rows);
    drop(orders);
    if let Some(p) = progress {
        p.phase("finishing facts");
    }
    // an append writes the kept old facts after the new ones: never in order
    let fresh = previous.is_none();
    let (lines_sorted, payments_sorted) = (fresh && lines_order.sorted(), fresh && payments_order.sorted());
    writer::finish_table(&dir, UNSORTED_LINES, &schema::FACT_ORDER_LINE, lines_sorted, opts.memory).await?;
    writer::finish_table(&dir, UNSORTED_PAYMENTS, &schema::FACT_PAYMENT, payments_sorted, opts.memory).await?;

    if let Some(p) = progress {
        p.phase("publishing");
    }
    let now = chrono::Utc::now().to_rfc3339();
    let mut imports = store.current().map(|v| v.manifest.imports).unwrap_or_default();
    imports.push(ImportRecord {
        id: staging.version_name(),
        finished_at: now.clone(),
        source: source.display().to_string(),
        files: files.clone(),
        checksums,
        mode: if previous.is_some() { "append" } else { "replace" }.to_string(),
    });
    let manifest = Manifest {
        version: staging.version_name(),
        created_at: now,
        source: source.display().to_string(),
        timezone: opts.timezone.to_string(),
        files: files.clone(),
        imports,
    };
    staging.publish(&manifest)?;
    drop(lock);
    Ok(ImportReport { version: manifest.version, files, rejects: store.root().join(REJECTS), first_rejects })
}

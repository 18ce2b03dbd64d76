//! The steps of `import::import_export`, in the order it takes them: check every
//! header, find where an append starts, read the five files ([`Reading`]: the dimensions, the
//! orders, the fact lines and payments), refuse an import with too many rejects, write the
//! dimensions and orders, finish the facts, publish the version.

use super::options::{ImportError, ImportOptions, OrderPreview, Progress, Refusal};
use super::previous::{self, Previous, Start};
use super::refunds::{self, RefundFact, RefundedLine, RefundedOrder};
use super::rows::{
    Chunk, PREVIEW_ORDERS, REFUSED_REJECTS, Rejects, by_order_key, estimated_rows, read_rows, write_side_by_side,
};
use super::tables::{
    self, Dimension, LineBatch, LineFact, LineFigures, NO_EXTRA, OrderBatch, OrderExtra, OrderInfo, Orders,
    PackedCustomer, PaymentBatch,
};
use crate::model::Money;
use crate::model::money::allocate;
use crate::source::records::{CustomerRec, ItemRec, OrderRec, PaymentRec, ProductRec, RefundRec, UNSPECIFIED_CHANNEL};
use crate::source::{Row, SourceFile, TableReader};
use crate::warehouse::parts::{self, MonthWriter};
use crate::warehouse::schema::{self, KEY_CHUNK, Table};
use crate::warehouse::store::{FileCounts, ImportRecord, LAYOUT_BOOKS, Manifest, REJECTS, Staging, Store};
use crate::warehouse::writer::{TableWriter, WriteError};
use ahash::{AHashMap as HashMap, AHashSet as HashSet};
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

/// The first rejects, `(file, line, reason)`.
type FirstRejects = Vec<(String, u64, String)>;
/// The most frequent reject reasons, with how many rows each.
type Reasons = Vec<(String, u64)>;

/// Checks every file's header before doing any work, so a broken export fails fast.
pub(super) fn check_headers(source: &Path, opts: &ImportOptions) -> Result<(), ImportError> {
    for file in SourceFile::ALL {
        TableReader::open(source, file, opts.encoding)?;
    }
    for file in SourceFile::OPTIONAL {
        if source.join(file.file_name()).exists() {
            TableReader::open(source, file, opts.encoding)?;
        }
    }
    Ok(())
}

/// The rejects file of the staging folder `dir`, naming the flat file a converted export came from.
pub(super) fn open_rejects(dir: &Path, opts: &ImportOptions) -> Result<Rejects, ImportError> {
    let mut rejects = Rejects::create(dir.join(REJECTS))?;
    rejects.origin = opts.origin.as_ref().map(|o| o.file_name.clone());
    Ok(rejects)
}

/// Where the import starts: empty for a new version; for an append onto the current version, the
/// dimensions and orders of it that the export names, and what of it the import keeps.
pub(super) fn starting_point(
    source: &Path,
    store: &Store,
    opts: &ImportOptions,
) -> Result<(Start, Option<Previous>), ImportError> {
    match (opts.append, store.current()) {
        (true, Ok(version)) => {
            if version.manifest.layout < LAYOUT_BOOKS {
                return Err(ImportError::OldLayout(store.root().to_path_buf()));
            }
            // refunds move money between months an append does not otherwise touch: until an
            // append can rewrite them, it refuses rather than publish stale returns
            if source.join(SourceFile::Refunds.file_name()).exists() {
                return Err(ImportError::AppendRefunds(
                    "the export has refunds.csv; import the whole export without --append".into(),
                ));
            }
            if version.manifest.files.get(SourceFile::Refunds.file_name()).is_some_and(|c| c.loaded > 0) {
                return Err(ImportError::AppendRefunds(
                    "the warehouse holds refunds; import the whole export (with its refunds.csv) without --append"
                        .into(),
                ));
            }
            if version.manifest.taxes_included != opts.taxes_included {
                return Err(ImportError::AppendRefunds(format!(
                    "the warehouse was imported with taxes {} in prices; append with the same setting",
                    if version.manifest.taxes_included { "included" } else { "not included" }
                )));
            }
            if let Some(p) = opts.progress.as_deref() {
                p.phase("finding the export's orders and customers in the warehouse");
            }
            let (start, previous) = previous::load(&version, &previous::named_ids(source, opts.encoding)?)?;
            Ok((start, Some(previous)))
        }
        _ => Ok((Start::default(), None)),
    }
}

/// The months an append rewrites: those its orders are in now or were in before (it links the
/// rest); none for a new version.
pub(super) fn touched_months(orders: &Orders, previous: Option<&Previous>) -> BTreeSet<i32> {
    match previous {
        Some(p) => orders.values().map(|o| parts::month_of(o.date_key)).chain(p.months.iter().copied()).collect(),
        None => BTreeSet::new(),
    }
}

/// The five files read into the warehouse's rows: what the import holds while it reads.
pub(super) struct Reading<'a> {
    source: &'a Path,
    opts: &'a ImportOptions,
    progress: Option<&'a dyn Progress>,
    rejects: Rejects,
    /// Per source file counts, by file name.
    pub(super) files: BTreeMap<String, FileCounts>,
    checksums: BTreeMap<String, String>,
    pub(super) customers: Dimension<PackedCustomer>,
    pub(super) products: Dimension<ProductRec>,
    pub(super) methods: Dimension<()>,
    pub(super) channels: Dimension<()>,
    pub(super) orders: Orders,
    /// The rows of refunds.csv that parse, read before the lines (their orders' lines are held
    /// until the refunds are checked), with their line in the file.
    refund_rows: Vec<(u64, RefundRec)>,
    /// The orders refunds.csv names.
    refund_orders: HashSet<String>,
    /// The lines that wait for their order's shares or refunds: the order's position, the
    /// product's key and the line's figures (40 bytes a line), in the file's order.
    held: Vec<HeldLine>,
    /// The refunds kept, with what they return.
    pub(super) refunds: Vec<RefundFact>,
    next_order_key: i32,
    /// The keys of the previous version's orders that the export names again.
    old_keys: HashSet<i32>,
    /// The first orders read: id and customer id.
    preview: Vec<(String, String)>,
}

/// A line that waits for its order's shares or refunds.
struct HeldLine {
    /// Its order's position in [`Orders`].
    position: u32,
    /// Its product's key.
    product_key: i32,
    figures: LineFigures,
    /// Its shares of the order discount and of the tax inside the prices once shared, in units
    /// (each at most the line's revenue, an i64: 16 bytes a line instead of 32).
    shares: [i64; 2],
}

impl HeldLine {
    /// Its shares of the order discount and of the tax inside the prices.
    fn shares(&self) -> (Money, Money) {
        let units = |u: i64| Money::from_units(i128::from(u)).unwrap_or_default();
        (units(self.shares[0]), units(self.shares[1]))
    }

    /// Its line revenue after the shares.
    fn revenue(&self) -> Money {
        let (d, t) = self.shares();
        Money::from_units(self.figures.line_revenue().units() - d.units() - t.units()).unwrap_or_default()
    }
}

impl<'a> Reading<'a> {
    /// Starts reading from `start`, rejected rows going to `rejects`.
    pub(super) fn begin(source: &'a Path, opts: &'a ImportOptions, rejects: Rejects, start: Start) -> Reading<'a> {
        let Start { mut customers, products, methods, channels, mut orders, last_order_key } = start;
        // growing a map of millions of orders rehashes it again and again: size it from the file
        let file_bytes = |f: SourceFile| std::fs::metadata(source.join(f.file_name())).map_or(0, |m| m.len() as usize);
        let rows_of = |f: SourceFile| estimated_rows(&source.join(f.file_name()));
        // ids are about a fifth of a row's bytes
        orders.reserve(rows_of(SourceFile::Orders), file_bytes(SourceFile::Orders) / 5);
        customers.reserve(rows_of(SourceFile::Customers), file_bytes(SourceFile::Customers) / 8);
        let old_keys: HashSet<i32> = orders.values().map(|o| o.order_key).collect();
        Reading {
            source,
            opts,
            progress: opts.progress.as_deref(),
            rejects,
            files: BTreeMap::new(),
            checksums: BTreeMap::new(),
            customers,
            products,
            methods,
            channels,
            orders,
            refund_rows: Vec::new(),
            refund_orders: HashSet::new(),
            held: Vec::new(),
            refunds: Vec::new(),
            next_order_key: last_order_key + 1,
            old_keys,
            preview: Vec::new(),
        }
    }

    fn record(&mut self, file: SourceFile, (counts, sum): (FileCounts, String)) {
        self.files.insert(file.file_name().to_string(), counts);
        self.checksums.insert(file.file_name().to_string(), sum);
    }

    /// customers.csv into the customer dimension; an id listed twice is rejected.
    pub(super) fn customers(&mut self) -> Result<(), ImportError> {
        let mut first_line: HashMap<String, u64> = HashMap::new();
        let customers = &mut self.customers;
        let counts = read_rows(
            self.source,
            SourceFile::Customers,
            self.opts.encoding,
            &mut self.rejects,
            self.progress,
            CustomerRec::parse,
            |line, c| {
                if let Some(first) = first_line.get(&c.customer_id) {
                    return Err(format!("column customer_id: duplicate '{}' (first at line {first})", c.customer_id));
                }
                first_line.insert(c.customer_id.clone(), line);
                customers.upsert(&c.customer_id, PackedCustomer::new(c));
                Ok(())
            },
        )?;
        self.record(SourceFile::Customers, counts);
        Ok(())
    }

    /// products.csv into the product dimension; an id listed twice is rejected.
    pub(super) fn products(&mut self) -> Result<(), ImportError> {
        let mut first_line: HashMap<String, u64> = HashMap::new();
        let products = &mut self.products;
        let counts = read_rows(
            self.source,
            SourceFile::Products,
            self.opts.encoding,
            &mut self.rejects,
            self.progress,
            ProductRec::parse,
            |line, p| {
                if let Some(first) = first_line.get(&p.product_id) {
                    return Err(format!("column product_id: duplicate '{}' (first at line {first})", p.product_id));
                }
                first_line.insert(p.product_id.clone(), line);
                products.upsert(&p.product_id, p.clone());
                Ok(())
            },
        )?;
        self.record(SourceFile::Products, counts);
        Ok(())
    }

    /// orders.csv into the orders: a new order gets the next key, an order of the previous
    /// version its newer version (same key, its lines kept unless the export lists them); an id
    /// listed twice is rejected. A customer no row of customers.csv names is added bare.
    pub(super) fn orders(&mut self) -> Result<(), ImportError> {
        let opts = self.opts;
        let parse_order = |row: &Row| OrderRec::parse(row, opts.timezone);
        let (orders, customers, channels, preview, next_order_key) =
            (&mut self.orders, &mut self.customers, &mut self.channels, &mut self.preview, &mut self.next_order_key);
        let counts = read_rows(
            self.source,
            SourceFile::Orders,
            self.opts.encoding,
            &mut self.rejects,
            self.progress,
            parse_order,
            |line, o| {
                if preview.len() < PREVIEW_ORDERS {
                    preview.push((o.order_id.clone(), o.customer_id.clone()));
                }
                let date_key = crate::warehouse::keys::date_key(o.order_ts.date());
                let status = o.status;
                let channel_key = channels.key_or_insert(o.channel.as_deref().unwrap_or(UNSPECIFIED_CHANNEL), || ());
                let known = orders.position(&o.order_id).map(|p| (p, orders.at_mut(p).0));
                let position = match known {
                    Some((_, known)) if known.source_line != 0 => {
                        let first = known.source_line;
                        Err(format!("column order_id: duplicate '{}' (first at line {first})", o.order_id))
                    }
                    // an order seen before: its newer version, same key; its lines stay unless replaced
                    Some((position, known)) => {
                        known.customer_key =
                            customers.key_or_insert(&o.customer_id, || PackedCustomer::bare(&o.customer_id));
                        known.order_ts = o.order_ts;
                        known.date_key = date_key;
                        known.status = status;
                        known.source_line = line;
                        known.channel_key = channel_key;
                        Ok(position)
                    }
                    None => {
                        let customer_key =
                            customers.key_or_insert(&o.customer_id, || PackedCustomer::bare(&o.customer_id));
                        let info = OrderInfo {
                            order_key: *next_order_key,
                            customer_key,
                            order_ts: o.order_ts,
                            date_key,
                            status,
                            line_count: 0,
                            channel_key,
                            extra: NO_EXTRA,
                            discounts: 0,
                            revenue: 0,
                            source_line: line,
                            lines_seen: 0,
                            payments_seen: 0,
                        };
                        *next_order_key += 1;
                        Ok(orders.insert(&o.order_id, info))
                    }
                }?;
                orders.set_extra(position, o.money, o.discount_codes.as_deref());
                Ok(())
            },
        )?;
        self.record(SourceFile::Orders, counts);
        Ok(())
    }

    /// Reads refunds.csv, if the export has one, before the lines: the orders it names keep their
    /// lines in memory until their refunds are checked (`refunds`). Rows that do not parse are
    /// left for `refunds`, which rejects them.
    pub(super) fn scan_refunds(&mut self) -> Result<(), ImportError> {
        if !self.source.join(SourceFile::Refunds.file_name()).exists() {
            return Ok(());
        }
        self.refund_rows.reserve(estimated_rows(&self.source.join(SourceFile::Refunds.file_name())));
        let mut reader = TableReader::open(self.source, SourceFile::Refunds, self.opts.encoding)?;
        while let Some(row) = reader.next_row()? {
            let Ok(row) = row else { continue };
            if let Ok(r) = RefundRec::parse(&row, self.opts.timezone) {
                self.refund_orders.insert(r.order_id.clone());
                self.refund_rows.push((row.line, r));
            }
        }
        Ok(())
    }

    /// order_items.csv into the fact lines of the staging folder `dir`, each line adding to its
    /// order's revenue; an append's lines of the `touched` months it does not replace are copied
    /// from the previous version. The lines of an order with an order discount, with the tax inside
    /// its prices, or with refunds wait in memory for their shares and refunds (`refunds`).
    pub(super) fn order_lines(
        &mut self,
        dir: &Path,
        previous: Option<&Previous>,
        touched: &BTreeSet<i32>,
    ) -> Result<MonthWriter<LineBatch>, ImportError> {
        let mut lines_out = MonthWriter::<LineBatch>::create(dir, &schema::FACT_ORDER_LINE)?;
        let mut seen: HashSet<(i32, i32)> = HashSet::new();
        let mut replaced_lines: HashSet<i32> = HashSet::new();
        let mut write_error: Option<WriteError> = None;
        let taxes_included = self.opts.taxes_included;
        let (orders, products, old_keys, held, refund_orders) =
            (&mut self.orders, &mut self.products, &self.old_keys, &mut self.held, &self.refund_orders);
        let counts = read_rows(
            self.source,
            SourceFile::OrderItems,
            self.opts.encoding,
            &mut self.rejects,
            self.progress,
            ItemRec::parse,
            |_, item| {
                let position = orders.position(&item.order_id).ok_or_else(|| {
                    format!("column order_id: '{}' is not a loaded order of orders.csv", item.order_id)
                })?;
                let (order, extra, codes) = orders.at_mut(position);
                let extra = extra.as_deref();
                if old_keys.contains(&order.order_key) && replaced_lines.insert(order.order_key) {
                    // the newer export lists this order's lines: they replace the old ones
                    order.line_count = 0;
                    order.revenue = 0;
                    order.discounts = 0;
                }
                if !order.mark_line(item.line_no, &mut seen) {
                    return Err(format!(
                        "column line_no: duplicate line {} of order '{}'",
                        item.line_no, item.order_id
                    ));
                }
                order.add_line(item.line_revenue, item.discount).ok_or_else(|| {
                    format!("column unit_price: order '{}' totals more than DECIMAL(18,4) holds", item.order_id)
                })?;
                order.line_count += 1;
                let product_key = products.key_or_insert(&item.product_id, || tables::bare_product(&item.product_id));
                let shares = extra.is_some_and(|e| {
                    let money = e.money();
                    money.order_discount > Money::ZERO || (taxes_included && money.tax > Money::ZERO)
                });
                let figures = LineFigures::of(item);
                if shares || refund_orders.contains(&item.order_id) {
                    held.push(HeldLine { position, product_key, figures, shares: [0, 0] });
                    return Ok(());
                }
                let order = &*order;
                // no refund names it: a sale by its status alone
                let line = LineFact {
                    order_id: &item.order_id,
                    figures,
                    product_key,
                    order_discount: Money::ZERO,
                    tax: Money::ZERO,
                    is_sale: order.status.is_revenue(),
                    codes,
                };
                if let Err(e) = lines_out.row((order.date_key, order.order_key, item.line_no), |b| b.push(&line, order))
                {
                    write_error.get_or_insert(e);
                }
                Ok(())
            },
        )?;
        if let Some(e) = write_error.take() {
            return Err(e.into());
        }
        if let Some(p) = previous {
            // the old lines of the touched months: a run of their own, in month order
            lines_out.new_run()?;
            p.copy_lines(touched, &by_order_key(&self.orders, &self.old_keys), &replaced_lines, &mut lines_out)?;
        }
        self.record(SourceFile::OrderItems, counts);
        Ok(lines_out)
    }

    /// Shares each held order's discount and the tax inside its prices over its lines (largest
    /// remainder, kpis.md "Terms"), checks refunds.csv against the orders and their lines (every
    /// rule of source-format.md; a row that breaks one goes to the rejects), keeps each refund
    /// with the goods it returns on each line, and writes the held lines, now that their orders'
    /// refunds say whether a returned order is a sale.
    pub(super) fn refunds(&mut self, lines_out: &mut MonthWriter<LineBatch>) -> Result<(), ImportError> {
        let taxes_included = self.opts.taxes_included;
        // each held order's lines together, by line number (they come so from an export that
        // lists an order's lines together, in order)
        let mut held = std::mem::take(&mut self.held);
        if !held.is_sorted_by_key(|h| (h.position, h.figures.line_no)) {
            held.sort_unstable_by_key(|h| (h.position, h.figures.line_no));
        }
        for lines in held.chunk_by_mut(|a, b| a.position == b.position) {
            let (order, extra, _) = self.orders.at_mut(lines[0].position);
            let money = extra.as_ref().map(|e| e.money()).unwrap_or_default();
            let weights: Vec<i128> = lines.iter().map(|h| h.figures.line_revenue().units().max(0)).collect();
            let discounts = allocate(money.order_discount.units(), &weights);
            let mut taxes = vec![0; lines.len()];
            if taxes_included && money.tax > Money::ZERO {
                // the tax inside the prices, shared over the lines after discounts and the shipping
                let mut weights: Vec<i128> = weights.iter().zip(&discounts).map(|(w, d)| (w - d).max(0)).collect();
                weights.push(money.shipping.units());
                let mut parts = allocate(money.tax.units(), &weights);
                let shipping_tax = parts.pop().unwrap_or(0);
                taxes = parts;
                if let Some(e) = extra {
                    e.set_shipping_tax(Money::from_units(shipping_tax).unwrap_or_default());
                }
            }
            let units = |u: i128| Money::from_units(u).unwrap_or_default();
            order.take_shares(units(discounts.iter().sum()), units(taxes.iter().sum()));
            for (h, (d, t)) in lines.iter_mut().zip(discounts.into_iter().zip(taxes)) {
                h.shares = [d as i64, t as i64];
            }
        }
        let by_order = || held.chunk_by(|a, b| a.position == b.position);

        if self.source.join(SourceFile::Refunds.file_name()).exists() {
            // by the order's position
            let refunded: HashMap<u32, Vec<RefundedLine>> = by_order()
                .filter(|lines| self.refund_orders.contains(self.orders.at(lines[0].position).0))
                .map(|lines| {
                    let refunded = lines
                        .iter()
                        .map(|h| RefundedLine {
                            line_no: h.figures.line_no,
                            product_key: h.product_key,
                            quantity: h.figures.quantity,
                            revenue: h.revenue(),
                        })
                        .collect();
                    (lines[0].position, refunded)
                })
                .collect();
            let orders = &self.orders;
            let order_of = |id: &str| {
                let o = orders.get(id)?;
                let money = orders.extra(o).map(OrderExtra::money).unwrap_or_default();
                Some(RefundedOrder {
                    order_ts: o.order_ts,
                    status: o.status,
                    shipping: money.shipping,
                    tax: money.tax,
                    lines: orders.position(id).and_then(|p| refunded.get(&p)).map_or(&[][..], Vec::as_slice),
                })
            };
            let rejected = refunds::rejected(&self.refund_rows, order_of);
            let tz = self.opts.timezone;
            let counts = read_rows(
                self.source,
                SourceFile::Refunds,
                self.opts.encoding,
                &mut self.rejects,
                self.progress,
                |row| RefundRec::parse(row, tz),
                |line, _| rejected.get(&line).map_or(Ok(()), |reason| Err(reason.clone())),
            )?;
            self.refunds.reserve_exact(self.refund_rows.len().saturating_sub(rejected.len()));
            for (line, rec) in std::mem::take(&mut self.refund_rows) {
                if rejected.contains_key(&line) {
                    continue;
                }
                let Some(o) = self.orders.get(&rec.order_id) else { continue };
                let lines = self.orders.position(&rec.order_id).and_then(|p| refunded.get(&p));
                let lines = lines.map_or(&[][..], Vec::as_slice);
                let returns = refunds::returns(&rec, lines);
                self.refunds.push(RefundFact {
                    order_key: o.order_key,
                    order_date_key: o.date_key,
                    customer_key: o.customer_key,
                    returns,
                    rec,
                });
            }
            for r in &self.refunds {
                if let Some(e) = self.orders.extra_mut(&r.rec.order_id) {
                    e.refunds += 1;
                }
            }
            self.record(SourceFile::Refunds, counts);
        }

        // in the lines' table order, a run of their own after the others (`MonthWriter::new_run`):
        // each month's runs are merged, not the whole table sorted. Orders are by time in most
        // exports, and their positions then in the table's order already.
        let orders = &self.orders;
        let table_order = |lines: &[HeldLine]| {
            let o = orders.at(lines[0].position).1;
            (o.date_key, o.order_key)
        };
        let groups: Box<dyn Iterator<Item = &[HeldLine]>> = if by_order().is_sorted_by_key(table_order) {
            Box::new(by_order())
        } else {
            let mut groups: Vec<&[HeldLine]> = by_order().collect();
            groups.sort_unstable_by_key(|lines| table_order(lines));
            Box::new(groups.into_iter())
        };
        lines_out.new_run()?;
        for lines in groups {
            let (order_id, order) = self.orders.at(lines[0].position);
            let is_sale = self.orders.is_sale(order);
            let codes = self.orders.codes(order);
            for h in lines {
                let (order_discount, tax) = h.shares();
                let line = LineFact {
                    order_id,
                    figures: h.figures,
                    product_key: h.product_key,
                    order_discount,
                    tax,
                    is_sale,
                    codes,
                };
                lines_out.row((order.date_key, order.order_key, h.figures.line_no), |b| b.push(&line, order))?;
            }
        }
        Ok(())
    }

    /// payments.csv into the fact payments of the staging folder `dir`; an append's payments of
    /// the `touched` months it does not replace are copied from the previous version.
    pub(super) fn payments(
        &mut self,
        dir: &Path,
        previous: Option<&Previous>,
        touched: &BTreeSet<i32>,
    ) -> Result<MonthWriter<PaymentBatch>, ImportError> {
        let mut payments_out = MonthWriter::<PaymentBatch>::create(dir, &schema::FACT_PAYMENT)?;
        let mut seen: HashSet<(i32, i32)> = HashSet::new();
        let mut replaced_payments: HashSet<i32> = HashSet::new();
        let mut write_error: Option<WriteError> = None;
        let (orders, methods, old_keys) = (&mut self.orders, &mut self.methods, &self.old_keys);
        let counts = read_rows(
            self.source,
            SourceFile::Payments,
            self.opts.encoding,
            &mut self.rejects,
            self.progress,
            PaymentRec::parse,
            |_, p| {
                let order = orders
                    .get_mut(&p.order_id)
                    .ok_or_else(|| format!("column order_id: '{}' is not a loaded order of orders.csv", p.order_id))?;
                if !order.mark_payment(p.payment_seq, &mut seen) {
                    return Err(format!(
                        "column payment_seq: duplicate payment {} of order '{}'",
                        p.payment_seq, p.order_id
                    ));
                }
                if old_keys.contains(&order.order_key) {
                    replaced_payments.insert(order.order_key);
                }
                let method_key = methods.key_or_insert(&p.method, || ());
                if let Err(e) =
                    payments_out.row((order.date_key, order.order_key, p.payment_seq), |b| b.push(p, order, method_key))
                {
                    write_error.get_or_insert(e);
                }
                Ok(())
            },
        )?;
        if let Some(e) = write_error.take() {
            return Err(e.into());
        }
        if let Some(p) = previous {
            payments_out.new_run()?;
            p.copy_payments(
                touched,
                &by_order_key(&self.orders, &self.old_keys),
                &replaced_payments,
                &mut payments_out,
            )?;
        }
        self.record(SourceFile::Payments, counts);
        Ok(payments_out)
    }

    /// Closes the rejects file: the first rejects and the most frequent reasons.
    pub(super) fn close_rejects(&mut self) -> Result<(FirstRejects, Reasons), ImportError> {
        let first_rejects = std::mem::take(&mut self.rejects.first);
        let reasons = self.rejects.top_reasons();
        self.rejects.flush()?;
        Ok((first_rejects, reasons))
    }

    /// The first orders read, as loaded.
    pub(super) fn preview(&self) -> Vec<OrderPreview> {
        self.preview
            .iter()
            .filter_map(|(id, customer_id)| {
                let o = self.orders.get(id)?;
                Some(OrderPreview {
                    order_id: id.clone(),
                    order_ts: o.order_ts,
                    customer_id: customer_id.clone(),
                    status: o.status.to_string(),
                    lines: o.line_count,
                    amount: crate::model::Money::from_units(o.revenue.into()).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The checksums to record: the files read, or the origin's for a converted export.
    pub(super) fn recorded_checksums(&self) -> BTreeMap<String, String> {
        self.opts.origin.as_ref().map_or_else(|| self.checksums.clone(), |o| o.checksums.clone())
    }
}

/// Refuses the import when a file's rejects are over the limit: a mistake in the export or its
/// mapping must not become a published number. The rejects are then kept in the warehouse folder.
pub(super) fn refuse_over_limit(
    store: &Store,
    dir: &Path,
    opts: &ImportOptions,
    files: &BTreeMap<String, FileCounts>,
    reasons: &[(String, u64)],
    first_rejects: &[(String, u64, String)],
) -> Result<(), ImportError> {
    let over: Vec<String> =
        files.iter().filter(|(_, c)| opts.max_rejects.exceeded(c)).map(|(f, _)| f.clone()).collect();
    if over.is_empty() {
        return Ok(());
    }
    let kept = store.root().join(REFUSED_REJECTS);
    // through a new temporary file: never written through a link planted at the name
    let tmp = store.root().join(format!("{REFUSED_REJECTS}.tmp"));
    crate::warehouse::tmpfile::create(&tmp, 0o644)
        .and_then(|mut to| std::io::copy(&mut std::fs::File::open(dir.join(REJECTS))?, &mut to))
        .and_then(|_| std::fs::rename(&tmp, &kept))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            WriteError { path: kept.clone(), message: e.to_string() }
        })?;
    Err(ImportError::Refused(Box::new(Refusal {
        files: files.clone(),
        over,
        limit: opts.max_rejects,
        reasons: reasons.to_vec(),
        first_rejects: first_rejects.to_vec(),
        rejects: kept,
    })))
}

/// The day of a date key, if it is one.
fn day(k: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(k / 10_000, (k / 100 % 100) as u32, (k % 100) as u32)
}

/// The first and last order day of the date dimension, from the first and last date keys.
fn day_span(first: Option<i32>, last: Option<i32>) -> (NaiveDate, NaiveDate) {
    match (first.and_then(day), last.and_then(day)) {
        (Some(f), Some(l)) => (f, l),
        // no order at all: an empty date dimension
        _ => (NaiveDate::from_ymd_opt(2000, 1, 2).expect("valid"), NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid")),
    }
}

/// Writes the dimensions (on threads of their own) and the fact orders into the staging folder
/// `dir`; an append rewrites only the customer key chunks it changed and copies the orders of the
/// `touched` months the export does not relist. The orders are dropped once written.
pub(super) fn write_dimensions_and_orders(
    dir: &Path,
    key_chunk: i32,
    reading: Reading<'_>,
    previous: Option<&Previous>,
    touched: &BTreeSet<i32>,
) -> Result<MonthWriter<OrderBatch>, ImportError> {
    let Reading { customers, products, methods, channels, orders, mut refunds, .. } = reading;
    // an append's days are read off the finished facts (`finish_facts`); the days run on to the
    // last refund's, which a return's day joins
    let keys = || orders.values().map(|o| o.date_key).chain(refunds.iter().map(RefundFact::date_key));
    let (first, last) = day_span(keys().min(), keys().max());
    let mut orders_out = MonthWriter::<OrderBatch>::create(dir, &schema::FACT_ORDER)?;
    let date_rows = |_| tables::dim_date_batch(first, last);
    let product_rows = |_| products.to_batch();
    let method_rows = |_| methods.to_batch(&schema::DIM_PAYMENT_METHOD);
    let channel_rows = |_| channels.to_batch(&schema::DIM_CHANNEL);
    let refund_batch = refunds::fact_refund_batch(&mut refunds);
    let return_batch = refunds::fact_return_line_batch(&refunds);
    let refund_rows = |_| refund_batch.clone();
    let return_rows = |_| return_batch.clone();
    let customer_rows =
        |r: Range<usize>| tables::customer_batch(customers.rows_in(r.start as i32 + 1..r.end as i32 + 1));
    let mut small: Vec<(&Table, usize, Chunk)> = vec![
        (&schema::DIM_PRODUCT, 1, &product_rows),
        (&schema::DIM_PAYMENT_METHOD, 1, &method_rows),
        (&schema::DIM_CHANNEL, 1, &channel_rows),
        (&schema::FACT_REFUND, 1, &refund_rows),
        (&schema::FACT_RETURN_LINE, 1, &return_rows),
    ];
    // an append rewrites only the customer key chunks it changed (`write_customers`)
    if previous.is_none() {
        small.push((&schema::DIM_DATE, 1, &date_rows));
        small.push((&schema::DIM_CUSTOMER, customers.last_key() as usize, &customer_rows));
    }
    std::thread::scope(|scope| -> Result<(), ImportError> {
        // the dimensions on threads of their own while this one writes the orders
        let dims = scope.spawn(|| -> Result<(), WriteError> {
            write_side_by_side(dir, key_chunk, &small)?;
            match previous {
                Some(p) => p.write_customers(&customers, dir),
                None => Ok(()),
            }
        });
        if let Some(p) = previous {
            let relisted: HashSet<i32> = orders.values().map(|o| o.order_key).collect();
            p.copy_orders(touched, &relisted, &mut orders_out)?;
            orders_out.new_run()?;
        }
        for (id, o) in tables::fact_order_rows(&orders) {
            let (extra, codes, is_sale) = (orders.extra(o), orders.codes(o), orders.is_sale(o));
            orders_out.row((o.date_key, o.order_key, o.order_key), |b| b.push(id, o, extra, codes, is_sale))?;
        }
        dims.join().expect("a dimension writer panicked")?;
        Ok(())
    })?;
    drop(orders);
    Ok(orders_out)
}

/// Sorts and closes the three fact tables and builds the derived tables of the months written; an
/// append links the months it did not touch and rewrites the date dimension over every order day,
/// old and new.
pub(super) async fn finish_facts(
    dir: &Path,
    opts: &ImportOptions,
    facts: (MonthWriter<OrderBatch>, MonthWriter<LineBatch>, MonthWriter<PaymentBatch>),
    previous: Option<&Previous>,
    touched: &BTreeSet<i32>,
) -> Result<(), ImportError> {
    let (orders_out, lines_out, payments_out) = facts;
    let started = std::time::Instant::now();
    let mut written = BTreeSet::new();
    for months in [
        orders_out.finish(opts.memory).await?,
        lines_out.finish(opts.memory).await?,
        payments_out.finish(opts.memory).await?,
    ] {
        debug_assert!(previous.is_none() || months.is_subset(touched), "an append wrote a month it did not touch");
        written.extend(months);
    }
    // an append's untouched months keep their derived files (linked below); a touched month may
    // have lost its every order, and then gets none. When the append gives a product another
    // category, agg_line's marks per category change in every month: its files are all rebuilt.
    let mut recategorized = BTreeSet::new();
    if let Some(p) = previous {
        for table in [&schema::FACT_ORDER, &schema::FACT_ORDER_LINE, &schema::FACT_PAYMENT] {
            p.link_months(dir, table, touched)?;
        }
        if p.recategorized(dir)? {
            recategorized = Previous::months_in(dir)?.difference(&written).copied().collect();
        }
    }
    tracing::debug!(step = "sorted facts", seconds = started.elapsed().as_secs_f64(), "import step");
    let started = std::time::Instant::now();
    crate::warehouse::derived::build(dir, &written, &schema::DERIVED, opts.memory).await?;
    tracing::debug!(step = "derived tables", seconds = started.elapsed().as_secs_f64(), "import step");
    crate::warehouse::derived::build(dir, &recategorized, &[&schema::AGG_LINE], opts.memory).await?;
    if let Some(p) = previous {
        for table in schema::DERIVED {
            let rebuilt = match table.name == schema::AGG_LINE.name {
                true => touched.union(&recategorized).copied().collect(),
                false => touched.clone(),
            };
            p.link_months(dir, table, &rebuilt)?;
        }
        // every order day, old and new, from the first and last months' files
        let (first, last) = previous::order_days(dir)?;
        let (first, last) = day_span(first, last);
        let mut out = TableWriter::create(dir, "dim_date.parquet", &schema::DIM_DATE)?;
        out.write(&tables::dim_date_batch(first, last))?;
        out.close()?;
    }
    // over every month's agg_order, an append's linked ones included
    crate::warehouse::derived::build_returns(dir, opts.memory).await?;
    Ok(())
}

/// Publishes the staged version with its manifest: the import recorded after the earlier ones.
/// Returns the version's name.
pub(super) fn publish(
    store: &Store,
    staging: Staging,
    source: &Path,
    opts: &ImportOptions,
    files: &BTreeMap<String, FileCounts>,
    checksums: BTreeMap<String, String>,
    previous: Option<&Previous>,
) -> Result<String, ImportError> {
    let now = chrono::Utc::now().to_rfc3339();
    let mut imports = store.current().map(|v| v.manifest.imports).unwrap_or_default();
    let source_name = opts.source_name.clone().unwrap_or_else(|| source.display().to_string());
    imports.push(ImportRecord {
        id: staging.version_name(),
        finished_at: now.clone(),
        source: source_name.clone(),
        files: files.clone(),
        checksums,
        mode: if previous.is_some() { "append" } else { "replace" }.to_string(),
        watermark: opts.watermark.clone(),
        mapping: opts.origin.as_ref().map(|o| o.mapping.clone()),
    });
    let currency = opts.currency.clone().or_else(|| store.current().ok().and_then(|v| v.manifest.currency));
    let manifest = Manifest {
        version: staging.version_name(),
        created_at: now,
        source: source_name,
        timezone: opts.timezone.to_string(),
        files: files.clone(),
        imports,
        layout: LAYOUT_BOOKS,
        key_chunk: key_chunk(opts, previous),
        currency,
        taxes_included: opts.taxes_included,
        assumptions: opts.assumptions.clone(),
    };
    staging.publish(&manifest)?;
    Ok(manifest.version)
}

/// The key chunk of the version: the previous version's for an append, else the option's.
pub(super) fn key_chunk(opts: &ImportOptions, previous: Option<&Previous>) -> i32 {
    match previous {
        Some(p) => p.key_chunk,
        None => opts.key_chunk.unwrap_or(KEY_CHUNK).max(1),
    }
}

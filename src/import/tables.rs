//! In-memory builders for the warehouse's rows: dimensions with their surrogate keys, and the
//! fact batches the importer streams to Parquet.

use super::ids::IdIndex;
use crate::model::money::{MONEY_PRECISION, MONEY_SCALE};
use crate::model::{Money, Status};
use crate::source::records::{CustomerRec, ItemRec, OrderMoney, PaymentRec, ProductRec, UNCATEGORIZED};
use crate::warehouse::keys::{date_key, date32};
use crate::warehouse::parts::FactRows;
use crate::warehouse::schema::{self, Table};
use ahash::AHashMap as HashMap;
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Int32Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use datafusion::arrow::record_batch::RecordBatch;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

fn money_builder() -> Decimal128Builder {
    Decimal128Builder::new().with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE as i8).expect("valid decimal type")
}

fn batch(table: &Table, columns: Vec<ArrayRef>) -> RecordBatch {
    RecordBatch::try_new(table.schema(), columns).expect("builders follow the table's schema")
}

/// A dimension keyed by the shop's id: assigns surrogate keys 1, 2, 3… in first-seen order.
///
/// An append continues the previous version's dimension without loading it: keys up to `base`
/// are the previous version's, `old` knows only those the new export names, and `changed` holds
/// the rows of those it relists; `ids` and `rows` hold the keys after `base`.
pub struct Dimension<R> {
    old: HashMap<String, i32>,
    ids: IdIndex,
    base: i32,
    rows: Vec<(R, bool)>,
    changed: BTreeMap<i32, (R, bool)>,
}

impl<R> Default for Dimension<R> {
    fn default() -> Self {
        Dimension { old: HashMap::new(), ids: IdIndex::default(), base: 0, rows: Vec::new(), changed: BTreeMap::new() }
    }
}

impl<R> Dimension<R> {
    /// A dimension that goes on from a previous version whose keys run to `base`, of which
    /// `known` are the ones this import may name.
    pub(crate) fn continuing(base: i32, known: HashMap<String, i32>) -> Self {
        Dimension { old: known, base, ..Default::default() }
    }

    /// The key of `id`, if known.
    pub(crate) fn key(&self, id: &str) -> Option<i32> {
        match self.ids.get(id) {
            Some(i) => Some(self.base + i as i32 + 1),
            None => self.old.get(id).copied(),
        }
    }

    /// Adds a row; `listed` says whether the export's own file had it.
    pub(crate) fn insert(&mut self, id: &str, row: R, listed: bool) -> i32 {
        self.ids.insert(id);
        self.rows.push((row, listed));
        self.last_key()
    }

    /// Adds a row listed in the export, or replaces the row of a known `id` keeping its key.
    pub(crate) fn upsert(&mut self, id: &str, row: R) -> i32 {
        match self.key(id) {
            Some(k) if k > self.base => {
                self.rows[(k - self.base) as usize - 1] = (row, true);
                k
            }
            Some(k) => {
                self.changed.insert(k, (row, true));
                k
            }
            None => self.insert(id, row, true),
        }
    }

    /// The key of `id`, adding it with `make()` (unlisted) if unknown.
    pub(crate) fn key_or_insert(&mut self, id: &str, make: impl FnOnce() -> R) -> i32 {
        match self.key(id) {
            Some(k) => k,
            None => self.insert(id, make(), false),
        }
    }

    /// Every `(key, id)` this dimension knows, in key order.
    pub(crate) fn keys(&self) -> Vec<(i32, &str)> {
        let mut all: Vec<(i32, &str)> = self.old.iter().map(|(id, k)| (*k, id.as_str())).collect();
        all.extend((0..self.ids.len() as u32).map(|i| (self.base + i as i32 + 1, self.ids.id(i))));
        all.sort_unstable_by_key(|(k, _)| *k);
        all
    }

    /// Makes room for `n` more rows whose ids take about `bytes` bytes.
    pub(crate) fn reserve(&mut self, n: usize, bytes: usize) {
        self.ids.reserve(n, bytes);
        self.rows.reserve(n);
    }

    /// The highest key.
    pub(crate) fn last_key(&self) -> i32 {
        self.base + self.rows.len() as i32
    }

    /// The keys this import gave or changed: the previous version's from `base` on are kept as
    /// they were.
    pub(crate) fn touched_keys(&self) -> impl Iterator<Item = i32> + '_ {
        self.changed.keys().copied().chain(self.base + 1..=self.last_key())
    }

    /// The rows this import gave or changed whose keys lie in `keys`, in key order, with their
    /// key and whether the export listed them.
    pub(crate) fn rows_in(&self, keys: Range<i32>) -> impl Iterator<Item = (i32, &R, bool)> + '_ {
        let new_from = keys.start.max(self.base + 1);
        let new_to = keys.end.min(self.last_key() + 1).max(new_from);
        self.changed.range(keys).map(|(k, (r, l))| (*k, r, *l)).chain((new_from..new_to).map(move |k| {
            let (r, l) = &self.rows[(k - self.base) as usize - 1];
            (k, r, *l)
        }))
    }
}

/// A customer's row packed into one allocation: each text attribute as a little-endian `u32`
/// length (`u32::MAX` for none) and its bytes, then the signup day as `i32` days since 1970
/// (`i32::MIN` for none). Five `String`s per customer cost five allocations and 120 bytes of
/// headers: at 5M customers, about 1.2 GB of the import's peak.
pub struct PackedCustomer(Box<[u8]>);

/// No value in a packed text or date.
const NO_TEXT: u32 = u32::MAX;
const NO_DATE: i32 = i32::MIN;

impl PackedCustomer {
    /// Packs `c`.
    pub fn new(c: &CustomerRec) -> PackedCustomer {
        let texts = [
            Some(c.customer_id.as_str()),
            c.customer_name.as_deref(),
            c.city.as_deref(),
            c.region.as_deref(),
            c.country.as_deref(),
        ];
        let mut out = Vec::with_capacity(24 + texts.iter().flatten().map(|t| t.len()).sum::<usize>());
        for t in texts {
            match t {
                Some(t) => {
                    out.extend_from_slice(&u32::try_from(t.len()).unwrap_or(NO_TEXT - 1).to_le_bytes());
                    out.extend_from_slice(t.as_bytes());
                }
                None => out.extend_from_slice(&NO_TEXT.to_le_bytes()),
            }
        }
        out.extend_from_slice(&c.signup_date.map_or(NO_DATE, date32).to_le_bytes());
        PackedCustomer(out.into_boxed_slice())
    }

    /// A customer known only by its id.
    pub(crate) fn bare(id: &str) -> PackedCustomer {
        PackedCustomer::new(&CustomerRec {
            customer_id: id.to_string(),
            customer_name: None,
            city: None,
            region: None,
            country: None,
            signup_date: None,
        })
    }

    /// The id, name, city, region and country, and the signup day (`Date32`).
    pub fn fields(&self) -> ([Option<&str>; 5], Option<i32>) {
        let mut at = 0;
        let mut take = |n: usize| {
            let s = &self.0[at..at + n];
            at += n;
            s
        };
        let mut texts = [None; 5];
        for t in &mut texts {
            let len = u32::from_le_bytes(take(4).try_into().expect("4 bytes"));
            if len != NO_TEXT {
                // packed from `&str`s, so always UTF-8
                *t = Some(std::str::from_utf8(take(len as usize)).expect("packed from UTF-8 text"));
            }
        }
        let date = i32::from_le_bytes(take(4).try_into().expect("4 bytes"));
        (texts, (date != NO_DATE).then_some(date))
    }
}

/// A product known only by its id.
pub(crate) fn bare_product(id: &str) -> ProductRec {
    ProductRec {
        product_id: id.to_string(),
        product_name: None,
        category: UNCATEGORIZED.into(),
        variant_of: None,
        unit_cost: None,
        list_price: None,
    }
}

/// `dim_customer` rows `(key, customer, listed)` as a batch.
pub(crate) fn customer_batch<'a>(rows: impl Iterator<Item = (i32, &'a PackedCustomer, bool)>) -> RecordBatch {
    let (mut key, mut texts, mut signup, mut listed) =
        (Int32Builder::new(), [(); 5].map(|_| StringBuilder::new()), Date32Builder::new(), BooleanBuilder::new());
    for (k, c, l) in rows {
        key.append_value(k);
        let (values, day) = c.fields();
        for (builder, value) in texts.iter_mut().zip(values) {
            builder.append_option(value);
        }
        signup.append_option(day);
        listed.append_value(l);
    }
    let mut columns: Vec<ArrayRef> = vec![Arc::new(key.finish())];
    columns.extend(texts.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(signup.finish()));
    columns.push(Arc::new(listed.finish()));
    batch(&schema::DIM_CUSTOMER, columns)
}

impl Dimension<ProductRec> {
    /// The `dim_product` batch.
    pub(crate) fn to_batch(&self) -> RecordBatch {
        let (mut key, mut id, mut name, mut category, mut cost, mut price, mut listed, mut variant_of) = (
            Int32Builder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            money_builder(),
            money_builder(),
            BooleanBuilder::new(),
            StringBuilder::new(),
        );
        for (i, (p, l)) in self.rows.iter().enumerate() {
            key.append_value(i as i32 + 1);
            id.append_value(&p.product_id);
            name.append_option(p.product_name.as_deref());
            category.append_value(&p.category);
            cost.append_option(p.unit_cost.map(Money::units));
            price.append_option(p.list_price.map(Money::units));
            listed.append_value(*l);
            variant_of.append_option(p.variant_of.as_deref());
        }
        batch(
            &schema::DIM_PRODUCT,
            vec![
                Arc::new(key.finish()),
                Arc::new(id.finish()),
                Arc::new(name.finish()),
                Arc::new(category.finish()),
                Arc::new(cost.finish()),
                Arc::new(price.finish()),
                Arc::new(listed.finish()),
                Arc::new(variant_of.finish()),
            ],
        )
    }
}

impl Dimension<()> {
    /// The batch of `table`, a dimension of a key and a name (`dim_payment_method`,
    /// `dim_channel`).
    pub(crate) fn to_batch(&self, table: &Table) -> RecordBatch {
        let mut key = Int32Builder::new();
        let mut name = StringBuilder::new();
        for (k, m) in self.keys() {
            key.append_value(k);
            name.append_value(m);
        }
        batch(table, vec![Arc::new(key.finish()), Arc::new(name.finish())])
    }
}

/// The `dim_date` batch: every day from `first` to `last`.
pub(crate) fn dim_date_batch(first: NaiveDate, last: NaiveDate) -> RecordBatch {
    const DAY_NAMES: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    let (mut key, mut date, mut year, mut quarter, mut moy, mut ym, mut start, mut dow, mut dname, mut weekend) = (
        Int32Builder::new(),
        Date32Builder::new(),
        Int32Builder::new(),
        Int32Builder::new(),
        Int32Builder::new(),
        StringBuilder::new(),
        Date32Builder::new(),
        Int32Builder::new(),
        StringBuilder::new(),
        BooleanBuilder::new(),
    );
    for d in first.iter_days().take_while(|d| *d <= last) {
        let wd = d.weekday().number_from_monday();
        key.append_value(date_key(d));
        date.append_value(date32(d));
        year.append_value(d.year());
        quarter.append_value((d.month() as i32 - 1) / 3 + 1);
        moy.append_value(d.month() as i32);
        ym.append_value(format!("{:04}-{:02}", d.year(), d.month()));
        start.append_value(date32(d.with_day(1).expect("day 1 exists")));
        dow.append_value(wd as i32);
        dname.append_value(DAY_NAMES[wd as usize - 1]);
        weekend.append_value(wd >= 6);
    }
    batch(
        &schema::DIM_DATE,
        vec![
            Arc::new(key.finish()),
            Arc::new(date.finish()),
            Arc::new(year.finish()),
            Arc::new(quarter.finish()),
            Arc::new(moy.finish()),
            Arc::new(ym.finish()),
            Arc::new(start.finish()),
            Arc::new(dow.finish()),
            Arc::new(dname.finish()),
            Arc::new(weekend.finish()),
        ],
    )
}

/// What the importer keeps of each loaded order while it reads the lines and payments.
#[derive(Clone, Debug)]
pub struct OrderInfo {
    /// Surrogate key.
    pub order_key: i32,
    /// The customer's key.
    pub customer_key: i32,
    /// Shop-local order time.
    pub order_ts: NaiveDateTime,
    /// Order day key.
    pub date_key: i32,
    /// Canonical status text.
    pub status: Status,
    /// Lines loaded so far.
    pub(crate) line_count: i32,
    /// The key of its sales channel.
    pub(crate) channel_key: i32,
    /// Its index in [`Orders`]' extras, or [`NO_EXTRA`]: most orders of most exports have no
    /// order-level money and no codes, and pay nothing for them.
    pub(crate) extra: u32,
    /// Its lines' discounts and its order discount so far, in `Money` units.
    pub(crate) discounts: i64,
    /// Their revenue so far, in `Money` units (an `i64`: `DECIMAL(18,4)` always fits, and the
    /// record stays 64 bytes instead of 80 with an `i128`; at 10M orders that is 160 MB).
    pub revenue: i64,
    /// The line of orders.csv this import read it from; 0 when this import has not listed it
    /// (yet, or at all: an order kept from the previous version of an append).
    pub(crate) source_line: u64,
    /// Which line numbers 1 to 64 this import has loaded for it (bit n-1 for line n): the
    /// duplicate check for nearly every line without a set of every line seen.
    pub(crate) lines_seen: u64,
    /// Likewise for its payment numbers.
    pub(crate) payments_seen: u64,
}

/// An order without [`OrderExtra`].
pub(crate) const NO_EXTRA: u32 = u32::MAX;

/// What some orders have beyond [`OrderInfo`]: order-level money, discount codes, refunds.
///
/// Amounts are kept in `Money` units as `i64` (every amount fits `DECIMAL(18,4)`) and the codes
/// as a number in [`Orders`]' list of codes: 48 bytes an order instead of 112. In an export with
/// shipping nearly every order has one, so at 1M orders that is 60 MB less.
#[derive(Clone, Debug, Default)]
pub struct OrderExtra {
    /// Shipping, tax, duties and the order discount, as exported.
    money: [i64; 4],
    /// The tax inside its shipping (taxes included in prices), taken out of the books' shipping.
    shipping_tax: i64,
    /// Its discount codes' number in [`Orders`]' codes plus one; 0 for none.
    codes: u32,
    /// The refund rows loaded for it.
    pub(crate) refunds: u32,
}

/// `m`'s units as an `i64`, which every `DECIMAL(18,4)` amount fits.
fn units64(m: Money) -> i64 {
    i64::try_from(m.units()).expect("a Money fits DECIMAL(18,4), so an i64")
}

/// The amount of `units` ten-thousandths, read back from [`units64`].
fn money64(units: i64) -> Money {
    Money::from_units(i128::from(units)).expect("stored from a Money")
}

impl OrderExtra {
    /// Shipping, tax, duties and the order discount, as exported.
    pub fn money(&self) -> OrderMoney {
        let [shipping, tax, duties, order_discount] = self.money.map(money64);
        OrderMoney { shipping, tax, duties, order_discount }
    }

    /// The tax inside its shipping.
    pub fn shipping_tax(&self) -> Money {
        money64(self.shipping_tax)
    }

    /// Sets the tax inside its shipping.
    pub(crate) fn set_shipping_tax(&mut self, tax: Money) {
        self.shipping_tax = units64(tax);
    }
}

/// Marks number `n` of order `key` seen in `bits` (numbers 1 to 64) or `others` (the rest);
/// false if it already was.
fn mark(bits: &mut u64, key: i32, n: i32, others: &mut ahash::AHashSet<(i32, i32)>) -> bool {
    match n {
        1..=64 => {
            let bit = 1u64 << (n - 1);
            let fresh = *bits & bit == 0;
            *bits |= bit;
            fresh
        }
        _ => others.insert((key, n)),
    }
}

impl OrderInfo {
    /// Its revenue so far.
    pub fn revenue(&self) -> Money {
        Money::from_units(self.revenue.into()).unwrap_or_default()
    }

    /// Adds a line's revenue and discount; `None` (and no change) if a total would not fit
    /// `DECIMAL(18,4)`.
    pub(crate) fn add_line(&mut self, revenue: Money, discount: Money) -> Option<()> {
        let total = i64::try_from(self.revenue().checked_add(revenue)?.units()).ok()?;
        let discounts = Money::from_units(i128::from(self.discounts))?.checked_add(discount)?;
        self.discounts = i64::try_from(discounts.units()).ok()?;
        self.revenue = total;
        Some(())
    }

    /// Moves `amount` of its revenue to its discounts (`discount`) or takes it out as tax: an
    /// order discount's or the tax's shares of its lines, which never exceed its revenue.
    pub(crate) fn take_shares(&mut self, discount: Money, tax: Money) {
        self.revenue -= (discount.units() + tax.units()) as i64;
        self.discounts += discount.units() as i64;
    }

    /// Its gross sales: revenue and discounts (the tax inside prices is in neither).
    pub(crate) fn gross_sales(&self) -> i128 {
        i128::from(self.revenue) + i128::from(self.discounts)
    }

    /// Marks line `line_no` loaded; false if it already was.
    pub(crate) fn mark_line(&mut self, line_no: i32, others: &mut ahash::AHashSet<(i32, i32)>) -> bool {
        mark(&mut self.lines_seen, self.order_key, line_no, others)
    }

    /// Marks payment `seq` loaded; false if it already was.
    pub(crate) fn mark_payment(&mut self, seq: i32, others: &mut ahash::AHashSet<(i32, i32)>) -> bool {
        mark(&mut self.payments_seen, self.order_key, seq, others)
    }
}

/// Every order an import knows, by the shop's order id: the records in a dense vector and the
/// ids in a hash table holding only an index. (A hash table of whole records grows by powers of
/// two, so at 10M orders it held 16.7M record-sized slots: 0.6 GB more than this.)
#[derive(Default)]
pub struct Orders {
    index: IdIndex,
    rows: Vec<OrderInfo>,
    extras: Vec<OrderExtra>,
    /// The distinct discount codes of the extras (a shop has few, and its orders repeat them).
    codes: IdIndex,
}

impl Orders {
    /// Makes room for `n` more orders whose ids take about `bytes` bytes.
    pub(crate) fn reserve(&mut self, n: usize, bytes: usize) {
        self.index.reserve(n, bytes);
        self.rows.reserve(n);
    }

    /// The order `id`, if known.
    pub fn get(&self, id: &str) -> Option<&OrderInfo> {
        self.index.get(id).map(|i| &self.rows[i as usize])
    }

    /// The order `id`, if known, to change.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut OrderInfo> {
        self.index.get(id).map(|i| &mut self.rows[i as usize])
    }

    /// Adds order `id` (not known yet); its position.
    pub fn insert(&mut self, id: &str, info: OrderInfo) -> u32 {
        self.rows.push(info);
        self.index.insert(id)
    }

    /// The extra of an order, if it has one.
    pub fn extra(&self, o: &OrderInfo) -> Option<&OrderExtra> {
        self.extras.get(o.extra as usize)
    }

    /// The extra of order `id` to change, made if it has none.
    pub(crate) fn extra_mut(&mut self, id: &str) -> Option<&mut OrderExtra> {
        let i = self.index.get(id)?;
        Some(self.extra_at(i))
    }

    /// The extra of the order at `position`, made if it has none.
    fn extra_at(&mut self, position: u32) -> &mut OrderExtra {
        let o = &mut self.rows[position as usize];
        if o.extra == NO_EXTRA {
            o.extra = self.extras.len() as u32;
            self.extras.push(OrderExtra::default());
        }
        &mut self.extras[o.extra as usize]
    }

    /// Sets the order-level money and discount codes of the order at `position`; an order with
    /// neither keeps no extra.
    pub(crate) fn set_extra(&mut self, position: u32, money: OrderMoney, codes: Option<&str>) {
        if self.rows[position as usize].extra == NO_EXTRA && money.is_zero() && codes.is_none() {
            return;
        }
        let codes = codes.map_or(0, |c| 1 + self.codes.get(c).unwrap_or_else(|| self.codes.insert(c)));
        let e = self.extra_at(position);
        let OrderMoney { shipping, tax, duties, order_discount } = money;
        e.money = [shipping, tax, duties, order_discount].map(units64);
        e.codes = codes;
    }

    /// The discount codes of order `o`, joined by `,`.
    pub fn codes(&self, o: &OrderInfo) -> Option<&str> {
        self.extra(o).and_then(|e| e.codes.checked_sub(1)).map(|c| self.codes.id(c))
    }

    /// Whether order `o` is a sale (kpis.md, "Terms"): a revenue status, or returned with at
    /// least one refund loaded.
    pub fn is_sale(&self, o: &OrderInfo) -> bool {
        o.status.is_revenue() || (o.status == Status::Returned && self.extra(o).is_some_and(|e| e.refunds > 0))
    }

    /// The position of order `id` among the orders, if known: a 4-byte handle on it.
    pub(crate) fn position(&self, id: &str) -> Option<u32> {
        self.index.get(id)
    }

    /// The id and record of the order at `position`.
    pub(crate) fn at(&self, position: u32) -> (&str, &OrderInfo) {
        (self.index.id(position), &self.rows[position as usize])
    }

    /// The order at `position` and its extra, to change, and its discount codes.
    pub(crate) fn at_mut(&mut self, position: u32) -> (&mut OrderInfo, Option<&mut OrderExtra>, Option<&str>) {
        let o = &mut self.rows[position as usize];
        let e = self.extras.get_mut(o.extra as usize);
        let codes = e.as_ref().and_then(|e| e.codes.checked_sub(1)).map(|c| self.codes.id(c));
        (o, e, codes)
    }

    /// Every order's record.
    pub fn values(&self) -> impl Iterator<Item = &OrderInfo> {
        self.rows.iter()
    }

    /// Every order with its id.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &OrderInfo)> {
        self.rows.iter().enumerate().map(|(i, o)| (self.index.id(i as u32), o))
    }
}

/// The orders in `fact_order`'s row order: by day, then key.
pub(crate) fn fact_order_rows(orders: &Orders) -> impl Iterator<Item = (&str, &OrderInfo)> {
    // positions, not `(id, record)` pairs: 4 bytes an order instead of 24 while sorting
    let mut at: Vec<u32> = (0..orders.rows.len() as u32).collect();
    if !orders.rows.is_sorted_by_key(|o| (o.date_key, o.order_key)) {
        at.sort_unstable_by_key(|&i| (orders.rows[i as usize].date_key, orders.rows[i as usize].order_key));
    }
    at.into_iter().map(|i| (orders.index.id(i), &orders.rows[i as usize]))
}

/// Orders gathered for the next batch of `fact_order`.
#[derive(Default)]
pub(crate) struct OrderBatch {
    date: Int32Builder,
    key: Int32Builder,
    customer: Int32Builder,
    id: StringBuilder,
    ts: TimestampMillisecondBuilder,
    status: StringBuilder,
    lines: Int32Builder,
    revenue: Option<Decimal128Builder>,
    is_sale: BooleanBuilder,
    channel: Int32Builder,
    codes: StringBuilder,
    money: [Option<Decimal128Builder>; 6],
    rows: usize,
}

impl OrderBatch {
    /// Adds order `id`, with its extra, its discount codes and whether it is a sale.
    pub(crate) fn push(
        &mut self,
        id: &str,
        o: &OrderInfo,
        extra: Option<&OrderExtra>,
        codes: Option<&str>,
        is_sale: bool,
    ) {
        self.date.append_value(o.date_key);
        self.key.append_value(o.order_key);
        self.customer.append_value(o.customer_key);
        self.id.append_value(id);
        self.ts.append_value(o.order_ts.and_utc().timestamp_millis());
        self.status.append_value(o.status.as_str());
        self.lines.append_value(o.line_count);
        self.revenue.get_or_insert_with(money_builder).append_value(o.revenue.into());
        self.is_sale.append_value(is_sale);
        self.channel.append_value(o.channel_key);
        self.codes.append_option(codes);
        let m = extra.map(OrderExtra::money).unwrap_or_default();
        let shipping_tax = extra.map_or(0, |e| e.shipping_tax().units());
        let values = [
            o.gross_sales(),
            i128::from(o.discounts),
            m.order_discount.units(),
            m.shipping.units() - shipping_tax,
            m.tax.units(),
            m.duties.units(),
        ];
        for (b, v) in self.money.iter_mut().zip(values) {
            b.get_or_insert_with(money_builder).append_value(v);
        }
        self.rows += 1;
    }
}

impl FactRows for OrderBatch {
    fn len(&self) -> usize {
        self.rows
    }

    fn take(&mut self) -> RecordBatch {
        self.rows = 0;
        batch(&schema::FACT_ORDER, {
            let mut columns: Vec<ArrayRef> = vec![
                Arc::new(self.date.finish()),
                Arc::new(self.key.finish()),
                Arc::new(self.customer.finish()),
                Arc::new(self.id.finish()),
                Arc::new(self.ts.finish()),
                Arc::new(self.status.finish()),
                Arc::new(self.lines.finish()),
                Arc::new(self.revenue.get_or_insert_with(money_builder).finish()),
                Arc::new(self.is_sale.finish()),
                Arc::new(self.channel.finish()),
                Arc::new(self.codes.finish()),
            ];
            columns.extend(
                self.money.iter_mut().map(|b| Arc::new(b.get_or_insert_with(money_builder).finish()) as ArrayRef),
            );
            columns
        })
    }
}

/// Order lines accumulated for the next batch of `fact_order_line`.
#[derive(Default)]
pub(crate) struct LineBatch {
    date: Int32Builder,
    order: Int32Builder,
    line_no: Int32Builder,
    customer: Int32Builder,
    product: Int32Builder,
    order_id: StringBuilder,
    status: StringBuilder,
    quantity: Int32Builder,
    unit_price: Option<Decimal128Builder>,
    discount: Option<Decimal128Builder>,
    revenue: Option<Decimal128Builder>,
    is_sale: BooleanBuilder,
    channel: Int32Builder,
    codes: StringBuilder,
    order_discount: Option<Decimal128Builder>,
    tax: Option<Decimal128Builder>,
    rows: usize,
}

/// A line's own figures as order_items.csv gives them, in 32 bytes: what the import keeps of
/// the lines that wait for their order's shares or refunds (millions of them in a large shop).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineFigures {
    /// >= 1, unique within the order.
    pub(crate) line_no: i32,
    /// >= 1.
    pub(crate) quantity: i32,
    /// In units of 10^-4 (DECIMAL(18,4) fits an i64).
    unit_price: i64,
    discount: i64,
    line_revenue: i64,
}

impl LineFigures {
    /// The figures of a row of order_items.csv.
    pub(crate) fn of(item: &ItemRec) -> LineFigures {
        LineFigures::new(item.line_no, item.quantity, item.unit_price, item.discount, item.line_revenue)
    }

    /// quantity * unit_price - discount, before the order's shares.
    pub(crate) fn line_revenue(&self) -> Money {
        Money::from_units(i128::from(self.line_revenue)).unwrap_or_default()
    }

    /// A line's figures; `line_revenue` is before the order's shares.
    pub(crate) fn new(line_no: i32, quantity: i32, unit_price: Money, discount: Money, line_revenue: Money) -> Self {
        // a checked amount is at most DECIMAL(18,4)'s largest, which fits an i64
        let units = |m: Money| m.units() as i64;
        LineFigures {
            line_no,
            quantity,
            unit_price: units(unit_price),
            discount: units(discount),
            line_revenue: units(line_revenue),
        }
    }
}

/// A loaded line with what fact_order_line adds to it: its product's key, its shares of the
/// order discount and of the tax inside prices, and what it carries of its order.
pub(crate) struct LineFact<'a> {
    /// Its order's id.
    pub(crate) order_id: &'a str,
    /// Its figures from order_items.csv.
    pub(crate) figures: LineFigures,
    /// Its product.
    pub(crate) product_key: i32,
    /// Its share of the order discount.
    pub(crate) order_discount: Money,
    /// Its share of the tax inside the order's prices.
    pub(crate) tax: Money,
    /// Whether its order is a sale.
    pub(crate) is_sale: bool,
    /// Its order's codes.
    pub(crate) codes: Option<&'a str>,
}

impl LineBatch {
    /// Adds one loaded line of `order`.
    pub(crate) fn push(&mut self, line: &LineFact<'_>, order: &OrderInfo) {
        let f = &line.figures;
        self.date.append_value(order.date_key);
        self.order.append_value(order.order_key);
        self.line_no.append_value(f.line_no);
        self.customer.append_value(order.customer_key);
        self.product.append_value(line.product_key);
        self.order_id.append_value(line.order_id);
        self.status.append_value(order.status.as_str());
        self.quantity.append_value(f.quantity);
        self.unit_price.get_or_insert_with(money_builder).append_value(f.unit_price.into());
        self.discount.get_or_insert_with(money_builder).append_value(f.discount.into());
        self.revenue
            .get_or_insert_with(money_builder)
            .append_value(i128::from(f.line_revenue) - line.order_discount.units() - line.tax.units());
        self.is_sale.append_value(line.is_sale);
        self.channel.append_value(order.channel_key);
        self.codes.append_option(line.codes);
        self.order_discount.get_or_insert_with(money_builder).append_value(line.order_discount.units());
        self.tax.get_or_insert_with(money_builder).append_value(line.tax.units());
        self.rows += 1;
    }
}

impl FactRows for LineBatch {
    fn len(&self) -> usize {
        self.rows
    }

    fn take(&mut self) -> RecordBatch {
        self.rows = 0;
        let money =
            |b: &mut Option<Decimal128Builder>| -> ArrayRef { Arc::new(b.get_or_insert_with(money_builder).finish()) };
        let (unit_price, discount, revenue, order_discount, tax) = (
            money(&mut self.unit_price),
            money(&mut self.discount),
            money(&mut self.revenue),
            money(&mut self.order_discount),
            money(&mut self.tax),
        );
        batch(
            &schema::FACT_ORDER_LINE,
            vec![
                Arc::new(self.date.finish()),
                Arc::new(self.order.finish()),
                Arc::new(self.line_no.finish()),
                Arc::new(self.customer.finish()),
                Arc::new(self.product.finish()),
                Arc::new(self.order_id.finish()),
                Arc::new(self.status.finish()),
                Arc::new(self.quantity.finish()),
                unit_price,
                discount,
                revenue,
                Arc::new(self.is_sale.finish()),
                Arc::new(self.channel.finish()),
                Arc::new(self.codes.finish()),
                order_discount,
                tax,
            ],
        )
    }
}

/// Payments accumulated for the next batch of `fact_payment`.
#[derive(Default)]
pub(crate) struct PaymentBatch {
    date: Int32Builder,
    order: Int32Builder,
    seq: Int32Builder,
    customer: Int32Builder,
    method: Int32Builder,
    order_id: StringBuilder,
    installments: Int32Builder,
    amount: Option<Decimal128Builder>,
    rows: usize,
}

impl PaymentBatch {
    /// Adds one loaded payment of `order`.
    pub(crate) fn push(&mut self, p: &PaymentRec, order: &OrderInfo, method_key: i32) {
        self.date.append_value(order.date_key);
        self.order.append_value(order.order_key);
        self.seq.append_value(p.payment_seq);
        self.customer.append_value(order.customer_key);
        self.method.append_value(method_key);
        self.order_id.append_value(&p.order_id);
        self.installments.append_value(p.installments);
        self.amount.get_or_insert_with(money_builder).append_value(p.amount.units());
        self.rows += 1;
    }
}

impl FactRows for PaymentBatch {
    fn len(&self) -> usize {
        self.rows
    }

    fn take(&mut self) -> RecordBatch {
        self.rows = 0;
        batch(
            &schema::FACT_PAYMENT,
            vec![
                Arc::new(self.date.finish()),
                Arc::new(self.order.finish()),
                Arc::new(self.seq.finish()),
                Arc::new(self.customer.finish()),
                Arc::new(self.method.finish()),
                Arc::new(self.order_id.finish()),
                Arc::new(self.installments.finish()),
                Arc::new(self.amount.get_or_insert_with(money_builder).finish()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{OrderInfo, PackedCustomer};
    use crate::model::{Money, Status};
    use crate::source::records::CustomerRec;
    use chrono::NaiveDate;

    #[test]
    fn an_order_record_is_80_bytes() {
        assert_eq!(std::mem::size_of::<OrderInfo>(), 80);
    }

    #[test]
    fn order_revenue_stops_at_the_decimal_limit() {
        let ts = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let mut o = OrderInfo {
            order_key: 1,
            customer_key: 1,
            order_ts: ts,
            date_key: 20240101,
            status: Status::Delivered,
            line_count: 0,
            channel_key: 1,
            extra: super::NO_EXTRA,
            discounts: 0,
            revenue: 0,
            source_line: 1,
            lines_seen: 0,
            payments_seen: 0,
        };
        let big = Money::from_units(900_000_000_000_000_000).unwrap();
        assert_eq!(o.add_line(big, Money::ZERO), Some(()));
        assert_eq!(o.add_line(big, Money::ZERO), None, "1.8e18 units is past DECIMAL(18,4)");
        assert_eq!(o.revenue(), big);
        assert_eq!(o.add_line(Money::from_cents(-5), Money::from_cents(7)), Some(()));
        assert_eq!(o.revenue().units(), 900_000_000_000_000_000 - 500);
        assert_eq!(o.discounts, 700);
        // an order discount's share moves revenue to discounts; the tax inside leaves both
        o.take_shares(Money::from_cents(3), Money::from_cents(2));
        assert_eq!((o.revenue().units(), o.discounts), (900_000_000_000_000_000 - 1000, 1000));
        assert_eq!(o.gross_sales(), 900_000_000_000_000_000);
    }

    #[test]
    fn a_packed_customer_unpacks_to_its_fields() {
        let c = CustomerRec {
            customer_id: "C1".into(),
            customer_name: Some("Zoë".into()),
            city: None,
            region: Some(String::new()),
            country: Some("DE".into()),
            signup_date: NaiveDate::from_ymd_opt(1969, 12, 31),
        };
        let packed = PackedCustomer::new(&c);
        let (texts, day) = packed.fields();
        assert_eq!(texts, [Some("C1"), Some("Zoë"), None, Some(""), Some("DE")]);
        assert_eq!(day, Some(-1));
        let bare = PackedCustomer::bare("X");
        assert_eq!(bare.fields(), ([Some("X"), None, None, None, None], None));
    }
}

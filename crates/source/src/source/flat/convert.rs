//! The conversion of a flat file into the canonical five files, once [`check`](super::check) has
//! bound its mapping to the header.

use super::check::{Bound, SAMPLE_ROWS, check};
use super::{FlatError, Mapping, number};
use crate::model::Money;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

/// What a conversion read and wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Converted {
    /// The flat file's name (without its folder), which rejects and the import record name.
    pub file_name: String,
    /// Data rows of the flat file.
    pub rows: u64,
    /// Orders written.
    pub orders: u64,
    /// Optional fields a preset names whose column the file does not have: left empty.
    pub missing: Vec<String>,
    /// The SHA-256 of the flat file's bytes.
    pub sha256: String,
    /// Whether prices include the tax, as the mapping says or the file showed (`None`: not said).
    pub taxes_included: Option<bool>,
    /// Refunds written to refunds.csv.
    pub refunds: u64,
    /// The shop's currency, from the mapped `currency` column (one code in the whole file).
    pub currency: Option<String>,
    /// The UTC offsets of the shop's clock (`[file] shop_offsets`) the file's times carry.
    pub offsets: Vec<String>,
    /// Test orders (the `test` field's column says so) left out with all their rows.
    pub test_orders: u64,
    /// What the books of this export rest on beyond its columns, in words for the user.
    pub assumptions: Vec<String>,
}

/// Whether a `test` column's value marks a test order: a flag (`true`, `yes`, `1`) or a list of
/// tags one of which is `test` (Shopify's `Tags`: `test, wholesale`).
fn is_test(value: &str) -> bool {
    let v = value.trim();
    ["true", "yes", "y", "1"].iter().any(|t| v.eq_ignore_ascii_case(t))
        || v.split(',').any(|tag| tag.trim().eq_ignore_ascii_case("test"))
}

/// Fields whose empty value has a meaning of its own (no discount, one installment, no code, no
/// refund), so a column empty in every row is not a mistake.
const MAY_BE_EMPTY: [&str; 12] = [
    "discount",
    "discount_rate",
    "installments",
    "shipping",
    "tax",
    "duties",
    "order_discount",
    "discount_code",
    "refunded_amount",
    "channel",
    "currency",
    "test",
];

/// An order as the conversion gathers it from its rows: its first row's fields, and its lines'
/// sums, written once the whole file is read.
struct PendingOrder {
    /// order_id, customer_id, order_ts, status, shipping, tax, duties, order_discount,
    /// discount_code, channel, source_line.
    row: [String; 11],
    /// The order discount as mapped (before its lines' are taken out).
    order_discount: Money,
    /// Its lines' discounts.
    line_discounts: Money,
    /// Its lines' amounts after their discounts.
    goods: Money,
    /// The mapped total and refunded amount.
    total: Option<Money>,
    refunded: Money,
}

/// Shares `total` over `parts` (largest remainder) as amounts.
fn split(total: Money, parts: &[Money]) -> Vec<Money> {
    let weights: Vec<i128> = parts.iter().map(|p| p.units().max(0)).collect();
    crate::model::money::allocate(total.units(), &weights)
        .into_iter()
        .map(|u| Money::from_units(u).unwrap_or_default())
        .collect()
}

/// Whether the sampled orders say that prices include the tax: every order with tax whose total
/// reads is goods + shipping (included) or goods + shipping + tax (not); `None` when they do not
/// agree or none has tax.
fn detect_taxes_included(orders: &[PendingOrder], includes_lines: bool) -> Option<bool> {
    let money = |s: &str| Money::parse(s).unwrap_or_default();
    let (mut included, mut excluded) = (0, 0);
    for o in orders {
        let (shipping, tax) = (money(&o.row[4]), money(&o.row[5]));
        let Some(total) = o.total else { continue };
        if tax == Money::ZERO {
            continue;
        }
        // the goods after every discount: the order discount as mapped may hold the lines' too
        let own = o.order_discount.units() - if includes_lines { o.line_discounts.units() } else { 0 };
        let base = o.goods.units() - own + shipping.units();
        if total.units() == base {
            included += 1;
        } else if total.units() == base + tax.units() {
            excluded += 1;
        }
    }
    match (included, excluded) {
        (0, 0) => None,
        (i, 0) if i > 0 => Some(true),
        (0, e) if e > 0 => Some(false),
        _ => None,
    }
}

/// Reads a timestamp with a chrono format: with an offset (`%z`), without one, or a date alone
/// (midnight).
pub(super) fn parse_with_format(raw: &str, format: &str) -> Result<Timestamp, chrono::ParseError> {
    DateTime::parse_from_str(raw, format)
        .map(Timestamp::Offset)
        .or_else(|_| NaiveDateTime::parse_from_str(raw, format).map(Timestamp::Local))
        .or_else(|_| {
            NaiveDate::parse_from_str(raw, format)
                .map(|d| Timestamp::Local(d.and_hms_opt(0, 0, 0).expect("midnight exists")))
        })
}

/// A timestamp read with a format.
pub(super) enum Timestamp {
    /// With its UTC offset.
    Offset(DateTime<chrono::FixedOffset>),
    /// A local time.
    Local(NaiveDateTime),
}

/// A line's unit price and discount in the canonical form, from the mapped price or line total
/// and a discount amount or rate. A line total becomes a unit price rounded up to the format's
/// four decimals, and what that rounding adds goes into the discount: the line's revenue stays
/// the total to the last digit. Values that do not read are passed on as they are, for the import
/// to reject with their text.
fn line_amounts(
    q: i64,
    price: &str,
    total: Option<String>,
    discount: &str,
    rate: &str,
    total_after_discount: bool,
) -> (String, String) {
    // ten-thousandths rounded to whole cents, as a shop's receipt shows a discount
    let to_cents = |units: i128| crate::model::money::round_scaled(units, 4, 2) * 100;
    let rate = rate.parse::<f64>().ok().map(|r| if r > 1.0 { r / 100.0 } else { r });
    // a discount given as a rate of the gross amount, in ten-thousandths
    let of_gross = |gross: i128| rate.map_or(0, |r| (gross as f64 * r).round() as i128);
    let Some(total) = total else {
        if !discount.is_empty() || rate.is_none() {
            return (price.to_string(), discount.to_string());
        }
        return match Money::parse(price) {
            Ok(p) => {
                let d = to_cents(of_gross(p.units() * q as i128));
                (price.to_string(), Money::from_units(d).unwrap_or_default().to_string())
            }
            Err(_) => (price.to_string(), String::new()),
        };
    };
    let (Ok(total), true) = (Money::parse(&total), q > 0) else { return (total, discount.to_string()) };
    let given = Money::parse(discount).map_or(0, Money::units);
    let (gross, off) = if total_after_discount {
        let gross = match rate {
            Some(r) if discount.is_empty() && r < 1.0 => (total.units() as f64 / (1.0 - r)).round() as i128,
            _ => total.units() + given,
        };
        (gross, gross - total.units())
    } else if discount.is_empty() {
        let off = to_cents(of_gross(total.units()));
        (total.units(), off)
    } else {
        (total.units(), given)
    };
    let unit = (gross + q as i128 - 1) / q as i128;
    let off = off + unit * q as i128 - gross;
    match (Money::from_units(unit), Money::from_units(off)) {
        (Some(u), Some(d)) => (u.to_string(), d.to_string()),
        _ => (total.to_string(), discount.to_string()),
    }
}

/// A reader that hashes the bytes it hands on.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Converts the flat file `input` into the canonical five files in `out`. The mapping is checked
/// against the header and the first rows before anything is written.
///
/// # Errors
/// The file cannot be read, the mapping does not fit it ([`check`]), or a mapped field (other
/// than a discount or installments) is empty in every row.
pub fn convert(input: &Path, mapping: &Mapping, out: &Path) -> Result<Converted, FlatError> {
    let file_name = input.file_name().map_or_else(|| input.display().to_string(), |n| n.to_string_lossy().into());
    let err = |message: String| FlatError::File { file: input.display().to_string(), message };
    // a mapping that does not say (a preset) takes the separator the header line shows
    let delimiter = match mapping.file.delimiter {
        Some(d) => d,
        None => super::detect::sniff_delimiter(input)?,
    };
    let opened = std::fs::File::open(input).map_err(|e| err(e.to_string()))?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter as u8)
        .flexible(true)
        .from_reader(Hashing { inner: std::io::BufReader::new(opened), hash: Sha256::new() });
    let header = super::read_header(&mut reader).map_err(|e| err(e.to_string()))?;
    let mut records = reader.records();
    let mut sample = Vec::with_capacity(SAMPLE_ROWS);
    for record in records.by_ref().take(SAMPLE_ROWS) {
        let record = record.map_err(|e| err(e.to_string()))?;
        sample.push((record.position().map_or(0, |p| p.line()), record));
    }
    let binding = check(&file_name, mapping, &header, &sample)?;
    let fields = &binding.fields;
    let get = |name: &str, rec: &csv::StringRecord| -> String {
        fields.get(name).map(|r: &Bound| r.value(rec).into_owned()).unwrap_or_default()
    };
    let ts_format = mapping.ts_format();
    let file_tz: Option<chrono_tz::Tz> = mapping.file.timezone.as_ref().and_then(|n| n.parse().ok());
    // the offsets a shop's clock showed (`shop_offsets`), and the currency codes of the file
    let mut offsets: BTreeSet<String> = BTreeSet::new();
    let mut currencies: BTreeSet<String> = BTreeSet::new();
    // a timestamp as the canonical file takes it: the mapping's format read, a local time of the
    // file's zone given its offset, the shop's own clock kept as written
    let offsets_seen = std::cell::RefCell::new(&mut offsets);
    let shop_time = |raw_ts: &str| -> String {
        let raw_ts = raw_ts.to_string();
        let naive = |d: NaiveDateTime| match file_tz {
            // a local time of the file's zone, written with its offset for the import to convert
            Some(tz) => d.and_local_timezone(tz).earliest().map_or_else(|| raw_ts.clone(), |t| t.to_rfc3339()),
            None => d.format("%Y-%m-%dT%H:%M:%S").to_string(),
        };
        let own_clock = |d: DateTime<chrono::FixedOffset>| {
            offsets_seen.borrow_mut().insert(d.offset().to_string());
            d.naive_local().format("%Y-%m-%dT%H:%M:%S").to_string()
        };
        let has_offset = |t: &str| t.ends_with('Z') || t.get(19..).is_some_and(|rest| rest.contains(['+', '-']));
        match ts_format {
            Some(f) => match parse_with_format(&raw_ts, f) {
                Ok(Timestamp::Offset(d)) if mapping.file.shop_offsets => own_clock(d),
                Ok(Timestamp::Offset(d)) => d.to_rfc3339(),
                Ok(Timestamp::Local(d)) => naive(d),
                // left as it is: the import rejects it, naming the value
                Err(_) => raw_ts.clone(),
            },
            None if mapping.file.shop_offsets && has_offset(&raw_ts) => {
                DateTime::parse_from_rfc3339(&raw_ts.replacen(' ', "T", 1)).map_or_else(|_| raw_ts.clone(), own_clock)
            }
            None if file_tz.is_some() && !has_offset(&raw_ts) => {
                crate::model::time::parse_timestamp(&raw_ts, crate::model::ShopTz::default())
                    .map_or_else(|_| raw_ts.clone(), naive)
            }
            None => raw_ts.clone(),
        }
    };

    std::fs::create_dir_all(out).map_err(|e| err(e.to_string()))?;
    let open = |name: &str, header: &[&str]| -> Result<csv::Writer<std::fs::File>, FlatError> {
        let mut w = csv::Writer::from_path(out.join(name)).map_err(|e| err(e.to_string()))?;
        w.write_record(header).map_err(|e| err(e.to_string()))?;
        Ok(w)
    };
    let mut customers =
        open("customers.csv", &["customer_id", "customer_name", "city", "region", "country", "source_line"])?;
    let mut products = open("products.csv", &["product_id", "product_name", "category", "variant_of", "source_line"])?;
    // kept to the end: a product's variants are known once every name is read
    let mut product_rows: Vec<[String; 5]> = Vec::new();
    let with_line = |file: crate::source::SourceFile| [file.header(), vec!["source_line"]].concat();
    let mut orders = open("orders.csv", &with_line(crate::source::SourceFile::Orders))?;
    let returns_prefix = mapping.file.returns_prefix.as_deref().filter(|p| !p.is_empty());
    let refunds_wanted = fields.contains_key("refunded_amount") || returns_prefix.is_some();
    // with returns: each purchase line by (customer, product), and the returns, matched at the end
    let mut purchases: HashMap<(String, String), Vec<Purchase>> = HashMap::new();
    let mut returns: Vec<Return> = Vec::new();
    let mut refunds = match refunds_wanted {
        true => Some(open("refunds.csv", &with_line(crate::source::SourceFile::Refunds))?),
        false => None,
    };
    let mut pending: Vec<PendingOrder> = Vec::new();
    let mut pending_at: HashMap<String, usize> = HashMap::new();
    let mut items = open(
        "order_items.csv",
        &["order_id", "line_no", "product_id", "quantity", "unit_price", "discount", "source_line"],
    )?;
    let mut payments =
        open("payments.csv", &["order_id", "payment_seq", "method", "installments", "amount", "source_line"])?;

    let decimal_comma = mapping.file.decimal_comma;
    let (mut seen_customers, mut seen_products) = (HashSet::new(), HashSet::new());
    // per order: its next line number, and its payment (method, installments, total, line)
    let mut line_no: HashMap<String, i32> = HashMap::new();
    let mut test_orders: HashSet<String> = HashSet::new();
    let mut pay: BTreeMap<String, (String, String, Money, u64)> = BTreeMap::new();
    // rows in which each bound column has a value
    let mut filled: BTreeMap<&str, u64> = fields.iter().filter(|(_, b)| b.at.is_some()).map(|(f, _)| (*f, 0)).collect();
    let mut converted =
        Converted { file_name: file_name.clone(), missing: binding.missing.clone(), ..Default::default() };
    let w = |e: csv::Error| err(e.to_string());
    let rest = records.map(|r| r.map(|record| (record.position().map_or(0, |p| p.line()), record)));
    for item in sample.into_iter().map(Ok).chain(rest) {
        let (line, record) = item.map_err(|e| err(e.to_string()))?;
        let src = line.to_string();
        converted.rows += 1;
        for (field, n) in filled.iter_mut() {
            if fields[field].at.is_some_and(|i| record.get(i).is_some_and(|v| !v.trim().is_empty())) {
                *n += 1;
            }
        }
        let order_id = get("order_id", &record);
        let cancelled =
            mapping.file.cancel_prefix.as_ref().is_some_and(|p| !p.is_empty() && order_id.starts_with(p.as_str()));
        let mut quantity = number(&get("quantity", &record), false);
        if cancelled {
            quantity = quantity.trim_start_matches('-').to_string();
        }
        let q: i64 = quantity.parse().unwrap_or(0);
        if returns_prefix.is_some_and(|p| order_id.starts_with(p)) {
            let ts = shop_time(&get("order_ts", &record));
            returns.push(Return {
                id: order_id,
                customer: get("customer_id", &record),
                product: Some(get("product_id", &record))
                    .filter(|p| !p.is_empty())
                    .unwrap_or(get("product_name", &record)),
                units: q.unsigned_abs(),
                price: Money::parse(&number(&get("unit_price", &record), decimal_comma)).ok(),
                ts,
                line,
            });
            continue;
        }
        // a test order is left out whole: its first row says so, its other rows follow it
        if test_orders.contains(&order_id) {
            continue;
        }
        if !line_no.contains_key(&order_id) && is_test(&get("test", &record)) {
            test_orders.insert(order_id);
            continue;
        }
        let (unit_price, discount) = line_amounts(
            q,
            &number(&get("unit_price", &record), decimal_comma),
            (!fields.contains_key("unit_price")).then(|| number(&get("line_total", &record), decimal_comma)),
            &number(&get("discount", &record), decimal_comma),
            &number(get("discount_rate", &record).trim_end_matches('%'), decimal_comma),
            mapping.file.line_total_after_discount,
        );
        // a guest per order when the export has no customer
        let mut customer_id = get("customer_id", &record);
        if customer_id.is_empty() && !order_id.is_empty() {
            customer_id = format!("guest-{order_id}");
        }
        // a customer's attributes (a guest's too: its country counts) come from its first row
        if !customer_id.is_empty() && seen_customers.insert(customer_id.clone()) {
            let c = [
                customer_id.clone(),
                get("customer_name", &record),
                get("city", &record),
                get("region", &record),
                get("country", &record),
                src.clone(),
            ];
            customers.write_record(&c).map_err(w)?;
        }
        // a line without a product id (a tip, a custom item) is known by its name
        let mut product_id = get("product_id", &record);
        if product_id.is_empty() {
            product_id = get("product_name", &record);
        }
        if !product_id.is_empty() && seen_products.insert(product_id.clone()) {
            product_rows.push([
                product_id.clone(),
                get("product_name", &record),
                get("category", &record),
                get("variant_of", &record),
                src.clone(),
            ]);
        }
        let next = line_no.entry(order_id.clone()).or_insert(0);
        *next += 1;
        if returns_prefix.is_some() {
            let product = Some(product_id.clone()).filter(|p| !p.is_empty()).unwrap_or_default();
            purchases.entry((customer_id.clone(), product)).or_default().push(Purchase {
                order: order_id.clone(),
                line_no: *next,
                units: q.max(0) as u64,
            });
        }
        if *next == 1 {
            // order-level fields come from an order's first row
            let ts = shop_time(&get("order_ts", &record));
            let currency = get("currency", &record);
            if !currency.trim().is_empty() {
                currencies.insert(currency.trim().to_uppercase());
            }
            let status = if cancelled { "cancelled".to_string() } else { get("status", &record) };
            let status = if status.is_empty() { "delivered".to_string() } else { status };
            let amount = |f: &str| number(&get(f, &record), decimal_comma);
            let order_discount = Money::parse(&amount("order_discount")).unwrap_or_default();
            pending_at.insert(order_id.clone(), pending.len());
            pending.push(PendingOrder {
                row: [
                    order_id.clone(),
                    customer_id.clone(),
                    ts,
                    status,
                    amount("shipping"),
                    amount("tax"),
                    amount("duties"),
                    amount("order_discount"),
                    get("discount_code", &record),
                    get("channel", &record),
                    src.clone(),
                ],
                order_discount,
                line_discounts: Money::ZERO,
                goods: Money::ZERO,
                total: Money::parse(&amount("order_total")).ok(),
                refunded: Money::parse(&amount("refunded_amount")).unwrap_or_default(),
            });
            converted.orders += 1;
        }
        items
            .write_record([
                order_id.clone(),
                next.to_string(),
                product_id,
                quantity,
                unit_price.clone(),
                discount.clone(),
                src.clone(),
            ])
            .map_err(w)?;
        let method = get("method", &record);
        let line_amount = Money::parse(&unit_price)
            .ok()
            .and_then(|p| p.checked_mul(q))
            .and_then(|g| g.checked_sub(Money::parse(&discount).unwrap_or_default()))
            .unwrap_or_default();
        if let Some(o) = pending_at.get(&order_id).map(|&i| &mut pending[i]) {
            o.goods = o.goods.checked_add(line_amount).unwrap_or(o.goods);
            let d = Money::parse(&discount).unwrap_or_default();
            o.line_discounts = o.line_discounts.checked_add(d).unwrap_or(o.line_discounts);
        }
        let entry =
            pay.entry(order_id).or_insert_with(|| (method.clone(), get("installments", &record), Money::ZERO, line));
        if entry.0.is_empty() {
            entry.0 = method;
        }
        entry.2 = entry.2.checked_add(line_amount).unwrap_or(entry.2);
    }
    if converted.rows > 0 {
        let empty: Vec<String> = filled
            .iter()
            .filter(|(f, n)| **n == 0 && !MAY_BE_EMPTY.contains(f))
            .map(|(f, _)| format!("{f} (column '{}')", fields[f].source.column().unwrap_or_default()))
            .collect();
        if !empty.is_empty() {
            return Err(err(format!(
                "mapped columns empty in every one of the {} rows: {}; map each to a column with values, or remove \
                 it from the mapping",
                converted.rows,
                empty.join(", ")
            )));
        }
    }
    converted.currency = match (currencies.len(), currencies.first()) {
        (0, _) => None,
        (1, Some(code)) => {
            crate::model::Currency::parse(code).map_err(|e| err(format!("column currency: {e}")))?;
            Some(code.clone())
        }
        (n, _) => {
            return Err(err(format!(
                "the export mixes {n} currencies ({}); shoplens adds amounts of one currency, so import each \
                 currency's rows on their own",
                currencies.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            )));
        }
    };
    converted.offsets = offsets.iter().cloned().collect();
    if !offsets.is_empty() {
        converted.assumptions.push(format!(
            "order times are the shop's own clock, as the export writes them (UTC offsets {}): days and months are \
             the shop's",
            offsets.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    converted.test_orders = test_orders.len() as u64;
    if !test_orders.is_empty() {
        let mut ids: Vec<&String> = test_orders.iter().collect();
        ids.sort();
        let column = fields.get("test").and_then(|b| b.source.column()).unwrap_or("test");
        converted.assumptions.push(format!(
            "{} test orders (column '{column}' says test) are left out of every figure: {}{}",
            ids.len(),
            ids.iter().take(5).map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
            if ids.len() > 5 { ", …" } else { "" }
        ));
    }
    use super::TaxesIncluded;
    converted.taxes_included = match &mapping.file.taxes_included {
        Some(TaxesIncluded::Flag(b)) => Some(*b),
        Some(TaxesIncluded::Auto(_)) => {
            let found = detect_taxes_included(&pending, mapping.file.order_discount_includes_lines);
            let taxed = pending.iter().any(|o| Money::parse(&o.row[5]).is_ok_and(|t| t > Money::ZERO));
            let said = match found {
                Some(true) => Some("prices include tax: each order's total is its goods and shipping"),
                Some(false) => Some("prices are before tax: each order's total is its goods, shipping and tax"),
                // an export without tax has nothing to say about it
                None if taxed => Some("the totals do not show whether prices include tax: taken as before tax"),
                None => None,
            };
            converted.assumptions.extend(said.map(str::to_string));
            Some(found.unwrap_or(false))
        }
        None => None,
    };
    if let (Some(prefix), Some(out)) = (returns_prefix, refunds.as_mut()) {
        let matched = match_returns(&mut returns, &mut purchases, &pending, &pending_at);
        let (mut written, mut left_out, mut left_units, mut left_amount) = (0u64, 0u64, 0u64, Money::ZERO);
        for (r, pieces, missing) in matched {
            for (order, line_no, units) in pieces {
                let amount =
                    r.price.and_then(|p| p.checked_mul(units as i64)).map_or_else(String::new, |a| a.to_string());
                out.write_record([
                    format!("{}-{}-{order}", r.id, r.line),
                    order,
                    r.ts.clone(),
                    line_no.to_string(),
                    units.to_string(),
                    amount,
                    "0".into(),
                    "0".into(),
                    r.line.to_string(),
                ])
                .map_err(w)?;
                written += 1;
            }
            if missing > 0 {
                left_out += 1;
                left_units += missing;
                let value = r.price.and_then(|p| p.checked_mul(missing as i64)).unwrap_or_default();
                left_amount = left_amount.checked_add(value).unwrap_or(left_amount);
            }
        }
        converted.refunds += written;
        if written > 0 {
            converted.assumptions.push(format!(
                "orders numbered {prefix}… are returns: each line is a refund on its own date of the customer's latest \
                 earlier purchase of the product ({written} refund lines)"
            ));
        }
        if left_out > 0 {
            converted.assumptions.push(format!(
                "{left_out} return lines ({left_units} units, {left_amount}) match no earlier purchase of their customer \
                 in the export (a guest's, or bought before the export begins): left out of the books"
            ));
        }
    }
    let taxes_included = converted.taxes_included.unwrap_or(false);
    let money = |s: &str| Money::parse(s).unwrap_or_default();
    let mut split_refunds = 0;
    // refunds of the refunded amount, which has no date
    let mut undated = 0u64;
    // refunds over their order's whole (goods, shipping, tax): counted up to it, said below
    let (mut over, mut over_orders) = (Money::ZERO, Vec::new());
    for mut o in pending {
        if mapping.file.order_discount_includes_lines {
            // the order's own discount: what its lines' discounts leave of the whole
            let own = o.order_discount.checked_sub(o.line_discounts).unwrap_or_default().max(Money::ZERO);
            o.row[7] = own.to_string();
            o.order_discount = own;
        }
        let refund = match &mut refunds {
            Some(r) if o.refunded > Money::ZERO && !["cancelled", "pending"].contains(&o.row[3].as_str()) => Some(r),
            _ => None,
        };
        if let Some(out) = refund {
            // the refund's goods, shipping and tax in proportion to the order's (tax taken out of
            // the goods and shipping when prices include it, rounded so the goods stay within the
            // order's after the import shares the tax)
            let goods = o.goods.checked_sub(o.order_discount).unwrap_or_default();
            let (shipping, tax) = (money(&o.row[4]), money(&o.row[5]));
            let (goods, shipping) = if taxes_included {
                let base = (goods.units() + shipping.units()).max(1);
                let on_goods = (tax.units() * goods.units() + base - 1) / base;
                let g = Money::from_units(goods.units() - on_goods).unwrap_or_default();
                let s = Money::from_units(shipping.units() - (tax.units() - on_goods)).unwrap_or_default();
                (g, s)
            } else {
                (goods, shipping)
            };
            let whole = goods.units() + shipping.units() + tax.units();
            let refunded = Money::from_units(o.refunded.units().min(whole)).unwrap_or_default();
            if o.refunded.units() > whole {
                over = over.checked_add(o.refunded.checked_sub(refunded).unwrap_or_default()).unwrap_or(over);
                over_orders.push(o.row[0].clone());
            }
            let parts = split(refunded, &[goods, shipping, tax]);
            if refunded.units() < whole {
                split_refunds += 1;
            }
            let id = o.row[0].clone();
            out.write_record([
                format!("refund-{id}"),
                id,
                o.row[2].clone(),
                String::new(),
                String::new(),
                parts[0].to_string(),
                parts[1].to_string(),
                parts[2].to_string(),
                o.row[10].clone(),
            ])
            .map_err(w)?;
            converted.refunds += 1;
            undated += 1;
        }
        orders.write_record(&o.row).map_err(w)?;
    }
    if undated > 0 {
        converted.assumptions.push(format!(
            "the export has no refund dates: each of the {undated} refunds is counted on its order's day"
        ));
    }
    if !over_orders.is_empty() {
        let named: Vec<&str> = over_orders.iter().take(5).map(String::as_str).collect();
        converted.assumptions.push(format!(
            "{} refunds are more than their order's goods, shipping and tax ({} in all; {}{}): each is counted up \
             to its order's whole, so total sales are that much above the export's total less its refunds",
            over_orders.len(),
            over,
            named.join(", "),
            if over_orders.len() > named.len() { ", …" } else { "" }
        ));
    }
    if split_refunds > 0 {
        converted.assumptions.push(format!(
            "the export does not split refunds: each of the {split_refunds} partial refunds is shared between goods, \
             shipping and tax in proportion to its order's"
        ));
    }
    for (order_id, (method, installments, amount, line)) in pay {
        if !method.is_empty() && !order_id.is_empty() {
            payments
                .write_record([order_id, "1".into(), method, installments, amount.to_string(), line.to_string()])
                .map_err(w)?;
        }
    }
    if let Some(separator) = mapping.file.variant_separator.as_deref().filter(|s| !s.is_empty()) {
        variants_from_names(&mut product_rows, separator);
    }
    for row in &product_rows {
        products.write_record(row).map_err(w)?;
    }
    for mut wr in [customers, products, orders, items, payments].into_iter().chain(refunds) {
        wr.flush().map_err(|e| err(e.to_string()))?;
    }
    // the rest of the file (after the last record) still counts in its checksum
    let mut rest = reader.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink()).map_err(|e| err(e.to_string()))?;
    converted.sha256 = format!("{:x}", rest.hash.finalize());
    Ok(converted)
}

/// Fills the empty `variant_of` of product rows `[id, name, category, variant_of, line]` from
/// names of the form `Product - Variant` (`separator` is ` - `): the part before the last
/// separator is the product when another name shares it, or another name is it (`Pads` beside
/// `Pads - XL`). A name whose part before the separator no other name shares is a product of its
/// own: a title may hold the separator itself (`Crazy Sofa - Inflatable Towable`).
fn variants_from_names(rows: &mut [[String; 5]], separator: &str) {
    let head = |name: &str| name.rsplit_once(separator).map(|(h, _)| h.trim().to_string());
    // how many distinct names each product title stands for
    let mut names: HashMap<String, HashSet<String>> = HashMap::new();
    for row in rows.iter() {
        let name = row[1].trim();
        if let Some(h) = head(name) {
            names.entry(h).or_default().insert(name.to_string());
        }
    }
    for row in rows.iter() {
        if let Some(set) = names.get_mut(row[1].trim()) {
            set.insert(row[1].trim().to_string());
        }
    }
    for row in rows.iter_mut().filter(|r| r[3].is_empty()) {
        let name = row[1].trim().to_string();
        let title = head(&name).filter(|h| !h.is_empty() && names[h].len() > 1);
        if let Some(title) = title.or_else(|| names.get(&name).filter(|set| set.len() > 1).map(|_| name.clone())) {
            row[3] = title;
        }
    }
}

/// A purchase line, as a return may take it back.
struct Purchase {
    order: String,
    line_no: i32,
    /// Units not returned yet.
    units: u64,
}

/// A line of a return order (`returns_prefix`), as the file gives it.
struct Return {
    /// The return order's id.
    id: String,
    customer: String,
    product: String,
    /// Units returned.
    units: u64,
    price: Option<Money>,
    /// Its time, as the canonical files take it.
    ts: String,
    /// Its line in the flat file.
    line: u64,
}

/// A return with the purchase lines it takes back, `(order, line_no, units)`, and the units no
/// purchase covers.
type Matched<'r> = (&'r Return, Vec<(String, i32, u64)>, u64);

/// Each return with the purchase lines it takes back, and the units no purchase covers: in time order, each takes from its customer's latest purchases of the
/// product made before it (of orders that are not cancelled or pending).
fn match_returns<'r>(
    returns: &'r mut [Return],
    purchases: &mut HashMap<(String, String), Vec<Purchase>>,
    pending: &[PendingOrder],
    pending_at: &HashMap<String, usize>,
) -> Vec<Matched<'r>> {
    let time = |ts: &str| crate::model::time::parse_timestamp(ts, crate::model::ShopTz::default()).ok();
    let order_time = |order: &str| pending_at.get(order).and_then(|&i| time(&pending[i].row[2]));
    let sale = |order: &str| {
        pending_at.get(order).is_some_and(|&i| !["cancelled", "pending"].contains(&pending[i].row[3].as_str()))
    };
    returns.sort_by_key(|r| (time(&r.ts), r.line));
    let mut out = Vec::with_capacity(returns.len());
    for r in returns.iter() {
        let at = time(&r.ts);
        let mut left = r.units;
        let mut pieces = Vec::new();
        if let (Some(at), Some(list)) = (at, purchases.get_mut(&(r.customer.clone(), r.product.clone()))) {
            let mut earlier: Vec<(chrono::NaiveDateTime, usize)> = list
                .iter()
                .enumerate()
                .filter(|(_, p)| p.units > 0 && sale(&p.order))
                .filter_map(|(i, p)| order_time(&p.order).filter(|t| *t <= at).map(|t| (t, i)))
                .collect();
            earlier.sort_by(|a, b| b.cmp(a));
            for (_, i) in earlier {
                if left == 0 {
                    break;
                }
                let p = &mut list[i];
                let take = left.min(p.units);
                p.units -= take;
                left -= take;
                pieces.push((p.order.clone(), p.line_no, take));
            }
        }
        out.push((r, pieces, left));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::is_test;

    #[test]
    fn a_flag_or_a_test_tag_marks_a_test_order() {
        for v in ["true", "TRUE", " yes ", "1", "test", "wholesale, Test", "test,vip"] {
            assert!(is_test(v), "{v}");
        }
        for v in ["", "false", "0", "no", "testing", "contest, vip", "latest"] {
            assert!(!is_test(v), "{v}");
        }
    }
}

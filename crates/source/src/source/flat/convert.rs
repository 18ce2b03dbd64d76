//! The conversion of a flat file into the canonical five files, once [`check`](super::check) has
//! bound its mapping to the header.

use super::check::{Bound, SAMPLE_ROWS, check};
use super::{FlatError, Mapping, number};
use crate::model::Money;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
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
}

/// Fields whose empty value has a meaning of its own (no discount, one installment), so a column
/// empty in every row is not a mistake.
const MAY_BE_EMPTY: [&str; 3] = ["discount", "discount_rate", "installments"];

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
    let opened = std::fs::File::open(input).map_err(|e| err(e.to_string()))?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(mapping.file.delimiter.unwrap_or(',') as u8)
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

    std::fs::create_dir_all(out).map_err(|e| err(e.to_string()))?;
    let open = |name: &str, header: &[&str]| -> Result<csv::Writer<std::fs::File>, FlatError> {
        let mut w = csv::Writer::from_path(out.join(name)).map_err(|e| err(e.to_string()))?;
        w.write_record(header).map_err(|e| err(e.to_string()))?;
        Ok(w)
    };
    let mut customers =
        open("customers.csv", &["customer_id", "customer_name", "city", "region", "country", "source_line"])?;
    let mut products = open("products.csv", &["product_id", "product_name", "category", "source_line"])?;
    let mut orders = open("orders.csv", &["order_id", "customer_id", "order_ts", "status", "source_line"])?;
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
        let product_id = get("product_id", &record);
        if !product_id.is_empty() && seen_products.insert(product_id.clone()) {
            products
                .write_record([product_id.clone(), get("product_name", &record), get("category", &record), src.clone()])
                .map_err(w)?;
        }
        let next = line_no.entry(order_id.clone()).or_insert(0);
        *next += 1;
        if *next == 1 {
            // order-level fields come from an order's first row
            let raw_ts = get("order_ts", &record);
            let naive = |d: NaiveDateTime| match file_tz {
                // a local time of the file's zone, written with its offset for the import to convert
                Some(tz) => d.and_local_timezone(tz).earliest().map_or_else(|| raw_ts.clone(), |t| t.to_rfc3339()),
                None => d.format("%Y-%m-%dT%H:%M:%S").to_string(),
            };
            let has_offset = |t: &str| t.ends_with('Z') || t.get(19..).is_some_and(|rest| rest.contains(['+', '-']));
            let ts = match ts_format {
                Some(f) => match parse_with_format(&raw_ts, f) {
                    Ok(Timestamp::Offset(d)) => d.to_rfc3339(),
                    Ok(Timestamp::Local(d)) => naive(d),
                    // left as it is: the import rejects it, naming the value
                    Err(_) => raw_ts.clone(),
                },
                None if file_tz.is_some() && !has_offset(&raw_ts) => {
                    crate::model::time::parse_timestamp(&raw_ts, crate::model::ShopTz::default())
                        .map_or_else(|_| raw_ts.clone(), naive)
                }
                None => raw_ts.clone(),
            };
            let status = if cancelled { "cancelled".to_string() } else { get("status", &record) };
            let status = if status.is_empty() { "delivered".to_string() } else { status };
            orders.write_record([order_id.clone(), customer_id.clone(), ts, status, src.clone()]).map_err(w)?;
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
    for (order_id, (method, installments, amount, line)) in pay {
        if !method.is_empty() && !order_id.is_empty() {
            payments
                .write_record([order_id, "1".into(), method, installments, amount.to_string(), line.to_string()])
                .map_err(w)?;
        }
    }
    for mut wr in [customers, products, orders, items, payments] {
        wr.flush().map_err(|e| err(e.to_string()))?;
    }
    // the rest of the file (after the last record) still counts in its checksum
    let mut rest = reader.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink()).map_err(|e| err(e.to_string()))?;
    converted.sha256 = format!("{:x}", rest.hash.finalize());
    Ok(converted)
}

//! A mapping proposed for a flat file from its header and its first rows' values: names suggest
//! the candidates, values decide. A timestamp column is one whose values read as dates (and
//! with which format); a discount in [0, 1] is a rate; a total that equals quantity × price is a
//! gross line total, one that equals quantity × price × (1 − rate) already has the discount taken
//! off; a status column's values are mapped to the format's statuses. What the values cannot
//! decide is left out, with a comment saying why, so that the printed mapping is either right or
//! refused at import.

use super::Kind;
use super::convert::parse_with_format;
use crate::model::Money;
use chrono::Datelike;
use std::collections::BTreeMap;
use std::fmt::Write;

/// What [`detect`] found: the mapping as TOML text, with comments on each decision.
#[derive(Debug, Clone)]
pub struct Detected {
    /// The mapping, ready for `--map` once read.
    pub toml: String,
    /// Fields it could not decide and why (also written as comments in `toml`).
    pub undecided: Vec<String>,
}

/// Formats tried for a timestamp column that the format's own timestamps do not read.
const TS_FORMATS: [&str; 22] = [
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m/%d/%y %H:%M",
    "%m/%d/%y",
    "%d/%m/%y %H:%M",
    "%d/%m/%y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%a, %d %b %Y %H:%M:%S %z",
];

/// The format that reads every non-empty value, `None` when none or several disagreeing ones do
/// (`03/04/2024` is March or April: the day-first and month-first readings both fit).
pub fn timestamp_format<'a>(values: impl Iterator<Item = std::borrow::Cow<'a, str>>) -> Option<&'static str> {
    let fits = timestamp_formats(values);
    match fits.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// Every format of [`TS_FORMATS`] that reads all the non-empty values, less those that read
/// them as the same instants as an earlier one.
fn timestamp_formats<'a>(values: impl Iterator<Item = std::borrow::Cow<'a, str>>) -> Vec<&'static str> {
    let values: Vec<String> = values.filter(|v| !v.trim().is_empty()).map(|v| v.trim().to_string()).collect();
    if values.is_empty() {
        return Vec::new();
    }
    // a format that reads `03/05/24` as the year 24 fits, but is not what the file means
    let plausible = |v: &String, f: &str| match parse_with_format(v, f) {
        Ok(super::convert::Timestamp::Offset(d)) => (1970..=2100).contains(&d.year()),
        Ok(super::convert::Timestamp::Local(d)) => (1970..=2100).contains(&d.year()),
        Err(_) => false,
    };
    TS_FORMATS.into_iter().filter(|f| values.iter().all(|v| plausible(v, f))).collect()
}

/// The format's status for a shop system's status word, if it has an obvious one.
pub fn status_guess(value: &str) -> Option<&'static str> {
    let v = value.trim().to_lowercase().replace(['-', '_'], " ");
    let v = v.strip_prefix("wc ").unwrap_or(&v);
    Some(match v {
        "pending" | "pending payment" | "on hold" | "awaiting payment" | "unpaid" | "new" | "open" => "pending",
        "processing"
        | "paid"
        | "authorized"
        | "partially paid"
        | "awaiting fulfillment"
        | "awaiting shipment"
        | "unshipped"
        | "partially shipped" => "processing",
        "shipped" | "in transit" | "fulfilled" | "awaiting pickup" => "shipped",
        // not `closed`: Shopify's is fulfilled, Magento's is refunded
        "delivered" | "completed" | "complete" => "delivered",
        "cancelled" | "canceled" | "voided" | "void" | "failed" | "declined" | "expired" => "cancelled",
        "returned" | "refunded" | "refund" => "returned",
        _ => return None,
    })
}

/// Header names (lower case) that suggest each field, best first.
const HINTS: [(&str, &[&str]); 20] = [
    (
        "order_id",
        &[
            "order_id",
            "order id",
            "order number",
            "order no",
            "order #",
            "order",
            "invoice",
            "invoice no",
            "name",
            "amazon-order-id",
            "order-id",
            "transaction id",
            "invoice number",
            "receipt number",
            "receipt no",
            "receipt",
            "ticket",
        ],
    ),
    (
        "order_ts",
        &[
            "order_ts",
            "order date",
            "created at",
            "date created",
            "order created",
            "invoicedate",
            "purchase date",
            "purchase-date",
            "sale date",
            "date",
            "order_date",
            "created",
            "timestamp",
        ],
    ),
    ("status", &["status", "order status", "order-status", "financial status", "financial_status", "order state"]),
    (
        "customer_id",
        &[
            "customer_id",
            "customer id",
            "customer email",
            "email",
            "billing email",
            "buyer email",
            "buyer-email",
            "customer",
            "buyer",
            "customer number",
            "customer reference id",
            "customer user id",
            "user id",
            "customer no",
            "client id",
            "buyer id",
            "email (billing)",
            "billing email address",
            "customer e-mail",
        ],
    ),
    ("customer_name", &["customer_name", "customer name", "billing name", "buyer name", "buyer-name", "full name"]),
    ("city", &["city", "billing city", "ship city", "ship-city", "shipping city", "city (billing)"]),
    (
        "region",
        &[
            "region",
            "state",
            "billing province",
            "ship state",
            "ship-state",
            "province",
            "billing state",
            "state code (billing)",
        ],
    ),
    (
        "country",
        &[
            "country",
            "billing country",
            "ship country",
            "ship-country",
            "shipping country",
            "country code (billing)",
            "ship country code",
        ],
    ),
    (
        "product_id",
        &[
            "product_id",
            "product id",
            "sku",
            "stockcode",
            "lineitem sku",
            "item sku",
            "asin",
            "product sku",
            "listing id",
            "item id",
            "product code",
        ],
    ),
    (
        "product_name",
        &[
            "product_name",
            "product name",
            "item name",
            "lineitem name",
            "description",
            "product-name",
            "title",
            "item",
            "product",
        ],
    ),
    ("category", &["category", "product category", "product type", "categories", "category name"]),
    (
        "quantity",
        &[
            "quantity",
            "qty",
            "lineitem quantity",
            "quantity-purchased",
            "quantity ordered",
            "qty ordered",
            "item quantity",
            "product qty",
            "units",
        ],
    ),
    (
        "unit_price",
        &[
            "unit_price",
            "unit price",
            "price",
            "item price",
            "lineitem price",
            "price each",
            "item cost",
            "item price",
            "sale price",
            "product unit price",
            "product price",
            "base price",
        ],
    ),
    (
        "line_total",
        &[
            "line_total",
            "line total",
            "sales",
            "total",
            "item total",
            "row total",
            "product total price",
            "line amount",
            "amount",
            "subtotal",
            "net sales",
            "gross sales",
            "revenue",
            "item-price",
        ],
    ),
    (
        "discount",
        &[
            "discount",
            "discount amount",
            "lineitem discount",
            "item discount",
            "discounts",
            "discount rate",
            "coupon amount",
            "coupon discount",
        ],
    ),
    (
        "method",
        &[
            "method",
            "payment method",
            "payment method title",
            "payment",
            "payment type",
            "payment gateway",
            "card brand",
            "tender",
        ],
    ),
    ("installments", &["installments", "instalments"]),
    ("channel", &["channel", "sales channel", "source", "order source", "source name", "sales-channel"]),
    (
        "discount_code",
        &["discount code", "discount codes", "coupon code", "coupon codes", "coupon", "promo code", "voucher code"],
    ),
    ("test", &["test", "is test", "test order"]),
];

/// Header names (lower case) of order-level money, best first: a column of them is mapped when
/// its values are one per order (repeated on the order's rows, or on its first row only).
const ORDER_MONEY_HINTS: [(&str, &[&str]); 6] = [
    (
        "order_discount",
        &[
            "order discount",
            "cart discount",
            "cart discount amount",
            "coupon amount",
            "coupon discount",
            "discount amount",
            "discount total",
            "order discount amount",
        ],
    ),
    (
        "shipping",
        &[
            "shipping",
            "shipping amount",
            "order shipping",
            "order shipping amount",
            "shipping total",
            "shipping cost",
            "shipping price",
        ],
    ),
    (
        "tax",
        &[
            "tax",
            "taxes",
            "tax amount",
            "tax total",
            "order total tax amount",
            "order tax",
            "order sales tax",
            "vat",
            "sales tax",
        ],
    ),
    ("duties", &["duties", "duty", "import duties"]),
    ("order_total", &["order total", "order total amount", "total", "grand total", "order amount", "total paid"]),
    ("refunded_amount", &["refunded amount", "order refund amount", "refund amount", "refunded", "refund total"]),
];

/// Words of a header that say its column is money (an unused one is listed, never dropped
/// silently).
const MONEY_WORDS: [&str; 14] = [
    "price", "total", "amount", "discount", "coupon", "tax", "vat", "shipping", "fee", "refund", "cost", "paid",
    "revenue", "sales",
];

/// A column's values, read every way a field may need.
struct Profile {
    /// Non-empty values.
    filled: usize,
    /// Values that are amounts (decimal point; a decimal comma when `decimal_comma`).
    amounts: Vec<Option<Money>>,
    /// Whether every non-empty value is a whole number.
    integers: bool,
    /// Whether every non-empty value is an amount.
    all_amounts: bool,
    /// The largest amount.
    max: Option<Money>,
    /// Whether any amount has a fractional part.
    fractional: bool,
    /// Whether the values read as timestamps, and with which format (`None` for the format's own).
    timestamp: Option<Option<&'static str>>,
    /// Several formats read the values as different dates.
    ambiguous_dates: bool,
    /// Distinct values, up to a few hundred.
    distinct: BTreeMap<String, usize>,
}

fn profile(column: usize, sample: &[csv::StringRecord], decimal_comma: bool) -> Profile {
    let values: Vec<&str> = sample.iter().map(|r| r.get(column).unwrap_or("").trim()).collect();
    let filled = values.iter().filter(|v| !v.is_empty()).count();
    let file = super::FileSettings { decimal_comma, ..Default::default() };
    let amounts: Vec<Option<Money>> = values
        .iter()
        .map(|v| {
            let n = super::number(v, decimal_comma);
            (!v.is_empty() && Kind::Amount.read(&n, &super::FileSettings::default(), None).is_ok())
                .then(|| Money::parse(n.trim_start_matches('-')).ok())
                .flatten()
        })
        .collect();
    let all_amounts = filled > 0 && amounts.iter().filter(|a| a.is_some()).count() == filled;
    let integers =
        filled > 0 && values.iter().filter(|v| !v.is_empty()).all(|v| Kind::Integer.read(v, &file, None).is_ok());
    let max = amounts.iter().flatten().max().copied();
    let fractional = amounts.iter().flatten().any(|m| m.units() % 10_000 != 0);
    let own =
        filled > 0 && values.iter().filter(|v| !v.is_empty()).all(|v| Kind::Timestamp.read(v, &file, None).is_ok());
    let formats = if own || all_amounts { Vec::new() } else { timestamp_formats(values.iter().map(|v| (*v).into())) };
    let timestamp = if own {
        Some(None)
    } else {
        match formats.as_slice() {
            [f] => Some(Some(*f)),
            _ => None,
        }
    };
    let mut distinct = BTreeMap::new();
    for v in values.iter().filter(|v| !v.is_empty()) {
        if distinct.len() < 300 || distinct.contains_key(*v) {
            *distinct.entry(v.to_string()).or_insert(0) += 1;
        }
    }
    Profile {
        filled,
        amounts,
        integers,
        all_amounts,
        max,
        fractional,
        timestamp,
        ambiguous_dates: formats.len() > 1,
        distinct,
    }
}

/// A header name as the hints are compared with it: lower case, `-` and `_` read as spaces.
fn normalize(name: &str) -> String {
    name.trim().to_lowercase().replace(['-', '_'], " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first header column a hint of `field` names that `accept` takes and nothing took yet.
fn by_name(field: &str, lower: &[String], used: &[usize], accept: impl Fn(usize) -> bool) -> Option<usize> {
    let hints = HINTS.iter().find(|(f, _)| *f == field).map_or(&[][..], |h| h.1);
    let free = |i: &usize| !used.contains(i) && accept(*i);
    // the name as written first (Amazon's `item-price` is a line's total, an `Item Price` is not)
    hints
        .iter()
        .find_map(|h| lower.iter().position(|c| c == h).filter(free))
        .or_else(|| {
            hints.iter().find_map(|h| {
                let h = normalize(h);
                lower.iter().position(|c| normalize(c) == h).filter(free)
            })
        })
        // then run together (Online Retail's `InvoiceNo`, `UnitPrice`, `CustomerID`)
        .or_else(|| {
            hints.iter().find_map(|h| {
                let h = compact(h);
                lower.iter().position(|c| compact(c) == h).filter(free)
            })
        })
}

/// A header name with only its letters and digits, lower case: `Customer ID` and `CustomerID`
/// are one name.
fn compact(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// How a line's amount columns relate, tested row by row on the sample.
fn share(rows: usize, test: impl Fn(usize) -> Option<bool>) -> f64 {
    let (mut yes, mut n) = (0usize, 0usize);
    for r in 0..rows {
        if let Some(ok) = test(r) {
            n += 1;
            yes += usize::from(ok);
        }
    }
    if n == 0 { 0.0 } else { yes as f64 / n as f64 }
}

/// Whether `a` and `b` (ten-thousandths) agree to within a cent.
fn near(a: f64, b: f64) -> bool {
    (a - b).abs() <= 100.0
}

/// Proposes a mapping for a flat file with this `header` (after `delimiter`), from its first rows.
pub fn detect(header: &[String], sample: &[csv::StringRecord], delimiter: char) -> Detected {
    if let Some(known) = known_layout(header) {
        return known;
    }
    let lower: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    // a decimal comma: amounts such as 12,50 in a file separated by semicolons
    let decimal_comma = delimiter == ';'
        && sample.iter().flat_map(|r| r.iter()).any(|v| {
            let v = v.trim();
            v.len() > 2
                && v.as_bytes()[v.len() - 3] == b','
                && v.bytes().all(|b| b.is_ascii_digit() || b == b',' || b == b'.' || b == b'-')
        });
    let profiles: Vec<Profile> = (0..header.len()).map(|i| profile(i, sample, decimal_comma)).collect();
    let mut used: Vec<usize> = Vec::new();
    let mut fields: Vec<(String, String, Option<String>)> = Vec::new(); // field, toml value, comment
    let mut undecided: Vec<String> = Vec::new();
    let mut file_lines: Vec<String> = vec![format!("delimiter = {:?}", delimiter.to_string())];
    if decimal_comma {
        file_lines.push("decimal_comma = true".into());
    }
    let q = |s: &str| format!("{s:?}");
    let take = |field: &str, i: usize, used: &mut Vec<usize>, fields: &mut Vec<(String, String, Option<String>)>| {
        used.push(i);
        fields.push((field.into(), q(header[i].trim()), None));
    };

    let id_like = |i: usize| profiles[i].filled > 0 && profiles[i].timestamp.is_none();
    let order_col = by_name("order_id", &lower, &used, id_like);
    match order_col {
        Some(i) => take("order_id", i, &mut used, &mut fields),
        None => undecided.push("order_id: no column named like an order number".into()),
    }

    // the order's time: a column named like one whose values are dates
    let dated = |i: usize| profiles[i].timestamp.is_some();
    match by_name("order_ts", &lower, &used, dated)
        .or_else(|| (0..header.len()).find(|i| !used.contains(i) && dated(*i) && lower[*i].contains("order")))
    {
        Some(i) => {
            used.push(i);
            let value = match profiles[i].timestamp {
                Some(Some(f)) => format!("{{ column = {}, format = {} }}", q(header[i].trim()), q(f)),
                _ => q(header[i].trim()),
            };
            fields.push(("order_ts".into(), value, None));
        }
        None => {
            let why = match by_name("order_ts", &lower, &used, |_| true) {
                Some(i) if profiles[i].ambiguous_dates => format!(
                    "order_ts: '{}' reads as dates both day-first and month-first (e.g. '{}'); add the right \
                     one: order_ts = {{ column = {}, format = \"%d/%m/%Y\" }} or \"%m/%d/%Y\"",
                    header[i].trim(),
                    profiles[i].distinct.keys().next().cloned().unwrap_or_default(),
                    q(header[i].trim())
                ),
                Some(i) => {
                    format!("order_ts: '{}' is named like a date but its values do not read as dates", header[i].trim())
                }
                None => "order_ts: no column of dates named like an order date".into(),
            };
            undecided.push(why);
        }
    }

    // a status column: its values mapped to the format's statuses
    let few_values = |i: usize| profiles[i].filled > 0 && profiles[i].distinct.len() <= 30 && !profiles[i].all_amounts;
    match by_name("status", &lower, &used, few_values) {
        Some(i) => {
            used.push(i);
            let mut map = Vec::new();
            let mut unknown = Vec::new();
            for v in profiles[i].distinct.keys() {
                match status_guess(v) {
                    Some(s) if s == v.to_lowercase() => {}
                    Some(s) => map.push(format!("{} = {}", q(v), q(s))),
                    None => unknown.push(v.clone()),
                }
            }
            for v in &unknown {
                map.push(format!("{} = \"?\"", q(v)));
            }
            let value = if map.is_empty() {
                q(header[i].trim())
            } else {
                format!("{{ column = {}, map = {{ {} }} }}", q(header[i].trim()), map.join(", "))
            };
            let comment = (!unknown.is_empty()).then(|| {
                format!(
                    "replace each \"?\" with pending, processing, shipped, delivered, cancelled or returned: {}",
                    unknown.join(", ")
                )
            });
            if !unknown.is_empty() {
                undecided.push(format!("status: what '{}' means is the shop's to say", unknown.join("', '")));
            }
            fields.push(("status".into(), value, comment));
        }
        None => fields.push((
            "status".into(),
            "{ constant = \"delivered\" }".into(),
            Some("no status column: every order counts as delivered (revenue)".into()),
        )),
    }

    for field in ["customer_id", "customer_name", "city", "region", "country", "product_id", "product_name", "category"]
    {
        let text_like = |i: usize| profiles[i].filled > 0 && profiles[i].timestamp.is_none();
        match by_name(field, &lower, &used, text_like) {
            // numeric customer ids with a 0 among them: a shop system's guest (WooCommerce's)
            Some(i) if field == "customer_id" && profiles[i].integers && profiles[i].distinct.contains_key("0") => {
                used.push(i);
                fields.push((
                    field.into(),
                    format!("{{ column = {}, map = {{ \"0\" = \"\" }} }}", q(header[i].trim())),
                    Some("0 is a guest: each such order a customer of its own".into()),
                ));
            }
            Some(i) => take(field, i, &mut used, &mut fields),
            None if field == "customer_id" => {
                fields.push((
                    "customer_id".into(),
                    String::new(),
                    Some("no customer column: every order is a guest (repeat rate, RFM and CLV need one)".into()),
                ));
            }
            None if field == "product_id" => {
                // the product's name is its id when an export has no SKU
                match by_name("product_name", &lower, &used, text_like) {
                    Some(i) => {
                        fields.push((
                            "product_id".into(),
                            q(header[i].trim()),
                            Some("no SKU column: the product's name is its id".into()),
                        ));
                    }
                    None => undecided.push("product_id: no column named like a SKU or product".into()),
                }
            }
            None => {}
        }
    }

    // quantities are whole numbers
    let quantity = by_name("quantity", &lower, &used, |i| profiles[i].integers);
    match quantity {
        Some(i) => take("quantity", i, &mut used, &mut fields),
        None => match by_name("quantity", &lower, &used, |_| true) {
            Some(i) => undecided.push(format!(
                "quantity: '{}' is named like a quantity but its values are not whole numbers",
                header[i].trim()
            )),
            // a till's or a sold-items list's rows: one item each
            None => fields.push((
                "quantity".into(),
                "{ constant = \"1\" }".into(),
                Some("no quantity column: each row is one item".into()),
            )),
        },
    }
    // negative quantities: cancellations when their order ids, and only theirs, share a prefix
    // (Online Retail's `C` invoices); otherwise rows the import would reject, said here
    if let (Some(qc), Some(oc)) = (quantity, order_col) {
        let id = |r: &csv::StringRecord| r.get(oc).unwrap_or("").trim().to_string();
        let negative = |r: &csv::StringRecord| r.get(qc).is_some_and(|v| v.trim().starts_with('-'));
        let (minus, plus): (Vec<String>, Vec<String>) = {
            let (m, p): (Vec<_>, Vec<_>) = sample.iter().partition(|r| negative(r));
            (m.iter().map(|r| id(r)).collect(), p.iter().map(|r| id(r)).collect())
        };
        if !minus.is_empty() {
            let prefix = minus[0].chars().next().filter(|c| c.is_ascii_alphabetic());
            match prefix {
                Some(c) if minus.iter().all(|m| m.starts_with(c)) && !plus.iter().any(|p| p.starts_with(c)) => {
                    file_lines.push(format!(
                        "# orders numbered {c}… have negative quantities: returns of earlier purchases, on their own \
                         dates\n# (cancel_prefix instead would count them as cancelled orders)\nreturns_prefix = {}",
                        q(&c.to_string())
                    ));
                }
                _ => undecided.push(format!(
                    "quantity: {} of the first {} rows have a negative quantity (returns?), which the import \
                     rejects; set [file] returns_prefix if returns' order ids start with one",
                    minus.len(),
                    sample.len()
                )),
            }
        }
    }

    // a column with one value per order (repeated on its rows, or on its first row only) in a
    // file whose orders have several rows is the order's, not the line's
    let rows = sample.len();
    let order_of = |r: usize| order_col.and_then(|c| sample[r].get(c)).unwrap_or("").trim().to_string();
    let mut rows_per_order: BTreeMap<String, usize> = BTreeMap::new();
    for r in 0..rows {
        *rows_per_order.entry(order_of(r)).or_insert(0) += 1;
    }
    let multi_row = rows_per_order.values().any(|n| *n > 1);
    let per_order = |i: usize| {
        let mut seen: BTreeMap<String, Option<Money>> = BTreeMap::new();
        (0..rows).all(|r| {
            let v = profiles[i].amounts[r];
            let raw = sample[r].get(i).unwrap_or("").trim();
            match seen.get(&order_of(r)) {
                // a later row may leave it empty (Shopify's) or repeat it
                Some(first) => raw.is_empty() || *first == v,
                None => {
                    seen.insert(order_of(r), v);
                    true
                }
            }
        })
    };
    let order_level = |i: usize| multi_row && per_order(i) && profiles[i].distinct.len() > 1;

    // amounts: a unit price, a line total, a discount (amount or rate); the values say which
    let amount = |i: usize| profiles[i].all_amounts;
    // the total first, so that a name only a total has (`item-price`) is not taken for a price;
    // where both are found the price is mapped and the total only checks it
    let total = by_name("line_total", &lower, &used, amount);
    let price = by_name("unit_price", &lower, &used, |i| amount(i) && Some(i) != total);
    let discount =
        by_name("discount", &lower, &used, |i| amount(i) && Some(i) != price && Some(i) != total && !order_level(i));
    // a rate: every value in [0, 1] with some fractional, or named with a percent sign
    let rate = discount.filter(|&i| {
        let p = &profiles[i];
        let named = |w: &str| lower[i].contains(w);
        (p.max.is_some_and(|m| m <= Money::from_cents(100)) && p.fractional && !named("amount"))
            || named("%")
            || named("rate")
            || named("percent")
    });
    let val = |col: Option<usize>, r: usize| col.and_then(|c| profiles[c].amounts[r]).map(|m| m.units() as f64);
    let qty = |r: usize| quantity.and_then(|c| sample[r].get(c)).and_then(|v| v.trim().parse::<f64>().ok());
    let rate_of = |r: usize| {
        rate.and_then(|c| profiles[c].amounts[r]).map(|m| {
            let x = m.units() as f64 / 10_000.0;
            if x > 1.0 { x / 100.0 } else { x }
        })
    };
    let mut money_fields: Vec<(String, String, Option<String>)> = Vec::new();
    let mut net_total = false;
    match (price, total) {
        (Some(p), _) => {
            money_fields.push(("unit_price".into(), q(header[p].trim()), None));
            used.push(p);
            if let Some(t) = total.filter(|t| !order_level(*t)) {
                // accounted for: it checks the price (or is said not to)
                used.push(t);
                // a total is only a check on the price here: which discount makes them agree?
                let gross = share(rows, |r| Some(near(val(Some(t), r)?, qty(r)? * val(Some(p), r)?)));
                let by_rate =
                    share(rows, |r| Some(near(val(Some(t), r)?, qty(r)? * val(Some(p), r)? * (1.0 - rate_of(r)?))));
                let by_amount =
                    share(rows, |r| Some(near(val(Some(t), r)?, qty(r)? * val(Some(p), r)? - val(discount, r)?)));
                if by_rate < 0.95 && by_amount < 0.95 && gross < 0.95 {
                    undecided.push(format!(
                        "line_total: '{}' is neither quantity × '{}' nor that less a discount in most rows; left out",
                        header[t].trim(),
                        header[p].trim()
                    ));
                }
            }
        }
        (None, Some(t)) => {
            used.push(t);
            // after the discount or before? the unit prices it implies are whole cents only one way
            let cents = |x: f64| (x / 100.0 - (x / 100.0).round()).abs() < 1e-6;
            let as_net = share(rows, |r| {
                let rr = rate_of(r).filter(|x| *x > 0.0 && *x < 1.0)?;
                Some(cents(val(Some(t), r)? / (qty(r)? * (1.0 - rr))))
            });
            let as_gross = share(rows, |r| {
                rate_of(r).filter(|x| *x > 0.0 && *x < 1.0)?;
                Some(cents(val(Some(t), r)? / qty(r)?))
            });
            let decided = (as_net > 0.9 && as_net > as_gross) || (as_gross > 0.9 && as_gross > as_net);
            match rate {
                Some(rt) if !decided && as_net + as_gross > 0.0 => {
                    // either reading gives a different revenue: the user must say which
                    undecided.push(format!(
                        "line_total: whether '{}' is before or after the discount '{}' the values do not say; \
                         add line_total = {} and, if it is after the discount, [file] \
                         line_total_after_discount = true",
                        header[t].trim(),
                        header[rt].trim(),
                        q(header[t].trim())
                    ));
                }
                _ => {
                    net_total = rate.is_some() && as_net > 0.9 && as_net > as_gross;
                    money_fields.push(("line_total".into(), q(header[t].trim()), None));
                }
            }
        }
        (None, None) => {
            undecided.push("unit_price or line_total: no column of amounts named like a price or a total".into())
        }
    }
    if let Some(d) = discount {
        used.push(d);
        let is_rate = rate.is_some();
        let undecided_discount = undecided.iter().any(|u| u.starts_with("line_total:"));
        if !undecided_discount {
            let field = if is_rate { "discount_rate" } else { "discount" };
            let comment = if is_rate {
                let p = &profiles[d];
                Some(format!(
                    "a rate: every value is at most {}{}",
                    p.max.map_or("1".into(), |m| m.to_string()),
                    if net_total { "; the total is after it ([file] line_total_after_discount)" } else { "" }
                ))
            } else {
                None
            };
            money_fields.push((field.into(), q(header[d].trim()), comment));
        }
    }
    if net_total {
        file_lines.push("line_total_after_discount = true".into());
    }
    fields.extend(money_fields);

    // order-level money: one value per order
    for (field, hints) in ORDER_MONEY_HINTS {
        if fields.iter().any(|f| f.0 == field) {
            continue;
        }
        let found = hints.iter().find_map(|h| {
            lower
                .iter()
                .position(|c| normalize(c) == normalize(h) || compact(c) == compact(h))
                .filter(|i| !used.contains(i) && profiles[*i].all_amounts && per_order(*i))
        });
        if let Some(i) = found {
            used.push(i);
            let comment = (field == "order_total" && multi_row)
                .then(|| "the order's total, repeated on its rows: not a line's amount, never summed".to_string());
            fields.push((field.into(), q(header[i].trim()), comment));
        }
    }
    // a line total that is one per order in orders of several rows is the order's total repeated
    if let Some(t) = total.filter(|t| used.contains(t) && order_level(*t) && price.is_none()) {
        let line_total = fields.iter().position(|f| f.0 == "line_total" && f.1 == q(header[t].trim()));
        if let Some(at) = line_total {
            fields.remove(at);
            undecided.push(format!(
                "line_total: '{}' is the same on every row of an order: the order's total repeated, not the line's \
                 amount; the file has no line amount to map (map unit_price to a price column, if it has one)",
                header[t].trim()
            ));
        }
    }

    if let Some(i) = by_name("method", &lower, &used, |i| profiles[i].filled > 0 && !profiles[i].all_amounts) {
        take("method", i, &mut used, &mut fields);
    }
    // the books' dimensions and the test flag, by name alone
    for field in ["channel", "discount_code", "test"] {
        if let Some(i) = by_name(field, &lower, &used, |i| profiles[i].filled > 0 && !profiles[i].all_amounts) {
            take(field, i, &mut used, &mut fields);
        }
    }
    // a currency column with one code is the shop's currency
    let currency_names = ["currency", "currency code", "order currency", "order currency code"];
    if let Some(i) = lower.iter().position(|c| currency_names.contains(&c.as_str())) {
        let codes: Vec<&String> = profiles[i].distinct.keys().collect();
        match codes.as_slice() {
            [one] if crate::model::Currency::parse(one).is_ok() => {
                file_lines.push(format!("currency = {}", q(&one.to_uppercase())));
            }
            [] => {}
            many => undecided.push(format!(
                "currency: the export mixes {} currencies ({}); shoplens adds amounts of one currency, so import \
                 each currency's rows on their own",
                many.len(),
                many.iter().take(5).map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    // a money column the mapping leaves out would change the books without a word: listed, and
    // the import refuses until each is mapped or marked ignored
    let unused: Vec<String> = (0..header.len())
        .filter(|i| !used.contains(i) && profiles[*i].all_amounts && profiles[*i].filled > 0)
        .filter(|i| {
            let name = normalize(&header[*i]);
            MONEY_WORDS
                .iter()
                .any(|w| name.split(' ').any(|part| part.trim_matches(|c: char| !c.is_alphanumeric()).starts_with(w)))
        })
        .map(|i| header[i].trim().to_string())
        .collect();
    if !unused.is_empty() {
        let list = unused.iter().map(|u| q(u)).collect::<Vec<_>>().join(", ");
        file_lines.push(format!(
            "# money columns no field takes: map each above, or move it to ignore = [...] to say it does not\n\
             # count; the import refuses this mapping until then\nunused = [{list}]"
        ));
    }

    let mut out = String::from(
        "# A mapping proposed from the file's header and its first rows: check it, then pass it with --map\n\
         # (import --check shows what it would load without publishing).\n",
    );
    for u in &undecided {
        let _ = writeln!(out, "# UNDECIDED {u}");
    }
    out.push_str("[file]\n");
    for l in &file_lines {
        let _ = writeln!(out, "{l}");
    }
    out.push_str("\n[fields]\n");
    for (field, value, comment) in &fields {
        if let Some(c) = comment {
            let _ = writeln!(out, "# {field}: {c}");
        }
        if !value.is_empty() {
            let _ = writeln!(out, "{field} = {value}");
        }
    }
    Detected { toml: out, undecided }
}

/// A header that is a preset's format (every column its required fields name, and most of its
/// others): that preset's mapping, which knows the format's meaning beyond what values show (a
/// Shopify export's statuses, its order-level money, its refunds), without the fields whose
/// column the file lacks.
fn known_layout(header: &[String]) -> Option<Detected> {
    let has = |c: &str| header.iter().any(|h| h.trim() == c);
    for (name, text) in super::PRESETS {
        let Ok(mapping) = super::Mapping::parse(text) else { continue };
        let columns: Vec<&str> = mapping.fields.values().filter_map(|f| f.column()).collect();
        let required = super::REQUIRED.iter().all(|f| mapping.fields.get(*f).and_then(|s| s.column()).is_none_or(has));
        let present = columns.iter().filter(|c| has(c)).count();
        if !required || present * 5 < columns.len() * 4 {
            continue;
        }
        let mut out = format!(
            "# The header is the {name} preset's format: its mapping (as --preset {name} reads the file), \
             checked with --map\n"
        );
        let mut in_fields = false;
        for line in text.lines() {
            in_fields |= line.trim() == "[fields]";
            let field = line.split_once(" = ").map(|(f, _)| f.trim());
            let lacking = in_fields
                && field.and_then(|f| mapping.fields.get(f)).and_then(|s| s.column()).is_some_and(|c| !has(c));
            if !lacking {
                out.push_str(line);
                out.push('\n');
            }
        }
        return Some(Detected { toml: out, undecided: Vec::new() });
    }
    None
}

/// Proposes a mapping for the flat file at `path`: its separator is the one of `,` `;` tab `|`
/// that its header line has most of.
///
/// # Errors
/// The file cannot be read as CSV.
pub fn detect_file(path: &std::path::Path) -> Result<Detected, super::FlatError> {
    let err = |message: String| super::FlatError::File { file: path.display().to_string(), message };
    let delimiter = sniff_delimiter(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter as u8)
        .flexible(true)
        .from_path(path)
        .map_err(|e| err(e.to_string()))?;
    let header = super::read_header(&mut reader).map_err(|e| err(e.to_string()))?;
    let sample = reader
        .records()
        .take(super::check::SAMPLE_ROWS)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    Ok(detect(&header, &sample, delimiter))
}

/// The separator of the flat file at `path`: the one of `,` `;` tab `|` that its header line has
/// most of.
///
/// # Errors
/// The file cannot be read.
pub(super) fn sniff_delimiter(path: &std::path::Path) -> Result<char, super::FlatError> {
    use std::io::{BufRead, Read};
    let err = |message: String| super::FlatError::File { file: path.display().to_string(), message };
    let mut first = Vec::new();
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    std::io::BufReader::new(file).take(1 << 20).read_until(b'\n', &mut first).map_err(|e| err(e.to_string()))?;
    Ok([',', ';', '\t', '|']
        .into_iter()
        .max_by_key(|d| first.iter().filter(|b| **b == *d as u8).count())
        .unwrap_or(','))
}

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
const HINTS: [(&str, &[&str]); 17] = [
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
        ],
    ),
    ("customer_name", &["customer_name", "customer name", "billing name", "buyer name", "buyer-name", "full name"]),
    ("city", &["city", "billing city", "ship city", "ship-city", "shipping city"]),
    ("region", &["region", "state", "billing province", "ship state", "ship-state", "province", "billing state"]),
    ("country", &["country", "billing country", "ship country", "ship-country", "shipping country"]),
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
    ("discount", &["discount", "discount amount", "lineitem discount", "item discount", "discounts", "discount rate"]),
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
    hints.iter().find_map(|h| lower.iter().position(|c| c == h).filter(free)).or_else(|| {
        hints.iter().find_map(|h| {
            let h = normalize(h);
            lower.iter().position(|c| normalize(c) == h).filter(free)
        })
    })
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
        None => undecided.push("quantity: no column of whole numbers named like a quantity".into()),
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
                    file_lines.push(format!("cancel_prefix = {}", q(&c.to_string())));
                }
                _ => undecided.push(format!(
                    "quantity: {} of the first {} rows have a negative quantity (returns?), which the import \
                     rejects; set [file] cancel_prefix if cancelled orders' ids start with one",
                    minus.len(),
                    sample.len()
                )),
            }
        }
    }

    // amounts: a unit price, a line total, a discount (amount or rate); the values say which
    let amount = |i: usize| profiles[i].all_amounts;
    // the total first, so that a name only a total has (`item-price`) is not taken for a price;
    // where both are found the price is mapped and the total only checks it
    let total = by_name("line_total", &lower, &used, amount);
    let price = by_name("unit_price", &lower, &used, |i| amount(i) && Some(i) != total);
    let discount = by_name("discount", &lower, &used, |i| amount(i) && Some(i) != price && Some(i) != total);
    // a rate: every value in [0, 1] with some fractional, or named with a percent sign
    let rate = discount.filter(|&i| {
        let p = &profiles[i];
        let named = |w: &str| lower[i].contains(w);
        (p.max.is_some_and(|m| m <= Money::from_cents(100)) && p.fractional && !named("amount"))
            || named("%")
            || named("rate")
            || named("percent")
    });
    let rows = sample.len();
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
            if let Some(t) = total {
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

    if let Some(i) = by_name("method", &lower, &used, |i| profiles[i].filled > 0 && !profiles[i].all_amounts) {
        take("method", i, &mut used, &mut fields);
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

/// Proposes a mapping for the flat file at `path`: its separator is the one of `,` `;` tab `|`
/// that its header line has most of.
///
/// # Errors
/// The file cannot be read as CSV.
pub fn detect_file(path: &std::path::Path) -> Result<Detected, super::FlatError> {
    let err = |message: String| super::FlatError::File { file: path.display().to_string(), message };
    let mut first = Vec::new();
    {
        use std::io::{BufRead, Read};
        let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
        std::io::BufReader::new(file).take(1 << 20).read_until(b'\n', &mut first).map_err(|e| err(e.to_string()))?;
    }
    let delimiter = [',', ';', '\t', '|']
        .into_iter()
        .max_by_key(|d| first.iter().filter(|b| **b == *d as u8).count())
        .unwrap_or(',');
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

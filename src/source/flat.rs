//! Flat exports: one CSV with a row per order line (a Shopify orders export, the UCI Online
//! Retail II sheet, a shop's own extract), turned into the canonical five files by a mapping that
//! names each canonical field's column, constant or value map. The canonical files then go
//! through the ordinary import, so every rule and reject of the source format applies; each
//! canonical row carries the flat file's line as an extra `source_line` column, so a reject
//! points back to the line the user knows.

use crate::model::Money;
use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// Where a canonical field's value comes from.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum FieldSource {
    /// A column of the flat file, by header name.
    Column(String),
    /// A column with optional value map and timestamp format, or a constant.
    Spec {
        /// The column (absent for a constant).
        column: Option<String>,
        /// The same value for every row.
        constant: Option<String>,
        /// Values replaced by others (matched case-insensitively); unmapped values pass as they are.
        #[serde(default)]
        map: BTreeMap<String, String>,
        /// A chrono format for a timestamp column (`%d/%m/%Y %H:%M`; with `%z` for an offset).
        format: Option<String>,
    },
}

/// File-level settings of a mapping.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    /// The field separator (default `,`).
    pub delimiter: Option<char>,
    /// Numbers use a decimal comma (`12,50`).
    #[serde(default)]
    pub decimal_comma: bool,
    /// The time zone of the file's timestamps without an offset (IANA name); without it they are
    /// taken as shop-local.
    pub timezone: Option<String>,
    /// Orders whose id starts with this are cancellations (Online Retail II's `C` invoices);
    /// their negative quantities are read as positive and their status is `cancelled`.
    pub cancel_prefix: Option<String>,
}

/// A mapping from a flat export to the canonical fields.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// File settings.
    #[serde(default)]
    pub file: FileSettings,
    /// Canonical field name -> source.
    pub fields: BTreeMap<String, FieldSource>,
}

/// The canonical fields a mapping may name.
pub const FIELDS: [&str; 18] = [
    "order_id",
    "order_ts",
    "status",
    "customer_id",
    "customer_name",
    "city",
    "region",
    "country",
    "product_id",
    "product_name",
    "category",
    "quantity",
    "unit_price",
    "line_total",
    "discount",
    "discount_rate",
    "method",
    "installments",
];

/// The fields a mapping must name, and whose column the file must have.
const REQUIRED: [&str; 4] = ["order_id", "order_ts", "product_id", "quantity"];

/// The presets shipped in the binary.
pub const PRESETS: [(&str, &str); 2] = [
    ("online-retail-ii", include_str!("presets/online-retail-ii.toml")),
    ("shopify", include_str!("presets/shopify.toml")),
];

/// Why a flat export cannot be converted.
#[derive(Debug, thiserror::Error)]
pub enum FlatError {
    /// The mapping is not valid.
    #[error("mapping: {0}")]
    Mapping(String),
    /// The flat file cannot be read or lacks a mapped column.
    #[error("{file}: {message}")]
    File {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

impl Mapping {
    /// Parses a TOML mapping and checks its field names and required fields.
    ///
    /// # Errors
    /// Invalid TOML, an unknown field, or a required field missing.
    pub fn parse(text: &str) -> Result<Mapping, FlatError> {
        let m: Mapping = toml::from_str(text).map_err(|e| FlatError::Mapping(e.to_string()))?;
        for name in m.fields.keys() {
            if !FIELDS.contains(&name.as_str()) {
                return Err(FlatError::Mapping(format!("unknown field '{name}' (fields: {})", FIELDS.join(", "))));
            }
        }
        for required in REQUIRED {
            if !m.fields.contains_key(required) {
                return Err(FlatError::Mapping(format!("field '{required}' must be mapped")));
            }
        }
        if !m.fields.contains_key("unit_price") && !m.fields.contains_key("line_total") {
            return Err(FlatError::Mapping("map 'unit_price' or 'line_total'".into()));
        }
        Ok(m)
    }

    /// A preset by name.
    ///
    /// # Errors
    /// No such preset.
    pub fn preset(name: &str) -> Result<Mapping, FlatError> {
        let (_, text) = PRESETS.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            FlatError::Mapping(format!(
                "no preset '{name}' (presets: {})",
                PRESETS.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
            ))
        })?;
        Mapping::parse(text)
    }
}

/// A mapping guessed from a header: each canonical field gets the first column whose name looks
/// like it. Printed by `import --detect` to be edited and reused.
pub fn detect(header: &[String]) -> String {
    const HINTS: [(&str, &[&str]); 18] = [
        ("order_id", &["order_id", "order id", "invoice", "order", "name", "order number"]),
        ("order_ts", &["order_ts", "created at", "invoicedate", "order date", "date", "timestamp"]),
        ("status", &["status", "financial status", "order status"]),
        ("customer_id", &["customer_id", "customer id", "email", "customer"]),
        ("customer_name", &["customer_name", "billing name", "customer name"]),
        ("city", &["city", "billing city"]),
        ("region", &["region", "billing province", "state"]),
        ("country", &["country", "billing country"]),
        ("product_id", &["product_id", "stockcode", "lineitem sku", "sku", "product id"]),
        ("product_name", &["product_name", "description", "lineitem name", "product name"]),
        ("category", &["category", "product category", "product type"]),
        ("quantity", &["quantity", "lineitem quantity", "qty"]),
        ("unit_price", &["unit_price", "price", "lineitem price", "unit price"]),
        ("line_total", &["line_total", "line total", "total"]),
        ("discount", &["discount", "lineitem discount", "discount amount"]),
        ("discount_rate", &["discount_rate", "discount rate"]),
        ("method", &["method", "payment method", "payment"]),
        ("installments", &["installments", "instalments"]),
    ];
    let lower: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let mut used = HashSet::new();
    let mut out = String::from(
        "# A mapping guessed from the header: check every line, then pass it with --map.\n[file]\ndelimiter = \",\"\n\n[fields]\n",
    );
    for (field, hints) in HINTS {
        let found = hints.iter().find_map(|h| lower.iter().position(|c| c == h).filter(|i| !used.contains(i)));
        match found {
            Some(i) => {
                used.insert(i);
                out.push_str(&format!("{field} = {:?}\n", header[i].trim()));
            }
            None => out.push_str(&format!("# {field} = \"?\"\n")),
        }
    }
    out
}

struct Resolved<'m> {
    source: &'m FieldSource,
    at: Option<usize>,
}

fn value<'a>(r: &Resolved, record: &'a csv::StringRecord) -> std::borrow::Cow<'a, str> {
    match r.source {
        FieldSource::Column(_) => r.at.and_then(|i| record.get(i)).unwrap_or("").trim().into(),
        FieldSource::Spec { constant: Some(c), .. } => c.clone().into(),
        FieldSource::Spec { map, .. } => {
            let raw = r.at.and_then(|i| record.get(i)).unwrap_or("").trim();
            match map.iter().find(|(k, _)| k.eq_ignore_ascii_case(raw)) {
                Some((_, v)) => v.clone().into(),
                None => raw.into(),
            }
        }
    }
}

fn number(text: &str, decimal_comma: bool) -> String {
    if decimal_comma { text.replace('.', "").replace(',', ".") } else { text.replace(',', "") }
}

/// Rows written to the canonical files, per file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Converted {
    /// Data rows of the flat file.
    pub rows: u64,
    /// Orders written.
    pub orders: u64,
    /// Optional fields whose column the file does not have: left empty.
    pub missing: Vec<String>,
}

/// Converts the flat file `input` into the canonical five files in `out`.
///
/// # Errors
/// The file cannot be read, or a mapped column is not in its header.
pub fn convert(input: &Path, mapping: &Mapping, out: &Path) -> Result<Converted, FlatError> {
    let file = input.display().to_string();
    let err = |message: String| FlatError::File { file: file.clone(), message };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(mapping.file.delimiter.unwrap_or(',') as u8)
        .flexible(true)
        .from_path(input)
        .map_err(|e| err(e.to_string()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| err(e.to_string()))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut resolved: HashMap<&str, Resolved> = HashMap::new();
    let mut missing = Vec::new();
    for (name, source) in &mapping.fields {
        let column = match source {
            FieldSource::Column(c) => Some(c),
            FieldSource::Spec { column, .. } => column.as_ref(),
        };
        let at = match column {
            Some(c) => match header.iter().position(|h| h.eq_ignore_ascii_case(c.trim())) {
                Some(i) => Some(i),
                // an export may lack an optional column (a preset names them all): that field stays empty
                None if !REQUIRED.contains(&name.as_str()) => {
                    missing.push(format!("{name} (column '{c}')"));
                    continue;
                }
                None => return Err(err(format!("the header has no column '{c}' (mapped to {name})"))),
            },
            None => None,
        };
        resolved.insert(name.as_str(), Resolved { source, at });
    }
    let get = |name: &str, rec: &csv::StringRecord| -> String {
        resolved.get(name).map(|r| value(r, rec).into_owned()).unwrap_or_default()
    };
    let ts_format = |name: &str| match resolved.get(name).map(|r| r.source) {
        Some(FieldSource::Spec { format: Some(f), .. }) => Some(f.clone()),
        _ => None,
    };
    let ts_format = ts_format("order_ts");
    let file_tz: Option<chrono_tz::Tz> = match &mapping.file.timezone {
        Some(name) => {
            Some(name.parse().map_err(|_| FlatError::Mapping(format!("'{name}' is not an IANA time zone name")))?)
        }
        None => None,
    };

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
    let mut converted = Converted { missing, ..Default::default() };
    let w = |e: csv::Error| err(e.to_string());
    for record in reader.records() {
        let record = record.map_err(|e| err(e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let src = line.to_string();
        converted.rows += 1;
        let order_id = get("order_id", &record);
        let cancelled =
            mapping.file.cancel_prefix.as_ref().is_some_and(|p| !p.is_empty() && order_id.starts_with(p.as_str()));
        let mut quantity = number(&get("quantity", &record), false);
        if cancelled {
            quantity = quantity.trim_start_matches('-').to_string();
        }
        let q: i64 = quantity.parse().unwrap_or(0);
        let mut unit_price = number(&get("unit_price", &record), decimal_comma);
        if !resolved.contains_key("unit_price") {
            // a line total: the unit price is total / quantity, to 4 decimals
            let total = Money::parse(&number(&get("line_total", &record), decimal_comma)).unwrap_or_default();
            if q > 0 {
                unit_price = Money::from_units(total.units() / q as i128).unwrap_or_default().to_string();
            }
        }
        let mut discount = number(&get("discount", &record), decimal_comma);
        let rate = number(&get("discount_rate", &record), decimal_comma);
        if discount.is_empty() && !rate.is_empty() {
            // a rate of the line's gross amount, in percent when above 1
            if let (Ok(r), Ok(p)) = (rate.parse::<f64>(), Money::parse(&unit_price)) {
                let r = if r > 1.0 { r / 100.0 } else { r };
                let cents = (p.units() as f64 * q as f64 * r / 100.0).round() as i64;
                discount = Money::from_cents(cents).to_string();
            }
        }
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
            let ts = match &ts_format {
                Some(f) => DateTime::parse_from_str(&raw_ts, f)
                    .map(|d| d.to_rfc3339())
                    .or_else(|_| NaiveDateTime::parse_from_str(&raw_ts, f).map(naive))
                    .unwrap_or_else(|_| raw_ts.clone()),
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
    Ok(converted)
}

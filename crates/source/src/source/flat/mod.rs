//! Flat exports: one CSV with a row per order line (a Shopify orders export, the UCI Online
//! Retail II sheet, a shop's own extract), turned into the canonical five files by a mapping that
//! names each canonical field's column, constant or value map. The canonical files then go
//! through the ordinary import, so every rule and reject of the source format applies; each
//! canonical row carries the flat file's line as an extra `source_line` column, so a reject
//! points back to the line the user knows.
//!
//! Before any row is converted, [`check`] holds the mapping against the file: every mapped column
//! exists, every constant is a valid value, and each column's first rows read as the field's type.
//! A mistake there is an error naming the field, the column and a value, never a silently empty
//! or wrong field. [`detect`] proposes a mapping from the header and the values.

pub mod check;
mod convert;
pub mod detect;

pub use check::check;
pub use convert::{Converted, convert};

/// The order-level money fields of a mapping, in the canonical orders.csv's column order.
pub const ORDER_MONEY: [&str; 4] = ["shipping", "tax", "duties", "order_discount"];
pub use detect::detect;

use crate::model::{Money, Status};
use serde::Deserialize;
use std::collections::BTreeMap;

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
        /// Keys that are none of the above (a typo such as `colum`): refused by [`Mapping::parse`].
        #[serde(flatten)]
        unknown: BTreeMap<String, toml::Value>,
    },
}

impl FieldSource {
    /// The column this field reads, if any.
    pub fn column(&self) -> Option<&str> {
        match self {
            FieldSource::Column(c) => Some(c),
            FieldSource::Spec { column, .. } => column.as_deref(),
        }
    }
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
    /// Orders whose id starts with this are returns (Online Retail's `C` invoices, negative
    /// quantities): each of their lines becomes a refund, on its own date, of the same customer's
    /// latest earlier purchase of that product with units left to return. A return that matches
    /// no purchase in the file is left out and said.
    pub returns_prefix: Option<String>,
    /// The shop's currency (ISO 4217, e.g. `EUR`; any case), recorded with the import. A
    /// `currency` field names a column of it instead.
    pub currency: Option<String>,
    /// The timestamps' offsets are the shop's own (a Shopify export writes each order's time in
    /// the shop's zone, `2023-04-09 19:46:45 -0700`): an order is bucketed by that clock, its
    /// wall time as written, never moved to UTC or another zone.
    #[serde(default)]
    pub shop_offsets: bool,
    /// The line total is after the discount (a Superstore's `Sales`): the discount, given as a
    /// rate or an amount, is added back to find the gross amount instead of taken off again.
    #[serde(default)]
    pub line_total_after_discount: bool,
    /// The `order_discount` column is the order's whole discount, its lines' discounts included
    /// (Shopify's `Discount Amount`): the conversion takes the lines' out of it.
    #[serde(default)]
    pub order_discount_includes_lines: bool,
    /// Whether prices, discounts and shipping include the tax: `true`, `false` (the default), or
    /// `"auto"`, decided from the first rows' `order_total` (total = goods + shipping: included;
    /// total = goods + shipping + tax: not).
    pub taxes_included: Option<TaxesIncluded>,
    /// The product name is `Product - Variant` with this separator between them (Shopify's
    /// `Lineitem name`, ` - `): names that share the part before the last separator are variants
    /// of one product (products.csv's `variant_of`). A name whose part before it no other name
    /// shares is a product of its own.
    pub variant_separator: Option<String>,
    /// Money columns a detected mapping found no field for (`--detect` writes them): the import
    /// refuses while any is listed, so that no amount of the file is dropped without a word.
    #[serde(default)]
    pub unused: Vec<String>,
    /// Columns the user says do not count (moved here from `unused`).
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// The `[file] taxes_included` setting.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum TaxesIncluded {
    /// Said outright.
    Flag(bool),
    /// `"auto"`: decided from the file.
    Auto(String),
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
    /// The preset's name when the mapping is one: a preset names every column its format may
    /// have, so an export lacking an optional one leaves that field empty instead of failing.
    #[serde(skip)]
    pub preset: Option<String>,
}

/// The canonical fields a mapping may name.
pub const FIELDS: [&str; 29] = [
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
    "variant_of",
    "quantity",
    "unit_price",
    "line_total",
    "discount",
    "discount_rate",
    "method",
    "installments",
    "shipping",
    "tax",
    "duties",
    "order_discount",
    "discount_code",
    "channel",
    "order_total",
    "refunded_amount",
    "currency",
    "test",
];

/// The fields a mapping must name, and whose column the file must have.
pub const REQUIRED: [&str; 4] = ["order_id", "order_ts", "product_id", "quantity"];

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
    /// The flat file cannot be read, lacks a mapped column, or its values do not fit the mapping.
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
        for (name, source) in &m.fields {
            m.check_source(name, source).map_err(|e| FlatError::Mapping(format!("field {name}: {e}")))?;
        }
        if m.file.line_total_after_discount && !m.fields.contains_key("line_total") {
            return Err(FlatError::Mapping("[file] line_total_after_discount needs a line_total field".into()));
        }
        if m.file.cancel_prefix.is_some() && m.file.returns_prefix.is_some() {
            return Err(FlatError::Mapping(
                "[file] cancel_prefix and returns_prefix: give one (are those orders cancelled, or returns?)".into(),
            ));
        }
        if m.file.shop_offsets && m.file.timezone.is_some() {
            return Err(FlatError::Mapping(
                "[file] shop_offsets and timezone: give one (the offsets are the shop's clock, or the zone is)".into(),
            ));
        }
        if !m.file.unused.is_empty() {
            let list = m.file.unused.iter().map(|u| format!("'{u}'")).collect::<Vec<_>>().join(", ");
            return Err(FlatError::Mapping(format!(
                "[file] unused: the file's money columns {list} are in no field; map each to a field (order_discount, \
                 shipping, tax, duties, order_total, refunded_amount, discount…) or move it to [file] ignore = [...] \
                 to say it does not count"
            )));
        }
        if let Some(tz) = &m.file.timezone {
            tz.parse::<chrono_tz::Tz>()
                .map_err(|_| FlatError::Mapping(format!("[file] timezone: '{tz}' is not an IANA time zone name")))?;
        }
        if let Some(TaxesIncluded::Auto(a)) = &m.file.taxes_included
            && a != "auto"
        {
            return Err(FlatError::Mapping(format!("[file] taxes_included: '{a}' is not true, false or \"auto\"")));
        }
        if matches!(m.file.taxes_included, Some(TaxesIncluded::Auto(_))) && !m.fields.contains_key("order_total") {
            return Err(FlatError::Mapping("[file] taxes_included = \"auto\" needs an order_total field".into()));
        }
        if let Some(c) = &m.file.currency {
            crate::model::Currency::parse(c).map_err(|e| FlatError::Mapping(format!("[file] currency: {e}")))?;
        }
        Ok(m)
    }

    /// A field's source on its own: a column or a constant (not both), a format only for the
    /// timestamp, and every constant and mapped-to value valid for the field.
    fn check_source(&self, name: &str, source: &FieldSource) -> Result<(), String> {
        let FieldSource::Spec { column, constant, map, format, unknown } = source else {
            return Ok(());
        };
        if let Some(key) = unknown.keys().next() {
            return Err(format!("unknown key '{key}' (keys: column, constant, map, format)"));
        }
        match (column, constant) {
            (Some(_), Some(_)) => return Err("give a column or a constant, not both".into()),
            (None, None) => return Err("give a column or a constant".into()),
            (None, Some(_)) if !map.is_empty() || format.is_some() => {
                return Err("a constant takes no map or format".into());
            }
            _ => {}
        }
        if format.is_some() && name != "order_ts" {
            return Err("only order_ts takes a format".into());
        }
        // one item per row (a till's export): the only constant a required field may take
        let one_each = name == "quantity" && constant.as_deref().is_some_and(|c| c.trim() == "1");
        if REQUIRED.contains(&name) && name != "order_ts" && constant.is_some() && !one_each {
            let also = if name == "quantity" { " (or \"1\": one item per row)" } else { "" };
            return Err(format!("must come from a column: a constant would make every row the same{also}"));
        }
        let kind = Kind::of(name);
        if let Some(c) = constant {
            kind.read(c, &self.file, None).map_err(|e| format!("constant {e}"))?;
        }
        for (from, to) in map {
            kind.read(to, &self.file, None).map_err(|e| format!("map {from:?} = {to:?}: {e}"))?;
        }
        Ok(())
    }

    /// The chrono format given for the order timestamp, if any.
    pub fn ts_format(&self) -> Option<&str> {
        match self.fields.get("order_ts") {
            Some(FieldSource::Spec { format: Some(f), .. }) => Some(f),
            _ => None,
        }
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
        Ok(Mapping { preset: Some(name.to_string()), ..Mapping::parse(text)? })
    }
}

/// What a canonical field holds, and so how its values are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Free text (ids, names, places, methods).
    Text,
    /// The order's time.
    Timestamp,
    /// An order status of the source format.
    Status,
    /// A whole number (quantity, installments).
    Integer,
    /// An amount of money.
    Amount,
    /// A discount rate: a fraction (0.1) or a percentage (10).
    Rate,
}

impl Kind {
    /// The kind of a canonical field.
    pub fn of(field: &str) -> Kind {
        match field {
            "order_ts" => Kind::Timestamp,
            "status" => Kind::Status,
            "quantity" | "installments" => Kind::Integer,
            "unit_price" | "line_total" | "discount" | "shipping" | "tax" | "duties" | "order_discount"
            | "order_total" | "refunded_amount" => Kind::Amount,
            "discount_rate" => Kind::Rate,
            _ => Kind::Text,
        }
    }

    /// Reads one non-empty value of this kind as the conversion will, or says why it cannot.
    pub fn read(self, raw: &str, file: &FileSettings, ts_format: Option<&str>) -> Result<(), String> {
        let v = raw.trim();
        let fail = |what: &str| Err(format!("'{v}' is not {what}"));
        match self {
            Kind::Text => Ok(()),
            Kind::Status => v.parse::<Status>().map(|_| ()),
            Kind::Integer => match number(v, false).trim_start_matches('-').parse::<i64>() {
                Ok(_) => Ok(()),
                Err(_) => fail("a whole number"),
            },
            Kind::Amount => match Money::parse(number(v, file.decimal_comma).trim_start_matches('-')) {
                Ok(_) => Ok(()),
                Err(_) if file.decimal_comma => fail("an amount (with a decimal comma: 12,50)"),
                Err(_) => fail("an amount (12.50)"),
            },
            Kind::Rate => match number(v.trim_end_matches('%'), file.decimal_comma).parse::<f64>() {
                Ok(r) if (0.0..=100.0).contains(&r) => Ok(()),
                _ => fail("a rate (0.1 or 10 for 10 %)"),
            },
            Kind::Timestamp => match ts_format {
                Some(f) => convert::parse_with_format(v, f)
                    .map(|_| ())
                    .map_err(|_| format!("'{v}' does not match the format '{f}'")),
                None => crate::model::time::parse_timestamp(v, crate::model::ShopTz::default()).map(|_| ()),
            },
        }
    }
}

/// A flat file's header: each name trimmed, a byte-order mark dropped.
fn read_header<R: std::io::Read>(reader: &mut csv::Reader<R>) -> csv::Result<Vec<String>> {
    Ok(reader.headers()?.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_string()).collect())
}

/// A number as Rust reads it: thousands separators dropped, a decimal comma made a point.
fn number(text: &str, decimal_comma: bool) -> String {
    if decimal_comma { text.replace('.', "").replace(',', ".") } else { text.replace(',', "") }
}

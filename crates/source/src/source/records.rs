//! Typed records of the five source files, parsed from one row each. A parse error is the reject
//! reason and always names the column.

use super::Row;
use crate::model::time::{parse_date, parse_timestamp};
use crate::model::{Money, ShopTz, Status};
use chrono::{NaiveDate, NaiveDateTime};

/// The category of a product with none.
pub const UNCATEGORIZED: &str = "Uncategorized";

/// A row of `customers.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerRec {
    /// Required, unique.
    pub customer_id: String,
    /// Optional texts: name, city, region, country.
    pub customer_name: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Sign-up day.
    pub signup_date: Option<NaiveDate>,
}

/// A row of `products.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductRec {
    /// Required, unique.
    pub product_id: String,
    /// Optional.
    pub product_name: Option<String>,
    /// `Uncategorized` when missing.
    pub category: String,
    /// Optional, >= 0.
    pub unit_cost: Option<Money>,
    /// Optional, >= 0.
    pub list_price: Option<Money>,
}

/// A row of `orders.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderRec {
    /// Required, unique.
    pub order_id: String,
    /// Required.
    pub customer_id: String,
    /// Shop-local time.
    pub order_ts: NaiveDateTime,
    /// The order's status.
    pub status: Status,
}

/// A row of `order_items.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemRec {
    /// The order it belongs to.
    pub order_id: String,
    /// >= 1, unique within the order.
    pub line_no: i32,
    /// Required.
    pub product_id: String,
    /// >= 1.
    pub quantity: i32,
    /// >= 0.
    pub unit_price: Money,
    /// >= 0, at most quantity * unit_price.
    pub discount: Money,
    /// quantity * unit_price - discount.
    pub line_revenue: Money,
}

/// A row of `payments.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct PaymentRec {
    /// The order it pays.
    pub order_id: String,
    /// >= 1, unique within the order.
    pub payment_seq: i32,
    /// Lower-cased, trimmed.
    pub method: String,
    /// >= 1.
    pub installments: i32,
    /// >= 0.
    pub amount: Money,
}

fn id(row: &Row, col: &str) -> Result<String, String> {
    let v = row.get(col)?;
    if v.is_empty() { Err(format!("column {col}: is empty, an id is required")) } else { Ok(v.to_string()) }
}

fn text(row: &Row, col: &str) -> Result<Option<String>, String> {
    let v = row.get(col)?;
    Ok((!v.is_empty()).then(|| v.to_string()))
}

fn money(row: &Row, col: &str) -> Result<Option<Money>, String> {
    let v = row.get(col)?;
    if v.is_empty() {
        return Ok(None);
    }
    let m = Money::parse(v).map_err(|e| format!("column {col}: {e}"))?;
    if m < Money::ZERO {
        return Err(format!("column {col}: '{v}' is negative, must be >= 0"));
    }
    Ok(Some(m))
}

fn required_money(row: &Row, col: &str) -> Result<Money, String> {
    money(row, col)?.ok_or_else(|| format!("column {col}: is empty, a value is required"))
}

/// An integer >= 1; `default` when empty (None: required).
fn positive(row: &Row, col: &str, default: Option<i32>) -> Result<i32, String> {
    let v = row.get(col)?;
    if v.is_empty() {
        return default.ok_or_else(|| format!("column {col}: is empty, a value is required"));
    }
    match v.parse::<i32>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err(format!("column {col}: '{v}' must be >= 1")),
        Err(_) => Err(format!("column {col}: '{v}' is not a whole number")),
    }
}

impl CustomerRec {
    /// Parses a `customers.csv` row.
    pub fn parse(row: &Row) -> Result<Self, String> {
        let signup = row.get("signup_date")?;
        Ok(CustomerRec {
            customer_id: id(row, "customer_id")?,
            customer_name: text(row, "customer_name")?,
            city: text(row, "city")?,
            region: text(row, "region")?,
            country: text(row, "country")?,
            signup_date: if signup.is_empty() {
                None
            } else {
                Some(parse_date(signup).map_err(|e| format!("column signup_date: {e}"))?)
            },
        })
    }
}

impl ProductRec {
    /// Parses a `products.csv` row.
    pub fn parse(row: &Row) -> Result<Self, String> {
        Ok(ProductRec {
            product_id: id(row, "product_id")?,
            product_name: text(row, "product_name")?,
            category: text(row, "category")?.unwrap_or_else(|| UNCATEGORIZED.to_string()),
            unit_cost: money(row, "unit_cost")?,
            list_price: money(row, "list_price")?,
        })
    }
}

impl OrderRec {
    /// Parses an `orders.csv` row; the timestamp is converted to the shop's time zone.
    pub fn parse(row: &Row, tz: ShopTz) -> Result<Self, String> {
        let ts = row.get("order_ts")?;
        if ts.is_empty() {
            return Err("column order_ts: is empty, a value is required".into());
        }
        Ok(OrderRec {
            order_id: id(row, "order_id")?,
            customer_id: id(row, "customer_id")?,
            order_ts: parse_timestamp(ts, tz).map_err(|e| format!("column order_ts: {e}"))?,
            status: row.get("status")?.parse().map_err(|e| format!("column status: {e}"))?,
        })
    }
}

impl ItemRec {
    /// Parses an `order_items.csv` row and computes its line revenue.
    pub fn parse(row: &Row) -> Result<Self, String> {
        let quantity = positive(row, "quantity", None)?;
        let unit_price = required_money(row, "unit_price")?;
        let discount = money(row, "discount")?.unwrap_or(Money::ZERO);
        let gross =
            unit_price.checked_mul(quantity as i64).ok_or("column quantity: quantity * unit_price is too large")?;
        if discount > gross {
            return Err(format!("column discount: {discount} is more than quantity * unit_price ({gross})"));
        }
        Ok(ItemRec {
            order_id: id(row, "order_id")?,
            line_no: positive(row, "line_no", None)?,
            product_id: id(row, "product_id")?,
            quantity,
            unit_price,
            discount,
            line_revenue: gross.checked_sub(discount).expect("0 <= gross - discount <= gross"),
        })
    }
}

impl PaymentRec {
    /// Parses a `payments.csv` row.
    pub fn parse(row: &Row) -> Result<Self, String> {
        let method = row.get("method")?.to_lowercase();
        if method.is_empty() {
            return Err("column method: is empty, a value is required".into());
        }
        Ok(PaymentRec {
            order_id: id(row, "order_id")?,
            payment_seq: positive(row, "payment_seq", None)?,
            method,
            installments: positive(row, "installments", Some(1))?,
            amount: required_money(row, "amount")?,
        })
    }
}

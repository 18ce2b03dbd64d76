//! Typed records of the source files, parsed from one row each. A parse error is the reject
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
    /// Optional: the product it is a variant of (a size, a colour); the products view rolls
    /// variants up to it.
    pub variant_of: Option<String>,
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
    /// The order-level money (all >= 0, 0 when empty): shipping charged, tax, duties, and a
    /// discount on the whole order that no line's `discount` holds.
    pub money: OrderMoney,
    /// The codes the order used, trimmed, each once, joined by `,`; `None` without one.
    pub discount_codes: Option<String>,
    /// Where it was sold; `None` when empty (`unspecified`).
    pub channel: Option<String>,
}

/// The order-level money columns of `orders.csv`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrderMoney {
    /// Shipping charged, after shipping discounts.
    pub shipping: Money,
    /// The order's tax, on goods and shipping.
    pub tax: Money,
    /// Duties.
    pub duties: Money,
    /// A discount on the whole order.
    pub order_discount: Money,
}

impl OrderMoney {
    /// Whether every amount is 0 (an order of an export without these columns).
    pub fn is_zero(&self) -> bool {
        *self == OrderMoney::default()
    }
}

/// The channel of an order with none.
pub const UNSPECIFIED_CHANNEL: &str = "unspecified";

/// A row of `refunds.csv`: money given back on a day, for goods of one line or of the order, and
/// for shipping and tax.
#[derive(Clone, Debug, PartialEq)]
pub struct RefundRec {
    /// Required; (refund_id, line_no) unique.
    pub refund_id: String,
    /// An order of orders.csv.
    pub order_id: String,
    /// Shop-local time, not before the order's.
    pub refunded_at: NaiveDateTime,
    /// The line it returns; `None` for a refund tied to no line.
    pub line_no: Option<i32>,
    /// Units returned (0 without a line).
    pub quantity: i32,
    /// Goods refunded, without shipping and tax.
    pub amount: Money,
    /// Shipping refunded.
    pub shipping: Money,
    /// Tax refunded.
    pub tax: Money,
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
            variant_of: text(row, "variant_of")?,
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
            money: OrderMoney {
                shipping: optional_money(row, "shipping")?,
                tax: optional_money(row, "tax")?,
                duties: optional_money(row, "duties")?,
                order_discount: optional_money(row, "order_discount")?,
            },
            discount_codes: codes(row.get("discount_code")?),
            channel: text(row, "channel")?,
        })
    }
}

/// An optional money column: 0 when absent from the header or empty.
fn optional_money(row: &Row, col: &str) -> Result<Money, String> {
    Ok(money(row, col)?.unwrap_or(Money::ZERO))
}

/// Discount codes separated by `,`: trimmed, empty ones dropped, each once in first-seen order.
pub fn codes(text: &str) -> Option<String> {
    let mut seen: Vec<&str> = Vec::new();
    for c in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
    (!seen.is_empty()).then(|| seen.join(","))
}

impl RefundRec {
    /// Parses a `refunds.csv` row; the time is converted to the shop's time zone.
    pub fn parse(row: &Row, tz: ShopTz) -> Result<Self, String> {
        let at = row.get("refunded_at")?;
        if at.is_empty() {
            return Err("column refunded_at: is empty, a value is required".into());
        }
        let line_no = match row.get("line_no")? {
            "" => None,
            _ => Some(positive(row, "line_no", None)?),
        };
        let quantity = match row.get("quantity")? {
            "" => 0,
            q if line_no.is_none() => {
                return Err(format!("column quantity: '{q}' without a line_no (units returned belong to a line)"));
            }
            _ => positive(row, "quantity", None)?,
        };
        Ok(RefundRec {
            refund_id: id(row, "refund_id")?,
            order_id: id(row, "order_id")?,
            refunded_at: parse_timestamp(at, tz).map_err(|e| format!("column refunded_at: {e}"))?,
            line_no,
            quantity,
            amount: required_money(row, "amount")?,
            shipping: optional_money(row, "shipping")?,
            tax: optional_money(row, "tax")?,
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

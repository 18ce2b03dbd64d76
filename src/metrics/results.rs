//! The KPI results in the JSON shape of kpis.md, and how they are read from query results.
//! Rounding happens here, once: money half away from zero to cents, ratios to 6 decimals.

use crate::model::Month;
use crate::model::money::round_scaled;
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int32Type, Int64Type};
use datafusion::arrow::record_batch::RecordBatch;
use serde::{Serialize, Serializer};
use std::fmt;

/// Money rounded to cents (kpis.md: half away from zero, once, at the end).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cents(pub i128);

impl Serialize for Cents {
    /// As a JSON number with at most two decimals (`1607556.36`).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0 as f64 / 100.0)
    }
}

impl utoipa::PartialSchema for Cents {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::Number)
            .description(Some("money, rounded to cents (at most two decimals)"))
            .into()
    }
}

impl utoipa::ToSchema for Cents {}

impl<'de> serde::Deserialize<'de> for Cents {
    /// From the JSON number [`Serialize`] writes (cents are exact in an f64 up to 2^53).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cents, D::Error> {
        let v = f64::deserialize(d)?;
        Ok(Cents((v * 100.0).round() as i128))
    }
}

impl fmt::Display for Cents {
    /// With thousands separators: `1,607,556.36`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = (abs / 100).to_string();
        let mut grouped = String::new();
        for (i, ch) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        write!(f, "{sign}{grouped}.{:02}", abs % 100)
    }
}

/// A count with thousands separators: `1,234,567`.
pub fn grouped(n: i64) -> String {
    Cents(n as i128 * 100).to_string().trim_end_matches(".00").to_string()
}

/// Rounds to 2 decimals, half away from zero (forecasts, errors in percent, alert figures).
pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Rounds a ratio to 6 decimals, half away from zero.
pub(crate) fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The whole KPI object of kpis.md.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Kpis {
    /// Headline figures.
    pub summary: Summary,
    /// The shop's books: gross sales to total sales.
    pub books: Books,
    /// Net sales by channel.
    pub channels: Vec<ChannelRow>,
    /// Sales by discount code.
    pub discount_codes: Vec<CodeRow>,
    /// Monthly trend.
    pub monthly: Vec<MonthRow>,
    /// Revenue by category.
    pub categories: Vec<CategoryRow>,
    /// Top products.
    pub top_products: Vec<ProductRow>,
    /// Order frequency.
    pub order_frequency: OrderFrequency,
    /// Top customers.
    pub top_customers: Vec<CustomerRow>,
    /// Payment methods.
    pub payment_methods: Vec<MethodRow>,
    /// What the books rest on beyond the export's columns (as its import recorded), in words:
    /// none for an export that says everything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assumptions: Vec<String>,
}

/// `books`: the shop's finance summary (kpis.md, "the books"), each figure on the day of its sale
/// or refund. Shipping, taxes, duties and total sales are none under a category filter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Books {
    /// Quantity * unit price, the tax inside taken out.
    pub gross_sales: Cents,
    /// Line discounts and order-discount shares.
    pub discounts: Cents,
    /// Goods refunded in the range.
    pub returns: Cents,
    /// gross_sales - discounts - returns (= total_revenue).
    pub net_sales: Cents,
    /// Shipping charged less shipping refunded.
    pub shipping: Option<Cents>,
    /// Tax charged less tax refunded.
    pub taxes: Option<Cents>,
    /// Duties.
    pub duties: Option<Cents>,
    /// net_sales + shipping + taxes + duties.
    pub total_sales: Option<Cents>,
    /// Units returned in the range.
    pub returned_units: i64,
}

/// One channel of `channels`.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChannelRow {
    /// The channel's name (`unspecified` for orders without one).
    pub channel: String,
    /// Net sales.
    pub revenue: Cents,
    /// Orders placed in it.
    pub orders: i64,
    /// Share of net sales.
    pub share: f64,
}

/// One code of `discount_codes`.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CodeRow {
    /// The code, as the export writes it.
    pub code: String,
    /// Orders that used it.
    pub orders: i64,
    /// Their discounts.
    pub discounts: Cents,
    /// Their net sales.
    pub revenue: Cents,
}

/// `summary`.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Net sales: line revenue over revenue lines less the returns in the range.
    pub total_revenue: Cents,
    /// Distinct revenue orders with a revenue line.
    pub orders: i64,
    /// Line revenue (before returns) / orders.
    pub average_order_value: Cents,
    /// Distinct customers.
    pub customers: i64,
}

/// One month of `monthly`.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MonthRow {
    /// `YYYY-MM`.
    pub month: Month,
    /// Net sales: the sales placed in it less the returns refunded in it.
    pub revenue: Cents,
    /// Orders.
    pub orders: i64,
    /// Customers.
    pub customers: i64,
    /// revenue / orders.
    pub average_order_value: Cents,
    /// revenue / previous revenue - 1.
    pub growth: Option<f64>,
    /// False for the month in progress: the month of the latest order (of any status) unless that
    /// order is on the month's last day (kpis.md).
    pub complete: bool,
    /// The month's books (net sales are `revenue`).
    #[serde(flatten)]
    #[schema(inline)]
    pub books: MonthBooks,
}

/// The books of one month of `monthly`: its sales' gross sales and discounts, the returns,
/// shipping, taxes and duties of its days (none of the last four under a category filter).
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MonthBooks {
    /// Gross sales.
    pub gross_sales: Cents,
    /// Discounts.
    pub discounts: Cents,
    /// Returns.
    pub returns: Cents,
    /// Shipping less shipping refunded.
    pub shipping: Option<Cents>,
    /// Taxes less taxes refunded.
    pub taxes: Option<Cents>,
    /// Duties.
    pub duties: Option<Cents>,
    /// Net sales + shipping + taxes + duties.
    pub total_sales: Option<Cents>,
}

/// One category of `categories`.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CategoryRow {
    /// Category name.
    pub category: String,
    /// Revenue.
    pub revenue: Cents,
    /// Share of total revenue.
    pub share: f64,
    /// Distinct orders with a line in it.
    pub orders: i64,
    /// Units.
    pub units: i64,
}

/// One product of `top_products`.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProductRow {
    /// The shop's id.
    pub product_id: String,
    /// Name, if known.
    pub product_name: Option<String>,
    /// Category.
    pub category: String,
    /// Revenue.
    pub revenue: Cents,
    /// Units.
    pub units: i64,
    /// Share of total revenue.
    pub share: f64,
    /// Cumulative share in list order.
    pub cumulative_share: f64,
}

/// `order_frequency`.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrderFrequency {
    /// Always `1`, `2`, `3`, `4`, `5+`.
    pub buckets: Vec<Bucket>,
    /// Customers with 2 or more orders / customers.
    pub repeat_customer_rate: f64,
}

/// One bucket of `order_frequency`.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Bucket {
    /// `1` … `5+`.
    pub orders: String,
    /// Customers in it.
    pub customers: i64,
    /// Their share of customers.
    pub share: f64,
}

/// One customer of `top_customers`.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CustomerRow {
    /// The shop's id.
    pub customer_id: String,
    /// Name, if known.
    pub customer_name: Option<String>,
    /// Revenue orders.
    pub orders: i64,
    /// Revenue.
    pub revenue: Cents,
    /// revenue / orders.
    pub average_order_value: Cents,
    /// First order day.
    pub first_order_date: NaiveDate,
    /// Last order day.
    pub last_order_date: NaiveDate,
}

/// One method of `payment_methods`.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MethodRow {
    /// Lower-cased method.
    pub method: String,
    /// Sum of amounts.
    pub amount: Cents,
    /// Distinct orders.
    pub orders: i64,
    /// Share of the total amount.
    pub share: f64,
    /// Mean installments.
    pub average_installments: f64,
}

/// Reads typed values out of a result batch by column name. Panics only on a mismatch between a
/// `.sql` file and this module, which the tests catch.
pub(crate) struct Cols<'a>(pub(crate) &'a RecordBatch);

impl<'a> Cols<'a> {
    pub(crate) fn col(&self, name: &str) -> &'a dyn Array {
        self.0.column_by_name(name).unwrap_or_else(|| panic!("KPI query has no column {name}")).as_ref()
    }

    pub(crate) fn cents(&self, name: &str, row: usize) -> Cents {
        let a = self.col(name);
        if a.is_null(row) {
            return Cents(0);
        }
        match a.data_type() {
            DataType::Decimal128(_, scale) => {
                Cents(round_scaled(a.as_primitive::<Decimal128Type>().value(row), *scale as u32, 2))
            }
            DataType::Int64 => Cents(a.as_primitive::<Int64Type>().value(row) as i128 * 100),
            other => panic!("column {name}: money of type {other}"),
        }
    }

    /// Money that may be none (a figure a filter leaves out).
    pub(crate) fn maybe_cents(&self, name: &str, row: usize) -> Option<Cents> {
        (!self.col(name).is_null(row)).then(|| self.cents(name, row))
    }

    /// An exact amount in ten-thousandths (the warehouse's money scale), unrounded.
    pub(crate) fn units4(&self, name: &str, row: usize) -> i128 {
        let a = self.col(name);
        if a.is_null(row) {
            return 0;
        }
        match a.data_type() {
            DataType::Decimal128(_, scale) => {
                round_scaled(a.as_primitive::<Decimal128Type>().value(row), *scale as u32, 4)
            }
            DataType::Int64 => a.as_primitive::<Int64Type>().value(row) as i128 * 10_000,
            other => panic!("column {name}: money of type {other}"),
        }
    }

    pub(crate) fn int(&self, name: &str, row: usize) -> i64 {
        let a = self.col(name);
        if a.is_null(row) {
            return 0;
        }
        match a.data_type() {
            DataType::Int64 => a.as_primitive::<Int64Type>().value(row),
            DataType::Int32 => a.as_primitive::<Int32Type>().value(row) as i64,
            DataType::UInt64 => a.as_primitive::<datafusion::arrow::datatypes::UInt64Type>().value(row) as i64,
            DataType::Decimal128(_, 0) => a.as_primitive::<Decimal128Type>().value(row) as i64,
            other => panic!("column {name}: integer of type {other}"),
        }
    }

    pub(crate) fn ratio(&self, name: &str, row: usize) -> Option<f64> {
        let a = self.col(name);
        (!a.is_null(row)).then(|| round6(a.as_primitive::<Float64Type>().value(row)))
    }

    pub(crate) fn text(&self, name: &str, row: usize) -> Option<String> {
        let a = self.col(name);
        if a.is_null(row) {
            return None;
        }
        Some(match a.data_type() {
            DataType::Utf8View => a.as_string_view().value(row).to_string(),
            DataType::LargeUtf8 => a.as_string::<i64>().value(row).to_string(),
            _ => a.as_string::<i32>().value(row).to_string(),
        })
    }

    pub(crate) fn date(&self, name: &str, row: usize) -> NaiveDate {
        crate::warehouse::keys::date_at(self.col(name), row)
    }
}

pub(crate) fn rows<'a>(batches: &'a [RecordBatch]) -> impl Iterator<Item = (Cols<'a>, usize)> + 'a {
    batches.iter().flat_map(|b| (0..b.num_rows()).map(move |r| (Cols(b), r)))
}

impl Summary {
    pub(crate) fn from_batches(b: &[RecordBatch]) -> Summary {
        let (c, r) = rows(b).next().expect("an aggregate returns one row");
        Summary {
            total_revenue: c.cents("total_revenue", r),
            orders: c.int("orders", r),
            average_order_value: c.cents("average_order_value", r),
            customers: c.int("customers", r),
        }
    }
}

impl Books {
    pub(crate) fn from_batches(b: &[RecordBatch]) -> Books {
        let (c, r) = rows(b).next().expect("an aggregate returns one row");
        Books {
            gross_sales: c.cents("gross_sales", r),
            discounts: c.cents("discounts", r),
            returns: c.cents("returns", r),
            net_sales: c.cents("net_sales", r),
            shipping: c.maybe_cents("shipping", r),
            taxes: c.maybe_cents("taxes", r),
            duties: c.maybe_cents("duties", r),
            total_sales: c.maybe_cents("total_sales", r),
            returned_units: c.int("returned_units", r),
        }
    }
}

impl ChannelRow {
    pub(crate) fn from_batches(b: &[RecordBatch]) -> Vec<ChannelRow> {
        rows(b)
            .map(|(c, r)| ChannelRow {
                channel: c.text("channel", r).unwrap_or_default(),
                revenue: c.cents("revenue", r),
                orders: c.int("orders", r),
                share: c.ratio("share", r).unwrap_or(0.0),
            })
            .collect()
    }
}

impl CodeRow {
    pub(crate) fn from_batches(b: &[RecordBatch]) -> Vec<CodeRow> {
        rows(b)
            .map(|(c, r)| CodeRow {
                code: c.text("code", r).unwrap_or_default(),
                orders: c.int("orders", r),
                discounts: c.cents("discounts", r),
                revenue: c.cents("revenue", r),
            })
            .collect()
    }
}

impl MonthRow {
    pub(crate) fn from_batches(b: &[RecordBatch]) -> Vec<MonthRow> {
        rows(b)
            .map(|(c, r)| MonthRow {
                month: Month::of(c.date("month_start", r)),
                revenue: c.cents("revenue", r),
                orders: c.int("orders", r),
                customers: c.int("customers", r),
                average_order_value: c.cents("average_order_value", r),
                growth: c.ratio("growth", r),
                complete: true,
                books: MonthBooks {
                    gross_sales: c.cents("gross_sales", r),
                    discounts: c.cents("discounts", r),
                    returns: c.cents("returns", r),
                    shipping: c.maybe_cents("shipping", r),
                    taxes: c.maybe_cents("taxes", r),
                    duties: c.maybe_cents("duties", r),
                    total_sales: c.maybe_cents("total_sales", r),
                },
            })
            .collect()
    }

    /// Marks the month in progress of data whose latest order is on `last_order`.
    pub(crate) fn mark_in_progress(rows: &mut [MonthRow], last_order: Option<chrono::NaiveDate>) {
        let Some(last) = last_order else { return };
        if Month::last_complete(last) == Month::of(last) {
            return;
        }
        for row in rows.iter_mut().filter(|r| r.month == Month::of(last)) {
            row.complete = false;
        }
    }
}

impl CategoryRow {
    pub(crate) fn from_batches(b: &[RecordBatch]) -> Vec<CategoryRow> {
        rows(b)
            .map(|(c, r)| CategoryRow {
                category: c.text("category", r).unwrap_or_default(),
                revenue: c.cents("revenue", r),
                share: c.ratio("share", r).unwrap_or(0.0),
                orders: c.int("orders", r),
                units: c.int("units", r),
            })
            .collect()
    }
}

impl ProductRow {
    pub(crate) fn from_batches(b: &[RecordBatch]) -> Vec<ProductRow> {
        rows(b)
            .map(|(c, r)| ProductRow {
                product_id: c.text("product_id", r).unwrap_or_default(),
                product_name: c.text("product_name", r),
                category: c.text("category", r).unwrap_or_default(),
                revenue: c.cents("revenue", r),
                units: c.int("units", r),
                share: c.ratio("share", r).unwrap_or(0.0),
                cumulative_share: c.ratio("cumulative_share", r).unwrap_or(0.0),
            })
            .collect()
    }
}

impl OrderFrequency {
    pub(crate) fn from_batches(b: &[RecordBatch]) -> OrderFrequency {
        let buckets: Vec<Bucket> = rows(b)
            .map(|(c, r)| Bucket {
                orders: c.text("orders", r).unwrap_or_default(),
                customers: c.int("customers", r),
                share: c.ratio("share", r).unwrap_or(0.0),
            })
            .collect();
        let rate = rows(b).next().and_then(|(c, r)| c.ratio("repeat_customer_rate", r)).unwrap_or(0.0);
        OrderFrequency { buckets, repeat_customer_rate: rate }
    }
}

impl CustomerRow {
    pub(crate) fn from_batches(b: &[RecordBatch]) -> Vec<CustomerRow> {
        rows(b)
            .map(|(c, r)| CustomerRow {
                customer_id: c.text("customer_id", r).unwrap_or_default(),
                customer_name: c.text("customer_name", r),
                orders: c.int("orders", r),
                revenue: c.cents("revenue", r),
                average_order_value: c.cents("average_order_value", r),
                first_order_date: c.date("first_order_date", r),
                last_order_date: c.date("last_order_date", r),
            })
            .collect()
    }
}

impl MethodRow {
    pub(crate) fn from_batches(b: &[RecordBatch]) -> Vec<MethodRow> {
        rows(b)
            .map(|(c, r)| MethodRow {
                method: c.text("method", r).unwrap_or_default(),
                amount: c.cents("amount", r),
                orders: c.int("orders", r),
                share: c.ratio("share", r).unwrap_or(0.0),
                average_installments: c.ratio("average_installments", r).unwrap_or(0.0),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_print_for_people_and_for_json() {
        assert_eq!(Cents(160755636).to_string(), "1,607,556.36");
        assert_eq!(Cents(-5).to_string(), "-0.05");
        assert_eq!(Cents(100).to_string(), "1.00");
        assert_eq!(serde_json::to_string(&Cents(160755636)).unwrap(), "1607556.36");
        assert_eq!(serde_json::to_string(&Cents(16640)).unwrap(), "166.4");
    }
}

//! refunds.csv: each refund checked against its order and lines (source-format.md, "Bad rows"),
//! the limits applied in refunded_at order, and the goods of each kept refund put on the order
//! lines they belong to: a line's refund on that line, an unsplit refund shared over the order's
//! lines by line revenue (largest remainder). Pure functions over what the import read; the
//! import's steps do the reading and writing.

use crate::model::money::{MONEY_PRECISION, MONEY_SCALE, allocate};
use crate::model::{Money, Status};
use crate::source::records::RefundRec;
use crate::warehouse::schema;
use ahash::AHashMap as HashMap;
use chrono::NaiveDateTime;
use datafusion::arrow::array::{
    ArrayRef, Decimal128Array, Int32Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A loaded line of a refunded order, as a refund sees it.
#[derive(Clone, Debug)]
pub(crate) struct RefundedLine {
    /// Its number in the order.
    pub(crate) line_no: i32,
    /// Its product.
    pub(crate) product_key: i32,
    /// Units sold.
    pub(crate) quantity: i32,
    /// Its line revenue (after every discount, the tax inside taken out).
    pub(crate) revenue: Money,
}

/// What a refund is checked against: its order as loaded.
#[derive(Clone, Debug)]
pub(crate) struct RefundedOrder<'a> {
    /// Shop-local order time.
    pub(crate) order_ts: NaiveDateTime,
    /// Its status.
    pub(crate) status: Status,
    /// Shipping charged, as exported.
    pub(crate) shipping: Money,
    /// Its tax.
    pub(crate) tax: Money,
    /// Its loaded lines, by line number.
    pub(crate) lines: &'a [RefundedLine],
}

/// Decides which refund rows break a rule, with the reason (naming the column), by the row's
/// line in refunds.csv. `rows` are the file's parsed rows in file order; `order` finds a loaded
/// order by id. The rules of one row come first, in file order (the first of a duplicate key is
/// kept); then each order's limits, over its remaining rows in refunded_at then file order, so
/// that the earlier refunds are kept and a later one that would pass a limit is rejected.
pub(crate) fn rejected<'a>(
    rows: &[(u64, RefundRec)],
    order: impl Fn(&str) -> Option<RefundedOrder<'a>>,
) -> HashMap<u64, String> {
    let mut out: HashMap<u64, String> = HashMap::new();
    let mut first: HashMap<(&str, Option<i32>), u64> = HashMap::new();
    let mut per_order: BTreeMap<&str, Vec<&(u64, RefundRec)>> = BTreeMap::new();
    for row @ (line, r) in rows {
        let reason = match order(&r.order_id) {
            None => Some(format!("column order_id: '{}' is not a loaded order of orders.csv", r.order_id)),
            Some(o) if matches!(o.status, Status::Cancelled | Status::Pending) => Some(format!(
                "column order_id: order '{}' is {}, and a cancelled or pending order has no refunds",
                r.order_id,
                o.status.as_str()
            )),
            Some(o) if r.refunded_at < o.order_ts => {
                Some(format!("column refunded_at: {} is before its order's order_ts ({})", r.refunded_at, o.order_ts))
            }
            Some(o) => match r.line_no {
                Some(n) if !o.lines.iter().any(|l| l.line_no == n) => {
                    Some(format!("column line_no: order '{}' has no loaded line {n}", r.order_id))
                }
                _ => None,
            },
        };
        let reason = reason.or_else(|| match first.get(&(r.refund_id.as_str(), r.line_no)) {
            Some(at) => Some(format!(
                "column refund_id: duplicate refund '{}'{} (first at line {at})",
                r.refund_id,
                r.line_no.map(|n| format!(" of line {n}")).unwrap_or_default()
            )),
            None => {
                first.insert((r.refund_id.as_str(), r.line_no), *line);
                None
            }
        });
        match reason {
            Some(reason) => {
                out.insert(*line, reason);
            }
            None => per_order.entry(r.order_id.as_str()).or_default().push(row),
        }
    }
    for (id, mut refunds) in per_order {
        let Some(o) = order(id) else { continue };
        refunds.sort_by_key(|(line, r)| (r.refunded_at, *line));
        let goods: i128 = o.lines.iter().map(|l| l.revenue.units()).sum();
        let (mut amount, mut shipping, mut tax) = (0i128, 0i128, 0i128);
        let mut units: HashMap<i32, i64> = HashMap::new();
        for (line, r) in refunds {
            let returned = r.line_no.map_or(0, |n| units.get(&n).copied().unwrap_or(0));
            let sold = r.line_no.and_then(|n| o.lines.iter().find(|l| l.line_no == n)).map_or(0, |l| l.quantity);
            let reason = if returned + i64::from(r.quantity) > i64::from(sold) && r.quantity > 0 {
                Some(format!(
                    "column quantity: returns {} units of line {}, which has {} of its {sold} left to return",
                    r.quantity,
                    r.line_no.unwrap_or_default(),
                    i64::from(sold) - returned
                ))
            } else if amount + r.amount.units() > goods {
                Some(format!(
                    "column amount: {} would refund more than the order's goods after discounts ({}, of which {} refunded before)",
                    r.amount,
                    money(goods),
                    money(amount)
                ))
            } else if shipping + r.shipping.units() > o.shipping.units() {
                Some(format!(
                    "column shipping: {} would refund more than the order's shipping ({}, of which {} refunded before)",
                    r.shipping,
                    o.shipping,
                    money(shipping)
                ))
            } else if tax + r.tax.units() > o.tax.units() {
                Some(format!(
                    "column tax: {} would refund more than the order's tax ({}, of which {} refunded before)",
                    r.tax,
                    o.tax,
                    money(tax)
                ))
            } else {
                None
            };
            match reason {
                Some(reason) => {
                    out.insert(*line, reason);
                }
                None => {
                    amount += r.amount.units();
                    shipping += r.shipping.units();
                    tax += r.tax.units();
                    if let Some(n) = r.line_no {
                        *units.entry(n).or_default() += i64::from(r.quantity);
                    }
                }
            }
        }
    }
    out
}

fn money(units: i128) -> Money {
    Money::from_units(units).unwrap_or_default()
}

/// The goods of one refund on one order line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Return {
    /// The line.
    pub(crate) line_no: i32,
    /// Its product.
    pub(crate) product_key: i32,
    /// Units returned (0 for a share of an unsplit refund).
    pub(crate) quantity: i32,
    /// Goods returned.
    pub(crate) amount: Money,
}

/// The goods of refund `r` on the lines of its order (`lines`, by line number): all on its line,
/// or an unsplit refund shared in proportion to the lines' revenue, largest remainder to the last
/// 0.0001 (kpis.md, "Terms"). Lines whose share is nothing are left out.
pub(crate) fn returns(r: &RefundRec, lines: &[RefundedLine]) -> Vec<Return> {
    match r.line_no {
        Some(n) => lines
            .iter()
            .find(|l| l.line_no == n)
            .map(|l| Return { line_no: n, product_key: l.product_key, quantity: r.quantity, amount: r.amount })
            .into_iter()
            .collect(),
        None => {
            let weights: Vec<i128> = lines.iter().map(|l| l.revenue.units().max(0)).collect();
            allocate(r.amount.units(), &weights)
                .into_iter()
                .zip(lines)
                .filter(|(share, _)| *share != 0)
                .map(|(share, l)| Return {
                    line_no: l.line_no,
                    product_key: l.product_key,
                    quantity: 0,
                    amount: money(share),
                })
                .collect()
        }
    }
}

/// A kept refund with its order's keys and the goods it returns on each line.
pub(crate) struct RefundFact {
    /// The row of refunds.csv.
    pub(crate) rec: RefundRec,
    /// Its order.
    pub(crate) order_key: i32,
    /// Its order's day.
    pub(crate) order_date_key: i32,
    /// Its order's customer.
    pub(crate) customer_key: i32,
    /// Its goods, line by line.
    pub(crate) returns: Vec<Return>,
}

impl RefundFact {
    /// The refund's day key.
    pub(crate) fn date_key(&self) -> i32 {
        crate::warehouse::keys::date_key(self.rec.refunded_at.date())
    }
}

fn money_column(values: impl Iterator<Item = i128>) -> ArrayRef {
    let array: Decimal128Array = values.map(Some).collect();
    Arc::new(array.with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE as i8).expect("valid decimal type"))
}

/// The `fact_refund` batch of `refunds`, in the table's order.
pub(crate) fn fact_refund_batch(refunds: &mut [RefundFact]) -> RecordBatch {
    refunds.sort_by(|a, b| {
        (a.date_key(), a.order_key, &a.rec.refund_id, a.rec.line_no).cmp(&(
            b.date_key(),
            b.order_key,
            &b.rec.refund_id,
            b.rec.line_no,
        ))
    });
    let ints = |f: &dyn Fn(&RefundFact) -> i32| -> ArrayRef { Arc::new(refunds.iter().map(f).collect::<Int32Array>()) };
    let columns: Vec<ArrayRef> = vec![
        ints(&|r| r.date_key()),
        ints(&|r| r.order_key),
        Arc::new(refunds.iter().map(|r| Some(r.rec.refund_id.as_str())).collect::<StringArray>()),
        Arc::new(refunds.iter().map(|r| r.rec.line_no).collect::<Int32Array>()),
        ints(&|r| r.order_date_key),
        ints(&|r| r.customer_key),
        Arc::new(
            refunds
                .iter()
                .map(|r| Some(r.rec.refunded_at.and_utc().timestamp_millis()))
                .collect::<TimestampMillisecondArray>(),
        ),
        ints(&|r| r.rec.quantity),
        money_column(refunds.iter().map(|r| r.rec.amount.units())),
        money_column(refunds.iter().map(|r| r.rec.shipping.units())),
        money_column(refunds.iter().map(|r| r.rec.tax.units())),
    ];
    RecordBatch::try_new(schema::FACT_REFUND.schema(), columns).expect("columns follow the table's schema")
}

/// The `fact_return_line` batch of `refunds`, in the table's order.
pub(crate) fn fact_return_line_batch(refunds: &[RefundFact]) -> RecordBatch {
    let mut rows: Vec<(&RefundFact, &Return)> =
        refunds.iter().flat_map(|r| r.returns.iter().map(move |x| (r, x))).collect();
    rows.sort_by(|(a, x), (b, y)| {
        (a.date_key(), a.order_key, x.line_no, &a.rec.refund_id).cmp(&(
            b.date_key(),
            b.order_key,
            y.line_no,
            &b.rec.refund_id,
        ))
    });
    let ints = |f: &dyn Fn(&(&RefundFact, &Return)) -> i32| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<Int32Array>())
    };
    let columns: Vec<ArrayRef> = vec![
        ints(&|(r, _)| r.date_key()),
        ints(&|(r, _)| r.order_key),
        ints(&|(_, x)| x.line_no),
        Arc::new(rows.iter().map(|(r, _)| Some(r.rec.refund_id.as_str())).collect::<StringArray>()),
        ints(&|(r, _)| r.order_date_key),
        ints(&|(r, _)| r.customer_key),
        ints(&|(_, x)| x.product_key),
        ints(&|(_, x)| x.quantity),
        money_column(rows.iter().map(|(_, x)| x.amount.units())),
    ];
    RecordBatch::try_new(schema::FACT_RETURN_LINE.schema(), columns).expect("columns follow the table's schema")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn ts(d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 3, d).unwrap().and_hms_opt(12, 0, 0).unwrap()
    }

    fn refund(id: &str, order: &str, day: u32, line: Option<i32>, qty: i32, amount: &str) -> RefundRec {
        RefundRec {
            refund_id: id.into(),
            order_id: order.into(),
            refunded_at: ts(day),
            line_no: line,
            quantity: qty,
            amount: Money::parse(amount).unwrap(),
            shipping: Money::ZERO,
            tax: Money::ZERO,
        }
    }

    fn lines() -> Vec<RefundedLine> {
        vec![
            RefundedLine { line_no: 1, product_key: 7, quantity: 2, revenue: Money::parse("30").unwrap() },
            RefundedLine { line_no: 2, product_key: 8, quantity: 1, revenue: Money::parse("10").unwrap() },
        ]
    }

    #[test]
    fn limits_keep_the_earlier_refunds_by_date_not_by_file_order() {
        let lines = lines();
        let order = |id: &str| {
            (id == "A").then(|| RefundedOrder {
                order_ts: ts(1),
                status: Status::Delivered,
                shipping: Money::ZERO,
                tax: Money::ZERO,
                lines: &lines,
            })
        };
        let rows = vec![
            // later in the file, but refunded first: kept
            (2, refund("r2", "A", 9, Some(1), 2, "30")),
            (3, refund("r1", "A", 5, Some(1), 1, "5")),
            (4, refund("r3", "A", 10, None, 0, "5")),
            (5, refund("r4", "A", 11, None, 0, "30.0001")),
            (6, refund("r5", "B", 11, None, 0, "1")),
            (7, refund("r3", "A", 12, None, 0, "1")),
            (8, refund("r6", "A", 1, Some(3), 1, "1")),
        ];
        let out = rejected(&rows, order);
        let mut lines_out: Vec<u64> = out.keys().copied().collect();
        lines_out.sort();
        assert_eq!(lines_out, vec![2, 5, 6, 7, 8], "{out:?}");
        assert!(out[&2].starts_with("column quantity"), "{}", out[&2]);
        assert!(out[&5].starts_with("column amount"), "{}", out[&5]);
        assert!(out[&6].starts_with("column order_id"));
        assert!(out[&7].starts_with("column refund_id: duplicate"));
        assert!(out[&8].starts_with("column line_no"));
    }

    #[test]
    fn an_unsplit_refund_is_shared_by_line_revenue_to_the_last_unit() {
        let r = refund("r", "A", 2, None, 0, "10.0001");
        let out = returns(&r, &lines());
        assert_eq!(out.iter().map(|x| x.amount.units()).sum::<i128>(), 100_001);
        assert_eq!(out[0].amount, Money::parse("7.5001").unwrap());
        assert_eq!(out[1].amount, Money::parse("2.5").unwrap());
        let r = refund("r", "A", 2, Some(2), 1, "4");
        assert_eq!(returns(&r, &lines()), vec![Return { line_no: 2, product_key: 8, quantity: 1, amount: r.amount }]);
    }
}

//! RFM (customers.md): recency, frequency and monetary value per customer as of a day, their
//! quintile scores, the ten named segments, and each segment's totals and means.

use super::queries::{last_order_date, session, sql};
use crate::metrics::results::{Cents, rows};
use crate::metrics::{MetricsError, date_param, round6, run};
use crate::model::Filter;
use crate::model::money::{round_ratio, round_scaled};
use crate::warehouse::Warehouse;
use crate::warehouse::keys::date_key;
use chrono::NaiveDate;
use datafusion::common::ScalarValue;
use serde::Serialize;

/// The segments, in the order of customers.md's table.
pub(crate) const SEGMENTS: [&str; 10] = [
    "Hibernating",
    "At risk",
    "Can't lose them",
    "About to sleep",
    "Need attention",
    "Loyal",
    "Promising",
    "New",
    "Potential loyalists",
    "Champions",
];

/// One customer's RFM figures.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RfmCustomer {
    /// The customer's id.
    pub customer_id: String,
    /// The customer's name, if known.
    pub customer_name: Option<String>,
    /// Days from the last purchase day to the as-of day.
    pub recency_days: i64,
    /// Orders up to the as-of day.
    pub frequency: i64,
    /// Line revenue up to the as-of day.
    pub monetary: Cents,
    /// Recency score, 1 to 5 (5: most recent).
    pub r_score: i64,
    /// Frequency score, 1 to 5.
    pub f_score: i64,
    /// Monetary score, 1 to 5.
    pub m_score: i64,
    /// The segment of (r_score, f_score).
    pub segment: String,
}

/// One segment's totals and means.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Segment {
    /// Its name.
    pub segment: String,
    /// Its customers.
    pub customers: i64,
    /// Their monetary values summed.
    pub revenue: Cents,
    /// customers / all customers.
    pub share_of_customers: f64,
    /// revenue / all revenue.
    pub share_of_revenue: f64,
    /// Mean recency in days (0 for an empty segment).
    pub mean_recency_days: f64,
    /// Mean frequency.
    pub mean_frequency: f64,
    /// Mean monetary value.
    pub mean_monetary: Cents,
}

/// RFM as of a day: every segment and, on request, every customer.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rfm {
    /// The as-of day.
    pub as_of: Option<NaiveDate>,
    /// Every segment, by revenue descending, then name.
    pub segments: Vec<Segment>,
    /// Every customer, by customer_id (not part of the summary JSON).
    #[serde(skip)]
    pub customers: Vec<RfmCustomer>,
}

/// RFM as of `as_of` (default: the day of the last order), restricted by `filter`'s category,
/// country and method (its dates are not used: the as-of day is the range's end).
///
/// # Errors
/// A query fails.
pub async fn rfm(wh: &Warehouse, filter: &Filter, as_of: Option<NaiveDate>) -> Result<Rfm, MetricsError> {
    let Some(as_of) = as_of.or(last_order_date(wh).await?) else {
        return Ok(Rfm { as_of: None, segments: summarize(&[]), customers: Vec::new() });
    };
    let s = session(wh, filter).await?;
    let params = vec![ScalarValue::Int32(Some(date_key(as_of))), date_param(Some(as_of))];
    let batches = run(&s.ctx, "rfm", sql::RFM, params).await?;
    let mut rows: Vec<(RfmCustomer, i128)> = rows(&batches)
        .map(|(c, r)| {
            let customer = RfmCustomer {
                customer_id: c.text("customer_id", r).unwrap_or_default(),
                customer_name: c.text("customer_name", r),
                recency_days: c.int("recency_days", r),
                frequency: c.int("frequency", r),
                monetary: c.cents("monetary", r),
                r_score: 0,
                f_score: 0,
                m_score: 0,
                segment: String::new(),
            };
            (customer, c.units4("monetary", r))
        })
        .collect();
    // by id, as customers.md lists them; from here an index orders as the id does
    rows.sort_unstable_by(|a, b| a.0.customer_id.cmp(&b.0.customer_id));
    let r_scores = ntile5(rows.len(), |a, b| rows[b].0.recency_days.cmp(&rows[a].0.recency_days));
    let f_scores = ntile5(rows.len(), |a, b| rows[a].0.frequency.cmp(&rows[b].0.frequency));
    let m_scores = ntile5(rows.len(), |a, b| rows[a].1.cmp(&rows[b].1));
    for (i, (c, _)) in rows.iter_mut().enumerate() {
        (c.r_score, c.f_score, c.m_score) = (r_scores[i], f_scores[i], m_scores[i]);
        c.segment = segment(c.r_score, c.f_score).to_string();
    }
    let (customers, monetary_units): (Vec<RfmCustomer>, Vec<i128>) = rows.into_iter().unzip();
    let rows: Vec<(&RfmCustomer, i128)> = customers.iter().zip(monetary_units).collect();
    Ok(Rfm { as_of: Some(as_of), segments: summarize(&rows), customers })
}

/// SQL's `NTILE(5)` over rows `0..n` ordered by `key`, ties broken by index (the rows are in id
/// order): the first `n % 5` groups take one row more. The score of each row, by index.
fn ntile5(n: usize, key: impl Fn(usize, usize) -> std::cmp::Ordering) -> Vec<i64> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| key(a, b).then(a.cmp(&b)));
    let (base, extra) = (n / 5, n % 5);
    let mut scores = vec![0; n];
    let mut at = 0;
    for group in 0..5 {
        let size = base + usize::from(group < extra);
        for &row in &order[at..at + size] {
            scores[row] = group as i64 + 1;
        }
        at += size;
    }
    scores
}

/// The segment of customers.md's table for (r_score, f_score).
fn segment(r: i64, f: i64) -> &'static str {
    match (r, f) {
        (..=2, ..=2) => SEGMENTS[0],
        (..=2, 3..=4) => SEGMENTS[1],
        (..=2, _) => SEGMENTS[2],
        (3, ..=2) => SEGMENTS[3],
        (3, 3) => SEGMENTS[4],
        (3..=4, 4..) => SEGMENTS[5],
        (4, 1) => SEGMENTS[6],
        (5, 1) => SEGMENTS[7],
        (4..=5, 2..=3) => SEGMENTS[8],
        _ => SEGMENTS[9],
    }
}

/// Per segment from exact monetary values (ten-thousandths): every segment listed, zeros included.
fn summarize(customers: &[(&RfmCustomer, i128)]) -> Vec<Segment> {
    let total_customers = customers.len() as i64;
    let total_units: i128 = customers.iter().map(|(_, u)| u).sum();
    let mut out: Vec<(Segment, i128)> = SEGMENTS
        .iter()
        .map(|name| {
            let members: Vec<&(&RfmCustomer, i128)> = customers.iter().filter(|(c, _)| c.segment == *name).collect();
            let n = members.len() as i64;
            let units: i128 = members.iter().map(|(_, u)| u).sum();
            let mean = |f: fn(&RfmCustomer) -> i64| {
                if n == 0 { 0.0 } else { round6(members.iter().map(|(c, _)| f(c)).sum::<i64>() as f64 / n as f64) }
            };
            let segment = Segment {
                segment: name.to_string(),
                customers: n,
                revenue: Cents(round_scaled(units, 4, 2)),
                share_of_customers: if total_customers == 0 { 0.0 } else { round6(n as f64 / total_customers as f64) },
                share_of_revenue: if total_units == 0 { 0.0 } else { round_ratio(units, total_units, 6) as f64 / 1e6 },
                mean_recency_days: mean(|c| c.recency_days),
                mean_frequency: mean(|c| c.frequency),
                mean_monetary: Cents(if n == 0 { 0 } else { round_ratio(units, n as i128 * 100, 0) }),
            };
            (segment, units)
        })
        .collect();
    out.sort_by(|(a, ua), (b, ub)| ub.cmp(ua).then_with(|| a.segment.cmp(&b.segment)));
    out.into_iter().map(|(s, _)| s).collect()
}

/// Customers' RFM rows as CSV with a header (customers.md's columns); text cells that a
/// spreadsheet would run as formulas are neutralised.
pub fn csv<'a>(rows: impl IntoIterator<Item = &'a RfmCustomer>) -> Vec<u8> {
    use crate::model::text::csv_safe;
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "customer_id",
        "customer_name",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        "segment",
    ];
    let _ = w.write_record(header);
    for c in rows {
        let _ = w.write_record([
            csv_safe(&c.customer_id).into_owned(),
            csv_safe(c.customer_name.as_deref().unwrap_or_default()).into_owned(),
            c.recency_days.to_string(),
            c.frequency.to_string(),
            format!("{:.2}", c.monetary.0 as f64 / 100.0),
            c.r_score.to_string(),
            c.f_score.to_string(),
            c.m_score.to_string(),
            c.segment.clone(),
        ]);
    }
    // writing to a Vec cannot fail
    w.into_inner().unwrap_or_default()
}

//! Alerts: the shop, categories, countries and payment methods whose last complete month fell
//! outside the 95 % interval of its own forecast, made from the months before it
//! (docs/insights.md).

use super::queries::{query_error, sql};
use crate::forecast::{Series, forecast};
use crate::metrics::results::Cols;
use crate::metrics::round2;
use crate::metrics::{MetricsError, round6};
use crate::model::{Filter, Month};
use crate::warehouse::Warehouse;
use datafusion::arrow::array::Array;
use serde::Serialize;
use std::collections::BTreeMap;

/// A segment needs this many complete months before the month it is checked on.
pub(crate) const MIN_HISTORY: usize = 12;
/// A segment below this share of the shop's revenue over the last 12 complete months is not
/// checked: its swings are noise, and too small to act on.
pub(crate) const MIN_SHARE: f64 = 0.02;

/// A month outside its forecast's 95 % interval.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Alert {
    /// `shop`, `category`, `country` or `method`.
    pub kind: &'static str,
    /// The category, country or method (`all` for the shop).
    pub segment: String,
    /// The month checked: the last complete month.
    pub month: Month,
    /// Its revenue.
    pub actual: f64,
    /// The forecast made from the months before it.
    pub expected: f64,
    /// The forecast's 95 % interval.
    pub interval_95: [f64; 2],
    /// `actual / expected - 1`.
    pub gap: f64,
    /// How far outside the interval, in half-widths of it beyond its edge: the sort key.
    pub(crate) severity: f64,
}

/// The alerts, and what was checked.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Alerts {
    /// The month checked (the last complete month), if any.
    pub month: Option<Month>,
    /// How many segments were checked.
    pub checked: usize,
    /// Segments skipped for too little history or too small a share.
    pub skipped: usize,
    /// The alerts, most severe first.
    pub alerts: Vec<Alert>,
}

/// One segment's monthly revenue.
#[derive(Clone, Debug, Default)]
pub struct SegmentSeries {
    /// Revenue per month (months without revenue absent).
    pub months: BTreeMap<Month, f64>,
}

/// The alerts on the warehouse's last complete month.
///
/// # Errors
/// A query fails.
pub async fn alerts(wh: &Warehouse) -> Result<Alerts, MetricsError> {
    let Some(last) = crate::metrics::dimensions(wh).await?.last_date else {
        return Ok(Alerts { month: None, checked: 0, skipped: 0, alerts: vec![] });
    };
    let until = Month::last_complete(last);
    let ctx = wh.session().await.map_err(query_error("session"))?;
    let filter = Filter::default().with_range(None, Some(until.last_day()));
    let (lines, orders) = crate::metrics::revenue_frames(&ctx, &filter).await?;
    let wrap = query_error("segment_months");
    ctx.deregister_table("revenue_lines").map_err(&wrap)?;
    ctx.register_table("revenue_lines", lines.into_view()).map_err(&wrap)?;
    ctx.register_table("revenue_orders", orders.into_view()).map_err(&wrap)?;
    let mut segments: BTreeMap<(String, String), SegmentSeries> = BTreeMap::new();
    for b in
        crate::metrics::run(&ctx, "segment_months", sql::SEGMENT_MONTHS, crate::metrics::filter_params(&filter)).await?
    {
        let c = Cols(&b);
        let months = b.column_by_name("month_start").expect("month_start");
        for row in 0..b.num_rows() {
            if !months.is_valid(row) {
                continue;
            }
            let day = crate::warehouse::keys::date_at(months, row);
            let key = (c.text("kind", row).unwrap_or_default(), c.text("segment", row).unwrap_or_default());
            segments.entry(key).or_default().months.insert(Month::of(day), c.units4("revenue", row) as f64 / 10_000.0);
        }
    }
    Ok(check(&segments, until))
}

/// Checks every segment's `until` month against the forecast from the months before it.
pub fn check(segments: &BTreeMap<(String, String), SegmentSeries>, until: Month) -> Alerts {
    let shop = segments.iter().find(|((kind, _), _)| kind == "shop").map(|(_, s)| s);
    let shop_year = shop.map_or(0.0, |s| last_year(s, until));
    // the shop's seasonal profile, from the months before the one checked
    let season = shop.and_then(|s| complete_months(s, until.pred()).and_then(|v| indices_by_month(&v, until.pred())));
    let (mut checked, mut skipped, mut alerts) = (0, 0, Vec::new());
    for ((kind, segment), series) in segments {
        let Some(values) = complete_months(series, until) else {
            skipped += 1;
            continue;
        };
        let share = if shop_year > 0.0 { last_year(series, until) / shop_year } else { 0.0 };
        if values.len() <= MIN_HISTORY || share < MIN_SHARE {
            skipped += 1;
            continue;
        }
        checked += 1;
        let (history, actual) = (&values[..values.len() - 1], values[values.len() - 1]);
        let start = (0..history.len()).fold(until, |m, _| m.pred());
        // the segment is forecast with the shop's seasonality taken out, then put back: a
        // segment's own few years are too noisy to tell its seasonality from chance
        let index = |m: Month| season.map_or(1.0, |s| s[m.month_of_year() as usize - 1]);
        let mut m = start;
        let adjusted: Vec<f64> = history
            .iter()
            .map(|v| {
                let a = v / index(m);
                m = m.succ();
                a
            })
            .collect();
        let Ok(f) = forecast(&Series { start, values: adjusted }, 1) else { continue };
        let s = index(until);
        let (expected, lo, hi) = (f.forecast * s, f.interval_95[0] * s, f.interval_95[1] * s);
        let severity = if actual > hi {
            (actual - hi) / (hi - expected).max(f64::EPSILON)
        } else if actual < lo {
            (lo - actual) / (expected - lo).max(f64::EPSILON)
        } else {
            continue;
        };
        alerts.push(Alert {
            kind: kind_name(kind),
            segment: segment.clone(),
            month: until,
            actual: round2(actual),
            expected: round2(expected),
            interval_95: [round2(lo), round2(hi)],
            gap: if expected > 0.0 { round6(actual / expected - 1.0) } else { 0.0 },
            severity: round6(severity),
        });
    }
    alerts.sort_by(|a, b| b.severity.total_cmp(&a.severity).then_with(|| a.segment.cmp(&b.segment)));
    Alerts { month: Some(until), checked, skipped, alerts }
}

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "shop" => "shop",
        "category" => "category",
        "country" => "country",
        _ => "method",
    }
}

/// Multiplicative seasonal indices per month of the year (January first, mean 1) of a series
/// ending in `end`: `forecast::models::seasonal_indices` with the months of the year as seasons.
fn indices_by_month(values: &[f64], end: Month) -> Option<[f64; 12]> {
    let start = (0..values.len().max(1) - 1).fold(end, |m, _| m.pred());
    let mut months = Vec::with_capacity(values.len());
    let mut m = start;
    for _ in values {
        months.push(m.month_of_year() as usize - 1);
        m = m.succ();
    }
    crate::forecast::models::seasonal_indices(values, |t| months[t])
}

/// Revenue of the 12 months up to `until`.
fn last_year(s: &SegmentSeries, until: Month) -> f64 {
    let from = (0..11).fold(until, |m, _| m.pred());
    s.months.range(from..=until).map(|(_, v)| v).sum()
}

/// Every month from the segment's first sale to `until`, zeros filled in; `None` if it never
/// sold by then.
fn complete_months(s: &SegmentSeries, until: Month) -> Option<Vec<f64>> {
    let mut m = *s.months.keys().next().filter(|m| **m <= until)?;
    let mut out = Vec::new();
    while m <= until {
        out.push(s.months.get(&m).copied().unwrap_or(0.0));
        m = m.succ();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64], end: Month) -> SegmentSeries {
        let mut m = end;
        let mut months = BTreeMap::new();
        for v in values.iter().rev() {
            months.insert(m, *v);
            m = m.pred();
        }
        SegmentSeries { months }
    }

    #[test]
    fn a_month_far_off_its_forecast_is_alerted_first_and_small_or_young_segments_are_not() {
        let end: Month = "2024-12".parse().unwrap();
        let steady: Vec<f64> = (0..36).map(|t| 1000.0 + 10.0 * t as f64 + 30.0 * ((t * 7 % 5) as f64 - 2.0)).collect();
        let mut cut = steady.clone();
        *cut.last_mut().unwrap() /= 2.0;
        let mut high = steady.clone();
        *high.last_mut().unwrap() *= 1.3;
        let mut segments = BTreeMap::new();
        let key = |k: &str, s: &str| (k.to_string(), s.to_string());
        segments.insert(key("shop", "all"), series(&steady.iter().map(|v| v * 10.0).collect::<Vec<_>>(), end));
        segments.insert(key("category", "Toys"), series(&cut, end));
        segments.insert(key("category", "Books"), series(&high, end));
        segments.insert(key("category", "Garden"), series(&steady, end));
        // too young: 6 months; too small: 1 % of the shop
        segments.insert(key("category", "New"), series(&cut[30..], end));
        segments.insert(key("country", "LU"), series(&cut.iter().map(|v| v / 10.0).collect::<Vec<_>>(), end));
        let a = check(&segments, end);
        assert_eq!((a.checked, a.skipped), (4, 2), "{a:?}");
        let names: Vec<&str> = a.alerts.iter().map(|x| x.segment.as_str()).collect();
        assert_eq!(names, vec!["Toys", "Books"], "{a:?}");
        assert!(a.alerts[0].gap < -0.4 && a.alerts[1].gap > 0.2);
        assert!(a.alerts[0].severity > a.alerts[1].severity);
    }
}

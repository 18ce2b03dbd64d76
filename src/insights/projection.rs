//! The month-to-date projection: where the current, incomplete month will end, from the revenue
//! so far, the weekday pattern and the month's forecast, with an 80 % interval from a backtest
//! on the shop's own past months (docs/insights.md).

use super::exact::cents;
use super::queries::{query_error, sql};
use crate::forecast::{Series, forecast};
use crate::metrics::results::Cols;
use crate::metrics::round2;
use crate::metrics::{Cents, MetricsError};
use crate::model::{Filter, Month};
use crate::warehouse::Warehouse;
use chrono::{Datelike, Duration, NaiveDate};
use datafusion::arrow::array::Array;
use serde::Serialize;
use std::collections::BTreeMap;

/// The days of the month a backtest projects from.
pub(crate) const CHECKPOINTS: [u32; 3] = [7, 14, 21];
/// How many days before a month its weekday pattern is learnt from (52 weeks).
const PATTERN_DAYS: i64 = 364;
/// Below this many days of history the weekdays are taken as equal.
const MIN_PATTERN_DAYS: i64 = 28;
/// The forecast's weights tried by the backtest (see [`project`]).
const WEIGHTS: [f64; 16] = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 100.0];
/// The weight used when the history has no month to backtest on.
const DEFAULT_WEIGHT: f64 = 0.3;
const Z80: f64 = 1.281_551_565_5;

/// How the projection did on the shop's past months, from one day of the month.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Checkpoint {
    /// The day of the month projected from.
    pub day: u32,
    /// Past months projected.
    pub months: usize,
    /// Mean absolute percentage error of the projection, in percent.
    pub(crate) mape: f64,
    /// Same for the naive `so_far × days_in_month / days_elapsed`.
    pub(crate) naive_mape: f64,
    /// Share of months whose actual fell in the 80 % interval.
    pub(crate) coverage_80: f64,
    /// The prior chosen for this day (see `Projection::prior`).
    pub(crate) prior: Prior,
    /// Its weight (see `Projection::prior_weight`).
    pub(crate) prior_weight: f64,
}

/// Where the month of `as_of` will end.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Projection {
    /// The day the projection is made on (its revenue included).
    pub as_of: NaiveDate,
    /// The month projected.
    pub month: Month,
    /// Days of the month up to `as_of`.
    pub days_elapsed: u32,
    /// Days in the month.
    pub(crate) days_in_month: u32,
    /// Revenue from the month's first day to `as_of` (exact).
    pub(crate) so_far: Cents,
    /// The projected revenue of the whole month.
    pub projection: Cents,
    /// 80 % interval of the month's revenue (never below `so_far`); null without a backtest.
    pub interval_80: Option<[Cents; 2]>,
    /// The naive projection, `so_far × days_in_month / days_elapsed`, for comparison.
    pub naive: Cents,
    /// The monthly forecast for this month (from the complete months before it), if any.
    pub forecast: Option<Cents>,
    /// The share of the month's usual revenue that falls on the days elapsed (weekday pattern).
    pub(crate) share_elapsed: f64,
    /// The same month last year times the growth of the three months before against a year
    /// earlier, if the data covers them.
    pub last_year: Option<Cents>,
    /// The expectation pooled with the days so far: the one the backtest preferred.
    pub(crate) prior: Prior,
    /// Its weight, in months' worth of observed revenue (0: the days so far alone).
    pub(crate) prior_weight: f64,
    /// The backtest on past months.
    pub backtest: Vec<Checkpoint>,
}

/// The projection of the month of `as_of` (default: the latest order day) for `filter`'s
/// category, country and method (its date range is not used); `None` without orders.
///
/// # Errors
/// A query fails.
pub async fn projection(
    wh: &Warehouse,
    filter: &Filter,
    as_of: Option<NaiveDate>,
) -> Result<Option<Projection>, MetricsError> {
    let Some(as_of) = as_of.or(crate::metrics::dimensions(wh).await?.last_date) else {
        return Ok(None);
    };
    let ctx = wh.session().await.map_err(query_error("session"))?;
    let (_, orders) = crate::metrics::revenue_frames(&ctx, &filter.with_range(None, Some(as_of))).await?;
    ctx.register_table("revenue_orders", orders.into_view()).map_err(query_error("daily"))?;
    let mut daily = BTreeMap::new();
    for b in crate::metrics::run(&ctx, "daily", sql::DAILY, vec![]).await? {
        let c = Cols(&b);
        let days = b.column(0);
        for row in 0..b.num_rows() {
            if days.is_valid(row) {
                daily.insert(crate::warehouse::keys::date_at(days, row), c.units4("revenue", row));
            }
        }
    }
    Ok(Some(project(&Daily(daily), as_of)))
}

/// Revenue per day, exact (ten-thousandths); absent days sold nothing.
pub(crate) struct Daily(pub BTreeMap<NaiveDate, i128>);

impl Daily {
    fn first(&self) -> Option<NaiveDate> {
        self.0.keys().next().copied()
    }

    /// Exact revenue from `a` to `b`, both included.
    fn sum(&self, a: NaiveDate, b: NaiveDate) -> i128 {
        if a > b {
            return 0;
        }
        self.0.range(a..=b).map(|(_, v)| v).sum()
    }

    fn value(&self, d: NaiveDate) -> f64 {
        self.0.get(&d).copied().unwrap_or(0) as f64 / 10_000.0
    }

    /// Each weekday's revenue relative to the mean day, over the 52 weeks before `start` (from
    /// the first sale on); all 1 with less than four weeks of history.
    fn weekday_weights(&self, start: NaiveDate) -> [f64; 7] {
        let Some(first) = self.first() else { return [1.0; 7] };
        let from = (start - Duration::days(PATTERN_DAYS)).max(first);
        if (start - from).num_days() < MIN_PATTERN_DAYS {
            return [1.0; 7];
        }
        let (mut sum, mut n) = ([0.0; 7], [0usize; 7]);
        let mut d = from;
        while d < start {
            let w = d.weekday().num_days_from_monday() as usize;
            sum[w] += self.value(d);
            n[w] += 1;
            d += Duration::days(1);
        }
        let means: Vec<f64> = (0..7).map(|w| if n[w] > 0 { sum[w] / n[w] as f64 } else { 0.0 }).collect();
        let overall = means.iter().sum::<f64>() / 7.0;
        if overall <= 0.0 {
            return [1.0; 7];
        }
        std::array::from_fn(|w| means[w] / overall)
    }

    /// The shop's growth per day over the two years before `start`: the last 365 days' revenue
    /// against the 365 before, to the power 1/365; 1 with less history. Later days of a growing
    /// shop's month sell more than its first.
    fn daily_growth(&self, start: NaiveDate) -> f64 {
        let Some(first) = self.first() else { return 1.0 };
        let year = Duration::days(365);
        if start - first < year + year {
            return 1.0;
        }
        let last = self.sum(start - year, start - Duration::days(1)) as f64;
        let before = self.sum(start - year - year, start - year - Duration::days(1)) as f64;
        if last > 0.0 && before > 0.0 { (last / before).powf(1.0 / 365.0) } else { 1.0 }
    }

    /// Revenue of every complete month from the first sale's month up to the one before `month`.
    fn months_before(&self, month: Month) -> Option<Series> {
        let start = Month::of(self.first()?);
        let mut values = Vec::new();
        let mut m = start;
        while m < month {
            values.push(self.sum(m.first_day(), m.last_day()) as f64 / 10_000.0);
            m = m.succ();
        }
        Some(Series { start, values })
    }
}

/// What a month's revenue was expected to be before it began.
#[derive(Clone, Copy, Debug)]
struct Priors {
    /// The monthly forecast from the complete months before it.
    forecast: Option<f64>,
    /// The same month a year earlier, times the growth of the three months before the month
    /// over the same three a year earlier.
    last_year: Option<f64>,
}

fn priors(daily: &Daily, month: Month) -> Priors {
    let forecast =
        daily.months_before(month).and_then(|s| forecast(&s, 1).ok()).map(|f| f.forecast).filter(|f| f.is_finite());
    // growth: the three months before this one against the same three a year earlier
    let back = |m: Month, n: usize| (0..n).fold(m, |m, _| m.pred());
    let (year_ago, recent, recent_then) = (back(month, 12), back(month, 3), back(month, 15));
    let sum = |a: Month, b: Month| daily.sum(a.first_day(), b.last_day()) as f64;
    let last_year = daily
        .first()
        .filter(|first| *first <= recent_then.first_day())
        .map(|_| sum(year_ago, year_ago) * sum(recent, month.pred()) / sum(recent_then, year_ago.pred()) / 10_000.0)
        .filter(|v| v.is_finite() && *v > 0.0);
    Priors { forecast, last_year }
}

/// Which expectation a projection pools with the days so far.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Prior {
    /// The monthly forecast.
    Forecast,
    /// The same month last year, grown.
    LastYear,
}

/// A prior and its weight, in months' worth of observed revenue.
#[derive(Clone, Copy, Debug)]
struct Blend {
    prior: Prior,
    k: f64,
}

const PACE_ONLY: Blend = Blend { prior: Prior::Forecast, k: 0.0 };

/// What a projection from `day` of `month` needs: the revenue so far, the share of the month's
/// usual revenue already past, and what the month was expected to bring.
struct Inputs {
    so_far: f64,
    share: f64,
    priors: Priors,
}

fn inputs(daily: &Daily, month: Month, as_of: NaiveDate, priors: Priors) -> Inputs {
    let w = daily.weekday_weights(month.first_day());
    let g = daily.daily_growth(month.first_day());
    let weight = |d: NaiveDate| w[d.weekday().num_days_from_monday() as usize] * g.powi(d.day() as i32);
    let (mut elapsed, mut total) = (0.0, 0.0);
    let mut d = month.first_day();
    while d <= month.last_day() {
        total += weight(d);
        if d <= as_of {
            elapsed += weight(d);
        }
        d += Duration::days(1);
    }
    let share = if total > 0.0 { elapsed / total } else { 1.0 };
    Inputs { so_far: daily.sum(month.first_day(), as_of) as f64 / 10_000.0, share, priors }
}

/// The month's estimated revenue: the pace so far and the prior pooled, the prior counting as
/// `k` of a month's worth of observed revenue: `(so_far + k·prior) / (share + k)` for the whole
/// month, of which the `1 - share` still to come is added to what is already sold.
fn estimate(i: &Inputs, b: Blend) -> f64 {
    if i.share >= 1.0 {
        return i.so_far;
    }
    let k = b.k;
    let prior = match b.prior {
        Prior::Forecast => i.priors.forecast,
        Prior::LastYear => i.priors.last_year,
    };
    let month = match prior {
        Some(f) if i.share + k > 0.0 => (i.so_far + k * f.max(0.0)) / (i.share + k),
        _ if i.share > 0.0 => i.so_far / i.share,
        Some(f) => f.max(0.0),
        None => i.so_far,
    };
    i.so_far + (1.0 - i.share) * month
}

/// One backtest point: a past month projected from one of its days.
struct Point {
    day: u32,
    inputs: Inputs,
    naive: f64,
    actual: f64,
}

fn backtest_points(daily: &Daily, before: Month) -> Vec<Point> {
    let Some(first) = daily.first() else { return Vec::new() };
    let mut out = Vec::new();
    // a month is tested once it has three complete months before it, for the forecast
    let mut m = Month::of(first).succ().succ().succ();
    while m < before {
        let actual = daily.sum(m.first_day(), m.last_day()) as f64 / 10_000.0;
        let days = m.last_day().day();
        let expected = priors(daily, m);
        for day in CHECKPOINTS {
            let as_of = m.first_day() + Duration::days(day as i64 - 1);
            let inputs = inputs(daily, m, as_of, expected);
            let naive = inputs.so_far * days as f64 / day as f64;
            if actual > 0.0 {
                out.push(Point { day, inputs, naive, actual });
            }
        }
        m = m.succ();
    }
    out
}

fn mape(points: &[&Point], f: impl Fn(&Point) -> f64) -> f64 {
    if points.is_empty() {
        return 0.0;
    }
    points.iter().map(|p| ((p.actual - f(p)) / p.actual).abs()).sum::<f64>() / points.len() as f64 * 100.0
}

/// The spread of `ln(actual remainder / projected remainder)` over `points` (root mean square).
fn log_spread(points: &[&Point], k: Blend) -> Option<f64> {
    let errors: Vec<f64> = points
        .iter()
        .filter_map(|p| {
            let projected = estimate(&p.inputs, k) - p.inputs.so_far;
            let actual = p.actual - p.inputs.so_far;
            (projected > 0.0 && actual > 0.0).then(|| (actual / projected).ln())
        })
        .collect();
    (errors.len() >= 3).then(|| (errors.iter().map(|e| e * e).sum::<f64>() / errors.len() as f64).sqrt())
}

fn interval(i: &Inputs, k: Blend, spread: f64) -> [f64; 2] {
    let rest = estimate(i, k) - i.so_far;
    [i.so_far + rest * (-Z80 * spread).exp(), i.so_far + rest * (Z80 * spread).exp()]
}

fn money(x: f64) -> Cents {
    Cents((x.max(0.0) * 100.0).round() as i128)
}

/// The projection of `as_of`'s month from the daily revenue (see the module's doc).
pub(crate) fn project(daily: &Daily, as_of: NaiveDate) -> Projection {
    let month = Month::of(as_of);
    let points = backtest_points(daily, month);
    let at = |day: u32| -> Vec<&Point> { points.iter().filter(|p| p.day == day).collect() };
    // the prior and weight that projected the past months best from the same day: early in a
    // month the days so far say little and the prior counts more
    let best = |pts: &[&Point]| -> Blend {
        if pts.is_empty() {
            return Blend { prior: Prior::Forecast, k: DEFAULT_WEIGHT };
        }
        let error = |b: &Blend| mape(pts, |p| estimate(&p.inputs, *b));
        [Prior::Forecast, Prior::LastYear]
            .iter()
            .flat_map(|prior| WEIGHTS.iter().map(move |k| Blend { prior: *prior, k: *k }))
            .min_by(|a, b| error(a).total_cmp(&error(b)))
            .unwrap_or(PACE_ONLY)
    };
    let backtest: Vec<Checkpoint> = CHECKPOINTS
        .iter()
        .map(|&day| {
            let pts = at(day);
            let k = best(&pts);
            let spread = log_spread(&pts, k);
            let covered = spread.map_or(0, |s| {
                pts.iter()
                    .filter(|p| {
                        let [lo, hi] = interval(&p.inputs, k, s);
                        lo <= p.actual && p.actual <= hi
                    })
                    .count()
            });
            Checkpoint {
                day,
                months: pts.len(),
                mape: round2(mape(&pts, |p| estimate(&p.inputs, k))),
                naive_mape: round2(mape(&pts, |p| p.naive)),
                coverage_80: if pts.is_empty() { 0.0 } else { round2(covered as f64 / pts.len() as f64) },
                prior: k.prior,
                prior_weight: k.k,
            }
        })
        .collect();
    let elapsed = as_of.day();
    // the interval's spread: the backtest's errors from the checkpoint nearest the days elapsed
    let nearest = CHECKPOINTS.iter().min_by_key(|d| (**d as i64 - elapsed as i64).abs()).copied().unwrap_or(7);
    let k = backtest
        .iter()
        .find(|c| c.day == nearest && c.months > 0)
        .map_or(Blend { prior: Prior::Forecast, k: DEFAULT_WEIGHT }, |c| Blend { prior: c.prior, k: c.prior_weight });
    let spread = log_spread(&at(nearest), k).or_else(|| log_spread(&points.iter().collect::<Vec<_>>(), k));
    let i = inputs(daily, month, as_of, priors(daily, month));
    let so_far = daily.sum(month.first_day(), as_of);
    let complete = as_of == month.last_day();
    let days = month.last_day().day();
    Projection {
        as_of,
        month,
        days_elapsed: elapsed,
        days_in_month: days,
        so_far: Cents(cents(so_far)),
        projection: if complete { Cents(cents(so_far)) } else { money(estimate(&i, k)) },
        interval_80: if complete {
            Some([Cents(cents(so_far)); 2])
        } else {
            spread.map(|s| interval(&i, k, s).map(money))
        },
        naive: money(i.so_far * days as f64 / elapsed as f64),
        forecast: i.priors.forecast.map(money),
        last_year: i.priors.last_year.map(money),
        share_elapsed: crate::metrics::round6(i.share),
        prior: k.prior,
        prior_weight: k.k,
        backtest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// A shop selling 100 a day on weekdays and 300 on Saturdays and Sundays, from 2023-01-02.
    fn weekly(to: &str) -> Daily {
        let mut m = BTreeMap::new();
        let mut day = d("2023-01-02");
        while day <= d(to) {
            let weekend = day.weekday().num_days_from_monday() >= 5;
            m.insert(day, if weekend { 3_000_000 } else { 1_000_000 });
            day += Duration::days(1);
        }
        Daily(m)
    }

    #[test]
    fn a_steady_weekday_pattern_is_projected_exactly_where_naive_is_not() {
        // 2024-06-07 is a Friday: five weekdays and two weekend days of June so far
        let daily = weekly("2024-06-07");
        let p = project(&daily, d("2024-06-07"));
        // June 2024: 20 weekdays, 10 weekend days -> 2,000 + 3,000
        assert_eq!(p.so_far, Cents(110_000), "{p:?}");
        assert!((p.projection.0 - 500_000).abs() <= 100, "{p:?}");
        // naive: 1,100 * 30 / 7
        assert_eq!(p.naive, Cents(471_429));
        for c in &p.backtest {
            assert!(c.mape < 0.5 && c.naive_mape > c.mape, "{c:?}");
            assert!(c.months > 10);
        }
        let [lo, hi] = p.interval_80.unwrap();
        assert!(lo <= p.projection && p.projection <= hi && lo >= p.so_far, "{p:?}");
    }

    #[test]
    fn a_complete_month_is_its_revenue() {
        let daily = weekly("2024-06-30");
        let p = project(&daily, d("2024-06-30"));
        assert_eq!((p.projection, p.interval_80), (Cents(500_000), Some([Cents(500_000); 2])));
    }

    #[test]
    fn without_history_the_pace_alone_projects() {
        let daily = weekly("2023-01-10");
        let p = project(&daily, d("2023-01-10"));
        assert!(p.backtest.iter().all(|c| c.months == 0));
        assert_eq!((p.forecast, p.interval_80), (None, None));
        // 9 days (2023-01-02..10) with equal weekday weights: so far * 31 / 10
        assert_eq!(p.so_far, Cents(cents(daily.sum(d("2023-01-01"), d("2023-01-10")))));
        assert_eq!(p.projection, p.naive);
    }
}

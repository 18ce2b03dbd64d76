//! Forecast: next month's revenue with 80 % and 95 % intervals (kpis.md, "Next month's revenue").
//!
//! Every candidate model of `models` is scored by a rolling-origin backtest over the series' last
//! 12 months (one step ahead, each origin refitted only on the data before it); the best, or the
//! mean of the best three, makes the forecast. Intervals come from the chosen method's backtest
//! errors, on the log scale (revenue errors are proportional), widening with the horizon.

pub mod backtest;
pub mod models;

use crate::metrics::round2;
use crate::model::Month;
use models::{Model, PERIOD};
use serde::Serialize;
use std::path::Path;

/// How many trailing months the backtest scores.
pub(crate) const BACKTEST_MONTHS: usize = 12;
/// Below this many months there is no forecast.
pub(crate) const MIN_MONTHS: usize = 3;
/// From this many months on, yearly seasonality is fitted.
pub const SEASONAL_MONTHS: usize = 2 * PERIOD;
/// The most months a forecast fits its models on: a longer series is forecast from its last 600
/// months (50 years), so a forecast's work is bounded whatever the series.
pub(crate) const MAX_MONTHS: usize = 600;
/// The combination: the exponential smoothing family, additive and on the log scale.
pub(crate) const COMBINED: [Model; 2] = [Model::EtsDamped, Model::EtsDampedLog];
/// How much lower a single model's backtest error must be to replace the combination.
const CLEAR_WIN: f64 = 0.6;
const Z80: f64 = 1.281_551_565_5;
const Z95: f64 = 1.959_963_985;

/// The 0.90 and 0.975 quantiles of Student's t with `dof` degrees of freedom (two-sided 80 %
/// and 95 %), from the standard table for 1 to 30; the normal's beyond (and for 0).
fn t_quantiles(dof: usize) -> (f64, f64) {
    const T90: [f64; 30] = [
        3.078, 1.886, 1.638, 1.533, 1.476, 1.440, 1.415, 1.397, 1.383, 1.372, 1.363, 1.356, 1.350, 1.345, 1.341, 1.337,
        1.333, 1.330, 1.328, 1.325, 1.323, 1.321, 1.319, 1.318, 1.316, 1.315, 1.314, 1.313, 1.311, 1.310,
    ];
    const T975: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match dof {
        1..=30 => (T90[dof - 1], T975[dof - 1]),
        _ => (Z80, Z95),
    }
}

/// A monthly series: consecutive months from `start`.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The first month.
    pub start: Month,
    /// One value per month.
    pub values: Vec<f64>,
}

/// Why there is no forecast.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ForecastError {
    /// Too short a series.
    #[error("a forecast needs at least {MIN_MONTHS} complete months of data; this series has {0}")]
    TooShort(usize),
    /// A series file that is not `month,value` with consecutive months.
    #[error("{file}: line {line}: {message}")]
    BadSeries {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl Series {
    /// The month after the last.
    pub fn end(&self) -> Month {
        (0..self.values.len().saturating_sub(1)).fold(self.start, |m, _| m.succ())
    }

    /// Reads a CSV with header `month,value`, months `YYYY-MM` in order without gaps.
    ///
    /// # Errors
    /// The file is unreadable or breaks the format; the error names the line.
    pub fn read_csv(path: &Path) -> Result<Series, ForecastError> {
        let file = path.display().to_string();
        let bad = |line: usize, message: String| ForecastError::BadSeries { file: file.clone(), line, message };
        let mut reader =
            csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(path).map_err(|e| bad(0, e.to_string()))?;
        let header = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
        if header.len() < 2 || !header[0].eq_ignore_ascii_case("month") || !header[1].eq_ignore_ascii_case("value") {
            return Err(bad(1, "the header must be month,value".into()));
        }
        let (mut start, mut last, mut values): (Option<Month>, Option<Month>, Vec<f64>) = (None, None, Vec::new());
        for (i, rec) in reader.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| bad(line, e.to_string()))?;
            let month: Month = rec.get(0).unwrap_or("").parse().map_err(|e| bad(line, e))?;
            let value: f64 =
                rec.get(1).unwrap_or("").parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| {
                    bad(line, format!("column value: '{}' is not a number", rec.get(1).unwrap_or("")))
                })?;
            if let Some(prev) = last
                && prev.succ() != month
            {
                return Err(bad(line, format!("column month: {month} does not follow {prev}")));
            }
            start.get_or_insert(month);
            last = Some(month);
            values.push(value);
        }
        let start = start.ok_or_else(|| bad(2, "no data rows".into()))?;
        Ok(Series { start, values })
    }
}

/// Revenue per complete month from the monthly trend: the month holding `last_order` is left out
/// unless that day is the month's last (kpis.md). Months before the first with revenue (a date
/// filter starting before the shop's first sale) are not part of the series: the shop was not
/// selling then, which is not a month of zero sales.
pub fn revenue_series(monthly: &[crate::metrics::MonthRow], last_order: Option<chrono::NaiveDate>) -> Option<Series> {
    let cut = last_order.map(|d| Month::last_complete(d).succ());
    let first_sale = monthly.iter().position(|m| m.revenue.0 != 0).unwrap_or(monthly.len());
    let monthly = &monthly[first_sale..];
    let values: Vec<f64> =
        monthly.iter().take_while(|m| cut.is_none_or(|c| m.month < c)).map(|m| m.revenue.0 as f64 / 100.0).collect();
    Some(Series { start: monthly.first()?.month, values })
}

/// One model's backtest score.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Score {
    /// The model's name.
    pub model: &'static str,
    /// Mean absolute percentage error, in percent.
    pub(crate) mape: f64,
    /// Mean absolute scaled error.
    pub mase: f64,
}

/// One month of a multi-month forecast.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PathPoint {
    /// The month.
    pub month: Month,
    /// Point forecast.
    pub forecast: f64,
    /// 80 % interval.
    pub interval_80: [f64; 2],
    /// 95 % interval.
    pub interval_95: [f64; 2],
}

/// A forecast in the JSON shape of kpis.md.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Forecast {
    /// The last month of the series.
    pub series_end: Month,
    /// The month forecast.
    pub month: Month,
    /// Point forecast.
    pub forecast: f64,
    /// 80 % interval.
    pub interval_80: [f64; 2],
    /// 95 % interval.
    pub interval_95: [f64; 2],
    /// The method that made it.
    pub model: &'static str,
    /// Every candidate's backtest score.
    pub backtest: Vec<Score>,
    /// The chosen method's backtest error in words.
    pub explanation: String,
    /// With a horizon above 1: each month's forecast.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<PathPoint>>,
}

impl Forecast {
    /// The forecast in one sentence, for people.
    pub(crate) fn sentence(&self) -> String {
        format!(
            "Forecast for {}: {:.2} (80 %: {:.2} to {:.2}; 95 %: {:.2} to {:.2}), method {}: {}.",
            self.month,
            self.forecast,
            self.interval_80[0],
            self.interval_80[1],
            self.interval_95[0],
            self.interval_95[1],
            self.model,
            self.explanation
        )
    }
}

/// The scale of MASE: the mean absolute seasonal (lag-12) difference of `train`, or the lag-1
/// difference when it is shorter than 13 months.
pub fn mase_scale(train: &[f64]) -> f64 {
    let lag = if train.len() > PERIOD { PERIOD } else { 1 };
    let d: Vec<f64> = train.windows(lag + 1).map(|w| (w[lag] - w[0]).abs()).collect();
    let s = if d.is_empty() { 0.0 } else { d.iter().sum::<f64>() / d.len() as f64 };
    if s > 0.0 { s } else { train.iter().map(|v| v.abs()).sum::<f64>() / train.len().max(1) as f64 + 1e-9 }
}

/// The one-step predictions of every single model at each of the last `k` origins of `y`.
fn one_step_predictions(y: &[f64], k: usize) -> Vec<Vec<f64>> {
    let n = y.len();
    Model::SINGLE
        .iter()
        .map(|m| (n - k..n).map(|o| m.forecast(&y[..o], 1, o >= SEASONAL_MONTHS)[0]).collect())
        .collect()
}

/// The method chosen on `y`: a single model, or the mean of the best three.
#[derive(Clone, Debug)]
pub struct Choice {
    /// Which method.
    pub model: Model,
    /// The models whose mean it is (one for a single model).
    pub members: Vec<Model>,
    /// The scores of every candidate, in `Model::SINGLE` order then the combination.
    pub scores: Vec<Score>,
    /// The chosen method's one-step backtest `(actual, predicted)` pairs.
    pub(crate) errors: Vec<(f64, f64)>,
}

fn score(model: &'static str, actual: &[f64], pred: &[f64], scale: f64) -> Score {
    let k = actual.len().max(1) as f64;
    let mape =
        actual.iter().zip(pred).map(|(a, p)| ((a - p) / a).abs()).filter(|x| x.is_finite()).sum::<f64>() / k * 100.0;
    let mase = actual.iter().zip(pred).map(|(a, p)| (a - p).abs()).sum::<f64>() / k / scale;
    Score { model, mape: round2(mape), mase: (mase * 1000.0).round() / 1000.0 }
}

/// Scores every candidate on the last months of `y` and picks the best.
pub fn choose(y: &[f64]) -> Choice {
    let n = y.len();
    let k = BACKTEST_MONTHS.min(n - MIN_MONTHS + 1).max(1).min(n - 1);
    let actual = &y[n - k..];
    let scale = mase_scale(&y[..n - k]);
    let preds = one_step_predictions(y, k);
    let mae = |p: &[f64]| actual.iter().zip(p).map(|(a, q)| (a - q).abs()).sum::<f64>();
    let top: Vec<usize> =
        COMBINED.iter().map(|m| Model::SINGLE.iter().position(|s| s == m).expect("a single model")).collect();
    let combo: Vec<f64> = (0..k).map(|j| top.iter().map(|i| preds[*i][j]).sum::<f64>() / top.len() as f64).collect();
    let mut scores: Vec<Score> =
        Model::SINGLE.iter().zip(&preds).map(|(m, p)| score(m.name(), actual, p, scale)).collect();
    scores.push(score(Model::Combination.name(), actual, &combo, scale));
    // the combination stands unless one model was clearly better over the backtest: twelve
    // errors are too few to prefer a model for a small edge
    let (best, best_err) =
        preds.iter().enumerate().map(|(i, p)| (i, mae(p))).min_by(|a, b| a.1.total_cmp(&b.1)).expect("models");
    let (model, members, chosen) = if best_err < CLEAR_WIN * mae(&combo) {
        (Model::SINGLE[best], vec![Model::SINGLE[best]], preds[best].clone())
    } else {
        (Model::Combination, COMBINED.to_vec(), combo)
    };
    let errors = actual.iter().copied().zip(chosen).collect();
    Choice { model, members, scores, errors }
}

/// Forecasts `horizon` months after `series` (at least 1), from its last [`MAX_MONTHS`] months.
///
/// # Errors
/// Fewer than 3 months.
pub fn forecast(series: &Series, horizon: usize) -> Result<Forecast, ForecastError> {
    let y = &series.values[series.values.len().saturating_sub(MAX_MONTHS)..];
    let n = y.len();
    if n < MIN_MONTHS {
        return Err(ForecastError::TooShort(n));
    }
    let horizon = horizon.max(1);
    let choice = choose(y);
    let seasonal = n >= SEASONAL_MONTHS;
    let members: Vec<Vec<f64>> = choice.members.iter().map(|m| m.forecast(y, horizon, seasonal)).collect();
    let points: Vec<f64> =
        (0..horizon).map(|h| members.iter().map(|f| f[h]).sum::<f64>() / members.len() as f64).collect();

    // errors are proportional to revenue: bands on the log scale when the backtest and the point
    // are positive, on the plain scale otherwise
    // The spread is estimated from a dozen errors, so the bands use Student's t with k - 1
    // degrees of freedom and the unbiased variance, not the normal's z: with the normal the
    // 95 % band held only 83 % of one series' backtest actuals (docs/bench-log.md).
    let k = choice.errors.len();
    let (t80, t95) = t_quantiles(k.saturating_sub(1));
    let dof = k.saturating_sub(1).max(1) as f64;
    let proportional = choice.errors.iter().all(|(a, p)| *a > 0.0 && *p > 0.0);
    let log_sigma = (choice.errors.iter().map(|(a, p)| (a / p).ln().powi(2)).sum::<f64>() / dof).sqrt();
    let abs_sigma = (choice.errors.iter().map(|(a, p)| (a - p).powi(2)).sum::<f64>() / dof).sqrt();
    let interval = |p: f64, z: f64, h: usize| -> [f64; 2] {
        let spread = z * (h as f64).sqrt();
        let (lo, hi) = if proportional && p > 0.0 {
            (p * (-spread * log_sigma).exp(), p * (spread * log_sigma).exp())
        } else {
            (p - spread * abs_sigma, p + spread * abs_sigma)
        };
        [round2(lo.max(0.0)), round2(hi.max(0.0))]
    };
    let end = series.end();
    let mut month = end;
    let path: Vec<PathPoint> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            month = month.succ();
            PathPoint {
                month,
                forecast: round2(p.max(0.0)),
                interval_80: interval(*p, t80, i + 1),
                interval_95: interval(*p, t95, i + 1),
            }
        })
        .collect();
    let mape = choice.scores.iter().find(|s| s.model == choice.model.name()).map_or(0.0, |s| s.mape);
    let first = path[0].clone();
    Ok(Forecast {
        series_end: end,
        month: first.month,
        forecast: first.forecast,
        interval_80: first.interval_80,
        interval_95: first.interval_95,
        model: choice.model.name(),
        explanation: format!(
            "over the last {} months this method was off by {:.0} % on average",
            choice.errors.len(),
            mape
        ),
        backtest: choice.scores,
        path: (horizon > 1).then_some(path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: Vec<f64>) -> Series {
        Series { start: "2021-01".parse().unwrap(), values }
    }

    #[test]
    fn scores_are_worked_out_by_hand() {
        // errors 10 and 20 on actuals 100 and 200: MAE 15, scale 10 -> MASE 1.5; APE 10 % and 10 %
        let s = score("m", &[100.0, 200.0], &[110.0, 180.0], 10.0);
        assert_eq!((s.mase, s.mape), (1.5, 10.0));
        // the MASE scale: mean absolute lag-12 difference, lag 1 for a series of 12 months or less
        let y: Vec<f64> = (0..14).map(|t| if t < 12 { 10.0 } else { 16.0 }).collect();
        assert_eq!(mase_scale(&y), 6.0);
        assert_eq!(mase_scale(&[1.0, 3.0, 2.0]), 1.5);
    }

    #[test]
    fn refuses_below_three_months() {
        assert_eq!(forecast(&series(vec![1.0, 2.0]), 1), Err(ForecastError::TooShort(2)));
        assert!(forecast(&series(vec![1.0, 2.0, 3.0]), 1).is_ok());
    }

    #[test]
    fn intervals_are_ordered_non_negative_and_widen_with_the_horizon() {
        // a noisy series falling towards zero: bounds that would go negative are clipped
        let falling: Vec<f64> =
            (0..40).map(|t| (200.0 - 5.0 * t as f64 + if t % 3 == 0 { 25.0 } else { -15.0 }).max(1.0)).collect();
        // a growing seasonal one
        let growing: Vec<f64> =
            (0..40).map(|t| (100.0 + 3.0 * t as f64) * (1.0 + 0.2 * ((t % 12) as f64 / 11.0))).collect();
        for (values, end) in [(falling, "2024-04"), (growing, "2024-04")] {
            let f = forecast(&series(values), 6).unwrap();
            let path = f.path.as_ref().unwrap();
            assert_eq!(
                (path.len(), f.series_end.to_string(), f.month.to_string()),
                (6, end.to_string(), "2024-05".to_string())
            );
            for p in path {
                let [l95, h95] = p.interval_95;
                let [l80, h80] = p.interval_80;
                assert!(0.0 <= l95 && l95 <= l80 && l80 <= p.forecast && p.forecast <= h80 && h80 <= h95, "{p:?}");
            }
            assert_eq!(f.backtest.len(), Model::SINGLE.len() + 1);
        }
        let f = forecast(&series((0..40).map(|t| 100.0 + 3.0 * t as f64 + 12.0 * (t as f64 * 1.7).sin()).collect()), 6)
            .unwrap();
        let path = f.path.unwrap();
        let width = |p: &PathPoint| (p.interval_95[1] - p.interval_95[0]) / p.forecast;
        for w in path.windows(2) {
            assert!(width(&w[1]) > width(&w[0]), "{path:?}");
        }
    }

    #[test]
    fn short_series_get_no_seasonality() {
        // 20 months with a strong 12-month pattern: without two years, no seasonal model may use it
        let pattern = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0];
        let values: Vec<f64> = (0..20).map(|t| 100.0 * pattern[t % 12]).collect();
        assert_eq!(Model::SeasonalNaive.forecast(&values, 1, false), vec![100.0]);
        let f = forecast(&series(values), 1).unwrap();
        assert!(f.forecast < 200.0, "{f:?}");
    }

    #[test]
    fn the_complete_month_rule_drops_a_partial_last_month() {
        use crate::metrics::{Cents, MonthRow};
        let row = |m: &str, c: i128| MonthRow {
            month: m.parse().unwrap(),
            revenue: Cents(c),
            orders: 1,
            customers: 1,
            average_order_value: Cents(c),
            growth: None,
            complete: true,
            books: Default::default(),
        };
        let monthly = vec![row("2024-01", 100), row("2024-02", 200), row("2024-03", 50)];
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(revenue_series(&monthly, Some(d("2024-03-15"))).unwrap().values, vec![1.0, 2.0]);
        assert_eq!(revenue_series(&monthly, Some(d("2024-03-31"))).unwrap().values, vec![1.0, 2.0, 0.5]);
    }

    #[test]
    fn reads_series_files_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.csv");
        std::fs::write(&p, "month,value\n2020-11,1\n2020-12,2.5\n2021-01,3\n").unwrap();
        let s = Series::read_csv(&p).unwrap();
        assert_eq!(
            (s.start.to_string(), s.values.clone(), s.end().to_string()),
            ("2020-11".into(), vec![1.0, 2.5, 3.0], "2021-01".into())
        );
        std::fs::write(&p, "month,value\n2020-11,1\n2021-01,3\n").unwrap();
        assert!(
            Series::read_csv(&p)
                .unwrap_err()
                .to_string()
                .ends_with("line 3: column month: 2021-01 does not follow 2020-11")
        );
        std::fs::write(&p, "month,value\n2020-11,abc\n").unwrap();
        assert!(Series::read_csv(&p).unwrap_err().to_string().contains("line 2: column value"));
    }
}

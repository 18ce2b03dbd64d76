//! The candidate forecasting models. Each fits on a monthly series and forecasts `h` months ahead.
//! Exponential smoothing follows Hyndman et al., "Forecasting with Exponential Smoothing" (2008):
//! additive errors, additive damped trend, additive seasonality, parameters by maximum likelihood
//! (for Gaussian additive errors, least squares of the one-step errors), searched by Nelder-Mead.

use crate::optimize::nelder_mead;

const AR_CORRECTION: bool = true;

/// The season length of monthly data.
pub(crate) const PERIOD: usize = 12;

/// The candidates, by the name the JSON and the backtest report use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Model {
    /// Next month = the same month last year (the last value without a year of history).
    SeasonalNaive,
    /// The seed project's straight line on time.
    LinearTrend,
    /// Trend plus month-of-year effects, on log revenue.
    SeasonalRegression,
    /// Additive damped-trend exponential smoothing, with additive seasonality when fitted.
    EtsDamped,
    /// The same on log revenue: multiplicative seasonality and trend.
    EtsDampedLog,
    /// Exponential smoothing without trend, on log revenue: ETS(M,N,M) in spirit.
    EtsLevelLog,
    /// The Theta method (Assimakopoulos & Nikolopoulos 2000, as Hyndman & Billah 2003) on the
    /// seasonally adjusted series.
    Theta,
    /// The mean of the best few models of the backtest.
    Combination,
}

impl Model {
    /// The single models, fitted directly.
    pub const SINGLE: [Model; 7] = [
        Model::SeasonalNaive,
        Model::LinearTrend,
        Model::SeasonalRegression,
        Model::EtsDamped,
        Model::EtsDampedLog,
        Model::EtsLevelLog,
        Model::Theta,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Model::SeasonalNaive => "seasonal_naive",
            Model::LinearTrend => "linear_trend",
            Model::SeasonalRegression => "seasonal_regression",
            Model::EtsDamped => "ets_damped",
            Model::EtsDampedLog => "ets_damped_log",
            Model::EtsLevelLog => "ets_level_log",
            Model::Theta => "theta",
            Model::Combination => "combination",
        }
    }

    /// Point forecasts for the `h` months after `y`; `seasonal` says whether yearly seasonality
    /// may be fitted (the caller allows it from 24 months on).
    pub fn forecast(self, y: &[f64], h: usize, seasonal: bool) -> Vec<f64> {
        let logs = || y.iter().all(|v| *v > 0.0).then(|| y.iter().map(|v| v.ln()).collect::<Vec<f64>>());
        match self {
            Model::SeasonalNaive => seasonal_naive(y, h, seasonal),
            Model::LinearTrend => regression(y, h, false),
            Model::SeasonalRegression => match logs() {
                Some(l) => regression(&l, h, seasonal).into_iter().map(f64::exp).collect(),
                None => regression(y, h, seasonal),
            },
            Model::EtsDamped => ets_fit(y, seasonal, true).forecast(h),
            Model::EtsDampedLog => match logs() {
                Some(l) => ets_fit(&l, seasonal, true).forecast(h).into_iter().map(f64::exp).collect(),
                None => ets_fit(y, seasonal, true).forecast(h),
            },
            Model::EtsLevelLog => match logs() {
                Some(l) => ets_fit(&l, seasonal, false).forecast(h).into_iter().map(f64::exp).collect(),
                None => ets_fit(y, seasonal, false).forecast(h),
            },
            Model::Theta => theta(y, h, seasonal),
            Model::Combination => unreachable!("a combination is made of other models' forecasts"),
        }
    }
}

fn seasonal_naive(y: &[f64], h: usize, seasonal: bool) -> Vec<f64> {
    let n = y.len();
    (0..h).map(|i| if seasonal && n >= PERIOD { y[n - PERIOD + (i % PERIOD)] } else { y[n - 1] }).collect()
}

/// Least squares on `[1, t, month dummies]`, solved by the normal equations (Gaussian elimination).
fn regression(y: &[f64], h: usize, seasonal: bool) -> Vec<f64> {
    let n = y.len();
    let k = if seasonal { 2 + PERIOD - 1 } else { 2 };
    let row = |t: usize| -> Vec<f64> {
        let mut r = vec![0.0; k];
        r[0] = 1.0;
        r[1] = t as f64;
        if seasonal && !t.is_multiple_of(PERIOD) {
            r[1 + t % PERIOD] = 1.0;
        }
        r
    };
    let mut a = vec![vec![0.0; k + 1]; k];
    for (t, yt) in y.iter().enumerate() {
        let r = row(t);
        for i in 0..k {
            for j in 0..k {
                a[i][j] += r[i] * r[j];
            }
            a[i][k] += r[i] * yt;
        }
    }
    let Some(beta) = solve(a) else { return vec![y[n - 1]; h] };
    (n..n + h).map(|t| row(t).iter().zip(&beta).map(|(x, b)| x * b).sum()).collect()
}

fn solve(mut a: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let k = a.len();
    for c in 0..k {
        let p = (c..k).max_by(|i, j| a[*i][c].abs().total_cmp(&a[*j][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        let pivot = a[c].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != c {
                let f = row[c] / pivot[c];
                for (x, p) in row[c..].iter_mut().zip(&pivot[c..]) {
                    *x -= f * p;
                }
            }
        }
    }
    Some((0..k).map(|i| a[i][k] / a[i][i]).collect())
}

/// Multiplicative seasonal indices by classical decomposition (a centred 2x12 moving average),
/// or `None` when the lag-12 autocorrelation is not significant at 90 % (the Theta method's test).
fn theta_seasonal_indices(y: &[f64]) -> Option<[f64; PERIOD]> {
    let n = y.len();
    if n < 2 * PERIOD || y.iter().any(|v| *v <= 0.0) {
        return None;
    }
    let mean = y.iter().sum::<f64>() / n as f64;
    let c0: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let acf = |k: usize| (k..n).map(|t| (y[t] - mean) * (y[t - k] - mean)).sum::<f64>() / c0;
    let r: Vec<f64> = (1..=PERIOD).map(acf).collect();
    let limit = 1.645 * ((1.0 + 2.0 * r[..PERIOD - 1].iter().map(|x| x * x).sum::<f64>()) / n as f64).sqrt();
    if r[PERIOD - 1].abs() <= limit {
        return None;
    }
    seasonal_indices(y, |t| t % PERIOD)
}

/// Multiplicative seasonal indices (mean 1) of a monthly series: each month's ratio to the
/// centred 12-month (2x12) moving average, averaged per season, `season(t)` (0 to 11) being the
/// season of the `t`-th value. Months whose average is not positive are left out. `None` below
/// two years, where a season cannot be told from a trend, or when a season has no ratio or an
/// index is not positive. The Theta models and the alerts share it.
pub(crate) fn seasonal_indices(values: &[f64], season: impl Fn(usize) -> usize) -> Option<[f64; PERIOD]> {
    let n = values.len();
    if n < 2 * PERIOD {
        return None;
    }
    let (mut sum, mut count) = ([0.0; PERIOD], [0usize; PERIOD]);
    for t in PERIOD / 2..n - PERIOD / 2 {
        let cma =
            (0.5 * values[t - 6] + values[t - 5..=t + 5].iter().sum::<f64>() + 0.5 * values[t + 6]) / PERIOD as f64;
        if cma > 0.0 {
            let i = season(t);
            sum[i] += values[t] / cma;
            count[i] += 1;
        }
    }
    if count.contains(&0) {
        return None;
    }
    let raw: [f64; PERIOD] = std::array::from_fn(|i| sum[i] / count[i] as f64);
    let mean = raw.iter().sum::<f64>() / PERIOD as f64;
    (mean > 0.0 && raw.iter().all(|r| *r > 0.0)).then(|| raw.map(|r| r / mean))
}

/// The Theta method: simple exponential smoothing of the seasonally adjusted series plus half its
/// linear trend, then reseasonalized.
fn theta(y: &[f64], h: usize, seasonal: bool) -> Vec<f64> {
    let n = y.len();
    let idx = if seasonal { theta_seasonal_indices(y) } else { None };
    let x: Vec<f64> = match &idx {
        Some(s) => y.iter().enumerate().map(|(t, v)| v / s[t % PERIOD]).collect(),
        None => y.to_vec(),
    };
    // SES with its smoothing parameter by least squares
    let ses = |alpha: f64| {
        let (mut level, mut sse) = (x[0], 0.0);
        for v in &x[1..] {
            let e = v - level;
            sse += e * e;
            level += alpha * e;
        }
        (sse, level)
    };
    let best = nelder_mead(&|p: &[f64]| ses(0.0001 + 0.9998 * logistic(p[0])).0, &[0.0], 1.0, 100);
    let alpha = 0.0001 + 0.9998 * logistic(best[0]);
    let level = ses(alpha).1;
    let tm = (n as f64 - 1.0) / 2.0;
    let xm = x.iter().sum::<f64>() / n as f64;
    let sxx: f64 = (0..n).map(|t| (t as f64 - tm).powi(2)).sum();
    let slope = if sxx > 0.0 { (0..n).map(|t| (t as f64 - tm) * (x[t] - xm)).sum::<f64>() / sxx } else { 0.0 };
    let drift = |i: usize| slope / 2.0 * (i as f64 + (1.0 - (1.0 - alpha).powi(n as i32)) / alpha);
    (0..h)
        .map(|i| {
            let f = level + drift(i);
            match &idx {
                Some(s) => f * s[(n + i) % PERIOD],
                None => f,
            }
        })
        .collect()
}

/// A fitted additive damped-trend ETS model: its final states and smoothing parameters.
#[derive(Clone, Debug)]
pub(crate) struct Ets {
    level: f64,
    trend: f64,
    season: Vec<f64>,
    phi: f64,
    /// Root mean square of the one-step in-sample errors.
    pub(crate) sigma: f64,
    /// The last one-step error and the errors' lag-1 autocorrelation: what short-lived swings
    /// the smoothing leaves behind, carried into the forecast as an AR(1) term.
    last_error: f64,
    rho: f64,
}

impl Ets {
    /// Point forecasts `h` steps ahead.
    pub(crate) fn forecast(&self, h: usize) -> Vec<f64> {
        let mut damp = 0.0;
        let mut phi_k = 1.0;
        (1..=h)
            .map(|i| {
                phi_k *= self.phi;
                damp += phi_k;
                let s = if self.season.is_empty() { 0.0 } else { self.season[(i - 1) % PERIOD] };
                self.level + damp * self.trend + s + self.rho.powi(i as i32) * self.last_error
            })
            .collect()
    }
}

/// Runs the ETS(A,Ad,A) (or ETS(A,Ad,N)) recursions; returns the sum of squared one-step errors
/// and the final model.
fn ets_run(
    y: &[f64],
    (alpha, beta, gamma, phi): (f64, f64, f64, f64),
    shift: (f64, f64),
    seasonal: bool,
) -> (f64, Ets) {
    let m = if seasonal { PERIOD } else { 0 };
    // initial states from the first one or two years (a classical decomposition)
    let (mut level, mut trend, mut season) = if seasonal {
        let first: f64 = y[..PERIOD].iter().sum::<f64>() / PERIOD as f64;
        let second: f64 = y[PERIOD..2 * PERIOD].iter().sum::<f64>() / PERIOD as f64;
        let trend = (second - first) / PERIOD as f64;
        let season: Vec<f64> = (0..PERIOD)
            .map(|i| {
                (y[i] - (first + (i as f64 - 5.5) * trend) + y[i + PERIOD] - (second + (i as f64 - 5.5) * trend)) / 2.0
            })
            .collect();
        (first - 6.5 * trend, trend, season)
    } else {
        let k = y.len().min(4);
        let trend = if k > 1 { (y[k - 1] - y[0]) / (k - 1) as f64 } else { 0.0 };
        (y[0] - trend, trend, Vec::new())
    };
    // the fit may move the initial level and trend (as ETS estimates its initial states)
    level += shift.0;
    trend += shift.1;
    if phi == 0.0 {
        // no trend: the level starts at the first year's mean (or the first value)
        level += if seasonal { 6.5 * trend } else { trend };
        trend = 0.0;
    }
    let mut sse = 0.0;
    let (mut prev_e, mut num, mut den, mut last_e) = (0.0, 0.0, 0.0, 0.0);
    for (t, yt) in y.iter().enumerate() {
        let s = if m > 0 { season[t % m] } else { 0.0 };
        let fitted = level + phi * trend + s;
        let e = yt - fitted;
        sse += e * e;
        if t > 0 {
            num += e * prev_e;
            den += prev_e * prev_e;
        }
        prev_e = e;
        last_e = e;
        let new_level = level + phi * trend + alpha * e;
        trend = phi * trend + beta * e;
        level = new_level;
        if m > 0 {
            season[t % m] = s + gamma * e;
        }
    }
    let n = y.len();
    // rotate the seasonal states so index 0 is the month after the series
    let season = if m > 0 { (0..m).map(|i| season[(n + i) % m]).collect() } else { Vec::new() };
    let rho = if den > 0.0 { (num / den).clamp(-0.9, 0.9) } else { 0.0 };
    // a correlation within noise of zero is no signal: leave the forecast alone
    let rho = if rho.abs() > 2.0 / (n as f64).sqrt() && AR_CORRECTION { rho } else { 0.0 };
    (sse, Ets { level, trend, season, phi, sigma: (sse / n as f64).sqrt(), last_error: last_e, rho })
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Fits ETS by least squares of the one-step errors (Gaussian maximum likelihood); without
/// `trend` the trend is held at zero.
pub(crate) fn ets_fit(y: &[f64], seasonal: bool, trend: bool) -> Ets {
    if seasonal && y.len() >= 2 * PERIOD {
        // seasonality must earn its eleven extra states: keep it only if the AICc says so
        let (with, without) = (ets_fit_one(y, true, trend), ets_fit_one(y, false, trend));
        let aicc = |m: &Ets, k: f64| {
            let n = y.len() as f64;
            n * (m.sigma * m.sigma).max(1e-300).ln() + 2.0 * k * n / (n - k - 1.0).max(1.0)
        };
        let k = if trend { 5.0 } else { 2.0 };
        return if aicc(&with, k + 12.0) < aicc(&without, k) { with } else { without };
    }
    ets_fit_one(y, false, trend)
}

fn ets_fit_one(y: &[f64], seasonal: bool, trend: bool) -> Ets {
    let seasonal = seasonal && y.len() >= 2 * PERIOD;
    if y.len() < 3 {
        let last = *y.last().unwrap_or(&0.0);
        return Ets { level: last, trend: 0.0, season: Vec::new(), phi: 1.0, sigma: 0.0, last_error: 0.0, rho: 0.0 };
    }
    // unconstrained coordinates -> 0 < beta < alpha < 1, 0 < gamma < 1 - alpha, 0.8 <= phi <= 0.98
    let params = |x: &[f64]| {
        let alpha = 0.0001 + 0.9998 * logistic(x[0]);
        let beta = if trend { alpha * 0.999 * logistic(x[1]) } else { 0.0 };
        let gamma = (1.0 - alpha) * 0.999 * logistic(x[2]);
        let phi = if trend { 0.8 + 0.18 * logistic(x[3]) } else { 0.0 };
        (alpha, beta, gamma, phi)
    };
    // initial-state shifts in units of the first year's spread
    let head = &y[..y.len().min(PERIOD)];
    let mean = head.iter().sum::<f64>() / head.len() as f64;
    let spread = (head.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / head.len() as f64).sqrt().max(1e-9);
    let shift = |x: &[f64]| (x[4] * spread, if trend { x[5] * spread / PERIOD as f64 } else { 0.0 });
    let cost = |x: &[f64]| ets_run(y, params(x), shift(x), seasonal).0;
    let best = nelder_mead(&cost, &[0.0, -2.0, -2.0, 1.0, 0.0, 0.0], 0.8, 600);
    // one restart from there: the simplex often stalls on these ridges
    let best = nelder_mead(&cost, &best, 0.4, 400);
    ets_run(y, params(&best), shift(&best), seasonal).1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol * y.abs().max(1.0))
    }

    #[test]
    fn a_constant_series_is_forecast_as_that_constant() {
        let y = vec![100.0; 40];
        for m in Model::SINGLE {
            assert!(close(&m.forecast(&y, 3, true), &[100.0; 3], 1e-6), "{}", m.name());
        }
    }

    #[test]
    fn a_pure_trend_is_extrapolated() {
        let y: Vec<f64> = (0..48).map(|t| 50.0 + 2.0 * t as f64).collect();
        assert!(close(&Model::LinearTrend.forecast(&y, 2, false), &[146.0, 148.0], 1e-9));
        // the log-scale regression extrapolates exponential growth exactly
        let g: Vec<f64> = (0..48).map(|t| 50.0 * 1.02_f64.powi(t)).collect();
        assert!(close(
            &Model::SeasonalRegression.forecast(&g, 2, true),
            &[50.0 * 1.02_f64.powi(48), 50.0 * 1.02_f64.powi(49)],
            1e-9
        ));
        // damping bends the line a little, no more
        assert!(close(&Model::EtsDamped.forecast(&y, 1, true), &[146.0], 0.01));
    }

    #[test]
    fn a_pure_seasonal_pattern_is_repeated() {
        let pattern = [10.0, 12.0, 15.0, 11.0, 9.0, 8.0, 9.0, 10.0, 12.0, 16.0, 22.0, 30.0];
        let y: Vec<f64> = (0..60).map(|t| pattern[t % 12]).collect();
        let want: Vec<f64> = pattern.to_vec();
        assert!(close(&Model::SeasonalNaive.forecast(&y, 12, true), &want, 1e-12));
        assert!(close(&Model::SeasonalRegression.forecast(&y, 12, true), &want, 1e-6));
        assert!(close(&Model::EtsDamped.forecast(&y, 12, true), &want, 0.02));
        assert!(close(&Model::EtsDampedLog.forecast(&y, 12, true), &want, 0.02));
    }

    #[test]
    fn exponential_smoothing_follows_a_level_shift() {
        let y: Vec<f64> = (0..40).map(|t| if t < 30 { 100.0 } else { 200.0 }).collect();
        let f = Model::EtsDamped.forecast(&y, 1, false)[0];
        assert!((f - 200.0).abs() < 10.0, "{f}");
        // a straight line cannot
        assert!(Model::LinearTrend.forecast(&y, 1, false)[0] < 190.0);
    }
}

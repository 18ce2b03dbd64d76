//! The forecast benchmark: for each series, the whole forecasting procedure (model choice
//! included) is run at each of the last 12 origins on the data before it, one step ahead.
//! Reported: MASE (scaled by the mean absolute lag-12 difference of the training part at the first
//! origin), MAPE, and how often the 80 % and 95 % intervals held the actual value.

use super::{Series, forecast, mase_scale};

/// One series' errors.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesResult {
    /// Its name (the file stem).
    pub name: String,
    /// Mean absolute scaled error.
    pub mase: f64,
    /// Mean absolute percentage error, in percent.
    pub(crate) mape: f64,
    /// Share of origins whose actual fell in the 80 % interval.
    pub(crate) coverage_80: f64,
    /// Same for 95 %.
    pub(crate) coverage_95: f64,
    /// The methods chosen at the origins.
    pub(crate) chosen: Vec<&'static str>,
}

/// Runs the protocol on one series (which needs at least 15 months).
pub fn evaluate(name: &str, series: &Series) -> SeriesResult {
    let y = &series.values;
    let n = y.len();
    let k = super::BACKTEST_MONTHS.min(n.saturating_sub(super::MIN_MONTHS));
    let scale = mase_scale(&y[..n - k]);
    let (mut ae, mut ape, mut in80, mut in95, mut chosen) = (0.0, 0.0, 0, 0, Vec::new());
    for o in n - k..n {
        let train = Series { start: series.start, values: y[..o].to_vec() };
        let f = forecast(&train, 1).expect("the origin has enough data");
        let actual = y[o];
        ae += (actual - f.forecast).abs();
        ape += ((actual - f.forecast) / actual).abs();
        in80 += usize::from(f.interval_80[0] <= actual && actual <= f.interval_80[1]);
        in95 += usize::from(f.interval_95[0] <= actual && actual <= f.interval_95[1]);
        chosen.push(f.model);
    }
    let k = k as f64;
    SeriesResult {
        name: name.to_string(),
        mase: ae / k / scale,
        mape: ape / k * 100.0,
        coverage_80: in80 as f64 / k,
        coverage_95: in95 as f64 / k,
        chosen,
    }
}

/// The overall figures: geometric mean of MASE, mean MAPE, mean coverages.
pub fn overall(results: &[SeriesResult]) -> (f64, f64, f64, f64) {
    let n = results.len().max(1) as f64;
    let gm = (results.iter().map(|r| r.mase.ln()).sum::<f64>() / n).exp();
    let mean = |f: fn(&SeriesResult) -> f64| results.iter().map(f).sum::<f64>() / n;
    (gm, mean(|r| r.mape), mean(|r| r.coverage_80), mean(|r| r.coverage_95))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backtest_arithmetic_on_a_hand_worked_series() {
        // y = 100, 101, …, 129: the training part at the first origin (months 0..18) has lag-12
        // differences of exactly 12, and a straight line is forecast almost exactly
        let values: Vec<f64> = (0..30).map(|t| 100.0 + t as f64).collect();
        let s = Series { start: "2020-01".parse().unwrap(), values };
        assert_eq!(mase_scale(&s.values[..18]), 12.0);
        let r = evaluate("line", &s);
        // a straight line is forecast almost exactly by the trend models
        assert!(r.mase < 0.05, "{r:?}");
        assert!(r.mape < 0.1);
        assert_eq!(r.chosen.len(), 12);
    }

    #[test]
    fn overall_takes_the_geometric_mean_of_mase() {
        let r = |mase: f64, mape: f64| SeriesResult {
            name: String::new(),
            mase,
            mape,
            coverage_80: 0.5,
            coverage_95: 1.0,
            chosen: vec![],
        };
        let (gm, mape, c80, c95) = overall(&[r(0.25, 10.0), r(1.0, 20.0)]);
        assert!((gm - 0.5).abs() < 1e-12);
        assert_eq!((mape, c80, c95), (15.0, 0.5, 1.0));
    }
}

//! Customer lifetime value (customers.md): the BG/NBD model of repeat purchases (Fader, Hardie &
//! Lee 2005) and the Gamma-Gamma model of spend per purchase (Fader & Hardie 2013), fitted by
//! maximum likelihood on a per-customer summary (`x`, `t_x`, `T` in weeks and the mean repeat
//! value `m`), then each customer's P(alive), expected purchases, expected value and CLV.
//!
//! The log-likelihoods are written in log space (log-gamma from `libm`, the likelihood's two
//! terms added with log-sum-exp), so fits over 100k customers neither overflow nor underflow;
//! customers with the same summary are counted once with a weight. Parameters are optimised on
//! their logarithms (they must be positive) with the project's Nelder-Mead, restarted from its
//! own optimum until it stops improving. The Gauss hypergeometric 2F1 of the conditional
//! expectation is its power series (z < 1 always here): no maintained crate offers 2F1 without
//! pulling in BLAS, so that function is written out (in `hyp2f1`).
//!
//! One job per module: `likelihood` (the two log-likelihoods and their data), `fit` (the restarted
//! maximisation and the two fits), `hyp2f1` (the hypergeometric function), `predict` (the fitted
//! models and what they predict per customer), `round` (how their figures serialize), `warehouse`
//! (the summary's SQL and CLV on a warehouse), `csv` (a summary as a CSV file); this module ties
//! them together into [`model`].

mod csv;
mod fit;
mod hyp2f1;
mod likelihood;
mod predict;
mod round;
mod warehouse;

pub use self::csv::read_summary;

pub(crate) use self::csv::write_summary;
use chrono::NaiveDate;
pub use fit::{fit_bgnbd, fit_gamma_gamma};
use fit::{fit_bgnbd_until, fit_gamma_gamma_until};
pub use predict::BgNbd;
pub use predict::GammaGamma;
pub use predict::Prediction;
use serde::Serialize;
pub use warehouse::{clv, summary};

/// The fewest repeat purchasers a fit is attempted on; fewer gives a warning instead.
pub(crate) const MIN_REPEATERS: usize = 10;

/// One customer's summary, in weeks.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The customer's id.
    pub id: String,
    /// Repeat purchase days.
    pub x: f64,
    /// Last minus first purchase day.
    pub t_x: f64,
    /// Calibration end minus first purchase day.
    pub t: f64,
    /// Mean value of the repeat purchase days (0 when x = 0).
    pub m: f64,
}

/// How to compute CLV.
#[derive(Clone, Debug)]
pub struct ClvOptions {
    /// Only purchase days on or before it count (default: the day of the last order).
    pub calibration_end: Option<NaiveDate>,
    /// Weeks ahead the expected purchases are counted over.
    pub horizon_weeks: u32,
    /// Annual discount rate (e.g. 0.1): week w's purchases are worth 1 / (1 + rate)^(w / 52).
    pub discount_rate: Option<f64>,
    /// How many customers `top` lists (by CLV).
    pub top: usize,
    /// Give up (with [`Clv::stopped`]) when the fits and predictions run past it: a server's
    /// request must not keep a core busy after it has been answered.
    pub deadline: Option<std::time::Instant>,
}

impl Default for ClvOptions {
    fn default() -> Self {
        ClvOptions { calibration_end: None, horizon_weeks: 52, discount_rate: None, top: 10, deadline: None }
    }
}

pub(super) fn past(deadline: Option<std::time::Instant>) -> bool {
    deadline.is_some_and(|d| std::time::Instant::now() >= d)
}

/// The fits, the top customers by CLV, and any warnings about what the data cannot support.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Clv {
    /// The calibration end, when known.
    pub calibration_end: Option<NaiveDate>,
    /// Customers in the summary.
    pub customers: usize,
    /// Of those, with a repeat purchase.
    pub(crate) repeaters: usize,
    /// The BG/NBD fit, unless the data cannot support it.
    pub bgnbd: Option<BgNbd>,
    /// The Gamma-Gamma fit, unless the data cannot support it.
    pub gamma_gamma: Option<GammaGamma>,
    /// The top customers by CLV (both fits needed).
    pub top: Vec<Prediction>,
    /// Why a fit or the predictions are missing, in plain words.
    pub warnings: Vec<String>,
    /// Every customer's predictions, by CLV descending (not part of the JSON summary).
    #[serde(skip)]
    pub all: Vec<Prediction>,
    /// The deadline passed before the work was done: nothing here is to be used.
    #[serde(skip)]
    pub stopped: bool,
}

/// Fits both models on `rows` and predicts every customer; what the data cannot support becomes
/// a warning.
pub fn model(rows: &[Summary], calibration_end: Option<NaiveDate>, options: &ClvOptions) -> Clv {
    let repeaters = rows.iter().filter(|r| r.x > 0.0).count();
    let spenders = rows.iter().filter(|r| r.x > 0.0 && r.m > 0.0).count();
    let mut clv = Clv {
        calibration_end,
        customers: rows.len(),
        repeaters,
        bgnbd: None,
        gamma_gamma: None,
        top: Vec::new(),
        warnings: Vec::new(),
        all: Vec::new(),
        stopped: false,
    };
    if rows.is_empty() {
        clv.warnings.push("no customer has a purchase on or before the calibration end".into());
        return clv;
    }
    if repeaters < MIN_REPEATERS {
        clv.warnings.push(format!(
            "only {repeaters} of {} customers bought again before the calibration end; BG/NBD needs at least {MIN_REPEATERS} repeat purchasers",
            rows.len()
        ));
    } else {
        let fit = fit_bgnbd_until(rows, options.deadline);
        if !fit.converged {
            clv.warnings.push("the BG/NBD fit did not converge; its parameters are the best found".into());
        }
        clv.warnings.extend(fit.at_boundary());
        clv.bgnbd = Some(fit);
    }
    if spenders < MIN_REPEATERS {
        clv.warnings.push(format!(
            "only {spenders} customers have repeat purchases of positive value; Gamma-Gamma needs at least {MIN_REPEATERS}"
        ));
    } else {
        let fit = fit_gamma_gamma_until(rows, options.deadline);
        if !fit.converged {
            clv.warnings.push("the Gamma-Gamma fit did not converge; its parameters are the best found".into());
        }
        if fit.q <= 1.0 {
            clv.warnings.push(format!(
                "the Gamma-Gamma fit has q = {:.4} <= 1: its mean spend is infinite, so no CLV is given",
                fit.q
            ));
        } else {
            clv.gamma_gamma = Some(fit);
        }
    }
    if let (Some(bg), Some(gg)) = (&clv.bgnbd, &clv.gamma_gamma) {
        let h = options.horizon_weeks as f64;
        let mut all: Vec<Prediction> = rows
            .iter()
            .enumerate()
            .map_while(|(i, r)| {
                if i % 1024 == 0 && past(options.deadline) {
                    return None;
                }
                let expected_purchases = bg.expected_purchases(r.x, r.t_x, r.t, h);
                let expected_value = gg.expected_value(r.x, r.m);
                let purchases = match options.discount_rate {
                    None => expected_purchases,
                    Some(rate) => (1..=options.horizon_weeks)
                        .map(|w| {
                            let w = w as f64;
                            let week = bg.expected_purchases(r.x, r.t_x, r.t, w)
                                - bg.expected_purchases(r.x, r.t_x, r.t, w - 1.0);
                            week / (1.0 + rate).powf(w / 52.0)
                        })
                        .sum(),
                };
                Some(Prediction {
                    customer_id: r.id.clone(),
                    x: r.x,
                    t_x: r.t_x,
                    t: r.t,
                    p_alive: bg.p_alive(r.x, r.t_x, r.t),
                    expected_purchases,
                    expected_value,
                    clv: purchases * expected_value,
                })
            })
            .collect();
        if all.len() < rows.len() {
            clv.stopped = true;
            return clv;
        }
        all.sort_by(|a, b| b.clv.total_cmp(&a.clv).then_with(|| a.customer_id.cmp(&b.customer_id)));
        clv.top = all.iter().take(options.top).cloned().collect();
        clv.all = all;
    }
    clv.stopped = past(options.deadline);
    clv
}

#[cfg(test)]
mod tests {
    use super::hyp2f1::hyp2f1;
    use super::*;

    #[test]
    fn hypergeometric_series_matches_closed_forms() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z
        for z in [0.1, 0.5, 0.9] {
            let want = -(1.0f64 - z).ln() / z;
            assert!((hyp2f1(1.0, 1.0, 2.0, z) - want).abs() < 1e-12, "z = {z}");
        }
        // 2F1(a, b; b; z) = (1 - z)^-a
        assert!((hyp2f1(2.5, 3.0, 3.0, 0.3) - 0.7f64.powf(-2.5)).abs() < 1e-12);
    }

    #[test]
    fn a_passed_deadline_stops_the_work() {
        let rows: Vec<Summary> = (0..200)
            .map(|i| Summary {
                id: i.to_string(),
                x: (i % 5) as f64,
                t_x: (i % 30) as f64,
                t: 40.0,
                m: 10.0 + (i % 7) as f64,
            })
            .map(|mut r| {
                if r.x == 0.0 {
                    (r.t_x, r.m) = (0.0, 0.0);
                }
                r
            })
            .collect();
        let done = model(&rows, None, &ClvOptions::default());
        assert!(!done.stopped && done.bgnbd.is_some() && !done.all.is_empty());
        let late = ClvOptions { deadline: Some(std::time::Instant::now()), ..Default::default() };
        let stopped = model(&rows, None, &late);
        assert!(stopped.stopped);
    }

    #[test]
    fn a_fit_driven_to_the_boundary_says_so() {
        // 60 customers who all bought in their last week: nobody drops out, so a -> 0
        let rows: Vec<Summary> = (0..60)
            .map(|i| {
                let t = 30.0 + (i % 20) as f64;
                Summary { id: i.to_string(), x: 2.0 + (i % 5) as f64, t_x: t - 0.5, t, m: 10.0 }
            })
            .collect();
        let clv = model(&rows, None, &ClvOptions::default());
        let bg = clv.bgnbd.as_ref().unwrap();
        assert!(bg.a < 1e-3 || bg.a / (bg.a + bg.b) < 1e-3, "{bg:?}");
        assert!(clv.warnings.iter().any(|w| w.contains("the BG/NBD fit is at a boundary")), "{:?}", clv.warnings);
        // a fit inside the space gives no such warning
        let inside = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, log_likelihood: 0.0, converged: true };
        assert_eq!(inside.at_boundary(), None);
    }

    #[test]
    fn p_alive_and_expectations_behave() {
        let bg = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426, log_likelihood: 0.0, converged: true };
        assert_eq!(bg.p_alive(0.0, 0.0, 30.0), 1.0);
        // a customer who bought often and recently is more alive than one who stopped long ago
        assert!(bg.p_alive(5.0, 30.0, 32.0) > bg.p_alive(5.0, 5.0, 32.0));
        // more weeks, more purchases; none in no time
        let e: Vec<f64> =
            [0.0, 13.0, 39.0, 52.0].iter().map(|w| bg.expected_purchases(2.0, 30.43, 38.86, *w)).collect();
        assert!(e[0].abs() < 1e-12 && e.windows(2).all(|p| p[1] > p[0]), "{e:?}");
    }
}

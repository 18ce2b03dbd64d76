//! Both models fitted on the customers' summaries, every customer predicted, and what the data
//! cannot support said as warnings.

use super::fit::{fit_bgnbd_until, fit_gamma_gamma_until, past};
use super::predict::{BgNbd, GammaGamma, Prediction};
use super::summary::Summary;
use chrono::NaiveDate;
use serde::Serialize;

/// The fewest repeat purchasers a fit is attempted on; fewer gives a warning instead.
pub(crate) const MIN_REPEATERS: usize = 10;

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

/// The fits, the top customers by CLV, and any warnings about what the data cannot support.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
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
        // at a boundary the likelihood only approaches its top: the boundary's warning says so
        if !fit.converged && fit.at_boundary().is_none() {
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

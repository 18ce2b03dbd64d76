//! Maximum-likelihood fits: Nelder-Mead on the parameters' logarithms, restarted from its own
//! optimum until a restart gains nothing, within an optional deadline.

use super::likelihood::{BgData, GgData, bgnbd_log_likelihood, gamma_gamma_log_likelihood};
use super::predict::{BgNbd, GammaGamma};
use super::summary::Summary;
use crate::optimize::minimize_within;

/// Maximises `ll` over positive parameters from `start`: Nelder-Mead on their logarithms,
/// to 1e-9 in log-likelihood (the likelihood is flat near its top, so a relative criterion stops
/// early there), restarted from its optimum with smaller simplexes until a restart gains nothing.
fn maximize(ll: &dyn Fn(&[f64]) -> f64, start: &[f64], deadline: Option<std::time::Instant>) -> (Vec<f64>, f64, bool) {
    let cost = |p: &[f64]| {
        // past the deadline every point is infinitely bad: the simplex collapses at once
        if past(deadline) {
            return f64::INFINITY;
        }
        let v = ll(&p.iter().map(|x| x.exp()).collect::<Vec<_>>());
        if v.is_finite() { -v } else { f64::INFINITY }
    };
    let mut at: Vec<f64> = start.iter().map(|x| x.ln()).collect();
    let mut best = cost(&at);
    let mut converged = false;
    let mut step = 0.5;
    for _ in 0..30 {
        if past(deadline) {
            break;
        }
        // 1e-9, or what the sum's rounding allows on a large data set
        let m = minimize_within(&cost, &at, step, 4000, &|best| (1e-14 * best.abs()).max(1e-9));
        if !m.value.is_finite() {
            break;
        }
        let gain = best - m.value;
        at = m.x;
        best = m.value;
        if m.converged && gain.abs() <= (1e-14 * best.abs()).max(1e-9) && step < 1e-3 {
            converged = true;
            break;
        }
        step = (step * 0.25).max(1e-4);
    }
    (at.iter().map(|x| x.exp()).collect(), -best, converged)
}

/// Fits BG/NBD on the summaries (start values 1, as lifetimes does).
pub fn fit_bgnbd(rows: &[Summary]) -> BgNbd {
    fit_bgnbd_until(rows, None)
}

pub(super) fn fit_bgnbd_until(rows: &[Summary], deadline: Option<std::time::Instant>) -> BgNbd {
    let data = BgData::new(rows);
    let (p, ll, converged) =
        maximize(&|p| bgnbd_log_likelihood(p[0], p[1], p[2], p[3], &data), &[1.0, 1.0, 1.0, 1.0], deadline);
    BgNbd { r: p[0], alpha: p[1], a: p[2], b: p[3], log_likelihood: ll, converged }
}

/// Fits Gamma-Gamma on the summaries with x > 0 and m > 0 (start values 1).
pub fn fit_gamma_gamma(rows: &[Summary]) -> GammaGamma {
    fit_gamma_gamma_until(rows, None)
}

pub(super) fn fit_gamma_gamma_until(rows: &[Summary], deadline: Option<std::time::Instant>) -> GammaGamma {
    let data = GgData::new(rows);
    let (p, ll, converged) =
        maximize(&|p| gamma_gamma_log_likelihood(p[0], p[1], p[2], &data), &[1.0, 1.0, 1.0], deadline);
    GammaGamma { p: p[0], q: p[1], v: p[2], customers: data.len(), log_likelihood: ll, converged }
}

/// Whether `deadline` has passed.
pub(super) fn past(deadline: Option<std::time::Instant>) -> bool {
    deadline.is_some_and(|d| std::time::Instant::now() >= d)
}

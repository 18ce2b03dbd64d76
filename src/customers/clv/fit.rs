//! Maximum-likelihood fits: BFGS on the parameters' logarithms with the likelihoods' gradients,
//! falling back to Nelder-Mead restarted from its own optimum until a restart gains nothing;
//! within an optional deadline.

use super::likelihood::{BgData, GgData, WithGradient, bgnbd_log_likelihood, gamma_gamma_log_likelihood};
use super::predict::{BgNbd, GammaGamma};
use super::summary::Summary;
use crate::optimize::{bfgs, minimize_within};

/// How close to the top a fit must come: 1e-9 in log-likelihood (the likelihood is flat near its
/// top, so a relative criterion stops early there), or what the sum's rounding allows on a large
/// data set.
fn tolerance(best: f64) -> f64 {
    (1e-14 * best.abs()).max(1e-9)
}

/// Maximises `ll` (the log-likelihood and its gradient) over positive parameters from `start`.
///
/// BFGS on the parameters' logarithms takes some tens of evaluations where Nelder-Mead takes
/// thousands (each evaluation is a pass over every distinct customer summary). Should it stop
/// short of the tolerance (a likelihood too flat, or rounding that leaves no lower point in
/// sight) inside the parameter space, Nelder-Mead goes on from where it stopped, restarted with
/// smaller simplexes until a restart gains nothing.
fn maximize<const N: usize>(
    ll: &dyn Fn(&[f64]) -> WithGradient<N>,
    start: &[f64; N],
    deadline: Option<std::time::Instant>,
) -> (Vec<f64>, f64, bool) {
    let with_gradient = |at: &[f64]| {
        // past the deadline every point is infinitely bad: the search stops at once
        if past(deadline) {
            return (f64::INFINITY, vec![f64::NAN; N]);
        }
        let p: Vec<f64> = at.iter().map(|x| x.exp()).collect();
        let (v, g) = ll(&p);
        // d(−LL)/d(ln p) = −p · dLL/dp
        (-v, p.iter().zip(g).map(|(p, g)| -p * g).collect())
    };
    let start: Vec<f64> = start.iter().map(|x| x.ln()).collect();
    let quasi_newton = bfgs(&with_gradient, &start, 500, &tolerance);
    // a parameter beyond e^±10 is running off to the edge of the space, where the likelihood
    // climbs towards a limit it never reaches: Nelder-Mead would follow it for minutes, and
    // the fit's boundary warning says what such parameters mean
    let at_edge = quasi_newton.x.iter().any(|x| x.abs() > 10.0);
    if quasi_newton.converged || at_edge && quasi_newton.value.is_finite() {
        return (quasi_newton.x.iter().map(|x| x.exp()).collect(), -quasi_newton.value, quasi_newton.converged);
    }
    let cost = |at: &[f64]| {
        let v = with_gradient(at).0;
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let (mut at, mut best, mut step) = match quasi_newton.value.is_finite() {
        true => (quasi_newton.x, quasi_newton.value, 0.01),
        false => (start.clone(), cost(&start), 0.5),
    };
    let mut converged = false;
    for _ in 0..30 {
        if past(deadline) {
            break;
        }
        let m = minimize_within(&cost, &at, step, 4000, &tolerance);
        if !m.value.is_finite() {
            break;
        }
        let gain = best - m.value;
        at = m.x;
        best = m.value;
        if m.converged && gain.abs() <= tolerance(best) && step < 1e-3 {
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
    let (p, ll, converged) = maximize(&|p| bgnbd_log_likelihood(p[0], p[1], p[2], p[3], &data), &[1.0; 4], deadline);
    BgNbd { r: p[0], alpha: p[1], a: p[2], b: p[3], log_likelihood: ll, converged }
}

/// Fits Gamma-Gamma on the summaries with x > 0 and m > 0 (start values 1).
pub fn fit_gamma_gamma(rows: &[Summary]) -> GammaGamma {
    fit_gamma_gamma_until(rows, None)
}

pub(super) fn fit_gamma_gamma_until(rows: &[Summary], deadline: Option<std::time::Instant>) -> GammaGamma {
    let data = GgData::new(rows);
    let (p, ll, converged) = maximize(&|p| gamma_gamma_log_likelihood(p[0], p[1], p[2], &data), &[1.0; 3], deadline);
    GammaGamma { p: p[0], q: p[1], v: p[2], customers: data.len(), log_likelihood: ll, converged }
}

/// Whether `deadline` has passed.
pub(super) fn past(deadline: Option<std::time::Instant>) -> bool {
    deadline.is_some_and(|d| std::time::Instant::now() >= d)
}

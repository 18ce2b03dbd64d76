//! Minimisation of a few parameters: Nelder-Mead, for the forecast's exponential smoothing and as
//! the CLV fits' fallback, and BFGS, for the CLV likelihoods, whose gradients are known. (argmin
//! has both; its solver set-up costs more code than these lines for fits of two to six
//! parameters.)

/// Where a minimisation ended.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Minimum {
    /// The best point found.
    pub x: Vec<f64>,
    /// `f` there.
    pub value: f64,
    /// Whether the simplex's values agreed to 1e-10 (relative) before the step limit.
    pub converged: bool,
}

/// Minimises `f` from `start` with an initial simplex of size `step`; at most `iterations` steps.
pub(crate) fn nelder_mead(f: &dyn Fn(&[f64]) -> f64, start: &[f64], step: f64, iterations: usize) -> Vec<f64> {
    minimize(f, start, step, iterations).x
}

/// Like [`nelder_mead`], saying whether it converged and the value reached.
pub(crate) fn minimize(f: &dyn Fn(&[f64]) -> f64, start: &[f64], step: f64, iterations: usize) -> Minimum {
    minimize_within(f, start, step, iterations, &|best| 1e-10 * (best.abs() + 1e-12))
}

/// Like [`minimize`], converged when the simplex's values differ by at most `tolerance(best)`.
pub(crate) fn minimize_within(
    f: &dyn Fn(&[f64]) -> f64,
    start: &[f64],
    step: f64,
    iterations: usize,
    tolerance: &dyn Fn(f64) -> f64,
) -> Minimum {
    let n = start.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = (0..=n)
        .map(|i| {
            let mut x = start.to_vec();
            if i > 0 {
                x[i - 1] += step;
            }
            let v = f(&x);
            (x, v)
        })
        .collect();
    let mut converged = false;
    for _ in 0..iterations {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[n].1);
        if (worst - best).abs() <= tolerance(best) {
            converged = true;
            break;
        }
        let centroid: Vec<f64> = (0..n).map(|j| simplex[..n].iter().map(|p| p.0[j]).sum::<f64>() / n as f64).collect();
        let towards =
            |t: f64| -> Vec<f64> { centroid.iter().zip(&simplex[n].0).map(|(c, w)| c + t * (w - c)).collect() };
        let reflected = towards(-1.0);
        let fr = f(&reflected);
        if fr < simplex[0].1 {
            let expanded = towards(-2.0);
            let fe = f(&expanded);
            simplex[n] = if fe < fr { (expanded, fe) } else { (reflected, fr) };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (reflected, fr);
        } else {
            let contracted = if fr < worst { towards(-0.5) } else { towards(0.5) };
            let fc = f(&contracted);
            if fc < worst.min(fr) {
                simplex[n] = (contracted, fc);
            } else {
                let best_x = simplex[0].0.clone();
                for p in simplex.iter_mut().skip(1) {
                    p.0 = best_x.iter().zip(&p.0).map(|(b, x)| b + 0.5 * (x - b)).collect();
                    p.1 = f(&p.0);
                }
            }
        }
    }
    let (x, value) = simplex.into_iter().min_by(|a, b| a.1.total_cmp(&b.1)).expect("a simplex has points");
    Minimum { x, value, converged }
}

/// A function's value at a point and its gradient there.
pub(crate) type ValueAndGradient = (f64, Vec<f64>);

/// Minimises `f`, which gives its value and gradient, from `start` by BFGS: quasi-Newton steps
/// along the inverse Hessian built from the gradients, with a backtracking (Armijo) line search;
/// at most `iterations` steps. Converged when the decrease the model still predicts,
/// ½ gᵀHg, is at most `tolerance(value)`, after the Hessian has been updated at least once per
/// parameter; or, when the search stalls (three steps in a row gained less than the tolerance,
/// or no step finds a lower point), when that decrease is within a thousand times the tolerance
/// or 1e-4: the rounding of a sum over many terms then hides what is left. A value or gradient
/// that is not finite is a point too far: the step is shortened.
pub(crate) fn bfgs(
    f: &dyn Fn(&[f64]) -> ValueAndGradient,
    start: &[f64],
    iterations: usize,
    tolerance: &dyn Fn(f64) -> f64,
) -> Minimum {
    let n = start.len();
    let identity =
        || -> Vec<Vec<f64>> { (0..n).map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect()).collect() };
    let finite = |(v, g): &ValueAndGradient| v.is_finite() && g.iter().all(|x| x.is_finite());
    // where the search stalls, what is left to gain may be this much: a thousand times the
    // tolerance, or 1e-4 (a sum of many terms rounds away gains below that)
    let stalled_tolerance = |value: f64| (1e3 * tolerance(value)).max(1e-4);
    let mut x = start.to_vec();
    let (mut value, mut grad) = f(&x);
    if !finite(&(value, grad.clone())) {
        return Minimum { x, value: f64::INFINITY, converged: false };
    }
    let mut h = identity();
    let (mut updates, mut stalled) = (0, 0);
    for _ in 0..iterations {
        let mut dir: Vec<f64> = h.iter().map(|row| -row.iter().zip(&grad).map(|(a, b)| a * b).sum::<f64>()).collect();
        let mut slope: f64 = dir.iter().zip(&grad).map(|(d, g)| d * g).sum();
        if slope >= 0.0 || !slope.is_finite() {
            // not a descent direction: start the Hessian afresh
            (h, updates) = (identity(), 0);
            dir = grad.iter().map(|g| -g).collect();
            slope = -grad.iter().map(|g| g * g).sum::<f64>();
        }
        let left = -slope / 2.0;
        if left <= tolerance(value) && updates >= n || stalled >= 3 && left <= stalled_tolerance(value) {
            return Minimum { x, value, converged: true };
        }
        // no step longer than 4 in any coordinate (a factor e^4 on a log-parameter)
        let longest = dir.iter().fold(0.0f64, |m, d| m.max(d.abs()));
        let mut t = if longest > 4.0 { 4.0 / longest } else { 1.0 };
        let next = loop {
            let to: Vec<f64> = x.iter().zip(&dir).map(|(x, d)| x + t * d).collect();
            if to == x || t < 1e-12 {
                // steps too short to move: no lower point in this direction
                break None;
            }
            let at = f(&to);
            if finite(&at) && at.0 <= value + 1e-4 * t * slope {
                break Some((to, at));
            }
            t *= 0.5;
        };
        // the line search found nothing lower: as low as this method gets
        let Some((to, (to_value, to_grad))) = next else {
            return Minimum { x, value, converged: left <= stalled_tolerance(value) };
        };
        // steps that gain less than the tolerance: the sums' rounding hides what is left
        stalled = if value - to_value <= tolerance(value) { stalled + 1 } else { 0 };
        let s: Vec<f64> = to.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = to_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy: f64 = s.iter().zip(&y).map(|(a, b)| a * b).sum();
        if sy > 1e-12 * s.iter().map(|v| v * v).sum::<f64>().sqrt() * y.iter().map(|v| v * v).sum::<f64>().sqrt() {
            if updates == 0 {
                // scale the first inverse Hessian to the curvature just seen
                let yy: f64 = y.iter().map(|v| v * v).sum();
                h = identity().into_iter().map(|row| row.into_iter().map(|v| v * sy / yy).collect()).collect();
            }
            // H ← (I − ρsyᵀ) H (I − ρysᵀ) + ρssᵀ
            let rho = 1.0 / sy;
            let hy: Vec<f64> = h.iter().map(|row| row.iter().zip(&y).map(|(a, b)| a * b).sum()).collect();
            let yhy: f64 = y.iter().zip(&hy).map(|(a, b)| a * b).sum();
            for i in 0..n {
                for j in 0..n {
                    h[i][j] += -rho * (hy[i] * s[j] + s[i] * hy[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
                }
            }
            updates += 1;
        }
        (x, value, grad) = (to, to_value, to_grad);
    }
    Minimum { x, value, converged: false }
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_minimum_of_a_bowl_and_of_rosenbrock() {
        let bowl = |x: &[f64]| (x[0] - 3.0).powi(2) + (x[1] + 1.0).powi(2);
        let m = super::nelder_mead(&bowl, &[0.0, 0.0], 1.0, 500);
        assert!((m[0] - 3.0).abs() < 1e-4 && (m[1] + 1.0).abs() < 1e-4, "{m:?}");
        let rosen = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = super::nelder_mead(&rosen, &[-1.0, 1.0], 0.5, 2000);
        assert!((m[0] - 1.0).abs() < 1e-3 && (m[1] - 1.0).abs() < 1e-3, "{m:?}");
    }

    #[test]
    fn bfgs_finds_the_minimum_of_a_bowl_and_of_rosenbrock() {
        let bowl =
            |x: &[f64]| ((x[0] - 3.0).powi(2) + (x[1] + 1.0).powi(2), vec![2.0 * (x[0] - 3.0), 2.0 * (x[1] + 1.0)]);
        let m = super::bfgs(&bowl, &[0.0, 0.0], 100, &|_| 1e-16);
        assert!(m.converged && (m.x[0] - 3.0).abs() < 1e-6 && (m.x[1] + 1.0).abs() < 1e-6, "{m:?}");
        let rosen = |x: &[f64]| {
            let v = (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
            let g0 = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
            (v, vec![g0, 200.0 * (x[1] - x[0] * x[0])])
        };
        let m = super::bfgs(&rosen, &[-1.2, 1.0], 500, &|_| 1e-20);
        assert!(m.converged && (m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6, "{m:?}");
        // a point where the function is not finite is stepped back from
        let wall = |x: &[f64]| match x[0] {
            v if v <= 0.0 => (f64::INFINITY, vec![f64::NAN]),
            v => (v - v.ln(), vec![1.0 - 1.0 / v]),
        };
        let m = super::bfgs(&wall, &[5.0], 100, &|_| 1e-18);
        assert!(m.converged && (m.x[0] - 1.0).abs() < 1e-6, "{m:?}");
    }

    #[test]
    fn bfgs_stops_where_rounding_leaves_nothing_to_gain() {
        // a large value whose last bits are noise: a tolerance of 1e-20 cannot be met, and the
        // search must stop at the floor rather than spend every iteration there
        let calls = std::cell::Cell::new(0);
        let noisy = |x: &[f64]| {
            calls.set(calls.get() + 1);
            let noise = f64::from(calls.get() % 7) * 1e-9;
            (1e6 + 1e3 * (x[0] - 2.0).powi(2) + noise, vec![2e3 * (x[0] - 2.0) + noise])
        };
        let m = super::bfgs(&noisy, &[0.0], 500, &|_| 1e-20);
        assert!(m.converged && (m.x[0] - 2.0).abs() < 1e-3 && calls.get() < 100, "{m:?} after {} calls", calls.get());
    }
}

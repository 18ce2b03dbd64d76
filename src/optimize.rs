//! Nelder-Mead minimisation, for the few parameters of the forecast's exponential smoothing and of
//! the CLV models. (argmin has it too; its solver set-up costs more code than these fifty lines
//! for fits of two to six parameters.)

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
}

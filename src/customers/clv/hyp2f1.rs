//! The Gauss hypergeometric function 2F1, by its power series: no maintained crate offers it
//! without pulling in BLAS.

/// The Gauss hypergeometric function 2F1(a, b; c; z) by its power series, for 0 <= z < 1.
pub(crate) fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let (mut term, mut sum) = (1.0, 1.0);
    for n in 0..1_000_000 {
        let n = n as f64;
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() <= 1e-15 * sum.abs() {
            break;
        }
    }
    sum
}

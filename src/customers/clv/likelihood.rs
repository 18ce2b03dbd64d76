//! The BG/NBD and Gamma-Gamma log-likelihoods and their gradients, in log space, on their data
//! grouped for speed.

use super::summary::Summary;
use libm::lgamma;
use statrs::function::gamma::digamma;
use std::collections::HashMap;

/// A log-likelihood's value and its gradient in the model's N parameters.
pub(crate) type WithGradient<const N: usize> = (f64, [f64; N]);

/// The BG/NBD data in the form its likelihood is fast on: customers with the same (x, t_x, T)
/// counted once with a weight, and each distinct x, t_x and T listed once, so a likelihood
/// evaluation takes one exponential and one logarithm per distinct summary.
pub(crate) struct BgData {
    xs: Vec<f64>,
    txs: Vec<f64>,
    ts: Vec<f64>,
    /// (index in xs, index in txs, index in ts, customers).
    groups: Vec<(u32, u32, u32, f64)>,
}

fn index_of(values: &mut Vec<f64>, seen: &mut HashMap<u64, u32>, v: f64) -> u32 {
    *seen.entry(v.to_bits()).or_insert_with(|| {
        values.push(v);
        values.len() as u32 - 1
    })
}

impl BgData {
    /// Groups the summaries.
    pub(crate) fn new(rows: &[Summary]) -> BgData {
        let (mut xs, mut txs, mut ts) = (Vec::new(), Vec::new(), Vec::new());
        let (mut sx, mut stx, mut st) = (HashMap::new(), HashMap::new(), HashMap::new());
        let mut weights: HashMap<(u32, u32, u32), f64> = HashMap::new();
        for r in rows {
            let key =
                (index_of(&mut xs, &mut sx, r.x), index_of(&mut txs, &mut stx, r.t_x), index_of(&mut ts, &mut st, r.t));
            *weights.entry(key).or_default() += 1.0;
        }
        let mut groups: Vec<_> = weights.into_iter().map(|((x, tx, t), w)| (x, tx, t, w)).collect();
        groups.sort_by_key(|g| (g.0, g.1, g.2));
        BgData { xs, txs, ts, groups }
    }
}

/// The BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6), in log space, and its gradient
/// in (r, alpha, a, b).
///
/// Per customer, LL = ln Γ(r+x) − ln Γ(r) + r ln α + ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) −
/// ln Γ(a+b+x) + ln(A + B), with A = (α+T)^−(r+x) and, for x > 0,
/// B = a / (b+x−1) · (α+t_x)^−(r+x).
/// The gradient of ln(A + B) is the derivatives of ln A and ln B weighted by the share
/// s = B / (A + B); the gamma functions' derivatives are digammas, one set per distinct x.
pub(crate) fn bgnbd_log_likelihood(r: f64, alpha: f64, a: f64, b: f64, d: &BgData) -> WithGradient<4> {
    let base = lgamma(a + b) - lgamma(b) - lgamma(r) + r * alpha.ln();
    let ln_t: Vec<f64> = d.ts.iter().map(|t| (alpha + t).ln()).collect();
    let ln_tx: Vec<f64> = d.txs.iter().map(|t| (alpha + t).ln()).collect();
    let inv_t: Vec<f64> = d.ts.iter().map(|t| 1.0 / (alpha + t)).collect();
    let inv_tx: Vec<f64> = d.txs.iter().map(|t| 1.0 / (alpha + t)).collect();
    // per distinct x: its customers' weight, and their weighted sum of s
    let mut per_x = vec![(0.0f64, 0.0f64); d.xs.len()];
    let (mut total, mut d_r, mut d_alpha) = (0.0, 0.0, 0.0);
    for &(xi, txi, ti, w) in &d.groups {
        let x = d.xs[xi as usize];
        let rx = r + x;
        let ln_a = -rx * ln_t[ti as usize];
        let (term, s) = if x > 0.0 {
            let ln_b = a.ln() - (b + x - 1.0).ln() - rx * ln_tx[txi as usize];
            // ln(e^A + e^B) and s = e^B / (e^A + e^B), from one exponential
            let e = (-(ln_a - ln_b).abs()).exp();
            let s = if ln_b > ln_a { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
            (ln_a.max(ln_b) + e.ln_1p(), s)
        } else {
            (ln_a, 0.0)
        };
        total += w * term;
        let (ti, txi) = (ti as usize, txi as usize);
        d_r -= w * ((1.0 - s) * ln_t[ti] + s * ln_tx[txi]);
        d_alpha -= w * rx * ((1.0 - s) * inv_t[ti] + s * inv_tx[txi]);
        let acc = &mut per_x[xi as usize];
        acc.0 += w;
        acc.1 += w * s;
    }
    let (mut d_a, mut d_b) = (0.0, 0.0);
    let (psi_ab, psi_b, psi_r) = (digamma(a + b), digamma(b), digamma(r));
    for (&x, &(w, ws)) in d.xs.iter().zip(&per_x) {
        total += w * (base + lgamma(r + x) + lgamma(b + x) - lgamma(a + b + x));
        let psi_abx = digamma(a + b + x);
        d_r += w * (digamma(r + x) - psi_r + alpha.ln());
        d_alpha += w * r / alpha;
        d_a += w * (psi_ab - psi_abx) + ws / a;
        d_b += w * (psi_ab + digamma(b + x) - psi_b - psi_abx);
        if x > 0.0 {
            d_b -= ws / (b + x - 1.0);
        }
    }
    (total, [d_r, d_alpha, d_a, d_b])
}

/// The Gamma-Gamma data: per repeat customer with positive spend, x and ln m.
pub(crate) struct GgData {
    xs: Vec<f64>,
    /// (index in xs, x, m, ln m).
    pairs: Vec<(u32, f64, f64, f64)>,
}

impl GgData {
    /// The customers with x > 0 and m > 0.
    pub(crate) fn new(rows: &[Summary]) -> GgData {
        let (mut xs, mut seen) = (Vec::new(), HashMap::new());
        let pairs = rows
            .iter()
            .filter(|r| r.x > 0.0 && r.m > 0.0)
            .map(|r| (index_of(&mut xs, &mut seen, r.x), r.x, r.m, r.m.ln()))
            .collect();
        GgData { xs, pairs }
    }

    /// How many customers it holds.
    pub(crate) fn len(&self) -> usize {
        self.pairs.len()
    }
}

/// The Gamma-Gamma log-likelihood (Fader & Hardie 2013), without the constant, and its gradient
/// in (p, q, v).
///
/// Per customer, LL = −ln Γ(q) + q ln v + ln Γ(px+q) − ln Γ(px) + px ln x + (px−1) ln m
/// − (px+q) ln(xm+v); the gamma functions' derivatives are digammas, one set per distinct x.
pub(crate) fn gamma_gamma_log_likelihood(p: f64, q: f64, v: f64, d: &GgData) -> WithGradient<3> {
    let base = -lgamma(q) + q * v.ln();
    // per distinct x: customers, Σ ln m − ln(xm+v), Σ ln(xm+v), Σ (px+q) / (xm+v)
    let mut per_x = vec![(0.0f64, 0.0f64, 0.0f64, 0.0f64); d.xs.len()];
    let mut total = 0.0;
    for &(xi, x, m, ln_m) in &d.pairs {
        let px = p * x;
        let ln_s = (x * m + v).ln();
        total += (px - 1.0) * ln_m - (px + q) * ln_s;
        let acc = &mut per_x[xi as usize];
        acc.0 += 1.0;
        acc.1 += ln_m - ln_s;
        acc.2 += ln_s;
        acc.3 += (px + q) / (x * m + v);
    }
    let (mut d_p, mut d_q, mut d_v) = (0.0, 0.0, 0.0);
    let psi_q = digamma(q);
    for (&x, &(n, ln_ratio, ln_s, inv)) in d.xs.iter().zip(&per_x) {
        let px = p * x;
        total += n * (base + lgamma(px + q) - lgamma(px) + px * x.ln());
        let psi_pxq = digamma(px + q);
        d_p += x * (n * (psi_pxq - digamma(px) + x.ln()) + ln_ratio);
        d_q += n * (psi_pxq - psi_q + v.ln()) - ln_s;
        d_v += n * q / v - inv;
    }
    (total, [d_p, d_q, d_v])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Summary> {
        (0..300)
            .map(|i| {
                let x = (i % 6) as f64;
                let t = 20.0 + (i % 17) as f64;
                let t_x = if x > 0.0 { t * ((i % 11) as f64 + 1.0) / 13.0 } else { 0.0 };
                Summary { id: i.to_string(), x, t_x, t, m: if x > 0.0 { 5.0 + (i % 9) as f64 * 3.5 } else { 0.0 } }
            })
            .collect()
    }

    /// The analytic gradient against central differences of the value, at `p`.
    fn check<const N: usize>(f: &dyn Fn(&[f64]) -> WithGradient<N>, p: [f64; N]) {
        let (_, grad) = f(&p);
        for i in 0..N {
            let h = 1e-6 * p[i];
            let (mut up, mut down) = (p, p);
            up[i] += h;
            down[i] -= h;
            let numeric = (f(&up).0 - f(&down).0) / (2.0 * h);
            assert!((grad[i] - numeric).abs() <= 1e-5 * numeric.abs().max(1.0), "parameter {i}: {grad:?} vs {numeric}");
        }
    }

    #[test]
    fn gradients_equal_the_likelihoods_slopes() {
        let (bg, gg) = (BgData::new(&rows()), GgData::new(&rows()));
        for p in [[0.243, 4.414, 0.793, 2.426], [1.5, 0.3, 2.0, 0.7], [0.05, 20.0, 0.01, 5.0]] {
            check(&|p| bgnbd_log_likelihood(p[0], p[1], p[2], p[3], &bg), p);
        }
        for p in [[6.25, 3.74, 15.44], [0.8, 1.2, 0.5], [20.0, 9.0, 100.0]] {
            check(&|p| gamma_gamma_log_likelihood(p[0], p[1], p[2], &gg), p);
        }
    }
}

//! The BG/NBD and Gamma-Gamma log-likelihoods, in log space, on their data grouped for speed.

use super::summary::Summary;
use libm::lgamma;
use std::collections::HashMap;

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

/// ln(e^a + e^b) for finite a, b.
fn log_add_exp(a: f64, b: f64) -> f64 {
    a.max(b) + (-(a - b).abs()).exp().ln_1p()
}

/// The BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6), in log space.
pub(crate) fn bgnbd_log_likelihood(r: f64, alpha: f64, a: f64, b: f64, d: &BgData) -> f64 {
    let base = lgamma(a + b) - lgamma(b) - lgamma(r) + r * alpha.ln();
    // per distinct x: r + x, the gamma terms, and the dropout term's constant
    let per_x: Vec<(f64, f64, f64)> =
        d.xs.iter()
            .map(|&x| {
                let g = lgamma(r + x) + lgamma(b + x) - lgamma(a + b + x);
                let dx = if x > 0.0 { a.ln() - (b + x - 1.0).ln() } else { f64::NEG_INFINITY };
                (r + x, g, dx)
            })
            .collect();
    let ln_t: Vec<f64> = d.ts.iter().map(|t| (alpha + t).ln()).collect();
    let ln_tx: Vec<f64> = d.txs.iter().map(|t| (alpha + t).ln()).collect();
    let mut total = 0.0;
    for &(xi, txi, ti, w) in &d.groups {
        let (rx, g, dx) = per_x[xi as usize];
        let a3 = -rx * ln_t[ti as usize];
        let term = if d.xs[xi as usize] > 0.0 { log_add_exp(a3, dx - rx * ln_tx[txi as usize]) } else { a3 };
        total += w * (base + g + term);
    }
    total
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

/// The Gamma-Gamma log-likelihood (Fader & Hardie 2013), without the constant.
pub(crate) fn gamma_gamma_log_likelihood(p: f64, q: f64, v: f64, d: &GgData) -> f64 {
    let base = -lgamma(q) + q * v.ln();
    let per_x: Vec<f64> = d.xs.iter().map(|&x| lgamma(p * x + q) - lgamma(p * x) + p * x * x.ln()).collect();
    d.pairs
        .iter()
        .map(|&(xi, x, m, ln_m)| {
            let px = p * x;
            base + per_x[xi as usize] + (px - 1.0) * ln_m - (px + q) * (x * m + v).ln()
        })
        .sum()
}

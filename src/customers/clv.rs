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
//! pulling in BLAS, so that function is written out below.

use super::{last_order_date, session, sql};
use crate::metrics::results::rows;
use crate::metrics::{MetricsError, run};
use crate::model::Filter;
use crate::optimize::minimize_within;
use crate::warehouse::Warehouse;
use crate::warehouse::keys::date_key;
use chrono::NaiveDate;
use datafusion::common::ScalarValue;
use libm::lgamma;
use serde::{Serialize, Serializer};
use std::collections::HashMap;

/// The fewest repeat purchasers a fit is attempted on; fewer gives a warning instead.
pub const MIN_REPEATERS: usize = 10;

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

fn round_to<S: Serializer>(x: &f64, digits: i32, s: S) -> Result<S::Ok, S::Error> {
    let f = 10f64.powi(digits);
    s.serialize_f64((x * f).round() / f)
}
fn r4<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    round_to(x, 4, s)
}
fn r1<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    round_to(x, 1, s)
}
fn r2<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    round_to(x, 2, s)
}
fn r6<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    round_to(x, 6, s)
}

/// The fitted BG/NBD parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BgNbd {
    /// Shape of the purchase-rate gamma.
    #[serde(serialize_with = "r4")]
    pub r: f64,
    /// Scale of the purchase-rate gamma.
    #[serde(serialize_with = "r4")]
    pub alpha: f64,
    /// Dropout beta's a.
    #[serde(serialize_with = "r4")]
    pub a: f64,
    /// Dropout beta's b.
    #[serde(serialize_with = "r4")]
    pub b: f64,
    /// The maximised log-likelihood.
    #[serde(serialize_with = "r1")]
    pub log_likelihood: f64,
    /// Whether the optimiser converged.
    pub converged: bool,
}

impl BgNbd {
    /// What a fit at the edge of the parameter space means, if it is there: the optimum of the
    /// likelihood ran off to a or b near 0 or without bound, so the model cannot tell how many
    /// customers drop out and its P(alive) and CLV stand on an assumption, not on the data.
    pub fn at_boundary(&self) -> Option<String> {
        let dropout = self.a / (self.a + self.b);
        // r and alpha without bound: the purchase rates' gamma has collapsed to one rate
        let same_rate = if self.r > 1e3 || self.alpha > 1e5 {
            format!(", r = {:.0} and alpha = {:.0} (every customer buys at about the same rate)", self.r, self.alpha)
        } else {
            String::new()
        };
        let params = format!("a = {:.4}, b = {:.4}{same_rate}", self.a, self.b);
        if self.a < 1e-3 || dropout < 1e-3 {
            Some(format!(
                "the BG/NBD fit is at a boundary ({params}): the chance that a customer drops out after a \
                 purchase is about {:.2} %, so nearly every customer counts as alive (P(alive) near 100 %) \
                 however long they have been quiet; the data has too few customers who stopped buying \
                 (a history short against the time between purchases). Read P(alive) and CLV as upper \
                 bounds",
                dropout * 100.0
            ))
        } else if self.b < 1e-3 || self.a > 1e3 || self.b > 1e3 || dropout > 0.999 {
            Some(format!(
                "the BG/NBD fit is at a boundary ({params}): the dropout probability after a purchase is \
                 {:.1} % and the data cannot pin it down; P(alive) and CLV follow from that edge, not \
                 from the customers' histories",
                dropout * 100.0
            ))
        } else {
            None
        }
    }
}

/// The fitted Gamma-Gamma parameters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GammaGamma {
    /// Shape of the spend per purchase.
    #[serde(serialize_with = "r4")]
    pub p: f64,
    /// Shape of the customers' scale.
    #[serde(serialize_with = "r4")]
    pub q: f64,
    /// Scale of the customers' scale.
    #[serde(serialize_with = "r4")]
    pub v: f64,
    /// The customers it was fitted on (x > 0, m > 0).
    pub customers: usize,
    /// The maximised log-likelihood.
    #[serde(serialize_with = "r1")]
    pub log_likelihood: f64,
    /// Whether the optimiser converged.
    pub converged: bool,
}

/// One customer's predictions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    /// The customer's id.
    pub customer_id: String,
    /// Repeat purchases.
    pub x: f64,
    /// Weeks from first to last purchase.
    #[serde(serialize_with = "r2")]
    pub t_x: f64,
    /// Weeks from first purchase to the calibration end.
    #[serde(rename = "T", serialize_with = "r2")]
    pub t: f64,
    /// Probability the customer is still active.
    #[serde(serialize_with = "r6")]
    pub p_alive: f64,
    /// Expected purchases in the horizon.
    #[serde(serialize_with = "r6")]
    pub expected_purchases: f64,
    /// Expected value per purchase.
    #[serde(serialize_with = "r2")]
    pub expected_value: f64,
    /// expected purchases × expected value (discounted when asked).
    #[serde(serialize_with = "r2")]
    pub clv: f64,
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

fn past(deadline: Option<std::time::Instant>) -> bool {
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
    pub repeaters: usize,
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

/// The BG/NBD data in the form its likelihood is fast on: customers with the same (x, t_x, T)
/// counted once with a weight, and each distinct x, t_x and T listed once, so a likelihood
/// evaluation takes one exponential and one logarithm per distinct summary.
pub struct BgData {
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
    pub fn new(rows: &[Summary]) -> BgData {
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
pub fn bgnbd_log_likelihood(r: f64, alpha: f64, a: f64, b: f64, d: &BgData) -> f64 {
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
pub struct GgData {
    xs: Vec<f64>,
    /// (index in xs, x, m, ln m).
    pairs: Vec<(u32, f64, f64, f64)>,
}

impl GgData {
    /// The customers with x > 0 and m > 0.
    pub fn new(rows: &[Summary]) -> GgData {
        let (mut xs, mut seen) = (Vec::new(), HashMap::new());
        let pairs = rows
            .iter()
            .filter(|r| r.x > 0.0 && r.m > 0.0)
            .map(|r| (index_of(&mut xs, &mut seen, r.x), r.x, r.m, r.m.ln()))
            .collect();
        GgData { xs, pairs }
    }

    /// How many customers it holds.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// The Gamma-Gamma log-likelihood (Fader & Hardie 2013), without the constant.
pub fn gamma_gamma_log_likelihood(p: f64, q: f64, v: f64, d: &GgData) -> f64 {
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

fn fit_bgnbd_until(rows: &[Summary], deadline: Option<std::time::Instant>) -> BgNbd {
    let data = BgData::new(rows);
    let (p, ll, converged) =
        maximize(&|p| bgnbd_log_likelihood(p[0], p[1], p[2], p[3], &data), &[1.0, 1.0, 1.0, 1.0], deadline);
    BgNbd { r: p[0], alpha: p[1], a: p[2], b: p[3], log_likelihood: ll, converged }
}

/// Fits Gamma-Gamma on the summaries with x > 0 and m > 0 (start values 1).
pub fn fit_gamma_gamma(rows: &[Summary]) -> GammaGamma {
    fit_gamma_gamma_until(rows, None)
}

fn fit_gamma_gamma_until(rows: &[Summary], deadline: Option<std::time::Instant>) -> GammaGamma {
    let data = GgData::new(rows);
    let (p, ll, converged) =
        maximize(&|p| gamma_gamma_log_likelihood(p[0], p[1], p[2], &data), &[1.0, 1.0, 1.0], deadline);
    GammaGamma { p: p[0], q: p[1], v: p[2], customers: data.len(), log_likelihood: ll, converged }
}

/// The Gauss hypergeometric function 2F1(a, b; c; z) by its power series, for 0 <= z < 1.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
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

impl BgNbd {
    /// P(alive | x, t_x, T) (Fader, Hardie & Lee 2005, eq. 11); 1 for a customer without repeats.
    pub fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        if x == 0.0 {
            return 1.0;
        }
        let ln_ratio = (self.a / (self.b + x - 1.0)).ln() + (self.r + x) * ((self.alpha + t) / (self.alpha + t_x)).ln();
        1.0 / (1.0 + ln_ratio.exp())
    }

    /// Expected purchases in the next `weeks` (eq. 10).
    pub fn expected_purchases(&self, x: f64, t_x: f64, t: f64, weeks: f64) -> f64 {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let z = weeks / (alpha + t + weeks);
        let head = (a + b + x - 1.0) / (a - 1.0);
        let power = ((alpha + t) / (alpha + t + weeks)).powf(r + x);
        let num = head * (1.0 - power * hyp2f1(r + x, b + x, a + b + x - 1.0, z));
        let den = if x > 0.0 { 1.0 + (a / (b + x - 1.0)) * ((alpha + t) / (alpha + t_x)).powf(r + x) } else { 1.0 };
        num / den
    }
}

impl GammaGamma {
    /// The expected value per purchase given x repeat purchases of mean m (the population mean
    /// for x = 0).
    pub fn expected_value(&self, x: f64, m: f64) -> f64 {
        if x > 0.0 { self.p * (self.v + x * m) / (self.p * x + self.q - 1.0) } else { self.p * self.v / (self.q - 1.0) }
    }
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

/// The per-customer summary of a warehouse (customers.md), restricted by `filter`'s category,
/// country and method.
///
/// # Errors
/// A query fails.
pub async fn summary(wh: &Warehouse, filter: &Filter, end: NaiveDate) -> Result<Vec<Summary>, MetricsError> {
    let s = session(wh, filter).await?;
    let batches = run(&s.ctx, "clv_summary", sql::CLV_SUMMARY, vec![ScalarValue::Int32(Some(date_key(end)))]).await?;
    Ok(rows(&batches)
        .map(|(c, r)| {
            let x = c.int("x", r) as f64;
            let (first, last) = (c.date("first_day", r), c.date("last_day", r));
            let weeks = |d: chrono::TimeDelta| d.num_days() as f64 / 7.0;
            let repeat = c.units4("repeat_value", r) as f64 / 10_000.0;
            Summary {
                id: c.text("customer_id", r).unwrap_or_default(),
                x,
                t_x: weeks(last - first),
                t: weeks(end - first),
                m: if x > 0.0 { repeat / x } else { 0.0 },
            }
        })
        .collect())
}

/// CLV on a warehouse.
///
/// # Errors
/// A query fails.
pub async fn clv(wh: &Warehouse, filter: &Filter, options: &ClvOptions) -> Result<Clv, MetricsError> {
    let end = match options.calibration_end {
        Some(d) => Some(d),
        None => last_order_date(wh).await?,
    };
    let Some(end) = end else {
        let mut empty = model(&[], None, options);
        empty.warnings = vec!["the warehouse has no orders".into()];
        return Ok(empty);
    };
    let rows = summary(wh, filter, end).await?;
    let options = options.clone();
    let mut out = tokio::task::spawn_blocking(move || model(&rows, Some(end), &options)).await.map_err(|e| {
        MetricsError { query: "clv", source: datafusion::error::DataFusionError::External(Box::new(e)) }
    })?;
    if out.customers == 0 {
        out.warnings = vec![format!("no customer has a purchase on or before the calibration end {end}")];
    }
    Ok(out)
}

/// Writes a summary as CSV with header `ID,x,t_x,T,zbar` (what [`read_summary`] reads).
///
/// # Errors
/// The file cannot be written.
pub fn write_summary(rows: &[Summary], path: &std::path::Path) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(["ID", "x", "t_x", "T", "zbar"])?;
    for r in rows {
        w.write_record([
            crate::model::text::csv_safe(&r.id).into_owned(),
            r.x.to_string(),
            r.t_x.to_string(),
            r.t.to_string(),
            r.m.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Reads a summary CSV with header `ID,x,t_x,T,zbar` (the CDNOW sample's layout).
///
/// # Errors
/// The file cannot be read, or a row is not numbers; the message names the line.
pub fn read_summary(path: &std::path::Path) -> Result<Vec<Summary>, String> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let header = rdr.headers().map_err(|e| format!("{}: {e}", path.display()))?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("{}: no column {name} (the header must be ID,x,t_x,T,zbar)", path.display()))
    };
    let (id, x, t_x, t, zbar) = (col("ID")?, col("x")?, col("t_x")?, col("T")?, col("zbar")?);
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("{}: line {line}: {e}", path.display()))?;
        let num = |at: usize, name: &str| {
            rec.get(at)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{}: line {line}, column {name}: not a number >= 0", path.display()))
        };
        out.push(Summary {
            id: rec.get(id).unwrap_or_default().to_string(),
            x: num(x, "x")?,
            t_x: num(t_x, "t_x")?,
            t: num(t, "T")?,
            m: num(zbar, "zbar")?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
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

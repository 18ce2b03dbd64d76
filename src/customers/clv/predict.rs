//! The fitted models (their parameters as the API shows them) and what they predict per customer:
//! P(alive), expected purchases, expected value per purchase.

use super::hyp2f1::hyp2f1;
use super::round::{r1, r2, r4, r6};
use serde::Serialize;

/// The fitted BG/NBD parameters.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
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
    pub(crate) fn at_boundary(&self) -> Option<String> {
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
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
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
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
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
    pub(crate) expected_value: f64,
    /// expected purchases × expected value (discounted when asked).
    #[serde(serialize_with = "r2")]
    pub clv: f64,
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
    pub(crate) fn expected_value(&self, x: f64, m: f64) -> f64 {
        if x > 0.0 { self.p * (self.v + x * m) / (self.p * x + self.q - 1.0) } else { self.p * self.v / (self.q - 1.0) }
    }
}

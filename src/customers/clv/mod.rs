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
//! pulling in BLAS, so that function is written out (in `hyp2f1`).
//!
//! One job per module: `likelihood` (the two log-likelihoods and their data), `fit` (the restarted
//! maximisation and the two fits), `hyp2f1` (the hypergeometric function), `predict` (the fitted
//! models and what they predict per customer), `round` (how their figures serialize), `warehouse`
//! (the summary's SQL and CLV on a warehouse), `csv` (a summary as a CSV file), `files` (CLV from
//! or writing such a file); `summary` (a customer's history), `model` (both fits and the
//! predictions, with warnings); this module only names them.

mod csv;
mod files;
mod fit;
mod hyp2f1;
mod likelihood;
mod model;
mod predict;
mod round;
mod summary;
mod warehouse;

pub use self::csv::read_summary;

pub use files::{ClvFileError, clv_of_summary_file, clv_writing_summary};
pub use fit::{fit_bgnbd, fit_gamma_gamma};
pub use model::{Clv, ClvOptions, model};
pub use predict::BgNbd;
pub use predict::GammaGamma;
pub use predict::Prediction;
pub use summary::Summary;
pub use warehouse::{clv, summary};

#[cfg(test)]
mod tests {
    use super::hyp2f1::hyp2f1;
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
    fn a_fit_running_off_to_infinity_ends_at_once_with_a_warning() {
        // every customer drops out with the same chance after a purchase: the dropout beta's a
        // and b grow without bound, the likelihood climbing towards a limit it never reaches.
        // Nelder-Mead followed that ridge for minutes (the server's 30 s limit, at 1M orders)
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let rows: Vec<Summary> = (0..20_000)
            .map(|i| {
                let rate: f64 = 0.05 + 0.5 * rng.random::<f64>().powi(3);
                let t = 20.0 + rng.random_range(0.0..80.0);
                let (mut at, mut x, mut last) = (0.0, 0.0, 0.0);
                loop {
                    at += -(1.0 - rng.random::<f64>()).ln() / rate;
                    if at > t {
                        break;
                    }
                    (x, last) = (x + 1.0, at);
                    if rng.random::<f64>() < 0.3 {
                        break;
                    }
                }
                Summary { id: i.to_string(), x, t_x: last, t, m: if x > 0.0 { 20.0 } else { 0.0 } }
            })
            .collect();
        // the fit takes under a second here (debug build); Nelder-Mead on the ridge took 14 s
        let options = ClvOptions {
            deadline: Some(std::time::Instant::now() + std::time::Duration::from_secs(10)),
            ..Default::default()
        };
        let clv = model(&rows, None, &options);
        let bg = clv.bgnbd.as_ref().unwrap();
        assert!(!clv.stopped, "{bg:?}");
        assert!(bg.a > 1e3 && bg.b > 1e3, "{bg:?}");
        assert!((bg.a / (bg.a + bg.b) - 0.3).abs() < 0.05, "{bg:?}");
        assert!(clv.warnings.iter().any(|w| w.contains("the BG/NBD fit is at a boundary")), "{:?}", clv.warnings);
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

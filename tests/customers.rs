//! Customer analytics (customers.md) against the literature and against an independent
//! computation over the raw rows.

mod common;

use shoplens::customers::clv::{self, ClvOptions};
use std::path::Path;

fn cdnow() -> Vec<clv::Summary> {
    clv::read_summary(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cdnow/cdnow_customers_summary.csv"))
        .unwrap()
}

#[test]
fn bgnbd_reproduces_the_published_cdnow_estimates() {
    let rows = cdnow();
    assert_eq!(rows.len(), 2357);
    let fit = clv::fit_bgnbd(&rows);
    // Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4
    let printed = |x: f64, d: i32| (x * 10f64.powi(d)).round() / 10f64.powi(d);
    assert_eq!(
        (
            printed(fit.r, 3),
            printed(fit.alpha, 3),
            printed(fit.a, 3),
            printed(fit.b, 3),
            printed(fit.log_likelihood, 1)
        ),
        (0.243, 4.414, 0.793, 2.426, -9582.4),
        "{fit:?}"
    );
    assert!(fit.converged);
}

#[test]
fn gamma_gamma_reproduces_the_published_cdnow_estimates() {
    let fit = clv::fit_gamma_gamma(&cdnow());
    // Fader & Hardie (2013): p = 6.25, q = 3.74, v = 15.44
    for (got, want) in [(fit.p, 6.25), (fit.q, 3.74), (fit.v, 15.44)] {
        assert!((got / want - 1.0).abs() < 0.005, "{fit:?}");
    }
    assert_eq!(fit.customers, 946);
    assert!(fit.converged);
}

//! Customer analytics (customers.md) against the literature and against an independent
//! computation over the raw rows.

mod common;

use common::oracle::{self, OracleFilter};
use serde_json::json;
use shoplens::customers::{self as cust, clv};
use shoplens::model::filter::FilterParams;
use shoplens::warehouse::{Store, Warehouse};
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
    // and customers.md's example (lifetimes' figures) to its four decimals
    assert_eq!(
        (printed(fit.r, 4), printed(fit.alpha, 4), printed(fit.a, 4), printed(fit.b, 4)),
        (0.2426, 4.4135, 0.7929, 2.4258)
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

fn cases() -> Vec<(FilterParams<'static>, OracleFilter)> {
    let s = |v: &str| Some(v.to_string());
    vec![
        (FilterParams::default(), OracleFilter::default()),
        (
            FilterParams { country: Some("DE"), ..Default::default() },
            OracleFilter { country: s("DE"), ..Default::default() },
        ),
        (
            FilterParams { category: Some("Books"), ..Default::default() },
            OracleFilter { category: s("Books"), ..Default::default() },
        ),
        (
            FilterParams { method: Some("paypal"), ..Default::default() },
            OracleFilter { method: s("paypal"), ..Default::default() },
        ),
        (
            FilterParams { from: Some("2023-03-15"), to: Some("2024-02-10"), ..Default::default() },
            OracleFilter { from: s("2023-03-15"), to: s("2024-02-10"), ..Default::default() },
        ),
    ]
}

async fn open(wh: &Path) -> Warehouse {
    Warehouse::open(&Store::new(wh)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cohorts_returning_and_rfm_match_the_oracle_on_generated_shops() {
    for (seed, orders) in [(5, 3_000), (23, 6_000)] {
        let shop = common::shop(seed, orders);
        let dir = tempfile::tempdir().unwrap();
        common::import(shop.path(), dir.path()).await.unwrap();
        let wh = open(dir.path()).await;
        for (params, of) in cases() {
            let f = common::filter(params.clone());
            let what = format!("seed {seed}, filter {params:?}");
            let got = serde_json::to_value(cust::cohorts(&wh, &f).await.unwrap()).unwrap();
            let want = oracle::cohorts(shop.path(), &of);
            assert!(want["cohorts"].as_array().unwrap().len() > 1, "{what}: too few cohorts to be a check");
            if let Some(d) = oracle::diff(&got, &want, "cohorts") {
                panic!("{what}: {d}");
            }
            let got = serde_json::to_value(cust::returning(&wh, &f).await.unwrap()).unwrap();
            if let Some(d) = oracle::diff(&got, &oracle::returning(shop.path(), &of), "returning") {
                panic!("{what}: {d}");
            }
            let as_of = of.to.as_deref();
            let r = cust::rfm(&wh, &f.with_range(None, None), as_of.map(|d| d.parse().unwrap())).await.unwrap();
            let (want, customers) = oracle::rfm(shop.path(), &of, as_of);
            if let Some(d) = oracle::diff(&serde_json::to_value(&r).unwrap(), &want, "rfm") {
                panic!("{what}: {d}");
            }
            let got = serde_json::to_value(&r.customers).unwrap();
            if let Some(d) = oracle::diff(&got, &json!(customers), "rfm customers") {
                panic!("{what}: {d}");
            }
        }
    }
}

/// Three customers, worked out by hand: A orders twice on 2024-01-10 (100 + 50) and on 2024-03-05
/// (30); B on 2024-01-20 (80) and 2024-02-14 (20); C on 2024-02-01 (60); a cancelled order on
/// 2024-03-20 makes that the last order day, so March is incomplete.
fn hand_shop() -> tempfile::TempDir {
    common::export(&[
        ("customers.csv", "customer_id,customer_name,country\nA,Ana,DE\nB,Bo,DE\nC,Cy,FR\n"),
        ("products.csv", "product_id,product_name,category\np,Lamp,Home\n"),
        (
            "orders.csv",
            "order_id,customer_id,order_ts,status\no1,A,2024-01-10,delivered\no2,A,2024-01-10T18:00,delivered\n\
             o3,A,2024-03-05,shipped\no4,B,2024-01-20,delivered\no5,B,2024-02-14,delivered\no6,C,2024-02-01,delivered\n\
             o7,C,2024-03-20,cancelled\n",
        ),
        (
            "order_items.csv",
            "order_id,line_no,product_id,quantity,unit_price\no1,1,p,1,100.00\no2,1,p,1,50.00\no3,1,p,1,30.00\n\
             o4,1,p,1,80.00\no5,1,p,1,20.00\no6,1,p,1,60.00\no7,1,p,1,999.00\n",
        ),
        ("payments.csv", "order_id,payment_seq,method,amount\no1,1,card,100.00\n"),
    ])
}

#[tokio::test]
async fn a_hand_worked_shop() {
    let shop = hand_shop();
    let dir = tempfile::tempdir().unwrap();
    common::import(shop.path(), dir.path()).await.unwrap();
    let wh = open(dir.path()).await;
    let all = shoplens::model::Filter::default();
    let m = |month: &str, k: i64, active: i64, retention: f64, revenue: f64, cum: f64, complete: bool| {
        json!({"month": month, "k": k, "active": active, "retention": retention, "revenue": revenue,
               "cumulative_revenue_per_customer": cum, "complete": complete})
    };
    let want = json!({"cohorts": [
        {"cohort": "2024-01", "customers": 2, "months": [
            m("2024-01", 0, 2, 1.0, 230.0, 115.0, true),
            m("2024-02", 1, 1, 0.5, 20.0, 125.0, true),
            m("2024-03", 2, 1, 0.5, 30.0, 140.0, false)]},
        {"cohort": "2024-02", "customers": 1, "months": [
            m("2024-02", 0, 1, 1.0, 60.0, 60.0, true),
            m("2024-03", 1, 0, 0.0, 0.0, 60.0, false)]}]});
    assert_eq!(serde_json::to_value(cust::cohorts(&wh, &all).await.unwrap()).unwrap(), want);
    // February and March: A, B and C ordered; A (3 orders ever) and B (2) are returning, C is not;
    // nobody ordered twice inside the range, so the repeat rate is 0
    let range = common::filter(FilterParams { from: Some("2024-02-01"), to: Some("2024-03-31"), ..Default::default() });
    assert_eq!(
        serde_json::to_value(cust::returning(&wh, &range).await.unwrap()).unwrap(),
        json!({"customers": 3, "returning": 2, "returning_customer_rate": 0.666667, "repeat_customer_rate": 0.0})
    );
    // as of 2024-03-31: A (26 days, 3 orders, 180) scores 3/3/3, B (46, 2, 100) 2/2/2, C (59, 1, 60)
    // 1/1/1: NTILE(5) of three rows fills the first three groups
    let r = cust::rfm(&wh, &all, Some("2024-03-31".parse().unwrap())).await.unwrap();
    let seg = |name: &str| r.segments.iter().find(|s| s.segment == name).unwrap();
    assert_eq!(r.segments[0].segment, "Need attention");
    assert_eq!(r.segments[1].segment, "Hibernating");
    let h = seg("Hibernating");
    assert_eq!((h.customers, h.revenue.0, h.share_of_customers, h.share_of_revenue), (2, 16_000, 0.666667, 0.470588));
    assert_eq!((h.mean_recency_days, h.mean_frequency, h.mean_monetary.0), (52.5, 1.5, 8_000));
    let n = seg("Need attention");
    assert_eq!((n.customers, n.revenue.0, n.mean_recency_days, n.mean_frequency), (1, 18_000, 26.0, 3.0));
    assert_eq!(r.segments.len(), 10);
    assert!(r.segments[2..].iter().all(|s| s.customers == 0));
    let a = &r.customers[0];
    assert_eq!((a.customer_id.as_str(), a.recency_days, a.frequency, a.monetary.0), ("A", 26, 3, 18_000));
    assert_eq!((a.r_score, a.f_score, a.m_score), (3, 3, 3));
    // the CLV summary in weeks, the first purchase day's value left out of the mean
    let end: chrono::NaiveDate = "2024-03-31".parse().unwrap();
    let s = clv::summary(&wh, &all, end).await.unwrap();
    let row = |id: &str| s.iter().find(|r| r.id == id).unwrap().clone();
    let a = row("A");
    assert_eq!((a.x, a.m), (1.0, 30.0));
    assert!((a.t_x - 55.0 / 7.0).abs() < 1e-12 && (a.t - 81.0 / 7.0).abs() < 1e-12);
    assert_eq!((row("C").x, row("C").t_x, row("C").m), (0.0, 0.0, 0.0));
    // two repeat purchasers cannot support the models: a warning, no crash
    let c = cust::clv(&wh, &all, &clv::ClvOptions::default()).await.unwrap();
    assert!(c.bgnbd.is_none() && c.gamma_gamma.is_none() && c.top.is_empty());
    assert!(c.warnings[0].contains("only 2 of 3 customers"), "{:?}", c.warnings);
}

#[tokio::test]
async fn clv_on_a_generated_shop_predicts_every_customer() {
    let shop = common::shop(8, 4_000);
    let dir = tempfile::tempdir().unwrap();
    common::import(shop.path(), dir.path()).await.unwrap();
    let wh = open(dir.path()).await;
    let c = cust::clv(&wh, &shoplens::model::Filter::default(), &clv::ClvOptions { top: 5, ..Default::default() })
        .await
        .unwrap();
    let bg = c.bgnbd.as_ref().expect("fitted");
    assert!(bg.converged && bg.log_likelihood < 0.0);
    assert_eq!(c.top.len(), 5);
    assert_eq!(c.all.len(), c.customers);
    assert!(c.top.windows(2).all(|w| w[0].clv >= w[1].clv));
    assert!(c.all.iter().all(|p| (0.0..=1.0).contains(&p.p_alive) && p.expected_purchases >= 0.0 && p.clv >= 0.0));
    // a calibration end before the first order: a warning, nothing fitted
    let early = clv::ClvOptions { calibration_end: Some("2000-01-01".parse().unwrap()), ..Default::default() };
    let c = cust::clv(&wh, &shoplens::model::Filter::default(), &early).await.unwrap();
    assert_eq!(c.customers, 0);
    assert!(c.warnings[0].contains("no customer has a purchase"), "{:?}", c.warnings);
}

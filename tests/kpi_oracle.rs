//! Every KPI, computed by the SQL engine on the warehouse, equals the independent oracle's
//! computation over the raw rows: several seeds, with and without each filter.

mod common;

use common::oracle::{self, OracleFilter};
use shoplens::model::filter::FilterParams;

async fn check(seed: u64, orders: u64, cases: &[(FilterParams<'_>, OracleFilter)]) {
    let shop = common::shop(seed, orders);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    for (params, of) in cases {
        let got = common::kpis(wh.path(), &common::filter(params.clone())).await;
        let want = oracle::kpis(shop.path(), of);
        if let Some(d) = oracle::diff(&got, &want, "kpis") {
            panic!("seed {seed}, filter {params:?}: {d}");
        }
        // a filter that keeps nothing is not a useful check
        assert!(want["summary"]["orders"].as_i64().unwrap() > 0, "{params:?} kept no order");
    }
}

fn of(top: usize) -> OracleFilter {
    OracleFilter { top, ..Default::default() }
}

#[tokio::test]
async fn unfiltered_kpis_match_the_oracle_on_several_seeds() {
    for seed in [1, 2, 3] {
        check(seed, 3000 + seed * 500, &[(FilterParams::default(), of(10))]).await;
    }
}

#[tokio::test]
async fn each_filter_matches_the_oracle() {
    let s = |v: &str| Some(v.to_string());
    let cases = vec![
        (
            FilterParams { from: Some("2023-02-10"), ..Default::default() },
            OracleFilter { from: s("2023-02-10"), ..of(10) },
        ),
        (FilterParams { to: Some("2022-08-31"), ..Default::default() }, OracleFilter { to: s("2022-08-31"), ..of(10) }),
        (
            FilterParams { from: Some("2023-11-15"), to: Some("2024-01-20"), ..Default::default() },
            OracleFilter { from: s("2023-11-15"), to: s("2024-01-20"), ..of(10) },
        ),
        (
            FilterParams { category: Some("Health"), ..Default::default() },
            OracleFilter { category: s("Health"), ..of(10) },
        ),
        (
            FilterParams { category: Some("Uncategorized"), ..Default::default() },
            OracleFilter { category: s("Uncategorized"), ..of(10) },
        ),
        (FilterParams { country: Some("DE"), ..Default::default() }, OracleFilter { country: s("DE"), ..of(10) }),
        (FilterParams { method: Some("PayPal"), ..Default::default() }, OracleFilter { method: s("paypal"), ..of(10) }),
        (
            FilterParams { method: Some("gift_card"), ..Default::default() },
            OracleFilter { method: s("gift_card"), ..of(10) },
        ),
        (FilterParams { top: Some("25"), ..Default::default() }, of(25)),
        (
            FilterParams {
                from: Some("2022-06-01"),
                to: Some("2024-06-30"),
                category: Some("Electronics"),
                country: Some("US"),
                method: Some("credit_card"),
                top: Some("3"),
                ..Default::default()
            },
            OracleFilter {
                from: s("2022-06-01"),
                to: s("2024-06-30"),
                category: s("Electronics"),
                country: s("US"),
                method: s("credit_card"),
                top: 3,
                ..Default::default()
            },
        ),
        // a product with its two variants (the generator's SKU-000002 and -3 are variants of -1),
        // and one variant alone
        (
            FilterParams { product: Some("SKU-000001"), ..Default::default() },
            OracleFilter { product: s("SKU-000001"), ..of(10) },
        ),
        (
            FilterParams { from: Some("2023-01-01"), product: Some("SKU-000003"), ..Default::default() },
            OracleFilter { from: s("2023-01-01"), product: s("SKU-000003"), ..of(10) },
        ),
        // a range with no order at all: zeros and empty lists, months still listed
        (
            FilterParams { from: Some("2019-01-01"), to: Some("2019-03-31"), ..Default::default() },
            OracleFilter { from: s("2019-01-01"), to: s("2019-03-31"), ..of(10) },
        ),
    ];
    check(7, 8000, &cases[..12]).await;
    let shop = common::shop(7, 500);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    let (params, f) = &cases[12];
    let got = common::kpis(wh.path(), &common::filter(params.clone())).await;
    assert_eq!(oracle::diff(&got, &oracle::kpis(shop.path(), f), "kpis"), None);
    assert_eq!(got["monthly"].as_array().unwrap().len(), 3);
    assert_eq!(got["summary"]["orders"], 0);
}

/// The map's analysis (`/api/countries`) equals the oracle's revenue lines grouped by the
/// customer's country: revenue rounded once to cents, orders and customers counted once.
#[tokio::test]
async fn revenue_by_country_matches_the_oracle() {
    use shoplens::analysis::countries::CountriesAnalysis;
    use shoplens::analysis::query::{FilterQuery, RangeQuery, SegmentQuery};
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    let shop = common::shop(7, 2500);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    let w = shoplens::warehouse::Warehouse::open(&shoplens::warehouse::Store::new(wh.path())).await.unwrap();
    let country_of: HashMap<String, String> = csv::Reader::from_path(shop.path().join("customers.csv"))
        .unwrap()
        .deserialize::<HashMap<String, String>>()
        .map(|r| r.unwrap())
        .map(|r| (r["customer_id"].clone(), r["country"].clone()))
        .collect();
    let s = |v: &str| Some(v.to_string());
    for (query, of) in [
        (FilterQuery::default(), of(10)),
        (
            FilterQuery {
                range: RangeQuery { from: s("2023-03-15"), to: s("2023-11-20") },
                segment: SegmentQuery { method: s("paypal"), ..Default::default() },
                ..Default::default()
            },
            OracleFilter { from: s("2023-03-15"), to: s("2023-11-20"), method: s("paypal"), ..of(10) },
        ),
    ] {
        let got = shoplens::analysis::Ctx::new(&w).answer::<CountriesAnalysis>(query).await.unwrap();
        let mut by: BTreeMap<Option<String>, (i128, BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
        for l in oracle::revenue_lines(shop.path(), &of) {
            // no country: null, not an empty name
            let country = country_of.get(&l.customer).filter(|c| !c.is_empty()).cloned();
            let e = by.entry(country).or_default();
            e.0 += l.revenue;
            e.1.insert(l.order);
            e.2.insert(l.customer);
        }
        // ten-thousandths to cents, half away from zero, once
        let cents = |u: i128| (u + 50 * u.signum()) / 100;
        let mut want: Vec<(Option<String>, i128, usize, usize)> =
            by.into_iter().map(|(c, (r, o, k))| (c, cents(r), o.len(), k.len())).collect();
        want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let got: Vec<(Option<String>, i128, usize, usize)> = got
            .countries
            .iter()
            .map(|c| (c.country.clone(), c.revenue.0, c.orders as usize, c.customers as usize))
            .collect();
        assert!(want.len() > 3, "{of:?} keeps too few countries");
        assert_eq!(got, want, "{of:?}");
    }
}

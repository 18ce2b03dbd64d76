//! Insights: revenue bridges add up to the change exactly and agree with the KPIs of each period;
//! gross to net ends at total revenue; a hand-worked two-period shop; alerts find an injected
//! drop.

mod common;

use serde_json::{Value, json};
use shoplens::insights;
use shoplens::metrics::compare::Versus;
use shoplens::model::Filter;
use shoplens::model::filter::FilterParams;
use shoplens::warehouse::{Store, Warehouse};
use std::collections::BTreeMap;
use std::path::Path;

async fn open(wh: &Path) -> Warehouse {
    Warehouse::open(&Store::new(wh)).await.unwrap()
}

fn range(from: &str, to: &str) -> Filter {
    common::filter(FilterParams { from: Some(from), to: Some(to), ..Default::default() })
}

fn drivers(v: &Value) -> Vec<(String, f64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| (c["driver"].as_str().unwrap().to_string(), c["amount"].as_f64().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_hand_worked_two_period_bridge() {
    let src = common::hand::shop();
    let wh = tempfile::tempdir().unwrap();
    common::import(src.path(), wh.path()).await.unwrap();
    let w = open(wh.path()).await;
    let feb = Versus::Range("2024-02-01".parse().unwrap(), "2024-02-29".parse().unwrap());
    let e = insights::explain(&w, &range("2024-04-01", "2024-04-30"), feb).await.unwrap().unwrap();
    let e = serde_json::to_value(&e).unwrap();
    // April: O5 (C2, P3 2 x 15.50 = 31) and O7 (guest G9, P2 33.3333) = 64.3333 over 2 orders;
    // O6 is returned. February: O2 (C1, P2 40) and O3 (C2, P1 3 x 10 - 3 = 27, P9 5) = 72.
    assert_eq!(e["range"]["revenue"], json!(64.33));
    assert_eq!(e["comparison"]["revenue"], json!(72.0));
    assert_eq!((e["range"]["orders"].clone(), e["comparison"]["orders"].clone()), (json!(2), json!(2)));
    assert_eq!(
        (e["range"]["average_order_value"].clone(), e["comparison"]["average_order_value"].clone()),
        (json!(32.17), json!(36.0))
    );
    assert_eq!(e["change"], json!(-7.67));
    // two orders each side: all of the change is the average order (-7.6667), none volume
    assert_eq!(
        drivers(&e["views"]["volume_value"]),
        vec![("orders".into(), 0.0), ("average_order_value".into(), -7.67)]
    );
    // G9's first revenue order is O7 (O6 was returned): new, +33.3333. C2 bought in both: 31 - 32.
    // C1 only in February: lost, -40.
    let c = &e["views"]["customers"];
    assert_eq!(
        drivers(&c["components"]),
        vec![("new".into(), 33.33), ("reactivated".into(), 0.0), ("retained".into(), -1.0), ("lost".into(), -40.0)]
    );
    assert_eq!(c["components"][0]["customers"], json!(1));
    assert_eq!(c["current"], json!({"new": 33.33, "returning": 31.0, "new_customers": 1, "returning_customers": 1}));
    // in February C2 was new (first order O3), C1 returning (O1 in January)
    assert_eq!(c["previous"], json!({"new": 32.0, "returning": 40.0, "new_customers": 1, "returning_customers": 1}));
    // Home: 33.3333 - (40 + 27) = -33.67, P1 stopped (-27); Books: P3 new, +31; P9 (not in the
    // product file: Uncategorized) stopped, -5
    let cats: Vec<(String, f64, f64, f64)> = e["views"]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["category"].as_str().unwrap().into(),
                c["amount"].as_f64().unwrap(),
                c["new_products"].as_f64().unwrap(),
                c["stopped_products"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cats,
        vec![
            ("Home".into(), -33.67, 0.0, -27.0),
            ("Books".into(), 31.0, 31.0, 0.0),
            ("Uncategorized".into(), -5.0, 0.0, -5.0)
        ]
    );
    assert_eq!(e["views"]["categories"][0]["top_down"][0]["product_id"], json!("P1"));
    // P2 continues at one unit, 40 -> 33.3333: all price; P3 new; P1 and P9 stopped
    assert_eq!(
        drivers(&e["views"]["price_volume"]["components"]),
        vec![
            ("price".into(), -6.67),
            ("volume".into(), 0.0),
            ("new_products".into(), 31.0),
            ("stopped_products".into(), -32.0)
        ]
    );
    // countries: DE -40 (C1), (none) +33.3333 (the guest), FR 31 - 32
    assert_eq!(
        drivers(&e["views"]["countries"]),
        vec![("DE".into(), -40.0), ("(none)".into(), 33.33), ("FR".into(), -1.0)]
    );
    // main methods: O3 paid 20 by card and 12 by gift card -> credit_card; O5 paypal (PayPal)
    assert_eq!(
        drivers(&e["views"]["methods"]),
        vec![("bank_transfer".into(), 33.33), ("credit_card".into(), -32.0), ("paypal".into(), -9.0)]
    );
    // April gross to net: O5 31 + O6 10 (returned) + O7 33.3333 = 74.3333 gross, no discount
    let steps: Vec<(String, f64)> = e["gross_to_net"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap().into(), s["amount"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("gross".into(), 74.33),
            ("discounts".into(), 0.0),
            ("cancelled".into(), 0.0),
            ("returned".into(), -10.0),
            ("pending".into(), 0.0),
            ("net_revenue".into(), 64.33)
        ]
    );
    assert!(
        e["summary"].as_str().unwrap().starts_with("Revenue -7.67 (-10.6 %): orders +0.0 % (+0.00)"),
        "{}",
        e["summary"]
    );

    // January to March, against nothing before: gross 20 + 15.5 + 40 + 30 + 5 + 40 (O4) = 150.5,
    // discounts 0.5 + 3, cancelled O4 40, net 107
    let e = insights::explain(&w, &range("2024-01-01", "2024-03-31"), Versus::PreviousPeriod).await.unwrap().unwrap();
    let amounts: Vec<i128> = e.gross_to_net.iter().map(|s| s.amount.0).collect();
    assert_eq!(amounts, vec![15_050, -350, -4_000, 0, 0, 10_700]);
    assert_eq!(e.views.customers.components[0].amount.0, 10_700, "every customer is new");
    // nothing before: no ratio to give
    assert!(e.summary.starts_with("Revenue +107.00: orders (+107.00)"), "{}", e.summary);
}

fn sum(v: &Value) -> f64 {
    v.as_array().unwrap().iter().map(|c| c["amount"].as_f64().unwrap()).sum()
}

fn cents(x: f64) -> i64 {
    (x * 100.0).round() as i64
}

/// Each view of `e` adds up to its change, and its totals and categories equal the KPIs.
async fn check_bridge(wh: &Path, filter: &Filter, e: &insights::Explanation) {
    let v = serde_json::to_value(e).unwrap();
    let change = cents(v["change"].as_f64().unwrap());
    for view in ["volume_value", "countries", "methods"] {
        assert_eq!(cents(sum(&v["views"][view])), change, "{view} {filter:?}");
    }
    assert_eq!(cents(sum(&v["views"]["customers"]["components"])), change, "{filter:?}");
    assert_eq!(cents(sum(&v["views"]["price_volume"]["components"])), change, "{filter:?}");
    assert_eq!(cents(sum(&v["views"]["categories"])), change, "{filter:?}");
    // the periods' totals and categories are those of `kpi` on each range
    let now = filter.with_range(Some(e.range.from), Some(e.range.to));
    let before = filter.with_range(Some(e.comparison.from), Some(e.comparison.to));
    let (k1, k0) = (common::kpis(wh, &now).await, common::kpis(wh, &before).await);
    assert_eq!(v["range"]["revenue"], k1["summary"]["total_revenue"]);
    assert_eq!(v["comparison"]["revenue"], k0["summary"]["total_revenue"]);
    assert_eq!(v["range"]["orders"], k1["summary"]["orders"]);
    assert_eq!(v["range"]["average_order_value"], k1["summary"]["average_order_value"]);
    assert_eq!(v["comparison"]["average_order_value"], k0["summary"]["average_order_value"]);
    assert_eq!(
        cents(v["range"]["revenue"].as_f64().unwrap()) - cents(v["comparison"]["revenue"].as_f64().unwrap()),
        change
    );
    let cat = |k: &Value| -> BTreeMap<String, i64> {
        k["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["category"].as_str().unwrap().into(), cents(c["revenue"].as_f64().unwrap())))
            .collect()
    };
    let (c1, c0) = (cat(&k1), cat(&k0));
    for c in v["views"]["categories"].as_array().unwrap() {
        let name = c["category"].as_str().unwrap();
        let expected = c1.get(name).copied().unwrap_or(0) - c0.get(name).copied().unwrap_or(0);
        assert_eq!(cents(c["amount"].as_f64().unwrap()), expected, "category {name} {filter:?}");
    }
    // new + returning is each period's revenue
    for (side, total) in [("current", &v["range"]["revenue"]), ("previous", &v["comparison"]["revenue"])] {
        let s = &v["views"]["customers"][side];
        assert_eq!(
            cents(s["new"].as_f64().unwrap() + s["returning"].as_f64().unwrap()),
            cents(total.as_f64().unwrap()),
            "{side}"
        );
    }
    // gross to net: the steps add up, and the last is total revenue
    let steps = v["gross_to_net"].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["amount"], k1["summary"]["total_revenue"]);
    let through: i64 = steps[..steps.len() - 1].iter().map(|s| cents(s["amount"].as_f64().unwrap())).sum();
    assert_eq!(through, cents(steps.last().unwrap()["amount"].as_f64().unwrap()));
}

/// Gross merchandise value and discounts of a date range, from the raw CSV rows.
fn raw_gross(dir: &Path, from: &str, to: &str) -> (i128, i128) {
    let days: BTreeMap<String, String> = csv::Reader::from_path(dir.join("orders.csv"))
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[2][..10].to_string())
        })
        .collect();
    let units = |s: &str| -> i128 {
        if s.is_empty() {
            return 0;
        }
        let (i, f) = s.split_once('.').unwrap_or((s, ""));
        i.parse::<i128>().unwrap() * 10_000 + format!("{f:0<4}").parse::<i128>().unwrap()
    };
    let (mut gross, mut discount) = (0, 0);
    for r in csv::Reader::from_path(dir.join("order_items.csv")).unwrap().records() {
        let r = r.unwrap();
        let day = &days[&r[0]];
        if day.as_str() >= from && day.as_str() <= to {
            gross += r[3].parse::<i128>().unwrap() * units(&r[4]);
            discount += units(&r[5]);
        }
    }
    (gross, discount)
}

#[tokio::test]
async fn bridges_add_up_exactly_and_agree_with_the_kpis_on_a_generated_shop() {
    let src = common::shop(21, 6000);
    let wh = tempfile::tempdir().unwrap();
    common::import(src.path(), wh.path()).await.unwrap();
    let w = open(wh.path()).await;
    let p = |from, to, category, country, method| FilterParams {
        from,
        to,
        category,
        country,
        method,
        channel: None,
        product: None,
        top: None,
    };
    let filters = [
        p(Some("2024-06-01"), Some("2024-06-30"), None, None, None),
        p(Some("2024-01-01"), Some("2024-12-31"), None, None, None),
        p(Some("2023-10-01"), Some("2023-12-31"), None, Some("DE"), None),
        p(Some("2024-03-01"), Some("2024-05-31"), Some("Toys"), None, None),
        p(Some("2024-03-01"), Some("2024-05-31"), None, None, Some("paypal")),
        p(None, None, None, Some("FR"), Some("credit_card")),
    ];
    for fp in filters {
        let f = common::filter(fp);
        for vs in [Versus::PreviousPeriod, Versus::PreviousYear] {
            let e = insights::explain(&w, &f, vs).await.unwrap().unwrap();
            check_bridge(wh.path(), &f, &e).await;
        }
    }
    // gross to net against the raw rows
    let e = insights::explain(&w, &range("2024-01-01", "2024-06-30"), Versus::PreviousYear).await.unwrap().unwrap();
    let (gross, discount) = raw_gross(src.path(), "2024-01-01", "2024-06-30");
    assert_eq!(e.gross_to_net[0].amount.0, (gross + 50).div_euclid(100));
    assert_eq!(e.gross_to_net[1].amount.0, -(discount + 50).div_euclid(100));
}

/// Removes every second order of `month` with a line in `category` (and its lines and payments).
fn cut_category(src: &Path, dst: &Path, month: &str, category: &str) {
    let products: std::collections::HashSet<String> = csv::Reader::from_path(src.join("products.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[2] == category)
        .map(|r| r[0].to_string())
        .collect();
    let in_month: std::collections::HashSet<String> = csv::Reader::from_path(src.join("orders.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .filter(|r| r[2].starts_with(month))
        .map(|r| r[0].to_string())
        .collect();
    let mut hit: Vec<String> = csv::Reader::from_path(src.join("order_items.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .filter(|r| in_month.contains(&r[0]) && products.contains(&r[2]))
        .map(|r| r[0].to_string())
        .collect();
    hit.sort();
    hit.dedup();
    let dropped: std::collections::HashSet<String> = hit.into_iter().step_by(2).collect();
    for file in ["customers.csv", "products.csv", "orders.csv", "order_items.csv", "payments.csv"] {
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        let keep: String = text
            .lines()
            .enumerate()
            .filter(|(i, l)| {
                *i == 0
                    || !matches!(file, "orders.csv" | "order_items.csv" | "payments.csv")
                    || !dropped.contains(l.split(',').next().unwrap())
            })
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        std::fs::write(dst.join(file), keep).unwrap();
    }
}

#[tokio::test]
async fn alerts_name_an_injected_drop_first_and_stay_quiet_otherwise() {
    let src = common::shop(5, 40_000);
    let wh = tempfile::tempdir().unwrap();
    common::import(src.path(), wh.path()).await.unwrap();
    let quiet = insights::alerts(&open(wh.path()).await).await.unwrap();
    assert_eq!(quiet.month.map(|m| m.to_string()), Some("2024-12".to_string()));
    assert!(quiet.checked >= 15, "{quiet:?}");
    assert!(quiet.alerts.len() <= 3, "a shop with no change: {:#?}", quiet.alerts);

    let cut = tempfile::tempdir().unwrap();
    cut_category(src.path(), cut.path(), "2024-12", "Toys");
    let wh2 = tempfile::tempdir().unwrap();
    common::import(cut.path(), wh2.path()).await.unwrap();
    let a = insights::alerts(&open(wh2.path()).await).await.unwrap();
    let first = &a.alerts[0];
    assert_eq!(
        (first.kind, first.segment.as_str(), first.month.to_string()),
        ("category", "Toys", "2024-12".into()),
        "{a:#?}"
    );
    assert!(first.gap < -0.3 && first.actual < first.interval_95[0], "{first:?}");
}

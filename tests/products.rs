//! The products analyses against independent computations: plain Rust over the raw CSV rows
//! (performance at every level, under filters; the journey), a hand-worked tiny shop with two
//! variants of a product, a return and a pair bought together, and mlxtend (Python) for the pair
//! measures (`tests/pairs_mlxtend.py`).

mod common;

use common::oracle::{self, OracleFilter};
use shoplens::analysis::Ctx;
use shoplens::analysis::products::{JourneyAnalysis, JourneyQuery, LevelQuery, PairsAnalysis, PairsQuery};
use shoplens::generate::{GenerateOptions, generate};
use shoplens::metrics::compare::Versus;
use shoplens::model::filter::FilterParams;
use shoplens::products::{self, Level, Performance};
use shoplens::warehouse::{Store, Warehouse};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

fn read(dir: &Path, file: &str) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join(file)).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(|h| h.trim().to_lowercase()).collect();
    r.records()
        .map(|rec| header.iter().cloned().zip(rec.unwrap().iter().map(|v| v.trim().to_string())).collect())
        .collect()
}

/// Each product_id's item at `level`, from products.csv (a product it does not list is its own,
/// in Uncategorized).
fn item_of(dir: &Path, level: Level) -> impl Fn(&str) -> String {
    let products: HashMap<String, HashMap<String, String>> =
        read(dir, "products.csv").into_iter().map(|r| (r["product_id"].clone(), r)).collect();
    move |p: &str| {
        let row = products.get(p);
        let field = |k: &str| row.and_then(|r| r.get(k)).filter(|v| !v.is_empty()).cloned();
        match level {
            Level::Variant => p.to_string(),
            Level::Product => field("variant_of").unwrap_or_else(|| p.to_string()),
            Level::Category => field("category").unwrap_or_else(|| "Uncategorized".into()),
        }
    }
}

/// Ten-thousandths to cents, half away from zero.
fn cents(u: i128) -> i128 {
    let (q, r) = (u / 100, u % 100);
    if 2 * r.abs() >= 100 { q + u.signum() } else { q }
}

/// Per item: (net sales, sales, units, orders, first-time orders, returned units, returned value),
/// money in ten-thousandths.
type Figures = (i128, i128, i64, usize, usize, i64, i128);

fn oracle_figures(dir: &Path, f: &OracleFilter, level: Level) -> BTreeMap<String, Figures> {
    let item = item_of(dir, level);
    // the first purchase day of every customer over the whole shop
    let mut first: HashMap<String, String> = HashMap::new();
    for l in
        oracle::revenue_lines(dir, &OracleFilter { top: 10, taxes_included: f.taxes_included, ..Default::default() })
    {
        let d = first.entry(l.customer.clone()).or_insert(l.date.clone());
        if l.date < *d {
            *d = l.date.clone();
        }
    }
    let rows = oracle::books_rows(dir, f);
    /// Sales, units, orders, first-day orders, returned units, returned value.
    type Sums = (i128, i64, HashSet<String>, HashSet<String>, i64, i128);
    let mut out: BTreeMap<String, Sums> = BTreeMap::new();
    for l in &rows.lines {
        let e = out.entry(item(&l.product)).or_default();
        e.0 += l.revenue;
        e.1 += l.quantity;
        e.2.insert(l.order.clone());
        if first.get(&l.customer) == Some(&l.date) {
            e.3.insert(l.order.clone());
        }
    }
    for r in &rows.returns {
        let e = out.entry(item(&r.product)).or_default();
        e.4 += r.quantity;
        e.5 += r.amount;
    }
    out.into_iter()
        .map(|(k, (sales, units, orders, firsts, ru, rv))| {
            (k, (sales - rv, sales, units, orders.len(), firsts.len(), ru, rv))
        })
        .collect()
}

fn check(p: &Performance, want: &BTreeMap<String, Figures>, what: &str) {
    let got: BTreeMap<String, Figures> = p
        .items
        .iter()
        .map(|r| {
            let c = |x: shoplens::metrics::Cents| x.0;
            (
                r.item.clone(),
                (c(r.net_sales), c(r.sales), r.units, r.orders as usize, 0, r.returned_units, c(r.returned_value)),
            )
        })
        .collect();
    assert_eq!(got.len(), want.len(), "{what}: items");
    let mut mismatches = 0;
    for (k, w) in want {
        let g = got.get(k).unwrap_or_else(|| panic!("{what}: item {k} missing"));
        let w_cents = (cents(w.0), cents(w.1), w.2, w.3, 0, w.5, cents(w.6));
        if *g != w_cents {
            mismatches += 1;
            eprintln!("{what}: {k}: got {g:?}, want {w_cents:?}");
        }
        let row = p.items.iter().find(|r| r.item == *k).unwrap();
        let share = |a: usize, b: usize| (b != 0).then(|| ((a as f64 / b as f64) * 1e6).round() / 1e6);
        assert_eq!(row.first_time_share, share(w.4, w.3), "{what}: {k}: first-time share");
        let rate = (w.2 != 0).then(|| ((w.5 as f64 / w.2 as f64) * 1e6).round() / 1e6);
        assert_eq!(row.return_rate, rate, "{what}: {k}: return rate");
        let by_value = (w.1 != 0).then(|| ((w.6 as f64 / w.1 as f64) * 1e6).round() / 1e6);
        assert_eq!(row.value_return_rate, by_value, "{what}: {k}: value return rate");
    }
    assert_eq!(mismatches, 0, "{what}: items differ from the oracle");
    // sorted by net sales descending, then item
    assert!(p.items.windows(2).all(|w| (w[1].net_sales, &w[0].item) <= (w[0].net_sales, &w[1].item)), "{what}: order");
    // the total is the exact sum rounded once
    assert_eq!(p.net_sales.0, cents(want.values().map(|w| w.0).sum()), "{what}: total");
}

#[tokio::test]
async fn performance_equals_plain_rust_over_the_rows_at_every_level_and_filter() {
    let src = tempfile::tempdir().unwrap();
    generate(src.path(), &GenerateOptions { orders: 3000, seed: 7, books: true, ..Default::default() }).unwrap();
    let wh = tempfile::tempdir().unwrap();
    common::import(src.path(), wh.path()).await.unwrap();
    let w = Warehouse::open(&Store::new(wh.path())).await.unwrap();
    let cases = [
        (FilterParams::default(), OracleFilter::default()),
        (
            FilterParams { from: Some("2023-03-01"), to: Some("2023-08-31"), ..Default::default() },
            OracleFilter { from: Some("2023-03-01".into()), to: Some("2023-08-31".into()), ..Default::default() },
        ),
        (
            FilterParams { category: Some("Electronics"), ..Default::default() },
            OracleFilter { category: Some("Electronics".into()), ..Default::default() },
        ),
    ];
    for (params, of) in cases {
        let filter = common::filter(params);
        for level in [Level::Product, Level::Variant, Level::Category] {
            let p = products::performance(&w, &filter, level, Versus::PreviousPeriod).await.unwrap();
            let what = format!("{level} {of:?}");
            check(&p, &oracle_figures(src.path(), &of, level), &what);
            // the comparison period's net sales are the oracle's over those days
            if let (Some(c), true) = (&p.comparison, of.from.is_some()) {
                let before = OracleFilter { from: Some(c.from.to_string()), to: Some(c.to.to_string()), ..of.clone() };
                let want = oracle_figures(src.path(), &before, level);
                for r in &p.items {
                    let w = want.get(&r.item).map_or(0, |f| cents(f.0));
                    assert_eq!(r.previous_net_sales.map(|c| c.0), Some(w), "{what}: {} before", r.item);
                }
            }
        }
    }
    // variants roll up: the generator makes two of every five products variants of the first
    let p = products::performance(&w, &common::filter(FilterParams::default()), Level::Product, Versus::PreviousPeriod)
        .await
        .unwrap();
    assert!(p.items.iter().any(|r| r.variants == 3), "a product with its two variants");
}

/// The hand-worked shop: a T-shirt in two sizes (TS-S, TS-M, variants of TS), a mug, a cap.
/// o1 (c1, day 1): TS-S ×1 at 20 + MUG ×1 at 10; o2 (c2, day 2): TS-M ×2 at 20 + MUG ×1 at 10;
/// o3 (c1, day 5): CAP ×1 at 15; o4 (c3, day 6): TS-S ×1 at 20. A refund on day 6 returns one
/// TS-M of o2 (20).
fn hand_shop() -> tempfile::TempDir {
    common::export(&[
        ("customers.csv", "customer_id\nc1\nc2\nc3\n"),
        (
            "products.csv",
            "product_id,product_name,category,variant_of\nTS-S,T-shirt S,Apparel,TS\nTS-M,T-shirt M,Apparel,TS\nMUG,Mug,Home,\nCAP,Cap,Apparel,\n",
        ),
        (
            "orders.csv",
            "order_id,customer_id,order_ts,status\no1,c1,2024-01-01 10:00:00,delivered\no2,c2,2024-01-02 10:00:00,delivered\n\
             o3,c1,2024-01-05 10:00:00,delivered\no4,c3,2024-01-06 10:00:00,delivered\n",
        ),
        (
            "order_items.csv",
            "order_id,line_no,product_id,quantity,unit_price\no1,1,TS-S,1,20\no1,2,MUG,1,10\no2,1,TS-M,2,20\no2,2,MUG,1,10\n\
             o3,1,CAP,1,15\no4,1,TS-S,1,20\n",
        ),
        (
            "payments.csv",
            "order_id,payment_seq,method,amount\no1,1,card,30\no2,1,card,50\no3,1,card,15\no4,1,card,20\n",
        ),
        ("refunds.csv", "refund_id,order_id,refunded_at,line_no,quantity,amount\nr1,o2,2024-01-06 12:00:00,1,1,20\n"),
    ])
}

#[tokio::test]
async fn the_hand_worked_shop() {
    let src = hand_shop();
    let wh = tempfile::tempdir().unwrap();
    common::import(src.path(), wh.path()).await.unwrap();
    let w = Warehouse::open(&Store::new(wh.path())).await.unwrap();
    let all = common::filter(FilterParams::default());
    let p = products::performance(&w, &all, Level::Product, Versus::PreviousPeriod).await.unwrap();
    let row = |item: &str| p.items.iter().find(|r| r.item == item).unwrap().clone();
    // TS: sold 20 + 40 + 20 = 80 in 4 units over 3 orders, one unit (20) back: net 60
    let ts = row("TS");
    assert_eq!((ts.net_sales.0, ts.sales.0, ts.units, ts.orders, ts.variants), (6000, 8000, 4, 3, 2));
    assert_eq!((ts.returned_units, ts.returned_value.0, ts.return_rate), (1, 2000, Some(0.25)));
    assert_eq!(ts.value_return_rate, Some(0.25));
    assert_eq!(ts.average_price.map(|c| c.0), Some(2000));
    // o1, o2 and o4 are their customers' first purchase days: all first-time
    assert_eq!(ts.first_time_share, Some(1.0));
    // the cap is c1's second purchase: a repeat buyer's
    assert_eq!(row("CAP").first_time_share, Some(0.0));
    // net sales 60 + 20 + 15 = 95: the T-shirt's share 60/95
    assert_eq!(p.net_sales.0, 9500);
    assert_eq!(ts.share, Some(((60.0 / 95.0) * 1e6_f64).round() / 1e6));
    assert_eq!(p.items.iter().map(|r| r.item.as_str()).collect::<Vec<_>>(), ["TS", "MUG", "CAP"]);
    // the variant level: TS-M sold 2 (40), one back
    let v = products::performance(&w, &all, Level::Variant, Versus::PreviousPeriod).await.unwrap();
    let m = v.items.iter().find(|r| r.item == "TS-M").unwrap();
    assert_eq!(
        (m.net_sales.0, m.units, m.returned_units, m.return_rate, m.product.as_str()),
        (2000, 2, 1, Some(0.5), "TS")
    );

    // pairs: TS and MUG together in o1 and o2, of 4 orders; TS in 3, MUG in 2
    let ctx = Ctx::new(&w);
    let q = PairsQuery { min_orders: Some("1".into()), ..Default::default() };
    let pairs = ctx.answer::<PairsAnalysis>(q).await.unwrap();
    assert_eq!((pairs.orders, pairs.pairs), (4, 1));
    let r = pairs.rules.iter().find(|r| r.antecedent == "MUG").unwrap();
    assert_eq!((r.consequent.as_str(), r.orders), ("TS", 2));
    // support 2/4, confidence MUG→TS 2/2 = 1, lift 1/(3/4), leverage 0.5 - 0.5*0.75, conviction ∞
    assert_eq!((r.support, r.confidence, r.antecedent_support, r.consequent_support), (0.5, 1.0, 0.5, 0.75));
    assert!((r.lift - 4.0 / 3.0).abs() < 1e-12 && (r.leverage - 0.125).abs() < 1e-12 && r.conviction.is_none());
    let back = pairs.rules.iter().find(|r| r.antecedent == "TS").unwrap();
    // TS→MUG: confidence 2/3, conviction (1 - 0.5) / (1 - 2/3) = 1.5
    assert!((back.confidence - 2.0 / 3.0).abs() < 1e-12 && (back.conviction.unwrap() - 1.5).abs() < 1e-9);
    // two orders at least by default: the pair passes; three: it does not
    let q = PairsQuery { min_orders: Some("3".into()), ..Default::default() };
    assert_eq!(ctx.answer::<PairsAnalysis>(q).await.unwrap().rules.len(), 0);

    // the journey: c1 first bought TS and MUG, then the cap; c2 TS and MUG, never again; c3 TS
    let j = ctx.answer::<JourneyAnalysis>(JourneyQuery::default()).await.unwrap();
    assert_eq!((j.all.customers, j.all.came_back), (3, 1));
    let ts = j.items.iter().find(|r| r.item.as_deref() == Some("TS")).unwrap();
    assert_eq!((ts.customers, ts.came_back, ts.next.len()), (3, 1, 1));
    assert_eq!((ts.next[0].item.as_str(), ts.next[0].share), ("CAP", 1.0));
    let mug = j.items.iter().find(|r| r.item.as_deref() == Some("MUG")).unwrap();
    assert_eq!((mug.customers, mug.came_back), (2, 1));
    // no customer has a whole year of data after a first purchase in January 2024 (the data ends on the 6th)
    assert_eq!((j.all.full_year_customers, j.all.year_net_sales_per_customer), (0, None));
    // the level is checked as any parameter
    let bad = JourneyQuery { level: LevelQuery { level: Some("sku".into()) }, ..Default::default() };
    assert!(ctx.answer::<JourneyAnalysis>(bad).await.unwrap_err().to_string().contains("level"));
}

/// The pair measures equal mlxtend's apriori + association_rules on the same baskets (the
/// oracle's revenue lines by order, at the product level).
#[tokio::test]
async fn pairs_equal_mlxtend() {
    if std::process::Command::new("python3")
        .args(["-c", "import mlxtend, pandas"])
        .status()
        .map_or(true, |s| !s.success())
    {
        assert!(std::env::var_os("CI").is_none(), "mlxtend is missing: scripts/test.sh installs it");
        eprintln!("skipped: python3 with mlxtend and pandas is not installed (scripts/test.sh installs them)");
        return;
    }
    let src = tempfile::tempdir().unwrap();
    generate(src.path(), &GenerateOptions { orders: 4000, seed: 11, ..Default::default() }).unwrap();
    let wh = tempfile::tempdir().unwrap();
    common::import(src.path(), wh.path()).await.unwrap();
    let w = Warehouse::open(&Store::new(wh.path())).await.unwrap();
    // baskets from the raw rows, by the oracle: one line per order, its items
    let item = item_of(src.path(), Level::Product);
    let mut baskets: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for l in oracle::revenue_lines(src.path(), &OracleFilter { top: 10, ..Default::default() }) {
        baskets.entry(l.order).or_default().insert(item(&l.product));
    }
    let tmp = tempfile::tempdir().unwrap();
    let basket_file = tmp.path().join("baskets.txt");
    let text: String = baskets.values().map(|b| b.iter().cloned().collect::<Vec<_>>().join("\t") + "\n").collect();
    std::fs::write(&basket_file, text).unwrap();
    let min_support = "0.004";
    let q = PairsQuery {
        filter: shoplens::analysis::query::FilterQuery {
            top: shoplens::analysis::query::TopQuery { top: Some("1000".into()) },
            ..Default::default()
        },
        min_support: Some(min_support.into()),
        min_orders: Some("1".into()),
        ..Default::default()
    };
    let pairs = Ctx::new(&w).answer::<PairsAnalysis>(q).await.unwrap();
    assert!(pairs.rules.len() >= 4, "enough rules to compare: {}", pairs.rules.len());
    let ours = tmp.path().join("rules.json");
    std::fs::write(&ours, serde_json::to_vec(&pairs.rules).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pairs_mlxtend.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .args([basket_file.as_os_str(), ours.as_os_str()])
        .arg(min_support)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "mlxtend disagrees:\n{said}");
    assert!(said.contains(&format!("{} rules equal", pairs.rules.len())), "{said}");
}

//! Real Shopify order exports (`../shared/data/real-exports/`, read where they are, never copied
//! into the project), imported with `--preset shopify`: the books equal what the shop's platform
//! says from the same file (that folder's README gives the identities), worked out here in plain
//! Rust over the file's own columns.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn exports() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real-exports");
    dir.exists().then_some(dir)
}

/// Ten-thousandths from a decimal text (empty: 0).
fn units(s: &str) -> i128 {
    let s = s.trim();
    if s.is_empty() {
        return 0;
    }
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (i, f) = s.split_once('.').unwrap_or((s, ""));
    let v = i.parse::<i128>().unwrap() * 10_000 + format!("{f:0<4}")[..4].parse::<i128>().unwrap();
    if neg { -v } else { v }
}

fn cents(v: &serde_json::Value) -> i128 {
    (v.as_f64().unwrap() * 100.0).round() as i128
}

/// What the file says of its sales (paid, partially paid, partially refunded, refunded), in
/// ten-thousandths.
#[derive(Debug, Default)]
struct Said {
    total: i128,
    refunded: i128,
    gross: i128,
    discounts: i128,
    shipping: i128,
    taxes: i128,
    /// Net sales if every refund were goods first (the lowest) or shipping and tax first.
    net_low: i128,
    net_high: i128,
    /// What refunds give back beyond their order's total (which the canonical format cannot
    /// hold: a refund is at most its order's goods, shipping and tax).
    over_total: i128,
}

fn said(file: &Path) -> Said {
    let mut r = csv::Reader::from_path(file).unwrap();
    let header: Vec<String> =
        r.headers().unwrap().iter().map(|h| h.trim_start_matches('\u{feff}').to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (name, status, total, refunded, price, qty) = (
        col("Name"),
        col("Financial Status"),
        col("Total"),
        col("Refunded Amount"),
        col("Lineitem price"),
        col("Lineitem quantity"),
    );
    let (discount, shipping, taxes) = (col("Discount Amount"), col("Shipping"), col("Taxes"));
    // per order: its first row's money and its lines' gross
    let mut orders: BTreeMap<String, (csv::StringRecord, i128)> = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let g = units(&rec[price]) * rec[qty].trim().parse::<i128>().unwrap_or(0);
        orders.entry(rec[name].to_string()).or_insert_with(|| (rec.clone(), 0)).1 += g;
    }
    let mut s = Said::default();
    for (first, gross) in orders.values() {
        if !["paid", "partially_paid", "partially_refunded", "refunded"].contains(&&first[status]) {
            continue;
        }
        let (t, rf, d, sh, tx) = (
            units(&first[total]),
            units(&first[refunded]),
            units(&first[discount]),
            units(&first[shipping]),
            units(&first[taxes]),
        );
        s.total += t;
        s.refunded += rf;
        s.over_total += (rf - t).max(0);
        s.gross += gross;
        s.discounts += d;
        s.shipping += sh;
        s.taxes += tx;
        let goods = gross - d;
        s.net_low += goods - rf.min(goods);
        s.net_high += goods - (rf - sh - tx).max(0);
    }
    s
}

fn import(file: &Path) -> tempfile::TempDir {
    let wh = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .args(["import", file.to_str().unwrap(), "--warehouse", wh.path().to_str().unwrap(), "--preset", "shopify"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    wh
}

#[tokio::test]
async fn the_books_of_each_real_export_equal_its_own_totals() {
    let Some(dir) = exports() else {
        eprintln!("skipped: ../shared/data/real-exports is not beside the project");
        return;
    };
    let taxes_included = ["shopify_looker_eur.csv", "shopify_dna_eur.csv"];
    for name in ["shopify_monfrere_usd.csv", "shopify_paramx_usd.csv", "shopify_looker_eur.csv", "shopify_dna_eur.csv"]
    {
        let file = dir.join(name);
        let want = said(&file);
        let wh = import(&file);
        let k = common::kpis(wh.path(), &shoplens::model::Filter::default()).await;
        let b = &k["books"];
        let cents_of = |u: i128| (u + 50 * u.signum()) / 100;
        // Σ Total − Σ Refunded Amount over the sales, however each refund splits; a refund over
        // its order's total counts up to that total, and the books say so
        let assumptions = k["assumptions"].as_array().unwrap();
        assert_eq!(
            cents(&b["total_sales"]),
            cents_of(want.total - want.refunded + want.over_total),
            "{name}: total sales {b}"
        );
        let says_over = assumptions.iter().any(|a| a.as_str().unwrap().contains("more than their order's"));
        assert_eq!(says_over, want.over_total > 0, "{name}: {assumptions:?}");
        assert_eq!(cents(&b["discounts"]), cents_of(want.discounts), "{name}: discounts {b}");
        let net = cents(&b["net_sales"]);
        if taxes_included.contains(&name) {
            // the tax is inside the prices: taken out of the goods and shipping, whole in taxes
            assert!(cents(&b["gross_sales"]) < cents_of(want.gross), "{name}: {b}");
            assert!(net < cents_of(want.net_high), "{name}: {b}");
        } else {
            assert_eq!(cents(&b["gross_sales"]), cents_of(want.gross), "{name}: gross sales {b}");
            assert!(net >= cents_of(want.net_low) && net <= cents_of(want.net_high), "{name}: net {net} {want:?}");
        }
        // shipping and taxes charged are the file's; refunds take their estimated share back
        let refunded_shipping_and_tax =
            cents_of(want.shipping + want.taxes) - cents(&b["shipping"]) - cents(&b["taxes"]);
        assert!(refunded_shipping_and_tax >= 0, "{name}: {b}");
        // a Shopify export has no refund dates: the books say so
        assert!(assumptions.iter().any(|a| a.as_str().unwrap().contains("no refund dates")), "{name}: {assumptions:?}");
        let tax_note = if taxes_included.contains(&name) { "prices include tax" } else { "prices are before tax" };
        assert!(assumptions.iter().any(|a| a.as_str().unwrap().contains(tax_note)), "{name}: {assumptions:?}");
    }
}

/// Per day (as the file writes it, in the shop's own offset): the orders created, and over the
/// whole file the sales' count and their distinct e-mails.
fn days_and_customers(file: &Path) -> (BTreeMap<String, u64>, u64, u64) {
    let mut r = csv::Reader::from_path(file).unwrap();
    let header: Vec<String> =
        r.headers().unwrap().iter().map(|h| h.trim_start_matches('\u{feff}').to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (name, created, status, email) = (col("Name"), col("Created at"), col("Financial Status"), col("Email"));
    let (mut days, mut seen, mut emails) = (BTreeMap::new(), std::collections::HashSet::new(), BTreeMap::new());
    let mut sales = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        if !seen.insert(rec[name].to_string()) {
            continue;
        }
        *days.entry(rec[created][..10].to_string()).or_insert(0) += 1;
        if ["paid", "partially_paid", "partially_refunded", "refunded"].contains(&&rec[status]) {
            sales += 1;
            // an order without an e-mail is a guest's, a customer of its own
            let who =
                if rec[email].trim().is_empty() { format!("guest {}", &rec[name]) } else { rec[email].to_string() };
            emails.insert(who, ());
        }
    }
    (days, sales, emails.len() as u64)
}

fn shoplens(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_shoplens")).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn each_order_is_on_the_day_the_shop_saw_and_the_currency_is_recorded() {
    let Some(dir) = exports() else {
        eprintln!("skipped: ../shared/data/real-exports is not beside the project");
        return;
    };
    for (name, currency) in [
        ("shopify_monfrere_usd.csv", "USD"),
        ("shopify_paramx_usd.csv", "USD"),
        ("shopify_looker_eur.csv", "EUR"),
        ("shopify_dna_eur.csv", "EUR"),
    ] {
        let file = dir.join(name);
        let (want_days, sales, customers) = days_and_customers(&file);
        let wh = import(&file);
        let w = wh.path().to_str().unwrap();
        let csv = shoplens(&[
            "sql",
            "--warehouse",
            w,
            "--format",
            "csv",
            "SELECT CAST(d.date AS VARCHAR) AS day, COUNT(*) AS orders FROM fact_order o \
             JOIN dim_date d ON d.date_key = o.date_key GROUP BY d.date ORDER BY d.date",
        ]);
        let got: BTreeMap<String, u64> = csv
            .lines()
            .skip(1)
            .map(|l| {
                let (d, n) = l.split_once(',').unwrap();
                (d.to_string(), n.parse().unwrap())
            })
            .collect();
        assert_eq!(got, want_days, "{name}: orders per day, the shop's clock");
        let status = shoplens(&["status", "--warehouse", w]);
        assert!(status.contains(&format!("currency {currency}")), "{name}: {status}");
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(wh.path().join("CURRENT")).unwrap()).unwrap();
        assert_eq!(manifest["currency"], currency, "{name}");
        let k = common::kpis(wh.path(), &shoplens::model::Filter::default()).await;
        assert_eq!(k["summary"]["orders"], sales, "{name}: the sales are the orders");
        assert_eq!(k["summary"]["customers"], customers, "{name}: distinct e-mails of the sales");
        let notes = k["assumptions"].to_string();
        assert!(notes.contains("the shop's own clock"), "{name}: {notes}");
    }
}

#[tokio::test]
async fn detect_then_map_gives_each_real_export_the_presets_books() {
    let Some(dir) = exports() else {
        eprintln!("skipped: ../shared/data/real-exports is not beside the project");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    for name in ["shopify_monfrere_usd.csv", "shopify_paramx_usd.csv", "shopify_looker_eur.csv", "shopify_dna_eur.csv"]
    {
        let file = dir.join(name);
        // as a user would: import FILE --detect > m.toml && import FILE --map m.toml
        let detected = Command::new(env!("CARGO_BIN_EXE_shoplens"))
            .args(["import", file.to_str().unwrap(), "--warehouse", "unused", "--detect"])
            .output()
            .unwrap();
        assert!(detected.status.success(), "{name}: {}", String::from_utf8_lossy(&detected.stderr));
        let mapping = work.path().join(format!("{name}.toml"));
        std::fs::write(&mapping, &detected.stdout).unwrap();
        let wh = work.path().join(name);
        let out = Command::new(env!("CARGO_BIN_EXE_shoplens"))
            .args(["import", file.to_str().unwrap(), "--warehouse", wh.to_str().unwrap(), "--map"])
            .arg(&mapping)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let preset = import(&file);
        let filter = shoplens::model::Filter::default();
        let (mapped, preset) = (common::kpis(&wh, &filter).await, common::kpis(preset.path(), &filter).await);
        for key in ["summary", "books", "channels", "discount_codes", "monthly"] {
            assert_eq!(mapped[key], preset[key], "{name}: {key}");
        }
    }
}

/// A Shopify line item's name is "Product - Variant": the variants of one product roll up into
/// it, a title holding the separator with no sibling stays whole, and the roll-up keeps every
/// cent and unit.
#[tokio::test]
async fn shopify_variants_roll_up_into_their_products() {
    let Some(dir) = exports() else {
        eprintln!("skipped: ../shared/data/real-exports is not beside the project");
        return;
    };
    let json = |file: &str, level: &str| -> serde_json::Value {
        let wh = import(&dir.join(file));
        let out = shoplens(&[
            "products",
            "performance",
            "--warehouse",
            wh.path().to_str().unwrap(),
            "--level",
            level,
            "--format",
            "json",
        ]);
        serde_json::from_str(&out).unwrap()
    };
    let sum = |v: &serde_json::Value, key: &str| -> i128 {
        v["items"].as_array().unwrap().iter().map(|r| (r[key].as_f64().unwrap() * 100.0).round() as i128).sum()
    };
    let (products, variants) =
        (json("shopify_monfrere_usd.csv", "product"), json("shopify_monfrere_usd.csv", "variant"));
    let (np, nv) = (products["items"].as_array().unwrap().len(), variants["items"].as_array().unwrap().len());
    assert!(np * 3 < nv, "{np} products from {nv} variants");
    // units exactly; money as the total, summed exactly and rounded once (each item's cents are
    // rounded on their own, so the sums of items may differ by a cent per item)
    assert_eq!(sum(&products, "units"), sum(&variants, "units"), "units over products and over variants");
    assert_eq!(products["net_sales"], variants["net_sales"], "net sales over products and over variants");
    let drift = (sum(&products, "net_sales") - sum(&variants, "net_sales")).abs();
    assert!(drift <= nv as i128, "rounded items drift by {drift} cents");
    // the two sizes of "Greyson Noir" are one product
    let noir =
        products["items"].as_array().unwrap().iter().find(|r| r["name"] == "Greyson Noir").expect("Greyson Noir");
    assert!(noir["variants"].as_i64().unwrap() >= 2, "{noir}");
    // the KPIs' top products roll up the same way: the products view's first ten, to the cent
    let wh = import(&dir.join("shopify_monfrere_usd.csv"));
    let kpis: serde_json::Value =
        serde_json::from_str(&shoplens(&["kpi", "--warehouse", wh.path().to_str().unwrap(), "--json"])).unwrap();
    let top: Vec<(&str, &serde_json::Value)> = kpis["top_products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["product_id"].as_str().unwrap(), &r["revenue"]))
        .collect();
    let first: Vec<(&str, &serde_json::Value)> = products["items"]
        .as_array()
        .unwrap()
        .iter()
        .take(10)
        .map(|r| (r["item"].as_str().unwrap(), &r["net_sales"]))
        .collect();
    assert_eq!(top, first, "top products against the products view");
    assert_eq!(top[0].0, "Greyson Noir");
    // "Crazy Sofa - Inflatable Towable" has no sibling: a product of its own, named whole
    let dna = json("shopify_dna_eur.csv", "product");
    let names: Vec<&str> = dna["items"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Crazy Sofa - Inflatable Towable"), "{names:?}");
    assert!(names.contains(&"Jetski Rental"), "{names:?}");
}

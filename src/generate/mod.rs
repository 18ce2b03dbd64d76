//! A realistic demo shop in the canonical format: three years of orders with growth, a
//! November–December peak, a weekday pattern, long-tail product popularity, returning customers
//! (and many one-off ones), cancellations and returns, split payments and instalments, guests and
//! retired products missing from their files, and names that test CSV quoting and UTF-8.
//!
//! It streams: orders are written day by day and customers as they first appear, so memory does
//! not grow with the number of orders. The same seed gives the same bytes.

mod names;

use anyhow::{Context, Result};
use chrono::{Datelike, Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::Path;

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// How many orders.
    pub orders: u64,
    /// The random seed.
    pub seed: u64,
    /// First day of the shop's history.
    pub start: NaiveDate,
    /// How many days of history.
    pub days: u32,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            orders: 100_000,
            seed: 42,
            start: NaiveDate::from_ymd_opt(2022, 1, 1).expect("valid"),
            days: 1096,
        }
    }
}

/// Counts of what was written.
#[derive(Clone, Copy, Debug, Default)]
pub struct GenerateReport {
    /// Rows of customers.csv.
    pub customers: u64,
    /// Rows of products.csv.
    pub products: u64,
    /// Rows of orders.csv.
    pub orders: u64,
    /// Rows of order_items.csv.
    pub order_items: u64,
    /// Rows of payments.csv.
    pub payments: u64,
}

/// A deterministic hash of an index, for per-customer traits that need no memory.
fn mix(seed: u64, i: u64) -> f64 {
    let mut z = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Picks an index by cumulative weights.
fn pick(rng: &mut impl Rng, cumulative: &[f64]) -> usize {
    let x = rng.random::<f64>() * cumulative.last().copied().unwrap_or(1.0);
    cumulative.partition_point(|c| *c <= x).min(cumulative.len() - 1)
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

struct Product {
    id: String,
    price_cents: i64,
}

struct Writers {
    customers: csv::Writer<BufWriter<File>>,
    orders: csv::Writer<BufWriter<File>>,
    items: csv::Writer<BufWriter<File>>,
    payments: csv::Writer<BufWriter<File>>,
}

fn writer(dir: &Path, name: &str, header: &[&str]) -> Result<csv::Writer<BufWriter<File>>> {
    let path = dir.join(name);
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, file));
    w.write_record(header)?;
    Ok(w)
}

/// Writes a demo shop into `dir` (created if needed).
///
/// # Errors
/// The folder or a file cannot be written.
pub fn generate(dir: &Path, opts: &GenerateOptions) -> Result<GenerateReport> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut report = GenerateReport::default();

    // the catalogue: a long tail of popularity, a few retired products absent from products.csv
    let n_products = (opts.orders / 200).clamp(40, 2000) as usize;
    let mut products_csv =
        writer(dir, "products.csv", &["product_id", "product_name", "category", "unit_cost", "list_price"])?;
    let mut catalogue = Vec::with_capacity(n_products);
    for i in 0..n_products {
        let (category, low, high) = names::CATEGORIES[rng.random_range(0..names::CATEGORIES.len())];
        let price_cents = (rng.random_range(low..high) * 100.0).round() as i64 - 1;
        let id = format!("SKU-{:06}", i + 1);
        let retired = i % 37 == 11;
        if !retired {
            let cost = price_cents * rng.random_range(40..70) / 100;
            // about one product in 60 has no category: it reads as Uncategorized
            let category = if i % 61 == 7 { "" } else { category };
            products_csv.write_record([
                &id,
                &names::product_name(&mut rng, category),
                category,
                &money(cost),
                &money(price_cents),
            ])?;
            report.products += 1;
        }
        catalogue.push(Product { id, price_cents });
    }
    products_csv.flush()?;
    // Zipf-like popularity in a shuffled order, so ids don't give away the ranking
    let mut rank: Vec<usize> = (0..n_products).collect();
    for i in (1..n_products).rev() {
        rank.swap(i, rng.random_range(0..=i));
    }
    let popularity = names::cumulate(rank.iter().map(|r| 1.0 / (*r as f64 + 1.0).powf(1.05)));

    let mut w = Writers {
        customers: writer(
            dir,
            "customers.csv",
            &["customer_id", "customer_name", "city", "region", "country", "signup_date"],
        )?,
        orders: writer(dir, "orders.csv", &["order_id", "customer_id", "order_ts", "status"])?,
        items: writer(
            dir,
            "order_items.csv",
            &["order_id", "line_no", "product_id", "quantity", "unit_price", "discount"],
        )?,
        payments: writer(dir, "payments.csv", &["order_id", "payment_seq", "method", "installments", "amount"])?,
    };

    // orders per day: growth x season x weekday x noise, rounded so the total is exact
    const SEASON: [f64; 12] = [0.85, 0.78, 0.88, 0.92, 0.97, 0.93, 0.9, 0.94, 1.0, 1.06, 1.42, 1.68];
    const WEEKDAY: [f64; 7] = [1.05, 1.02, 1.0, 1.0, 1.04, 0.86, 0.82];
    let days: Vec<NaiveDate> = (0..opts.days).map(|i| opts.start + Duration::days(i as i64)).collect();
    let weights = names::cumulate(days.iter().enumerate().map(|(i, d)| {
        let years = i as f64 / 365.25;
        (0.35 * years).exp()
            * SEASON[d.month0() as usize]
            * WEEKDAY[d.weekday().num_days_from_monday() as usize]
            * rng.random_range(0.85..1.15)
    }));
    let total_weight = *weights.last().unwrap_or(&1.0);
    let last_day = *days.last().unwrap_or(&opts.start);

    let mut customers: u64 = 0;
    let mut order_no: u64 = 0;
    let mut allotted: u64 = 0;
    for (i, day) in days.iter().enumerate() {
        let upto = (opts.orders as f64 * weights[i] / total_weight).round() as u64;
        let count = upto.saturating_sub(allotted);
        allotted = upto;
        let mut seconds: Vec<u32> = (0..count).map(|_| rng.random_range(6 * 3600..24 * 3600)).collect();
        seconds.sort_unstable();
        for sec in seconds {
            order_no += 1;
            let ctx = OrderCtx { day: *day, sec, order_no, age_days: (last_day - *day).num_days() };
            write_order(&mut rng, &mut w, &ctx, &mut customers, opts.seed, &catalogue, &popularity, &mut report)?;
        }
    }
    report.orders = order_no;
    report.customers = customers;
    w.customers.flush()?;
    w.orders.flush()?;
    w.items.flush()?;
    w.payments.flush()?;
    Ok(report)
}

struct OrderCtx {
    day: NaiveDate,
    sec: u32,
    order_no: u64,
    age_days: i64,
}

#[allow(clippy::too_many_arguments)]
fn write_order(
    rng: &mut ChaCha8Rng,
    w: &mut Writers,
    o: &OrderCtx,
    customers: &mut u64,
    seed: u64,
    catalogue: &[Product],
    popularity: &[f64],
    report: &mut GenerateReport,
) -> Result<()> {
    let order_id = format!("O{:09}", o.order_no);
    // who buys: a guest, a returning customer (loyal ones far more often), or a new one
    let roll = rng.random::<f64>();
    let customer_id = if roll < 0.035 {
        format!("G{:09}", o.order_no)
    } else if *customers > 20 && roll < 0.50 {
        let mut chosen = rng.random_range(0..*customers);
        for _ in 0..30 {
            let loyalty = mix(seed, chosen);
            let accept = if loyalty < 0.08 {
                1.0
            } else if loyalty < 0.35 {
                0.25
            } else {
                0.02
            };
            if rng.random::<f64>() < accept {
                break;
            }
            chosen = rng.random_range(0..*customers);
        }
        format!("C{:08}", chosen + 1)
    } else {
        *customers += 1;
        let id = format!("C{:08}", *customers);
        let (city, region, country) = names::PLACES[pick(rng, names::place_weights())];
        let no_country = rng.random::<f64>() < 0.02;
        let signup = o.day - Duration::days(rng.random_range(0..30));
        w.customers.write_record([
            id.as_str(),
            &names::person_name(rng),
            city,
            region,
            if no_country { "" } else { country },
            &signup.format("%Y-%m-%d").to_string(),
        ])?;
        id
    };

    let status = if o.age_days < 2 && rng.random::<f64>() < 0.6 {
        if rng.random::<bool>() { "pending" } else { "processing" }
    } else if o.age_days < 6 && rng.random::<f64>() < 0.4 {
        "shipped"
    } else {
        match rng.random_range(0..1000) {
            0..=9 => "pending",
            10..=19 => "processing",
            20..=39 => "shipped",
            40..=99 => "cancelled",
            100..=139 => "returned",
            _ => "delivered",
        }
    };
    let ts = o.day.and_hms_opt(o.sec / 3600, (o.sec / 60) % 60, o.sec % 60).expect("valid time");
    w.orders.write_record([&order_id, &customer_id, &ts.format("%Y-%m-%dT%H:%M:%S").to_string(), status])?;

    let lines = match rng.random_range(0..100) {
        0..=44 => 1,
        45..=71 => 2,
        72..=86 => 3,
        87..=94 => 4,
        _ => 5,
    };
    let mut chosen: Vec<usize> = Vec::with_capacity(lines);
    let mut total_cents: i64 = 0;
    for line_no in 1..=lines {
        let mut p = pick(rng, popularity);
        for _ in 0..5 {
            if !chosen.contains(&p) {
                break;
            }
            p = pick(rng, popularity);
        }
        chosen.push(p);
        let product = &catalogue[p];
        let quantity: i64 = match rng.random_range(0..100) {
            0..=69 => 1,
            70..=89 => 2,
            90..=96 => 3,
            _ => rng.random_range(4..=6),
        };
        let price = if rng.random::<f64>() < 0.1 { product.price_cents * 9 / 10 } else { product.price_cents };
        let discount =
            if rng.random::<f64>() < 0.12 { quantity * price * rng.random_range(1..=4) * 5 / 100 } else { 0 };
        total_cents += quantity * price - discount;
        w.items.write_record([
            order_id.as_str(),
            &line_no.to_string(),
            &product.id,
            &quantity.to_string(),
            &money(price),
            &if discount > 0 { money(discount) } else { String::new() },
        ])?;
        report.order_items += 1;
    }

    // payments: most orders pay once; some split a gift card with a card; cards pay in instalments
    if status == "pending" && rng.random::<bool>() {
        return Ok(());
    }
    let mut pay = |seq: u32, method: &str, installments: u32, cents: i64| -> Result<()> {
        w.payments.write_record([
            order_id.as_str(),
            &seq.to_string(),
            method,
            &installments.to_string(),
            &money(cents),
        ])?;
        report.payments += 1;
        Ok(())
    };
    let installments = |rng: &mut ChaCha8Rng| match rng.random_range(0..100) {
        0..=59 => 1,
        60..=74 => 3,
        75..=86 => 6,
        87..=94 => 10,
        _ => 12,
    };
    if total_cents > 3000 && rng.random::<f64>() < 0.08 {
        let gift = [1000, 2500, 5000][rng.random_range(0..3)].min(total_cents / 2);
        pay(1, "gift_card", 1, gift)?;
        let n = installments(rng);
        pay(2, "credit_card", n, total_cents - gift)?;
    } else {
        match rng.random_range(0..100) {
            0..=51 => {
                let n = installments(rng);
                pay(1, "credit_card", n, total_cents)?
            }
            52..=75 => pay(1, "paypal", 1, total_cents)?,
            76..=88 => pay(1, "debit_card", 1, total_cents)?,
            _ => pay(1, "bank_transfer", 1, total_cents)?,
        }
    }
    Ok(())
}

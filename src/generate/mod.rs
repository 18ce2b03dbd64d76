//! A realistic demo shop in the canonical format: three years of orders with growth, a
//! November–December peak, a weekday pattern, long-tail product popularity, returning customers
//! (and many one-off ones), cancellations and returns, split payments and instalments, guests and
//! retired products missing from their files, and names that test CSV quoting and UTF-8.
//!
//! With `books` it also keeps a shop's books: shipping, a sales tax on goods and shipping, order
//! discounts with codes, sales channels, duties on some marketplace orders, and dated refunds
//! (of a line, partial refunds of the order, whole refunds with shipping and tax, and most
//! returned orders' refunds), drawn from a random stream of their own so that everything else is
//! the same shop byte for byte.
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
    /// Also write the books: order money, codes, channels and refunds.csv.
    pub books: bool,
    /// Make two of every five products variants of another (the `variant_of` column of
    /// products.csv); without it products.csv has the base format's five columns only.
    pub variants: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            orders: 100_000,
            seed: 42,
            start: NaiveDate::from_ymd_opt(2022, 1, 1).expect("valid"),
            days: 1096,
            books: false,
            variants: true,
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
    /// Rows of refunds.csv.
    pub refunds: u64,
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
    /// With the books: refunds.csv and the books' own random stream.
    books: Option<(csv::Writer<BufWriter<File>>, ChaCha8Rng)>,
    last_day: NaiveDate,
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
    let header = ["product_id", "product_name", "category", "unit_cost", "list_price", "variant_of"];
    let columns = if opts.variants { header.len() } else { header.len() - 1 };
    let mut products_csv = writer(dir, "products.csv", &header[..columns])?;
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
            // of every five products, the second and third are variants of the first (sizes)
            let variant_of = match i % 5 {
                1 | 2 => format!("SKU-{:06}", i - i % 5 + 1),
                _ => String::new(),
            };
            let name = names::product_name(&mut rng, category);
            let (cost, price) = (money(cost), money(price_cents));
            let record = [id.as_str(), &name, category, &cost, &price, &variant_of];
            products_csv.write_record(&record[..columns])?;
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
        orders: match opts.books {
            false => writer(dir, "orders.csv", &["order_id", "customer_id", "order_ts", "status"])?,
            true => writer(dir, "orders.csv", &crate::source::SourceFile::Orders.header())?,
        },
        items: writer(
            dir,
            "order_items.csv",
            &["order_id", "line_no", "product_id", "quantity", "unit_price", "discount"],
        )?,
        payments: writer(dir, "payments.csv", &["order_id", "payment_seq", "method", "installments", "amount"])?,
        books: match opts.books {
            false => {
                let _ = fs::remove_file(dir.join("refunds.csv"));
                None
            }
            true => Some((
                writer(dir, "refunds.csv", &crate::source::SourceFile::Refunds.header())?,
                ChaCha8Rng::seed_from_u64(opts.seed ^ 0xB00C_5EED),
            )),
        },
        last_day: opts.start + Duration::days(i64::from(opts.days.max(1)) - 1),
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
    if let Some((refunds, _)) = w.books.as_mut() {
        refunds.flush()?;
    }
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
    let ts_text = ts.format("%Y-%m-%dT%H:%M:%S").to_string();
    if w.books.is_none() {
        w.orders.write_record([&order_id, &customer_id, &ts_text, status])?;
    }

    let lines = match rng.random_range(0..100) {
        0..=44 => 1,
        45..=71 => 2,
        72..=86 => 3,
        87..=94 => 4,
        _ => 5,
    };
    let mut chosen: Vec<usize> = Vec::with_capacity(lines);
    let mut total_cents: i64 = 0;
    // (line_no, quantity, revenue in cents) of each line, for the books
    let mut sold: Vec<(i64, i64, i64)> = Vec::with_capacity(lines);
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
        sold.push((line_no as i64, quantity, quantity * price - discount));
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

    if let Some((refunds, brng)) = w.books.as_mut() {
        let books = Books::draw(brng, total_cents, status);
        w.orders.write_record([
            order_id.as_str(),
            &customer_id,
            &ts_text,
            status,
            &money(books.shipping),
            &money(books.tax),
            &if books.duties > 0 { money(books.duties) } else { String::new() },
            &if books.order_discount > 0 { money(books.order_discount) } else { String::new() },
            books.codes,
            books.channel,
        ])?;
        report.refunds += books.write_refunds(brng, refunds, &order_id, ts, w.last_day, &sold)?;
        total_cents = books.total;
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

/// An order's books: what it charges beyond its lines, and what it pays in all.
struct Books {
    shipping: i64,
    tax: i64,
    duties: i64,
    order_discount: i64,
    codes: &'static str,
    channel: &'static str,
    /// Goods after discounts, shipping, tax and duties: what the customer pays.
    total: i64,
    /// The order's goods after every discount.
    goods: i64,
    status: &'static str,
}

/// The sales tax on goods and shipping, in percent (prices before tax).
const TAX_PERCENT: i64 = 19;

impl Books {
    fn draw(rng: &mut ChaCha8Rng, goods: i64, status: &'static str) -> Books {
        let channel = match rng.random_range(0..100) {
            0..=67 => "online store",
            68..=79 => "point of sale",
            80..=91 => "marketplace",
            _ => "app",
        };
        let (codes, percent) = match rng.random_range(0..100) {
            0..=5 => ("WELCOME10", 10),
            6..=9 => ("SUMMER15", 15),
            10..=11 => ("VIP20", 20),
            12..=14 => ("FREESHIP", 0),
            15 => ("WELCOME10,FREESHIP", 10),
            _ => ("", 0),
        };
        let order_discount = goods * percent / 100;
        let shipping = if codes.contains("FREESHIP") || channel == "point of sale" || goods >= 9000 { 0 } else { 490 };
        let duties = if channel == "marketplace" && rng.random_range(0..100) < 5 { 500 } else { 0 };
        let taxable = goods - order_discount + shipping;
        let tax = taxable * TAX_PERCENT / 100;
        let total = taxable + tax + duties;
        Books { shipping, tax, duties, order_discount, codes, channel, total, goods: goods - order_discount, status }
    }

    /// Writes the order's refunds, if it gets any, dated after it and by the data's last day.
    /// Returns how many rows.
    fn write_refunds(
        &self,
        rng: &mut ChaCha8Rng,
        out: &mut csv::Writer<BufWriter<File>>,
        order_id: &str,
        ts: chrono::NaiveDateTime,
        last_day: NaiveDate,
        lines: &[(i64, i64, i64)],
    ) -> Result<u64> {
        let roll = rng.random_range(0..100);
        let kind = match self.status {
            // most returned orders were refunded whole; the others' refunds are not in the export
            "returned" if roll < 75 => 3,
            "delivered" | "shipped" => match roll {
                0..=3 => 1,
                4..=6 => 2,
                7 => 3,
                _ => return Ok(0),
            },
            _ => return Ok(0),
        };
        let mut when = ts + Duration::days(rng.random_range(2..60)) + Duration::minutes(rng.random_range(0..600));
        let mut rows: Vec<[String; 8]> = Vec::new();
        let tax_of = |cents: i64| cents * TAX_PERCENT / 100;
        // a line's goods after its share of the order discount, rounded down: never over the
        // order's limit, however the import shares the discount
        let before = (self.goods + self.order_discount).max(1);
        let after = |revenue: i64| revenue - (revenue * self.order_discount + before - 1) / before;
        match kind {
            // units of one line, or of two on two days
            1 => {
                let n = if lines.len() > 1 && rng.random_range(0..4) == 0 { 2 } else { 1 };
                for (k, &(line_no, quantity, revenue)) in lines.iter().take(n).enumerate() {
                    let units = rng.random_range(1..=quantity);
                    let amount = after(revenue) * units / quantity;
                    rows.push([
                        format!("R{order_id}-{}", k + 1),
                        order_id.to_string(),
                        when.format("%Y-%m-%dT%H:%M:%S").to_string(),
                        line_no.to_string(),
                        units.to_string(),
                        money(amount),
                        String::new(),
                        money(tax_of(amount)),
                    ]);
                    when += Duration::days(rng.random_range(1..20));
                }
            }
            // a goodwill refund on the order: part of its goods, no line
            2 => {
                let amount = self.goods * rng.random_range(5..40) / 100;
                rows.push([
                    format!("R{order_id}-1"),
                    order_id.to_string(),
                    when.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    String::new(),
                    String::new(),
                    money(amount),
                    String::new(),
                    money(tax_of(amount)),
                ]);
            }
            // everything back: every line, the shipping and the tax, in one refund
            _ => {
                let mut left = self.goods;
                for (k, &(line_no, quantity, revenue)) in lines.iter().enumerate() {
                    let amount = if k + 1 == lines.len() { left } else { after(revenue) };
                    left -= amount;
                    let last = k + 1 == lines.len();
                    rows.push([
                        format!("R{order_id}-1"),
                        order_id.to_string(),
                        when.format("%Y-%m-%dT%H:%M:%S").to_string(),
                        line_no.to_string(),
                        quantity.to_string(),
                        money(amount),
                        if last { money(self.shipping) } else { String::new() },
                        if last { money(self.tax) } else { String::new() },
                    ]);
                }
            }
        }
        if when.date() > last_day {
            return Ok(0);
        }
        for row in &rows {
            out.write_record(row)?;
        }
        Ok(rows.len() as u64)
    }
}

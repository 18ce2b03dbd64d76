//! An independent computation of kpis.md: plain Rust over the raw CSV rows of a clean export, with
//! exact integer arithmetic and no SQL, no DataFusion and no shoplens code. The KPI engine is
//! checked against this, never against its own output.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

/// The filter, as plain strings.
#[derive(Clone, Debug, Default)]
pub struct OracleFilter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub category: Option<String>,
    pub country: Option<String>,
    pub method: Option<String>,
    pub channel: Option<String>,
    /// A product_id, or the product its variants name (`variant_of`).
    pub product: Option<String>,
    pub top: usize,
    /// The shop setting "taxes included" (not a filter): prices hold the tax, taken out of them.
    pub taxes_included: bool,
}

fn read(dir: &Path, file: &str) -> Vec<HashMap<String, String>> {
    if !dir.join(file).exists() {
        // refunds.csv is optional
        return Vec::new();
    }
    let mut r = csv::Reader::from_path(dir.join(file)).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(|h| h.trim().to_lowercase()).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header.iter().cloned().zip(rec.iter().map(|v| v.trim().to_string())).collect()
        })
        .collect()
}

/// Ten-thousandths from a decimal text.
fn units(s: &str) -> i128 {
    if s.is_empty() {
        return 0;
    }
    let (i, f) = s.split_once('.').unwrap_or((s, ""));
    let mut frac = f.to_string();
    while frac.len() < 4 {
        frac.push('0');
    }
    i.parse::<i128>().unwrap() * 10_000 + frac.parse::<i128>().unwrap()
}

/// Exact `num/den` rounded half away from zero to `digits` decimals, as f64.
fn ratio(num: i128, den: i128, digits: u32) -> f64 {
    let p = 10_i128.pow(digits);
    let n = num * p;
    let (q, r) = (n / den, n % den);
    let q = if 2 * r.abs() >= den.abs() { q + n.signum() * den.signum() } else { q };
    q as f64 / p as f64
}

fn money(u: i128) -> f64 {
    ratio(u, 10_000, 2)
}

/// A revenue line a filter keeps.
pub struct Line {
    pub order: String,
    pub customer: String,
    pub product: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub quantity: i64,
    /// Ten-thousandths: after every discount, the tax inside prices taken out.
    pub revenue: i128,
    /// quantity * unit_price, the tax inside taken out.
    pub gross: i128,
    /// The line's discount and its share of the order discount.
    pub discounts: i128,
}

/// A return a filter keeps: a refund's goods on one line, on the refund's day.
pub struct Return {
    pub order: String,
    pub customer: String,
    pub product: String,
    /// The refund's `YYYY-MM-DD`.
    pub date: String,
    /// Its order's `YYYY-MM-DD`.
    pub order_date: String,
    pub quantity: i64,
    pub amount: i128,
}

/// A line's product, quantity, revenue, gross sales and discounts, by (order, line_no).
type LineFigures = (String, i64, i128, i128, i128);

/// Splits `total` over `weights` by the largest remainder (ties: the earlier part); with no
/// weight at all, equally. Written here again, apart from the engine's.
fn largest_remainder(total: i128, weights: &[i128]) -> Vec<i128> {
    let sum: i128 = weights.iter().sum();
    let w: Vec<i128> = if sum == 0 { vec![1; weights.len()] } else { weights.to_vec() };
    let sum: i128 = w.iter().sum();
    if w.is_empty() {
        return vec![];
    }
    let mut out: Vec<i128> = w.iter().map(|x| total * x / sum).collect();
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(total * w[i] % sum), i));
    let mut left = total - out.iter().sum::<i128>();
    for i in order {
        if left == 0 {
            break;
        }
        out[i] += 1;
        left -= 1;
    }
    out
}

/// Every KPI of kpis.md for `f`, in its JSON shape.
pub fn kpis(dir: &Path, f: &OracleFilter) -> Value {
    let books = books_rows(dir, f);
    kpis_of(dir, f, books)
}

/// The revenue lines `f` keeps (kpis.md, "Terms").
pub fn revenue_lines(dir: &Path, f: &OracleFilter) -> Vec<Line> {
    books_rows(dir, f).lines
}

/// What the books are made of under a filter: the kept revenue lines, the kept returns, and the
/// order-level money of the kept orders and of the kept refunds.
pub struct BookRows {
    pub lines: Vec<Line>,
    pub returns: Vec<Return>,
    /// Per kept order (by id): its date, shipping (tax inside out), tax, duties, channel, codes.
    pub order_money: HashMap<String, (String, i128, i128, i128)>,
    /// Per kept refund: its date, its order, shipping refunded, tax refunded.
    pub refund_money: Vec<(String, String, i128, i128)>,
    pub channel_of: HashMap<String, String>,
    pub codes_of: HashMap<String, Vec<String>>,
}

/// The rows of the books `f` keeps.
pub fn books_rows(dir: &Path, f: &OracleFilter) -> BookRows {
    let customers: HashMap<String, HashMap<String, String>> =
        read(dir, "customers.csv").into_iter().map(|r| (r["customer_id"].clone(), r)).collect();
    let products: HashMap<String, HashMap<String, String>> =
        read(dir, "products.csv").into_iter().map(|r| (r["product_id"].clone(), r)).collect();
    let orders: HashMap<String, HashMap<String, String>> =
        read(dir, "orders.csv").into_iter().map(|r| (r["order_id"].clone(), r)).collect();
    let payments = read(dir, "payments.csv");
    let category = |p: &str| -> String {
        products.get(p).map(|r| r["category"].clone()).filter(|c| !c.is_empty()).unwrap_or("Uncategorized".into())
    };
    // the product filter: the product_id itself, or every product naming it as `variant_of`
    let of_product = |p: &str| -> bool {
        f.product
            .as_ref()
            .is_none_or(|x| p == x || products.get(p).and_then(|r| r.get("variant_of")).is_some_and(|v| v == x))
    };
    let method_orders: HashSet<String> = match &f.method {
        None => HashSet::new(),
        Some(m) => {
            payments.iter().filter(|p| p["method"].to_lowercase() == *m).map(|p| p["order_id"].clone()).collect()
        }
    };
    let refunds = read(dir, "refunds.csv");
    let refunded: HashSet<&str> = refunds.iter().map(|r| r["order_id"].as_str()).collect();
    let get = |r: &HashMap<String, String>, c: &str| r.get(c).cloned().unwrap_or_default();
    let channel_of: HashMap<String, String> = orders
        .iter()
        .map(|(id, o)| {
            let c = get(o, "channel");
            (id.clone(), if c.is_empty() { "unspecified".to_string() } else { c })
        })
        .collect();
    let codes_of: HashMap<String, Vec<String>> = orders
        .iter()
        .map(|(id, o)| {
            let mut codes: Vec<String> = Vec::new();
            for c in get(o, "discount_code").split(',').map(str::trim).filter(|c| !c.is_empty()) {
                if !codes.iter().any(|k| k == c) {
                    codes.push(c.to_string());
                }
            }
            (id.clone(), codes)
        })
        .collect();
    let is_sale = |id: &str| {
        let status = orders[id]["status"].to_lowercase();
        ["processing", "shipped", "delivered"].contains(&status.as_str())
            || (status == "returned" && refunded.contains(id))
    };
    // the order-level part of the filter
    let keeps_order = |id: &str| {
        let o = &orders[id];
        let country = customers.get(&o["customer_id"]).map(|c| c["country"].clone()).unwrap_or_default();
        !(f.country.as_ref().is_some_and(|c| country.is_empty() || country != *c)
            || (f.method.is_some() && !method_orders.contains(id))
            || f.channel.as_ref().is_some_and(|c| channel_of[id] != *c))
    };
    let in_range = |date: &str| {
        !(f.from.as_ref().is_some_and(|d| date < d.as_str()) || f.to.as_ref().is_some_and(|d| date > d.as_str()))
    };

    // every line of every order, with its shares of the order discount and of the tax inside prices
    let mut by_order: BTreeMap<String, Vec<HashMap<String, String>>> = BTreeMap::new();
    for item in read(dir, "order_items.csv") {
        by_order.entry(item["order_id"].clone()).or_default().push(item);
    }
    let mut all_lines: BTreeMap<(String, i64), LineFigures> = BTreeMap::new();
    let mut shipping_tax: HashMap<String, i128> = HashMap::new();
    for (id, items) in by_order.iter_mut() {
        items.sort_by_key(|i| i["line_no"].parse::<i64>().unwrap());
        let o = &orders[id];
        let after: Vec<i128> = items
            .iter()
            .map(|i| units(&i["unit_price"]) * i["quantity"].parse::<i128>().unwrap() - units(&i["discount"]))
            .collect();
        let od = largest_remainder(units(&get(o, "order_discount")), &after);
        let mut tax = vec![0; items.len()];
        if f.taxes_included {
            let mut w: Vec<i128> = after.iter().zip(&od).map(|(a, d)| a - d).collect();
            w.push(units(&get(o, "shipping")));
            let mut t = largest_remainder(units(&get(o, "tax")), &w);
            shipping_tax.insert(id.clone(), t.pop().unwrap());
            tax = t;
        }
        for (k, i) in items.iter().enumerate() {
            let q: i64 = i["quantity"].parse().unwrap();
            let gross = units(&i["unit_price"]) * q as i128 - tax[k];
            let discounts = units(&i["discount"]) + od[k];
            all_lines.insert(
                (id.clone(), i["line_no"].parse().unwrap()),
                (i["product_id"].clone(), q, gross - discounts, gross, discounts),
            );
        }
    }
    if f.taxes_included {
        // an order without lines: its tax is all its shipping's
        for (id, o) in &orders {
            shipping_tax.entry(id.clone()).or_insert_with(|| units(&get(o, "tax")));
        }
    }

    let mut lines = Vec::new();
    let mut order_money = HashMap::new();
    for ((id, _), (product, q, revenue, gross, discounts)) in &all_lines {
        let o = &orders[id];
        if !is_sale(id) {
            continue;
        }
        let date = o["order_ts"][..10].to_string();
        if !in_range(&date) || !keeps_order(id) {
            continue;
        }
        if f.category.as_ref().is_some_and(|c| category(product) != *c) || !of_product(product) {
            continue;
        }
        order_money.entry(id.clone()).or_insert_with(|| {
            let st = shipping_tax.get(id).copied().unwrap_or(0);
            (date.clone(), units(&get(o, "shipping")) - st, units(&get(o, "tax")), units(&get(o, "duties")))
        });
        lines.push(Line {
            order: id.clone(),
            customer: o["customer_id"].clone(),
            product: product.clone(),
            date,
            quantity: *q,
            revenue: *revenue,
            gross: *gross,
            discounts: *discounts,
        });
    }

    let mut returns = Vec::new();
    let mut refund_money = Vec::new();
    for r in &refunds {
        let id = r["order_id"].as_str();
        let date = r["refunded_at"][..10].to_string();
        if !in_range(&date) || !keeps_order(id) {
            continue;
        }
        let o = &orders[id];
        refund_money.push((date.clone(), id.to_string(), units(&get(r, "shipping")), units(&get(r, "tax"))));
        let lines_of: Vec<(&i64, &LineFigures)> = all_lines
            .range((id.to_string(), i64::MIN)..=(id.to_string(), i64::MAX))
            .map(|((_, n), v)| (n, v))
            .collect();
        let amount = units(&r["amount"]);
        let parts: Vec<(String, i64, i128)> = match get(r, "line_no").as_str() {
            "" => {
                let w: Vec<i128> = lines_of.iter().map(|(_, v)| v.2).collect();
                largest_remainder(amount, &w)
                    .into_iter()
                    .zip(&lines_of)
                    .map(|(a, (_, v))| (v.0.clone(), 0, a))
                    .collect()
            }
            n => {
                let n: i64 = n.parse().unwrap();
                let v = lines_of.iter().find(|(k, _)| **k == n).unwrap().1;
                vec![(v.0.clone(), get(r, "quantity").parse().unwrap_or(0), amount)]
            }
        };
        for (product, quantity, amount) in parts {
            if f.category.as_ref().is_some_and(|c| category(&product) != *c) || !of_product(&product) {
                continue;
            }
            returns.push(Return {
                order: id.to_string(),
                customer: o["customer_id"].clone(),
                product,
                date: date.clone(),
                order_date: o["order_ts"][..10].to_string(),
                quantity,
                amount,
            });
        }
    }
    BookRows { lines, returns, order_money, refund_money, channel_of, codes_of }
}

fn kpis_of(dir: &Path, f: &OracleFilter, rows: BookRows) -> Value {
    let BookRows { lines, returns, order_money, refund_money, channel_of, codes_of } = rows;
    let customers: HashMap<String, HashMap<String, String>> =
        read(dir, "customers.csv").into_iter().map(|r| (r["customer_id"].clone(), r)).collect();
    let products: HashMap<String, HashMap<String, String>> =
        read(dir, "products.csv").into_iter().map(|r| (r["product_id"].clone(), r)).collect();
    let payments = read(dir, "payments.csv");
    let category = |p: &str| -> String {
        products.get(p).map(|r| r["category"].clone()).filter(|c| !c.is_empty()).unwrap_or("Uncategorized".into())
    };
    let sales: i128 = lines.iter().map(|l| l.revenue).sum();
    let returned: i128 = returns.iter().map(|r| r.amount).sum();
    let total = sales - returned;
    let order_set: BTreeSet<&str> = lines.iter().map(|l| l.order.as_str()).collect();
    let customer_set: BTreeSet<&str> = lines.iter().map(|l| l.customer.as_str()).collect();
    let n_orders = order_set.len() as i128;
    let summary = json!({
        "total_revenue": money(total),
        "orders": n_orders,
        "average_order_value": if n_orders == 0 { 0.0 } else { ratio(sales, n_orders * 10_000, 2) },
        "customers": customer_set.len(),
    });
    let category_filter = f.category.is_some() || f.product.is_some();
    let nullable = |v: i128| if category_filter { Value::Null } else { json!(money(v)) };
    let ship: i128 = order_money.values().map(|m| m.1).sum::<i128>() - refund_money.iter().map(|r| r.2).sum::<i128>();
    let taxes: i128 = order_money.values().map(|m| m.2).sum::<i128>() - refund_money.iter().map(|r| r.3).sum::<i128>();
    let duties: i128 = order_money.values().map(|m| m.3).sum();
    let books = json!({
        "gross_sales": money(lines.iter().map(|l| l.gross).sum()),
        "discounts": money(lines.iter().map(|l| l.discounts).sum()),
        "returns": money(returned),
        "net_sales": money(total),
        "shipping": nullable(ship),
        "taxes": nullable(taxes),
        "duties": nullable(duties),
        "total_sales": nullable(total + ship + taxes + duties),
        "returned_units": returns.iter().map(|r| r.quantity).sum::<i64>(),
    });

    // months: the span rule of kpis.md, over the months with a sale or a return
    #[derive(Default)]
    struct Month<'a> {
        sales: i128,
        orders: BTreeSet<&'a str>,
        customers: BTreeSet<&'a str>,
        gross: i128,
        discounts: i128,
        returns: i128,
        shipping: i128,
        tax: i128,
        duties: i128,
    }
    let mut per_month: BTreeMap<String, Month> = BTreeMap::new();
    for l in &lines {
        let e = per_month.entry(l.date[..7].to_string()).or_default();
        e.sales += l.revenue;
        e.gross += l.gross;
        e.discounts += l.discounts;
        e.orders.insert(&l.order);
        e.customers.insert(&l.customer);
    }
    for r in &returns {
        per_month.entry(r.date[..7].to_string()).or_default().returns += r.amount;
    }
    for (date, s, t, d) in order_money.values() {
        let e = per_month.entry(date[..7].to_string()).or_default();
        e.shipping += s;
        e.tax += t;
        e.duties += d;
    }
    for (date, _, s, t) in &refund_money {
        let e = per_month.entry(date[..7].to_string()).or_default();
        e.shipping -= s;
        e.tax -= t;
    }
    let has_data = |m: &Month| !m.orders.is_empty() || m.returns != 0;
    let first = f
        .from
        .as_ref()
        .map(|d| d[..7].to_string())
        .or_else(|| per_month.iter().find(|(_, m)| has_data(m)).map(|(k, _)| k.clone()));
    let last =
        f.to.as_ref()
            .map(|d| d[..7].to_string())
            .or_else(|| per_month.iter().rev().find(|(_, m)| has_data(m)).map(|(k, _)| k.clone()));
    // the month in progress: the latest order's (any status), unless it is the month's last day
    let latest = read(dir, "orders.csv").iter().map(|o| o["order_ts"][..10].to_string()).max();
    let in_progress = latest.and_then(|d| {
        let (y, m, day): (i32, u32, u32) = (d[..4].parse().unwrap(), d[5..7].parse().unwrap(), d[8..].parse().unwrap());
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m as usize - 1];
        (day != days).then(|| d[..7].to_string())
    });
    let empty = Month::default();
    let mut monthly = Vec::new();
    if let (Some(first), Some(last)) = (first, last) {
        let (mut y, mut m): (i32, u32) = (first[..4].parse().unwrap(), first[5..].parse().unwrap());
        let mut prev: Option<i128> = None;
        loop {
            let key = format!("{y:04}-{m:02}");
            if key > last {
                break;
            }
            let e = per_month.get(&key).unwrap_or(&empty);
            let rev = e.sales - e.returns;
            let o = e.orders.len() as i128;
            let growth = match prev {
                Some(p) if p != 0 => json!(ratio(rev - p, p, 6)),
                _ => Value::Null,
            };
            monthly.push(json!({
                "month": key, "revenue": money(rev), "orders": o, "customers": e.customers.len(),
                "average_order_value": if o == 0 { 0.0 } else { ratio(e.sales, o * 10_000, 2) },
                "growth": growth, "complete": in_progress.as_deref() != Some(key.as_str()),
                "gross_sales": money(e.gross), "discounts": money(e.discounts), "returns": money(e.returns),
                "shipping": nullable(e.shipping), "taxes": nullable(e.tax), "duties": nullable(e.duties),
                "total_sales": nullable(rev + e.shipping + e.tax + e.duties),
            }));
            prev = Some(rev);
            (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        }
    }

    let share = |v: i128| if total == 0 { 0.0 } else { ratio(v, total, 6) };
    let mut cats: BTreeMap<String, (i128, BTreeSet<&str>, i64)> = BTreeMap::new();
    for l in &lines {
        let e = cats.entry(category(&l.product)).or_default();
        e.0 += l.revenue;
        e.1.insert(&l.order);
        e.2 += l.quantity;
    }
    for r in &returns {
        let e = cats.entry(category(&r.product)).or_default();
        e.0 -= r.amount;
        e.2 -= r.quantity;
    }
    let mut cats: Vec<_> = cats.into_iter().collect();
    cats.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    let categories: Vec<Value> = cats
        .iter()
        .map(|(c, (r, o, u))| json!({"category": c, "revenue": money(*r), "share": share(*r), "orders": o.len(), "units": u}))
        .collect();

    // top products roll variants up to the product they are variants of
    let variant_of = |p: &str| products.get(p).and_then(|r| r.get("variant_of")).filter(|v| !v.is_empty()).cloned();
    let product_of = |p: &str| variant_of(p).unwrap_or_else(|| p.to_string());
    let mut prods: BTreeMap<String, (i128, i64)> = BTreeMap::new();
    for l in &lines {
        let e = prods.entry(product_of(&l.product)).or_default();
        e.0 += l.revenue;
        e.1 += l.quantity;
    }
    for r in &returns {
        let e = prods.entry(product_of(&r.product)).or_default();
        e.0 -= r.amount;
        e.1 -= r.quantity;
    }
    // its name and category: its own row's when listed, else its (listed) variants'
    let variants = |p: &str| -> Vec<&HashMap<String, String>> {
        products.values().filter(|r| r.get("variant_of").is_some_and(|v| v == p)).collect()
    };
    let product_name = |p: &str| -> Option<String> {
        match products.get(p).map(|r| r["product_name"].clone()).filter(|n| !n.is_empty()) {
            Some(n) => Some(n),
            None => (!variants(p).is_empty()).then(|| p.to_string()),
        }
    };
    let product_category = |p: &str| -> String {
        if products.contains_key(p) {
            return category(p);
        }
        variants(p).iter().map(|r| category(&r["product_id"])).min().unwrap_or_else(|| category(p))
    };
    let mut prods: Vec<_> = prods.into_iter().collect();
    prods.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    let mut cumulative = 0;
    let top_products: Vec<Value> = prods
        .iter()
        .take(f.top)
        .map(|(p, (r, u))| {
            cumulative += r;
            json!({"product_id": p, "product_name": product_name(p), "category": product_category(p), "revenue": money(*r),
                   "units": u, "share": share(*r), "cumulative_share": share(cumulative)})
        })
        .collect();

    // channels and codes: each order's sales and returns
    let mut chans: BTreeMap<&str, (i128, BTreeSet<&str>)> = BTreeMap::new();
    let mut codes: BTreeMap<&str, (BTreeSet<&str>, i128, i128)> = BTreeMap::new();
    for l in &lines {
        let e = chans.entry(&channel_of[&l.order]).or_default();
        e.0 += l.revenue;
        e.1.insert(&l.order);
        for c in &codes_of[&l.order] {
            let e = codes.entry(c).or_default();
            e.0.insert(&l.order);
            e.1 += l.discounts;
            e.2 += l.revenue;
        }
    }
    for r in &returns {
        chans.entry(&channel_of[&r.order]).or_default().0 -= r.amount;
        for c in &codes_of[&r.order] {
            codes.entry(c).or_default().2 -= r.amount;
        }
    }
    let mut chans: Vec<_> = chans.into_iter().collect();
    chans.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    let chan_total: i128 = chans.iter().map(|c| c.1.0).sum();
    let channels: Vec<Value> = chans
        .iter()
        .map(|(c, (r, o))| {
            json!({"channel": c, "revenue": money(*r), "orders": o.len(),
                                  "share": if chan_total == 0 { 0.0 } else { ratio(*r, chan_total, 6) }})
        })
        .collect();
    let mut codes: Vec<_> = codes.into_iter().collect();
    codes.sort_by(|a, b| b.1.0.len().cmp(&a.1.0.len()).then(a.0.cmp(b.0)));
    let discount_codes: Vec<Value> = codes
        .iter()
        .map(|(c, (o, d, r))| json!({"code": c, "orders": o.len(), "discounts": money(*d), "revenue": money(*r)}))
        .collect();

    let mut per_customer: BTreeMap<&str, (BTreeSet<&str>, i128, String, String)> = BTreeMap::new();
    for l in &lines {
        let e = per_customer.entry(&l.customer).or_insert_with(|| (BTreeSet::new(), 0, l.date.clone(), l.date.clone()));
        e.0.insert(&l.order);
        e.1 += l.revenue;
        e.2 = e.2.clone().min(l.date.clone());
        e.3 = e.3.clone().max(l.date.clone());
    }
    let n_customers = per_customer.len() as i128;
    let mut buckets = [0i128; 5];
    for (orders, ..) in per_customer.values() {
        buckets[orders.len().min(5) - 1] += 1;
    }
    let labels = ["1", "2", "3", "4", "5+"];
    let frequency = json!({
        "buckets": (0..5).map(|i| json!({"orders": labels[i], "customers": buckets[i],
            "share": if n_customers == 0 { 0.0 } else { ratio(buckets[i], n_customers, 6) }})).collect::<Vec<_>>(),
        "repeat_customer_rate": if n_customers == 0 { 0.0 } else { ratio(n_customers - buckets[0], n_customers, 6) },
    });
    let mut customer_returns: HashMap<&str, i128> = HashMap::new();
    for r in &returns {
        *customer_returns.entry(&r.customer).or_default() += r.amount;
    }
    let net = |c: &str, sales: i128| sales - customer_returns.get(c).copied().unwrap_or(0);
    let mut custs: Vec<_> = per_customer.into_iter().collect();
    custs.sort_by(|a, b| net(b.0, b.1.1).cmp(&net(a.0, a.1.1)).then(a.0.cmp(b.0)));
    let top_customers: Vec<Value> = custs
        .iter()
        .take(f.top)
        .map(|(c, (o, r, first, last))| {
            let name = customers.get(*c).map(|r| r["customer_name"].clone()).filter(|n| !n.is_empty());
            json!({"customer_id": c, "customer_name": name, "orders": o.len(), "revenue": money(net(c, *r)),
                   "average_order_value": ratio(*r, o.len() as i128 * 10_000, 2),
                   "first_order_date": first, "last_order_date": last})
        })
        .collect();

    let mut methods: BTreeMap<String, (i128, BTreeSet<&str>, i128, i128)> = BTreeMap::new();
    for p in &payments {
        if !order_set.contains(p["order_id"].as_str()) {
            continue;
        }
        let e = methods.entry(p["method"].to_lowercase()).or_default();
        e.0 += units(&p["amount"]);
        e.1.insert(&p["order_id"]);
        e.2 += p.get("installments").filter(|s| !s.is_empty()).map_or(1, |s| s.parse().unwrap());
        e.3 += 1;
    }
    let pay_total: i128 = methods.values().map(|m| m.0).sum();
    let mut methods: Vec<_> = methods.into_iter().collect();
    methods.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    let payment_methods: Vec<Value> = methods
        .iter()
        .map(|(m, (a, o, inst, n))| {
            json!({"method": m, "amount": money(*a), "orders": o.len(),
                   "share": if pay_total == 0 { 0.0 } else { ratio(*a, pay_total, 6) },
                   "average_installments": ratio(*inst, *n, 6)})
        })
        .collect();

    json!({
        "summary": summary, "books": books, "channels": channels, "discount_codes": discount_codes,
        "monthly": monthly, "categories": categories, "top_products": top_products,
        "order_frequency": frequency, "top_customers": top_customers, "payment_methods": payment_methods,
    })
}

/// Compares two JSON values: equal structure, equal strings, numbers within 1e-9. Returns the
/// path of the first difference.
pub fn diff(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                diff(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}"))
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: {} items vs {}", x.len(), y.len()));
            }
            x.iter().zip(y).enumerate().find_map(|(i, (p, q))| diff(p, q, &format!("{path}[{i}]")))
        }
        (Value::Number(x), Value::Number(y)) => {
            let (p, q) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            ((p - q).abs() > 1e-9).then(|| format!("{path}: {p} vs {q}"))
        }
        _ => (a != b).then(|| format!("{path}: {a} vs {b}")),
    }
}

// ---- customers.md ----

fn month_index(m: &str) -> i64 {
    m[..4].parse::<i64>().unwrap() * 12 + m[5..7].parse::<i64>().unwrap() - 1
}

fn month_of(i: i64) -> String {
    format!("{:04}-{:02}", i / 12, i % 12 + 1)
}

fn days(date: &str) -> i64 {
    let (y, m, d): (i64, i64, i64) =
        (date[..4].parse().unwrap(), date[5..7].parse().unwrap(), date[8..10].parse().unwrap());
    // days from civil (Howard Hinnant's algorithm)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy
}

/// The day of the export's latest order, any status.
fn last_order_day(dir: &Path) -> String {
    read(dir, "orders.csv").iter().map(|o| o["order_ts"][..10].to_string()).max().unwrap()
}

/// Cohort retention (customers.md) for `f` (its dates choose the cohorts).
pub fn cohorts(dir: &Path, f: &OracleFilter) -> Value {
    let all = OracleFilter { from: None, to: None, ..f.clone() };
    let BookRows { lines, returns, .. } = books_rows(dir, &all);
    let mut per: BTreeMap<&str, BTreeMap<i64, i128>> = BTreeMap::new();
    for l in &lines {
        *per.entry(&l.customer).or_default().entry(month_index(&l.date)).or_default() += l.revenue;
    }
    // a purchase is valued net of its order's returns, whenever refunded (customers.md)
    for r in &returns {
        *per.entry(&r.customer).or_default().entry(month_index(&r.order_date)).or_default() -= r.amount;
    }
    let Some(last) = lines.iter().map(|l| month_index(&l.date)).max() else { return json!({"cohorts": []}) };
    let last_day = last_order_day(dir);
    let next_day_month = month_index(&last_day);
    // complete up to the month before the last order's, or that month when the order is on its last day
    let is_last_day = {
        let d = days(&last_day);
        month_index(&day_string(d + 1)) != next_day_month
    };
    let last_complete = if is_last_day { next_day_month } else { next_day_month - 1 };
    let lo = f.from.as_ref().map(|d| month_index(d));
    let hi = f.to.as_ref().map(|d| month_index(d));
    let mut groups: BTreeMap<i64, Vec<&BTreeMap<i64, i128>>> = BTreeMap::new();
    for months in per.values() {
        let c = *months.keys().next().unwrap();
        if lo.is_some_and(|lo| c < lo) || hi.is_some_and(|hi| c > hi) {
            continue;
        }
        groups.entry(c).or_default().push(months);
    }
    let cohorts: Vec<Value> = groups
        .iter()
        .map(|(c, members)| {
            let n = members.len() as i128;
            let mut cum = 0i128;
            let months: Vec<Value> = (*c..=last)
                .map(|m| {
                    let active = members.iter().filter(|x| x.contains_key(&m)).count() as i128;
                    let revenue: i128 = members.iter().filter_map(|x| x.get(&m)).sum();
                    cum += revenue;
                    json!({"month": month_of(m), "k": m - c, "active": active, "retention": ratio(active, n, 6),
                           "revenue": money(revenue), "cumulative_revenue_per_customer": ratio(cum, n * 10_000, 2),
                           "complete": m <= last_complete})
                })
                .collect();
            json!({"cohort": month_of(*c), "customers": n, "months": months})
        })
        .collect();
    json!({"cohorts": cohorts})
}

fn day_string(d: i64) -> String {
    // civil from days (Howard Hinnant's algorithm)
    let z = d;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!("{year:04}-{month:02}-{day:02}")
}

/// The returning-customer rate (customers.md) of `f`'s range.
pub fn returning(dir: &Path, f: &OracleFilter) -> Value {
    let all = OracleFilter { from: None, to: None, ..f.clone() };
    let lines = revenue_lines(dir, &all);
    let to = f.to.clone().unwrap_or_else(|| "9999-12-31".into());
    let from = f.from.clone().unwrap_or_else(|| "0000-01-01".into());
    let mut orders_up_to: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    let mut in_range: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for l in &lines {
        if l.date <= to {
            orders_up_to.entry(&l.customer).or_default().insert(&l.order);
        }
        if l.date >= from && l.date <= to {
            in_range.entry(&l.customer).or_default().insert(&l.order);
        }
    }
    let returning = in_range.keys().filter(|c| orders_up_to[*c].len() >= 2).count() as i128;
    let repeat = in_range.values().filter(|o| o.len() >= 2).count() as i128;
    let n = in_range.len() as i128;
    json!({"customers": n, "returning": returning,
           "returning_customer_rate": if n == 0 { 0.0 } else { ratio(returning, n, 6) },
           "repeat_customer_rate": if n == 0 { 0.0 } else { ratio(repeat, n, 6) }})
}

/// NTILE(5) of rows in the given order: the first (n mod 5) groups take one extra row.
fn ntile5(order: &[&str]) -> HashMap<String, i64> {
    let n = order.len();
    let (base, extra) = (n / 5, n % 5);
    let mut out = HashMap::new();
    let mut at = 0;
    for g in 0..5 {
        let size = base + usize::from(g < extra);
        for id in &order[at..at + size] {
            out.insert(id.to_string(), g as i64 + 1);
        }
        at += size;
    }
    out
}

fn segment(r: i64, f: i64) -> &'static str {
    match (r, f) {
        (1..=2, 1..=2) => "Hibernating",
        (1..=2, 3..=4) => "At risk",
        (1..=2, _) => "Can't lose them",
        (3, 1..=2) => "About to sleep",
        (3, 3) => "Need attention",
        (3..=4, 4..=5) => "Loyal",
        (4, 1) => "Promising",
        (5, 1) => "New",
        (4..=5, 2..=3) => "Potential loyalists",
        _ => "Champions",
    }
}

/// RFM (customers.md) as of `as_of` (default the last order's day): the segments' JSON and every
/// customer's row.
pub fn rfm(dir: &Path, f: &OracleFilter, as_of: Option<&str>) -> (Value, Vec<Value>) {
    let as_of = as_of.map(str::to_string).unwrap_or_else(|| last_order_day(dir));
    let all = OracleFilter { from: None, to: Some(as_of.clone()), ..f.clone() };
    let names: HashMap<String, String> = read(dir, "customers.csv")
        .into_iter()
        .map(|r| (r["customer_id"].clone(), r.get("customer_name").cloned().unwrap_or_default()))
        .collect();
    let mut per: BTreeMap<String, (String, BTreeSet<String>, i128)> = BTreeMap::new();
    let rows = books_rows(dir, &OracleFilter { to: None, ..all.clone() });
    for l in rows.lines.into_iter().filter(|l| l.date <= as_of) {
        let e = per.entry(l.customer.clone()).or_default();
        e.0 = e.0.clone().max(l.date.clone());
        e.1.insert(l.order.clone());
        e.2 += l.revenue;
    }
    // a purchase is valued net of its order's returns, whenever refunded (customers.md)
    for r in rows.returns.iter().filter(|r| r.order_date <= as_of) {
        if let Some(e) = per.get_mut(&r.customer) {
            e.2 -= r.amount;
        }
    }
    let recency = |id: &str| days(&as_of) - days(&per[id].0);
    let ids: Vec<&str> = per.keys().map(String::as_str).collect();
    let mut by_r = ids.clone();
    by_r.sort_by(|a, b| recency(b).cmp(&recency(a)).then(a.cmp(b)));
    let mut by_f = ids.clone();
    by_f.sort_by(|a, b| per[*a].1.len().cmp(&per[*b].1.len()).then(a.cmp(b)));
    let mut by_m = ids.clone();
    by_m.sort_by(|a, b| per[*a].2.cmp(&per[*b].2).then(a.cmp(b)));
    let (r, fs, m) = (ntile5(&by_r), ntile5(&by_f), ntile5(&by_m));
    let total: i128 = per.values().map(|v| v.2).sum();
    let names_of = [
        "Hibernating",
        "At risk",
        "Can't lose them",
        "About to sleep",
        "Need attention",
        "Loyal",
        "Promising",
        "New",
        "Potential loyalists",
        "Champions",
    ];
    let mut segments: Vec<(i128, Value)> = names_of
        .iter()
        .map(|name| {
            let members: Vec<&str> = ids.iter().copied().filter(|id| segment(r[*id], fs[*id]) == *name).collect();
            let n = members.len() as i128;
            let revenue: i128 = members.iter().map(|id| per[*id].2).sum();
            let mean = |x: i128| if n == 0 { 0.0 } else { ratio(x, n, 6) };
            (
                revenue,
                json!({
                    "segment": name, "customers": n, "revenue": money(revenue),
                    "share_of_customers": if ids.is_empty() { 0.0 } else { ratio(n, ids.len() as i128, 6) },
                    "share_of_revenue": if total == 0 { 0.0 } else { ratio(revenue, total, 6) },
                    "mean_recency_days": mean(members.iter().map(|id| recency(id) as i128).sum()),
                    "mean_frequency": mean(members.iter().map(|id| per[*id].1.len() as i128).sum()),
                    "mean_monetary": if n == 0 { 0.0 } else { ratio(revenue, n * 10_000, 2) },
                }),
            )
        })
        .collect();
    segments.sort_by(|a, b| b.0.cmp(&a.0).then(a.1["segment"].as_str().cmp(&b.1["segment"].as_str())));
    let customers = ids
        .iter()
        .map(|id| {
            json!({
                "customer_id": id, "customer_name": names.get(*id).filter(|n| !n.is_empty()),
                "recency_days": recency(id), "frequency": per[*id].1.len(), "monetary": money(per[*id].2),
                "r_score": r[*id], "f_score": fs[*id], "m_score": m[*id], "segment": segment(r[*id], fs[*id]),
            })
        })
        .collect();
    (json!({"as_of": as_of, "segments": segments.into_iter().map(|s| s.1).collect::<Vec<_>>()}), customers)
}

//! The product journey: customers grouped by the items of their first purchase day, with what
//! their second purchase day holds, their repeat rate and their net sales in the year from their
//! first purchase, beside the same figures for all customers. `journey.sql` gives the rows sorted
//! by customer and day; they are walked here one customer at a time.

use super::{Level, mean_cents, session};
use crate::metrics::results::Cols;
use crate::metrics::{self, Cents, MetricsError, round6};
use crate::model::Filter;
use crate::warehouse::Warehouse;
use chrono::NaiveDate;
use futures::StreamExt;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use utoipa::ToSchema;

/// How many next items each first item lists.
pub const NEXT_ITEMS: usize = 5;

/// An item of customers' second purchase day.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct NextItem {
    /// The item.
    pub item: String,
    /// Its name.
    pub name: String,
    /// Customers whose second purchase day holds it.
    pub customers: i64,
    /// Their share of the customers who came back.
    pub share: f64,
}

/// The customers whose first purchase day holds an item (or all customers).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct JourneyRow {
    /// The item of their first purchase day; null for all customers.
    pub item: Option<String>,
    /// Its name ("All customers" for all).
    pub name: String,
    /// Customers whose first purchase day is in the range.
    pub customers: i64,
    /// Of them, those with a second purchase day (by the data's last day).
    pub came_back: i64,
    /// came_back / customers.
    pub repeat_rate: f64,
    /// Customers whose year from their first purchase day has ended by the data's last day.
    pub full_year_customers: i64,
    /// Their net sales in that year per customer (null when none has a full year).
    pub year_net_sales_per_customer: Option<Cents>,
    /// The items most often on their second purchase day, most customers first.
    pub next: Vec<NextItem>,
}

/// The product journey of the customers whose first purchase falls in the range.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Journey {
    /// What an item is.
    pub level: Level,
    /// All customers of the range.
    pub all: JourneyRow,
    /// Per first item, by customers descending, then item; at most `top`.
    pub items: Vec<JourneyRow>,
}

/// What is summed per first item (and for all customers).
#[derive(Default)]
struct Tally {
    customers: i64,
    came_back: i64,
    full_year: i64,
    /// Net sales in the year, ten-thousandths.
    year_net: i128,
    /// Customers per item (by number) of the second purchase day.
    next: HashMap<i64, i64>,
}

/// One customer's rows, as they are walked.
#[derive(Default)]
struct Customer {
    first: Option<i32>,
    second: Option<i32>,
    first_items: BTreeSet<i64>,
    second_items: BTreeSet<i64>,
    /// Net sales from the first purchase day on, by day key (the year is cut at the end).
    net: Vec<(i32, i128)>,
}

impl Customer {
    /// Adds a row: a sales line with its item's number, or a return without one.
    fn add(&mut self, day: i32, item: Option<i64>, net: i128) {
        if let Some(item) = item {
            match (self.first, self.second) {
                (None, _) => {
                    self.first = Some(day);
                    self.first_items.insert(item);
                }
                (Some(f), _) if f == day => {
                    self.first_items.insert(item);
                }
                (Some(_), None) => {
                    self.second = Some(day);
                    self.second_items.insert(item);
                }
                (Some(_), Some(s)) if s == day => {
                    self.second_items.insert(item);
                }
                _ => {}
            }
        }
        self.net.push((day, net));
    }
}

/// The journey of `filter`'s customers (the range chooses them by first purchase day; the
/// segment restricts the lines first, as in customers.md), at most `top` first items. The rows
/// come sorted by customer and day from `journey.sql`; one customer is held at a time.
///
/// # Errors
/// A query fails.
pub async fn journey(wh: &Warehouse, filter: &Filter, level: Level, top: usize) -> Result<Journey, MetricsError> {
    let dims = metrics::dimensions(wh).await?;
    let s = session(wh, &filter.with_range(None, None), level).await?;
    let names = numbered_names(&s.ctx).await?;
    let key = |d: Option<NaiveDate>, or: i32| d.map_or(or, crate::warehouse::keys::date_key);
    let (from, to) = (key(filter.from(), i32::MIN), key(filter.to(), i32::MAX));
    let last = key(dims.last_date, 0);
    let wrap = |source| MetricsError { query: "products journey", source };
    let mut stream =
        s.ctx.sql(include_str!("sql/journey.sql")).await.map_err(wrap)?.execute_stream().await.map_err(wrap)?;
    let (mut all, mut per_item) = (Tally::default(), HashMap::<i64, Tally>::new());
    let mut finish = |c: Customer| {
        let Some(first) = c.first.filter(|f| (from..=to).contains(f)) else { return };
        // a year from the first purchase day: [first, first + 1 year), complete by the data's last day
        let end = first + 10_000;
        let full = end <= last + 1;
        let year: i128 = c.net.iter().filter(|(d, _)| *d >= first && *d < end).map(|(_, n)| n).sum();
        let count = |tally: &mut Tally| {
            tally.customers += 1;
            tally.came_back += i64::from(c.second.is_some());
            if full {
                tally.full_year += 1;
                tally.year_net += year;
            }
        };
        count(&mut all);
        for item in &c.first_items {
            let tally = per_item.entry(*item).or_default();
            count(tally);
            for to in &c.second_items {
                *tally.next.entry(*to).or_default() += 1;
            }
        }
    };
    let (mut current, mut customer) = (None, Customer::default());
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(wrap)?;
        let c = Cols(&batch);
        for r in 0..batch.num_rows() {
            let who = c.int("customer_key", r);
            if current != Some(who) {
                finish(std::mem::take(&mut customer));
                current = Some(who);
            }
            // item numbers start at 1: none (0) is a return's
            let item = Some(c.int("item_key", r)).filter(|k| *k > 0);
            customer.add(c.int("date_key", r) as i32, item, c.units4("net", r));
        }
    }
    finish(customer);
    let named = |key: i64| names.get(&key).cloned().unwrap_or_else(|| (key.to_string(), key.to_string()));
    let row = |item: Option<i64>, t: Tally| {
        let mut next: Vec<((String, String), i64)> = t.next.into_iter().map(|(k, n)| (named(k), n)).collect();
        next.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.0.cmp(&b.0.0)));
        let (item, name) = match item.map(named) {
            Some((item, name)) => (Some(item), name),
            None => (None, "All customers".to_string()),
        };
        JourneyRow {
            name,
            item,
            customers: t.customers,
            came_back: t.came_back,
            repeat_rate: if t.customers > 0 { round6(t.came_back as f64 / t.customers as f64) } else { 0.0 },
            full_year_customers: t.full_year,
            year_net_sales_per_customer: mean_cents(t.year_net, t.full_year),
            next: next
                .into_iter()
                .take(NEXT_ITEMS)
                .map(|((item, name), customers)| NextItem {
                    name,
                    item,
                    customers,
                    share: if t.came_back > 0 { round6(customers as f64 / t.came_back as f64) } else { 0.0 },
                })
                .collect(),
        }
    };
    let mut items: Vec<JourneyRow> = per_item.into_iter().map(|(item, t)| row(Some(item), t)).collect();
    items.sort_by(|a, b| b.customers.cmp(&a.customers).then_with(|| a.item.cmp(&b.item)));
    items.truncate(top);
    Ok(Journey { level, all: row(None, all), items })
}

/// Each item's key and name by its number (`item_names.sql`).
async fn numbered_names(
    ctx: &datafusion::prelude::SessionContext,
) -> Result<HashMap<i64, (String, String)>, MetricsError> {
    let batches = metrics::run(ctx, "item names", "SELECT item_key, item, name FROM item_names", vec![]).await?;
    Ok(metrics::rows(&batches)
        .map(|(c, r)| {
            (c.int("item_key", r), (c.text("item", r).unwrap_or_default(), c.text("name", r).unwrap_or_default()))
        })
        .collect())
}

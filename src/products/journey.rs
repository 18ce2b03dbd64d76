//! The product journey (`journey.sql`): customers grouped by the items of their first purchase
//! day, with what their second purchase day holds, their repeat rate and their net sales in the
//! year from their first purchase, beside the same figures for all customers.

use super::{Level, mean_cents, pairs::names, session};
use crate::metrics::{self, Cents, MetricsError, round6};
use crate::model::Filter;
use crate::warehouse::Warehouse;
use crate::warehouse::keys::key_param;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::HashMap;
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

/// The journey of `filter`'s customers (the range chooses them by first purchase day; the
/// segment restricts the lines first, as in customers.md), at most `top` first items.
///
/// # Errors
/// A query fails.
pub async fn journey(wh: &Warehouse, filter: &Filter, level: Level, top: usize) -> Result<Journey, MetricsError> {
    let dims = metrics::dimensions(wh).await?;
    let s = session(wh, &filter.with_range(None, None), level).await?;
    let names = names(&s.ctx).await?;
    let lo = NaiveDate::from_ymd_opt(1, 1, 1).expect("valid");
    let hi = NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid");
    let last = dims.last_date.unwrap_or(lo);
    let params = vec![key_param(filter.from().unwrap_or(lo)), key_param(filter.to().unwrap_or(hi)), key_param(last)];
    let batches = metrics::run(&s.ctx, "products journey", include_str!("sql/journey.sql"), params).await?;
    let name = |item: &str| names.get(item).cloned().unwrap_or_else(|| item.to_string());
    let mut all = None;
    let mut firsts: Vec<JourneyRow> = Vec::new();
    let mut next: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    for (c, r) in metrics::rows(&batches) {
        let kind = c.text("kind", r).unwrap_or_default();
        let item = c.text("item", r);
        let customers = c.int("customers", r);
        if kind == "next" {
            let to = c.text("next_item", r).unwrap_or_default();
            next.entry(item.unwrap_or_default()).or_default().push((to, customers));
            continue;
        }
        let (came_back, full) = (c.int("came_back", r), c.int("full_year", r));
        let year = c.units4("year_net", r);
        let row = JourneyRow {
            name: item.as_deref().map_or_else(|| "All customers".to_string(), name),
            item,
            customers,
            came_back,
            repeat_rate: if customers > 0 { round6(came_back as f64 / customers as f64) } else { 0.0 },
            full_year_customers: full,
            year_net_sales_per_customer: mean_cents(year, full),
            next: Vec::new(),
        };
        match kind.as_str() {
            "all" => all = Some(row),
            _ => firsts.push(row),
        }
    }
    for row in &mut firsts {
        let mut to = next.remove(row.item.as_deref().unwrap_or_default()).unwrap_or_default();
        to.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        row.next = to
            .into_iter()
            .take(NEXT_ITEMS)
            .map(|(item, customers)| NextItem {
                name: name(&item),
                item,
                customers,
                share: if row.came_back > 0 { round6(customers as f64 / row.came_back as f64) } else { 0.0 },
            })
            .collect();
    }
    firsts.sort_by(|a, b| b.customers.cmp(&a.customers).then_with(|| a.item.cmp(&b.item)));
    firsts.truncate(top);
    let all = all.unwrap_or(JourneyRow {
        item: None,
        name: "All customers".into(),
        customers: 0,
        came_back: 0,
        repeat_rate: 0.0,
        full_year_customers: 0,
        year_net_sales_per_customer: None,
        next: Vec::new(),
    });
    Ok(Journey { level, all, items: firsts })
}

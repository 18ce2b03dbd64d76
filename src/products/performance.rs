//! Product performance (`performance.sql`, `monthly.sql`): per item, net sales, units, orders,
//! average price, share, returns and the return rate, first-time buyers' share, the change
//! against the comparison period with its trend test, and the monthly net sales (sparklines).

use super::trend::{self, Direction, Trend};
use super::{Level, mean_cents, session};
use crate::metrics::compare::{Versus, comparison_range, why_not_comparable};
use crate::metrics::{self, Cents, MetricsError, round6};
use crate::model::{Filter, Month};
use crate::warehouse::Warehouse;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use utoipa::ToSchema;

/// One item's figures over the range.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ItemFigures {
    /// Its key: the product's id (its `variant_of` for variants rolled up), the variant's
    /// product_id, or the category.
    pub item: String,
    /// Its name.
    pub name: String,
    /// Its category (of a product rolled up: its first variant's).
    pub category: String,
    /// The product it rolls up to (the item itself at the product and category levels).
    pub product: String,
    /// How many product_ids it holds (a product's variants).
    pub variants: i64,
    /// Line revenue sold less goods returned in the range (returns on the refund's day).
    pub net_sales: Cents,
    /// Line revenue sold (after every discount, without tax).
    pub sales: Cents,
    /// Units sold.
    pub units: i64,
    /// Sales orders holding it.
    pub orders: i64,
    /// Line revenue sold per unit sold (null without units).
    pub average_price: Option<Cents>,
    /// Its share of the items' net sales (null when they are 0).
    pub share: Option<f64>,
    /// Units returned in the range.
    pub returned_units: i64,
    /// Goods returned in the range.
    pub returned_value: Cents,
    /// Returned units / units sold (null without units sold). A refund that names no line (a
    /// Shopify export's) returns money but no units: see `value_return_rate`.
    pub return_rate: Option<f64>,
    /// Returned goods / line revenue sold (null without sales).
    pub value_return_rate: Option<f64>,
    /// The share of its orders placed on their customer's first purchase day (first-time buyers);
    /// the rest are repeat buyers'. None for every item when a cluster's memory limit cannot
    /// hold the join of every customer's first day ([`Performance::first_time_left_out`]).
    pub first_time_share: Option<f64>,
    /// Net sales in the comparison period (null without one).
    pub previous_net_sales: Option<Cents>,
    /// Relative change of net sales against the comparison period (null when it was 0).
    pub change: Option<f64>,
    /// Whether its orders rose or fell beyond chance (null without a comparison).
    pub trend: Option<Trend>,
    /// Net sales per month of [`Performance::months`].
    pub monthly: Vec<Cents>,
}

/// The comparison period.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ComparedDays {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

/// Product performance over a range.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Performance {
    /// What an item is.
    pub level: Level,
    /// The range's first day (the data's, when the filter has none).
    pub from: Option<NaiveDate>,
    /// The range's last day.
    pub to: Option<NaiveDate>,
    /// The comparison period, when the range has one with orders.
    pub comparison: Option<ComparedDays>,
    /// Why there is no comparison, when there is none.
    pub no_comparison: Option<String>,
    /// The items' net sales (summed exactly, rounded once: not the sum of the rounded items).
    pub net_sales: Cents,
    /// The months of the sparklines.
    pub months: Vec<Month>,
    /// Every item with sales or returns in the range, by net sales descending, then item.
    pub items: Vec<ItemFigures>,
    /// True when the first-time shares were left out: on a cluster, the join of every customer's
    /// first purchase day did not fit in the memory limit (a larger `--memory-limit` gives them).
    pub first_time_left_out: bool,
    /// The items rising beyond chance, those furthest above their expected orders first.
    pub rising: Vec<String>,
    /// The items falling beyond chance, those furthest below their expected orders first.
    pub falling: Vec<String>,
}

/// Product performance for `filter` at `level`, against the period `vs` names.
///
/// # Errors
/// A query fails.
pub async fn performance(
    wh: &Warehouse,
    filter: &Filter,
    level: Level,
    vs: Versus,
) -> Result<Performance, MetricsError> {
    let dims = metrics::dimensions(wh).await?;
    let (from, to) = (filter.from().or(dims.first_date), filter.to().or(dims.last_date));
    let now = filter.with_range(from, to.map(|t| from.map_or(t, |f| t.max(f))));
    let (mut items, months, monthly, first_time_left_out, total4) = figures(wh, &now, level, true).await?;
    let why_not = why_not_comparable(&now, vs, &dims);
    let comparison = match (from, to, &why_not) {
        (Some(f), Some(t), None) => Some(comparison_range(f, t.max(f), vs)),
        _ => None,
    };
    if let (Some((a, b)), Some(f), Some(t)) = (comparison, from, to) {
        let before = filter.with_range(Some(a), Some(b));
        let (previous, ..) = figures(wh, &before, level, false).await?;
        let previous: HashMap<String, &ItemFigures> = previous.iter().map(|p| (p.item.clone(), p)).collect();
        let days = |x: NaiveDate, y: NaiveDate| (y - x).num_days() as f64 + 1.0;
        let expected = days(f, t.max(f)) / (days(f, t.max(f)) + days(a, b));
        for row in &mut items {
            let before = previous.get(&row.item);
            let previous_net = before.map_or(Cents(0), |p| p.net_sales);
            row.previous_net_sales = Some(previous_net);
            row.change = (previous_net.0 != 0).then(|| round6(row.net_sales.0 as f64 / previous_net.0 as f64 - 1.0));
            row.trend = Some(Trend::of(row.orders, before.map_or(0, |p| p.orders), expected));
        }
        trend::adjust(items.iter_mut().filter_map(|r| r.trend.as_mut()));
    }
    for row in &mut items {
        row.monthly =
            months.iter().map(|m| monthly.get(&(row.item.clone(), *m)).copied().unwrap_or_default()).collect();
    }
    let net_sales = super::mean_cents(total4, 1).unwrap_or_default();
    let [rising, falling] = [Direction::Rising, Direction::Falling]
        .map(|d| trend::ranked(items.iter().map(|r| (r.item.as_str(), r.trend.as_ref())), d));
    Ok(Performance {
        level,
        from,
        to,
        comparison: comparison.map(|(from, to)| ComparedDays { from, to }),
        no_comparison: why_not,
        net_sales,
        months,
        items,
        first_time_left_out,
        rising,
        falling,
    })
}

/// Net sales per item and month.
type Monthly = HashMap<(String, Month), Cents>;

/// The items of `filter` at `level`, and with `with_months` their months, net sales per month
/// and first-time shares (and whether those were left out).
async fn figures(
    wh: &Warehouse,
    filter: &Filter,
    level: Level,
    with_months: bool,
) -> Result<(Vec<ItemFigures>, Vec<Month>, Monthly, bool, i128), MetricsError> {
    let s = session(wh, filter, level).await?;
    let batches = super::run(&s, "products", include_str!("sql/performance.sql"), vec![]).await?;
    // the items' net sales exactly, rounded once for the total (kpis.md)
    let total4: i128 = metrics::rows(&batches).map(|(c, r)| c.units4("net_sales", r)).sum();
    let mut items: Vec<ItemFigures> = metrics::rows(&batches)
        .map(|(c, r)| {
            let (units, orders) = (c.int("units", r), c.int("orders", r));
            let returned_units = c.int("returned_units", r);
            let ratio = |a: i64, b: i64| (b != 0).then(|| round6(a as f64 / b as f64));
            ItemFigures {
                item: c.text("item", r).unwrap_or_default(),
                name: c.text("name", r).unwrap_or_default(),
                category: c.text("category", r).unwrap_or_default(),
                product: c.text("product", r).unwrap_or_default(),
                variants: c.int("variants", r),
                net_sales: c.cents("net_sales", r),
                sales: c.cents("sales", r),
                units,
                orders,
                average_price: mean_cents(c.units4("sales", r), units),
                share: None,
                returned_units,
                returned_value: c.cents("returned_value", r),
                return_rate: ratio(returned_units, units),
                value_return_rate: {
                    let (back, sold) = (c.units4("returned_value", r), c.units4("sales", r));
                    (sold != 0).then(|| round6(back as f64 / sold as f64))
                },
                first_time_share: None,
                previous_net_sales: None,
                change: None,
                trend: None,
                monthly: Vec::new(),
            }
        })
        .collect();
    // the first-time buyers' orders: here from the first days kept in memory; on a cluster by
    // the join that defines them, which a small memory limit may not hold at a large size (then
    // the shares are none, and said)
    let first_time = match (with_months, wh.engine().is_local()) {
        (false, _) => None,
        (true, true) => {
            s.ctx.register_udf(super::first_day::function(wh).await?);
            Some(super::run(&s, "products first time", include_str!("sql/first_time_by_day.sql"), vec![]).await)
        }
        (true, false) => Some(super::run(&s, "products first time", include_str!("sql/first_time.sql"), vec![]).await),
    };
    let first_orders: Option<HashMap<String, i64>> = match first_time {
        None => None,
        Some(Ok(batches)) => Some(
            metrics::rows(&batches)
                .map(|(c, r)| (c.text("item", r).unwrap_or_default(), c.int("first_orders", r)))
                .collect(),
        ),
        Some(Err(e)) if super::exhausted(&e) => None,
        Some(Err(e)) => return Err(e),
    };
    let left_out = with_months && first_orders.is_none();
    for row in &mut items {
        row.first_time_share = first_orders.as_ref().and_then(|f| {
            let n = f.get(&row.item).copied().unwrap_or(0);
            (row.orders != 0).then(|| round6(n as f64 / row.orders as f64))
        });
    }
    // the items' own total (a category filter leaves others out), exact before the ratio
    let total: i128 = items.iter().map(|r| r.net_sales.0).sum();
    for row in &mut items {
        row.share = (total != 0).then(|| round6(row.net_sales.0 as f64 / total as f64));
    }
    let (mut months, mut monthly) = (BTreeSet::new(), Monthly::new());
    if with_months {
        let batches = super::run(&s, "products monthly", include_str!("sql/monthly.sql"), vec![]).await?;
        for (c, r) in metrics::rows(&batches) {
            let month = Month::of(c.date("month_start", r));
            months.insert(month);
            monthly.insert((c.text("item", r).unwrap_or_default(), month), c.cents("net_sales", r));
        }
    }
    // every month of the range, those without a sale too
    if let (Some(mut m), Some(last)) = (months.first().copied(), months.last().copied()) {
        while m < last {
            m = m.succ();
            months.insert(m);
        }
    }
    Ok((items, months.into_iter().collect(), monthly, left_out, total4))
}

/// The items as a CSV file: one row each, the figures as the JSON gives them (money with two
/// decimals, ratios unrounded beyond the JSON's six decimals, empty for none).
pub fn csv(p: &Performance) -> Vec<u8> {
    use crate::model::text::csv_safe;
    let money = |c: Cents| {
        let sign = if c.0 < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", c.0.unsigned_abs() / 100, c.0.unsigned_abs() % 100)
    };
    let ratio = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        p.level.as_str(),
        "name",
        "category",
        "product",
        "variants",
        "net_sales",
        "sales",
        "units",
        "orders",
        "average_price",
        "share",
        "returned_units",
        "returned_value",
        "return_rate",
        "value_return_rate",
        "first_time_share",
        "previous_net_sales",
        "change",
        "trend",
        "q_value",
    ]);
    for r in &p.items {
        let _ = w.write_record([
            csv_safe(&r.item).into_owned(),
            csv_safe(&r.name).into_owned(),
            csv_safe(&r.category).into_owned(),
            csv_safe(&r.product).into_owned(),
            r.variants.to_string(),
            money(r.net_sales),
            money(r.sales),
            r.units.to_string(),
            r.orders.to_string(),
            r.average_price.map(money).unwrap_or_default(),
            ratio(r.share),
            r.returned_units.to_string(),
            money(r.returned_value),
            ratio(r.return_rate),
            ratio(r.value_return_rate),
            ratio(r.first_time_share),
            r.previous_net_sales.map(money).unwrap_or_default(),
            ratio(r.change),
            r.trend.as_ref().map(|t| format!("{:?}", t.direction).to_lowercase()).unwrap_or_default(),
            ratio(r.trend.as_ref().map(|t| t.q_value)),
        ]);
    }
    // writing to a Vec cannot fail
    w.into_inner().unwrap_or_default()
}

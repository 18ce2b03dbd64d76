//! Items bought together: association rules between two items of one order, with the measures
//! of mlxtend's `association_rules` on the itemsets its `apriori` finds — computed from the same
//! counts the same way (f64 divisions of whole counts), so that a test can hold them equal.
//! `pairs.sql` gives the baskets sorted by order; the pairs are counted here. Triples are not
//! mined.

use super::{Level, session};
use crate::metrics::results::Cols;
use crate::metrics::{self, MetricsError};
use crate::model::Filter;
use crate::warehouse::Warehouse;
use futures::StreamExt;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// What the pairs must pass, and how many rules to give.
#[derive(Clone, Debug, PartialEq)]
pub struct PairOptions {
    /// What an item is.
    pub level: Level,
    /// The least support (orders holding both / all orders), from 0 to 1.
    pub min_support: f64,
    /// The least number of orders holding both.
    pub min_orders: i64,
    /// The most rules given (the best by lift).
    pub top: usize,
}

/// A rule "an order holding the antecedent also holds the consequent".
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Rule {
    /// The item bought.
    pub antecedent: String,
    /// Its name.
    pub antecedent_name: String,
    /// The item bought with it.
    pub consequent: String,
    /// Its name.
    pub consequent_name: String,
    /// Orders holding both.
    pub orders: i64,
    /// Orders holding both / all orders.
    pub support: f64,
    /// The antecedent's orders / all orders.
    pub antecedent_support: f64,
    /// The consequent's orders / all orders.
    pub consequent_support: f64,
    /// support / antecedent_support: how often the consequent comes with the antecedent.
    pub confidence: f64,
    /// confidence / consequent_support: above 1, bought together more than by chance.
    pub lift: f64,
    /// support - antecedent_support * consequent_support.
    pub leverage: f64,
    /// (1 - consequent_support) / (1 - confidence); null when the confidence is 1 (infinite).
    pub conviction: Option<f64>,
}

/// The rules of the pairs that pass, by lift descending.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Pairs {
    /// What an item is.
    pub level: Level,
    /// The orders (baskets) of the selection.
    pub orders: i64,
    /// The least support asked.
    pub min_support: f64,
    /// The least orders asked.
    pub min_orders: i64,
    /// How many pairs passed (each gives two rules).
    pub pairs: usize,
    /// The rules, both ways of each pair, by lift descending, then support descending, then
    /// antecedent and consequent; at most `top`.
    pub rules: Vec<Rule>,
}

/// The pairs of items bought together in `filter`'s orders. The baskets come sorted by order
/// from `pairs.sql`; each order's pairs are counted by the items' numbers here, so the memory
/// held is the counts of the pairs that occur, whatever the number of orders.
///
/// # Errors
/// A query fails.
pub async fn pairs(wh: &Warehouse, filter: &Filter, o: &PairOptions) -> Result<Pairs, MetricsError> {
    let s = session(wh, filter, o.level).await?;
    let names = names(&s.ctx).await?;
    let wrap = |source| MetricsError { query: "products pairs", source };
    let mut stream =
        s.ctx.sql(include_str!("sql/pairs.sql")).await.map_err(wrap)?.execute_stream().await.map_err(wrap)?;
    // items by number, baskets per item, baskets per pair (the smaller number first)
    let (mut number, mut items): (HashMap<String, u32>, Vec<String>) = (HashMap::new(), Vec::new());
    let (mut per_item, mut per_pair): (Vec<i64>, HashMap<(u32, u32), i64>) = (Vec::new(), HashMap::new());
    let (mut orders, mut current, mut basket): (i64, Option<i64>, Vec<u32>) = (0, None, Vec::new());
    let mut count = |basket: &mut Vec<u32>, per_item: &mut Vec<i64>| {
        for (k, &a) in basket.iter().enumerate() {
            per_item[a as usize] += 1;
            for &b in &basket[k + 1..] {
                *per_pair.entry((a.min(b), a.max(b))).or_default() += 1;
            }
        }
        basket.clear();
    };
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(wrap)?;
        let c = Cols(&batch);
        for r in 0..batch.num_rows() {
            let order = c.int("order_key", r);
            if current != Some(order) {
                count(&mut basket, &mut per_item);
                current = Some(order);
                orders += 1;
            }
            let item = c.text("item", r).unwrap_or_default();
            let n = *number.entry(item.clone()).or_insert_with(|| {
                items.push(item);
                per_item.push(0);
                (items.len() - 1) as u32
            });
            basket.push(n);
        }
    }
    count(&mut basket, &mut per_item);
    let mut rules = Vec::new();
    let mut passed = 0;
    let name = |item: &str| names.get(item).cloned().unwrap_or_else(|| item.to_string());
    for (&(a, b), &ab) in &per_pair {
        // as apriori: a count over the number of baskets, compared with the minimum
        let support = ab as f64 / orders as f64;
        if ab < o.min_orders.max(1) || support < o.min_support {
            continue;
        }
        passed += 1;
        let (ia, ib) = (&items[a as usize], &items[b as usize]);
        let (sa, sb) = (per_item[a as usize] as f64 / orders as f64, per_item[b as usize] as f64 / orders as f64);
        rules.push(rule(ia, &name(ia), sa, ib, &name(ib), sb, support, ab));
        rules.push(rule(ib, &name(ib), sb, ia, &name(ia), sa, support, ab));
    }
    rules.sort_by(|x, y| {
        y.lift
            .total_cmp(&x.lift)
            .then(y.support.total_cmp(&x.support))
            .then_with(|| x.antecedent.cmp(&y.antecedent))
            .then_with(|| x.consequent.cmp(&y.consequent))
    });
    rules.truncate(o.top);
    Ok(Pairs { level: o.level, orders, min_support: o.min_support, min_orders: o.min_orders, pairs: passed, rules })
}

/// The rule antecedent → consequent, measured as mlxtend's `association_rules` does.
#[allow(clippy::too_many_arguments)]
fn rule(a: &str, a_name: &str, sa: f64, c: &str, c_name: &str, sc: f64, support: f64, orders: i64) -> Rule {
    let confidence = support / sa;
    let lift = confidence / sc;
    let leverage = support - sa * sc;
    let conviction = (confidence < 1.0).then(|| (1.0 - sc) / (1.0 - confidence));
    Rule {
        antecedent: a.to_string(),
        antecedent_name: a_name.to_string(),
        consequent: c.to_string(),
        consequent_name: c_name.to_string(),
        orders,
        support,
        antecedent_support: sa,
        consequent_support: sc,
        confidence,
        lift,
        leverage,
        conviction,
    }
}

/// Each item's name (`items.sql`).
pub(super) async fn names(ctx: &datafusion::prelude::SessionContext) -> Result<HashMap<String, String>, MetricsError> {
    let batches = metrics::run(ctx, "item names", "SELECT item, name FROM item_names", vec![]).await?;
    Ok(metrics::rows(&batches)
        .map(|(c, r)| (c.text("item", r).unwrap_or_default(), c.text("name", r).unwrap_or_default()))
        .collect())
}

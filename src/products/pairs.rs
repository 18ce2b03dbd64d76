//! Items bought together (`pairs.sql`): association rules between two items of one order, with
//! the measures of mlxtend's `association_rules` on the itemsets its `apriori` finds — computed
//! from the same counts the same way (f64 divisions of whole counts), so that a test can hold
//! them equal. Triples are not mined: at the sizes measured their support is below any useful
//! minimum.

use super::{Level, session};
use crate::metrics::{self, MetricsError};
use crate::model::Filter;
use crate::warehouse::Warehouse;
use datafusion::common::ScalarValue;
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

/// The pairs of items bought together in `filter`'s orders.
///
/// # Errors
/// A query fails.
pub async fn pairs(wh: &Warehouse, filter: &Filter, o: &PairOptions) -> Result<Pairs, MetricsError> {
    let s = session(wh, filter, o.level).await?;
    let names = names(&s.ctx).await?;
    let params = vec![ScalarValue::Int64(Some(o.min_orders.max(1)))];
    let batches = metrics::run(&s.ctx, "products pairs", include_str!("sql/pairs.sql"), params).await?;
    let mut rules = Vec::new();
    let (mut orders, mut passed) = (0, 0);
    for (c, r) in metrics::rows(&batches) {
        let n = c.int("baskets", r);
        orders = n;
        let (a, b) = (c.text("a", r).unwrap_or_default(), c.text("b", r).unwrap_or_default());
        let (ab, na, nb) = (c.int("together", r), c.int("a_orders", r), c.int("b_orders", r));
        // as apriori: a count over the number of baskets, compared with the minimum
        let support = ab as f64 / n as f64;
        if support < o.min_support {
            continue;
        }
        passed += 1;
        let (sa, sb) = (na as f64 / n as f64, nb as f64 / n as f64);
        let name = |item: &str| names.get(item).cloned().unwrap_or_else(|| item.to_string());
        rules.push(rule(&a, &name(&a), sa, &b, &name(&b), sb, support, ab));
        rules.push(rule(&b, &name(&b), sb, &a, &name(&a), sa, support, ab));
    }
    if orders == 0 {
        orders = basket_count(&s.ctx).await?;
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

/// The orders of the selection, when no pair passed.
async fn basket_count(ctx: &datafusion::prelude::SessionContext) -> Result<i64, MetricsError> {
    let batches =
        metrics::run(ctx, "baskets", "SELECT COUNT(DISTINCT order_key) AS n FROM revenue_lines", vec![]).await?;
    Ok(metrics::rows(&batches).next().map_or(0, |(c, r)| c.int("n", r)))
}

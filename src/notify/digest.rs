//! What a digest says: the period's KPIs against the comparison period, the revenue bridge's
//! main drivers in words, the month-to-date projection, the alerts, and the top movers — all
//! from the analysis catalog, so a digest's figures are the API's and `kpi`'s.

use crate::analysis::insights::{Alerts, Explain, Projection};
use crate::analysis::kpis::Compare;
use crate::analysis::products::ProductsAnalysis;
use crate::analysis::{AnalysisError, Ctx};
use crate::insights;
use crate::metrics::compare::{Comparison, Versus};
use crate::metrics::results::Cents;
use crate::model::Filter;
use crate::products::{Level, Performance};
use crate::warehouse::Warehouse;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::HashMap;

/// How many movers a digest names.
const MOVERS: usize = 3;

/// A digest's content.
#[derive(Clone, Debug, Serialize)]
pub struct DigestContent {
    /// The digest's name.
    pub name: String,
    /// The shop's currency (ISO 4217), if the warehouse records it.
    pub currency: Option<String>,
    /// The selection beyond the dates, in words (`all orders`, `country DE`).
    pub selection: String,
    /// The first day reported.
    pub from: NaiveDate,
    /// The last day reported.
    pub to: NaiveDate,
    /// Sent after its time.
    pub late: bool,
    /// The KPIs of the period against the comparison; none when neither has orders.
    pub comparison: Option<Comparison>,
    /// The bridge's largest drivers, in words.
    pub drivers: Option<String>,
    /// The categories and countries whose revenue moved most, largest change first.
    pub movers: Vec<Mover>,
    /// The products whose orders rose or fell beyond chance against the comparison period
    /// (docs/products.md, "Trends"), the largest departures first: at most three each way.
    pub products: Vec<ProductMove>,
    /// The projection of the month of the period's last day.
    pub projection: Option<insights::Projection>,
    /// The alerts on the last complete month.
    pub alerts: Vec<insights::alerts::Alert>,
}

/// A product whose orders rose or fell beyond chance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProductMove {
    /// Its name.
    pub name: String,
    /// `rising` or `falling`.
    pub direction: &'static str,
    /// Its orders in the period.
    pub orders: i64,
    /// Its orders expected at the comparison period's rate.
    pub expected_orders: f64,
    /// Its net sales in the period.
    pub net_sales: Cents,
}

/// A segment whose revenue moved.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mover {
    /// `category` or `country`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// Its contribution to the change.
    pub change: Cents,
    /// Its revenue in the period.
    pub revenue: Option<Cents>,
}

/// `filter`'s selection in words.
pub fn selection(filter: &Filter) -> String {
    let parts: Vec<String> = filter.segments().map(|(s, v)| format!("{} {v}", s.param())).collect();
    if parts.is_empty() { "all orders".into() } else { parts.join(", ") }
}

/// The rising and falling products of `p`, the largest departures from the expected first, at
/// most [`MOVERS`] each way.
fn product_moves(p: &Performance) -> Vec<ProductMove> {
    let by_item: HashMap<&str, &crate::products::ItemFigures> = p.items.iter().map(|r| (r.item.as_str(), r)).collect();
    let mut out = Vec::new();
    for (direction, keys) in [("rising", &p.rising), ("falling", &p.falling)] {
        for r in keys.iter().take(MOVERS).filter_map(|k| by_item.get(k.as_str())) {
            let Some(t) = &r.trend else { continue };
            out.push(ProductMove {
                name: r.name.clone(),
                direction,
                orders: t.orders,
                expected_orders: t.expected_orders,
                net_sales: r.net_sales,
            });
        }
    }
    out
}

fn answered<T>(r: Result<T, AnalysisError>) -> Result<Option<T>, AnalysisError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(AnalysisError::NoAnswer(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Composes digest `name` for `filter` over `from..=to` against `versus`.
///
/// # Errors
/// A query fails.
pub async fn compose(
    wh: &Warehouse,
    name: &str,
    filter: &Filter,
    (from, to): (NaiveDate, NaiveDate),
    versus: Versus,
    late: bool,
) -> Result<DigestContent, AnalysisError> {
    let ctx = Ctx::new(wh);
    let ranged = filter.with_range(Some(from), Some(to));
    let options = (ranged.clone(), versus);
    let comparison = answered(ctx.run::<Compare>(&options).await)?.map(|c| (*c).clone());
    let explanation = answered(ctx.run::<Explain>(&options).await)?;
    let projection = answered(ctx.run::<Projection>(&(filter.clone(), Some(to))).await)?.map(|p| (*p).clone());
    let alerts = ctx.run::<Alerts>(&()).await?.alerts.clone();
    let mut movers = Vec::new();
    if let Some(e) = &explanation {
        let views = &e.views;
        movers.extend(views.categories.iter().map(|c| Mover {
            kind: "category",
            name: c.category.clone(),
            change: c.amount,
            revenue: Some(c.revenue),
        }));
        movers.extend(views.countries.iter().map(|c| Mover {
            kind: "country",
            name: c.driver.name().to_string(),
            change: c.amount,
            revenue: c.revenue,
        }));
        movers.retain(|m| m.change.0 != 0);
        movers.sort_by(|a, b| b.change.0.abs().cmp(&a.change.0.abs()).then_with(|| a.name.cmp(&b.name)));
        movers.truncate(MOVERS);
    }
    let products = match &comparison {
        Some(_) => {
            let p = ctx.run::<ProductsAnalysis>(&(ranged.clone(), versus, Level::Product)).await?;
            product_moves(&p)
        }
        None => Vec::new(),
    };
    Ok(DigestContent {
        name: name.to_string(),
        currency: wh.version.manifest.currency.as_ref().map(ToString::to_string),
        selection: selection(filter),
        from,
        to,
        late,
        comparison,
        drivers: explanation.map(|e| e.summary.clone()),
        movers,
        products,
        projection,
        alerts,
    })
}

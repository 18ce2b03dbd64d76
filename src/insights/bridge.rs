//! The revenue bridge: how the change in total revenue between two periods splits into its
//! drivers, in several views that each add up to the change exactly, and gross to net for the
//! period (docs/insights.md).

use super::exact::{apportion, cents};
use super::queries::{query_error, sql};
use crate::metrics::compare::{Versus, comparison_range};
use crate::metrics::results::Cols;
use crate::metrics::{Cents, MetricsError, round6, run};
use crate::model::Filter;
use crate::warehouse::Warehouse;
use chrono::NaiveDate;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use serde::Serialize;
use std::collections::BTreeMap;

/// One period of a bridge.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PeriodTotals {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Total revenue (kpis.md).
    pub revenue: Cents,
    /// Revenue orders.
    pub orders: i64,
    /// Average order value.
    pub average_order_value: Cents,
}

/// What a component of a bridge stands for: one of the bridge's own drivers, or a segment by its
/// value (a country, a payment method). In JSON, its name (`orders`, `new`, `DE`…).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Driver {
    /// The number of orders.
    Orders,
    /// The average order value.
    AverageOrderValue,
    /// Customers whose first order is in the range.
    New,
    /// Customers back after buying before the comparison range.
    Reactivated,
    /// Customers who bought in both ranges.
    Retained,
    /// Customers of the comparison range who did not buy in the range.
    Lost,
    /// The continuing products' unit prices.
    Price,
    /// The continuing products' units.
    Volume,
    /// Products sold in the range, not in the comparison range.
    NewProducts,
    /// Products sold in the comparison range, not in the range.
    StoppedProducts,
    /// The goods refunded in each range.
    Returns,
    /// A segment's value: a country, a payment method.
    Segment(String),
}

impl Driver {
    /// Its name in the API's answers.
    pub fn name(&self) -> &str {
        match self {
            Driver::Orders => "orders",
            Driver::AverageOrderValue => "average_order_value",
            Driver::New => "new",
            Driver::Reactivated => "reactivated",
            Driver::Retained => "retained",
            Driver::Lost => "lost",
            Driver::Price => "price",
            Driver::Volume => "volume",
            Driver::NewProducts => "new_products",
            Driver::StoppedProducts => "stopped_products",
            Driver::Returns => "returns",
            Driver::Segment(value) => value,
        }
    }

    /// Its name in words; a segment's value is its own.
    pub fn label(&self) -> &str {
        match self {
            Driver::Orders => "Number of orders",
            Driver::AverageOrderValue => "Average order value",
            Driver::New => "New customers",
            Driver::Reactivated => "Reactivated customers",
            Driver::Retained => "Retained customers",
            Driver::Lost => "Lost customers",
            Driver::Price => "Price",
            Driver::Volume => "Volume",
            Driver::NewProducts => "New products",
            Driver::StoppedProducts => "Products no longer sold",
            Driver::Returns => "Returns (refunded in the range)",
            Driver::Segment(value) => value,
        }
    }
}

impl Serialize for Driver {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// One driver of a change.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Component {
    /// What moved (`orders`, `new`, a category, a country…).
    #[schema(value_type = String)]
    pub driver: Driver,
    /// Its contribution to the change; a view's contributions add up to the change.
    pub amount: Cents,
    /// Its revenue in the period, where the driver has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue: Option<Cents>,
    /// Its revenue in the comparison period, where the driver has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) previous_revenue: Option<Cents>,
    /// Customers behind it (customer views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customers: Option<i64>,
}

/// One product's change, with its price and volume effects.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProductChange {
    /// The shop's product id.
    pub product_id: String,
    /// Its name.
    pub product_name: String,
    /// Its category.
    pub category: String,
    /// Revenue in the period minus revenue in the comparison period.
    pub amount: Cents,
    /// The part due to its average unit price (0 for a product new or stopped).
    pub price: Cents,
    /// The part due to units sold.
    pub volume: Cents,
    /// Sold in the period, not in the comparison period.
    pub new: bool,
    /// Sold in the comparison period, not in the period.
    pub stopped: bool,
}

/// A category's change and the products that made it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CategoryChange {
    /// The category.
    pub category: String,
    /// Its contribution to the change.
    pub amount: Cents,
    /// Its revenue in the period.
    pub revenue: Cents,
    /// Its revenue in the comparison period.
    pub(crate) previous_revenue: Cents,
    /// Of the amount, what products new in the period brought.
    pub new_products: Cents,
    /// Of the amount, what products that stopped selling took away.
    pub stopped_products: Cents,
    /// Its products that rose most (largest first).
    pub(crate) top_up: Vec<ProductChange>,
    /// Its products that fell most (largest fall first).
    pub top_down: Vec<ProductChange>,
}

/// The price-volume view: continuing products' price and volume effects, new and stopped products.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PriceVolume {
    /// `price`, `volume`, `new_products`, `stopped_products`: they add up to the change.
    pub components: Vec<Component>,
    /// The products with the largest price effect, either way.
    pub(crate) top_price: Vec<ProductChange>,
    /// The products with the largest volume effect, either way.
    pub(crate) top_volume: Vec<ProductChange>,
}

/// New and returning customers' revenue within one period.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CustomerSplit {
    /// Revenue of customers whose first revenue order ever falls in the period.
    pub new: Cents,
    /// Revenue of customers who had ordered before it.
    pub returning: Cents,
    /// How many new customers.
    pub new_customers: i64,
    /// How many returning customers.
    pub returning_customers: i64,
}

/// The customer view.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CustomerView {
    /// `new`, `reactivated`, `retained`, `lost`: they add up to the change.
    pub components: Vec<Component>,
    /// The period split into new and returning customers (adds up to its revenue).
    pub current: CustomerSplit,
    /// Same for the comparison period.
    pub previous: CustomerSplit,
}

/// Every view of the change.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Views {
    /// `orders` (volume) and `average_order_value` (value).
    pub volume_value: Vec<Component>,
    /// New, reactivated, retained and lost customers.
    pub customers: CustomerView,
    /// Per category, largest change first.
    pub categories: Vec<CategoryChange>,
    /// Price and volume per product.
    pub price_volume: PriceVolume,
    /// Per customer country (`(none)`: customers without one).
    pub countries: Vec<Component>,
    /// Per main payment method (`(none)`: orders without payments).
    pub methods: Vec<Component>,
}

/// A step from gross merchandise value to net revenue. In JSON, its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// Gross merchandise value: the first total.
    Gross,
    /// Line and order discounts.
    Discounts,
    /// Cancelled orders.
    Cancelled,
    /// Orders returned whole without a refund on record.
    Returned,
    /// Pending orders.
    Pending,
    /// The goods refunded in the range.
    Returns,
    /// Net revenue: the last total.
    NetRevenue,
}

impl StepKind {
    /// Its name in the API's answers.
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Gross => "gross",
            StepKind::Discounts => "discounts",
            StepKind::Cancelled => "cancelled",
            StepKind::Returned => "returned",
            StepKind::Pending => "pending",
            StepKind::Returns => "returns",
            StepKind::NetRevenue => "net_revenue",
        }
    }

    /// Its name in words.
    pub fn label(self) -> &'static str {
        match self {
            StepKind::Gross => "Gross merchandise value",
            StepKind::Discounts => "Discounts",
            StepKind::Cancelled => "Cancelled orders",
            StepKind::Returned => "Returned orders (no refund on record)",
            StepKind::Pending => "Pending orders",
            StepKind::Returns => "Returns (refunded in the range)",
            StepKind::NetRevenue => "Net revenue",
        }
    }
}

impl Serialize for StepKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// One step from gross merchandise value to net revenue.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Step {
    /// `gross`, `discounts`, `cancelled`, `returned`, `pending`, `returns`, `net_revenue`.
    #[schema(value_type = String)]
    pub step: StepKind,
    /// The amount: the first and last are totals, the others what the step takes away (negative).
    pub amount: Cents,
}

/// A revenue bridge between a range and its comparison range.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Explanation {
    /// The range explained.
    pub range: PeriodTotals,
    /// The range compared with.
    pub comparison: PeriodTotals,
    /// Revenue of the range minus that of the comparison (of the rounded totals).
    pub change: Cents,
    /// `change / comparison revenue` (null when that is 0).
    pub(crate) change_ratio: Option<f64>,
    /// The change split by driver, one way per view.
    pub views: Views,
    /// The range's gross merchandise value down to its net revenue (= `range.revenue`).
    pub gross_to_net: Vec<Step>,
    /// The largest drivers in words.
    pub summary: String,
}

/// How many products a top list names.
const TOP: usize = 5;

/// The bridge of `filter`'s range against `vs` (open ends of the range: the data's first and
/// last order day); `None` when the warehouse has no orders.
///
/// # Errors
/// A query fails.
pub async fn explain(wh: &Warehouse, filter: &Filter, vs: Versus) -> Result<Option<Explanation>, MetricsError> {
    let dims = crate::metrics::dimensions(wh).await?;
    let (Some(first), Some(last)) = (filter.from().or(dims.first_date), filter.to().or(dims.last_date)) else {
        return Ok(None);
    };
    let last = last.max(first);
    let (cf, ct) = comparison_range(first, last, vs);
    let current = filter.with_range(Some(first), Some(last));
    let previous = filter.with_range(Some(cf), Some(ct));
    let ctx = two_periods(wh, &current, &previous).await?;

    let totals = run(&ctx, "bridge_totals", sql::BRIDGE_TOTALS, vec![]).await?;
    // sales, orders and returns of each period
    let (mut r1, mut o1, mut x1, mut r0, mut o0, mut x0) = (0, 0, 0, 0, 0, 0);
    for b in &totals {
        let c = Cols(b);
        for row in 0..b.num_rows() {
            let (r, o, x) = (c.units4("revenue", row), c.int("orders", row), c.units4("returns", row));
            if c.text("period", row).as_deref() == Some("current") {
                (r1, o1, x1) = (r, o, x);
            } else {
                (r0, o0, x0) = (r, o, x);
            }
        }
    }
    // the change of revenue (net of returns); each view splits the change of sales by its
    // drivers, and the change of returns is a driver of its own beside them
    let change = cents(r1 - x1) - cents(r0 - x0);
    let sales_change = cents(r1) - cents(r0);
    let returns = change - sales_change;
    let key = crate::warehouse::keys::key_param;
    let customer_rows =
        run(&ctx, "bridge_customers", sql::BRIDGE_CUSTOMERS, vec![key(first), key(last), key(cf), key(ct)]).await?;
    let products = read_products(&run(&ctx, "bridge_products", sql::BRIDGE_PRODUCTS, vec![]).await?);
    let countries = read_segments(&run(&ctx, "bridge_countries", sql::BRIDGE_COUNTRIES, vec![]).await?);
    let methods = read_segments(&run(&ctx, "bridge_methods", sql::BRIDGE_METHODS, vec![]).await?);
    let statuses = run(&ctx, "gross_to_net", sql::GROSS_TO_NET, crate::metrics::filter_params(&current)).await?;

    let period = |from, to, r: i128, o: i64, x: i128| PeriodTotals {
        from,
        to,
        revenue: Cents(cents(r - x)),
        orders: o,
        // ten-thousandths per order, to cents: sales, before returns (kpis.md)
        average_order_value: Cents(if o == 0 { 0 } else { crate::model::money::round_ratio(r, o as i128 * 10_000, 2) }),
    };
    let returned =
        (returns != 0 || x1 != 0 || x0 != 0).then(|| component(Driver::Returns, returns, Some((-x1, -x0)), None));
    let with_returns = |mut v: Vec<Component>| {
        v.extend(returned.clone());
        v
    };
    let mut customers = customer_view(&customer_rows, sales_change);
    customers.components = with_returns(customers.components);
    let mut price_volume = price_volume(&products, sales_change);
    price_volume.components = with_returns(price_volume.components);
    let mut categories = category_view(&products, sales_change);
    if let Some(r) = &returned {
        categories.push(CategoryChange {
            category: r.driver.name().to_string(),
            amount: r.amount,
            revenue: Cents(cents(-x1)),
            previous_revenue: Cents(cents(-x0)),
            new_products: Cents(0),
            stopped_products: Cents(0),
            top_up: Vec::new(),
            top_down: Vec::new(),
        });
    }
    let views = Views {
        volume_value: with_returns(volume_value(r1, o1, r0, o0, sales_change)),
        customers,
        categories,
        price_volume,
        countries: with_returns(segment_view(&countries, sales_change)),
        methods: with_returns(segment_view(&methods, sales_change)),
    };
    let range = period(first, last, r1, o1, x1);
    let comparison = period(cf, ct, r0, o0, x0);
    let change_ratio = (r0 != x0).then(|| round6((r1 - x1) as f64 / (r0 - x0) as f64 - 1.0));
    let summary = summary(&range, &comparison, change, change_ratio, &views);
    Ok(Some(Explanation {
        gross_to_net: gross_to_net(&statuses, x1),
        range,
        comparison,
        change: Cents(change),
        change_ratio,
        views,
        summary,
    }))
}

/// A session with both periods' revenue lines, orders and returns as `cur_lines`, `cur_orders`,
/// `cur_returns`, `prev_lines`, `prev_orders` and `prev_returns` (plans, run by each query that
/// reads them; the returns in memory).
async fn two_periods(wh: &Warehouse, current: &Filter, previous: &Filter) -> Result<SessionContext, MetricsError> {
    let ctx = wh.session().await.map_err(query_error("session"))?;
    for (prefix, f) in [("cur", current), ("prev", previous)] {
        let (lines, orders) = crate::metrics::revenue_frames(&ctx, f).await?;
        let wrap = query_error("bridge periods");
        ctx.deregister_table("revenue_lines").map_err(&wrap)?;
        let returns = ctx.deregister_table("revenue_returns").map_err(&wrap)?.expect("registered with the frames");
        ctx.register_table(format!("{prefix}_returns").as_str(), returns).map_err(&wrap)?;
        ctx.register_table(format!("{prefix}_lines").as_str(), lines.into_view()).map_err(&wrap)?;
        ctx.register_table(format!("{prefix}_orders").as_str(), orders.into_view()).map_err(&wrap)?;
    }
    Ok(ctx)
}

/// A product's figures in both periods (ten-thousandths and units).
struct ProductRow {
    id: String,
    name: String,
    category: String,
    r1: Option<i128>,
    u1: i128,
    r0: Option<i128>,
    u0: i128,
}

impl ProductRow {
    fn amount(&self) -> i128 {
        self.r1.unwrap_or(0) - self.r0.unwrap_or(0)
    }

    /// The price effect, `(p1 - p0) * (u0 + u1) / 2` with `p = revenue / units`, rounded to the
    /// ten-thousandth; the volume effect is the rest of the product's change, so the two add up
    /// exactly. Zero for a product new or stopped.
    fn price_effect(&self) -> i128 {
        match (self.r1, self.r0) {
            (Some(r1), Some(r0)) if self.u0 > 0 && self.u1 > 0 => crate::model::money::round_ratio(
                (r1 * self.u0 - r0 * self.u1) * (self.u0 + self.u1),
                2 * self.u0 * self.u1,
                0,
            ),
            _ => 0,
        }
    }

    fn change(&self) -> ProductChange {
        let price = self.price_effect();
        let amount = self.amount();
        ProductChange {
            product_id: self.id.clone(),
            product_name: self.name.clone(),
            category: self.category.clone(),
            amount: Cents(cents(amount)),
            price: Cents(cents(price)),
            volume: Cents(cents(amount - price)),
            new: self.r0.is_none(),
            stopped: self.r1.is_none(),
        }
    }
}

fn read_products(batches: &[RecordBatch]) -> Vec<ProductRow> {
    let mut out = Vec::new();
    for b in batches {
        let c = Cols(b);
        let opt = |name: &str, row: usize| (!c.col(name).is_null(row)).then(|| c.units4(name, row));
        for row in 0..b.num_rows() {
            out.push(ProductRow {
                id: c.text("product_id", row).unwrap_or_default(),
                name: c.text("product_name", row).unwrap_or_default(),
                category: c.text("category", row).unwrap_or_default(),
                r1: opt("revenue", row),
                u1: c.int("units", row) as i128,
                r0: opt("previous_revenue", row),
                u0: c.int("previous_units", row) as i128,
            });
        }
    }
    out
}

/// `(segment, revenue, previous revenue)` in ten-thousandths; `(none)` for a NULL segment.
fn read_segments(batches: &[RecordBatch]) -> Vec<(String, i128, i128)> {
    let mut out = Vec::new();
    for b in batches {
        let c = Cols(b);
        for row in 0..b.num_rows() {
            let name = c.text("segment", row).unwrap_or_else(|| "(none)".into());
            out.push((name, c.units4("revenue", row), c.units4("previous_revenue", row)));
        }
    }
    out
}

/// A component from exact revenues of both periods, its amount already apportioned.
fn component(driver: Driver, amount: i128, revenues: Option<(i128, i128)>, customers: Option<i64>) -> Component {
    Component {
        driver,
        amount: Cents(amount),
        revenue: revenues.map(|r| Cents(cents(r.0))),
        previous_revenue: revenues.map(|r| Cents(cents(r.1))),
        customers,
    }
}

/// Orders × average order value, split symmetrically (Shapley): the value effect is
/// `(a1 - a0) * (o0 + o1) / 2`, the volume effect `(o1 - o0) * (a0 + a1) / 2`; they add up to
/// the change with no remainder. With no orders on one side the whole change is volume.
fn volume_value(r1: i128, o1: i64, r0: i128, o0: i64, change: i128) -> Vec<Component> {
    let (o1, o0) = (o1 as i128, o0 as i128);
    let value = if o1 > 0 && o0 > 0 {
        crate::model::money::round_ratio((r1 * o0 - r0 * o1) * (o0 + o1), 2 * o0 * o1, 0)
    } else {
        0
    };
    let volume = r1 - r0 - value;
    let amounts = apportion(&[(volume, cents(volume)), (value, cents(value))], change);
    vec![
        component(Driver::Orders, amounts[0], None, None),
        component(Driver::AverageOrderValue, amounts[1], None, None),
    ]
}

fn customer_view(batches: &[RecordBatch], change: i128) -> CustomerView {
    // (customers, current revenue, previous revenue) per group
    let mut groups: BTreeMap<Driver, (i64, i128, i128)> = BTreeMap::new();
    let mut current = (0i64, 0i128, 0i64, 0i128); // new customers, new revenue, returning, returning revenue
    let mut previous = current;
    for b in batches {
        let c = Cols(b);
        let flag = |name: &str, row: usize| {
            let a = c.col(name);
            !a.is_null(row) && datafusion::arrow::array::AsArray::as_boolean(a).value(row)
        };
        for row in 0..b.num_rows() {
            let (in1, in0, new1, new0) = (
                flag("in_current", row),
                flag("in_previous", row),
                flag("new_current", row),
                flag("new_previous", row),
            );
            let (n, r1, r0) = (c.int("customers", row), c.units4("revenue", row), c.units4("previous_revenue", row));
            let group = match (in1, in0) {
                (true, true) => Driver::Retained,
                (true, false) if new1 => Driver::New,
                (true, false) => Driver::Reactivated,
                _ => Driver::Lost,
            };
            let g = groups.entry(group).or_default();
            *g = (g.0 + n, g.1 + r1, g.2 + r0);
            if in1 {
                if new1 {
                    (current.0, current.1) = (current.0 + n, current.1 + r1);
                } else {
                    (current.2, current.3) = (current.2 + n, current.3 + r1);
                }
            }
            if in0 {
                if new0 {
                    (previous.0, previous.1) = (previous.0 + n, previous.1 + r0);
                } else {
                    (previous.2, previous.3) = (previous.2 + n, previous.3 + r0);
                }
            }
        }
    }
    let order = [Driver::New, Driver::Reactivated, Driver::Retained, Driver::Lost];
    let parts: Vec<(i128, i128)> = order
        .iter()
        .map(|g| {
            let (_, r1, r0) = groups.get(g).copied().unwrap_or_default();
            (r1 - r0, cents(r1) - cents(r0))
        })
        .collect();
    let amounts = apportion(&parts, change);
    let split = |s: (i64, i128, i64, i128)| {
        // the two halves of a period add up to its rounded revenue
        let parts = [(s.1, cents(s.1)), (s.3, cents(s.3))];
        let c = apportion(&parts, cents(s.1 + s.3));
        CustomerSplit { new: Cents(c[0]), returning: Cents(c[1]), new_customers: s.0, returning_customers: s.2 }
    };
    CustomerView {
        components: order
            .iter()
            .zip(amounts)
            .map(|(g, a)| {
                let (n, r1, r0) = groups.get(g).copied().unwrap_or_default();
                component(g.clone(), a, Some((r1, r0)), Some(n))
            })
            .collect(),
        current: split(current),
        previous: split(previous),
    }
}

/// The change of each segment (`(name, revenue, previous)`), largest change first.
fn segment_view(segments: &[(String, i128, i128)], change: i128) -> Vec<Component> {
    let parts: Vec<(i128, i128)> = segments.iter().map(|(_, r1, r0)| (r1 - r0, cents(*r1) - cents(*r0))).collect();
    let amounts = apportion(&parts, change);
    let mut out: Vec<Component> = segments
        .iter()
        .zip(amounts)
        .map(|((name, r1, r0), a)| component(Driver::Segment(name.clone()), a, Some((*r1, *r0)), None))
        .collect();
    out.sort_by(|a, b| b.amount.0.abs().cmp(&a.amount.0.abs()).then_with(|| a.driver.cmp(&b.driver)));
    out
}

fn category_view(products: &[ProductRow], change: i128) -> Vec<CategoryChange> {
    let mut by_category: BTreeMap<&str, Vec<&ProductRow>> = BTreeMap::new();
    for p in products {
        by_category.entry(p.category.as_str()).or_default().push(p);
    }
    let sums: Vec<(i128, i128)> = by_category
        .values()
        .map(|ps| {
            let r1 = ps.iter().filter_map(|p| p.r1).sum::<i128>();
            let r0 = ps.iter().filter_map(|p| p.r0).sum::<i128>();
            (r1, r0)
        })
        .collect();
    // the category view equals the difference of the categories' revenues in `kpi` (rounded
    // per category), apportioned only if those differences miss the rounded change
    let amounts =
        apportion(&sums.iter().map(|(r1, r0)| (r1 - r0, cents(*r1) - cents(*r0))).collect::<Vec<_>>(), change);
    let mut out: Vec<CategoryChange> = by_category
        .iter()
        .zip(sums.iter().zip(amounts))
        .map(|((category, ps), ((r1, r0), amount))| {
            let mut changes: Vec<ProductChange> = ps.iter().map(|p| p.change()).collect();
            changes.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.product_id.cmp(&b.product_id)));
            let top_up: Vec<ProductChange> = changes.iter().filter(|c| c.amount.0 > 0).take(TOP).cloned().collect();
            let top_down: Vec<ProductChange> =
                changes.iter().rev().filter(|c| c.amount.0 < 0).take(TOP).cloned().collect();
            let new: i128 = ps.iter().filter(|p| p.r0.is_none()).map(|p| p.amount()).sum();
            let stopped: i128 = ps.iter().filter(|p| p.r1.is_none()).map(|p| p.amount()).sum();
            CategoryChange {
                category: category.to_string(),
                amount: Cents(amount),
                revenue: Cents(cents(*r1)),
                previous_revenue: Cents(cents(*r0)),
                new_products: Cents(cents(new)),
                stopped_products: Cents(cents(stopped)),
                top_up,
                top_down,
            }
        })
        .collect();
    out.sort_by(|a, b| b.amount.0.abs().cmp(&a.amount.0.abs()).then_with(|| a.category.cmp(&b.category)));
    out
}

fn price_volume(products: &[ProductRow], change: i128) -> PriceVolume {
    let (mut price, mut volume, mut new, mut stopped) = (0i128, 0i128, 0i128, 0i128);
    for p in products {
        match (p.r1, p.r0) {
            (Some(_), None) => new += p.amount(),
            (None, Some(_)) => stopped += p.amount(),
            _ => {
                let e = p.price_effect();
                price += e;
                volume += p.amount() - e;
            }
        }
    }
    let exact = [price, volume, new, stopped];
    let amounts = apportion(&exact.map(|e| (e, cents(e))), change);
    let components = [Driver::Price, Driver::Volume, Driver::NewProducts, Driver::StoppedProducts]
        .into_iter()
        .zip(amounts)
        .map(|(d, a)| component(d, a, None, None))
        .collect();
    let continuing: Vec<ProductChange> =
        products.iter().filter(|p| p.r1.is_some() && p.r0.is_some()).map(ProductRow::change).collect();
    let top = |key: fn(&ProductChange) -> i128| {
        let mut v = continuing.clone();
        v.sort_by(|a, b| key(b).abs().cmp(&key(a).abs()).then_with(|| a.product_id.cmp(&b.product_id)));
        v.truncate(TOP);
        v
    };
    PriceVolume { components, top_price: top(|c| c.price.0), top_volume: top(|c| c.volume.0) }
}

/// Gross merchandise value → discounts → cancelled → returned → pending → returns → net
/// revenue, from the per-kind sums of `gross_to_net.sql` and the range's `returns` (refunded in
/// it). `returned` is the orders returned whole without a refund on record; `returns`, the goods
/// refunded in the range. Each step is exact; the last is the range's total revenue.
fn gross_to_net(batches: &[RecordBatch], returns: i128) -> Vec<Step> {
    let (mut gross, mut discount) = (0i128, 0i128);
    let mut revenue: BTreeMap<String, i128> = BTreeMap::new();
    for b in batches {
        let c = Cols(b);
        for row in 0..b.num_rows() {
            gross += c.units4("gross", row);
            discount += c.units4("discount", row);
            *revenue.entry(c.text("status", row).unwrap_or_default()).or_default() += c.units4("revenue", row);
        }
    }
    let of = |s: &str| revenue.get(s).copied().unwrap_or(0);
    // what is not a sale: cancelled, returned without a refund, pending (processing, shipped and
    // delivered orders are always sales)
    let net = of("sale") - returns;
    let exact = [-discount, -of("cancelled"), -of("returned"), -of("pending"), -returns];
    // the steps between the two totals add up to their (rounded) difference
    let steps = apportion(&exact.map(|e| (e, cents(e))), cents(net) - cents(gross));
    let mut out = vec![Step { step: StepKind::Gross, amount: Cents(cents(gross)) }];
    // a shop without refunds in the range has no returns step, as before the books
    let names = [StepKind::Discounts, StepKind::Cancelled, StepKind::Returned, StepKind::Pending, StepKind::Returns];
    for (name, a) in names.into_iter().zip(steps).filter(|(n, a)| *n != StepKind::Returns || *a != 0 || returns != 0) {
        out.push(Step { step: name, amount: Cents(a) });
    }
    out.push(Step { step: StepKind::NetRevenue, amount: Cents(cents(net)) });
    out
}

fn signed(c: i128) -> String {
    let s = Cents(c).to_string();
    if c >= 0 { format!("+{s}") } else { s }
}

/// ` +8.1 %` (with a leading space), or nothing when there is no ratio.
fn pct(ratio: Option<f64>) -> String {
    ratio.map_or_else(String::new, |r| format!(" {}{:.1} %", if r >= 0.0 { "+" } else { "" }, r * 100.0))
}

/// The largest drivers in plain words.
fn summary(range: &PeriodTotals, comparison: &PeriodTotals, change: i128, ratio: Option<f64>, views: &Views) -> String {
    let rel = |a: f64, b: f64| (b != 0.0).then(|| a / b - 1.0);
    // without comparison revenue there is no ratio to give
    let mut s = match ratio {
        Some(_) => format!("Revenue {} ({})", signed(change), pct(ratio).trim_start()),
        None => format!("Revenue {}", signed(change)),
    };
    let vv = &views.volume_value;
    s.push_str(&format!(
        ": orders{} ({}), average order{} ({})",
        pct(rel(range.orders as f64, comparison.orders as f64)),
        signed(vv[0].amount.0),
        pct(rel(range.average_order_value.0 as f64, comparison.average_order_value.0 as f64)),
        signed(vv[1].amount.0)
    ));
    let movers: Vec<String> = views
        .categories
        .iter()
        .filter(|c| c.amount.0 != 0)
        .take(2)
        .map(|c| {
            let mut t = format!("{} {}", c.category, signed(c.amount.0));
            if c.new_products.0 != 0 {
                t.push_str(&format!(", of which new products {}", signed(c.new_products.0)));
            }
            t
        })
        .collect();
    if !movers.is_empty() {
        s.push_str(&format!("; {}", movers.join("; ")));
    }
    let cv = &views.customers.components;
    let (new, lost) = (&cv[0], &cv[3]);
    s.push_str(&format!(
        "; new customers {} ({} customers), lost customers {} ({} customers).",
        signed(new.amount.0),
        new.customers.unwrap_or(0),
        signed(lost.amount.0),
        lost.customers.unwrap_or(0)
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::{Driver, StepKind};

    #[test]
    fn drivers_and_steps_are_their_names_in_json_and_read_in_words() {
        let json = |d: &Driver| serde_json::to_string(d).unwrap();
        assert_eq!(json(&Driver::AverageOrderValue), r#""average_order_value""#);
        assert_eq!(json(&Driver::Segment("DE".into())), r#""DE""#);
        assert_eq!(serde_json::to_string(&StepKind::NetRevenue).unwrap(), r#""net_revenue""#);
        assert_eq!(Driver::Lost.label(), "Lost customers");
        // a segment is its own value, even one that spells a driver's name
        assert_eq!(Driver::Segment("new".into()).label(), "new");
        assert_eq!(StepKind::Returned.label(), "Returned orders (no refund on record)");
    }
}

//! Formatting for people: KPI tables with thousands separators and percentages, query results,
//! import reports.

use crate::import::ImportReport;
use crate::insights::bridge::Driver;
use crate::metrics::Kpis;
use crate::model::text::csv_safe;
use anyhow::Result;
use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Row, Table, presets::UTF8_FULL_CONDENSED};
use datafusion::arrow::record_batch::RecordBatch;
use std::fmt::Write;
use std::time::Duration;

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

use crate::metrics::grouped;

fn new_table(header: &[&str]) -> Grid {
    Grid { header: header.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
}

/// A terminal table: numbers right-aligned and text left-aligned, as wide as the terminal (or
/// `$COLUMNS`) at most, a cell too long for its column shortened with "…" rather than wrapped.
struct Grid {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Grid {
    fn add_row(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Whether every non-empty cell of column `i` reads as a number (an amount, a count, a
    /// percentage, a signed change, a day).
    fn numeric(&self, i: usize) -> bool {
        let number = |s: &str| {
            s.chars().any(|c| c.is_ascii_digit()) && s.chars().all(|c| c.is_ascii_digit() || " ,.%+-*:−".contains(c))
        };
        self.rows.iter().filter_map(|r| r.get(i)).filter(|c| !c.is_empty() && *c != "-").all(|c| number(c))
    }
}

impl std::fmt::Display for Grid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_truncation_indicator("…")
            .set_header(self.header.clone());
        if let Some(width) = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<u16>().ok()) {
            t.set_width(width);
        }
        for r in &self.rows {
            let mut row = Row::from(r.clone());
            row.max_height(1);
            t.add_row(row);
        }
        for i in 0..self.header.len() {
            if self.numeric(i)
                && let Some(c) = t.column_mut(i)
            {
                // a number is never shortened: only text gives up width
                c.set_cell_alignment(CellAlignment::Right);
                c.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
        write!(f, "{t}")
    }
}

/// Every KPI section as terminal tables.
/// The books as a shop platform's finance summary: gross sales down to total sales.
fn books(b: &crate::metrics::Books) -> String {
    let none = || "-".to_string();
    let neg = |c: crate::metrics::Cents| crate::metrics::Cents(-c.0).to_string();
    let rows = [
        ("Gross sales", b.gross_sales.to_string()),
        ("Discounts", neg(b.discounts)),
        ("Returns", neg(b.returns)),
        ("Net sales", b.net_sales.to_string()),
        ("Shipping", b.shipping.map_or_else(none, |c| c.to_string())),
        ("Taxes", b.taxes.map_or_else(none, |c| c.to_string())),
        ("Duties", b.duties.map_or_else(none, |c| c.to_string())),
        ("Total sales", b.total_sales.map_or_else(none, |c| c.to_string())),
    ];
    let width = rows.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    let mut out = String::from("Books\n");
    for (name, value) in rows {
        let _ = writeln!(out, "  {name:<12} {value:>width$}");
    }
    let _ = writeln!(out, "  Returned units {}", grouped(b.returned_units));
    if b.shipping.is_none() {
        out.push_str("  (shipping, taxes and duties are an order's, not a category's: none under a category filter)\n");
    }
    out.push('\n');
    out
}

pub(super) fn kpis(k: &Kpis) -> String {
    let mut out = String::new();
    let s = &k.summary;
    let _ = writeln!(
        out,
        "Total revenue {}   Orders {}\nAverage order value {}   Customers {}\n",
        s.total_revenue,
        grouped(s.orders),
        s.average_order_value,
        grouped(s.customers)
    );
    out.push_str(&books(&k.books));
    if !k.assumptions.is_empty() {
        out.push_str("The books rest on what the export does not say:\n");
        for a in &k.assumptions {
            let _ = writeln!(out, "  - {a}");
        }
        out.push('\n');
    }
    if k.channels.len() > 1 || k.channels.iter().any(|c| c.channel != "unspecified") {
        let mut t = new_table(&["channel", "net sales", "orders", "share"]);
        for c in &k.channels {
            t.add_row(vec![c.channel.clone(), c.revenue.to_string(), grouped(c.orders), pct(c.share)]);
        }
        let _ = writeln!(out, "Sales by channel\n{t}\n");
    }
    if !k.discount_codes.is_empty() {
        let mut t = new_table(&["code", "orders", "discounts", "net sales"]);
        for c in k.discount_codes.iter().take(20) {
            t.add_row(vec![c.code.clone(), grouped(c.orders), c.discounts.to_string(), c.revenue.to_string()]);
        }
        let more = k.discount_codes.len().saturating_sub(20);
        let more = if more > 0 { format!("\n({more} more codes in --json)") } else { String::new() };
        let _ = writeln!(out, "Sales by discount code\n{t}{more}\n");
    }
    let mut t = new_table(&["month", "revenue", "orders", "customers", "avg order", "growth"]);
    for m in &k.monthly {
        t.add_row(vec![
            if m.complete { m.month.to_string() } else { format!("{} *", m.month) },
            m.revenue.to_string(),
            grouped(m.orders),
            grouped(m.customers),
            m.average_order_value.to_string(),
            m.growth.map(pct).unwrap_or_else(|| "-".into()),
        ]);
    }
    let in_progress = k.monthly.iter().any(|m| !m.complete);
    let note = if in_progress { "\n* the month in progress: not complete, so its growth is not a trend" } else { "" };
    let _ = writeln!(out, "Monthly trend\n{t}{note}\n");
    let mut t = new_table(&["category", "revenue", "share", "orders", "units"]);
    for c in &k.categories {
        t.add_row(vec![c.category.clone(), c.revenue.to_string(), pct(c.share), grouped(c.orders), grouped(c.units)]);
    }
    let _ = writeln!(out, "Revenue by category\n{t}\n");
    let mut t = new_table(&["product", "name", "revenue", "units", "share", "cumulative"]);
    for p in &k.top_products {
        t.add_row(vec![
            p.product_id.clone(),
            p.product_name.clone().unwrap_or_default(),
            p.revenue.to_string(),
            grouped(p.units),
            pct(p.share),
            pct(p.cumulative_share),
        ]);
    }
    let _ = writeln!(out, "Top products\n{t}\n");
    let mut t = new_table(&["orders", "customers", "share"]);
    for b in &k.order_frequency.buckets {
        t.add_row(vec![b.orders.clone(), grouped(b.customers), pct(b.share)]);
    }
    let _ =
        writeln!(out, "Order frequency (repeat-customer rate {})\n{t}\n", pct(k.order_frequency.repeat_customer_rate));
    let mut t = new_table(&["customer", "name", "orders", "revenue", "avg order", "first", "last"]);
    for c in &k.top_customers {
        t.add_row(vec![
            c.customer_id.clone(),
            c.customer_name.clone().unwrap_or_default(),
            grouped(c.orders),
            c.revenue.to_string(),
            c.average_order_value.to_string(),
            c.first_order_date.to_string(),
            c.last_order_date.to_string(),
        ]);
    }
    let _ = writeln!(out, "Top customers\n{t}\n");
    let mut t = new_table(&["method", "amount", "orders", "share", "avg installments"]);
    for m in &k.payment_methods {
        t.add_row(vec![
            m.method.clone(),
            m.amount.to_string(),
            grouped(m.orders),
            pct(m.share),
            format!("{:.2}", m.average_installments),
        ]);
    }
    let _ = writeln!(out, "Payment methods\n{t}");
    out
}

/// An import's per-file counts and where its rejects are.
/// `clock` says whose time the preview's times are.
pub(super) fn import_report(r: &ImportReport, took: Duration, clock: &str) -> String {
    let mut t = new_table(&["file", "read", "loaded", "rejected"]);
    let mut rejected = 0;
    for (file, c) in &r.files {
        rejected += c.rejected;
        t.add_row(vec![file.clone(), grouped(c.read as i64), grouped(c.loaded as i64), grouped(c.rejected as i64)]);
    }
    let mut out = if r.published {
        format!("{t}\nimported in {:.1} s as version {}\n", took.as_secs_f64(), r.version)
    } else {
        format!("{t}\nchecked in {:.1} s; nothing was published (--check)\n", took.as_secs_f64())
    };
    if rejected > 0 {
        let _ = writeln!(out, "{rejected} rows rejected, listed in {}; the first:", r.rejects.display());
        for (file, line, reason) in &r.first_rejects {
            let _ = writeln!(out, "  {file}:{line}: {reason}");
        }
        let _ = writeln!(out, "the most frequent reasons:");
        for (reason, n) in &r.reasons {
            let _ = writeln!(out, "  {} × {reason}", grouped(*n as i64));
        }
    }
    if !r.published && !r.preview.is_empty() {
        let time = format!("time ({clock})");
        let mut p = new_table(&["order", &time, "customer", "status", "lines", "amount"]);
        for o in &r.preview {
            p.add_row(vec![
                o.order_id.clone(),
                o.order_ts.format("%Y-%m-%d %H:%M").to_string(),
                o.customer_id.clone(),
                o.status.clone(),
                o.lines.to_string(),
                o.amount.to_string(),
            ]);
        }
        let _ = writeln!(out, "the first orders as they would load:\n{p}");
    }
    out
}

/// Query results as a table.
pub(super) fn table(batches: &[RecordBatch]) -> Result<String> {
    Ok(format!("{}\n", datafusion::arrow::util::pretty::pretty_format_batches(batches)?))
}

/// Query results as CSV with a header; text cells that a spreadsheet would run as formulas are
/// neutralised ([`csv_safe`]), numbers and dates are written as they are.
pub(super) fn csv(batches: &[RecordBatch]) -> Result<String> {
    use datafusion::arrow::datatypes::DataType;
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let mut w = csv::Writer::from_writer(Vec::new());
    let Some(first) = batches.first() else { return Ok(String::new()) };
    let schema = first.schema();
    w.write_record(schema.fields().iter().map(|f| csv_safe(f.name()).into_owned()))?;
    let options = FormatOptions::default();
    for b in batches {
        let columns = b
            .columns()
            .iter()
            .map(|c| {
                let text = matches!(c.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
                ArrayFormatter::try_new(c.as_ref(), &options).map(|f| (f, text))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..b.num_rows() {
            let record = columns.iter().zip(b.columns()).map(|((f, text), c)| {
                if c.is_null(row) {
                    String::new()
                } else if *text {
                    csv_safe(&f.value(row).to_string()).into_owned()
                } else {
                    f.value(row).to_string()
                }
            });
            w.write_record(record)?;
        }
    }
    Ok(String::from_utf8(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?)
}

/// Query results as a JSON array of objects.
pub(super) fn json(batches: &[RecordBatch]) -> Result<String> {
    let mut w = datafusion::arrow::json::ArrayWriter::new(Vec::new());
    for b in batches {
        w.write(b)?;
    }
    w.finish()?;
    let mut s = String::from_utf8(w.into_inner())?;
    if s.is_empty() {
        s.push_str("[]");
    }
    s.push('\n');
    Ok(s)
}

/// A forecast for people.
pub(super) fn forecast(f: &crate::forecast::Forecast) -> String {
    let mut out = format!("{}\n", f.sentence());
    if let Some(path) = &f.path {
        let mut t = new_table(&["month", "forecast", "80 % low", "80 % high", "95 % low", "95 % high"]);
        for p in path {
            t.add_row(vec![
                p.month.to_string(),
                format!("{:.2}", p.forecast),
                format!("{:.2}", p.interval_80[0]),
                format!("{:.2}", p.interval_80[1]),
                format!("{:.2}", p.interval_95[0]),
                format!("{:.2}", p.interval_95[1]),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    let mut t = new_table(&["model", "MAPE %", "MASE"]);
    for s in &f.backtest {
        t.add_row(vec![s.model.to_string(), format!("{:.2}", s.mape), format!("{:.3}", s.mase)]);
    }
    let _ = writeln!(out, "Backtest over the series' last months\n{t}");
    out
}

/// The forecast benchmark's table.
pub(super) fn backtest(results: &[crate::forecast::backtest::SeriesResult]) -> String {
    let mut t = new_table(&["series", "MASE", "MAPE %", "80 % coverage", "95 % coverage", "methods chosen"]);
    for r in results {
        let mut chosen: Vec<&str> = r.chosen.clone();
        chosen.sort_unstable();
        chosen.dedup();
        t.add_row(vec![
            r.name.clone(),
            format!("{:.3}", r.mase),
            format!("{:.2}", r.mape),
            format!("{:.2}", r.coverage_80),
            format!("{:.2}", r.coverage_95),
            chosen.join(" "),
        ]);
    }
    let (gm, mape, c80, c95) = crate::forecast::backtest::overall(results);
    t.add_row(vec![
        "overall".into(),
        format!("{gm:.3}"),
        format!("{mape:.2}"),
        format!("{c80:.2}"),
        format!("{c95:.2}"),
        "(geometric mean of MASE)".into(),
    ]);
    format!("{t}\n")
}

/// The warehouse's version and import history.
pub(super) fn status(m: &crate::warehouse::store::Manifest, dir: &std::path::Path) -> String {
    let currency = m.currency.as_ref().map_or_else(|| "not recorded".to_string(), |c| c.to_string());
    let mut out = format!(
        "version {} ({}), created {}, time zone {}, currency {currency}\n",
        m.version,
        dir.display(),
        m.created_at,
        m.timezone
    );
    let mut t = new_table(&["import", "finished", "source", "read", "loaded", "rejected", "sha256"]);
    for i in &m.imports {
        let sum =
            |f: fn(&crate::warehouse::store::FileCounts) -> u64| grouped(i.files.values().map(f).sum::<u64>() as i64);
        // the user's own file when it was converted, else the canonical orders.csv
        let sums: Vec<String> = i
            .checksums
            .iter()
            .filter(|(name, _)| i.mapping.is_some() || name.as_str() == "orders.csv")
            .map(|(name, s)| format!("{name} {}", &s[..12.min(s.len())]))
            .collect();
        let source = match &i.mapping {
            Some(mapping) => format!("{} (mapping {mapping})", i.source),
            None => i.source.clone(),
        };
        t.add_row(vec![
            i.id.clone(),
            i.finished_at.clone(),
            source,
            sum(|c| c.read),
            sum(|c| c.loaded),
            sum(|c| c.rejected),
            sums.join(", "),
        ]);
    }
    let _ = writeln!(out, "{t}\nrejects of each import: {}/rejects/<import>.csv", dir.display());
    out
}

/// Cohort retention as a triangle: one row per cohort, retention per month since its first.
pub(super) fn cohorts(c: &crate::customers::Cohorts) -> String {
    let width = c.cohorts.iter().map(|x| x.months.len()).max().unwrap_or(0).min(13);
    let mut header = vec!["cohort".to_string(), "customers".to_string()];
    header.extend((0..width).map(|k| format!("m{k}")));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = new_table(&header);
    for cohort in &c.cohorts {
        let mut row = vec![cohort.cohort.to_string(), grouped(cohort.customers)];
        row.extend(cohort.months.iter().take(width).map(|m| {
            let mark = if m.complete { "" } else { "*" };
            format!("{:.1} %{mark}", m.retention * 100.0)
        }));
        t.add_row(row);
    }
    format!(
        "Cohort retention (share of each cohort active k months after its first; * incomplete month; \
         --json has every month, revenue and cumulative revenue per customer)\n{t}\n"
    )
}

/// RFM segments.
pub(super) fn rfm(r: &crate::customers::Rfm) -> String {
    let mut t =
        new_table(&["segment", "customers", "revenue", "customers %", "revenue %", "recency", "frequency", "monetary"]);
    for s in &r.segments {
        t.add_row(vec![
            s.segment.clone(),
            grouped(s.customers),
            s.revenue.to_string(),
            pct(s.share_of_customers),
            pct(s.share_of_revenue),
            format!("{:.1}", s.mean_recency_days),
            format!("{:.2}", s.mean_frequency),
            s.mean_monetary.to_string(),
        ]);
    }
    let day = r.as_of.map_or_else(|| "-".to_string(), |d| d.to_string());
    format!("RFM segments as of {day} (means per customer)\n{t}\n")
}

/// Every customer's RFM row.
pub(super) fn rfm_customers(rows: &[crate::customers::RfmCustomer]) -> String {
    let mut t = new_table(&["customer", "name", "recency", "frequency", "monetary", "R", "F", "M", "segment"]);
    for c in rows {
        t.add_row(vec![
            c.customer_id.clone(),
            c.customer_name.clone().unwrap_or_default(),
            c.recency_days.to_string(),
            c.frequency.to_string(),
            c.monetary.to_string(),
            c.r_score.to_string(),
            c.f_score.to_string(),
            c.m_score.to_string(),
            c.segment.clone(),
        ]);
    }
    format!("{t}\n")
}

/// The CLV fits and the top customers.
pub(super) fn clv(c: &crate::customers::Clv) -> String {
    let mut out = format!(
        "Calibration end {}: {} customers, {} with repeat purchases\n",
        c.calibration_end.map_or_else(|| "-".to_string(), |d| d.to_string()),
        grouped(c.customers as i64),
        grouped(c.repeaters as i64)
    );
    if let Some(b) = &c.bgnbd {
        let _ = writeln!(
            out,
            "BG/NBD: r = {:.4}, alpha = {:.4}, a = {:.4}, b = {:.4}, log-likelihood {:.1}{}",
            b.r,
            b.alpha,
            b.a,
            b.b,
            b.log_likelihood,
            if b.converged { "" } else { " (did not converge)" }
        );
    }
    if let Some(g) = &c.gamma_gamma {
        let _ = writeln!(
            out,
            "Gamma-Gamma ({} customers): p = {:.4}, q = {:.4}, v = {:.4}, log-likelihood {:.1}{}",
            g.customers,
            g.p,
            g.q,
            g.v,
            g.log_likelihood,
            if g.converged { "" } else { " (did not converge)" }
        );
    }
    if !c.top.is_empty() {
        let mut t = new_table(&["customer", "x", "t_x", "T", "P(alive)", "exp. purchases", "exp. value", "CLV"]);
        for p in &c.top {
            t.add_row(vec![
                p.customer_id.clone(),
                format!("{}", p.x),
                format!("{:.2}", p.t_x),
                format!("{:.2}", p.t),
                format!("{:.3}", p.p_alive),
                format!("{:.2}", p.expected_purchases),
                format!("{:.2}", p.expected_value),
                format!("{:.2}", p.clv),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    out
}

fn signed(c: crate::metrics::Cents) -> String {
    if c.0 >= 0 { format!("+{c}") } else { c.to_string() }
}

/// A revenue bridge: the summary sentence, then each view as a table of drivers.
pub(super) fn explanation(e: &crate::insights::Explanation) -> String {
    let (now, before) = (&e.range, &e.comparison);
    let mut out = format!(
        "{} to {} against {} to {}: revenue {} against {}\n{}\n",
        now.from, now.to, before.from, before.to, now.revenue, before.revenue, e.summary
    );
    let money = |c: Option<crate::metrics::Cents>| c.map_or_else(String::new, |c| c.to_string());
    // (driver, before, after, change)
    let view = |title: &str, rows: Vec<(String, String, String, crate::metrics::Cents)>| {
        let mut t = new_table(&[title, "before", "after", "change"]);
        for (name, was, is, amount) in rows {
            t.add_row(vec![name, was, is, signed(amount)]);
        }
        t.add_row(vec![
            "Total revenue".to_string(),
            before.revenue.to_string(),
            now.revenue.to_string(),
            signed(e.change),
        ]);
        format!("{t}\n")
    };
    let v = &e.views;
    let of = |cs: &[crate::insights::bridge::Component]| {
        cs.iter()
            .map(|c| (c.driver.label().to_string(), money(c.previous_revenue), money(c.revenue), c.amount))
            .collect::<Vec<_>>()
    };
    let volume_value = v
        .volume_value
        .iter()
        .map(|c| {
            let (was, is) = match c.driver {
                Driver::Orders => (grouped(before.orders), grouped(now.orders)),
                Driver::AverageOrderValue => {
                    (before.average_order_value.to_string(), now.average_order_value.to_string())
                }
                _ => (String::new(), String::new()),
            };
            (c.driver.label().to_string(), was, is, c.amount)
        })
        .collect();
    out.push_str(&view("Orders and their value", volume_value));
    out.push_str(&view("Customers", of(&v.customers.components)));
    let categories = v
        .categories
        .iter()
        .map(|c| (c.category.clone(), c.previous_revenue.to_string(), c.revenue.to_string(), c.amount))
        .collect();
    out.push_str(&view("Categories", categories));
    out.push_str(&view("Price and volume", of(&v.price_volume.components)));
    out.push_str(&view("Countries", of(&v.countries)));
    out.push_str(&view("Payment methods (main)", of(&v.methods)));
    let mut t = new_table(&["Gross to net", "amount"]);
    for s in &e.gross_to_net {
        t.add_row(vec![s.step.label().to_string(), s.amount.to_string()]);
    }
    let _ = writeln!(out, "{t}");
    out
}

/// The month-to-date projection and its backtest.
pub(super) fn projection(p: &crate::insights::Projection) -> String {
    let interval = p.interval_80.map_or_else(
        || "no interval (no past month to backtest on)".to_string(),
        |[lo, hi]| format!("80 %: {lo} to {hi}"),
    );
    let mut out = format!(
        "{}: {} so far ({} of {} days, as of {}); projected {} ({interval}); naive {}\n",
        p.month, p.so_far, p.days_elapsed, p.days_in_month, p.as_of, p.projection, p.naive
    );
    let mut t = new_table(&["from day", "months", "MAPE %", "naive MAPE %", "80 % coverage"]);
    for c in &p.backtest {
        t.add_row(vec![
            c.day.to_string(),
            c.months.to_string(),
            format!("{:.2}", c.mape),
            format!("{:.2}", c.naive_mape),
            format!("{:.2}", c.coverage_80),
        ]);
    }
    let _ = writeln!(out, "Backtest on the past months\n{t}");
    out
}

/// The alerts as a table.
pub(super) fn alerts(a: &crate::insights::Alerts) -> String {
    let Some(month) = a.month else { return "no complete month to check\n".to_string() };
    let mut out = format!(
        "{month}: {} alert(s); {} segment(s) checked, {} skipped (too little history or revenue)\n",
        a.alerts.len(),
        a.checked,
        a.skipped
    );
    if !a.alerts.is_empty() {
        let mut t = new_table(&["segment", "actual", "expected", "95 % interval", "gap"]);
        for x in &a.alerts {
            t.add_row(vec![
                format!("{} {}", x.kind, x.segment),
                format!("{:.2}", x.actual),
                format!("{:.2}", x.expected),
                format!("{:.2} to {:.2}", x.interval_95[0], x.interval_95[1]),
                pct(x.gap),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    out
}

/// Product performance: the first `top` items.
pub(super) fn products(p: &crate::products::Performance, top: usize) -> String {
    let opt_pct = |x: Option<f64>| x.map_or_else(|| "–".to_string(), pct);
    let mut t = new_table(&[
        p.level.as_str(),
        "net sales",
        "units",
        "orders",
        "avg price",
        "share",
        "returned",
        "return rate",
        "value returned",
        "first-time",
        "change",
        "trend",
    ]);
    for r in p.items.iter().take(top) {
        let trend = r.trend.as_ref().map_or("–".to_string(), |t| format!("{:?}", t.direction).to_lowercase());
        t.add_row(vec![
            r.name.clone(),
            r.net_sales.to_string(),
            grouped(r.units),
            grouped(r.orders),
            r.average_price.map_or_else(|| "–".to_string(), |c| c.to_string()),
            opt_pct(r.share),
            grouped(r.returned_units),
            opt_pct(r.return_rate),
            opt_pct(r.value_return_rate),
            opt_pct(r.first_time_share),
            opt_pct(r.change),
            trend,
        ]);
    }
    let range = match (p.from, p.to) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        _ => "no orders".into(),
    };
    let vs = match (&p.comparison, &p.no_comparison) {
        (Some(c), _) => format!("against {} to {}", c.from, c.to),
        (None, Some(why)) => format!("no comparison: {why}"),
        (None, None) => "no comparison".into(),
    };
    let left_out = match p.first_time_left_out {
        true => "first-time shares left out: --memory-limit cannot hold every customer's first day\n",
        false => "",
    };
    format!(
        "Products by {} ({range}, {vs}; the first {} of {}; --format csv has all)\n{t}\n{left_out}",
        p.level,
        top.min(p.items.len()),
        p.items.len()
    )
}

/// Items bought together.
pub(super) fn pairs(p: &crate::products::Pairs) -> String {
    let mut t =
        new_table(&["bought", "also bought", "orders", "support", "confidence", "lift", "leverage", "conviction"]);
    for r in &p.rules {
        t.add_row(vec![
            r.antecedent_name.clone(),
            r.consequent_name.clone(),
            grouped(r.orders),
            format!("{:.4}", r.support),
            pct(r.confidence),
            format!("{:.2}", r.lift),
            format!("{:.5}", r.leverage),
            r.conviction.map_or_else(|| "∞".to_string(), |c| format!("{c:.2}")),
        ]);
    }
    format!(
        "Bought together ({} orders; {} pairs with at least {} orders and support {}; by lift)\n{t}\n",
        grouped(p.orders),
        grouped(p.pairs as i64),
        grouped(p.min_orders),
        p.min_support
    )
}

/// The product journey.
pub(super) fn journey(j: &crate::products::Journey) -> String {
    let mut t = new_table(&["first purchase", "customers", "came back", "repeat rate", "year net / customer", "next"]);
    for r in std::iter::once(&j.all).chain(&j.items) {
        let next: Vec<String> = r.next.iter().take(3).map(|n| format!("{} ({})", n.name, pct(n.share))).collect();
        t.add_row(vec![
            r.name.clone(),
            grouped(r.customers),
            grouped(r.came_back),
            pct(r.repeat_rate),
            r.year_net_sales_per_customer.map_or_else(|| "–".to_string(), |c| c.to_string()),
            next.join(", "),
        ]);
    }
    format!("Product journey by {} of the first purchase day\n{t}\n", j.level)
}

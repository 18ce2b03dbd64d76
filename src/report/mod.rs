//! Report: one self-contained HTML file with the dashboard's sections as inline SVG charts and
//! tables, to e-mail or open offline. It formats the KPI engine's results; it computes nothing.

use crate::forecast::Forecast;
use crate::metrics::{Cents, Kpis};
use crate::model::Filter;
use std::fmt::Write;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn money(c: Cents) -> String {
    c.to_string()
}

use crate::metrics::grouped as count;

/// A line chart of monthly revenue, with the forecast point and its 80 % / 95 % bands.
fn trend_svg(k: &Kpis, fc: Option<&Forecast>) -> String {
    let (w, h, left, bottom, top) = (900.0, 300.0, 70.0, 40.0, 16.0);
    let mut points: Vec<(String, f64)> =
        k.monthly.iter().map(|m| (m.month.to_string(), m.revenue.0 as f64 / 100.0)).collect();
    let series_len = points.len();
    if let Some(f) = fc {
        points.push((f.month.to_string(), f.forecast));
    }
    if points.is_empty() {
        return "<p>No revenue in this selection.</p>".into();
    }
    let max = points.iter().map(|p| p.1).chain(fc.map(|f| f.interval_95[1])).fold(1.0_f64, f64::max) * 1.05;
    let n = points.len().max(2) as f64 - 1.0;
    let x = |i: usize| left + (w - left - 10.0) * i as f64 / n;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / max);
    let mut s = format!(r#"<svg viewBox="0 0 {w} {h}" role="img" aria-label="Monthly revenue" class="chart">"#);
    for i in 0..=4 {
        let v = max * i as f64 / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e4e7ec"/><text x="{}" y="{:.1}" text-anchor="end" font-size="11">{}</text>"##,
            w - 10.0,
            left - 6.0,
            y(v) + 4.0,
            count(v.round() as i64),
            y = y(v)
        );
    }
    let step = (points.len() / 12).max(1);
    for (i, (label, _)) in points.iter().enumerate().step_by(step) {
        let _ =
            write!(s, r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="11">{label}</text>"#, x(i), h - 12.0);
    }
    if let (Some(f), true) = (fc, series_len > 0) {
        let (a, b) = (x(series_len - 1), x(series_len));
        let last = points[series_len - 1].1;
        for (band, alpha) in [(f.interval_95, 0.12), (f.interval_80, 0.25)] {
            let _ = write!(
                s,
                r##"<polygon points="{a:.1},{:.1} {b:.1},{:.1} {b:.1},{:.1}" fill="#3b5bdb" fill-opacity="{alpha}"><title>{}: {} to {}</title></polygon>"##,
                y(last),
                y(band[1]),
                y(band[0]),
                if alpha < 0.2 { "95 %" } else { "80 %" },
                band[0],
                band[1]
            );
        }
        let _ = write!(
            s,
            r##"<line x1="{a:.1}" y1="{:.1}" x2="{b:.1}" y2="{:.1}" stroke="#3b5bdb" stroke-dasharray="6 4" stroke-width="2"/><circle cx="{b:.1}" cy="{:.1}" r="4" fill="#fff" stroke="#3b5bdb"><title>forecast {}: {:.2}</title></circle>"##,
            y(last),
            y(f.forecast),
            y(f.forecast),
            f.month,
            f.forecast
        );
    }
    let path: Vec<String> =
        points[..series_len].iter().enumerate().map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.1))).collect();
    let _ = write!(s, r##"<polyline points="{}" fill="none" stroke="#3b5bdb" stroke-width="2"/>"##, path.join(" "));
    for (i, (label, v)) in points[..series_len].iter().enumerate() {
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="#3b5bdb"><title>{label}: {v:.2}</title></circle>"##,
            x(i),
            y(*v)
        );
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars with labels and values.
fn bars_svg(title: &str, rows: &[(String, f64, String)]) -> String {
    let (w, row_h, label_w) = (900.0, 24.0, 180.0);
    let h = row_h * rows.len() as f64 + 8.0;
    let max = rows.iter().map(|r| r.1).fold(0.0_f64, f64::max).max(1e-9);
    let mut s = format!(r#"<svg viewBox="0 0 {w} {h}" role="img" aria-label="{}" class="chart">"#, esc(title));
    for (i, (label, v, text)) in rows.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let bw = (w - label_w - 200.0) * v / max;
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="12">{}</text><rect x="{label_w}" y="{y:.1}" width="{bw:.1}" height="{:.1}" fill="#4c6ef5"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" font-size="12">{}</text>"##,
            label_w - 8.0,
            y + row_h * 0.65,
            esc(label),
            row_h - 6.0,
            esc(label),
            esc(text),
            label_w + bw + 6.0,
            y + row_h * 0.65,
            esc(text)
        );
    }
    s.push_str("</svg>");
    s
}

fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in header {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{}</td>", esc(&c));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

fn describe(f: &Filter) -> String {
    let mut parts = Vec::new();
    match (f.from(), f.to()) {
        (None, None) => parts.push("all dates".to_string()),
        (a, b) => parts.push(format!(
            "{} to {}",
            a.map_or("the start".into(), |d| d.to_string()),
            b.map_or("the end".into(), |d| d.to_string())
        )),
    }
    for (name, v) in [("category", f.category()), ("country", f.country()), ("payment method", f.method())] {
        if let Some(v) = v {
            parts.push(format!("{name} {v}"));
        }
    }
    parts.join(", ")
}

/// The whole report as one HTML document.
pub fn render(k: &Kpis, fc: Option<&Forecast>, filter: &Filter, generated: &str) -> String {
    let s = &k.summary;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>shoplens report</title><style>
body{{font:14px/1.45 system-ui,sans-serif;color:#1d2433;max-width:960px;margin:24px auto;padding:0 16px}}h1{{color:#3b5bdb;margin-bottom:0}}
.meta{{color:#667085}}.cards{{display:grid;grid-template-columns:repeat(5,1fr);gap:10px;margin:18px 0}}.card{{border:1px solid #e4e7ec;border-radius:8px;padding:10px}}
.card b{{display:block;font-size:20px}}.card span{{color:#667085;font-size:12px;text-transform:uppercase}}svg.chart{{width:100%;height:auto}}
table{{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}}td,th{{padding:5px 8px;border-bottom:1px solid #e4e7ec;text-align:right}}td:first-child,th:first-child{{text-align:left}}
@media(max-width:700px){{.cards{{grid-template-columns:repeat(2,1fr)}}}}</style></head><body>
<h1>shoplens report</h1><p class="meta">Selection: {}. Generated {}.</p><div class="cards">"#,
        esc(&describe(filter)),
        esc(generated)
    );
    for (label, value) in [
        ("Total revenue", money(s.total_revenue)),
        ("Orders", count(s.orders)),
        ("Average order value", money(s.average_order_value)),
        ("Customers", count(s.customers)),
        ("Repeat customers", pct(k.order_frequency.repeat_customer_rate)),
    ] {
        let _ = write!(out, "<div class=\"card\"><span>{label}</span><b>{}</b></div>", esc(&value));
    }
    out.push_str("</div><h2>Monthly revenue</h2>");
    out.push_str(&trend_svg(k, fc));
    if let Some(f) = fc {
        let _ = write!(out, "<p>{}</p>", esc(&f.sentence()));
    }
    out.push_str("<h2>Revenue by category</h2>");
    let cats: Vec<(String, f64, String)> = k
        .categories
        .iter()
        .map(|c| (c.category.clone(), c.revenue.0 as f64, format!("{} ({})", money(c.revenue), pct(c.share))))
        .collect();
    out.push_str(&bars_svg("Revenue by category", &cats));
    out.push_str("<h2>Payment methods</h2>");
    let methods: Vec<(String, f64, String)> = k
        .payment_methods
        .iter()
        .map(|m| (m.method.clone(), m.amount.0 as f64, format!("{} ({})", money(m.amount), pct(m.share))))
        .collect();
    out.push_str(&bars_svg("Payment methods", &methods));
    let _ = write!(
        out,
        "<h2>Order frequency</h2><p>Repeat-customer rate {}.</p>",
        pct(k.order_frequency.repeat_customer_rate)
    );
    let freq: Vec<(String, f64, String)> = k
        .order_frequency
        .buckets
        .iter()
        .map(|b| {
            (format!("{} orders", b.orders), b.customers as f64, format!("{} ({})", count(b.customers), pct(b.share)))
        })
        .collect();
    out.push_str(&bars_svg("Order frequency", &freq));
    out.push_str("<h2>Top products</h2>");
    out.push_str(&table(
        &["Product", "Category", "Revenue", "Units", "Share", "Cumulative"],
        k.top_products
            .iter()
            .map(|p| {
                vec![
                    p.product_name.clone().map_or(p.product_id.clone(), |n| format!("{n} ({})", p.product_id)),
                    p.category.clone(),
                    money(p.revenue),
                    count(p.units),
                    pct(p.share),
                    pct(p.cumulative_share),
                ]
            })
            .collect(),
    ));
    out.push_str("<h2>Top customers</h2>");
    out.push_str(&table(
        &["Customer", "Orders", "Revenue", "Avg order", "First order", "Last order"],
        k.top_customers
            .iter()
            .map(|c| {
                vec![
                    c.customer_name.clone().map_or(c.customer_id.clone(), |n| format!("{n} ({})", c.customer_id)),
                    count(c.orders),
                    money(c.revenue),
                    money(c.average_order_value),
                    c.first_order_date.to_string(),
                    c.last_order_date.to_string(),
                ]
            })
            .collect(),
    ));
    out.push_str("<h2>Monthly figures</h2>");
    out.push_str(&table(
        &["Month", "Revenue", "Orders", "Customers", "Avg order", "Growth"],
        k.monthly
            .iter()
            .map(|m| {
                vec![
                    m.month.to_string(),
                    money(m.revenue),
                    count(m.orders),
                    count(m.customers),
                    money(m.average_order_value),
                    m.growth.map_or("–".into(), pct),
                ]
            })
            .collect(),
    ));
    out.push_str("</body></html>\n");
    out
}

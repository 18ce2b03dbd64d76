//! A digest or an alert as the messages that carry it: an e-mail's plain-text and HTML parts
//! (tables and inline styles only, no script, which common mail clients render alike), and the
//! webhook bodies for Slack, Microsoft Teams and shoplens's own JSON. Charts are left out: the
//! figures are in the text, and an image would say the same less exactly.

use super::digest::DigestContent;
use crate::insights::alerts::Alert;
use crate::metrics::results::{Books, Cents};
use serde_json::{Value, json};
use std::fmt::Write;

/// A message ready to send: its subject and each form of its body.
#[derive(Clone, Debug)]
pub struct Message {
    /// The e-mail's subject and the webhook message's title.
    pub subject: String,
    /// Plain text.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// shoplens's own JSON body.
    pub json: Value,
}

fn money(c: Cents, currency: Option<&str>) -> String {
    match currency {
        Some(code) => format!("{code} {c}"),
        None => c.to_string(),
    }
}

fn percent(change: Option<f64>) -> String {
    match change {
        Some(x) => format!("{:+.1} %", x * 100.0),
        None => "n/a".into(),
    }
}

fn points(change: Option<f64>) -> String {
    match change {
        Some(x) => format!("{:+.1} pt", x * 100.0),
        None => "n/a".into(),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The rows of a digest's KPI table: the figure, its value, the comparison's, the change.
fn kpi_rows(d: &DigestContent) -> Vec<[String; 4]> {
    let Some(c) = &d.comparison else { return Vec::new() };
    let cur = d.currency.as_deref();
    let (a, b) = (&c.range.summary, &c.comparison.summary);
    vec![
        ["Revenue".into(), money(a.total_revenue, cur), money(b.total_revenue, cur), percent(c.change.total_revenue)],
        ["Orders".into(), a.orders.to_string(), b.orders.to_string(), percent(c.change.orders)],
        [
            "Average order".into(),
            money(a.average_order_value, cur),
            money(b.average_order_value, cur),
            percent(c.change.average_order_value),
        ],
        ["Customers".into(), a.customers.to_string(), b.customers.to_string(), percent(c.change.customers)],
        [
            "Repeat-customer rate".into(),
            format!("{:.1} %", c.range.repeat_customer_rate * 100.0),
            format!("{:.1} %", c.comparison.repeat_customer_rate * 100.0),
            points(c.change.repeat_customer_rate),
        ],
    ]
    .into_iter()
    .chain(book_rows(&c.range.books, &c.comparison.books, cur))
    .collect()
}

/// The books' rows of a digest (kpis.md, "the books"), for a shop that has them: its returns,
/// shipping, taxes and total sales beside the revenue (its net sales). None for a shop whose
/// export has no refunds, shipping, tax or duties, whose digest stays as it was.
fn book_rows(a: &Books, b: &Books, cur: Option<&str>) -> Vec<[String; 4]> {
    let any =
        |k: &Books| k.returns.0 != 0 || [k.shipping, k.taxes, k.duties].iter().any(|v| v.is_some_and(|c| c.0 != 0));
    if !any(a) && !any(b) {
        return Vec::new();
    }
    let shown = |v: Option<Cents>| v.map_or_else(|| "n/a".to_string(), |c| money(c, cur));
    let change = |x: Option<Cents>, y: Option<Cents>| match (x, y) {
        (Some(x), Some(y)) if y.0 != 0 => percent(Some(x.0 as f64 / y.0 as f64 - 1.0)),
        _ => "n/a".into(),
    };
    [
        ("Returns", Some(a.returns), Some(b.returns)),
        ("Shipping", a.shipping, b.shipping),
        ("Taxes", a.taxes, b.taxes),
        ("Total sales", a.total_sales, b.total_sales),
    ]
    .into_iter()
    .map(|(name, x, y)| [name.to_string(), shown(x), shown(y), change(x, y)])
    .collect()
}

fn alert_line(a: &Alert, currency: Option<&str>) -> String {
    let what = if a.kind == "shop" { "the shop".to_string() } else { format!("{} {}", a.kind, a.segment) };
    let money = |x: f64| money(Cents((x * 100.0).round() as i128), currency);
    format!(
        "{what}: {} revenue {} against {} expected ({:+.1} %; 95 % interval {} to {})",
        a.month,
        money(a.actual),
        money(a.expected),
        a.gap * 100.0,
        money(a.interval_95[0]),
        money(a.interval_95[1])
    )
}

fn period_words(d: &DigestContent) -> String {
    if d.from == d.to { d.from.to_string() } else { format!("{} to {}", d.from, d.to) }
}

/// The digest's subject, text, HTML and JSON.
pub fn digest(d: &DigestContent) -> Message {
    let cur = d.currency.as_deref();
    let late = if d.late { " (sent late)" } else { "" };
    let subject = format!("shoplens {} digest: {} ({}){late}", d.name, period_words(d), d.selection);
    let mut lines: Vec<String> = Vec::new();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;color:#1f2933;background:#ffffff\">\
         <h1 style=\"font-size:20px;margin:0 0 4px\">{} digest</h1>\
         <p style=\"margin:0 0 16px;color:#52606d\">{} &middot; {}{}</p>",
        esc(&subject),
        esc(&d.name),
        esc(&period_words(d)),
        esc(&d.selection),
        if d.late { " &middot; <strong>sent late</strong>: the server was down when it was due" } else { "" }
    );
    lines.push(subject.clone());
    lines.push(String::new());
    match &d.comparison {
        None => {
            lines.push("No orders in the period or the one it is compared with.".into());
            html.push_str("<p>No orders in the period or the one it is compared with.</p>");
        }
        Some(c) => {
            let vs = format!("{} to {}", c.comparison.from, c.comparison.to);
            lines.push(format!("Against {vs}:"));
            html.push_str(
                "<table role=\"presentation\" cellpadding=\"6\" cellspacing=\"0\" \
                 style=\"border-collapse:collapse;margin:0 0 16px;font-size:14px\">",
            );
            let _ = write!(
                html,
                "<tr style=\"background:#f0f4f8;text-align:left\"><th>Figure</th><th style=\"text-align:right\">{}</th>\
                 <th style=\"text-align:right\">{}</th><th style=\"text-align:right\">Change</th></tr>",
                esc(&period_words(d)),
                esc(&vs)
            );
            for [name, now, before, change] in kpi_rows(d) {
                lines.push(format!("  {name}: {now} (was {before}, {change})"));
                let _ = write!(
                    html,
                    "<tr style=\"border-top:1px solid #d9e2ec\"><td>{}</td><td style=\"text-align:right\">{}</td>\
                     <td style=\"text-align:right;color:#52606d\">{}</td><td style=\"text-align:right\">{}</td></tr>",
                    esc(&name),
                    esc(&now),
                    esc(&before),
                    esc(&change)
                );
            }
            html.push_str("</table>");
        }
    }
    if let Some(words) = &d.drivers {
        lines.push(String::new());
        lines.push(format!("Why: {words}"));
        let _ = write!(
            html,
            "<h2 style=\"font-size:16px;margin:16px 0 4px\">Why</h2><p style=\"margin:0\">{}</p>",
            esc(words)
        );
    }
    if !d.movers.is_empty() {
        lines.push(String::new());
        lines.push("Top movers:".into());
        html.push_str(
            "<h2 style=\"font-size:16px;margin:16px 0 4px\">Top movers</h2><ul style=\"margin:0;padding-left:20px\">",
        );
        for m in &d.movers {
            let revenue = m.revenue.map(|r| format!(", revenue {}", money(r, cur))).unwrap_or_default();
            let sign = if m.change.0 >= 0 { "+" } else { "" };
            let line = format!("{} {}: {sign}{}{revenue}", m.kind, m.name, money(m.change, cur));
            lines.push(format!("  {line}"));
            let _ = write!(html, "<li>{}</li>", esc(&line));
        }
        html.push_str("</ul>");
    }
    if !d.products.is_empty() {
        lines.push(String::new());
        lines.push("Products rising and falling beyond chance:".into());
        html.push_str(
            "<h2 style=\"font-size:16px;margin:16px 0 4px\">Products rising and falling</h2><ul style=\"margin:0;padding-left:20px\">",
        );
        for p in &d.products {
            let line = format!(
                "{} {}: {} orders against {:.1} expected, net sales {}",
                p.direction,
                p.name,
                p.orders,
                p.expected_orders,
                money(p.net_sales, cur)
            );
            lines.push(format!("  {line}"));
            let _ = write!(html, "<li>{}</li>", esc(&line));
        }
        html.push_str("</ul>");
    }
    if let Some(p) = &d.projection {
        let interval = p
            .interval_80
            .map(|[lo, hi]| format!(" (80 % interval {} to {})", money(lo, cur), money(hi, cur)))
            .unwrap_or_default();
        let line = format!(
            "{} is projected to end at {}{interval}, {} of its {} days in.",
            p.month,
            money(p.projection, cur),
            p.days_elapsed,
            p.days_in_month
        );
        lines.push(String::new());
        lines.push(format!("Month to date: {line}"));
        let _ = write!(
            html,
            "<h2 style=\"font-size:16px;margin:16px 0 4px\">Month to date</h2><p style=\"margin:0\">{}</p>",
            esc(&line)
        );
    }
    if !d.alerts.is_empty() {
        lines.push(String::new());
        lines.push("Alerts:".into());
        html.push_str(
            "<h2 style=\"font-size:16px;margin:16px 0 4px\">Alerts</h2><ul style=\"margin:0;padding-left:20px\">",
        );
        for a in &d.alerts {
            let line = alert_line(a, cur);
            lines.push(format!("  {line}"));
            let _ = write!(html, "<li>{}</li>", esc(&line));
        }
        html.push_str("</ul>");
    }
    html.push_str(
        "<p style=\"margin:24px 0 0;font-size:12px;color:#7b8794\">Sent by shoplens. The figures follow the \
         dashboard's definitions.</p></body></html>",
    );
    let mut text = lines.join("\n");
    text.push('\n');
    let json = json!({"type": "digest", "subject": subject, "digest": d});
    Message { subject, text, html, json }
}

/// One new alert's message.
pub fn alert(a: &Alert, currency: Option<&str>) -> Message {
    let line = alert_line(a, currency);
    let subject = format!("shoplens alert: {} {} outside its forecast", a.kind, a.segment);
    let text = format!("{subject}\n\n{line}\n");
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{s}</title></head>\
         <body style=\"font-family:Arial,Helvetica,sans-serif;color:#1f2933\"><h1 style=\"font-size:18px\">{s}</h1>\
         <p>{l}</p></body></html>",
        s = esc(&subject),
        l = esc(&line)
    );
    let json = json!({"type": "alert", "subject": subject, "alert": a});
    Message { subject, text, html, json }
}

/// Text for Slack's `mrkdwn` (and the `text` fallback, which Slack reads the same way): `&`, `<`
/// and `>` escaped as Slack requires, so a category or country named
/// `<!channel> <https://evil.example|Verify>` is shown, not obeyed; and no run of backticks, so a
/// name cannot close the code block it is shown in. Shop data is often named by outsiders
/// (marketplace sellers, customers).
pub fn slack_escape(s: &str) -> String {
    // U+02CB looks like a backtick and is not one
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('`', "\u{2cb}")
}

/// Slack's incoming-webhook body: a `text` fallback and the message as `mrkdwn` blocks, every
/// piece of shop data escaped ([`slack_escape`]).
pub fn slack(m: &Message) -> Value {
    let body = m.text.lines().skip(2).collect::<Vec<_>>().join("\n");
    json!({
        "text": slack_escape(&m.subject),
        "blocks": [
            // plain text: Slack reads no markup in it
            {"type": "header", "text": {"type": "plain_text", "text": truncate(&m.subject, 150)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("```{}```", truncate_escaped(&body, 2990))}}
        ]
    })
}

/// Escapes `s` for Slack and keeps at most `max` characters of the result without cutting an
/// escape in two.
fn truncate_escaped(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let piece = slack_escape(c.encode_utf8(&mut [0; 4]));
        let n = piece.chars().count();
        if used + n > max.saturating_sub(1) {
            out.push('…');
            return out;
        }
        used += n;
        out.push_str(&piece);
    }
    out
}

/// Text Teams shows as it is: HTML's special characters escaped, and Markdown's with a
/// backslash (a card's title is read as Markdown).
pub fn teams_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '!' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Microsoft Teams' incoming-webhook body: a message card whose shop data is plain text (its
/// section's Markdown off, every piece escaped: [`teams_escape`]).
pub fn teams(m: &Message) -> Value {
    let body = m.text.lines().skip(2).map(teams_escape).collect::<Vec<_>>().join("<br>");
    json!({
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": m.subject,
        "title": teams_escape(&m.subject),
        "sections": [{"markdown": false, "text": body}],
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { s.chars().take(max - 1).collect::<String>() + "…" }
}

#[cfg(test)]
mod book_tests {
    use super::*;

    #[test]
    fn a_digest_shows_the_books_only_for_a_shop_that_has_them() {
        let plain = Books { gross_sales: Cents(10_000), net_sales: Cents(10_000), ..Default::default() };
        assert!(book_rows(&plain, &plain, None).is_empty());
        let now = Books {
            returns: Cents(1_500),
            shipping: Some(Cents(490)),
            taxes: Some(Cents(1_900)),
            duties: Some(Cents(0)),
            total_sales: Some(Cents(10_890)),
            ..plain.clone()
        };
        let rows = book_rows(&now, &plain, None);
        assert_eq!(
            rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
            ["Returns", "Shipping", "Taxes", "Total sales"]
        );
        assert_eq!(rows[0][3], "n/a", "no returns before: no ratio");
        // under a category filter an order's shipping is not the category's
        let category = Books { shipping: None, ..now };
        assert_eq!(book_rows(&category, &plain, None)[1][1], "n/a");
    }
}

//! Report: the dashboard page itself as one self-contained HTML file — its stylesheet, Chart.js
//! and `app.js` inlined, and the API's answers for one selection embedded as data — to e-mail or
//! open offline. Every panel is drawn by the same code as on the served dashboard; this module
//! only gathers the core's results and inlines the assets. It computes no figure of its own.

use crate::customers::{self, Clv, ClvOptions, Cohorts, Returning, Rfm};
use crate::forecast::{Forecast, revenue_series};
use crate::metrics::compare::{Comparison, Versus};
use crate::metrics::{self, Dimensions, Kpis, MetricsError};
use crate::model::Filter;
use crate::warehouse::Warehouse;
use serde::Serialize;

/// What the page shows for one selection: the answers its API calls would get.
#[derive(Clone, Debug, Serialize)]
pub struct ReportData {
    /// `/api/dimensions`.
    pub dimensions: Dimensions,
    /// `/api/kpis`.
    pub kpis: Kpis,
    /// `/api/kpis/compare` with the report's comparison, when there are orders.
    pub compare: Option<Comparison>,
    /// `/api/forecast?horizon=2`, when the series is long enough.
    pub forecast: Option<Forecast>,
    /// `/api/customers/cohorts`.
    pub cohorts: Cohorts,
    /// `/api/customers/returning`.
    pub returning: Returning,
    /// `/api/customers/rfm` (as of the selection's last day).
    pub rfm: Rfm,
    /// `/api/customers/clv`.
    pub clv: Clv,
    /// `/api/explain` with the report's comparison, when there are orders.
    pub explain: Option<crate::insights::Explanation>,
    /// `/api/projection` (the selection's category, country and method).
    pub projection: Option<crate::insights::Projection>,
    /// `/api/alerts`.
    pub alerts: crate::insights::Alerts,
}

/// Computes everything the page shows for `filter`, as the API would.
///
/// # Errors
/// A query fails.
pub async fn gather(wh: &Warehouse, filter: &Filter, vs: Versus) -> Result<ReportData, MetricsError> {
    let kpis = metrics::compute(wh, filter).await?;
    let (monthly, last) = metrics::monthly(wh, filter).await?;
    // two months: the page shows the second when the first is the month in progress
    let forecast = revenue_series(&monthly, last).and_then(|s| crate::forecast::forecast(&s, 2).ok());
    let undated = filter.with_range(None, None);
    Ok(ReportData {
        dimensions: metrics::dimensions(wh).await?,
        compare: metrics::compare::period_comparison(wh, filter, vs).await?,
        kpis,
        forecast,
        cohorts: customers::cohorts(wh, filter).await?,
        returning: customers::returning(wh, filter).await?,
        rfm: customers::rfm(wh, &undated, filter.to()).await?,
        clv: customers::clv(wh, &undated, &ClvOptions { top: filter.top(), ..Default::default() }).await?,
        explain: crate::insights::explain(wh, filter, vs).await?,
        projection: crate::insights::projection(wh, &undated, None).await?,
        alerts: crate::insights::alerts(wh).await?,
    })
}

const PAGE: &str = include_str!("../serve/assets/index.html");
const STYLE: &str = include_str!("../serve/assets/style.css");
const CHART_JS: &str = include_str!("../serve/assets/vendor/chart.js/chart.umd.min.js");
const APP_JS: &str = include_str!("../serve/assets/app.js");

/// Code safe inside a `<script>` element: no `</script` can end it early (in the JavaScript
/// strings where it could occur, `<\/` means the same).
fn script_safe(s: &str) -> String {
    s.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
}

/// JSON safe inside a `<script>` element: every `<` escaped, which JSON and JavaScript both read
/// back as `<`.
fn json_safe(s: &str) -> String {
    s.replace('<', "\\u003c")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The selection in words, for the report's heading.
pub fn describe(f: &Filter) -> String {
    let mut parts = Vec::new();
    match (f.from(), f.to()) {
        (Some(a), Some(b)) => parts.push(format!("{a} to {b}")),
        (Some(a), None) => parts.push(format!("from {a}")),
        (None, Some(b)) => parts.push(format!("up to {b}")),
        (None, None) => parts.push("all dates".into()),
    }
    for (name, v) in [("category", f.category()), ("country", f.country()), ("payment method", f.method())] {
        if let Some(v) = v {
            parts.push(format!("{name} {v}"));
        }
    }
    parts.join(", ")
}

/// The page with its assets inlined and `data` embedded; money shown in `currency`.
pub fn render(data: &ReportData, filter: &Filter, vs: &Versus, generated: &str, currency: &str) -> String {
    let selection = serde_json::json!({
        "from": filter.from().map(|d| d.to_string()).unwrap_or_default(),
        "to": filter.to().map(|d| d.to_string()).unwrap_or_default(),
        "category": filter.category().unwrap_or_default(),
        "country": filter.country().unwrap_or_default(),
        "method": filter.method().unwrap_or_default(),
    });
    let embedded = serde_json::json!({ "filter": selection, "vs": vs.to_string(), "data": data }).to_string();
    let meta = format!(
        "<p id=\"report-meta\">Report: {}. Generated {}. The figures are fixed; the filters show the selection.</p>",
        esc(&describe(filter)),
        esc(generated)
    );
    PAGE.replace("{{CURRENCY}}", &esc(currency))
        .replace("<title>shoplens</title>", "<title>shoplens report</title>")
        .replace(
            r#"<link rel="stylesheet" href="/assets/style.css">"#,
            &format!("<style>\n{}\n</style>", STYLE.replace("</", "<\\/")),
        )
        .replace(
            r#"<div id="error" role="alert" hidden></div>"#,
            &format!("{meta}\n<div id=\"error\" role=\"alert\" hidden></div>"),
        )
        .replace(
            r#"<script src="/assets/vendor/chart.js/chart.umd.min.js"></script>"#,
            &format!(
                "<script>window.SHOPLENS_REPORT = {};</script>\n<script>\n{}\n</script>",
                json_safe(&embedded),
                script_safe(CHART_JS)
            ),
        )
        .replace(r#"<script src="/assets/app.js"></script>"#, &format!("<script>\n{}\n</script>", script_safe(APP_JS)))
        .replace(r#"<a href="/assets/vendor/chart.js/LICENSE.md">Chart.js</a>"#, "Chart.js")
        .replace(r#"API: <a href="/api/openapi.json">OpenAPI</a>."#, "Made by shoplens report.")
}

#[cfg(test)]
mod tests {
    #[test]
    fn script_text_cannot_close_its_element() {
        let s = super::json_safe(r#"{"name": "</script><script>alert(1)</script>", "c": "<!--"}"#);
        assert!(!s.contains('<'), "{s}");
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["name"], "</script><script>alert(1)</script>");
        assert!(!super::script_safe("x = '</script>'").contains("</script"));
    }
}

//! Report: the dashboard page itself as one self-contained HTML file — its stylesheet, Chart.js
//! and its ES modules inlined, and the API's answers for one selection embedded as data — to
//! e-mail or open offline. Every panel is drawn by the same code as on the served dashboard; this
//! module only gathers the core's results and inlines the assets. It computes no figure of its own.
//!
//! The embedded data: `window.SHOPLENS_REPORT = {"filter": {...}, "vs": "...", "answers":
//! {"<canonical url>": <json or null>}}`, each URL as the page builds it (`answer_urls`).

use crate::customers::{self, Clv, ClvOptions, Cohorts, Returning, Rfm};
use crate::forecast::{Forecast, revenue_series};
use crate::metrics::MonthRow;
use crate::metrics::compare::{Comparison, Versus};
use crate::metrics::{self, Dimensions, Kpis, MetricsError};
use crate::model::Filter;
use crate::serve::page::{self, MODULES};
use crate::warehouse::Warehouse;
use base64::Engine as _;
use chrono::{Datelike, NaiveDate};
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
    /// `/api/kpis/compare?vs=previous_year`, when there are orders.
    pub compare_previous_year: Option<Comparison>,
    /// `/api/kpis/monthly` for the range a year earlier, when the selection has a range.
    pub monthly_previous_year: Option<Vec<MonthRow>>,
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
    let compare = metrics::compare::period_comparison(wh, filter, vs).await?;
    let compare_previous_year = match vs {
        Versus::PreviousYear => compare.clone(),
        _ => metrics::compare::period_comparison(wh, filter, Versus::PreviousYear).await?,
    };
    let monthly_previous_year = match year_before(filter) {
        Some(earlier) => Some(metrics::monthly(wh, &earlier).await?.0),
        None => None,
    };
    Ok(ReportData {
        dimensions: metrics::dimensions(wh).await?,
        compare,
        compare_previous_year,
        monthly_previous_year,
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

/// The same days a year earlier (29 February becomes the 28th), as the page shifts them.
fn shift_year(d: NaiveDate) -> NaiveDate {
    d.with_year(d.year() - 1)
        .or_else(|| NaiveDate::from_ymd_opt(d.year() - 1, 2, 28))
        .expect("a day a year earlier exists")
}

/// The selection's range a year earlier, when it has a range: the previous-year overlay.
fn year_before(filter: &Filter) -> Option<Filter> {
    (filter.from().is_some() || filter.to().is_some())
        .then(|| filter.with_range(filter.from().map(shift_year), filter.to().map(shift_year)))
}

/// Each `ReportData` field with the canonical URL the page requests it by, for the report's
/// selection (`filter` compared with `vs`): the answers a report embeds.
pub fn answer_urls(filter: &Filter, vs: &Versus) -> Vec<(&'static str, String)> {
    let day = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let selection = |f: &Filter| {
        vec![
            ("from", day(f.from())),
            ("to", day(f.to())),
            ("category", f.category().unwrap_or_default().to_string()),
            ("country", f.country().unwrap_or_default().to_string()),
            ("method", f.method().unwrap_or_default().to_string()),
        ]
    };
    let url = |name: &str, f: &Filter, extra: &[(&'static str, String)]| {
        let values = [selection(f), extra.to_vec()].concat();
        page::canonical_url(name, &values).unwrap_or_else(|| panic!("the catalog has no {name}"))
    };
    let vs = || [("vs", vs.to_string())];
    let mut urls = vec![
        ("dimensions", url("dimensions", filter, &[])),
        ("kpis", url("kpis", filter, &[])),
        ("compare", url("kpis_compare", filter, &vs())),
        ("compare_previous_year", url("kpis_compare", filter, &[("vs", "previous_year".into())])),
        ("forecast", url("forecast", filter, &[("horizon", "2".into())])),
        ("cohorts", url("customers_cohorts", filter, &[])),
        ("returning", url("customers_returning", filter, &[])),
        ("rfm", url("customers_rfm", filter, &[("as_of", day(filter.to()))])),
        ("clv", url("customers_clv", filter, &[])),
        ("explain", url("explain", filter, &vs())),
        ("projection", url("projection", filter, &[])),
        ("alerts", url("alerts", filter, &[])),
    ];
    if let Some(earlier) = year_before(filter) {
        urls.push(("monthly_previous_year", url("kpis_monthly", &earlier, &[])));
    }
    urls
}

const PAGE: &str = include_str!("../serve/assets/index.html");
const STYLE: &str = include_str!("../serve/assets/style.css");
const CHART_JS: &str = include_str!("../serve/assets/vendor/chart.js/chart.umd.min.js");
const CHART_GEO_JS: &str = include_str!("../serve/assets/vendor/chartjs-chart-geo/index.umd.min.js");

/// `path`'s relative import specifiers (`from "./x.js"`, `import "../x.js"`) as bare names,
/// `shoplens/` and the module's path under `/assets/js/`: inside a `data:` URL a relative
/// specifier has nothing to resolve against, a bare one goes through the import map.
fn bare_imports(path: &str, code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = ["from \"", "import \""].iter().filter_map(|k| rest.find(k).map(|i| i + k.len())).min() {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find('"').unwrap_or(rest.len());
        let spec = &rest[..end];
        if spec.starts_with("./") || spec.starts_with("../") {
            let mut parts: Vec<&str> = path.split('/').collect();
            parts.pop();
            for seg in spec.split('/') {
                match seg {
                    "." => {}
                    ".." => {
                        parts.pop();
                    }
                    _ => parts.push(seg),
                }
            }
            out.push_str("shoplens/");
            out.push_str(&parts.join("/"));
        } else {
            out.push_str(spec);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// An import map naming each module `shoplens/PATH`, inlined as a `data:` URL.
fn import_map(modules: &[(&str, &str)]) -> String {
    let imports: serde_json::Map<String, serde_json::Value> = modules
        .iter()
        .map(|(path, code)| {
            let inlined = base64::engine::general_purpose::STANDARD.encode(bare_imports(path, code));
            (format!("shoplens/{path}"), format!("data:text/javascript;base64,{inlined}").into())
        })
        .collect();
    serde_json::json!({ "imports": imports }).to_string()
}

/// Code safe inside a `<script>` element: no `</script` can end it early (in the JavaScript
/// strings where it could occur, `<\/` means the same).
fn script_safe(s: &str) -> String {
    s.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
}

use page::json_safe;

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
    let fields = serde_json::to_value(data).expect("report data serialises");
    let answers: serde_json::Map<String, serde_json::Value> =
        answer_urls(filter, vs).into_iter().map(|(field, url)| (url, fields[field].clone())).collect();
    let embedded = serde_json::json!({ "filter": selection, "vs": vs.to_string(), "answers": answers }).to_string();
    let meta = format!(
        "<p id=\"report-meta\">Report: {}. Generated {}. The figures are fixed; the filters show the selection.</p>",
        esc(&describe(filter)),
        esc(generated)
    );
    PAGE.replace("{{CURRENCY}}", &esc(currency))
        .replace("{{CATALOG}}", &json_safe(&page::catalog_json()))
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
        .replace(
            r#"<script src="/assets/vendor/chartjs-chart-geo/index.umd.min.js"></script>"#,
            &format!("<script>\n{}\n</script>", script_safe(CHART_GEO_JS)),
        )
        .replace(
            r#"<script type="module" src="/assets/js/main.js"></script>"#,
            &format!(
                "<script type=\"importmap\">{}</script>\n<script type=\"module\">import \"shoplens/main.js\";</script>",
                json_safe(&import_map(&MODULES))
            ),
        )
        .replace(r#"<a href="/assets/vendor/chart.js/LICENSE.md">Chart.js</a>"#, "Chart.js")
        .replace(r#"<a href="/assets/vendor/chartjs-chart-geo/LICENSE">chartjs-chart-geo</a>"#, "chartjs-chart-geo")
        .replace(r#"<a href="/assets/vendor/world-atlas/LICENSE">world-atlas</a>"#, "world-atlas")
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

    /// The URLs are the page's: catalog order, empty values left out, `URLSearchParams`
    /// encoding, the previous year's range shifted as the page shifts it (29 February to the 28th).
    #[test]
    fn answer_urls_are_the_pages_requests() {
        use crate::model::filter::{Filter, FilterParams};
        let f = Filter::parse(FilterParams {
            from: Some("2024-02-29"),
            to: Some("2024-03-31"),
            category: Some("Home & Kitchen"),
            country: Some("DE"),
            ..Default::default()
        })
        .unwrap();
        let urls: std::collections::HashMap<_, _> =
            super::answer_urls(&f, &super::Versus::PreviousPeriod).into_iter().collect();
        let sel = "from=2024-02-29&to=2024-03-31&category=Home+%26+Kitchen&country=DE";
        assert_eq!(urls["kpis"], format!("/api/kpis?{sel}"));
        assert_eq!(urls["compare"], format!("/api/kpis/compare?{sel}&vs=previous_period"));
        assert_eq!(urls["forecast"], format!("/api/forecast?{sel}&horizon=2"));
        assert_eq!(urls["rfm"], "/api/customers/rfm?as_of=2024-03-31&category=Home+%26+Kitchen&country=DE");
        assert_eq!(urls["projection"], "/api/projection?category=Home+%26+Kitchen&country=DE");
        assert_eq!(urls["alerts"], "/api/alerts");
        assert_eq!(
            urls["monthly_previous_year"],
            "/api/kpis/monthly?from=2023-02-28&to=2023-03-31&category=Home+%26+Kitchen&country=DE"
        );
        let undated = f.with_range(None, None);
        assert!(
            !super::answer_urls(&undated, &super::Versus::PreviousYear)
                .iter()
                .any(|(k, _)| *k == "monthly_previous_year")
        );
    }

    #[test]
    fn relative_imports_become_bare_names_under_the_module_path() {
        let code = "import * as api from \"../api.js\";\nimport { a } from \"./b.js\";\nimport \"./c/d.js\";\nconst s = \"from here\";\nimport x from \"lib\";\n";
        assert_eq!(
            super::bare_imports("views/map.js", code),
            "import * as api from \"shoplens/api.js\";\nimport { a } from \"shoplens/views/b.js\";\nimport \"shoplens/views/c/d.js\";\nconst s = \"from here\";\nimport x from \"lib\";\n"
        );
    }

    /// Every module of the page is in the report's import map, and no inlined module keeps a
    /// relative import (it could not resolve inside a `data:` URL).
    #[test]
    fn the_import_map_inlines_every_module_with_bare_imports() {
        use base64::Engine as _;
        let map: serde_json::Value = serde_json::from_str(&super::import_map(&super::MODULES)).unwrap();
        let imports = map["imports"].as_object().unwrap();
        assert_eq!(imports.len(), super::MODULES.len());
        for (name, url) in imports {
            let b64 = url.as_str().unwrap().strip_prefix("data:text/javascript;base64,").unwrap();
            let code = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap();
            for line in code.lines().filter(|l| l.starts_with("import ")) {
                let spec = line.rsplit('"').nth(1).unwrap();
                assert!(imports.contains_key(spec), "{name}: {spec} is not in the map");
            }
        }
    }
}

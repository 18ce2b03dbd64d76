//! Report: the dashboard page itself as one self-contained HTML file — its stylesheet, Chart.js
//! and its ES modules inlined, and the API's answers for one selection embedded as data — to
//! e-mail or open offline. Every panel is drawn by the same code as on the served dashboard; this
//! module only gathers the core's results and inlines the assets. It computes no figure of its own.
//!
//! The embedded data: `window.SHOPLENS_REPORT = {"filter": {...}, "vs": "...", "answers":
//! {"<canonical url>": <json or null>}}`, each URL as the page builds it (`answer_urls`).

use crate::analysis::countries::CountriesAnalysis;
use crate::analysis::customers::{ClvQuery, Cohorts, Returning, Rfm};
use crate::analysis::insights::{Alerts, Explain, Projection};
use crate::analysis::kpis::{Compare, Dimensions, Forecast, ForecastQuery, Kpis, Section, SectionQuery, VersusQuery};
use crate::analysis::presets::PresetsAnalysis;
use crate::analysis::products::{
    JourneyAnalysis, JourneyQuery, LevelQuery, PairsAnalysis, PairsQuery, ProductsAnalysis, ProductsQuery,
};
use crate::analysis::query::{AsOfQuery, FilterQuery, NoQuery, TopQuery};
use crate::analysis::{self, Analysis, AnalysisError, Ctx, Memo};
use crate::metrics::compare::{Comparison, Versus};
use crate::model::Filter;
use crate::serve::page::{self, MODULES};
use crate::warehouse::Warehouse;
use base64::Engine as _;
use chrono::{Datelike, NaiveDate};
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// What the page shows for one selection: every answer its API calls would get, under the
/// canonical URL it asks by, and the few a caller may want to look at.
#[derive(Clone, Debug)]
pub struct ReportData {
    /// `/api/kpis/compare` with the report's comparison, when there are orders.
    pub compare: Option<Arc<Comparison>>,
    /// Every answer by URL (`null` where the warehouse has none: no orders, too short a series).
    pub answers: BTreeMap<String, serde_json::Value>,
}

/// Results computed once for a report (the comparison with the previous year may be the
/// report's own comparison).
#[derive(Default)]
struct Kept(Mutex<HashMap<String, Arc<dyn Any + Send + Sync>>>);

impl Memo for Kept {
    fn get(&self, key: &str) -> Option<Arc<dyn Any + Send + Sync>> {
        self.0.lock().expect("not poisoned").get(key).cloned()
    }
    fn put(&self, key: String, value: Arc<dyn Any + Send + Sync>, _weight: usize) {
        self.0.lock().expect("not poisoned").insert(key, value);
    }
}

/// Runs analyses and records each answer under its URL.
struct Answers<'a> {
    ctx: Ctx<'a>,
    answers: BTreeMap<String, serde_json::Value>,
}

impl Answers<'_> {
    /// The answer of `A` for `query`; `None` (recorded as `null`) where the warehouse has none.
    async fn add<A: Analysis>(&mut self, query: A::Query) -> Result<Option<Arc<A::Output>>, AnalysisError> {
        let url = analysis::url::<A>(&query);
        let (value, out) = match self.ctx.answer::<A>(query).await {
            Ok(out) => {
                let json =
                    serde_json::from_slice(&A::to_json(&out)?).map_err(|e| AnalysisError::Internal(e.to_string()))?;
                (json, Some(out))
            }
            Err(AnalysisError::NoAnswer(_)) => (serde_json::Value::Null, None),
            Err(e) => return Err(e),
        };
        self.answers.insert(url, value);
        Ok(out)
    }
}

/// Computes everything the page shows for `filter` compared with `vs`, through the catalog: the
/// requests are the page's (its views' parameters for this selection), so the page finds each
/// answer under the URL it builds.
///
/// # Errors
/// A query fails.
pub async fn gather(wh: &Warehouse, filter: &Filter, vs: Versus) -> Result<ReportData, AnalysisError> {
    let kept = Kept::default();
    let mut a = Answers { ctx: Ctx::with_memo(wh, &kept, None), answers: BTreeMap::new() };
    a.add::<Dimensions>(NoQuery {}).await?;
    a.add::<PresetsAnalysis>(NoQuery {}).await?;
    // the overview
    a.add::<Kpis>(FilterQuery::of(filter)).await?;
    let compare = a.add::<Compare>(VersusQuery::of(filter, vs)).await?;
    a.add::<Compare>(VersusQuery::of(filter, Versus::PreviousYear)).await?;
    if let Some(earlier) = year_before(filter) {
        let monthly = SectionQuery { section: "monthly".into(), filter: FilterQuery::of(&earlier) };
        a.add::<Section>(monthly).await?;
    }
    // two months: the page shows the second when the first is the month in progress
    a.add::<Forecast>(ForecastQuery { filter: FilterQuery::of(filter), horizon: Some("2".into()) }).await?;
    a.add::<Explain>(VersusQuery::of(filter, vs)).await?;
    a.add::<Projection>(AsOfQuery::of(filter, None)).await?;
    a.add::<Alerts>(NoQuery {}).await?;
    // the map: the answer, and the atlas it is drawn on (which the page fetches as an asset)
    a.add::<CountriesAnalysis>(FilterQuery::of(filter)).await?;
    let atlas = serde_json::from_str(page::WORLD_ATLAS).map_err(|e| AnalysisError::Internal(e.to_string()))?;
    a.answers.insert(page::WORLD_ATLAS_URL.to_string(), atlas);
    // the products, as the page asks for them (the product level, its variants beside it)
    for level in ["product", "variant"] {
        let level = LevelQuery { level: Some(level.into()) };
        a.add::<ProductsAnalysis>(ProductsQuery { versus: VersusQuery::of(filter, vs), level }).await?;
    }
    let with_top = |top: &str| FilterQuery { top: TopQuery { top: Some(top.into()) }, ..FilterQuery::of(filter) };
    let level = LevelQuery { level: Some("product".into()) };
    let pairs = PairsQuery { filter: with_top("20"), level: level.clone(), min_support: None, min_orders: None };
    a.add::<PairsAnalysis>(pairs).await?;
    a.add::<JourneyAnalysis>(JourneyQuery { filter: with_top("10"), level }).await?;
    // the customers
    a.add::<Cohorts>(FilterQuery::of(filter)).await?;
    a.add::<Returning>(FilterQuery::of(filter)).await?;
    a.add::<Rfm>(AsOfQuery::of(filter, filter.to())).await?;
    a.add::<crate::analysis::customers::Clv>(ClvQuery::of(filter)).await?;
    Ok(ReportData { compare, answers: a.answers })
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
    parts.extend(f.segments().map(|(s, v)| format!("{} {v}", s.label())));
    parts.join(", ")
}

/// The page with its assets inlined and `data` embedded; money shown in `currency`.
pub fn render(data: &ReportData, filter: &Filter, vs: &Versus, generated: &str, currency: &str) -> String {
    // the page's selection: the filter's parameters (`top` too, so that the page asks for the
    // lists the report holds)
    let selection = serde_json::to_value(FilterQuery::of(filter)).expect("parameters serialise");
    let embedded =
        serde_json::json!({ "filter": selection, "vs": vs.to_string(), "answers": data.answers }).to_string();
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
    fn report_urls_are_the_pages_requests() {
        use crate::analysis::{kpis, query::*, url};
        use crate::model::filter::{Filter, FilterParams};
        let f = Filter::parse(FilterParams {
            from: Some("2024-02-29"),
            to: Some("2024-03-31"),
            category: Some("Home & Kitchen"),
            country: Some("DE"),
            ..Default::default()
        })
        .unwrap();
        let sel = "from=2024-02-29&to=2024-03-31&category=Home+%26+Kitchen&country=DE";
        assert_eq!(url::<kpis::Kpis>(&FilterQuery::of(&f)), format!("/api/kpis?{sel}"));
        assert_eq!(
            url::<kpis::Compare>(&kpis::VersusQuery::of(&f, super::Versus::PreviousPeriod)),
            format!("/api/kpis/compare?{sel}&vs=previous_period")
        );
        let forecast = kpis::ForecastQuery { filter: FilterQuery::of(&f), horizon: Some("2".into()) };
        assert_eq!(url::<kpis::Forecast>(&forecast), format!("/api/forecast?{sel}&horizon=2"));
        assert_eq!(
            url::<crate::analysis::customers::Rfm>(&AsOfQuery::of(&f, f.to())),
            "/api/customers/rfm?category=Home+%26+Kitchen&country=DE&as_of=2024-03-31"
        );
        let earlier = super::year_before(&f).unwrap();
        let monthly = kpis::SectionQuery { section: "monthly".into(), filter: FilterQuery::of(&earlier) };
        assert_eq!(
            url::<kpis::Section>(&monthly),
            "/api/kpis/monthly?from=2023-02-28&to=2023-03-31&category=Home+%26+Kitchen&country=DE"
        );
        assert!(super::year_before(&f.with_range(None, None)).is_none());
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

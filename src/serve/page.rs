//! The dashboard page and its assets, embedded in the binary (no CDN: it works offline).

use super::state::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

const JS: &str = "text/javascript; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// The page's ES modules, by path under `/assets/js/`: the served page loads them by URL, a
/// report inlines them (`report::render`).
pub(crate) const MODULES: [(&str, &str); 11] = [
    ("main.js", include_str!("assets/js/main.js")),
    ("api.js", include_str!("assets/js/api.js")),
    ("state.js", include_str!("assets/js/state.js")),
    ("format.js", include_str!("assets/js/format.js")),
    ("charts.js", include_str!("assets/js/charts.js")),
    ("theme.js", include_str!("assets/js/theme.js")),
    ("iso3166.js", include_str!("assets/js/iso3166.js")),
    ("views/index.js", include_str!("assets/js/views/index.js")),
    ("views/overview.js", include_str!("assets/js/views/overview.js")),
    ("views/customers.js", include_str!("assets/js/views/customers.js")),
    ("views/map.js", include_str!("assets/js/views/map.js")),
];

/// The other assets: stylesheet and vendored libraries with their licences.
const ASSETS: [(&str, &str, &str); 7] = [
    ("style.css", "text/css; charset=utf-8", include_str!("assets/style.css")),
    ("vendor/chart.js/chart.umd.min.js", JS, include_str!("assets/vendor/chart.js/chart.umd.min.js")),
    ("vendor/chart.js/LICENSE.md", TEXT, include_str!("assets/vendor/chart.js/LICENSE.md")),
    ("vendor/chartjs-chart-geo/index.umd.min.js", JS, include_str!("assets/vendor/chartjs-chart-geo/index.umd.min.js")),
    ("vendor/chartjs-chart-geo/LICENSE", TEXT, include_str!("assets/vendor/chartjs-chart-geo/LICENSE")),
    (
        "vendor/world-atlas/countries-110m.json",
        "application/json",
        include_str!("assets/vendor/world-atlas/countries-110m.json"),
    ),
    ("vendor/world-atlas/LICENSE", TEXT, include_str!("assets/vendor/world-atlas/LICENSE")),
];

// replaced by the catalog
const FILTER: [&str; 5] = ["from", "to", "category", "country", "method"];
// replaced by the catalog
const ANALYSES: [(&str, &str, &[&str]); 19] = [
    ("kpis", "/api/kpis", &["from", "to", "category", "country", "method", "top"]),
    ("kpis_compare", "/api/kpis/compare", &["from", "to", "category", "country", "method", "top", "vs"]),
    ("kpis_summary", "/api/kpis/summary", &["from", "to", "category", "country", "method", "top"]),
    ("kpis_monthly", "/api/kpis/monthly", &["from", "to", "category", "country", "method", "top"]),
    ("kpis_categories", "/api/kpis/categories", &["from", "to", "category", "country", "method", "top"]),
    ("kpis_top_products", "/api/kpis/top-products", &["from", "to", "category", "country", "method", "top"]),
    ("kpis_order_frequency", "/api/kpis/order-frequency", &["from", "to", "category", "country", "method", "top"]),
    ("kpis_top_customers", "/api/kpis/top-customers", &["from", "to", "category", "country", "method", "top"]),
    ("kpis_payment_methods", "/api/kpis/payment-methods", &["from", "to", "category", "country", "method", "top"]),
    ("dimensions", "/api/dimensions", &[]),
    ("forecast", "/api/forecast", &["from", "to", "category", "country", "method", "top", "horizon"]),
    ("customers_cohorts", "/api/customers/cohorts", &FILTER),
    ("customers_returning", "/api/customers/returning", &FILTER),
    ("customers_rfm", "/api/customers/rfm", &["as_of", "category", "country", "method"]),
    (
        "customers_rfm_customers",
        "/api/customers/rfm/customers",
        &["as_of", "segment", "page", "per_page", "category", "country", "method"],
    ),
    (
        "customers_clv",
        "/api/customers/clv",
        &["calibration_end", "horizon_weeks", "discount_rate", "category", "country", "method", "top"],
    ),
    ("explain", "/api/explain", &["from", "to", "category", "country", "method", "vs"]),
    ("projection", "/api/projection", &["category", "country", "method", "as_of"]),
    ("alerts", "/api/alerts", &[]),
];

// replaced by the catalog
/// The analyses the page may call: `[{"name", "path", "params"}]`, params in canonical order.
pub(crate) fn catalog_json() -> String {
    let all: Vec<_> = ANALYSES
        .iter()
        .map(|(name, path, params)| serde_json::json!({ "name": name, "path": path, "params": params }))
        .collect();
    serde_json::Value::Array(all).to_string()
}

// replaced by the catalog
/// The URL the page requests for analysis `name` with `values`: its path, then its parameters in
/// the catalog's order with empty values left out, encoded as the browser's `URLSearchParams`
/// does. `None` for an analysis the catalog lacks.
pub(crate) fn canonical_url(name: &str, values: &[(&str, String)]) -> Option<String> {
    let (_, path, params) = ANALYSES.iter().find(|(n, ..)| *n == name)?;
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .filter_map(|p| values.iter().find(|(k, v)| k == p && !v.is_empty()).map(|(k, v)| (*k, v.as_str())))
        .collect();
    let query = serde_urlencoded::to_string(&pairs).expect("pairs of strings encode");
    Some(if query.is_empty() { (*path).to_string() } else { format!("{path}?{query}") })
}

/// JSON safe inside a `<script>` element: every `<` escaped, which JSON and JavaScript both read
/// back as `<`.
pub(crate) fn json_safe(s: &str) -> String {
    s.replace('<', "\\u003c")
}

/// `GET /`.
pub async fn index(State(state): State<Arc<AppState>>) -> Response {
    let page = include_str!("assets/index.html")
        .replace("{{CURRENCY}}", &state.currency)
        .replace("{{CATALOG}}", &json_safe(&catalog_json()));
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], page).into_response()
}

/// `GET /assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    let module = file.strip_prefix("js/").and_then(|m| MODULES.iter().find(|(name, _)| *name == m));
    let found = match module {
        Some((_, body)) => Some((JS, *body)),
        None => ASSETS.iter().find(|(name, ..)| *name == file).map(|(_, mime, body)| (*mime, *body)),
    };
    match found {
        Some((mime, body)) => {
            ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "public, max-age=300")], body).into_response()
        }
        None => super::api::ApiError(StatusCode::NOT_FOUND, format!("no such asset: {file}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    /// The temporary catalog follows the OpenAPI document: every path with its query parameters
    /// in the document's order.
    #[test]
    fn the_catalog_follows_the_openapi_document() {
        let doc: serde_json::Value = serde_json::from_str(include_str!("openapi.json")).unwrap();
        let catalog: serde_json::Value = serde_json::from_str(&super::catalog_json()).unwrap();
        for a in catalog.as_array().unwrap() {
            let path = a["path"].as_str().unwrap();
            let templated = path.strip_prefix("/api/kpis/").filter(|s| !s.contains('/') && *s != "compare");
            let op = &doc["paths"][if templated.is_some() { "/api/kpis/{section}" } else { path }]["get"];
            let none = vec![];
            let params: Vec<&str> = op["parameters"]
                .as_array()
                .unwrap_or(&none)
                .iter()
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            let listed: Vec<&str> = a["params"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
            assert_eq!(listed, params, "{path}");
        }
    }

    #[test]
    fn a_canonical_url_orders_and_encodes_as_url_search_params() {
        let v = |k: &'static str, s: &str| (k, s.to_string());
        let url = super::canonical_url(
            "kpis_compare",
            &[v("vs", "2024-01-01:2024-03-31"), v("country", "DE"), v("category", "Home & Garden"), v("from", "")],
        );
        assert_eq!(
            url.as_deref(),
            Some("/api/kpis/compare?category=Home+%26+Garden&country=DE&vs=2024-01-01%3A2024-03-31")
        );
        assert_eq!(super::canonical_url("alerts", &[v("from", "2024-01-01")]).as_deref(), Some("/api/alerts"));
        assert_eq!(super::canonical_url("nothing", &[]), None);
    }
}

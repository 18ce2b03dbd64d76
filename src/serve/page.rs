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
pub(crate) const MODULES: [(&str, &str); 13] = [
    ("main.js", include_str!("assets/js/main.js")),
    ("api.js", include_str!("assets/js/api.js")),
    ("state.js", include_str!("assets/js/state.js")),
    ("format.js", include_str!("assets/js/format.js")),
    ("freshness.js", include_str!("assets/js/freshness.js")),
    ("charts.js", include_str!("assets/js/charts.js")),
    ("theme.js", include_str!("assets/js/theme.js")),
    ("iso3166.js", include_str!("assets/js/iso3166.js")),
    ("views/index.js", include_str!("assets/js/views/index.js")),
    ("views/overview.js", include_str!("assets/js/views/overview.js")),
    ("views/customers.js", include_str!("assets/js/views/customers.js")),
    ("views/map.js", include_str!("assets/js/views/map.js")),
    ("views/products.js", include_str!("assets/js/views/products.js")),
];

/// The world map's shapes (world-atlas's `countries-110m.json`), which a report embeds.
pub(crate) const WORLD_ATLAS: &str = include_str!("assets/vendor/world-atlas/countries-110m.json");
/// The URL the page fetches them from.
pub(crate) const WORLD_ATLAS_URL: &str = "/assets/vendor/world-atlas/countries-110m.json";

/// The other assets: stylesheet and vendored libraries with their licences.
const ASSETS: [(&str, &str, &str); 7] = [
    ("style.css", "text/css; charset=utf-8", include_str!("assets/style.css")),
    ("vendor/chart.js/chart.umd.min.js", JS, include_str!("assets/vendor/chart.js/chart.umd.min.js")),
    ("vendor/chart.js/LICENSE.md", TEXT, include_str!("assets/vendor/chart.js/LICENSE.md")),
    ("vendor/chartjs-chart-geo/index.umd.min.js", JS, include_str!("assets/vendor/chartjs-chart-geo/index.umd.min.js")),
    ("vendor/chartjs-chart-geo/LICENSE", TEXT, include_str!("assets/vendor/chartjs-chart-geo/LICENSE")),
    ("vendor/world-atlas/countries-110m.json", "application/json", WORLD_ATLAS),
    ("vendor/world-atlas/LICENSE", TEXT, include_str!("assets/vendor/world-atlas/LICENSE")),
];

/// The page's route table: every analysis of the catalog with its path and its parameters in
/// canonical order (`[{"name", "path", "params"}]`), from which the page builds its URLs.
pub(crate) fn catalog_json() -> String {
    serde_json::to_string(crate::analysis::routes()).expect("routes serialise")
}

/// JSON safe inside a `<script>` element: every `<` escaped, which JSON and JavaScript both read
/// back as `<`.
pub(crate) fn json_safe(s: &str) -> String {
    s.replace('<', "\\u003c")
}

/// `GET /`.
pub(crate) async fn index(State(state): State<Arc<AppState>>) -> Response {
    let page = include_str!("assets/index.html")
        .replace("{{CURRENCY}}", &state.currency)
        .replace("{{CATALOG}}", &json_safe(&catalog_json()));
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], page).into_response()
}

/// `GET /assets/{file}`.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    let module = file.strip_prefix("js/").and_then(|m| MODULES.iter().find(|(name, _)| *name == m));
    let found = match module {
        Some((_, body)) => Some((JS, *body)),
        None => ASSETS.iter().find(|(name, ..)| *name == file).map(|(_, mime, body)| (*mime, *body)),
    };
    match found {
        Some((mime, body)) => {
            ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "public, max-age=300")], body).into_response()
        }
        None => super::error::ApiError(StatusCode::NOT_FOUND, format!("no such asset: {file}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    /// The page's route table is the OpenAPI document's: every path with its parameters in the
    /// same order.
    #[test]
    fn the_route_table_is_the_documents() {
        let doc = serde_json::to_value(crate::analysis::openapi::document()).unwrap();
        let catalog: serde_json::Value = serde_json::from_str(&super::catalog_json()).unwrap();
        for a in catalog.as_array().unwrap() {
            let path = a["path"].as_str().unwrap();
            let params: Vec<&str> = doc["paths"][path]["get"]["parameters"]
                .as_array()
                .map(|ps| ps.iter().map(|p| p["name"].as_str().unwrap()).collect())
                .unwrap_or_default();
            let listed: Vec<&str> = a["params"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
            assert_eq!(listed, params, "{path}");
        }
        let server_paths = ["/healthz", "/api/status"];
        assert!(server_paths.iter().all(|p| doc["paths"].get(p).is_some()), "the server's own paths are documented");
        let analyses = doc["paths"].as_object().unwrap().len() - server_paths.len();
        assert_eq!(catalog.as_array().unwrap().len(), analyses, "every analysis, and only they");
    }
}

//! The dashboard page and its assets, embedded in the binary (no CDN: it works offline).

use super::state::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

const ASSETS: [(&str, &str, &str); 4] = [
    ("app.js", "text/javascript; charset=utf-8", include_str!("assets/app.js")),
    ("style.css", "text/css; charset=utf-8", include_str!("assets/style.css")),
    (
        "vendor/chart.js/chart.umd.min.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/vendor/chart.js/chart.umd.min.js"),
    ),
    ("vendor/chart.js/LICENSE.md", "text/plain; charset=utf-8", include_str!("assets/vendor/chart.js/LICENSE.md")),
];

/// `GET /`.
pub async fn index(State(state): State<Arc<AppState>>) -> Response {
    let page = include_str!("assets/index.html").replace("{{CURRENCY}}", &state.currency);
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], page).into_response()
}

/// `GET /assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, ..)| *name == file) {
        Some((_, mime, body)) => {
            ([(header::CONTENT_TYPE, *mime), (header::CACHE_CONTROL, "public, max-age=300")], *body).into_response()
        }
        None => super::api::ApiError(StatusCode::NOT_FOUND, format!("no such asset: {file}")).into_response(),
    }
}

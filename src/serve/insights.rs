//! The insight endpoints (docs/insights.md): thin handlers over `crate::insights`, with the KPI
//! endpoints' validation, caching per warehouse version and error shape.

use super::api::{ApiError, answer, bad_request, filter, internal, params, versus};
use super::state::AppState;
use crate::insights;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::sync::Arc;

fn no_orders() -> ApiError {
    ApiError(StatusCode::UNPROCESSABLE_ENTITY, "the warehouse has no orders".into())
}

/// `GET /api/explain`: the revenue bridge of the filter's range against `vs`.
pub async fn explain(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q.as_deref(), &["vs"])?;
    let vs = versus(&p)?;
    let f = filter(&p)?;
    answer(&state, &headers, format!("explain {vs:?} {f:?}"), |l| async move {
        insights::explain(&l.warehouse, &f, vs).await.map_err(internal)?.ok_or_else(no_orders)
    })
    .await
}

/// `GET /api/projection`: where the month of `as_of` (default: the latest order day) will end,
/// for the category, country and method given.
pub async fn projection(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q.as_deref(), &["as_of"])?;
    for range in ["from", "to"] {
        if p.contains_key(range) {
            return Err(bad_request(format!("parameter '{range}': a projection takes as_of, not a range")));
        }
    }
    let as_of = p
        .get("as_of")
        .map(|v| crate::model::time::parse_date(v).map_err(|m| bad_request(format!("parameter 'as_of': {m}"))))
        .transpose()?;
    let f = filter(&p)?;
    answer(&state, &headers, format!("projection {as_of:?} {f:?}"), |l| async move {
        insights::projection(&l.warehouse, &f, as_of).await.map_err(internal)?.ok_or_else(no_orders)
    })
    .await
}

/// `GET /api/alerts`: segments whose last complete month fell outside their forecast's interval.
pub async fn alerts(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    if !params(q.as_deref(), &[])?.is_empty() {
        return Err(bad_request("this endpoint takes no parameters"));
    }
    answer(
        &state,
        &headers,
        "alerts".to_string(),
        |l| async move { insights::alerts(&l.warehouse).await.map_err(internal) },
    )
    .await
}

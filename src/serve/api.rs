//! The JSON API: thin handlers that validate parameters, call `metrics` and `forecast`, and answer
//! with JSON, an ETag from the warehouse version and the request, and `{"error": …}` on failure.

use super::state::{AppState, Loaded, QUERY_TIME_LIMIT};
use crate::forecast::{self, ForecastError, revenue_series};
use crate::metrics::{self, compare::Versus};
use crate::model::Filter;
use crate::model::filter::FilterParams;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Months, NaiveDate};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// An API error: its status and a message naming what is wrong.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, [(header::CACHE_CONTROL, "no-store")], axum::Json(json!({ "error": self.1 }))).into_response()
    }
}

pub(super) fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

/// A failure inside the server: its details (which may name files) go to the log, the client gets
/// a message without them.
pub(super) fn internal(e: impl std::fmt::Display) -> ApiError {
    let details = e.to_string();
    tracing::error!(error = %details, "a request failed");
    let message = if details.contains("Resources exhausted") {
        "the computation needs more memory than the server's --memory-limit gives it"
    } else {
        "the computation failed (the server's log has the details)"
    };
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, message.into())
}

const FILTER_KEYS: [&str; 6] = ["from", "to", "category", "country", "method", "top"];

/// The query string's parameters; an unknown, repeated or undecodable one is a 400.
pub(super) fn params(raw: Option<&str>, extra: &[&str]) -> Result<BTreeMap<String, String>, ApiError> {
    let raw = raw.unwrap_or("");
    // the form decoder replaces bytes that are not UTF-8 with U+FFFD; refuse them instead
    for part in raw.split('&') {
        let bytes: Vec<u8> = percent_encoding::percent_decode(part.replace('+', " ").as_bytes()).collect();
        if std::str::from_utf8(&bytes).is_err() {
            let name = part.split('=').next().unwrap_or_default();
            return Err(bad_request(format!(
                "parameter '{}' is not valid UTF-8 once decoded",
                String::from_utf8_lossy(&percent_encoding::percent_decode(name.as_bytes()).collect::<Vec<u8>>())
            )));
        }
    }
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw).map_err(|e| bad_request(format!("the query string cannot be decoded: {e}")))?;
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        if !FILTER_KEYS.contains(&k.as_str()) && !extra.contains(&k.as_str()) {
            return Err(bad_request(format!("unknown parameter '{k}'")));
        }
        if out.insert(k.clone(), v).is_some() {
            return Err(bad_request(format!("parameter '{k}' is given more than once")));
        }
    }
    Ok(out)
}

/// The `vs` parameter: what a range is compared with (default: the previous period).
pub(super) fn versus(p: &BTreeMap<String, String>) -> Result<Versus, ApiError> {
    p.get("vs")
        .map(|v| v.parse().map_err(|e| bad_request(format!("parameter 'vs': {e}"))))
        .transpose()
        .map(|v| v.unwrap_or(Versus::PreviousPeriod))
}

pub(super) fn filter(p: &BTreeMap<String, String>) -> Result<Filter, ApiError> {
    let get = |k: &str| p.get(k).map(String::as_str);
    Filter::parse(FilterParams {
        from: get("from"),
        to: get("to"),
        category: get("category"),
        country: get("country"),
        method: get("method"),
        top: get("top"),
    })
    .map_err(|e| bad_request(e.to_string()))
}

/// Answers `json` with an ETag of the version and `key`, or 304 when the client has it.
pub(super) fn respond(headers: &HeaderMap, version: &str, key: &str, json: Bytes) -> Response {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    let etag = format!("\"{version}-{:016x}\"", h.finish());
    let cache = [(header::ETAG, etag.clone()), (header::CACHE_CONTROL, "no-cache".to_string())];
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (cache, [(header::CONTENT_TYPE, "application/json")], json).into_response()
}

tokio::task_local! {
    /// Set while the task holds a computation permit: nested work (a section cut from the KPIs, a
    /// page cut from the customers) runs under the caller's permit instead of waiting for a second
    /// one, which deadlocked as soon as every permit was held by a caller waiting that way.
    static HOLDS_PERMIT: ();
}

fn too_long() -> ApiError {
    ApiError(StatusCode::SERVICE_UNAVAILABLE, "the computation took too long".into())
}

/// Runs `work` under one of the server's computation permits (or the permit this task already
/// holds) and the request's time limit: every computation a request makes goes through here.
pub(super) async fn limited<F, Fut, T>(state: &AppState, work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    if HOLDS_PERMIT.try_with(|_| ()).is_ok() {
        return work().await;
    }
    let _permit = state.permits.acquire().await.map_err(internal)?;
    HOLDS_PERMIT.scope((), tokio::time::timeout(QUERY_TIME_LIMIT, work())).await.map_err(|_| too_long())?
}

/// Runs `work` once per `(version, key)`: cached (as the bytes it returns), bounded in concurrency
/// and time by [`limited`].
pub(super) async fn cached_bytes<F, Fut>(state: &AppState, version: &str, key: &str, work: F) -> Result<Bytes, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Bytes, ApiError>>,
{
    if let Some(v) = state.cached(version, key) {
        return Ok(v);
    }
    limited(state, || async {
        // another request may have computed it while this one waited for the permit
        if let Some(v) = state.cached(version, key) {
            return Ok(v);
        }
        let bytes = work().await?;
        state.remember(version, key, bytes.clone());
        Ok(bytes)
    })
    .await
}

/// Runs `work` once per `(version, key)`: cached (as JSON text), bounded in concurrency and time.
pub(super) async fn cached<F, Fut, T>(state: &AppState, version: &str, key: &str, work: F) -> Result<Bytes, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
    T: serde::Serialize,
{
    cached_bytes(state, version, key, || async {
        Ok(Bytes::from(serde_json::to_vec(&work().await?).map_err(internal)?))
    })
    .await
}

/// Answers the current version's result for `key`, computed by `work` on that version when the
/// cache does not have it: the shape of every computed endpoint.
pub(super) async fn answer<F, Fut, T>(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    key: String,
    work: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(Arc<Loaded>) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
    T: serde::Serialize,
{
    let loaded = current(state).await?;
    let v = cached(state, &loaded.version, &key, || work(loaded.clone())).await?;
    Ok(respond(headers, &loaded.version, &key, v))
}

pub(super) async fn current(state: &Arc<AppState>) -> Result<Arc<Loaded>, ApiError> {
    let (loaded, fresh) = state.current().await.map_err(|e| {
        tracing::error!(error = %e, "cannot open the warehouse's new version");
        let message = match &e {
            // names the table and file, relative to the version: no path of the server's
            crate::warehouse::OpenError::Damaged(d) => d.to_string(),
            _ => "the warehouse's new version cannot be opened (the server's log has the details)".into(),
        };
        ApiError(StatusCode::SERVICE_UNAVAILABLE, message)
    })?;
    if fresh {
        tokio::spawn(warm(state.clone(), loaded.clone()));
    }
    Ok(loaded)
}

/// Computes, in the background, what the dashboard asks for (KPIs, comparison, forecast) for no
/// filter, each single category, country and payment method, and the date presets (last 30 days,
/// this quarter, last 12 months, ending on the last order day), so that first clicks hit the
/// cache. Stops when another version replaces this one.
pub async fn warm(state: Arc<AppState>, loaded: Arc<Loaded>) {
    let Ok(d) = metrics::dimensions(&loaded.warehouse).await else { return };
    let mut filters = vec![Filter::default()];
    if let Some(last) = d.last_date {
        let quarter = NaiveDate::from_ymd_opt(last.year(), (last.month0() / 3) * 3 + 1, 1);
        let year = last.checked_sub_months(Months::new(11)).and_then(|m| m.with_day(1));
        for from in [Some(last - chrono::Duration::days(29)), quarter, year].into_iter().flatten() {
            filters.push(Filter::default().with_range(Some(from), Some(last)));
        }
    }
    for (key, values) in [("category", &d.categories), ("country", &d.countries), ("method", &d.methods)] {
        for v in values {
            let v = Some(v.as_str());
            let p = match key {
                "category" => FilterParams { category: v, ..Default::default() },
                "country" => FilterParams { country: v, ..Default::default() },
                _ => FilterParams { method: v, ..Default::default() },
            };
            filters.extend(Filter::parse(p).ok());
        }
    }
    for f in filters {
        if !state.is_current(&loaded.version).await {
            return;
        }
        let _ = kpis_value(&state, &loaded, &f).await;
        let _ = compare_value(&state, &loaded, &f, Versus::PreviousPeriod).await;
        let _ = forecast_value(&state, &loaded, &f, 2).await;
    }
}

/// The cache key of a filter's KPIs.
pub fn kpis_key(f: &Filter) -> String {
    format!("kpis {f:?}")
}

async fn kpis_value(state: &AppState, loaded: &Loaded, f: &Filter) -> Result<Bytes, ApiError> {
    cached(state, &loaded.version, &kpis_key(f), || async {
        metrics::compute(&loaded.warehouse, f).await.map_err(internal)
    })
    .await
}

async fn dimensions_value(state: &AppState, loaded: &Loaded) -> Result<Bytes, ApiError> {
    cached(state, &loaded.version, "dimensions", || async {
        metrics::dimensions(&loaded.warehouse).await.map_err(internal)
    })
    .await
}

/// `GET /api/kpis`: every KPI.
pub async fn kpis(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let f = filter(&params(q.as_deref(), &[])?)?;
    let loaded = current(&state).await?;
    let v = kpis_value(&state, &loaded, &f).await?;
    Ok(respond(&headers, &loaded.version, &kpis_key(&f), v))
}

/// `GET /api/kpis/{section}`: one section of the KPIs.
pub async fn section(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    const SECTIONS: [&str; 7] =
        ["summary", "monthly", "categories", "top-products", "order-frequency", "top-customers", "payment-methods"];
    if !SECTIONS.contains(&name.as_str()) {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no KPI section '{name}' (one of {})", SECTIONS.join(", ")),
        ));
    }
    let f = filter(&params(q.as_deref(), &[])?)?;
    let loaded = current(&state).await?;
    let key = format!("{name} {f:?}");
    let part = cached(&state, &loaded.version, &key, || async {
        let all: Value = serde_json::from_slice(&kpis_value(&state, &loaded, &f).await?).map_err(internal)?;
        Ok(all[name.replace('-', "_")].clone())
    })
    .await?;
    Ok(respond(&headers, &loaded.version, &key, part))
}

/// `GET /api/kpis/compare`: the summary of a range against a comparison range.
pub async fn compare(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q.as_deref(), &["vs"])?;
    let vs = versus(&p)?;
    let f = filter(&p)?;
    let loaded = current(&state).await?;
    let (key, v) = compare_value(&state, &loaded, &f, vs).await?;
    Ok(respond(&headers, &loaded.version, &key, v))
}

async fn compare_value(state: &AppState, loaded: &Loaded, f: &Filter, vs: Versus) -> Result<(String, Bytes), ApiError> {
    let key = format!("compare {vs:?} {f:?}");
    let v = cached(state, &loaded.version, &key, || async {
        metrics::compare::period_comparison(&loaded.warehouse, f, vs)
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError(StatusCode::UNPROCESSABLE_ENTITY, "the warehouse has no orders".into()))
    })
    .await?;
    Ok((key, v))
}

/// `GET /api/dimensions`: the filters' choices and the span of order days.
pub async fn dimensions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    if !params(q.as_deref(), &[])?.is_empty() {
        return Err(bad_request("this endpoint takes no parameters"));
    }
    let loaded = current(&state).await?;
    let v = dimensions_value(&state, &loaded).await?;
    Ok(respond(&headers, &loaded.version, "dimensions", v))
}

/// `GET /api/forecast`: next month's revenue for the filtered series.
pub async fn forecast(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q.as_deref(), &["horizon"])?;
    let horizon = match p.get("horizon") {
        None => 1,
        Some(h) => h
            .parse::<usize>()
            .ok()
            .filter(|h| (1..=24).contains(h))
            .ok_or_else(|| bad_request(format!("parameter 'horizon': '{h}' is not a whole number from 1 to 24")))?,
    };
    let f = filter(&p)?;
    let loaded = current(&state).await?;
    let (key, v) = forecast_value(&state, &loaded, &f, horizon).await?;
    Ok(respond(&headers, &loaded.version, &key, v))
}

async fn forecast_value(
    state: &AppState,
    loaded: &Loaded,
    f: &Filter,
    horizon: usize,
) -> Result<(String, Bytes), ApiError> {
    let key = format!("forecast {horizon} {f:?}");
    let v = cached(state, &loaded.version, &key, || async {
        let (monthly, last) = metrics::monthly(&loaded.warehouse, f).await.map_err(internal)?;
        let series = revenue_series(&monthly, last)
            .ok_or_else(|| ApiError(StatusCode::UNPROCESSABLE_ENTITY, ForecastError::TooShort(0).to_string()))?;
        // model fitting is CPU work: on the blocking pool, so the runtime keeps answering
        tokio::task::spawn_blocking(move || forecast::forecast(&series, horizon))
            .await
            .map_err(internal)?
            .map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))
    })
    .await?;
    Ok((key, v))
}

/// `GET /healthz`.
pub async fn health(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let loaded = current(&state).await?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        axum::Json(json!({"status": "ok", "version": loaded.version})),
    )
        .into_response())
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], include_str!("openapi.json")).into_response()
}

/// A method the path does not take: 405 with the same error shape.
pub async fn method_not_allowed(method: axum::http::Method) -> Response {
    let mut r = ApiError(StatusCode::METHOD_NOT_ALLOWED, format!("{method} is not allowed here")).into_response();
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    r
}

/// Anything else: 404 with the same error shape.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("no such path: {}", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::internal;

    #[test]
    fn internal_errors_show_no_paths() {
        let e = internal("Object at location /srv/wh/v-20250101T000000-1/fact_payment/2023-07.parquet not found");
        assert_eq!(e.0, axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.1.contains('/') && !e.1.contains("fact_payment"), "{}", e.1);
        let e = internal("Resources exhausted: Failed to allocate additional 1.0 MB for HashJoin");
        assert!(e.1.contains("--memory-limit"), "{}", e.1);
    }
}

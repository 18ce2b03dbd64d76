//! The JSON API: one generic handler serves every analysis of the catalog (`crate::analysis`):
//! it decodes and validates the parameters with the analysis's own types, answers from the cache
//! of the current warehouse version or computes under a permit and the time limit, and replies
//! with JSON, an ETag of the version and the canonical parameters, and `{"error": …}` on failure.

pub use super::error::ApiError;
use super::error::internal;
use super::state::{AppState, Loaded, QUERY_TIME_LIMIT};
use crate::analysis::presets::{Preset, Presets};
use crate::analysis::query::decode;
use crate::analysis::{self, Analysis, AnalysisError, Ctx, Memo, Visitor, kpis};
use crate::metrics::compare::Versus;
use crate::model::Filter;
use crate::model::filter::{FilterParams, Segment};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::any::Any;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Adds a route for every analysis of the catalog to `router`.
pub(super) fn routes(router: Router<Arc<AppState>>) -> Router<Arc<AppState>> {
    struct Routes(Option<Router<Arc<AppState>>>);
    impl Visitor for Routes {
        fn visit<A: Analysis>(&mut self) {
            self.0 = self.0.take().map(|r| r.route(A::PATH, get(serve::<A>)));
        }
    }
    let mut r = Routes(Some(router));
    analysis::visit(&mut r);
    r.0.expect("a router")
}

/// `GET` any analysis's path: the one handler of the API.
async fn serve<A: Analysis>(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    path: RawPathParams,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let path: Vec<(&str, &str)> = path.iter().collect();
    let options = A::options(decode::<A::Query>(q.as_deref(), &path, analysis::known_params())?)?;
    let loaded = current(&state).await?;
    let key = analysis::key::<A>(&options);
    let wants_csv = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"));
    if A::CSV && wants_csv {
        let csv = cached_bytes(&state, &loaded.version, &format!("csv {key}"), || async {
            let memo = VersionMemo::of(&state, &loaded);
            Ok(Bytes::from(A::csv(&ctx(&loaded, &memo), &options).await?))
        })
        .await?;
        let file = A::csv_name(&options);
        return Ok((
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\"")),
            ],
            csv,
        )
            .into_response());
    }
    let json = answer::<A>(&state, &loaded, &options).await?;
    Ok(respond(&headers, &loaded.version, &key, json))
}

/// The JSON answer of `A` for `options` on `loaded`: cached, or computed under a permit.
pub(super) async fn answer<A: Analysis>(
    state: &AppState,
    loaded: &Loaded,
    options: &A::Options,
) -> Result<Bytes, ApiError> {
    let key = analysis::key::<A>(options);
    if let Some(v) = state.cached(&loaded.version, &key) {
        return Ok(v);
    }
    let memo = VersionMemo::of(state, loaded);
    if let Some(out) = A::cut(&ctx(loaded, &memo), options) {
        // cut from a kept result: no computation, so no permit to wait for
        let bytes = Bytes::from(A::to_json(&out)?);
        state.remember(&loaded.version, &key, bytes.clone());
        return Ok(bytes);
    }
    cached_bytes(state, &loaded.version, &key, || async {
        let out = ctx(loaded, &memo).run::<A>(options).await?;
        Ok(Bytes::from(A::to_json(&out)?))
    })
    .await
}

/// The results of one version that analyses may reuse: the state's typed cache.
struct VersionMemo<'a> {
    state: &'a AppState,
    version: &'a str,
}

impl Memo for VersionMemo<'_> {
    fn get(&self, key: &str) -> Option<Arc<dyn Any + Send + Sync>> {
        self.state.kept(self.version, key)
    }
    fn put(&self, key: String, value: Arc<dyn Any + Send + Sync>, weight: usize) {
        self.state.keep(self.version, key, value, weight);
    }
}

impl<'a> VersionMemo<'a> {
    fn of(state: &'a AppState, loaded: &'a Loaded) -> VersionMemo<'a> {
        VersionMemo { state, version: &loaded.version }
    }
}

/// What a request's analyses run with: `loaded`'s warehouse, the state's kept results, and the
/// request's time limit (counted from now: the computation has its permit).
fn ctx<'a>(loaded: &'a Loaded, memo: &'a VersionMemo<'a>) -> Ctx<'a> {
    Ctx::with_memo(&loaded.warehouse, memo, Some(std::time::Instant::now() + QUERY_TIME_LIMIT))
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
    HOLDS_PERMIT
        .scope((), tokio::time::timeout(QUERY_TIME_LIMIT, work()))
        .await
        .map_err(|_| ApiError::from(AnalysisError::TooLong))?
}

/// Runs `work` once per `(version, key)`: cached (as the bytes it returns), bounded in concurrency
/// and time by [`limited`].
pub(super) async fn cached_bytes<F, Fut>(state: &AppState, version: &str, key: &str, work: F) -> Result<Bytes, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Bytes, AnalysisError>>,
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

/// Computes, in the background, what the dashboard's first screens ask for (KPIs, comparison,
/// forecast): each preset of the range menu (`analysis::presets`, which the page reads too, so
/// the two cannot drift), then each single category, country and payment method on the preset
/// the page opens on and on all time. Stops when another version replaces this one.
pub async fn warm(state: Arc<AppState>, loaded: Arc<Loaded>) {
    let Ok(d) = answer_value::<kpis::Dimensions>(&state, &loaded, &()).await else { return };
    let presets = Presets::of(d.last_date, d.default_range.as_ref()).presets;
    let range = |p: &Preset| (p.from, p.to, p.vs.parse::<Versus>().unwrap_or_default());
    let mut selections: Vec<(Filter, Versus)> =
        presets.iter().map(range).map(|(from, to, vs)| (Filter::default().with_range(from, to), vs)).collect();
    // the page opens on the default range when there is one, else on all time
    let (from, to, vs) = range(&presets[0]);
    for segment in Segment::ALL {
        for v in d.values(segment) {
            if let Ok(f) = Filter::parse(FilterParams::default().with_segment(segment, v)) {
                if from.is_some() || to.is_some() {
                    selections.push((f.with_range(from, to), vs));
                }
                selections.push((f, Versus::PreviousPeriod));
            }
        }
    }
    for (f, vs) in selections {
        if !state.is_current(&loaded.version).await {
            return;
        }
        let _ = answer::<kpis::Kpis>(&state, &loaded, &f).await;
        let _ = answer::<kpis::Compare>(&state, &loaded, &(f.clone(), vs)).await;
        let _ = answer::<kpis::Forecast>(&state, &loaded, &(2, f)).await;
    }
}

/// The answer of `A` as a value: kept, or computed (and kept) under a permit.
async fn answer_value<A: Analysis>(
    state: &AppState,
    loaded: &Loaded,
    options: &A::Options,
) -> Result<Arc<A::Output>, ApiError> {
    let memo = VersionMemo::of(state, loaded);
    limited(state, || async { Ok(ctx(loaded, &memo).run::<A>(options).await?) }).await
}

/// The cache key of a filter's KPIs.
pub fn kpis_key(f: &Filter) -> String {
    analysis::key::<kpis::Kpis>(f)
}

/// `GET /healthz`: `ok`, or `degraded` while a scheduled source or a delivery is failing; to a
/// signed-in caller (or on a server without sign-in), the schedule's detail too.
pub async fn health(
    State(state): State<Arc<AppState>>,
    who: Option<axum::Extension<crate::serve::access::Principal>>,
) -> Result<Response, ApiError> {
    let loaded = current(&state).await?;
    let schedule = state.schedule.as_ref().map(|s| s.lock().expect("the status lock").clone());
    let failing = schedule.as_ref().is_some_and(crate::schedule::ScheduleStatus::failing);
    let shown = !state.gate.required() || who.is_some();
    let body = analysis::openapi::Health {
        status: if failing { "degraded" } else { "ok" }.into(),
        version: loaded.version.clone(),
        schedule: schedule.filter(|_| shown),
    };
    Ok(([(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], axum::Json(body)).into_response())
}

/// `GET /api/status`: the served version's last import (when, from what) and the schedule's
/// status, for the page's freshness line.
pub async fn status(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let loaded = current(&state).await?;
    let last_import = loaded.warehouse.version.manifest.imports.last().map(|i| analysis::openapi::LastImport {
        at: i.finished_at.clone(),
        source: i.source.clone(),
        version: i.id.clone(),
    });
    let schedule = state.schedule.as_ref().map(|s| s.lock().expect("the status lock").clone());
    let body = analysis::openapi::ServerStatus { version: loaded.version.clone(), last_import, schedule };
    Ok(([(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], axum::Json(body)).into_response())
}

/// `GET /api/openapi.json`: the document derived from the catalog.
pub async fn openapi() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| analysis::openapi::document().to_pretty_json().expect("the document serializes"));
    ([(header::CONTENT_TYPE, "application/json")], doc.as_str()).into_response()
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

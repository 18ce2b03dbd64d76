//! The customer-analytics endpoints (customers.md): thin handlers over `crate::customers`, with
//! the KPI endpoints' validation, caching per warehouse version and error shape.

use super::api::{ApiError, answer, bad_request, cached_bytes, current, filter, internal, limited, params};
use super::state::{AppState, QUERY_TIME_LIMIT};
use crate::customers::{self, ClvOptions};
use crate::model::time::parse_date;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The most customers one page of `/api/customers/rfm/customers` holds.
pub const MAX_PAGE: usize = 1000;

fn day(p: &BTreeMap<String, String>, name: &str) -> Result<Option<chrono::NaiveDate>, ApiError> {
    p.get(name).map(|v| parse_date(v).map_err(|m| bad_request(format!("parameter '{name}': {m}")))).transpose()
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    p: &BTreeMap<String, String>,
    name: &str,
    range: std::ops::RangeInclusive<T>,
    default: T,
) -> Result<T, ApiError> {
    match p.get(name) {
        None => Ok(default),
        Some(v) => v.trim().parse::<T>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
            bad_request(format!("parameter '{name}': '{v}' is not a number from {} to {}", range.start(), range.end()))
        }),
    }
}

/// `GET /api/customers/cohorts`.
pub async fn cohorts(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let f = filter(&params(q.as_deref(), &[])?)?;
    answer(&state, &headers, format!("cohorts {f:?}"), |l| async move {
        customers::cohorts(&l.warehouse, &f).await.map_err(internal)
    })
    .await
}

/// `GET /api/customers/returning`: the returning-customer rate beside the repeat-customer rate.
pub async fn returning(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let f = filter(&params(q.as_deref(), &[])?)?;
    answer(&state, &headers, format!("returning {f:?}"), |l| async move {
        customers::returning(&l.warehouse, &f).await.map_err(internal)
    })
    .await
}

/// `GET /api/customers/rfm`: the segments as of a day.
pub async fn rfm(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q.as_deref(), &["as_of"])?;
    let (f, as_of) = (filter(&p)?, day(&p, "as_of")?);
    answer(&state, &headers, format!("rfm {as_of:?} {f:?}"), |l| async move {
        customers::rfm(&l.warehouse, &f, as_of).await.map_err(internal)
    })
    .await
}

/// `GET /api/customers/rfm/customers?segment=…&page=…&per_page=…`: the customers (of a segment),
/// paged; the whole list as CSV with `Accept: text/csv`.
pub async fn rfm_customers(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q.as_deref(), &["as_of", "segment", "page", "per_page"])?;
    let (f, as_of) = (filter(&p)?, day(&p, "as_of")?);
    let segment = p.get("segment").map(|s| s.trim().to_string());
    if let Some(s) = &segment
        && !customers::rfm::SEGMENTS.contains(&s.as_str())
    {
        return Err(bad_request(format!(
            "parameter 'segment': '{s}' is not one of {}",
            customers::rfm::SEGMENTS.join(", ")
        )));
    }
    let page = number(&p, "page", 1..=usize::MAX, 1)?;
    let per_page = number(&p, "per_page", 1..=MAX_PAGE, 100)?;
    let loaded = current(&state).await?;
    // every customer's rows are computed once per (as_of, filter), under a permit, and kept
    // decoded: pages are cut from them, CSVs computed under a permit and cached as bytes
    let list_key = format!("rfm customers {as_of:?} {f:?}");
    let all = match state.customer_list(&loaded.version, &list_key) {
        Some(all) => all,
        None => {
            limited(&state, || async {
                if let Some(all) = state.customer_list(&loaded.version, &list_key) {
                    return Ok(all);
                }
                let all = Arc::new(customers::rfm(&loaded.warehouse, &f, as_of).await.map_err(internal)?.customers);
                state.remember_customer_list(&loaded.version, &list_key, all.clone());
                Ok(all)
            })
            .await?
        }
    };
    let chosen = || all.iter().filter(|c| segment.as_deref().is_none_or(|s| c.segment == s));
    let wants_csv = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"));
    if wants_csv {
        let name = segment.as_deref().unwrap_or("all").to_lowercase().replace(['\'', ' '], "-");
        let key = format!("rfm csv {segment:?} {list_key}");
        let (list, wanted) = (all.clone(), segment.clone());
        let csv = cached_bytes(&state, &loaded.version, &key, || async move {
            // writing every customer is CPU work: on the blocking pool, so the runtime keeps answering
            let rows = move || {
                let chosen = list.iter().filter(|c| wanted.as_deref().is_none_or(|s| c.segment == s));
                axum::body::Bytes::from(customers::rfm::csv(chosen))
            };
            tokio::task::spawn_blocking(rows).await.map_err(internal)
        })
        .await?;
        return Ok((
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"rfm-{name}.csv\"")),
            ],
            csv,
        )
            .into_response());
    }
    let chosen: Vec<&customers::RfmCustomer> = chosen().collect();
    let start = (page - 1).saturating_mul(per_page).min(chosen.len());
    let rows: Vec<_> = chosen.iter().skip(start).take(per_page).collect();
    let body = serde_json::json!({
        "segment": segment,
        "total": chosen.len(),
        "page": page,
        "per_page": per_page,
        "customers": rows,
    });
    Ok(axum::Json(body).into_response())
}

/// `GET /api/customers/clv`: the fits and the top customers by CLV.
pub async fn clv(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q.as_deref(), &["calibration_end", "horizon_weeks", "discount_rate"])?;
    let f = filter(&p)?;
    let options = ClvOptions {
        calibration_end: day(&p, "calibration_end")?,
        horizon_weeks: number(&p, "horizon_weeks", 1..=520, 52)?,
        discount_rate: p.get("discount_rate").map(|_| number(&p, "discount_rate", 0.0..=10.0, 0.0)).transpose()?,
        top: f.top(),
        deadline: None,
    };
    let key = format!("clv {options:?} {f:?}");
    answer(&state, &headers, key, |l| async move {
        // stop the fit with the request's time limit, so no core stays busy after a 503
        let options = ClvOptions { deadline: Some(std::time::Instant::now() + QUERY_TIME_LIMIT), ..options };
        let c = customers::clv(&l.warehouse, &f, &options).await.map_err(internal)?;
        if c.stopped {
            return Err(ApiError(StatusCode::SERVICE_UNAVAILABLE, "the computation took too long".into()));
        }
        Ok(c)
    })
    .await
}

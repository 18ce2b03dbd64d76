//! A small memory limit never makes a KPI request fail: concurrent unfiltered requests and the
//! server's warm-up share a 64 MB limit on a 200k-order shop, and every answer equals the
//! oracle's. Before each computation had a pool of its own (and before the KPI queries lost
//! their COUNT(DISTINCT)s), this failed with "Resources exhausted".

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::oracle::{self, OracleFilter};
use shoplens::model::{Filter, MemoryLimit};
use shoplens::serve::{api, router, state::AppState};
use shoplens::warehouse::{Store, Warehouse};
use std::sync::Arc;
use tower::ServiceExt;

const SMALL: &str = "64M";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_and_the_warm_up_fit_in_64_mb() {
    let shop = common::shop(11, 200_000);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    let want = oracle::kpis(shop.path(), &OracleFilter { top: 10, ..Default::default() });

    // the engine alone, in one small pool
    let limit: MemoryLimit = SMALL.parse().unwrap();
    let w = Warehouse::open_limited(&Store::new(wh.path()), limit, 1).await.unwrap();
    let got = serde_json::to_value(shoplens::metrics::compute(&w, &Filter::default()).await.unwrap()).unwrap();
    if let Some(d) = oracle::diff(&got, &want, "kpis") {
        panic!("kpi with {SMALL}: {d}");
    }

    // the server: four unfiltered requests at once while the warm-up runs
    let state = Arc::new(AppState::open(Store::new(wh.path()), "EUR".into(), limit).await.unwrap());
    let warm = tokio::spawn(api::warm(state.clone(), state.loaded().await));
    let app = router(state);
    let requests = (0..4).map(|_| {
        let app = app.clone();
        tokio::spawn(async move {
            let resp = app.oneshot(Request::get("/api/kpis").body(Body::empty()).unwrap()).await.unwrap();
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
            (status, body)
        })
    });
    for r in futures::future::join_all(requests).await {
        let (status, body) = r.unwrap();
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let got: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if let Some(d) = oracle::diff(&got, &want, "kpis") {
            panic!("/api/kpis with {SMALL}: {d}");
        }
    }
    warm.abort();
}

#[test]
fn a_limit_below_the_minimum_is_refused_by_the_command_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .args(["--memory-limit", "8M", "kpi", "--warehouse", "nowhere"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("below the smallest memory limit, 64M"), "{err}");
}

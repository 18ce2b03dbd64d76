//! The JSON API over a generated warehouse: every endpoint answers what the KPI engine computes,
//! filters included; every bad parameter gets its 400; caching, compression and hot reload work.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use shoplens::model::Filter;
use shoplens::model::filter::FilterParams;
use shoplens::serve::{router, state::AppState};
use shoplens::warehouse::{Store, Warehouse};
use std::sync::Arc;
use tower::ServiceExt;

struct Api {
    app: axum::Router,
    _shop: tempfile::TempDir,
    wh: tempfile::TempDir,
}

async fn api() -> Api {
    let shop = common::shop(31, 4000);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    let state = AppState::open(Store::new(wh.path()), "EUR".into(), Default::default()).await.unwrap();
    Api { app: router(Arc::new(state)), _shop: shop, wh }
}

async fn get(app: &axum::Router, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, axum::body::to_bytes(body, usize::MAX).await.unwrap().to_vec())
}

async fn json(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let (status, _, body) = get(app, uri, &[]).await;
    (
        status,
        serde_json::from_slice(&body).unwrap_or_else(|_| panic!("{uri}: not JSON: {}", String::from_utf8_lossy(&body))),
    )
}

async fn engine(wh: &std::path::Path, p: FilterParams<'_>) -> Value {
    common::kpis(wh, &Filter::parse(p).unwrap()).await
}

#[tokio::test]
async fn every_endpoint_answers_what_the_engine_computes() {
    let a = api().await;
    let cases: Vec<(&str, FilterParams)> = vec![
        ("", FilterParams::default()),
        (
            "?from=2023-01-01&to=2023-06-30",
            FilterParams { from: Some("2023-01-01"), to: Some("2023-06-30"), ..Default::default() },
        ),
        ("?category=Books&top=3", FilterParams { category: Some("Books"), top: Some("3"), ..Default::default() }),
        ("?country=DE", FilterParams { country: Some("DE"), ..Default::default() }),
        ("?method=paypal", FilterParams { method: Some("paypal"), ..Default::default() }),
    ];
    for (q, p) in cases {
        let want = engine(a.wh.path(), p).await;
        let (status, got) = json(&a.app, &format!("/api/kpis{q}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got, want, "/api/kpis{q}");
        for (path, key) in [
            ("summary", "summary"),
            ("monthly", "monthly"),
            ("categories", "categories"),
            ("top-products", "top_products"),
            ("order-frequency", "order_frequency"),
            ("top-customers", "top_customers"),
            ("payment-methods", "payment_methods"),
        ] {
            let (status, got) = json(&a.app, &format!("/api/kpis/{path}{q}")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(got, want[key], "/api/kpis/{path}{q}");
        }
    }

    let (_, dims) = json(&a.app, "/api/dimensions").await;
    let w = Warehouse::open(&Store::new(a.wh.path())).await.unwrap();
    assert_eq!(dims, serde_json::to_value(shoplens::metrics::dimensions(&w).await.unwrap()).unwrap());
    assert!(dims["categories"].as_array().unwrap().iter().any(|c| c == "Uncategorized"));
    assert_eq!(dims["first_date"], "2022-01-01");

    let (status, fc) = json(&a.app, "/api/forecast?country=FR&horizon=3").await;
    assert_eq!(status, StatusCode::OK);
    let f = Filter::parse(FilterParams { country: Some("FR"), ..Default::default() }).unwrap();
    let (monthly, last) = shoplens::metrics::monthly(&w, &f).await.unwrap();
    let series = shoplens::forecast::revenue_series(&monthly, last).unwrap();
    assert_eq!(fc, serde_json::to_value(shoplens::forecast::forecast(&series, 3).unwrap()).unwrap());
    assert_eq!(fc["path"].as_array().unwrap().len(), 3);
    // the generated shop ends on 2024-12-31: December is complete, January is next
    assert_eq!((fc["series_end"].as_str(), fc["month"].as_str()), (Some("2024-12"), Some("2025-01")));

    let (status, h) = json(&a.app, "/healthz").await;
    assert_eq!((status, h["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (status, doc) = json(&a.app, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/api/kpis",
        "/api/kpis/compare",
        "/api/kpis/{section}",
        "/api/dimensions",
        "/api/forecast",
        "/api/explain",
        "/api/projection",
        "/api/alerts",
        "/healthz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
}

#[tokio::test]
async fn insight_endpoints_answer_the_core_and_refuse_bad_parameters() {
    let a = api().await;
    let w = shoplens::warehouse::Warehouse::open(&shoplens::warehouse::Store::new(a.wh.path())).await.unwrap();
    let (status, e) = json(&a.app, "/api/explain?from=2024-06-01&to=2024-06-30&vs=previous_year").await;
    assert_eq!(status, StatusCode::OK);
    let f = shoplens::model::Filter::parse(FilterParams {
        from: Some("2024-06-01"),
        to: Some("2024-06-30"),
        ..Default::default()
    })
    .unwrap();
    let core =
        shoplens::insights::explain(&w, &f, shoplens::metrics::compare::Versus::PreviousYear).await.unwrap().unwrap();
    assert_eq!(e, serde_json::to_value(core).unwrap());
    let (status, p) = json(&a.app, "/api/projection?as_of=2024-11-14&country=DE").await;
    assert_eq!((status, p["month"].as_str(), p["days_elapsed"].as_u64()), (StatusCode::OK, Some("2024-11"), Some(14)));
    let (status, al) = json(&a.app, "/api/alerts").await;
    assert_eq!((status, al["month"].as_str()), (StatusCode::OK, Some("2024-12")));
    for (url, says) in [
        ("/api/explain?vs=last_week", "parameter 'vs'"),
        ("/api/explain?vs=2024-02-01:2024-01-01", "parameter 'vs'"),
        ("/api/projection?as_of=2024-13-01", "parameter 'as_of'"),
        ("/api/projection?from=2024-01-01", "parameter 'from'"),
        ("/api/alerts?country=DE", "takes no parameters"),
    ] {
        let (status, body) = json(&a.app, url).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}");
        assert!(body["error"].as_str().unwrap().contains(says), "{url}: {body}");
    }
}

#[tokio::test]
async fn compare_puts_a_range_against_the_previous_period_and_year() {
    let a = api().await;
    let (status, c) = json(&a.app, "/api/kpis/compare?from=2024-03-01&to=2024-03-31&country=FR").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (c["comparison"]["from"].as_str(), c["comparison"]["to"].as_str()),
        (Some("2024-01-30"), Some("2024-02-29"))
    );
    let now = engine(
        a.wh.path(),
        FilterParams { from: Some("2024-03-01"), to: Some("2024-03-31"), country: Some("FR"), ..Default::default() },
    )
    .await;
    let before = engine(
        a.wh.path(),
        FilterParams { from: Some("2024-01-30"), to: Some("2024-02-29"), country: Some("FR"), ..Default::default() },
    )
    .await;
    assert_eq!(c["range"]["summary"], now["summary"]);
    assert_eq!(c["comparison"]["summary"], before["summary"]);
    let rel = |k: &str| now["summary"][k].as_f64().unwrap() / before["summary"][k].as_f64().unwrap() - 1.0;
    for k in ["total_revenue", "orders", "customers", "average_order_value"] {
        assert!((c["change"][k].as_f64().unwrap() - rel(k)).abs() < 1e-6, "{k}");
    }
    let (_, y) = json(&a.app, "/api/kpis/compare?from=2024-02-01&to=2024-02-29&vs=previous_year").await;
    assert_eq!(
        (y["comparison"]["from"].as_str(), y["comparison"]["to"].as_str()),
        (Some("2023-02-01"), Some("2023-02-28"))
    );
}

#[tokio::test]
async fn every_bad_parameter_gets_a_400_naming_it() {
    let a = api().await;
    for (uri, words) in [
        ("/api/kpis?from=2024-02-30", "'from'"),
        ("/api/kpis?from=yesterday", "'from'"),
        ("/api/kpis?to=2024-1-1", "'to'"),
        ("/api/kpis?from=2024-03-01&to=2024-02-01", "'from'"),
        ("/api/kpis?top=-1", "'top'"),
        ("/api/kpis?top=abc", "'top'"),
        ("/api/kpis?top=100000", "'top'"),
        ("/api/kpis?category=", "'category'"),
        ("/api/kpis?colour=red", "unknown parameter 'colour'"),
        ("/api/kpis?from=2024-01-01&from=2024-02-01", "'from' is given more than once"),
        ("/api/kpis/summary?country=", "'country'"),
        ("/api/kpis/compare?vs=last_week", "'vs'"),
        ("/api/forecast?horizon=0", "'horizon'"),
        ("/api/forecast?horizon=x", "'horizon'"),
        ("/api/dimensions?x=1", "parameter"),
        // a value the warehouse does not have: tables of zeros would look like an answer
        ("/api/kpis?country=de", "did you mean 'DE'?"),
        ("/api/kpis?category=Elecronics", "did you mean 'Electronics'?"),
        ("/api/kpis?category=Jeans", "no category 'Jeans' in the warehouse (it has 11: 'Beauty', 'Books'"),
        ("/api/kpis/summary?method=bitcoin", "no method 'bitcoin'"),
        (
            "/api/kpis/compare?channel=Online%20Store",
            "no channel 'Online Store' in the warehouse (it has 'unspecified')",
        ),
        ("/api/customers/cohorts?country=Germany", "no country 'Germany'"),
        ("/api/explain?category=toys", "did you mean 'Toys'?"),
    ] {
        let (status, body) = json(&a.app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(body["error"].as_str().unwrap().contains(words), "{uri}: {body}");
    }
    for uri in ["/api/nothing", "/api/kpis/revenue", "/assets/nothing.js"] {
        let (status, body) = json(&a.app, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(body["error"].is_string());
    }
    // a filter that keeps too few months for a forecast: 422 with the reason
    let (status, body) = json(&a.app, "/api/forecast?from=2024-01-01&to=2024-01-31").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].as_str().unwrap().contains("at least 3"));
}

#[tokio::test]
async fn responses_are_compressed_cached_and_follow_a_new_import() {
    let a = api().await;
    let (status, headers, _) = get(&a.app, "/api/kpis", &[("accept-encoding", "gzip")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    let etag = headers[header::ETAG].to_str().unwrap().to_string();
    let (status, _, body) = get(&a.app, "/api/kpis", &[("if-none-match", &etag)]).await;
    assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
    let (_, other, _) = get(&a.app, "/api/kpis?country=DE", &[]).await;
    assert_ne!(other[header::ETAG], etag.as_str());
    let (status, page_headers, page) = get(&a.app, "/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page_headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("data-currency=\"EUR\""));
    // the analyses the page may call, from the server; its code as ES modules
    let at = page.find("id=\"shoplens-catalog\">").unwrap() + "id=\"shoplens-catalog\">".len();
    let catalog: serde_json::Value =
        serde_json::from_str(&page[at..at + page[at..].find("</script>").unwrap()]).unwrap();
    let kpis = catalog.as_array().unwrap().iter().find(|a| a["name"] == "kpis").unwrap();
    assert_eq!(kpis["path"], "/api/kpis");
    assert_eq!(
        kpis["params"],
        serde_json::json!(["from", "to", "category", "country", "method", "channel", "product", "top"])
    );
    assert!(page.contains("<script type=\"module\" src=\"/assets/js/main.js\">"));
    for module in ["/assets/js/main.js", "/assets/js/api.js", "/assets/js/views/overview.js", "/assets/js/views/map.js"]
    {
        let (status, headers, _) = get(&a.app, module, &[]).await;
        assert_eq!(status, StatusCode::OK, "{module}");
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"), "{module}");
    }
    let (status, _, chart) = get(&a.app, "/assets/vendor/chart.js/chart.umd.min.js", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(chart.len() > 100_000);

    // a new import is picked up without a restart
    let (_, before) = json(&a.app, "/api/kpis/summary").await;
    let shop = common::shop(32, 1500);
    common::import(shop.path(), a.wh.path()).await.unwrap();
    let (_, after) = json(&a.app, "/api/kpis/summary").await;
    assert_ne!(before, after);
    assert_eq!(after, common::kpis(a.wh.path(), &Filter::default()).await["summary"]);
    let (_, headers, _) = get(&a.app, "/api/kpis", &[]).await;
    assert_ne!(headers[header::ETAG].to_str().unwrap(), etag);
}

#[tokio::test]
async fn a_new_version_is_warmed_for_every_single_filter() {
    let shop = common::shop(33, 1500);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    let state = Arc::new(AppState::open(Store::new(wh.path()), "EUR".into(), Default::default()).await.unwrap());
    let loaded = state.loaded().await;
    let country = Filter::parse(FilterParams { country: Some("SE"), ..Default::default() }).unwrap();
    assert!(state.cached(&loaded.version, &shoplens::serve::api::kpis_key(&country)).is_none());
    shoplens::serve::api::warm(state.clone(), loaded.clone()).await;
    for f in [
        Filter::default(),
        country,
        Filter::parse(FilterParams { category: Some("Uncategorized"), ..Default::default() }).unwrap(),
        Filter::parse(FilterParams { method: Some("gift_card"), ..Default::default() }).unwrap(),
    ] {
        let cached = state.cached(&loaded.version, &shoplens::serve::api::kpis_key(&f)).expect("warmed");
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&cached).unwrap(), common::kpis(wh.path(), &f).await);
    }
}

#[tokio::test]
async fn the_customer_endpoints_answer_what_the_engine_computes() {
    use shoplens::customers as cust;
    let a = api().await;
    let wh = Warehouse::open(&Store::new(a.wh.path())).await.unwrap();
    let de = Filter::parse(FilterParams { country: Some("DE"), ..Default::default() }).unwrap();
    let (status, got) = json(&a.app, "/api/customers/cohorts?country=DE").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, serde_json::to_value(cust::cohorts(&wh, &de).await.unwrap()).unwrap());
    let (status, got) = json(&a.app, "/api/customers/returning?from=2023-01-01&to=2023-12-31").await;
    assert_eq!(status, StatusCode::OK);
    let year =
        Filter::parse(FilterParams { from: Some("2023-01-01"), to: Some("2023-12-31"), ..Default::default() }).unwrap();
    let r = cust::returning(&wh, &year).await.unwrap();
    assert_eq!(got["returning_customer_rate"], serde_json::json!(r.returning_customer_rate));
    let repeat = common::kpis(a.wh.path(), &year).await["order_frequency"]["repeat_customer_rate"].clone();
    assert_eq!(got["repeat_customer_rate"], repeat);
    let (status, got) = json(&a.app, "/api/customers/rfm?as_of=2024-06-30").await;
    assert_eq!(status, StatusCode::OK);
    let rfm = cust::rfm(&wh, &Filter::default(), Some("2024-06-30".parse().unwrap())).await.unwrap();
    assert_eq!(got, serde_json::to_value(&rfm).unwrap());
    // one segment's customers, paged, and as CSV
    let champions: Vec<_> = rfm.customers.iter().filter(|c| c.segment == "Champions").collect();
    assert!(champions.len() > 3);
    let (status, page) =
        json(&a.app, "/api/customers/rfm/customers?as_of=2024-06-30&segment=Champions&per_page=2&page=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], serde_json::json!(champions.len()));
    assert_eq!(page["customers"][0]["customer_id"], serde_json::json!(champions[2].customer_id));
    let (status, headers, body) =
        get(&a.app, "/api/customers/rfm/customers?as_of=2024-06-30&segment=Champions", &[("accept", "text/csv")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
    let csv = String::from_utf8(body).unwrap();
    assert_eq!(csv.lines().count(), champions.len() + 1);
    assert!(csv.starts_with("customer_id,customer_name,recency_days"));
    let (status, got) = json(&a.app, "/api/customers/clv?top=3&horizon_weeks=26").await;
    assert_eq!(status, StatusCode::OK);
    let options = cust::ClvOptions { horizon_weeks: 26, top: 3, ..Default::default() };
    let want = cust::clv(&wh, &Filter::default(), &options).await.unwrap();
    assert_eq!(got, serde_json::to_value(&want).unwrap());
    assert_eq!(got["top"].as_array().unwrap().len(), 3);
    // the same 400s as the KPI endpoints, and a few of their own
    for bad in [
        "/api/customers/cohorts?from=yesterday",
        "/api/customers/rfm?as_of=2024-02-30",
        "/api/customers/rfm/customers?segment=Whales",
        "/api/customers/rfm/customers?per_page=5000",
        "/api/customers/clv?horizon_weeks=0",
        "/api/customers/clv?discount_rate=-1",
        "/api/customers/returning?bogus=1",
    ] {
        let (status, body) = json(&a.app, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["error"].as_str().unwrap().contains('\''), "{bad}: {body}");
    }
}

#[tokio::test]
async fn a_segment_csv_is_named_after_its_segment_when_cached_too() {
    let a = api().await;
    let uri = "/api/customers/rfm/customers?segment=At%20risk";
    for _ in 0..2 {
        let (status, headers, body) = get(&a.app, uri, &[("accept", "text/csv")]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_DISPOSITION], "attachment; filename=\"rfm-at-risk.csv\"");
        assert!(String::from_utf8(body).unwrap().starts_with("customer_id,"));
    }
}

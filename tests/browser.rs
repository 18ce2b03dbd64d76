//! The dashboard in a real browser: `tests/e2e/dashboard.mjs` drives headless Chromium (Debian's,
//! with playwright-core) against a server on loopback, and saves screenshots under `target/`.
//! `.ci/run` installs Chromium and the script's package; elsewhere the test says what is missing.

mod common;

use shoplens::serve::Server;
use shoplens::warehouse::Store;
use std::path::Path;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_real_browser() {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ready = Path::new(&chromium).exists() && e2e.join("node_modules/playwright-core").exists();
    if !ready {
        // CI must run it: .ci/run installs both
        assert!(std::env::var("CI").is_err(), "CI lacks Chromium or tests/e2e/node_modules");
        eprintln!("skipped: needs {chromium} and `npm ci` in tests/e2e (as .ci/run does)");
        return;
    }
    let shop = common::shop(41, 20_000);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    // a shared dashboard: the browser signs in, the script reads the API with a token
    let mut access = shoplens::serve::access::Credentials::default();
    access.add_user("ana", "correct horse battery", false).unwrap();
    let token = access.add_token("e2e").unwrap();
    access.save(wh.path()).unwrap();
    let server =
        Server::bind(Store::new(wh.path()), "127.0.0.1:0".parse().unwrap(), "EUR", Default::default()).await.unwrap();
    let base = format!("http://{}", server.addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    // the report of the same warehouse, for a country, opened from a file
    let report = wh.path().join("report.html");
    {
        let w = shoplens::warehouse::Warehouse::open(&Store::new(wh.path())).await.unwrap();
        let f = common::filter(shoplens::model::filter::FilterParams { country: Some("DE"), ..Default::default() });
        // as `shoplens report` does: without dates, the default range and its comparison
        let dims = shoplens::metrics::dimensions(&w).await.unwrap();
        let (f, vs) = shoplens::metrics::compare::with_default(&f, &dims);
        assert!(f.from().is_some(), "the test shop has a default range");
        let data = shoplens::report::gather(&w, &f, vs).await.unwrap();
        assert!(data.compare.as_ref().unwrap().comparison.summary.orders > 0, "the report compares with orders");
        std::fs::write(&report, shoplens::report::render(&data, &f, &vs, "now", "EUR")).unwrap();
    }
    let result = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(e2e.join("dashboard.mjs"))
            .arg(&base)
            .arg(&out)
            .arg(&report)
            .env("CHROMIUM", chromium)
            .env("SHOPLENS_USER", "ana")
            .env("SHOPLENS_PASSWORD", "correct horse battery")
            .env("SHOPLENS_TOKEN", token)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "browser checks failed: {stdout}\n{}", String::from_utf8_lossy(&result.stderr));
    let report: serde_json::Value = serde_json::from_str(stdout.trim().lines().last().unwrap()).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["checks"].as_array().unwrap().len(), 18, "{report}");
}

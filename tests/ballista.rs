//! Scale-out on Ballista (the `ballista` feature): a scheduler and two executors run as separate
//! processes of the shoplens binary on loopback ports, talking gRPC. Ballista has known
//! correctness issues, so every result is compared with the single-process one; killing an
//! executor mid-query must give either that result or a clear error, never another number.
#![cfg(feature = "ballista")]

mod common;

use shoplens::model::filter::FilterParams;
use shoplens::model::{Filter, MemoryLimit};
use shoplens::warehouse::{Engine, Store, Warehouse};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A scheduler and its executors, stopped when dropped.
struct Cluster {
    port: u16,
    scheduler: Child,
    executors: Vec<Child>,
    logs: tempfile::TempDir,
}

impl Cluster {
    /// Starts a scheduler and `n` executors and waits until every executor polls for work.
    fn start(n: usize) -> Cluster {
        let logs = tempfile::tempdir().unwrap();
        let port = free_port();
        let exe = env!("CARGO_BIN_EXE_shoplens");
        let log = |name: &str| std::fs::File::create(logs.path().join(name)).unwrap();
        let scheduler = Command::new(exe)
            .args(["cluster", "scheduler", "--bind", &format!("127.0.0.1:{port}"), "--executor-timeout", "10"])
            // the scheduler says when it removes an executor
            .env("RUST_LOG", "shoplens=info,ballista_scheduler::state::executor_manager=info")
            .stdout(Stdio::null())
            .stderr(log("scheduler.log"))
            .spawn()
            .unwrap();
        let mut executors = Vec::new();
        for i in 0..n {
            let work = logs.path().join(format!("work-{i}"));
            let child = Command::new(exe)
                .args(["--memory-limit", "512M", "cluster", "executor"])
                .args(["--scheduler", &format!("127.0.0.1:{port}")])
                .args(["--bind", &format!("127.0.0.1:{}", free_port()), "--grpc-port", &free_port().to_string()])
                .args(["--concurrency", "2", "--heartbeat", "1", "--work-dir", work.to_str().unwrap()])
                // the executor says when it has joined the scheduler
                .env("RUST_LOG", "ballista_executor=info")
                .stdout(Stdio::null())
                .stderr(log(&format!("executor-{i}.log")))
                .spawn()
                .unwrap();
            executors.push(child);
        }
        let cluster = Cluster { port, scheduler, executors, logs };
        let deadline = Instant::now() + Duration::from_secs(60);
        while (0..n).any(|i| !cluster.log(&format!("executor-{i}.log")).contains("Starting poll work loop")) {
            assert!(Instant::now() < deadline, "the executors did not join: {}", cluster.log("executor-0.log"));
            std::thread::sleep(Duration::from_millis(100));
        }
        cluster
    }

    fn engine(&self) -> Engine {
        format!("ballista://127.0.0.1:{}", self.port).parse().unwrap()
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.path().join(name)).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.executors.iter_mut().chain(std::iter::once(&mut self.scheduler)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A generated shop's warehouse.
async fn warehouse(orders: u64) -> (tempfile::TempDir, PathBuf) {
    let shop = common::shop(11, orders);
    let wh = shop.path().join("warehouse");
    common::import(shop.path(), &wh).await.unwrap();
    (shop, wh)
}

async fn open(wh: &Path, engine: Engine) -> Warehouse {
    Warehouse::open_on(&Store::new(wh), MemoryLimit::DEFAULT, 1, engine).await.unwrap()
}

fn filters() -> Vec<Filter> {
    let f = common::filter;
    vec![
        Filter::default(),
        f(FilterParams { country: Some("DE"), ..Default::default() }),
        f(FilterParams {
            category: Some("Books"),
            from: Some("2023-03-01"),
            to: Some("2024-02-29"),
            ..Default::default()
        }),
        f(FilterParams { method: Some("paypal"), top: Some("3"), ..Default::default() }),
        // nothing in range: the empty stages that hung Ballista's adaptive planner
        f(FilterParams { from: Some("2031-01-01"), to: Some("2031-12-31"), ..Default::default() }),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_analysis_on_two_executors_equals_one_process() {
    let (_shop, wh) = warehouse(20_000).await;
    let cluster = Cluster::start(2);
    let (local, remote) = (open(&wh, Engine::Local).await, open(&wh, cluster.engine()).await);
    for filter in filters() {
        let (a, b) =
            (shoplens::metrics::compute(&local, &filter).await, shoplens::metrics::compute(&remote, &filter).await);
        assert_eq!(b.unwrap(), a.unwrap(), "{filter:?}");
    }
    assert_eq!(
        shoplens::metrics::dimensions(&remote).await.unwrap(),
        shoplens::metrics::dimensions(&local).await.unwrap()
    );
    let f = Filter::default();
    assert_eq!(
        json(&shoplens::customers::cohorts(&remote, &f).await.unwrap()),
        json(&shoplens::customers::cohorts(&local, &f).await.unwrap())
    );
    assert_eq!(
        json(&shoplens::customers::rfm(&remote, &f, None).await.unwrap()),
        json(&shoplens::customers::rfm(&local, &f, None).await.unwrap())
    );
    let vs = shoplens::metrics::compare::Versus::PreviousYear;
    let march = common::filter(FilterParams { from: Some("2024-03-01"), to: Some("2024-03-31"), ..Default::default() });
    assert_eq!(
        json(&shoplens::insights::explain(&remote, &march, vs).await.unwrap()),
        json(&shoplens::insights::explain(&local, &march, vs).await.unwrap())
    );
    assert_eq!(
        json(&shoplens::insights::alerts(&remote).await.unwrap()),
        json(&shoplens::insights::alerts(&local).await.unwrap())
    );
}

/// An analysis's result as JSON, to compare.
fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

/// The body of `GET uri` from the dashboard's router.
async fn get(app: &axum::Router, uri: &str) -> (axum::http::StatusCode, Vec<u8>) {
    use tower::ServiceExt;
    let request = axum::http::Request::get(uri).body(axum::body::Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (status, axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_api_on_the_cluster_answers_as_one_process() {
    use shoplens::serve::{router, state::AppState};
    let (_shop, wh) = warehouse(8_000).await;
    let cluster = Cluster::start(2);
    let app = |engine: Engine| {
        let wh = wh.clone();
        async move {
            let state = AppState::open_on(Store::new(&wh), "EUR".into(), MemoryLimit::DEFAULT, engine).await.unwrap();
            router(std::sync::Arc::new(state))
        }
    };
    let (local, remote) = (app(Engine::Local).await, app(cluster.engine()).await);
    for uri in [
        "/api/kpis",
        "/api/kpis?category=Books&country=DE",
        "/api/kpis/compare?vs=previous_year&from=2024-01-01&to=2024-06-30",
        "/api/dimensions",
        "/api/forecast",
        "/api/explain?from=2024-03-01&to=2024-03-31&vs=previous_year",
        "/api/projection",
        "/api/alerts",
        "/api/customers/cohorts",
        "/api/customers/returning",
        "/api/customers/rfm",
        "/api/customers/clv",
        // locally the first-time shares come from the first days kept in memory; on the cluster
        // from the join that defines them (products/sql/first_time.sql): the same answer
        "/api/products",
        "/api/products?level=variant&from=2024-01-01&to=2024-06-30",
        "/api/products?level=category&country=DE",
        "/api/products/pairs?min_orders=2",
        "/api/products/journey",
    ] {
        let (a, b) = (get(&local, uri).await, get(&remote, uri).await);
        assert_eq!(a.0, axum::http::StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&a.1));
        assert_eq!(b.0, a.0, "{uri}: {}", String::from_utf8_lossy(&b.1));
        assert_eq!(String::from_utf8_lossy(&b.1), String::from_utf8_lossy(&a.1), "{uri}");
    }
}

fn shoplens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoplens")).args(args).output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_commands_run_on_the_cluster() {
    let (_shop, wh) = warehouse(5_000).await;
    let cluster = Cluster::start(2);
    let (wh, engine) = (wh.to_str().unwrap(), cluster.engine().to_string());
    let local = shoplens(&["kpi", "--warehouse", wh, "--json"]);
    let remote = shoplens(&["kpi", "--warehouse", wh, "--json", "--engine", &engine]);
    assert!(remote.status.success(), "{}", String::from_utf8_lossy(&remote.stderr));
    assert_eq!(remote.stdout, local.stdout);
    let query =
        "SELECT category, COUNT(*) AS n, SUM(quantity) AS q FROM order_lines GROUP BY category ORDER BY category";
    let local = shoplens(&["sql", "--warehouse", wh, "--format", "csv", query]);
    let remote = shoplens(&["sql", "--warehouse", wh, "--format", "csv", "--engine", &engine, query]);
    assert!(remote.status.success(), "{}", String::from_utf8_lossy(&remote.stderr));
    assert_eq!(remote.stdout, local.stdout);
    // the SQL stays read-only on a cluster
    let drop = shoplens(&["sql", "--warehouse", wh, "--engine", &engine, "DROP TABLE fact_order_line"]);
    assert_eq!(drop.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&drop.stderr).contains("only read-only queries"));
    // a scheduler that is not there is said plainly, at once
    let started = Instant::now();
    let nowhere = format!("ballista://127.0.0.1:{}", free_port());
    let o = shoplens(&["kpi", "--warehouse", wh, "--engine", &nowhere]);
    assert_eq!(o.status.code(), Some(1));
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(said.contains(&format!("cannot reach the Ballista scheduler at {nowhere}: Connection refused")), "{said}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_an_executor_mid_query_gives_the_right_numbers_or_an_error() {
    let (_shop, wh) = warehouse(150_000).await;
    let expected = serde_json::to_string_pretty(
        &shoplens::metrics::compute(&open(&wh, Engine::Local).await, &Filter::default()).await.unwrap(),
    )
    .unwrap();
    let mut cluster = Cluster::start(2);
    let engine = cluster.engine().to_string();
    let exe = env!("CARGO_BIN_EXE_shoplens");
    let mut runs: Vec<Child> = (0..3)
        .map(|_| {
            Command::new(exe)
                .args(["kpi", "--json", "--warehouse", wh.to_str().unwrap(), "--engine", &engine])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    assert!(runs.iter_mut().any(|r| r.try_wait().unwrap().is_none()), "the queries ended before the kill");
    let victim = &mut cluster.executors[1];
    victim.kill().unwrap();
    victim.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut completed, mut failed) = (0, 0);
    for mut run in runs {
        let status = loop {
            if let Some(status) = run.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = run.kill();
                panic!("a query hung after the executor was killed: {}", cluster.log("scheduler.log"));
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let (mut out, mut err) = (String::new(), String::new());
        run.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        run.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        if status.success() {
            assert_eq!(out.trim_end(), expected, "a query on the damaged cluster returned other numbers");
            completed += 1;
        } else {
            assert_eq!(status.code(), Some(1), "{err}");
            assert!(err.contains("error: KPI query") && err.contains("failed"), "not a clear error: {err}");
            if err.contains("failed: Cancelled") {
                assert!(err.contains("hint: the Ballista cluster cancelled the query"), "{err}");
            }
            failed += 1;
        }
    }
    eprintln!("after the kill: {completed} suites completed with the right numbers, {failed} failed with an error");
    // the cluster still works on the executor that is left, once the scheduler has removed the
    // other: a query running at that moment is cancelled, and so is one running when a loaded
    // machine delays the survivor's heartbeats past the timeout, so it gets three tries
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cluster.log("scheduler.log").contains("Removing executor") {
        assert!(Instant::now() < deadline, "the killed executor was never removed");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut tries = 0;
    let after = loop {
        tries += 1;
        let after = shoplens(&["kpi", "--json", "--warehouse", wh.to_str().unwrap(), "--engine", &engine]);
        let err = String::from_utf8_lossy(&after.stderr).into_owned();
        if after.status.success() || tries == 3 || !err.contains("hint: the Ballista cluster cancelled") {
            break after;
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    assert!(after.status.success(), "{}\n{}", String::from_utf8_lossy(&after.stderr), cluster.log("scheduler.log"));
    assert_eq!(String::from_utf8_lossy(&after.stdout).trim_end(), expected);
}

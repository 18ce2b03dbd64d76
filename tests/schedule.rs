//! Schedules: digests and alerts delivered to webhooks exactly once, on a clock the tests
//! control (no test waits a day), signed, with the figures of `kpi`; failed deliveries retried
//! with backoff; a drop folder imported while serving, a slowly written export once and whole,
//! a bad one refused and shown, nothing imported again after a restart (the refusal still
//! shown). The e-mail side, with a real SMTP server and a SIGKILL in the middle of a send, is
//! `tests/notify_smtp.py` (run by `notify_smtp_*` below).

mod common;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use shoplens::notify::Notifier;
use shoplens::schedule::config::Schedule;
use shoplens::warehouse::{Store, Warehouse};
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const KEY: &str = "a shared signing key";

/// A local HTTP receiver for webhooks: records each body with its headers; answers 500 to the
/// first `fail` requests.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    attempts: Arc<AtomicUsize>,
}

async fn receiver(fail: usize) -> Receiver {
    let got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let attempts = Arc::new(AtomicUsize::new(0));
    let (g, a) = (got.clone(), attempts.clone());
    let app = axum::Router::new().route(
        "/{hook}",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (g, a) = (g.clone(), a.clone());
            async move {
                if a.fetch_add(1, Ordering::SeqCst) < fail {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                g.lock().unwrap().push((headers, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, got, attempts }
}

/// A secret file readable by its owner only.
fn secret(dir: &Path, name: &str, value: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, value).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p.display().to_string()
}

fn schedule(dir: &Path, text: &str) -> Schedule {
    let path = dir.join("schedule.toml");
    std::fs::write(&path, text).unwrap();
    Schedule::load(&path).unwrap()
}

fn at(day: NaiveDate, time: &str) -> DateTime<Utc> {
    format!("{day}T{time}Z").parse().unwrap()
}

/// The data's last order day.
async fn last_day(w: &Warehouse) -> NaiveDate {
    let dims = serde_json::to_value(shoplens::metrics::dimensions(w).await.unwrap()).unwrap();
    dims["last_date"].as_str().unwrap().parse().unwrap()
}

fn hooks_schedule(dir: &Path, url: &str, retry: &str) -> Schedule {
    let text = format!(
        r#"
timezone = "UTC"
{retry}

[[webhook]]
name = "signed"
format = "json"
url_file = "{}"
secret_file = "{}"

[[webhook]]
name = "slack"
format = "slack"
url_file = "{}"

[[webhook]]
name = "teams"
format = "teams"
url_file = "{}"

[[digest]]
name = "daily"
every = "day"
at = "08:00"
webhooks = ["signed", "slack", "teams"]

[alerts]
webhooks = ["signed"]
"#,
        secret(dir, "signed-url", &format!("{url}/signed")),
        secret(dir, "key", KEY),
        secret(dir, "slack-url", &format!("{url}/slack")),
        secret(dir, "teams-url", &format!("{url}/teams")),
    );
    schedule(dir, &text)
}

/// `s` with its digest sent to the signed webhook alone, and no alerts.
fn signed_only(mut s: Schedule) -> Schedule {
    s.alerts = None;
    s.digests[0].recipients.webhooks = vec!["signed".into()];
    s
}

/// A generated shop imported into a new warehouse: the shop, the warehouse folder, the opened
/// warehouse and the data's last day.
async fn imported(seed: u64, orders: u64) -> (tempfile::TempDir, tempfile::TempDir, Warehouse, NaiveDate) {
    let shop = common::shop(seed, orders);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    let w = Warehouse::open(&Store::new(wh.path())).await.unwrap();
    let last = last_day(&w).await;
    (shop, wh, w, last)
}

fn bodies(r: &Receiver, hook: &str) -> Vec<Value> {
    let got = r.got.lock().unwrap();
    got.iter()
        .filter(|(h, _)| h.get("x-hook").is_none())
        .filter(|(_, b)| {
            let v: Value = serde_json::from_slice(b).unwrap();
            match hook {
                "signed" => v.get("type").is_some(),
                "slack" => v.get("blocks").is_some(),
                _ => v.get("@type").is_some(),
            }
        })
        .map(|(_, b)| serde_json::from_slice(b).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_daily_digest_reaches_each_webhook_once_signed_with_kpis_figures_and_a_missed_one_late() {
    let (_shop, wh, w, last) = imported(7, 3000).await;
    let r = receiver(0).await;
    let dir = tempfile::tempdir().unwrap();
    let notifier = Notifier::new(Arc::new(hooks_schedule(dir.path(), &r.url, "")), wh.path(), chrono_tz::UTC).unwrap();

    // first seen the evening of the data's last day: nothing is due yet
    let day = last.succ_opt().unwrap();
    let t0 = at(last, "20:00:00");
    let first = notifier.tick(&w, t0).await.unwrap();
    let alerts_sent = first.sent.len();
    assert!(first.sent.iter().all(|id| id.starts_with("alert/")), "{first:?}");
    assert!(first.failed.is_empty(), "{first:?}");
    // 08:00 the next day: the digest of the last day goes to the three webhooks
    let report = notifier.tick(&w, at(day, "08:00:05")).await.unwrap();
    assert_eq!(report.sent.len(), 3, "{report:?}");
    let signed = bodies(&r, "signed");
    let digests: Vec<&Value> = signed.iter().filter(|v| v["type"] == "digest").collect();
    assert_eq!(digests.len(), 1);
    let d = &digests[0]["digest"];
    assert_eq!(d["from"], last.to_string());
    assert_eq!(d["late"], false);
    // the figures are kpi's for that day
    let f = common::filter(shoplens::model::filter::FilterParams {
        from: Some(&last.to_string()),
        to: Some(&last.to_string()),
        ..Default::default()
    });
    let kpi = common::kpis(wh.path(), &f).await;
    assert_eq!(d["comparison"]["range"]["summary"], kpi["summary"], "the digest's summary is kpi's");
    // its products section names the products view's rising and falling products of that day
    let vs = shoplens::metrics::compare::Versus::PreviousPeriod;
    let p = shoplens::products::performance(&w, &f, shoplens::products::Level::Product, vs).await.unwrap();
    let moved: Vec<&str> = p
        .items
        .iter()
        .filter(|r| r.trend.as_ref().is_some_and(|t| t.direction != shoplens::products::Direction::Steady))
        .map(|r| r.name.as_str())
        .collect();
    for m in d["products"].as_array().unwrap() {
        assert!(moved.contains(&m["name"].as_str().unwrap()), "{m} is not a moved product: {moved:?}");
    }
    assert!(d["products"].as_array().unwrap().len() <= moved.len().min(6));
    // the signature is the HMAC-SHA256 of the body
    for (headers, body) in r.got.lock().unwrap().iter() {
        let Some(sig) = headers.get("x-shoplens-signature") else { continue };
        let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
        mac.update(body);
        let want: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(sig.to_str().unwrap(), format!("sha256={want}"));
    }
    assert!(r.got.lock().unwrap().iter().all(|(h, _)| h.get("x-shoplens-delivery").is_some()));
    let slack = bodies(&r, "slack");
    assert_eq!(slack.len(), 1);
    assert!(slack[0]["text"].as_str().unwrap().contains("daily digest"), "{}", slack[0]);
    assert_eq!(bodies(&r, "teams")[0]["@type"], "MessageCard");

    // again, and after a restart: nothing more
    assert!(notifier.tick(&w, at(day, "08:10:00")).await.unwrap().sent.is_empty());
    let restarted = Notifier::new(notifier.schedule.clone(), wh.path(), chrono_tz::UTC).unwrap();
    assert!(restarted.tick(&w, at(day, "08:20:00")).await.unwrap().sent.is_empty());
    // down for two days: each missed digest is sent once, marked late
    let later = day + Duration::days(2);
    let report = restarted.tick(&w, at(later, "09:00:00")).await.unwrap();
    assert_eq!(report.sent.len(), 6, "two days, three webhooks: {report:?}");
    let late: Vec<Value> =
        bodies(&r, "signed").into_iter().filter(|v| v["type"] == "digest" && v["digest"]["late"] == true).collect();
    assert_eq!(late.len(), 2);
    assert!(late[0]["subject"].as_str().unwrap().contains("sent late"));
    let days: BTreeSet<String> =
        bodies(&r, "signed").iter().filter(|v| v["type"] == "digest").map(|v| v["digest"]["to"].to_string()).collect();
    assert_eq!(days.len(), 3, "three different days reported: {days:?}");
    // alerts: each once
    let alerts = bodies(&r, "signed").iter().filter(|v| v["type"] == "alert").count();
    assert_eq!(alerts, alerts_sent);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_webhook_is_retried_with_backoff_its_failure_shown_and_sent_once() {
    let (_shop, wh, w, last) = imported(8, 1500).await;
    let r = receiver(2).await;
    let dir = tempfile::tempdir().unwrap();
    let s = signed_only(hooks_schedule(dir.path(), &r.url, "[retry]\nfirst = \"10s\"\nmax = \"20s\""));
    let n = Notifier::new(Arc::new(s), wh.path(), chrono_tz::UTC).unwrap();
    let day = last.succ_opt().unwrap();
    n.tick(&w, at(last, "20:00:00")).await.unwrap();
    let t = at(day, "08:00:00");
    let failed = n.tick(&w, t).await.unwrap();
    assert_eq!(failed.failed.len(), 1, "{failed:?}");
    let status = n.status();
    assert_eq!(status.failing.len(), 1);
    assert!(status.failing[0].error.contains("500"), "{:?}", status.failing);
    assert_eq!(status.failing[0].next_attempt, t + Duration::seconds(10));
    // within the backoff: not tried
    assert!(n.tick(&w, t + Duration::seconds(5)).await.unwrap().failed.is_empty());
    assert_eq!(r.attempts.load(Ordering::SeqCst), 1);
    // then tried, failing again: the wait doubles
    assert_eq!(n.tick(&w, t + Duration::seconds(10)).await.unwrap().failed.len(), 1);
    assert!(n.tick(&w, t + Duration::seconds(25)).await.unwrap().sent.is_empty());
    let sent = n.tick(&w, t + Duration::seconds(30)).await.unwrap();
    assert_eq!(sent.sent.len(), 1, "{sent:?}");
    assert!(n.status().failing.is_empty());
    assert!(n.tick(&w, t + Duration::seconds(90)).await.unwrap().sent.is_empty());
    assert_eq!(r.attempts.load(Ordering::SeqCst), 3);
    assert_eq!(r.got.lock().unwrap().len(), 1, "sent once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recipient_added_later_gets_the_digests_from_then_on_not_the_past_ones() {
    let (_shop, wh, w, last) = imported(10, 1000).await;
    let r = receiver(0).await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = signed_only(hooks_schedule(dir.path(), &r.url, ""));
    let n = Notifier::new(Arc::new(s.clone()), wh.path(), chrono_tz::UTC).unwrap();
    let day = last.succ_opt().unwrap();
    n.tick(&w, at(last, "20:00:00")).await.unwrap();
    assert_eq!(n.tick(&w, at(day, "08:00:01")).await.unwrap().sent.len(), 1);
    // two days later, with Slack added: the signed hook gets the two days it missed, Slack none
    s.digests[0].recipients.webhooks.push("slack".into());
    let n = Notifier::new(Arc::new(s), wh.path(), chrono_tz::UTC).unwrap();
    let sent = n.tick(&w, at(day + Duration::days(2), "09:00:00")).await.unwrap().sent;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|id| id.ends_with("webhook:signed")), "{sent:?}");
    // from the next day on, both
    let sent = n.tick(&w, at(day + Duration::days(3), "08:00:01")).await.unwrap().sent;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(bodies(&r, "slack").len(), 1);
}

fn order_ids(dir: &Path) -> BTreeSet<String> {
    let mut r = csv::Reader::from_path(dir.join("orders.csv")).unwrap();
    let col = r.headers().unwrap().iter().position(|h| h == "order_id").unwrap();
    r.records().map(|rec| rec.unwrap()[col].to_string()).collect()
}

/// Serves the warehouse at `wh` with `plan` running beside it: its address, and what stops it.
async fn serve_with(wh: &Path, plan: Schedule) -> (String, tokio::sync::oneshot::Sender<()>) {
    let options = shoplens::serve::ServeOptions { schedule: Some((plan, Default::default())), ..Default::default() };
    let server =
        shoplens::serve::Server::start(Store::new(wh), "127.0.0.1:0".parse().unwrap(), &options).await.unwrap();
    let base = format!("http://{}", server.addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    (base, stop)
}

async fn health(base: &str) -> Value {
    serde_json::from_str(&reqwest::get(format!("{base}/healthz")).await.unwrap().text().await.unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drop_folder_imports_a_slowly_written_export_once_and_whole_and_refuses_a_bad_one() {
    let first = common::shop(21, 400);
    let wh = tempfile::tempdir().unwrap();
    common::import(first.path(), wh.path()).await.unwrap();
    let dropped = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[[source]]\nname = \"drop\"\nfolder = \"{}\"\nevery = \"300ms\"\nsettle = \"1500ms\"\n",
        dropped.path().display()
    );
    let (base, stop) = serve_with(wh.path(), schedule(dir.path(), &text)).await;
    let before = health(&base).await["version"].clone();

    // a second export, written file by file and the orders in pieces, slower than the scans
    let second = common::shop(22, 600);
    let target = dropped.path().join("export-2");
    std::fs::create_dir(&target).unwrap();
    for name in ["customers.csv", "products.csv", "order_items.csv", "payments.csv", "orders.csv"] {
        let bytes = std::fs::read(second.path().join(name)).unwrap();
        let mut f = std::fs::File::create(target.join(name)).unwrap();
        for chunk in bytes.chunks(bytes.len() / 3 + 1) {
            std::io::Write::write_all(&mut f, chunk).unwrap();
            f.sync_all().unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        }
    }
    let mut version = before.clone();
    for _ in 0..100 {
        version = health(&base).await["version"].clone();
        if version != before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_ne!(version, before, "the dropped export was imported");
    let w = Warehouse::open(&Store::new(wh.path())).await.unwrap();
    let imports = &w.version.manifest.imports;
    assert_eq!(imports.len(), 2, "imported once: {imports:?}");
    let expected: BTreeSet<String> = order_ids(first.path()).union(&order_ids(second.path())).cloned().collect();
    let b = shoplens::warehouse::query::read_only(
        &w,
        "SELECT COUNT(*) FROM fact_order",
        std::time::Duration::from_secs(30),
    )
    .await
    .unwrap();
    let orders = datafusion::arrow::util::display::array_value_to_string(b[0].column(0), 0).unwrap();
    assert_eq!(orders, expected.len().to_string(), "every order of both exports, the second whole");
    // an import removes an old version once nobody reads it
    drop(w);

    // a bad export: refused, the error shown, the version kept
    let bad = dropped.path().join("export-3");
    std::fs::create_dir(&bad).unwrap();
    for name in ["customers.csv", "products.csv", "order_items.csv", "payments.csv"] {
        std::fs::copy(second.path().join(name), bad.join(name)).unwrap();
    }
    std::fs::write(bad.join("orders.csv"), "not,an,orders,file\n1,2,3,4\n").unwrap();
    let mut h = Value::Null;
    for _ in 0..100 {
        h = health(&base).await;
        if h["status"] == "degraded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(h["status"], "degraded", "{h}");
    let error = h["schedule"]["sources"][0]["error"][1].as_str().unwrap();
    assert!(error.contains("export-3") && error.contains("orders.csv"), "{error}");
    assert_eq!(h["version"], version, "the previous version is still served");
    let _ = stop.send(());

    // a restart resumes the schedule: nothing imported again, the refused export not retried
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (base, stop) = serve_with(wh.path(), schedule(dir.path(), &text)).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let again = health(&base).await;
    assert_eq!(again["version"], version, "nothing was imported again: {again}");
    let error = |h: &Value| h["schedule"]["sources"][0]["error"].clone();
    assert_eq!(error(&again), error(&h), "the refusal is still shown, and the export was not tried again");
    assert_eq!(again["status"], "degraded");
    let w = Warehouse::open(&Store::new(wh.path())).await.unwrap();
    assert_eq!(w.version.manifest.imports.len(), 2);
    let _ = stop.send(());
}

/// Whether `python3` can import `module`; CI must have it (`scripts/test.sh` installs it).
fn have_python(module: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var("CI").is_err(), "CI lacks the Python module {module}");
        eprintln!("skipped: needs python3 with {module} (scripts/test.sh installs it)");
    }
    ok
}

#[tokio::test(flavor = "multi_thread")]
async fn notify_smtp_digests_by_email_figures_exactly_once_through_a_kill_and_refusals() {
    if !have_python("aiosmtpd") {
        return;
    }
    let shop = common::shop(9, 2000);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    let last = {
        let w = Warehouse::open(&Store::new(wh.path())).await.unwrap();
        last_day(&w).await
    };
    let wh_path = wh.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg("tests/notify_smtp.py")
            .env("SHOPLENS", env!("CARGO_BIN_EXE_shoplens"))
            .env("WAREHOUSE", &wh_path)
            .env("LAST_DAY", last.to_string())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("all SMTP checks passed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_last_import_and_a_failing_source_in_a_real_browser() {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !(Path::new(&chromium).exists() && e2e.join("node_modules/playwright-core").exists()) {
        assert!(std::env::var("CI").is_err(), "CI lacks Chromium or tests/e2e/node_modules");
        eprintln!("skipped: needs {chromium} and `npm ci` in tests/e2e");
        return;
    }
    let shop = common::shop(23, 500);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder");
    let text = format!("[[source]]\nname = \"drop\"\nfolder = \"{}\"\nevery = \"1s\"\n", missing.display());
    let (base, stop) = serve_with(wh.path(), schedule(dir.path(), &text)).await;
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    let result = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(e2e.join("freshness.mjs"))
            .arg(&base)
            .arg(&out)
            .env("CHROMIUM", chromium)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let _ = stop.send(());
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&result.stderr));
    assert!(stdout.contains("no-such-folder"), "the error names the folder: {stdout}");
}

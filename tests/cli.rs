//! The `shoplens` command line: exit codes, messages and output formats.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn shoplens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoplens")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn fails_with(o: &Output, words: &str) {
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stdout));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(words), "stderr '{err}' lacks '{words}'");
    assert!(!err.contains("panicked"), "{err}");
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn generate_is_deterministic_per_seed() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let c = dir.path().join("c");
    for (out, seed) in [(&a, "5"), (&b, "5"), (&c, "6")] {
        stdout(&shoplens(&["generate", "--out", p(out), "--orders", "3000", "--seed", seed]));
    }
    for f in ["customers.csv", "products.csv", "orders.csv", "order_items.csv", "payments.csv"] {
        let (x, y) = (std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap());
        assert_eq!(x, y, "{f} differs for the same seed");
    }
    assert_ne!(std::fs::read(a.join("orders.csv")).unwrap(), std::fs::read(c.join("orders.csv")).unwrap());
    let orders = std::fs::read_to_string(a.join("orders.csv")).unwrap();
    assert_eq!(orders.lines().count(), 3001);
}

#[test]
fn import_json_kpi_json_and_sql_work_together() {
    let shop = common::shop(3, 1500);
    let wh = tempfile::tempdir().unwrap();
    let out = stdout(&shoplens(&["import", p(shop.path()), "--warehouse", p(wh.path()), "--json"]));
    let counts: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(counts["orders.csv"], serde_json::json!({"read": 1500, "loaded": 1500, "rejected": 0}));
    for f in ["customers.csv", "products.csv", "order_items.csv", "payments.csv"] {
        assert_eq!(counts[f]["read"], counts[f]["loaded"], "{f}");
    }

    let out = stdout(&shoplens(&["kpi", "--warehouse", p(wh.path()), "--json", "--country", "FR", "--top", "4"]));
    let k: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(k["top_products"].as_array().unwrap().len(), 4);
    let orders = k["summary"]["orders"].as_i64().unwrap();
    let out = stdout(&shoplens(&[
        "sql",
        "--warehouse",
        p(wh.path()),
        "--format",
        "csv",
        "SELECT COUNT(DISTINCT order_id) AS n FROM order_lines WHERE is_revenue AND country = 'FR'",
    ]));
    assert_eq!(out.trim(), format!("n\n{orders}"));

    let table = stdout(&shoplens(&["kpi", "--warehouse", p(wh.path())]));
    assert!(table.contains("Total revenue") && table.contains("Payment methods") && table.contains(" %"));
}

#[test]
fn bad_input_gets_a_clear_error_and_exit_code() {
    let wh = tempfile::tempdir().unwrap();
    fails_with(&shoplens(&["kpi", "--warehouse", p(wh.path())]), "no warehouse here");
    let shop = common::shop(4, 200);
    std::fs::write(shop.path().join("orders.csv"), "order_id,customer_id,status\nO1,C1,delivered\n").unwrap();
    fails_with(
        &shoplens(&["import", p(shop.path()), "--warehouse", p(wh.path())]),
        "orders.csv: the header has no column 'order_ts'",
    );
    fails_with(&shoplens(&["import", "/nonexistent", "--warehouse", p(wh.path())]), "/nonexistent: not found");
    let shop = common::shop(4, 200);
    fails_with(&shoplens(&["import", p(shop.path()), "--warehouse", p(wh.path()), "--timezone", "Mars/Base"]), "IANA");
    stdout(&shoplens(&["import", p(shop.path()), "--warehouse", p(wh.path())]));
    fails_with(&shoplens(&["kpi", "--warehouse", p(wh.path()), "--from", "2024-13-01"]), "parameter 'from'");
    fails_with(&shoplens(&["kpi", "--warehouse", p(wh.path()), "--top=-1"]), "parameter 'top'");
    // a filter value no row has would print tables of zeros: refused with the closest known value
    fails_with(&shoplens(&["kpi", "--warehouse", p(wh.path()), "--country", "de"]), "did you mean 'DE'?");
    fails_with(
        &shoplens(&["customers", "cohorts", "--warehouse", p(wh.path()), "--category", "Jeans"]),
        "no category 'Jeans'",
    );
    fails_with(&shoplens(&["sql", "--warehouse", p(wh.path()), "DROP TABLE dim_date"]), "only read-only queries");
    fails_with(&shoplens(&["sql", "--warehouse", p(wh.path()), "DELETE FROM dim_date"]), "only read-only queries");
    fails_with(
        &shoplens(&["sql", "--warehouse", p(wh.path()), "COPY dim_date TO '/tmp/x.csv'"]),
        "only read-only queries",
    );
    fails_with(&shoplens(&["sql", "--warehouse", p(wh.path()), "SELEC 1"]), "error");
    // the warehouse still answers
    stdout(&shoplens(&["sql", "--warehouse", p(wh.path()), "SELECT COUNT(*) FROM fact_order"]));
}

#[test]
fn schema_prints_every_table_as_ddl() {
    let ddl = stdout(&shoplens(&["schema"]));
    for t in [
        "dim_date",
        "dim_customer",
        "dim_product",
        "dim_payment_method",
        "fact_order",
        "fact_order_line",
        "fact_payment",
    ] {
        assert!(ddl.contains(&format!("CREATE TABLE {t} (")), "{t}");
    }
    assert!(ddl.contains("line_revenue DECIMAL(18,4) NOT NULL"));
    assert!(ddl.contains("CREATE VIEW order_lines"));
}

#[test]
fn report_writes_one_self_contained_html_file() {
    let shop = common::shop(5, 1500);
    let wh = tempfile::tempdir().unwrap();
    stdout(&shoplens(&["import", p(shop.path()), "--warehouse", p(wh.path())]));
    let out = wh.path().join("report.html");
    stdout(&shoplens(&["report", "--warehouse", p(wh.path()), "--out", p(&out), "--country", "DE"]));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("country DE"));
    // self-contained: no file or script is fetched from anywhere
    for external in ["src=\"", "href=\"/", "href=\"http", "@import"] {
        assert!(!html.contains(external), "the report refers to {external}…");
    }
    // the dashboard's own page and drawing code (its modules in an import map), with the
    // engine's figures embedded as the answers to the page's requests
    assert!(html.contains("id=\"customers-view\"") && html.contains("\"shoplens/views/customers.js\":\"data:"));
    let start = html.find("window.SHOPLENS_REPORT = ").unwrap() + "window.SHOPLENS_REPORT = ".len();
    let end = start + html[start..].find(";</script>").unwrap();
    let report: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    let answer = |path: &str| -> serde_json::Value {
        let answers = report["answers"].as_object().unwrap();
        answers.iter().find(|(url, _)| url.split('?').next() == Some(path)).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    let embedded = serde_json::json!({
        "filter": report["filter"], "vs": report["vs"], "data": {
            "dimensions": answer("/api/dimensions"), "compare": answer("/api/kpis/compare"), "kpis": answer("/api/kpis"),
            "forecast": answer("/api/forecast"), "cohorts": answer("/api/customers/cohorts"),
        }
    });
    // without dates the report opens on the dashboard's default range, compared with orders
    let range = &embedded["data"]["dimensions"]["default_range"];
    let (from, to) = (range["from"].as_str().unwrap(), range["to"].as_str().unwrap());
    assert_eq!((embedded["filter"]["from"].as_str(), embedded["filter"]["to"].as_str()), (Some(from), Some(to)));
    assert_eq!(embedded["vs"], range["vs"]);
    assert!(embedded["data"]["compare"]["comparison"]["summary"]["orders"].as_u64().unwrap() > 0);
    let k: serde_json::Value = serde_json::from_str(&stdout(&shoplens(&[
        "kpi",
        "--warehouse",
        p(wh.path()),
        "--json",
        "--country",
        "DE",
        "--from",
        from,
        "--to",
        to,
    ])))
    .unwrap();
    assert_eq!(embedded["data"]["kpis"], k);
    // each answer under the URL the page requests: its parameters in the catalog's order
    assert_eq!(report["answers"][format!("/api/kpis?from={from}&to={to}&country=DE")], k);
    assert_eq!(embedded["filter"]["country"], "DE");
    assert!(embedded["data"]["forecast"]["forecast"].is_number());
    assert!(embedded["data"]["cohorts"]["cohorts"].as_array().unwrap().len() > 1);
}

#[test]
fn insight_commands_print_tables_or_json_and_refuse_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    let (shop, wh) = (dir.path().join("shop"), dir.path().join("wh"));
    stdout(&shoplens(&["generate", "--out", p(&shop), "--orders", "3000", "--seed", "3"]));
    stdout(&shoplens(&["import", p(&shop), "--warehouse", p(&wh)]));
    let text = stdout(&shoplens(&["explain", "--warehouse", p(&wh), "--from", "2024-06-01", "--to", "2024-06-30"]));
    assert!(text.starts_with("2024-06-01 to 2024-06-30 against 2024-05-02 to 2024-05-31: revenue "), "{text}");
    for view in ["Orders and their value", "Customers", "Categories", "Price and volume", "Countries", "Gross to net"] {
        assert!(text.contains(view), "{view} missing: {text}");
    }
    let json: serde_json::Value = serde_json::from_str(&stdout(&shoplens(&[
        "explain",
        "--warehouse",
        p(&wh),
        "--from",
        "2024-06-01",
        "--to",
        "2024-06-30",
        "--vs",
        "2023-06-01:2023-06-30",
        "--json",
    ])))
    .unwrap();
    assert_eq!(json["comparison"]["from"], "2023-06-01");
    let proj: serde_json::Value = serde_json::from_str(&stdout(&shoplens(&[
        "projection",
        "--warehouse",
        p(&wh),
        "--as-of",
        "2024-10-10",
        "--json",
    ])))
    .unwrap();
    assert_eq!((proj["month"].as_str(), proj["days_elapsed"].as_u64()), (Some("2024-10"), Some(10)));
    assert!(stdout(&shoplens(&["alerts", "--warehouse", p(&wh)])).starts_with("2024-12: "));
    fails_with(&shoplens(&["explain", "--warehouse", p(&wh), "--vs", "yesterday"]), "--vs: 'yesterday' is not");
    fails_with(&shoplens(&["projection", "--warehouse", p(&wh), "--as-of", "2024-02-30"]), "--as-of");
    fails_with(&shoplens(&["alerts", "--warehouse", p(&dir.path().join("none"))]), "none");
}

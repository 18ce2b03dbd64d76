//! PostgreSQL as a source, against a real server (a throwaway cluster): an import from it equals
//! the import of the same shop's files, rejects and queries work as for files, and a database
//! that cannot be read leaves the warehouse as it was.

mod common;

use common::pg::Pg;
use shoplens::model::Filter;
use std::path::Path;
use std::process::{Command, Output};

fn shoplens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shoplens")).args(args).env_remove("PGPASSWORD").output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test]
async fn an_import_from_postgres_equals_the_import_of_the_files() {
    let Some(pg) = Pg::start() else { return };
    let shop = common::shop(8, 3000);
    pg.seed("shop", shop.path());
    let dir = tempfile::tempdir().unwrap();
    let (from_pg, from_files) = (dir.path().join("pg"), dir.path().join("files"));
    let said = ok(&shoplens(&["import", &pg.url("shop"), "--warehouse", p(&from_pg)]));
    assert!(said.contains(&format!("postgres://shoplens@127.0.0.1:{}/shop: read customers", pg.port)), "{said}");
    common::import(shop.path(), &from_files).await.unwrap();
    for filter in [
        Filter::default(),
        common::filter(shoplens::model::filter::FilterParams { country: Some("DE"), ..Default::default() }),
    ] {
        assert_eq!(common::kpis(&from_pg, &filter).await, common::kpis(&from_files, &filter).await);
    }
    // the same rows read twice in the import's own count
    let status: serde_json::Value =
        serde_json::from_slice(&shoplens(&["status", "--warehouse", p(&from_pg), "--json"]).stdout).unwrap();
    assert!(status.to_string().contains("\"rejected\""), "{status}");

    // a query file: orders from a view with other column names, payments by a query
    pg.psql(
        "shop",
        "CREATE SCHEMA sales; CREATE VIEW sales.orders_v AS SELECT order_id, customer_id, order_ts, status FROM orders",
    );
    let queries = dir.path().join("source.toml");
    std::fs::write(
        &queries,
        "[orders]\ntable = \"sales.orders_v\"\n[payments]\nquery = \"SELECT * FROM payments WHERE amount >= 0\"\n",
    )
    .unwrap();
    let wh3 = dir.path().join("q");
    ok(&shoplens(&["import", &pg.url("shop"), "--query-file", p(&queries), "--warehouse", p(&wh3)]));
    assert_eq!(common::kpis(&wh3, &Filter::default()).await, common::kpis(&from_files, &Filter::default()).await);

    // bad rows in the database are rejected with a reason, like bad lines of a file
    pg.psql("shop", "INSERT INTO order_items VALUES ('O000000001', 99, 'SKU-000001', -2, 1, 0)");
    let wh4 = dir.path().join("bad");
    ok(&shoplens(&["import", &pg.url("shop"), "--warehouse", p(&wh4)]));
    let rejects = std::fs::read_to_string(wh4.join("rejects.csv")).unwrap();
    assert!(rejects.contains("order_items.csv") && rejects.contains("quantity"), "{rejects}");
}

#[tokio::test]
async fn a_database_that_cannot_be_read_leaves_the_warehouse_as_it_was() {
    let Some(pg) = Pg::start() else { return };
    let shop = common::shop(9, 500);
    pg.seed("shop", shop.path());
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    ok(&shoplens(&["import", &pg.url("shop"), "--warehouse", p(&wh)]));
    let before = std::fs::read_to_string(wh.join("CURRENT")).unwrap();
    // a record set that fails half-way through the five (payments is read last)
    pg.psql("shop", "ALTER TABLE payments RENAME TO payments_old");
    let o = shoplens(&["import", &pg.url("shop"), "--warehouse", p(&wh)]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("payments") && err.contains("does not exist"), "{err}");
    assert_eq!(std::fs::read_to_string(wh.join("CURRENT")).unwrap(), before);
    // nothing listening: a clear message, and the password in the URL is never printed
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let o = shoplens(&["import", &format!("postgres://ann:s3cret-pw@127.0.0.1:{closed}/shop"), "--warehouse", p(&wh)]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("postgres://ann@127.0.0.1:{closed}/shop: cannot connect")), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    assert_eq!(std::fs::read_to_string(wh.join("CURRENT")).unwrap(), before);
}

/// Exact cents of a decimal text, half away from zero.
fn cents_of(text: &str) -> i64 {
    let neg = text.starts_with('-');
    let t = text.trim_start_matches('-');
    let (i, f) = t.split_once('.').unwrap_or((t, ""));
    let f = format!("{f:0<3}");
    let mut c = i.parse::<i64>().unwrap() * 100 + f[..2].parse::<i64>().unwrap();
    if f.as_bytes()[2] >= b'5' {
        c += 1;
    }
    if neg { -c } else { c }
}

fn json_cents(v: &serde_json::Value) -> i64 {
    (v.as_f64().unwrap() * 100.0).round() as i64
}

/// Runs `sql` (a KPI file, rewritten for PostgreSQL) with literal `args` as a prepared
/// statement; the rows as text.
async fn run_pg(client: &tokio_postgres::Client, name: &str, types: &str, sql: &str, args: &str) -> Vec<Vec<String>> {
    let prepared = format!("PREPARE {name}{types} AS {}", shoplens::metrics::postgres_sql(sql));
    client.simple_query(&prepared).await.unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let rows = client.simple_query(&format!("EXECUTE {name}{args}")).await.unwrap_or_else(|e| panic!("{name}: {e:?}"));
    rows.into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).unwrap_or("").to_string()).collect())
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_exported_schema_answers_the_kpi_files_with_the_same_numbers() {
    let Some(pg) = Pg::start() else { return };
    // a shop with its books: refunds, shipping, tax, codes and channels
    let shop = tempfile::tempdir().unwrap();
    let books = shoplens::generate::GenerateOptions { orders: 3000, seed: 12, books: true, ..Default::default() };
    shoplens::generate::generate(shop.path(), &books).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    common::import(shop.path(), &wh).await.unwrap();
    let said = ok(&shoplens(&["export", "--warehouse", p(&wh), "--to", &pg.url("postgres"), "--schema", "star"]));
    assert!(said.contains("schema star: dim_date"), "{said}");
    // exporting again replaces the tables in one transaction
    ok(&shoplens(&["export", "--warehouse", p(&wh), "--to", &pg.url("postgres"), "--schema", "star"]));
    // the DDL `schema --dialect postgres` prints is what the export ran: it runs on its own
    let ddl = String::from_utf8(shoplens(&["schema", "--dialect", "postgres"]).stdout).unwrap();
    pg.psql("postgres", &format!("CREATE SCHEMA ddl_check; SET search_path TO ddl_check; {ddl}"));

    use shoplens::metrics::sql;
    use shoplens::model::filter::FilterParams;
    let cases = [
        (FilterParams::default(), "(20000101, 29991231, NULL, NULL, NULL, NULL, NULL)", "(NULL, NULL, false)"),
        (
            FilterParams {
                from: Some("2023-03-01"),
                to: Some("2024-02-29"),
                country: Some("DE"),
                ..Default::default()
            },
            "(20230301, 20240229, NULL, 'DE', NULL, NULL, NULL)",
            "('2023-03-01', '2024-02-01', false)",
        ),
        (
            FilterParams { category: Some("Toys"), method: Some("paypal"), ..Default::default() },
            "(20000101, 29991231, 'Toys', NULL, 'paypal', NULL, NULL)",
            "(NULL, NULL, true)",
        ),
        (
            FilterParams { channel: Some("marketplace"), ..Default::default() },
            "(20000101, 29991231, NULL, NULL, NULL, 'marketplace', NULL)",
            "(NULL, NULL, false)",
        ),
    ];
    for (params, filter_args, span) in cases {
        let k = common::kpis(&wh, &common::filter(params.clone())).await;
        let (client, conn) = tokio_postgres::connect(&pg.url("postgres"), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client.simple_query("SET search_path TO star").await.unwrap();
        let filter_types = "(int, int, text, text, text, text, text)";
        for (name, text) in [
            ("revenue_lines", sql::REVENUE_LINES),
            ("revenue_orders", sql::REVENUE_ORDERS),
            ("revenue_returns", sql::REVENUE_RETURNS),
        ] {
            let prepared = format!("PREPARE p_{name}{filter_types} AS {}", shoplens::metrics::postgres_sql(text));
            client.simple_query(&prepared).await.unwrap();
            client.simple_query(&format!("CREATE TEMP TABLE {name} AS EXECUTE p_{name}{filter_args}")).await.unwrap();
        }
        let customers = shoplens::metrics::postgres_sql(sql::REVENUE_CUSTOMERS);
        client.simple_query(&format!("CREATE TEMP TABLE revenue_customers AS {customers}")).await.unwrap();
        let s = &run_pg(&client, "summary", "", sql::SUMMARY, "").await[0];
        assert_eq!(
            (cents_of(&s[0]), s[1].parse::<i64>().unwrap(), s[3].parse::<i64>().unwrap()),
            (
                json_cents(&k["summary"]["total_revenue"]),
                k["summary"]["orders"].as_i64().unwrap(),
                k["summary"]["customers"].as_i64().unwrap()
            ),
            "summary {params:?}"
        );
        let category = if params.category.is_some() { "(true)" } else { "(false)" };
        let b = &run_pg(&client, "books", "(boolean)", sql::BOOKS, category).await[0];
        let book = |i: usize| if b[i].is_empty() { None } else { Some(cents_of(&b[i])) };
        let want = |key: &str| k["books"][key].as_f64().map(|_| json_cents(&k["books"][key]));
        for (i, key) in
            ["gross_sales", "discounts", "returns", "net_sales", "shipping", "taxes", "duties", "total_sales"]
                .iter()
                .enumerate()
        {
            assert_eq!(book(i), want(key), "books {key} {params:?}");
        }
        let channels: Vec<(String, i64)> = run_pg(&client, "channels", "", sql::CHANNELS, "")
            .await
            .iter()
            .map(|r| (r[0].clone(), cents_of(&r[1])))
            .collect();
        let want_channels: Vec<(String, i64)> = k["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["channel"].as_str().unwrap().to_string(), json_cents(&c["revenue"])))
            .collect();
        assert_eq!(channels, want_channels, "channels {params:?}");
        let codes: Vec<(String, i64)> = run_pg(&client, "discount_codes", "", sql::DISCOUNT_CODES, "")
            .await
            .iter()
            .map(|r| (r[0].clone(), r[1].parse().unwrap()))
            .collect();
        let want_codes: Vec<(String, i64)> = k["discount_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["code"].as_str().unwrap().to_string(), c["orders"].as_i64().unwrap()))
            .collect();
        assert_eq!(codes, want_codes, "discount codes {params:?}");
        let monthly: Vec<(String, i64)> = run_pg(&client, "monthly", "(date, date, boolean)", sql::MONTHLY, span)
            .await
            .iter()
            .map(|r| (r[0][..7].to_string(), cents_of(&r[1])))
            .collect();
        let want: Vec<(String, i64)> = k["monthly"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["month"].as_str().unwrap().to_string(), json_cents(&m["revenue"])))
            .collect();
        assert_eq!(monthly, want, "monthly {params:?}");
        let cats: Vec<(String, i64, i64)> = run_pg(&client, "categories", "(boolean)", sql::CATEGORIES, "(false)")
            .await
            .iter()
            .map(|r| (r[0].clone(), cents_of(&r[1]), r[3].parse().unwrap()))
            .collect();
        let want: Vec<(String, i64, i64)> = k["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (c["category"].as_str().unwrap().to_string(), json_cents(&c["revenue"]), c["orders"].as_i64().unwrap())
            })
            .collect();
        assert_eq!(cats, want, "categories {params:?}");
        let ids = |rows: Vec<Vec<String>>| rows.into_iter().map(|r| r[0].clone()).collect::<Vec<_>>();
        let want = |key: &str, id: &str| {
            k[key].as_array().unwrap().iter().map(|x| x[id].as_str().unwrap().to_string()).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(run_pg(&client, "top_products", "(bigint)", sql::TOP_PRODUCTS, "(10)").await),
            want("top_products", "product_id")
        );
        assert_eq!(
            ids(run_pg(&client, "top_customers", "(bigint)", sql::TOP_CUSTOMERS, "(10)").await),
            want("top_customers", "customer_id")
        );
        let freq: Vec<i64> = run_pg(&client, "order_frequency", "", sql::ORDER_FREQUENCY, "")
            .await
            .iter()
            .map(|r| r[1].parse().unwrap())
            .collect();
        let want_freq: Vec<i64> = k["order_frequency"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["customers"].as_i64().unwrap())
            .collect();
        assert_eq!(freq, want_freq, "order frequency {params:?}");
        let methods: Vec<(String, i64)> =
            run_pg(&client, "payment_methods", filter_types, sql::PAYMENT_METHODS, filter_args)
                .await
                .iter()
                .map(|r| (r[0].clone(), cents_of(&r[1])))
                .collect();
        let want_methods: Vec<(String, i64)> = k["payment_methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["method"].as_str().unwrap().to_string(), json_cents(&m["amount"])))
            .collect();
        assert_eq!(methods, want_methods, "payment methods {params:?}");
    }
}

#[tokio::test]
async fn an_append_reads_only_the_orders_changed_since_the_last_import() {
    let Some(pg) = Pg::start() else { return };
    let shop = common::shop(14, 2000);
    pg.seed("shop", shop.path());
    pg.psql("shop", "UPDATE orders SET updated_at = '2025-01-01 00:00:00'");
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    ok(&shoplens(&["import", &pg.url("shop"), "--warehouse", p(&wh)]));
    // two orders change, one is new (with its line and payment)
    pg.psql(
        "shop",
        "UPDATE orders SET status = 'cancelled', updated_at = '2025-02-01 10:00:00' WHERE order_id IN ('O000000010', 'O000000011');
         INSERT INTO orders VALUES ('N1', 'C00000001', '2024-12-31 12:00:00', 'delivered', '2025-02-01 11:00:00');
         INSERT INTO order_items VALUES ('N1', 1, 'SKU-000001', 3, 20.5, 0);
         INSERT INTO payments VALUES ('N1', 1, 'paypal', 1, 61.5);",
    );
    let said = ok(&shoplens(&["import", &pg.url("shop"), "--warehouse", p(&wh), "--append"]));
    assert!(
        said.contains("orders 3, order_items") && said.contains("(orders changed after 2025-01-01 00:00:00)"),
        "{said}"
    );
    let status: serde_json::Value =
        serde_json::from_slice(&shoplens(&["status", "--warehouse", p(&wh), "--json"]).stdout).unwrap();
    let text = status.to_string();
    assert!(text.contains("2025-02-01 11:00:00") && !text.contains("127.0.0.1:0"), "{text}");
    // the same as reading the whole database again
    let full = dir.path().join("full");
    ok(&shoplens(&["import", &pg.url("shop"), "--warehouse", p(&full)]));
    assert_eq!(common::kpis(&wh, &Filter::default()).await, common::kpis(&full, &Filter::default()).await);
    // nothing changed: nothing but the dimensions is read again, and nothing moves
    let said = ok(&shoplens(&["import", &pg.url("shop"), "--warehouse", p(&wh), "--append"]));
    assert!(said.contains("orders 0, order_items 0, payments 0"), "{said}");
    assert_eq!(common::kpis(&wh, &Filter::default()).await, common::kpis(&full, &Filter::default()).await);
}

/// Issue 19, attack 11: a stored watermark written to break out of its string literal when the
/// server reads backslashes as escapes (`standard_conforming_strings = off`). It stays one literal:
/// the append reads the orders changed after that text (none), not every order.
#[tokio::test]
async fn a_tampered_watermark_stays_a_literal_under_either_string_setting() {
    let Some(pg) = Pg::start() else { return };
    let shop = common::shop(15, 600);
    pg.seed("shop", shop.path());
    pg.psql("shop", "UPDATE orders SET updated_at = '2025-01-01 00:00:00'");
    pg.psql("postgres", "ALTER DATABASE shop SET standard_conforming_strings = off");
    let dir = tempfile::tempdir().unwrap();
    let (wh, queries) = (dir.path().join("wh"), dir.path().join("queries.toml"));
    // the change time as text, so that a literal compares with it whatever it says
    std::fs::write(
        &queries,
        "[orders]\nquery = \"SELECT order_id, customer_id, order_ts, status, updated_at::text AS updated_at FROM orders\"\n",
    )
    .unwrap();
    let base = ["import", &pg.url("shop"), "--warehouse", p(&wh), "--query-file", p(&queries)];
    ok(&shoplens(&base));
    let manifest = wh.join("CURRENT");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let attack = "\\' OR true)) TO STDOUT WITH (FORMAT csv, HEADER true) --";
    *m["imports"].as_array_mut().unwrap().last_mut().unwrap().get_mut("watermark").unwrap() = attack.into();
    std::fs::write(&manifest, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let said = ok(&shoplens(&[&base[..], &["--append"]].concat()));
    assert!(said.contains("orders 0, order_items 0, payments 0"), "the watermark was read as SQL: {said}");
}

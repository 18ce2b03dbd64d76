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

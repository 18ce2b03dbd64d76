//! Live SQL over the PostgreSQL wire protocol and Arrow Flight SQL, with real clients on
//! loopback: tokio-postgres here (SCRAM, the extended protocol with bound parameters, cancel),
//! psql (`\d+` on every table), pgjdbc (`tests/jdbc/Browse.java`: what Metabase's sync and
//! DBeaver ask) and `tests/live_clients.py` (psycopg, SQLAlchemy's inspector, asyncpg, ADBC
//! Flight SQL).

mod common;

use datafusion::arrow::record_batch::RecordBatch;
use serde_json::Value;
use shoplens::model::Filter;
use shoplens::serve::access::Credentials;
use shoplens::serve::live::LiveOptions;
use shoplens::serve::{ServeOptions, Server};
use shoplens::warehouse::Store;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio_postgres::{Client, NoTls};

const PASSWORD: &str = "correct horse battery";

/// A served warehouse: the server stops when this is dropped.
struct Live {
    pg: SocketAddr,
    flight: SocketAddr,
    wh: PathBuf,
    token: String,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// Generates and imports a shop, adds the user `ana` and the token `ci`, serves live SQL.
async fn live(orders: u64, users: bool, options: LiveOptions) -> Live {
    live_on("127.0.0.1:0", orders, users, options, false).await
}

/// Like [`live`], the live servers bound to `ip:0`, with the test certificate when `tls`.
async fn live_on(bind: &str, orders: u64, users: bool, options: LiveOptions, tls: bool) -> Live {
    let shop = common::shop(5, orders);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    let mut token = String::new();
    if users {
        let mut c = Credentials::default();
        c.add_user("ana", PASSWORD, false).unwrap();
        token = c.add_token("ci").unwrap();
        c.save(wh.path()).unwrap();
    }
    let at: SocketAddr = bind.parse().unwrap();
    let data = Path::new("tests/data/tls");
    let options = ServeOptions {
        dashboard: false,
        live: LiveOptions { pg: Some(at), flight: Some(at), ..options },
        tls: tls.then(|| (data.join("cert.pem"), data.join("key.pem"))),
        ..Default::default()
    };
    let server = Server::start(Store::new(wh.path()), "127.0.0.1:0".parse().unwrap(), &options).await.unwrap();
    let (pg, flight) = (server.pg_addr().unwrap(), server.flight_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    Live { pg, flight, wh: wh.path().to_path_buf(), token, _stop: stop, _dirs: (shop, wh) }
}

fn options(timeout: u64, max_connections: usize) -> LiveOptions {
    LiveOptions { timeout: Duration::from_secs(timeout), max_connections, ..Default::default() }
}

async fn connect(addr: SocketAddr, user: &str, password: &str) -> Result<Client, tokio_postgres::Error> {
    let conf = format!("host={} port={} user={user} password='{password}' dbname=shop", addr.ip(), addr.port());
    let (client, conn) = tokio_postgres::connect(&conf, NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

fn code(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map(|d| d.code().code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

/// A decimal's text in cents.
fn cents(text: &str) -> i64 {
    (text.parse::<f64>().unwrap() * 100.0).round() as i64
}

/// The first value of a simple query's only row.
async fn one(client: &Client, sql: &str) -> String {
    let rows = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("NULL").to_string()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{sql}: no row"))
}

#[tokio::test(flavor = "multi_thread")]
async fn scram_sign_in_and_the_kpi_queries_give_kpis_numbers() {
    let s = live(3000, true, options(60, 16)).await;
    let client = connect(s.pg, "ana", PASSWORD).await.unwrap();
    let expected = common::kpis(&s.wh, &Filter::default()).await;
    // the summary KPI file's query, as it is, over the default-filter views
    let summary = client.simple_query(shoplens::metrics::sql::SUMMARY).await.unwrap();
    let row = summary
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((r.get(0).unwrap().to_string(), r.get(1).unwrap().to_string()))
            }
            _ => None,
        })
        .unwrap();
    let kpi = &expected["summary"];
    assert_eq!(row.1, kpi["orders"].to_string(), "orders");
    assert_eq!(cents(&row.0), cents(&kpi["total_revenue"].to_string()), "total revenue");

    // the revenue lines' file with bound parameters (the extended protocol): a country's revenue
    let lines = format!("SELECT SUM(line_revenue)::VARCHAR FROM ({}) l", shoplens::metrics::sql::REVENUE_LINES);
    let statement = client.prepare(&lines).await.unwrap();
    let de = common::kpis(
        &s.wh,
        &common::filter(shoplens::model::filter::FilterParams { country: Some("DE"), ..Default::default() }),
    )
    .await;
    let country: Option<&str> = Some("DE");
    let row = client
        .query_one(
            &statement,
            &[&10101i32, &99991231i32, &None::<&str>, &country, &None::<&str>, &None::<&str>, &None::<&str>],
        )
        .await
        .unwrap();
    let total: String = row.get(0);
    assert_eq!(cents(&total), cents(&de["summary"]["total_revenue"].to_string()), "DE revenue over the wire");

    // types: exact decimals arrive as numeric text, dates as dates
    let row = client.query_one("SELECT line_revenue, order_date FROM revenue_lines LIMIT 1", &[]).await.unwrap();
    assert_eq!(row.columns()[0].type_(), &tokio_postgres::types::Type::NUMERIC);
    let _: chrono::NaiveDate = row.get(1);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_unknown_users_and_revoked_tokens_are_refused() {
    let s = live(300, true, options(60, 16)).await;
    for (user, password) in
        [("ana", "wrong horse battery"), ("nobody", PASSWORD), ("postgres", ""), ("postgres", "postgres")]
    {
        let e = connect(s.pg, user, password).await.err().unwrap_or_else(|| panic!("{user} got in"));
        assert_eq!(code(&e), "28P01", "{user}: {e}");
    }
    // the token as a password, under its name
    let scripted = connect(s.pg, "ci", &s.token).await.unwrap();
    assert_eq!(one(&scripted, "SELECT 1").await, "1");
    let mut c = Credentials::load(&s.wh).unwrap();
    c.revoke_token("ci").unwrap();
    c.save(&s.wh).unwrap();
    let e = scripted.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), "28000", "a revoked token's open connection: {e}");
    assert_eq!(code(&connect(s.pg, "ci", &s.token).await.err().unwrap()), "28P01");
    // the user is not affected
    let ana = connect(s.pg, "ana", PASSWORD).await.unwrap();
    assert_eq!(one(&ana, "SELECT COUNT(*) > 0 FROM fact_order").await, "t");
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_and_server_settings_are_refused_client_settings_accepted() {
    let s = live(300, false, options(60, 16)).await;
    let client = connect(s.pg, "anyone", "").await.unwrap();
    for (sql, expected) in [
        ("CREATE TABLE t (a INT)", "25006"),
        ("INSERT INTO fact_order SELECT * FROM fact_order", "25006"),
        ("DELETE FROM fact_order", "25006"),
        ("DROP TABLE fact_order", "25006"),
        ("COPY fact_order TO '/tmp/stolen.csv'", "25006"),
        ("CREATE VIEW v AS SELECT 1", "25006"),
        ("EXPLAIN CREATE TABLE t (a INT)", "25006"),
        ("SET datafusion.runtime.memory_limit = '100G'", "42501"),
        ("SET datafusion.execution.target_partitions = 64", "42501"),
        ("DECLARE c CURSOR FOR SELECT 1", "0A000"),
        ("SELECT * INTO stolen FROM fact_order", "25006"),
    ] {
        let e = client.simple_query(sql).await.err().unwrap_or_else(|| panic!("{sql} was run"));
        assert_eq!(code(&e), expected, "{sql}: {e}");
        // the connection stays usable
        assert_eq!(one(&client, "SELECT 2").await, "2");
    }
    // the same through the extended protocol
    let e = client.prepare("INSERT INTO fact_order SELECT * FROM fact_order").await.unwrap_err();
    assert_eq!(code(&e), "25006");
    for sql in [
        "SET client_min_messages = warning",
        "SET application_name = 'report'",
        "SET extra_float_digits = 3",
        "SET TIME ZONE 'UTC'",
        "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "BEGIN",
        "COMMIT",
        "DISCARD ALL",
        "SHOW search_path",
    ] {
        client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    assert!(!Path::new("/tmp/stolen.csv").exists());
    // what a constant call would build while the statement is planned is bounded
    for sql in [
        "SELECT length(repeat('abcd', 100000000))",
        "SELECT lpad('a', 500000000)",
        "SELECT cardinality(range(1, 1000000000))",
    ] {
        let started = Instant::now();
        let e = client.simple_query(sql).await.err().unwrap_or_else(|| panic!("{sql} was run"));
        let message = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_default();
        assert!(message.contains("over what one value may hold"), "{sql}: {e:?}");
        assert!(started.elapsed() < Duration::from_secs(2), "{sql}: {:?}", started.elapsed());
    }
    assert_eq!(one(&client, "SELECT length(repeat('ab', 1000))").await, "2000");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runaway_query_stops_at_the_time_limit_or_on_cancel_and_the_connection_stays_usable() {
    let s = live(300, false, options(2, 16)).await;
    let client = connect(s.pg, "ana", "").await.unwrap();
    let runaway = "SELECT COUNT(*) FROM generate_series(1, 100000000000) AS t(x) WHERE x % 7 = 3";
    let started = Instant::now();
    let e = client.simple_query(runaway).await.unwrap_err();
    assert_eq!(code(&e), "57014", "{e}");
    assert!(started.elapsed() < Duration::from_secs(10), "stopped after {:?}", started.elapsed());
    assert_eq!(one(&client, "SELECT 3").await, "3");
    // a client's own statement_timeout is shorter: it applies
    client.simple_query("SET statement_timeout = 500").await.unwrap();
    let started = Instant::now();
    assert_eq!(code(&client.simple_query(runaway).await.unwrap_err()), "57014");
    assert!(started.elapsed() < Duration::from_millis(1900), "{:?}", started.elapsed());
    client.simple_query("SET statement_timeout = 0").await.unwrap();

    // the protocol's cancel request
    let s = live(300, false, options(60, 16)).await;
    let client = connect(s.pg, "ana", "").await.unwrap();
    let token = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        token.cancel_query(NoTls).await
    });
    let started = Instant::now();
    let e = client.simple_query(runaway).await.unwrap_err();
    canceller.await.unwrap().unwrap();
    assert_eq!(code(&e), "57014", "{e}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(one(&client, "SELECT 4").await, "4");
}

/// A Flight SQL client on `addr`, with `token` as its bearer token when there is one.
async fn flight_client(
    addr: SocketAddr,
    token: &str,
) -> arrow_flight::sql::client::FlightSqlServiceClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::new(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let mut client = arrow_flight::sql::client::FlightSqlServiceClient::new(channel);
    if !token.is_empty() {
        client.set_token(token.to_string());
    }
    client
}

/// Runs `sql` over Flight SQL: its batches, or the error that ended its stream.
async fn flight_query(
    addr: SocketAddr,
    token: &str,
    sql: &str,
) -> Result<Vec<RecordBatch>, arrow_flight::error::FlightError> {
    use futures::TryStreamExt;
    let mut client = flight_client(addr, token).await;
    let info = client.execute(sql.to_string(), None).await?;
    let ticket = info.endpoint[0].ticket.clone().expect("a ticket");
    client.do_get(ticket).await?.try_collect().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runaway_flight_sql_query_stops_at_the_time_limit_and_the_server_goes_on() {
    let s = live(300, false, options(2, 16)).await;
    let runaway = "SELECT COUNT(*) FROM generate_series(1, 100000000000) AS t(x) WHERE x % 7 = 3";
    let started = Instant::now();
    let e = flight_query(s.flight, "", runaway).await.unwrap_err();
    assert!(e.to_string().contains("time limit"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10), "stopped after {:?}", started.elapsed());
    // the stream gave its permit back: more queries than there are permits still run
    for _ in 0..8 {
        let batches = flight_query(s.flight, "", "SELECT COUNT(*) AS n FROM fact_order").await.unwrap();
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_maximum_are_refused_with_53300() {
    let s = live(300, false, options(60, 2)).await;
    let a = connect(s.pg, "a", "").await.unwrap();
    let b = connect(s.pg, "b", "").await.unwrap();
    let Err(e) = connect(s.pg, "c", "").await else { panic!("a third connection got in") };
    assert_eq!(code(&e), "53300", "{e}");
    assert_eq!(one(&a, "SELECT 1").await, "1");
    // a full server still takes a cancel request
    let token = a.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        token.cancel_query(NoTls).await
    });
    let e = a
        .simple_query("SELECT COUNT(*) FROM generate_series(1, 100000000000) AS t(x) WHERE x % 7 = 3")
        .await
        .unwrap_err();
    canceller.await.unwrap().unwrap();
    assert_eq!(code(&e), "57014", "{e}");
    drop(b);
    // the slot is freed when the connection ends
    let mut again = None;
    for _ in 0..50 {
        if let Ok(c) = connect(s.pg, "c", "").await {
            again = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let c = again.expect("a slot after one closed");
    assert_eq!(one(&c, "SELECT 1").await, "1");
    // a client that never signs in gives its slot back
    drop(a);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _idle = tokio::net::TcpStream::connect(s.pg).await.unwrap();
    let Err(e) = connect(s.pg, "d", "").await else { panic!("a connection beyond the limit got in") };
    assert_eq!(code(&e), "53300");
    tokio::time::sleep(Duration::from_secs(11)).await;
    let late = connect(s.pg, "d", "").await.expect("the idle client's slot is free after 10 s");
    assert_eq!(one(&late, "SELECT 1").await, "1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_import_is_read_by_the_next_statement_without_reconnecting() {
    let s = live(300, false, options(60, 16)).await;
    let client = connect(s.pg, "ana", "").await.unwrap();
    let prepared = client.prepare("SELECT COUNT(*) FROM fact_order").await.unwrap();
    let before: i64 = client.query_one(&prepared, &[]).await.unwrap().get(0);
    let bigger = common::shop(6, 500);
    common::import(bigger.path(), &s.wh).await.unwrap();
    let after: i64 = client.query_one(&prepared, &[]).await.unwrap().get(0);
    let simple = one(&client, "SELECT COUNT(*) FROM fact_order").await;
    assert!(after > before, "{before} then {after}");
    assert_eq!(simple, after.to_string());
    let from_sql: Value = shoplens_sql_json(&s.wh, "SELECT COUNT(*) AS n FROM fact_order");
    assert_eq!(from_sql[0]["n"], after);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_start_up_queries_of_metabase_dbeaver_and_grafana_are_answered() {
    let s = live(300, false, options(60, 16)).await;
    for tool in ["metabase", "dbeaver", "grafana"] {
        let client = connect(s.pg, "bi", "").await.unwrap();
        let file: Value =
            serde_json::from_str(&std::fs::read_to_string(format!("tests/data/bi_startup/{tool}.json")).unwrap())
                .unwrap();
        for q in file["queries"].as_array().unwrap() {
            let q = q.as_str().unwrap();
            client.simple_query(q).await.unwrap_or_else(|e| panic!("{tool}: {e}\n{q}"));
        }
    }
}

/// This machine's address on its default route, if it has one (no packet is sent).
fn own_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    Some(socket.local_addr().ok()?.ip()).filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
}

/// `shoplens sql --format json`'s rows.
fn shoplens_sql_json(wh: &Path, sql: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .args(["sql", "--warehouse"])
        .arg(wh)
        .args(["--format", "json", sql])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Whether a client program the CI installs is here; outside CI a missing one skips its test.
fn have(program: &str, probe: &[&str]) -> bool {
    let ok = Command::new(program).args(probe).output().is_ok_and(|o| o.status.success());
    assert!(ok || std::env::var_os("CI").is_none(), "{program} is missing: scripts/test.sh installs it");
    ok
}

#[tokio::test(flavor = "multi_thread")]
async fn psql_lists_the_tables_describes_one_and_runs_a_kpi_query_over_tls() {
    if !have("psql", &["--version"]) {
        return;
    }
    let s = live_on("0.0.0.0:0", 300, true, options(60, 16), true).await;
    let psql = |args: &[&str], host: &str, tls: bool| {
        let conn = format!(
            "host={host} port={} user=ana dbname=shop sslmode={}",
            s.pg.port(),
            if tls { "require" } else { "disable" }
        );
        let out = Command::new("psql")
            .arg(conn)
            .args(["-X", "-v", "ON_ERROR_STOP=1"])
            .args(args)
            .env("PGPASSWORD", PASSWORD)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, dt) = psql(&["-c", "\\dt"], "127.0.0.1", true);
    assert!(ok, "{dt}");
    for t in ["fact_order", "fact_order_line", "dim_customer", "dim_date", "agg_order"] {
        assert!(dt.contains(t), "\\dt lacks {t}:\n{dt}");
    }
    let (ok, d) = psql(&["-c", "\\d fact_order_line"], "127.0.0.1", false);
    assert!(ok && d.contains("line_revenue") && d.contains("numeric"), "{d}");
    // `\d+` on every table and view: columns with their comments, keys, foreign keys both ways
    let views = ["order_lines", "revenue_lines", "revenue_orders", "revenue_returns", "revenue_customers"];
    for t in shoplens::warehouse::schema::table_names().chain(views) {
        let (ok, d) = psql(&["-c", &format!("\\d+ {t}")], "127.0.0.1", false);
        assert!(ok && d.contains(&format!("\"public.{t}\"")), "\\d+ {t}:\n{d}");
    }
    let (_, d) = psql(&["-c", "\\d+ fact_order"], "127.0.0.1", false);
    for shown in [
        "order_key      | integer",
        "surrogate key",
        "\"fact_order_pkey\" PRIMARY KEY, btree (order_key)",
        "\"fact_order_customer_key_fkey\" FOREIGN KEY (customer_key) REFERENCES dim_customer(customer_key)",
        "TABLE \"fact_order_line\" CONSTRAINT \"fact_order_line_order_key_fkey\" FOREIGN KEY (order_key) REFERENCES fact_order(order_key)",
    ] {
        assert!(d.contains(shown), "\\d+ fact_order lacks {shown}:\n{d}");
    }
    let (_, d) = psql(&["-c", "\\d+ fact_order_line"], "127.0.0.1", false);
    assert!(d.contains("\"fact_order_line_pkey\" PRIMARY KEY, btree (order_key, line_no)"), "{d}");
    let (_, v) = psql(&["-c", "\\d+ revenue_customers"], "127.0.0.1", false);
    assert!(v.contains("View definition:") && v.contains("FROM revenue_orders"), "{v}");
    let (ok, listed) = psql(&["-c", "\\dt+"], "127.0.0.1", true);
    assert!(ok && listed.contains("one order line"), "{listed}");
    let (ok, n) = psql(&["-At", "-c", "SELECT COUNT(*) FROM revenue_orders"], "127.0.0.1", true);
    assert!(ok, "{n}");
    let kpi = common::kpis(&s.wh, &Filter::default()).await;
    assert_eq!(n.trim(), kpi["summary"]["orders"].to_string());
    // from another host (this machine's own address, not loopback): TLS or nothing
    let Some(ip) = own_address() else {
        assert!(std::env::var_os("CI").is_none(), "no non-loopback address to test from");
        return;
    };
    let (ok, plain) = psql(&["-c", "SELECT 1"], &ip.to_string(), false);
    assert!(!ok && plain.contains("TLS"), "{plain}");
    let (ok, secure) = psql(&["-At", "-c", "SELECT 5"], &ip.to_string(), true);
    assert!(ok && secure.trim() == "5", "{secure}");
}

#[tokio::test(flavor = "multi_thread")]
async fn python_clients_psycopg_sqlalchemy_and_adbc_flight_sql() {
    let probe = ["-c", "import psycopg, sqlalchemy, adbc_driver_flightsql, pyarrow, asyncpg"];
    if !have("python3", &probe) {
        return;
    }
    let s = live(2000, true, LiveOptions { timeout: Duration::from_secs(60), ..Default::default() }).await;
    let expected = shoplens_sql_json(
        &s.wh,
        "SELECT c.country, COUNT(*) AS orders FROM fact_order o JOIN dim_customer c USING (customer_key) GROUP BY 1 ORDER BY 1",
    );
    let tables: Vec<&str> = shoplens::warehouse::schema::table_names().collect();
    let out = Command::new("python3")
        .arg("tests/live_clients.py")
        .env("PG_PORT", s.pg.port().to_string())
        .env("FLIGHT_PORT", s.flight.port().to_string())
        .env("PG_USER", "ana")
        .env("PG_PASSWORD", PASSWORD)
        .env("TOKEN", &s.token)
        .env("EXPECTED", expected.to_string())
        .env("TABLES", tables.join(","))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("all client checks passed"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_logs_each_connection_and_statement_with_its_user_never_a_password() {
    let shop = common::shop(5, 200);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    let mut c = Credentials::default();
    c.add_user("ana", PASSWORD, false).unwrap();
    c.save(wh.path()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .args(["serve", "--no-dashboard", "--pg-addr", "127.0.0.1:0", "--warehouse"])
        .arg(wh.path())
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines, log) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut seen = Vec::new();
    let addr: SocketAddr = loop {
        let line = log.recv_timeout(Duration::from_secs(60)).expect("serve printed its address");
        seen.push(line.clone());
        if let Some(rest) = line.split("PostgreSQL protocol at ").nth(1) {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    let client = connect(addr, "ana", PASSWORD).await.unwrap();
    assert_eq!(one(&client, "SELECT 42 AS answer").await, "42");
    assert!(connect(addr, "ana", "a wrong password").await.is_err());
    let _ = client.simple_query("ALTER USER ana WITH PASSWORD 'hunter2hunter2'").await;
    drop(client);
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().unwrap();
    let _ = child.wait();
    seen.extend(log.try_iter());
    let text = seen.join("\n");
    assert!(text.contains("connection") && text.contains("user=ana"), "{text}");
    assert!(text.contains("SELECT 42 AS answer") && text.contains("statement"), "{text}");
    assert!(text.contains("sign-in failed"), "{text}");
    assert!(!text.contains(PASSWORD) && !text.contains("a wrong password"), "a password in the log:\n{text}");
    assert!(text.contains("ALTER USER ana") && !text.contains("hunter2"), "a password in the log:\n{text}");
}

/// Debian's pgjdbc (`libpostgresql-jdbc-java`).
const PGJDBC: &str = "/usr/share/java/postgresql.jar";

#[tokio::test(flavor = "multi_thread")]
async fn pgjdbc_browses_every_table_as_metabase_and_dbeaver_do() {
    let ready = Path::new(PGJDBC).exists() && have("javac", &["-version"]);
    if !ready {
        assert!(std::env::var_os("CI").is_none(), "CI lacks a JDK or pgjdbc: scripts/test.sh installs them");
        eprintln!("skipped: needs a JDK and {PGJDBC} (apt-get install default-jdk-headless libpostgresql-jdbc-java)");
        return;
    }
    let s = live(2000, true, options(60, 16)).await;
    let url = format!("jdbc:postgresql://127.0.0.1:{}/shop?sslmode=disable", s.pg.port());
    let out =
        Command::new("java").args(["-cp", PGJDBC, "tests/jdbc/Browse.java", &url, "ana", PASSWORD]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    // every table: its columns, and its key as primary key and unique index
    for t in shoplens::warehouse::schema::TABLES {
        let summary = lines.iter().find(|l| l.starts_with(&format!("table {} ", t.name)));
        let summary = summary.unwrap_or_else(|| panic!("no answer for {}:\n{text}", t.name));
        assert!(summary.contains(&format!(" pk {} ", t.key.len())), "{summary}");
        assert!(summary.ends_with(&format!(" indexes {}", t.key.len())), "{summary}");
        for (i, column) in t.key.iter().enumerate() {
            let pk = format!("pk {}.{column} {}_pkey {}", t.name, t.name, i + 1);
            assert!(lines.contains(&pk.as_str()), "no {pk}:\n{text}");
        }
    }
    // the joins Metabase and DBeaver draw
    for fk in [
        "fk fact_order.customer_key -> dim_customer.customer_key",
        "fk fact_order.channel_key -> dim_channel.channel_key",
        "fk fact_order_line.order_key -> fact_order.order_key",
        "fk fact_order_line.product_key -> dim_product.product_key",
        "fk fact_payment.method_key -> dim_payment_method.method_key",
        "fk fact_refund.date_key -> dim_date.date_key",
    ] {
        assert!(lines.contains(&fk), "no {fk}:\n{text}");
    }
    // a bound parameter and a fetch size: every line with at least one unit, streamed
    let expected = shoplens_sql_json(&s.wh, "SELECT COUNT(*) AS n, SUM(quantity) AS units FROM fact_order_line");
    let query = lines.iter().find(|l| l.starts_with("query ")).unwrap_or_else(|| panic!("{text}"));
    assert_eq!(*query, format!("query {} {}", expected[0]["n"], expected[0]["units"]), "{text}");
}

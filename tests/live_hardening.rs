//! Issue 33's third attack round, each break replayed against a server in this process on
//! loopback: a statement that would build more than the server can hold (a parameter
//! `$99999999999`, `array_repeat(1, 500000000)`, `repeat` over a batch, a constant folded while
//! planning) is refused and the server goes on; connections beyond the caps are closed at once,
//! on both ports and per address; an unread Flight stream gives its permit back at the deadline;
//! webhook text is escaped; the drop folder refuses links, FIFOs and unreadable names; only SCRAM
//! keys are stored; a malformed Parse message never panics.

mod common;

use futures::TryStreamExt;
use shoplens::serve::access::Credentials;
use shoplens::serve::live::LiveOptions;
use shoplens::serve::{ServeOptions, Server};
use shoplens::warehouse::Store;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::{Client, NoTls};

const PASSWORD: &str = "correct horse battery";

/// A served warehouse (dashboard, PostgreSQL, Flight SQL): stops when dropped.
struct Live {
    web: SocketAddr,
    pg: SocketAddr,
    flight: SocketAddr,
    wh: PathBuf,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

async fn live(orders: u64, users: bool, timeout: u64, max_connections: usize) -> Live {
    let shop = common::shop(33, orders);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    if users {
        let mut c = Credentials::default();
        c.add_user("ana", PASSWORD, false).unwrap();
        c.save(wh.path()).unwrap();
    }
    let at: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let options = ServeOptions {
        dashboard: true,
        live: LiveOptions { pg: Some(at), flight: Some(at), timeout: Duration::from_secs(timeout), max_connections },
        ..Default::default()
    };
    let server = Server::start(Store::new(wh.path()), at, &options).await.unwrap();
    let (web, pg, flight) = (server.addr(), server.pg_addr().unwrap(), server.flight_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    Live { web, pg, flight, wh: wh.path().to_path_buf(), _stop: stop, _dirs: (shop, wh) }
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

/// The first value of a simple query's only row.
async fn one(client: &Client, sql: &str) -> String {
    let rows = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    rows.iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("NULL").to_string()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{sql}: no row"))
}

/// `/healthz`'s status code, or the error, within two seconds.
async fn healthz(web: SocketAddr) -> Result<u16, String> {
    let ask = async {
        let mut s = tokio::net::TcpStream::connect(web).await.map_err(|e| e.to_string())?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&answer);
        text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or_else(|| format!("no status: {text}"))
    };
    tokio::time::timeout(Duration::from_secs(2), ask).await.map_err(|_| "timed out".to_string())?
}

// ---- 1: parameter numbers and statement length ----

#[tokio::test(flavor = "multi_thread")]
async fn a_parameter_over_65535_or_a_statement_over_1_mb_is_refused_and_the_server_goes_on() {
    let s = live(200, false, 5, 16).await;
    let client = connect(s.pg, "a", "").await.unwrap();
    // prepared, as psycopg's `prepare=True` does: the process used to abort here
    let e = client.prepare("SELECT $99999999999").await.unwrap_err();
    assert_eq!(code(&e), "42P02", "{e}");
    let e = client.prepare("SELECT $65536::int").await.unwrap_err();
    assert_eq!(code(&e), "42P02", "{e}");
    let e = client.simple_query("SELECT $99999999999").await.unwrap_err();
    assert_eq!(code(&e), "42P02", "{e}");
    // within the limit, and in quotes, it is fine
    let ok = client.prepare("SELECT $1::int + $2::int").await.unwrap();
    let row = client.query_one(&ok, &[&1i32, &2i32]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 3);
    assert_eq!(one(&client, "SELECT '$99999999999'").await, "$99999999999");
    // 20 MB of blanks: refused before the parser spends gigabytes on it
    let blanks = format!("SELECT 1{}", " ".repeat(20 << 20));
    let started = Instant::now();
    let e = client.simple_query(&blanks).await.unwrap_err();
    assert_eq!(code(&e), "54000", "{e}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(one(&client, "SELECT 7").await, "7");
    // over Flight SQL too
    let e = flight_query(s.flight, "SELECT $99999999999").await.unwrap_err();
    assert!(e.to_string().contains("no parameter"), "{e}");
    let e = flight_query(s.flight, &format!("SELECT 1{}", " ".repeat(2 << 20))).await.unwrap_err();
    assert!(e.to_string().contains("too long"), "{e}");
    assert_eq!(one(&client, "SELECT 8").await, "8");
}

// ---- 2: functions and expressions whose output the statement sizes ----

#[tokio::test(flavor = "multi_thread")]
async fn allocation_bombs_are_refused_per_value_and_per_batch_while_planning_and_running() {
    let s = live(300, false, 5, 16).await;
    let client = connect(s.pg, "a", "").await.unwrap();
    for sql in [
        // the process aborted on these
        "SELECT cardinality(array_repeat(1, 500000000))",
        "SELECT cardinality(array_resize(make_array(1), 500000000))",
        "SELECT cardinality(range(TIMESTAMP '1970-01-01', TIMESTAMP '9999-01-01', INTERVAL '1 second'))",
        // each value under 16 MB, a batch of them far over it
        "SELECT SUM(length(repeat('abcdefghij', 1500000 + x))) FROM generate_series(1, 200) AS t(x)",
        "SELECT SUM(length(lpad('a', 1000000 + x))) FROM generate_series(1, 200) AS t(x)",
        // a constant folded while planning, where no time limit reaches
        "SELECT length(replace(repeat('a', 16000000), 'a', 'aaaaaaaaaaaaaaaaaaaa'))",
        "SELECT length(repeat('a', 16000000))",
        "SELECT length(repeat('a', 900000) || repeat('a', 900000) || repeat('a', 900000))",
        "SELECT length(concat(repeat('a', 900000), repeat('a', 900000), repeat('a', 900000)))",
        // a constant of a megabyte repeated for every row of a batch
        "SELECT SUM(length(concat(c, CAST(x AS TEXT)))) FROM (SELECT repeat('a', 1000000) AS c) AS k, \
         generate_series(1, 5000) AS t(x)",
        "SELECT SUM(length(c || CAST(x AS TEXT))) FROM (SELECT repeat('a', 1000000) AS c) AS k, \
         generate_series(1, 5000) AS t(x)",
        // results that grow with the square of the rows
        "SELECT SUM(cardinality(array_agg(x) OVER (ORDER BY x))) FROM generate_series(1, 100000) AS t(x)",
        "SELECT length(string_agg(CAST(x AS TEXT), repeat('-', 100000))) FROM generate_series(1, 100000) AS t(x)",
    ] {
        let started = Instant::now();
        let e = client.simple_query(sql).await.err().unwrap_or_else(|| panic!("{sql} was run"));
        assert!(code(&e) != "57014", "{sql}: stopped by the time limit, not refused: {e}");
        assert!(started.elapsed() < Duration::from_secs(4), "{sql}: {:?}", started.elapsed());
        assert_eq!(one(&client, "SELECT 1").await, "1", "after {sql}");
    }
    // ordinary statements are untouched
    assert_eq!(one(&client, "SELECT length(repeat('ab', 1000))").await, "2000");
    assert_eq!(one(&client, "SELECT 'a' || 'b' || 'c'").await, "abc");
    assert_eq!(one(&client, "SELECT 'a' || NULL").await, "NULL");
    assert_eq!(one(&client, "SELECT length(repeat('x', 1000000))").await, "1000000");
    assert_eq!(one(&client, "SELECT cardinality(range(1, 1000))").await, "999");
    let orders = one(&client, "SELECT COUNT(*) FROM fact_order").await;
    assert_eq!(one(&client, "SELECT COUNT(DISTINCT order_id || '-' || status) FROM fact_order").await, orders);
    let list: Vec<String> = (0..3000).map(|i| format!("'c{i}'")).collect();
    let sql = format!("SELECT COUNT(*) FROM fact_order WHERE status NOT IN ({})", list.join(","));
    assert_eq!(one(&client, &sql).await, orders);
    assert_eq!(
        one(&client, "SELECT length(string_agg(CAST(x AS TEXT), ', ')) FROM generate_series(1, 9) AS t(x)").await,
        "25"
    );
    // the same refusals over Flight SQL
    let e = flight_query(s.flight, "SELECT cardinality(array_repeat(1, 500000000))").await.unwrap_err();
    assert!(e.to_string().contains("over what one value may hold"), "{e}");
    let batches = flight_query(s.flight, "SELECT COUNT(*) FROM fact_order").await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
}

// ---- 3: connections ----

/// Whether the server closed `s` (end of stream or an error) within `wait`.
async fn closed_within(s: &mut tokio::net::TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 256];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // a 53300 error message: read on to the close
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_and_cancel_looking_connections_hold_no_more_than_the_cap_on_either_port() {
    let s = live(100, true, 5, 8).await;
    // Flight: far more silent connections than the cap, no sign-in
    let mut flight = Vec::new();
    for _ in 0..200 {
        flight.push(tokio::net::TcpStream::connect(s.flight).await.unwrap());
    }
    // PostgreSQL: connections whose first 8 bytes look like a cancel request, then nothing
    let mut pg = Vec::new();
    for _ in 0..200 {
        let mut c = tokio::net::TcpStream::connect(s.pg).await.unwrap();
        c.write_all(&[0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e]).await.unwrap();
        pg.push(c);
    }
    // the dashboard answers meanwhile
    assert_eq!(healthz(s.web).await, Ok(200));
    let mut open = (0, 0);
    for c in flight.iter_mut() {
        if !closed_within(c, Duration::from_millis(50)).await {
            open.0 += 1;
        }
    }
    // the cancel-looking ones are read for a moment at most
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for c in pg.iter_mut() {
        if !closed_within(c, Duration::from_millis(50)).await {
            open.1 += 1;
        }
    }
    assert!(open.0 <= 8, "Flight holds {} silent connections, over its cap of 8", open.0);
    assert!(open.1 <= 8, "PostgreSQL holds {} cancel-looking connections, over its cap of 8", open.1);
    assert_eq!(healthz(s.web).await, Ok(200));
    // the silent ones go after 10 s; then both ports serve again
    tokio::time::sleep(Duration::from_secs(9)).await;
    for c in flight.iter_mut() {
        assert!(closed_within(c, Duration::from_secs(3)).await, "a silent Flight connection was kept");
    }
    drop((flight, pg));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = connect(s.pg, "ana", PASSWORD).await.unwrap();
    assert_eq!(one(&client, "SELECT 1").await, "1");
}

/// A PostgreSQL connection from `from` (a loopback address of its own).
async fn connect_from(from: &str, to: SocketAddr) -> Result<Client, tokio_postgres::Error> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let stream = socket.connect(to).await.unwrap();
    let conf: tokio_postgres::Config = "user=a dbname=shop".parse().unwrap();
    let (client, conn) = conf.connect_raw(stream, NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_cannot_hold_every_connection() {
    let s = live(100, false, 5, 4).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from("127.0.0.1", s.pg).await.unwrap());
    }
    let Err(e) = connect_from("127.0.0.1", s.pg).await else { panic!("one address got all four connections") };
    assert_eq!(code(&e), "53300", "{e}");
    let other = connect_from("127.0.0.2", s.pg).await.expect("another address gets the last slot");
    assert_eq!(one(&other, "SELECT 2").await, "2");
    assert_eq!(one(&held[0], "SELECT 3").await, "3");
}

// ---- 4: Flight streams that stop being read ----

#[tokio::test(flavor = "multi_thread")]
async fn unread_flight_streams_give_their_permits_back_at_the_deadline() {
    let s = live(200, false, 2, 32).await;
    let mut streams = Vec::new();
    // as many as there are computation permits (four at most)
    for _ in 0..4 {
        let mut client = flight_client(s.flight).await;
        let info = client.execute("SELECT x FROM generate_series(1, 100000000000) AS t(x)".into(), None).await.unwrap();
        let ticket = info.endpoint[0].ticket.clone().unwrap();
        let Ok(mut stream) = client.do_get(ticket).await else { continue };
        // one batch read, then nothing
        let first = tokio::time::timeout(Duration::from_secs(10), stream.try_next()).await;
        assert!(matches!(first, Ok(Ok(Some(_)))), "{first:?}");
        streams.push((client, stream));
    }
    assert!(!streams.is_empty());
    // the permits go back at the streams' deadline (2 s), not at their next read: a statement
    // started a second later runs within its own 2 s
    tokio::time::sleep(Duration::from_secs(1)).await;
    let client = connect(s.pg, "a", "").await.unwrap();
    let answer = client.simple_query("SELECT COUNT(*) FROM fact_order").await;
    assert!(answer.is_ok(), "the statement waited for a permit an unread stream held: {answer:?}");
    // a stream read on after its deadline ends with the deadline's error, not a short result
    let (_, mut stream) = streams.pop().unwrap();
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.try_next()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => break "the end, as if complete".to_string(),
            Ok(Err(e)) => break format!("error: {e}"),
            Err(_) => break "no answer".to_string(),
        }
    };
    assert!(ended.contains("time limit"), "{ended}");
}

async fn flight_client(
    addr: SocketAddr,
) -> arrow_flight::sql::client::FlightSqlServiceClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::new(format!("http://{addr}")).unwrap().connect().await.unwrap();
    arrow_flight::sql::client::FlightSqlServiceClient::new(channel)
}

async fn flight_query(
    addr: SocketAddr,
    sql: &str,
) -> Result<Vec<datafusion::arrow::record_batch::RecordBatch>, arrow_flight::error::FlightError> {
    let mut client = flight_client(addr).await;
    let info = client.execute(sql.to_string(), None).await?;
    let ticket = info.endpoint[0].ticket.clone().expect("a ticket");
    client.do_get(ticket).await?.try_collect().await
}

// ---- 5: webhooks ----

#[test]
fn shop_data_in_slack_and_teams_messages_is_shown_never_obeyed() {
    use shoplens::notify::render::{Message, slack, teams};
    let evil = "<!channel> <https://evil.example/phish|Verify your account> ``` & *bold*";
    let m = Message {
        subject: format!("shoplens alert: category {evil} outside its forecast"),
        text: format!("shoplens alert: category {evil}\n\ncategory {evil}: 2024-05 revenue 10 against 20\n"),
        html: String::new(),
        json: serde_json::json!({"segment": evil}),
    };
    let s = slack(&m);
    let all = s.to_string();
    for live in ["<!channel>", "<https://", "```"] {
        assert!(!s["text"].as_str().unwrap().contains(live), "{live} in {}", s["text"]);
    }
    assert!(s["text"].as_str().unwrap().contains("&lt;!channel&gt;"), "{}", s["text"]);
    let section = s["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(section.starts_with("```") && section.ends_with("```"), "{section}");
    let inner = &section[3..section.len() - 3];
    assert!(!inner.contains('`'), "a backtick inside the code block: {inner}");
    assert!(!inner.contains('<') && !inner.contains('>'), "{inner}");
    assert!(inner.contains("&amp;"), "{inner}");
    assert_eq!(s["blocks"][0]["text"]["type"], "plain_text", "{all}");
    let t = teams(&m);
    let title = t["title"].as_str().unwrap();
    assert!(!title.contains("<!channel>") && title.contains("&lt;"), "{title}");
    assert_eq!(t["sections"][0]["markdown"], false);
    let text = t["sections"][0]["text"].as_str().unwrap();
    assert!(!text.contains("<https://") && text.contains("&lt;https://evil.example/phish\\|Verify"), "{text}");
    // the JSON webhook carries the data as it is
    assert_eq!(m.json["segment"], evil);
}

// ---- 6: the drop folder ----

async fn drop_run(folder: &Path, wh: &Path) -> shoplens::schedule::sources::RunOutcome {
    use shoplens::schedule::config::Schedule;
    use shoplens::schedule::sources::{Record, SourceRun};
    let text =
        format!("[[source]]\nname = \"drop\"\nfolder = \"{}\"\nevery = \"1s\"\nsettle = \"1ms\"\n", folder.display());
    let schedule = Schedule::parse(&text, &wh.join("schedule.toml")).unwrap();
    let source = schedule.sources.into_iter().next().unwrap();
    let mut run = SourceRun::new(source, Store::new(wh), shoplens::model::MemoryLimit::default());
    let mut record = Record::default();
    let mut outcome = shoplens::schedule::sources::RunOutcome::default();
    // the first run sees the entries, the second finds them settled
    for _ in 0..2 {
        let once = tokio::time::timeout(Duration::from_secs(20), run.run(&mut record, chrono::Utc::now()))
            .await
            .expect("a drop-folder run hung")
            .unwrap();
        outcome.imported.extend(once.imported);
        outcome.refused.extend(once.refused);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    outcome
}

#[tokio::test(flavor = "multi_thread")]
async fn the_drop_folder_refuses_links_fifos_and_unreadable_names_and_says_so() {
    use std::os::unix::ffi::OsStrExt;
    let wh = tempfile::tempdir().unwrap();
    common::import(common::shop(1, 100).path(), wh.path()).await.unwrap();
    let drop = tempfile::tempdir().unwrap();
    let elsewhere = common::shop(2, 200);
    // a link to an export outside the folder
    std::os::unix::fs::symlink(elsewhere.path(), drop.path().join("x")).unwrap();
    // a FIFO beside four real files
    let e = drop.path().join("e");
    std::fs::create_dir(&e).unwrap();
    for name in ["customers.csv", "products.csv", "order_items.csv", "payments.csv"] {
        std::fs::copy(elsewhere.path().join(name), e.join(name)).unwrap();
    }
    let fifo = std::ffi::CString::new(e.join("orders.csv").as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    // a name that is not UTF-8
    let odd = drop.path().join(std::ffi::OsStr::from_bytes(b"export-\xff"));
    std::fs::create_dir(&odd).unwrap();
    // and a real export after them, which must still be imported
    let good = common::shop(3, 150);
    let g = drop.path().join("z-good");
    std::fs::create_dir(&g).unwrap();
    for f in std::fs::read_dir(good.path()).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), g.join(f.file_name())).unwrap();
    }
    let outcome = drop_run(drop.path(), wh.path()).await;
    let refused = |name: &str, why: &str| {
        outcome.refused.iter().any(|(entry, message)| entry.starts_with(name) && message.contains(why))
    };
    assert!(refused("x", "symbolic link"), "{:?}", outcome.refused);
    assert!(refused("e", "FIFO"), "{:?}", outcome.refused);
    assert!(refused("export-", "not valid UTF-8"), "{:?}", outcome.refused);
    assert_eq!(outcome.imported.len(), 1, "{:?}", outcome.imported);
    assert_eq!(outcome.imported[0].1, "z-good");
}

// ---- 7: SCRAM keys ----

#[tokio::test(flavor = "multi_thread")]
async fn only_scram_keys_are_stored_and_an_old_salted_password_is_converted() {
    let s = live(100, true, 5, 16).await;
    let file = std::fs::read_to_string(Credentials::path(&s.wh)).unwrap();
    assert!(!file.contains("salted"), "{file}");
    assert!(file.contains("stored_key") && file.contains("server_key"), "{file}");
    let client = connect(s.pg, "ana", PASSWORD).await.unwrap();
    assert_eq!(one(&client, "SELECT 1").await, "1");
    // a file of the old form (the salted password only) is converted without the password
    let wh = tempfile::tempdir().unwrap();
    let salt = [7u8; 16];
    let salted = datafusion_postgres::pgwire::api::auth::sasl::scram::gen_salted_password(PASSWORD, &salt, 4096);
    let mut c = Credentials::default();
    c.add_user("ana", PASSWORD, false).unwrap();
    c.save(wh.path()).unwrap();
    let mut old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Credentials::path(wh.path())).unwrap()).unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    old["users"]["ana"]["scram"] = serde_json::json!({"salt": b64.encode(salt), "salted": b64.encode(&salted)});
    std::fs::write(Credentials::path(wh.path()), old.to_string()).unwrap();
    let loaded = Credentials::load(wh.path()).unwrap();
    let rewritten = std::fs::read_to_string(Credentials::path(wh.path())).unwrap();
    assert!(!rewritten.contains("salted"), "{rewritten}");
    let key = loaded.scram_key("ana").unwrap();
    let (_, keys) = key.bytes().expect("the keys");
    assert_eq!(keys.len(), 64);
    // the stored keys do not sign in: a client proving with StoredKey as its secret is refused
    let stored = &keys[..32];
    assert!(!scram_sign_in(s.pg, "ana", stored).await, "signed in with the stored key alone");
    // (the harness itself signs in with the real salted password of the live server's key)
}

/// Signs in over SCRAM-SHA-256 proving `secret` as the salted password; whether it was accepted.
async fn scram_sign_in(addr: SocketAddr, user: &str, secret: &[u8]) -> bool {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let hmac = |k: &[u8], m: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(k).unwrap();
        mac.update(m);
        mac.finalize().into_bytes().to_vec()
    };
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut body = Vec::new();
    body.extend_from_slice(&196608u32.to_be_bytes());
    for (k, v) in [("user", user), ("database", "shop")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    msg.extend_from_slice(&body);
    s.write_all(&msg).await.unwrap();
    async fn read_msg(s: &mut tokio::net::TcpStream) -> (u8, Vec<u8>) {
        let tag = s.read_u8().await.unwrap();
        let len = s.read_u32().await.unwrap() as usize;
        let mut b = vec![0; len - 4];
        s.read_exact(&mut b).await.unwrap();
        (tag, b)
    }
    let (tag, _) = read_msg(&mut s).await;
    assert_eq!(tag, b'R');
    let nonce = "rOprNGfwEbeRWgbNEkqO";
    let first_bare = format!("n={user},r={nonce}");
    let first = format!("n,,{first_bare}");
    let mut m = b"SCRAM-SHA-256\0".to_vec();
    m.extend_from_slice(&(first.len() as i32).to_be_bytes());
    m.extend_from_slice(first.as_bytes());
    let mut out = vec![b'p'];
    out.extend_from_slice(&((m.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&m);
    s.write_all(&out).await.unwrap();
    let (tag, b) = read_msg(&mut s).await;
    if tag != b'R' {
        return false;
    }
    let server_first = String::from_utf8_lossy(&b[4..]).to_string();
    let r = server_first.split(',').find_map(|p| p.strip_prefix("r=")).unwrap().to_string();
    let without_proof = format!("c=biws,r={r}");
    let auth = format!("{first_bare},{server_first},{without_proof}");
    let client_key = hmac(secret, b"Client Key");
    let stored_key = Sha256::digest(&client_key).to_vec();
    let signature = hmac(&stored_key, auth.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
    use base64::Engine as _;
    let last = format!("{without_proof},p={}", base64::engine::general_purpose::STANDARD.encode(proof));
    let mut out = vec![b'p'];
    out.extend_from_slice(&((last.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(last.as_bytes());
    s.write_all(&out).await.unwrap();
    let (tag, b) = read_msg(&mut s).await;
    tag == b'R' && b.get(..4) == Some(&12u32.to_be_bytes()[..])
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scram_harness_signs_in_with_the_real_salted_password() {
    // the control for the test above: the same client, given what the password salts to
    let s = live(100, true, 5, 16).await;
    let c = Credentials::load(&s.wh).unwrap();
    use base64::Engine as _;
    let salt = base64::engine::general_purpose::STANDARD.decode(&c.scram_key("ana").unwrap().salt).unwrap();
    let salted = datafusion_postgres::pgwire::api::auth::sasl::scram::gen_salted_password(PASSWORD, &salt, 4096);
    assert!(scram_sign_in(s.pg, "ana", &salted).await);
}

// ---- 8: malformed protocol input ----

static PGWIRE_PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[tokio::test(flavor = "multi_thread")]
async fn a_parse_message_with_a_parameter_count_of_minus_one_never_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.location().is_some_and(|l| l.file().contains("pgwire") || l.file().contains("bytes")) {
            PGWIRE_PANICS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        previous(info);
    }));
    let s = live(100, false, 5, 16).await;
    for count in [-1i16, 2, 1000] {
        let mut c = tokio::net::TcpStream::connect(s.pg).await.unwrap();
        let mut body = 196608u32.to_be_bytes().to_vec();
        body.extend_from_slice(b"user\0a\0database\0shop\0\0");
        let mut start = ((body.len() + 4) as u32).to_be_bytes().to_vec();
        start.extend_from_slice(&body);
        c.write_all(&start).await.unwrap();
        // read up to ReadyForQuery
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.windows(6).any(|w| w == [b'Z', 0, 0, 0, 5, b'I']) {
            let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await.unwrap().unwrap();
            assert!(n > 0, "closed before ReadyForQuery");
            seen.extend_from_slice(&buf[..n]);
        }
        // Parse: no name, "SELECT 1", a parameter-type count and no types
        let mut parse = b"\0SELECT 1\0".to_vec();
        parse.extend_from_slice(&count.to_be_bytes());
        let mut msg = vec![b'P'];
        msg.extend_from_slice(&((parse.len() + 4) as u32).to_be_bytes());
        msg.extend_from_slice(&parse);
        msg.extend_from_slice(&[b'S', 0, 0, 0, 4]);
        c.write_all(&msg).await.unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(2), c.read(&mut buf)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(PGWIRE_PANICS.load(std::sync::atomic::Ordering::SeqCst), 0, "a connection task panicked");
    let client = connect(s.pg, "a", "").await.unwrap();
    assert_eq!(one(&client, "SELECT 1").await, "1");
}

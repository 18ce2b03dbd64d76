//! A throwaway PostgreSQL cluster for the tests: `initdb` in a temporary folder, a server on a
//! free loopback port with its socket in that folder, trust authentication for one user, stopped
//! when dropped. As root (as CI runs) the server runs as the `postgres` system user.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running server.
pub struct Pg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

fn as_root() -> bool {
    // SAFETY: geteuid has no preconditions
    unsafe { libc::geteuid() == 0 }
}

/// Runs a server binary, as the postgres user when this process is root.
fn run(bin: &Path, tool: &str, args: &[&str]) {
    let exe = bin.join(tool);
    let mut cmd = if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let out = cmd.args(args).output().unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(
        out.status.success(),
        "{tool} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pg {
    /// Starts a server; `None` (outside CI) when PostgreSQL is not installed.
    pub fn start() -> Option<Pg> {
        let Some(bin) = bin_dir() else {
            assert!(std::env::var("CI").is_err(), "CI lacks PostgreSQL (.ci/run installs it)");
            eprintln!("skipped: needs PostgreSQL's server binaries (apt-get install postgresql)");
            return None;
        };
        let dir = tempfile::Builder::new().prefix("shoplens-pg-").tempdir().unwrap();
        if as_root() {
            let ok = Command::new("chown").args(["-R", "postgres:"]).arg(dir.path()).status().unwrap();
            assert!(ok.success());
        }
        let data = dir.path().join("data");
        let data_s = data.to_str().unwrap();
        run(&bin, "initdb", &["-D", data_s, "-A", "trust", "-U", "shoplens", "--no-sync", "-E", "UTF8"]);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            dir.path().display()
        );
        let log = dir.path().join("server.log");
        run(&bin, "pg_ctl", &["-D", data_s, "-o", &opts, "-l", log.to_str().unwrap(), "-w", "start"]);
        Some(Pg { dir, bin, port })
    }

    /// The URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://shoplens@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL (psql's backslash commands too) in database `db`; panics on an error.
    pub fn psql(&self, db: &str, sql: &str) {
        let out = Command::new(self.bin.join("psql"))
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-X", "-d", &self.url(db), "-c", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Creates database `db` with the canonical record sets as typed tables, loaded from the
    /// export folder `shop`.
    pub fn seed(&self, db: &str, shop: &Path) {
        self.psql("postgres", &format!("CREATE DATABASE {db}"));
        self.psql(
            db,
            "CREATE TABLE customers (customer_id text PRIMARY KEY, customer_name text, city text, region text, country text, signup_date date);
             CREATE TABLE products (product_id text PRIMARY KEY, product_name text, category text, unit_cost numeric(12,2), list_price numeric(12,2), variant_of text);
             CREATE TABLE orders (order_id text PRIMARY KEY, customer_id text, order_ts timestamp, status text, updated_at timestamp DEFAULT now());
             CREATE TABLE order_items (order_id text, line_no int, product_id text, quantity int, unit_price numeric(14,4), discount numeric(14,4));
             CREATE TABLE payments (order_id text, payment_seq int, method text, installments int, amount numeric(14,4));",
        );
        for (table, columns) in [
            ("customers", "customer_id, customer_name, city, region, country, signup_date"),
            ("products", "product_id, product_name, category, unit_cost, list_price, variant_of"),
            ("orders", "order_id, customer_id, order_ts, status"),
            ("order_items", "order_id, line_no, product_id, quantity, unit_price, discount"),
            ("payments", "order_id, payment_seq, method, installments, amount"),
        ] {
            let file = shop.join(format!("{table}.csv"));
            self.psql(db, &format!("\\copy {table} ({columns}) FROM '{}' CSV HEADER", file.display()));
        }
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let exe = self.bin.join("pg_ctl");
        let mut cmd = if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let _ = cmd.args(["-D", data.to_str().unwrap(), "-m", "immediate", "-w", "stop"]).output();
    }
}

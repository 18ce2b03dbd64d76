#!/usr/bin/env python3
"""Issue 19's twelve attacks and issue 33's live-surface attacks, replayed against the shoplens binary on loopback: one line per attack,
`held` or `broke` (or `skipped`, with the reason and the test that covers it instead).

    python3 bench/attacks.py --exe target/debug/shoplens            # a 20k shop
    python3 bench/attacks.py --smoke --exe target/debug/shoplens    # a 3k shop, fewer requests (CI)

bench/hostile.py runs it after its own mix. Exits 1 when an attack broke.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile import free_port, get, request  # noqa: E402

ANA = "correct horse battery"


class Server:
    """`shoplens serve` on a free loopback port, until `stop`."""

    def __init__(self, exe, wh, *extra, memory=None):
        self.port = free_port()
        args = [exe] + (["--memory-limit", memory] if memory else [])
        args += ["serve", "--warehouse", str(wh), "--addr", f"127.0.0.1:{self.port}", *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(400):
            try:
                if get(self.port, "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def run(exe, *args, stdin=None):
    return subprocess.run([exe, *map(str, args)], input=stdin, capture_output=True)


def add_user(exe, wh, name, password, replace=False):
    extra = ["--replace"] if replace else []
    out = run(exe, "users", "add", name, "--warehouse", wh, "--password-stdin", *extra, stdin=f"{password}\n".encode())
    assert out.returncode == 0, out.stderr


def sign_in(port, user, password, headers=""):
    form = f"user={user}&password={password.replace(' ', '+')}"
    raw = (f"POST /signin HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           f"Content-Length: {len(form)}\r\nConnection: close\r\n{headers}\r\n{form}").encode()
    return request(port, raw)


def cookie(answer):
    status, head, _ = answer
    for line in head.split("\r\n"):
        if line.lower().startswith("set-cookie:") and status == 303:
            return line.split(":", 1)[1].strip().split(";")[0]
    return None


def fresh(base, tmp, name):
    """A copy of the warehouse `base` in `tmp/name`."""
    wh = Path(tmp) / name
    shutil.copytree(base, wh, symlinks=True)
    return wh


# ---- the attacks: each returns (held, what was seen) ----

def a1_deadlock(exe, base, tmp, smoke):
    # more simultaneous uncached section requests than computation permits (64M: one)
    wh = fresh(base, tmp, "a1")
    s = Server(exe, wh, memory="64M")
    try:
        paths = [f"/api/kpis/summary?from=2019-01-0{n}" for n in range(1, 7)] + ["/api/kpis/compare?top=3"]
        t = time.perf_counter()
        with ThreadPoolExecutor(len(paths)) as pool:
            statuses = list(pool.map(lambda p: get(s.port, p)[0], paths))
        took = time.perf_counter() - t
    finally:
        s.stop()
    return all(x == 200 for x in statuses), f"statuses {statuses} in {took:.1f} s"


def a2_parallel_guesses(exe, base, tmp, smoke):
    wh = fresh(base, tmp, "a2")
    add_user(exe, wh, "ana", ANA)
    s = Server(exe, wh)
    try:
        forms = [("ana", f"guess{n}") for n in range(44)] + [("ana", ANA)]
        with ThreadPoolExecutor(45) as pool:
            statuses = list(pool.map(lambda f: sign_in(s.port, *f)[0], forms))
    finally:
        s.stop()
    checked = sum(1 for x in statuses if x in (401, 303))
    return checked <= 5, f"{checked} passwords checked, {statuses.count(429)} refused, last {statuses[-1]}"


def a3_first_user_closes(exe, base, tmp, smoke):
    wh = fresh(base, tmp, "a3")
    s = Server(exe, wh)
    try:
        before = get(s.port, "/api/kpis")[0]
        add_user(exe, wh, "ana", ANA)
        after_user = get(s.port, "/api/kpis")[0]
    finally:
        s.stop()
    wh = fresh(base, tmp, "a3b")
    s = Server(exe, wh)
    try:
        assert run(exe, "tokens", "add", "ci", "--warehouse", wh).returncode == 0
        after_token = get(s.port, "/api/kpis")[0]
    finally:
        s.stop()
    return before == 200 and after_user == 401 and after_token == 401, \
        f"open {before}, after users add {after_user}, after tokens add {after_token}"


def a4_sessions_end(exe, base, tmp, smoke):
    wh = fresh(base, tmp, "a4")
    add_user(exe, wh, "ana", ANA)
    add_user(exe, wh, "bo", "another good password")
    s = Server(exe, wh)
    try:
        ana = cookie(sign_in(s.port, "ana", ANA))
        bo = cookie(sign_in(s.port, "bo", "another good password"))
        add_user(exe, wh, "ana", "a brand new password", replace=True)
        replaced = get(s.port, "/api/kpis/summary", f"Cookie: {ana}\r\n")[0]
        run(exe, "users", "remove", "bo", "--warehouse", wh)
        removed = get(s.port, "/api/kpis/summary", f"Cookie: {bo}\r\n")[0]
        add_user(exe, wh, "bo", "another good password")
        readded = get(s.port, "/api/kpis/summary", f"Cookie: {bo}\r\n")[0]
    finally:
        s.stop()
    return (replaced, removed, readded) == (401, 401, 401), \
        f"old cookie after --replace {replaced}, after remove {removed}, after re-adding {readded}"


def a5_lockout(exe, base, tmp, smoke):
    wh = fresh(base, tmp, "a5")
    add_user(exe, wh, "ana", ANA)
    add_user(exe, wh, "bo", "another good password")
    s = Server(exe, wh, "--trust-proxy")
    hop = lambda n: f"X-Forwarded-For: 10.0.0.{n}\r\n"
    try:
        for n in range(1, 6):
            sign_in(s.port, "ana", "wrong guess", hop(n))
        for n in range(5):
            sign_in(s.port, f"nobody{n}", "wrong guess", hop(7))
        ana = sign_in(s.port, "ana", ANA, hop(9))[0]
        bo = sign_in(s.port, "bo", "another good password", hop(7))[0]
    finally:
        s.stop()
    return (ana, bo) == (303, 303), f"ana from a clean address {ana}, bo from the spraying address {bo}"


def a6_symlinks(exe, base, tmp, smoke, shop):
    wh = fresh(base, tmp, "a6")
    outside = Path(tmp) / "a6-outside"
    outside.mkdir()
    names = ["access.json.tmp", "CURRENT.tmp", "rejects.csv.tmp"]
    for n in names:
        (outside / n).write_text("not yours")
        os.symlink(outside / n, wh / n)
    add_user(exe, wh, "ana", ANA)
    imported = run(exe, "import", shop, "--warehouse", wh, "--append").returncode
    untouched = all((outside / n).read_text() == "not yours" for n in names)
    regular = all(not (wh / n).is_symlink() for n in ["access.json", "CURRENT", "rejects.csv"])
    mode = (wh / "access.json").stat().st_mode & 0o077
    return imported == 0 and untouched and regular and mode == 0, \
        f"import exit {imported}, targets untouched {untouched}, published files regular {regular}, access.json group/other bits {mode:o}"


def a7_versions(exe, base, tmp, smoke, shop):
    wh = fresh(base, tmp, "a7")
    s = Server(exe, wh)
    stop, answers = threading.Event(), []

    def reader(n):
        i = 0
        while not stop.is_set():
            i += 1
            st, _, body = get(s.port, f"/api/kpis?top={(n * 97 + i) % 1000 + 1}")
            answers.append((st, body))

    try:
        threads = [threading.Thread(target=reader, args=(n,)) for n in range(3 if smoke else 6)]
        for t in threads:
            t.start()
        for _ in range(4 if smoke else 20):
            run(exe, "import", shop, "--warehouse", wh, "--append")
        stop.set()
        for t in threads:
            t.join()
    finally:
        s.stop()
    bad = [(st, b[:120]) for st, b in answers if st != 200]
    paths = [b for st, b in answers if st >= 500 and b"/" in b]
    return not bad and not paths, f"{len(answers)} requests, {len(bad)} not 200 {bad[:2]}, {len(paths)} showing a path"


HEALTH_MONITOR = """
import json, sys, time
sys.path.insert(0, sys.argv[3])
from hostile import get
port, stop, lat = int(sys.argv[1]), sys.argv[2], []
import os
while not os.path.exists(stop):
    t = time.perf_counter()
    ok = get(port, "/healthz")[0] == 200
    lat.append((time.perf_counter() - t) * 1000 if ok else float("inf"))
    time.sleep(0.02)
print(json.dumps(sorted(lat)))
"""


def a8_heavy_customers(exe, base, tmp, smoke):
    wh = fresh(base, tmp, "a8")
    s = Server(exe, wh)
    stop = Path(tmp) / "a8-stop"
    try:
        get(s.port, "/api/customers/rfm/customers?per_page=1")  # the list, computed once
        # /healthz timed from a process of its own: this one's threads would hold its GIL
        monitor = subprocess.Popen([sys.executable, "-c", HEALTH_MONITOR, str(s.port), str(stop), str(Path(__file__).resolve().parent)],
                                   stdout=subprocess.PIPE, text=True)
        n = 10 if smoke else 40
        jobs = [(f"/api/customers/rfm/customers?per_page=1&page={i + 1}", "") for i in range(n)]
        jobs += [("/api/customers/rfm/customers", "Accept: text/csv\r\n")] * n
        statuses, started = [], time.perf_counter()
        with ThreadPoolExecutor(n) as pool:
            while time.perf_counter() - started < (2 if smoke else 10):
                statuses += pool.map(lambda j: get(s.port, j[0], j[1])[0], jobs)
        stop.touch()
        lat = json.loads(monitor.communicate()[0])
    finally:
        s.stop()
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float("inf")
    all_ok = all(x == 200 for x in statuses)
    ok = all_ok and (smoke or p99 < 50)
    return ok, f"{len(statuses)} requests, all 200: {all_ok}; /healthz p99 {p99:.1f} ms over {len(lat)} checks" + \
        (" (not judged on a smoke run)" if smoke else "")


def a9_damaged(exe, base, tmp, smoke):
    wh = fresh(base, tmp, "a9")
    version = json.loads((wh / "CURRENT").read_text())["version"]
    month = sorted((wh / version / "fact_order_line").glob("*.parquet"))[0]
    data = bytearray(month.read_bytes())
    data[-8:-4] = (0x7FFFFFFF).to_bytes(4, "little")
    month.write_bytes(bytes(data))
    out = run(exe, "kpi", "--warehouse", wh)
    err = out.stderr.decode(errors="replace")
    ok = out.returncode == 1 and "fact_order_line" in err and month.name in err and "panic" not in err
    return ok, f"kpi exit {out.returncode}: {err.strip()[:160]}"


def a10_disk_full(exe, base, tmp, smoke, shop):
    if os.geteuid() != 0 or not shutil.which("mount"):
        return None, "needs root to mount a small tmpfs; tests/hardening.rs a_failed_publish_removes_what_it_wrote covers the clean-up"
    mnt = Path(tmp) / "a10"
    mnt.mkdir()
    size = sum(f.stat().st_size for f in Path(base).rglob("*") if f.is_file())
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size * 4 // 1024 + 2048}k", "tmpfs", mnt]).returncode != 0:
        return None, "mount failed; tests/hardening.rs a_failed_publish_removes_what_it_wrote covers the clean-up"
    try:
        wh, probe = mnt / "wh", mnt / "probe"
        shutil.copytree(base, wh)
        # what one append leaves on the disk, measured on a copy; then the disk is filled so that
        # two pages short of it remain. The import runs out of space while writing its tables
        # (its peak use is above what it leaves), not at the manifest as in issue 19's run;
        # tests/hardening.rs a_failed_publish_removes_what_it_wrote fails it at the manifest
        shutil.copytree(base, probe)
        before = shutil.disk_usage(mnt).free
        run(exe, "import", shop, "--warehouse", probe, "--append")
        needed = before - shutil.disk_usage(mnt).free
        shutil.rmtree(probe)
        filler = mnt / "filler"
        with open(filler, "wb") as f:
            f.write(b"\0" * max(0, shutil.disk_usage(mnt).free - (needed - 2 * 4096)))
        failed = run(exe, "import", shop, "--warehouse", wh, "--append")
        said = failed.stderr.decode(errors="replace").strip().splitlines()
        left = sorted(p.name for p in wh.iterdir() if p.name.startswith((".staging-", "CURRENT.tmp")))
        versions = sorted(p.name for p in wh.iterdir() if p.name.startswith("v-"))
        filler.unlink()
        after = run(exe, "import", shop, "--warehouse", wh, "--append").returncode
        kpi = run(exe, "kpi", "--warehouse", wh).returncode
    finally:
        subprocess.run(["umount", mnt])
    ok = failed.returncode == 1 and not left and len(versions) == 1 and after == 0 and kpi == 0
    return ok, f"full: exit {failed.returncode} ({said[0][:90] if said else ''}), leftovers {left}, versions {len(versions)}; " \
        f"freed: import exit {after}, kpi exit {kpi}"


def a11_watermark(exe, base, tmp, smoke, shop):
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bins:
        return None, "needs PostgreSQL's server binaries; tests/postgres.rs " \
            "a_tampered_watermark_stays_a_literal_under_either_string_setting covers it"
    bin_dir, root = bins[-1].parent, os.geteuid() == 0
    pg = Path(tempfile.mkdtemp(prefix="shoplens-pg-", dir=tmp))
    as_pg = lambda tool, *args: subprocess.run((["runuser", "-u", "postgres", "--"] if root else []) + [str(bin_dir / tool), *map(str, args)],
                                               capture_output=True, check=True)
    if root:
        os.chmod(tmp, 0o755)
        subprocess.run(["chown", "-R", "postgres:", pg], check=True)
    port = free_port()
    as_pg("initdb", "-D", pg / "data", "-A", "trust", "-U", "shoplens", "--no-sync", "-E", "UTF8")
    as_pg("pg_ctl", "-D", pg / "data", "-o", f"-p {port} -k {pg} -c listen_addresses=127.0.0.1 -c fsync=off",
          "-l", pg / "log", "-w", "start")
    db_url = lambda db: f"postgres://shoplens@127.0.0.1:{port}/{db}"
    url = db_url("shop")
    psql = lambda db, sql: subprocess.run([bin_dir / "psql", "-v", "ON_ERROR_STOP=1", "-q", "-X", "-d", db_url(db), "-c", sql],
                                          capture_output=True, check=True)
    try:
        psql("postgres", "CREATE DATABASE shop")
        psql("shop", "CREATE TABLE customers (customer_id text, customer_name text, city text, region text, country text, signup_date date);"
                     "CREATE TABLE products (product_id text, product_name text, category text, unit_cost numeric, list_price numeric);"
                     "CREATE TABLE orders (order_id text, customer_id text, order_ts timestamp, status text, updated_at text DEFAULT '2025-01-01 00:00:00');"
                     "CREATE TABLE order_items (order_id text, line_no int, product_id text, quantity int, unit_price numeric, discount numeric);"
                     "CREATE TABLE payments (order_id text, payment_seq int, method text, installments int, amount numeric);")
        for table, cols in [("customers", "customer_id, customer_name, city, region, country, signup_date"),
                            ("products", "product_id, product_name, category, unit_cost, list_price"),
                            ("orders", "order_id, customer_id, order_ts, status"),
                            ("order_items", "order_id, line_no, product_id, quantity, unit_price, discount"),
                            ("payments", "order_id, payment_seq, method, installments, amount")]:
            psql("shop", f"\\copy {table} ({cols}) FROM '{Path(shop) / (table + '.csv')}' CSV HEADER")
        psql("postgres", "ALTER DATABASE shop SET standard_conforming_strings = off")
        wh = Path(tmp) / "a11"
        assert run(exe, "import", url, "--warehouse", wh).returncode == 0
        manifest = json.loads((wh / "CURRENT").read_text())
        manifest["imports"][-1]["watermark"] = "\\' OR true)) TO STDOUT WITH (FORMAT csv, HEADER true) --"
        (wh / "CURRENT").write_text(json.dumps(manifest))
        out = run(exe, "import", url, "--warehouse", wh, "--append")
        said = out.stderr.decode(errors="replace")
    finally:
        as_pg("pg_ctl", "-D", pg / "data", "-m", "immediate", "-w", "stop")
    read = said.split("read ", 1)[-1].split(" (")[0]
    return "orders 0," in said, f"append exit {out.returncode}, read {read}"


def a12_login_csrf(exe, base, tmp, smoke):
    wh = fresh(base, tmp, "a12")
    add_user(exe, wh, "ana", ANA)
    s = Server(exe, wh)
    try:
        evil = sign_in(s.port, "ana", ANA, "Origin: https://evil.example\r\nSec-Fetch-Site: cross-site\r\n")
        session = cookie(sign_in(s.port, "ana", ANA))
        out = request(s.port, (f"POST /signout HTTP/1.1\r\nHost: localhost\r\nCookie: {session}\r\n"
                               "Origin: https://evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").encode())
    finally:
        s.stop()
    ok = evil[0] == 403 and cookie(evil) is None and out[0] == 403
    return ok, f"cross-site sign-in {evil[0]}, cross-site sign-out {out[0]}"


# ---- issue 33: the live surfaces (PostgreSQL wire, Flight SQL, webhooks, the drop folder) ----
# Each replays a break of the third attack round against `shoplens serve` with the limits the
# round used (--memory-limit 512M --sql-timeout 5); the ones that need a Flight client, a webhook
# receiver or a crafted schedule are covered by tests/live_hardening.rs and say so.

import socket, struct


class LiveServer(Server):
    """`shoplens serve` with the PostgreSQL and Flight SQL ports on loopback."""

    def __init__(self, exe, wh, *extra, memory="512M", timeout=5, max_connections=128):
        self.pg, self.flight = free_port(), free_port()
        super().__init__(exe, wh, "--pg-addr", f"127.0.0.1:{self.pg}", "--flight-addr", f"127.0.0.1:{self.flight}",
                         "--sql-timeout", str(timeout), "--max-connections", str(max_connections), *extra,
                         memory=memory)
        time.sleep(0.3)

    def alive(self):
        return self.proc.poll() is None and get(self.port, "/healthz")[0] == 200


class Wire:
    """A bare PostgreSQL protocol client (no sign-in: an open server on loopback)."""

    def __init__(self, port, timeout=20):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        body = struct.pack("!I", 196608) + b"user\0attacker\0database\0shop\0\0"
        self.s.sendall(struct.pack("!I", len(body) + 4) + body)
        self.until(b"Z")

    def message(self):
        head = self._exact(5)
        tag, n = head[:1], struct.unpack("!I", head[1:])[0]
        return tag, self._exact(n - 4)

    def _exact(self, n):
        out = b""
        while len(out) < n:
            part = self.s.recv(n - len(out))
            if not part:
                raise ConnectionError("closed")
            out += part
        return out

    def until(self, tag):
        seen = []
        while True:
            t, body = self.message()
            seen.append((t, body))
            if t == tag:
                return seen

    def send(self, tag, body):
        self.s.sendall(tag + struct.pack("!I", len(body) + 4) + body)

    def query(self, sql):
        """The error's SQLSTATE, or None when the statement ran."""
        self.send(b"Q", sql.encode() + b"\0")
        code = None
        for t, body in self.until(b"Z"):
            if t == b"E":
                code = dict((f[:1], f[1:]) for f in body.split(b"\0") if f).get(b"C", b"?").decode()
        return code

    def parse(self, sql, count=0):
        self.send(b"P", b"\0" + sql.encode() + b"\0" + struct.pack("!h", count))
        self.send(b"S", b"")
        code = None
        for t, body in self.until(b"Z"):
            if t == b"E":
                code = dict((f[:1], f[1:]) for f in body.split(b"\0") if f).get(b"C", b"?").decode()
        return code

    def close(self):
        self.s.close()


def b1_parameter_abort(exe, base, tmp, smoke):
    s = LiveServer(exe, fresh(base, tmp, "b1"))
    try:
        w = Wire(s.pg)
        code = w.parse("SELECT $99999999999")
        alive = s.alive()
    finally:
        s.stop()
    return alive and code is not None, f"Parse of SELECT $99999999999: {code}, server alive {alive}"


def b2_allocation_bombs(exe, base, tmp, smoke):
    s = LiveServer(exe, fresh(base, tmp, "b2"), timeout=1)
    seen = []
    try:
        w = Wire(s.pg)
        for sql in ["SELECT cardinality(array_repeat(1, 500000000))",
                    "SELECT SUM(length(repeat('abcdefghij', 1500000 + x))) FROM generate_series(1, 200) AS t(x)",
                    "SELECT length(replace(repeat('a', 16000000), 'a', 'aaaaaaaaaaaaaaaaaaaa'))",
                    "SELECT 1" + " " * (20 << 20)]:
            started = time.monotonic()
            code = w.query(sql)
            seen.append((code, round(time.monotonic() - started, 1)))
        alive = s.alive()
    except OSError as e:
        alive, seen = False, seen + [str(e)]
    finally:
        s.stop()
    ok = alive and all(isinstance(x, tuple) and x[0] not in (None, "57014") and x[1] < 3 for x in seen)
    return ok, f"refused {seen}, server alive {alive}"


def b3_connection_floods(exe, base, tmp, smoke):
    s = LiveServer(exe, fresh(base, tmp, "b3"))
    held = []
    try:
        for _ in range(300 if smoke else 1100):
            c = socket.create_connection(("127.0.0.1", s.flight), timeout=5)
            held.append(c)
        for _ in range(200 if smoke else 600):
            c = socket.create_connection(("127.0.0.1", s.pg), timeout=5)
            try:
                c.sendall(struct.pack("!II", 16, 80877102))
            except OSError:
                pass  # closed already: over the cap
            held.append(c)
        started = time.monotonic()
        status = get(s.port, "/healthz")[0]
        took = time.monotonic() - started
        # the flood's slots come back as soon as it goes
        for c in held:
            c.close()
        held = []
        time.sleep(0.5)
        w = Wire(s.pg)
        code = w.query("SELECT 1")
    except OSError as e:
        status, took, code = f"{type(e).__name__}: {e}", 0, "?"
    finally:
        for c in held:
            c.close()
        s.stop()
    return status == 200 and took < 2 and code is None, f"/healthz {status} in {took:.2f} s, a statement: {code or 'ran'}"


def b4_parse_minus_one(exe, base, tmp, smoke):
    s = LiveServer(exe, fresh(base, tmp, "b4"))
    try:
        w = Wire(s.pg)
        try:
            code = w.parse("SELECT 1", count=-1)
        except ConnectionError:
            code = "closed"
        alive = s.alive()
    finally:
        s.stop()
    return alive, f"Parse with -1 parameter types: {code}, server alive {alive}"


def b5_scram_salted(exe, base, tmp, smoke):
    wh = fresh(base, tmp, "b5")
    add_user(exe, wh, "ana", ANA)
    text = (Path(wh) / "access.json").read_text()
    return "salted" not in text, "access.json keeps " + ("a salted password" if "salted" in text else "StoredKey and ServerKey only")


def b6_covered(name, test):
    def covered(exe, base, tmp, smoke):
        return None, f"{name}: covered by tests/live_hardening.rs {test}"
    covered.__name__ = "b_" + name.replace(" ", "_")
    return covered


def run_attacks(exe, smoke, orders=None):
    """Runs issue 19's twelve and issue 33's; prints one line each; True when none broke."""
    orders = orders or (3_000 if smoke else 20_000)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        shop, base = Path(tmp) / "shop", Path(tmp) / "base"
        subprocess.run([exe, "generate", "--out", shop, "--orders", str(orders), "--seed", "12", "--plain"], check=True, capture_output=True)
        subprocess.run([exe, "import", shop, "--warehouse", base], check=True, capture_output=True)
        attacks = [
            (1, a1_deadlock, ()), (2, a2_parallel_guesses, ()), (3, a3_first_user_closes, ()), (4, a4_sessions_end, ()),
            (5, a5_lockout, ()), (6, a6_symlinks, (shop,)), (7, a7_versions, (shop,)), (8, a8_heavy_customers, ()),
            (9, a9_damaged, ()), (10, a10_disk_full, (shop,)), (11, a11_watermark, (shop,)), (12, a12_login_csrf, ()),
            # issue 33
            (13, b1_parameter_abort, ()), (14, b2_allocation_bombs, ()), (15, b3_connection_floods, ()),
            (16, b6_covered("unread flight streams", "unread_flight_streams_give_their_permits_back_at_the_deadline"), ()),
            (17, b6_covered("webhook markup", "shop_data_in_slack_and_teams_messages_is_shown_never_obeyed"), ()),
            (18, b6_covered("drop folder links and fifos", "the_drop_folder_refuses_links_fifos_and_unreadable_names_and_says_so"), ()),
            (19, b5_scram_salted, ()), (20, b4_parse_minus_one, ()),
        ]
        for n, attack, extra in attacks:
            try:
                held, seen = attack(exe, base, tmp, smoke, *extra)
            except Exception as e:  # an attack that cannot run is a broken one
                held, seen = False, f"{type(e).__name__}: {e}"
            word = "skipped" if held is None else "held" if held else "broke"
            print(f"attack {n:2} ({attack.__name__.split('_', 1)[1].replace('_', ' ')}): {word}: {seen}", flush=True)
            results.append(held)
    return all(r is not False for r in results)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exe", default=os.environ.get("SHOPLENS", Path(__file__).resolve().parent.parent / "target" / "release" / "shoplens"))
    ap.add_argument("--orders", type=int)
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    sys.exit(0 if run_attacks(str(a.exe), a.smoke, a.orders) else 1)


if __name__ == "__main__":
    main()

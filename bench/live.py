#!/usr/bin/env python3
"""Live SQL benchmark (issue 23): the wire protocol against `shoplens sql`, and many clients at once.

    python3 bench/live.py --exe target/release/shoplens --warehouse WH [--runs 7] [--clients 100]

Both parts start once the dashboard's warm-up is done (`latency.py`'s `settle`).

1. **A KPI query over the wire against the same query through `shoplens sql`**: the README's
   revenue-by-category query (and orders and customers by status) run `--runs` times each way, one after
   the other, on an idle server; medians and their ratio. `sql` starts a worker process and prints
   a table; psycopg fetches the rows over loopback.
2. **`--clients` concurrent psycopg connections**, each running a small query (a dimension count)
   in a loop for `--seconds`, while `/healthz` is polled every 100 ms (from a process of its own):
   queries done and failed,
   and the health check's latency (p50/p99/max).

It starts `shoplens serve --warehouse WH --addr 127.0.0.1:PORT --pg-addr 127.0.0.1:PORT` itself
(`--max-connections` twice `--clients`: one address may hold three quarters of them) and stops it at the end. Needs psycopg (`pip install
"psycopg[binary]"`). Prints a Markdown table for BENCHMARKS.md.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import psycopg

from latency import settle

QUERIES = {
    "revenue by category": "SELECT category, SUM(line_revenue) AS revenue FROM order_lines "
    "WHERE is_revenue GROUP BY 1 ORDER BY 2 DESC",
    "orders and customers by status": "SELECT status, COUNT(*) AS orders, "
    "COUNT(DISTINCT customer_key) AS customers FROM fact_order GROUP BY 1 ORDER BY 1",
}


# Polls /healthz every 100 ms until the given time; prints each answer's seconds as JSON.
POLLER = """
import json, sys, time, urllib.request
port, stop, health = sys.argv[1], float(sys.argv[2]), []
while time.time() < stop:
    t = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
        r.read()
    health.append(time.perf_counter() - t)
    time.sleep(0.1)
print(json.dumps(health))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(exe, warehouse, clients):
    http, pg = free_port(), free_port()
    proc = subprocess.Popen(
        [exe, "serve", "--warehouse", warehouse, "--addr", f"127.0.0.1:{http}", "--pg-addr", f"127.0.0.1:{pg}",
         "--max-connections", str(2 * clients + 16)],  # one address may hold three quarters
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with psycopg.connect(f"host=127.0.0.1 port={pg} dbname=shop user=bench sslmode=disable") as c:
                c.execute("SELECT 1")
            return proc, http, pg
        except psycopg.OperationalError:
            time.sleep(0.5)
    proc.kill()
    sys.exit("serve did not answer on the PostgreSQL port in 120 s")


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def wire_vs_sql(exe, warehouse, pg, runs):
    rows = []
    conn = psycopg.connect(f"host=127.0.0.1 port={pg} dbname=shop user=bench sslmode=disable", autocommit=True)
    for name, sql in QUERIES.items():
        wire, cli = [], []
        for _ in range(runs):
            wire.append(timed(lambda: conn.execute(sql).fetchall()))
            cli.append(timed(lambda: subprocess.run([exe, "sql", "--warehouse", warehouse, sql], check=True,
                                                    stdout=subprocess.DEVNULL)))
        w, c = statistics.median(wire), statistics.median(cli)
        rows.append((name, w, c, w / c))
    return rows


def many_clients(http, pg, clients, seconds):
    stop = time.time() + seconds
    done, failed = [0], [0]
    lock = threading.Lock()

    def client():
        try:
            conn = psycopg.connect(f"host=127.0.0.1 port={pg} dbname=shop user=bench sslmode=disable",
                                   autocommit=True)
        except psycopg.Error:
            with lock:
                failed[0] += 1
            return
        while time.time() < stop:
            try:
                conn.execute("SELECT COUNT(*) FROM dim_payment_method").fetchall()
                with lock:
                    done[0] += 1
            except psycopg.Error:
                with lock:
                    failed[0] += 1
        conn.close()

    # The poller is a process of its own: in this one, it would wait for the GIL behind the
    # 100 client threads and measure Python, not the server.
    poller = subprocess.Popen([sys.executable, "-c", POLLER, str(http), str(stop)], stdout=subprocess.PIPE, text=True)
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    health = json.loads(poller.communicate()[0])
    health.sort()
    return done[0], failed[0], health


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exe", default="target/release/shoplens")
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=20)
    a = ap.parse_args()
    proc, http, pg = start(a.exe, a.warehouse, a.clients)
    try:
        # the dashboard's warm-up fills the cache at start, on the cores this measures
        settle(None, proc.pid)
        for name, sql in QUERIES.items():
            # warm the file cache both ways once
            subprocess.run([a.exe, "sql", "--warehouse", a.warehouse, sql], check=True, stdout=subprocess.DEVNULL)
        rows = wire_vs_sql(a.exe, a.warehouse, pg, a.runs)
        done, failed, health = many_clients(http, pg, a.clients, a.seconds)
    finally:
        proc.terminate()
        proc.wait()
    print(f"| query ({a.runs} runs each) | over the wire (psycopg) | `shoplens sql` | wire / sql |")
    print("|---|---|---|---|")
    for name, w, c, r in rows:
        print(f"| {name} | {w * 1000:.0f} ms | {c * 1000:.0f} ms | {r:.2f} |")
    q = lambda p: health[min(len(health) - 1, int(p * len(health)))] * 1000
    print()
    print(f"{a.clients} clients for {a.seconds:.0f} s: {done} queries done, {failed} failed; "
          f"/healthz {len(health)} polls: p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, max {health[-1] * 1000:.1f} ms")
    print(json.dumps({"rows": rows, "done": done, "failed": failed,
                      "healthz_p99_ms": q(0.99), "healthz_max_ms": health[-1] * 1000}))
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()

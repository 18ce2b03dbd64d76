#!/usr/bin/env python3
"""How long the dashboard waits for a filter nobody asked for before: `shoplens serve` on a
warehouse, sent always-new random filter combinations, nothing cached.

    python3 bench/latency.py --warehouse WH                  # 60 new filters on /api/kpis
    python3 bench/latency.py --warehouse WH --requests 200 --endpoints kpis,customers,explain
    python3 bench/latency.py --smoke                         # a 20k shop, every endpoint (CI)

Each request picks a range of any length (a day to the whole span, starting and ending on any
day), and with some probability a category, a country and a payment method, from the
warehouse's own values (`/api/dimensions`); a combination is never sent twice, so every answer is
computed. Requests go one after another (the latency a user clicking a filter sees) after the
server's warm-up has settled. It prints p50, p95, p99 and max per endpoint, then the same
request repeated (the cache: `--repeats`), and fails on any answer but 200 (a 422 "no answer" of
a filter too thin for a forecast counts as answered).

The server is started with `--memory-limit` (default the CLI's, 2G: four computations of 512 MB).
"""
import argparse, json, os, random, statistics, subprocess, sys, tempfile, time, urllib.error, urllib.parse, urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ENDPOINTS = {
    "kpis": "/api/kpis",
    "customers": "/api/customers/returning",
    "cohorts": "/api/customers/cohorts",
    "rfm": "/api/customers/rfm",
    "explain": "/api/explain",
    "countries": "/api/countries",
    "clv": "/api/customers/clv",
    "products": "/api/products",
    "pairs": "/api/products/pairs",
    "journey": "/api/products/journey",
}
# which filter keys each endpoint takes (the OpenAPI document has them; these are the page's)
RANGE = {"kpis", "customers", "cohorts", "explain", "countries", "products", "pairs", "journey"}


def get(base, path, timeout=600):
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(base + path, timeout=timeout) as r:
            body, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        body, status = e.read(), e.code
    return time.perf_counter() - t, status, body


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def random_filter(rng, dims, first, last, endpoint, seen):
    span = (last - first).days
    for _ in range(1000):
        q = {}
        if endpoint in RANGE:
            a = first + timedelta(days=rng.randint(0, span))
            b = first + timedelta(days=rng.randint(0, span))
            q["from"], q["to"] = str(min(a, b)), str(max(a, b))
        for key, values in (("category", dims["categories"]), ("country", dims["countries"]), ("method", dims["methods"])):
            if values and rng.random() < 0.4:
                q[key] = rng.choice(values)
        text = urllib.parse.urlencode(sorted(q.items()))
        if text not in seen:
            seen.add(text)
            return text
    sys.exit("no new filter combination left")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse")
    ap.add_argument("--exe", help="a built shoplens binary (default: cargo build --release)")
    ap.add_argument("--requests", type=int, default=60, help="new filters per endpoint")
    ap.add_argument("--repeats", type=int, default=200, help="repeats of one cached request")
    ap.add_argument("--endpoints", default="kpis", help=f"comma-separated, of {','.join(ENDPOINTS)}")
    ap.add_argument("--memory-limit", default="2G")
    ap.add_argument("--settle", type=float, default=None, help="seconds to let the warm-up run (default: until it is done)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="a generated 20k shop, 5 filters per endpoint, every endpoint")
    a = ap.parse_args()
    exe = a.exe
    if not exe:
        subprocess.run(["cargo", "build", "--release", "--locked", "-q"], cwd=ROOT, check=True)
        exe = str(Path(os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))) / "release" / "shoplens")
    tmp = tempfile.TemporaryDirectory()
    wh = a.warehouse
    endpoints = a.endpoints.split(",")
    if a.smoke:
        shop, wh = Path(tmp.name) / "shop", str(Path(tmp.name) / "wh")
        subprocess.run([exe, "generate", "--out", shop, "--orders", "20000", "--seed", "5"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([exe, "import", shop, "--warehouse", wh], check=True, stdout=subprocess.DEVNULL)
        # every endpoint but the lifetime-value model's, which takes minutes in a debug build
        a.requests, a.repeats, endpoints = 5, 20, list(ENDPOINTS)
    if not wh:
        sys.exit("--warehouse or --smoke")
    unknown = [e for e in endpoints if e not in ENDPOINTS]
    if unknown:
        sys.exit(f"unknown endpoints: {unknown}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(Path(tmp.name) / "serve.log", "w")
    server = subprocess.Popen([exe, "--memory-limit", a.memory_limit, "serve", "--warehouse", wh, "--addr", f"127.0.0.1:{port}"],
                              stdout=log, stderr=subprocess.STDOUT)
    failures = []
    try:
        for _ in range(600):
            try:
                if get(base, "/healthz", timeout=2)[1] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            sys.exit("the server did not start")
        _, status, body = get(base, "/api/dimensions")
        if status != 200:
            sys.exit(f"/api/dimensions: {status} {body[:300]!r}")
        dims = json.loads(body)
        first, last = date.fromisoformat(dims["first_date"]), date.fromisoformat(dims["last_date"])
        settle(a.settle, server.pid)
        rng = random.Random(a.seed)
        print(f"machine: {os.cpu_count()} cores; warehouse {wh}; serve --memory-limit {a.memory_limit}")
        print("| endpoint | new filters | p50 | p95 | p99 | max | repeats (cached) p50 / p99 |")
        print("|---|---|---|---|---|---|---|")
        for e in endpoints:
            seen, times = set(), []
            for _ in range(a.requests):
                q = random_filter(rng, dims, first, last, e, seen)
                path = ENDPOINTS[e] + ("?" + q if q else "")
                t, status, body = get(base, path)
                if status not in (200, 422) or b"esources exhausted" in body:
                    failures.append(f"{path}: {status} {body[:300]!r}")
                times.append(t)
            rep = []
            path = ENDPOINTS[e] + "?" + q if q else ENDPOINTS[e]
            for _ in range(a.repeats):
                t, status, _ = get(base, path)
                rep.append(t)
            ms = lambda x: f"{x * 1000:,.0f} ms"
            print(f"| {ENDPOINTS[e]} | {len(times)} | {ms(pct(times, 50))} | {ms(pct(times, 95))} | {ms(pct(times, 99))} "
                  f"| {ms(max(times))} | {rep and f'{pct(rep, 50) * 1000:.1f} / {pct(rep, 99) * 1000:.1f} ms'} |", flush=True)
    finally:
        server.terminate()
        server.wait()
    if failures:
        print("\n".join(["FAILED:"] + failures[:20]), file=sys.stderr)
        sys.exit(1)


def settle(seconds, pid):
    """Waits `seconds`, or until the server has used under 5 % of a core for two seconds (its
    warm-up is done)."""
    if seconds is not None:
        time.sleep(seconds)
        return
    def cpu():
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    before = cpu()
    quiet = 0
    for _ in range(1800):
        time.sleep(1)
        now = cpu()
        quiet = quiet + 1 if now - before < 0.05 else 0
        before = now
        if quiet >= 2:
            return


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""shoplens against its peers, side by side in one run (../shared/bench/README.md's protocol).

    python3 bench/bench.py                      # the 1M and 10M shops (generated if missing)
    python3 bench/bench.py --orders 1000000     # one size
    python3 bench/bench.py --smoke              # seconds: a 20k shop, one round (CI runs this)
    python3 bench/bench.py --scale              # the 100M-line test: 50M orders, shoplens only

For each shop: checks that `shoplens kpi --json` equals `peers.py duckdb --json` (exact decimals
from DuckDB; every number equal within 1e-9, or the run fails), then times, with peak memory from
/usr/bin/time, shoplens's import and KPI suite and DuckDB's and Polars's load and KPI suite,
interleaved over the rounds, and prints medians and the ratios shoplens / DuckDB. Every timed
command's exit code is checked. The shop of that comparison is generated `--plain` (the shared
peers know no books); the same shop with its books (shipping, tax, codes, channels, refunds) is
then imported and its suite timed against the plain one's, and its books and channels checked
against `bench/books_peer.py`, DuckDB computing the same books, timed beside it. Shops and warehouses go to --dir (default ~/.cache/shoplens-bench);
the peers run in a virtualenv made on first use (--venv).
"""
import argparse, calendar, csv, json, os, shutil, statistics, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT.parent / "shared" / "bench" / "peers.py"
BOOKS_PEER = ROOT / "bench" / "books_peer.py"


def run(cmd, out=None):
    """Runs cmd under /usr/bin/time; returns (wall seconds, peak MB, stdout). Fails on a non-zero exit."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        full = ["/usr/bin/time", "-f", "%e %M", "-o", t.name] + [str(c) for c in cmd]
        p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            sys.exit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stderr[-2000:]}")
        wall, kb = t.read().split()[-2:]
    if out:
        Path(out).write_text(p.stdout)
    return float(wall), int(kb) / 1024, p.stdout


def same(a, b, path="kpis"):
    """The first difference between two KPI objects, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only in one"
            d = same(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} rows vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = same(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return None if abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b)) else f"{path}: {a} vs {b}"
    return None if a == b else f"{path}: {a!r} vs {b!r}"


BOOK_KEYS = ["gross_sales", "discounts", "returns", "shipping", "taxes", "duties", "total_sales"]


def without_books(kpis):
    """The KPIs that the shared peers compute: the books (`books`, `channels`, `discount_codes`,
    each month's books) are checked against `books_peer.py` instead."""
    k = {key: v for key, v in kpis.items() if key not in ("books", "channels", "discount_codes", "assumptions")}
    k["monthly"] = [{key: v for key, v in m.items() if key not in BOOK_KEYS} for m in kpis["monthly"]]
    return k


def check_complete(kpis, shop):
    """The monthly rows' `complete` (kpis.md; the peers do not compute it) checked against the
    export itself: false for the latest order's month unless that order is on its last day, true
    elsewhere. Removed afterwards, so the rest compares with the peers."""
    with open(shop / "orders.csv", newline="") as f:
        latest = max(row["order_ts"][:10] for row in csv.DictReader(f))
    y, m, d = (int(x) for x in latest.split("-"))
    in_progress = None if d == calendar.monthrange(y, m)[1] else latest[:7]
    for row in kpis["monthly"]:
        want = row["month"] != in_progress
        if row.pop("complete") != want:
            sys.exit(f"{shop}: month {row['month']} should have complete = {want}")


def peers_python(venv):
    py = Path(venv) / "bin" / "python"
    if not py.exists():
        print(f"setting up the peers' virtualenv in {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "duckdb", "polars", "pandas", "pyarrow"], check=True)
    return py


def next_day_export(exe, shop, out, orders=10_000, recategorize=False):
    """A day's new orders for `shop`: a generated 10k-order shop with its order ids renamed and its
    orders moved to the day after the shop's last order (its customers and products are the
    shop's own ids, so the append also relists some of them). The day lists the shop's own
    catalogue, unless `recategorize`: then the generated one, which gives nearly every product
    another category (and the append rebuilds every month's marks per category)."""
    import csv, datetime
    if (out / "payments.csv").exists():
        return
    with open(shop / "orders.csv", "rb") as f:
        f.seek(max(0, f.seek(0, 2) - 65536))
        last = max(line.split(b",")[2][:10] for line in f.read().splitlines()[1:] if line.count(b",") >= 3)
    start = datetime.datetime.fromisoformat(last.decode()) + datetime.timedelta(days=1)
    raw = out.with_name(out.name + ".raw")
    shutil.rmtree(raw, ignore_errors=True)
    run([exe, "generate", "--out", raw, "--orders", orders, "--seed", 99, "--plain"])
    out.mkdir(parents=True, exist_ok=True)
    step = 86_400 / orders
    for name in ["customers.csv", "products.csv", "orders.csv", "order_items.csv", "payments.csv"]:
        with open(raw / name, newline="") as f, open(out / name, "w", newline="") as g:
            r, w = csv.reader(f), csv.writer(g)
            w.writerow(next(r))
            for i, row in enumerate(r):
                if name != "customers.csv" and name != "products.csv":
                    row[0] = "NEXT-" + row[0]
                if name == "orders.csv":
                    row[2] = (start + datetime.timedelta(seconds=int(i * step))).isoformat()
                w.writerow(row)
    if not recategorize:
        shutil.copy(shop / "products.csv", out / "products.csv")
    shutil.rmtree(raw)


def bench_append(exe, work, shop, wh, orders):
    """Times `import --append` of a day's 10k new orders onto a copy of the warehouse `wh`
    (hard links: a version's files are never changed in place), then the KPI suite on it; then
    the same day with a catalogue that moves nearly every product to another category."""
    for recategorize, name in [(False, "next-day"), (True, "next-day-recategorized")]:
        day, copy = work / f"{name}-{orders}", work / f"wh-{orders}-append"
        next_day_export(exe, shop, day, recategorize=recategorize)
        shutil.rmtree(copy, ignore_errors=True)
        subprocess.run(["cp", "-al", str(wh), str(copy)], check=True)
        t, m, _ = run([exe, "import", day, "--warehouse", copy, "--append", "--json"])
        k, km, _ = run([exe, "kpi", "--warehouse", copy, "--json"])
        shutil.rmtree(copy)
        what = "append 10k new orders (`import --append`)"
        if recategorize:
            what += ", the catalogue moving nearly every product to another category"
        print(f"| {what}, then the KPI suite | {t:.2f} s, peak {m:,.0f} MB; KPIs {k:.2f} s, peak {km:,.0f} MB |")


def bench_shop(exe, py, orders, work, rounds, peers):
    shop, wh = work / f"shop-{orders}", work / f"wh-{orders}"
    # the peers read the base format only: a shop left by an older generator (with its books or
    # products' variants) is made again
    products = shop / "products.csv"
    base = products.exists() and products.read_text().partition("\n")[0] == "product_id,product_name,category,unit_cost,list_price"
    if not (shop / "payments.csv").exists() or (shop / "refunds.csv").exists() or not base:
        print(f"generating {orders:,} orders in {shop}", file=sys.stderr)
        shutil.rmtree(shop, ignore_errors=True)
        run([exe, "generate", "--out", shop, "--orders", orders, "--seed", 11, "--plain"])
    mb = sum(f.stat().st_size for f in shop.glob("*.csv")) / 1e6
    rows = {k: [] for k in ["import", "kpi", "duck_load", "duck_kpis", "duck_total", "polars_load", "polars_kpis"]}
    peak = {k: 0.0 for k in ["import", "kpi", "duckdb", "polars"]}
    for r in range(rounds):
        shutil.rmtree(wh, ignore_errors=True)
        t, m, _ = run([exe, "import", shop, "--warehouse", wh, "--json"])
        rows["import"].append(t); peak["import"] = max(peak["import"], m)
        t, m, got = run([exe, "kpi", "--warehouse", wh, "--json"])
        rows["kpi"].append(t); peak["kpi"] = max(peak["kpi"], m)
        if not peers:
            continue
        ref = work / f"duckdb-{orders}.json"
        t, m, line = run([py, PEERS, "duckdb", shop, "--json", ref])
        d = json.loads(line.strip().splitlines()[-1])
        rows["duck_load"].append(d["load"]); rows["duck_kpis"].append(d["kpis"]); rows["duck_total"].append(t)
        peak["duckdb"] = max(peak["duckdb"], m)
        mine = json.loads(got)
        check_complete(mine, shop)
        diff = same(without_books(mine), json.loads(ref.read_text()))
        if diff:
            sys.exit(f"{orders:,} orders: shoplens and DuckDB differ at {diff}")
        t, m, line = run([py, PEERS, "polars", shop])
        d = json.loads(line.strip().splitlines()[-1])
        rows["polars_load"].append(d["load"]); rows["polars_kpis"].append(d["kpis"])
        peak["polars"] = max(peak["polars"], m)
    med = {k: statistics.median(v) for k, v in rows.items() if v}
    print(f"\n## {orders:,} orders ({mb:,.0f} MB of CSV), median of {rounds} round(s)")
    if peers:
        print("KPIs equal DuckDB's: yes")
        e2e, duck = med["import"] + med["kpi"], med["duck_load"] + med["duck_kpis"]
        print("| step | shoplens | DuckDB | Polars | shoplens / DuckDB |\n|---|---|---|---|---|")
        print(f"| import / load | {med['import']:.2f} s | {med['duck_load']:.2f} s | {med['polars_load']:.2f} s | {med['import'] / med['duck_load']:.2f} |")
        print(f"| KPI suite (shoplens: whole process) | {med['kpi']:.2f} s | {med['duck_kpis']:.2f} s | {med['polars_kpis']:.2f} s | {med['kpi'] / med['duck_kpis']:.2f} |")
        print(f"| end to end | {e2e:.2f} s | {duck:.2f} s | {med['polars_load'] + med['polars_kpis']:.2f} s | **{e2e / duck:.2f}** |")
        print(f"| peak memory | import {peak['import']:,.0f} MB, kpi {peak['kpi']:,.0f} MB | {peak['duckdb']:,.0f} MB | {peak['polars']:,.0f} MB | |")
        print("\n| step | shoplens |\n|---|---|")
        bench_append(exe, work, shop, wh, orders)
    else:
        print(f"| step | shoplens |\n|---|---|\n| import | {med['import']:.2f} s, peak {peak['import']:,.0f} MB |")
        print(f"| KPI suite | {med['kpi']:.2f} s, peak {peak['kpi']:,.0f} MB |")
        bench_append(exe, work, shop, wh, orders)
    if peers:
        bench_books(exe, py, orders, work, rounds, med)


def bench_books(exe, py, orders, work, rounds, plain):
    """The same shop with its books: import and suite against the plain shop's (`plain`, the
    medians of `bench_shop`), the books checked against and timed beside DuckDB's."""
    shop, wh = work / f"shop-books-{orders}", work / f"wh-books-{orders}"
    if not (shop / "refunds.csv").exists():
        print(f"generating {orders:,} orders with their books in {shop}", file=sys.stderr)
        run([exe, "generate", "--out", shop, "--orders", orders, "--seed", 11])
    rows = {k: [] for k in ["import", "kpi", "duck_load", "duck_books"]}
    for _ in range(rounds):
        shutil.rmtree(wh, ignore_errors=True)
        t, _, _ = run([exe, "import", shop, "--warehouse", wh, "--json"])
        rows["import"].append(t)
        t, _, got = run([exe, "kpi", "--warehouse", wh, "--json"])
        rows["kpi"].append(t)
        ref = work / f"duckdb-books-{orders}.json"
        _, _, line = run([py, BOOKS_PEER, shop, "--json", ref])
        d = json.loads(line.strip().splitlines()[-1])
        rows["duck_load"].append(d["load"]); rows["duck_books"].append(d["books"])
        mine, theirs = json.loads(got), json.loads(ref.read_text())
        diff = same(mine["books"], theirs["books"], "books") or same(
            [{k: c[k] for k in ("channel", "revenue", "orders")} for c in mine["channels"]], theirs["channels"], "channels")
        if diff:
            sys.exit(f"{orders:,} orders with books: shoplens and DuckDB differ at {diff}")
    med = {k: statistics.median(v) for k, v in rows.items()}
    refunds = sum(1 for _ in open(shop / "refunds.csv")) - 1
    print(f"\n### the same shop with its books ({refunds:,} refund rows); books and channels equal DuckDB's: yes")
    print("| step | plain shop | with its books | cost of the books |\n|---|---|---|---|")
    print(f"| import | {plain['import']:.2f} s | {med['import']:.2f} s | {100 * (med['import'] / plain['import'] - 1):+.0f} % |")
    print(f"| KPI suite (whole process) | {plain['kpi']:.2f} s | {med['kpi']:.2f} s | {100 * (med['kpi'] / plain['kpi'] - 1):+.0f} % |")
    print(f"| DuckDB: load the CSV files, then the books alone | | {med['duck_load']:.2f} s + {med['duck_books']:.2f} s | |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, action="append", help="shop size (repeatable; default 1M and 10M)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="a 20k-order shop, one round")
    ap.add_argument("--scale", action="store_true", help="50M orders (~100M lines), shoplens only")
    ap.add_argument("--dir", default=os.path.expanduser("~/.cache/shoplens-bench"))
    ap.add_argument("--venv", default=os.path.expanduser("~/.cache/shoplens-peers"))
    ap.add_argument("--exe", help="a built shoplens binary (default: cargo build --release)")
    a = ap.parse_args()
    exe = a.exe
    if not exe:
        subprocess.run(["cargo", "build", "--release", "--locked", "-q"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
        exe = str(Path(target) / "release" / "shoplens")
    work = Path(a.dir); work.mkdir(parents=True, exist_ok=True)
    if a.smoke:
        sizes, rounds = [20_000], 1
    elif a.scale:
        sizes, rounds = [50_000_000], 1
    else:
        sizes, rounds = a.orders or [1_000_000, 10_000_000], a.rounds
    py = None if a.scale else peers_python(a.venv)
    print(f"machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB")
    for n in sizes:
        bench_shop(exe, py, n, work, rounds, peers=not a.scale)


if __name__ == "__main__":
    main()

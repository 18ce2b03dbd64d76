#!/usr/bin/env python3
"""The hostile mix of issue 12 against a served dashboard: reports the server's peak RSS and the
/healthz latency while it runs, and checks every answer; then issue 19's twelve attacks
(bench/attacks.py), each reported held or broke.

    python3 bench/hostile.py                    # 1,000 hostile requests and 200 slow connections on a 20k shop
    python3 bench/hostile.py --smoke            # seconds: 150 requests, 20 slow connections (CI runs this)
    python3 bench/hostile.py --exe target/release/shoplens --requests 5000

Loopback only. The shop and warehouse go to a temporary folder. Every answer must be correct (a 200
with JSON) or an error in the `{"error": …}` shape (4xx or 503); the script exits 1 otherwise, or
when the targets are missed (peak RSS under 1 GB, /healthz p99 under 50 ms; --smoke on a debug
build checks correctness only).
"""
import argparse, json, os, random, select, socket, statistics, subprocess, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, raw, timeout=60):
    """Sends raw bytes; returns (status, headers text, body bytes) once the server closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(raw)
        except OSError:
            pass  # the server may answer and close before reading everything
        out = b""
        while True:
            try:
                d = s.recv(65536)
            except OSError:
                break
            if not d:
                break
            out += d
    finally:
        s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return status, head.decode("latin-1"), body


def get(port, path, headers=""):
    return request(port, f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}\r\n".encode())


def rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def hostile_requests(n, dims):
    """n (description, raw request, allowed statuses) of the kinds issue 12 lists, shuffled."""
    kinds = []
    for i in range(n):
        k = i % 12
        if k == 0:
            kinds.append(("absurd range", f"/api/kpis?from=0001-01-01&to=9999-12-31&top={i % 10 + 1}", {400}))
        elif k == 1:
            kinds.append(("widest range", f"/api/kpis?from=1900-01-01&to=2199-12-31&top={i % 1000 + 1}", {200, 503}))
        elif k == 2:
            kinds.append(("forecast", f"/api/forecast?from=1900-01-01&horizon={i % 8 + 2}", {200, 422, 503}))
        elif k == 3:
            kinds.append(("absurd forecast", f"/api/forecast?from=0001-01-01&horizon={i % 8 + 2}", {400}))
        elif k == 4:
            c = dims["countries"][i % len(dims["countries"])]
            m = dims["methods"][i % len(dims["methods"])]
            kinds.append(("new filter", f"/api/kpis?country={c}&method={m}&top={i % 50 + 1}", {200, 503}))
        elif k == 5:
            kinds.append(("undecodable", "/api/kpis?category=%FF", {400}))
        elif k == 6:
            kinds.append(("1 MB query", b"GET /api/kpis?x=" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", {414, 431}))
        elif k == 7:
            kinds.append(("2 MB header", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * (2 << 20) + b"\r\n\r\n", {431}))
        elif k == 8:
            kinds.append(("raw bytes", b"GET /\xff HTTP/1.1\r\nHost: localhost\r\n\r\n", {400}))
        elif k == 9:
            kinds.append(("POST", b"POST /api/kpis HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", {405}))
        elif k == 10:
            kinds.append(("foreign Host", b"GET /api/kpis HTTP/1.1\r\nHost: rebind.example\r\nConnection: close\r\n\r\n", {421}))
        else:
            d = random.Random(i).randrange(1, 28)
            kinds.append(("compare", f"/api/kpis/compare?from=2023-01-{d:02d}&to=2023-06-{d:02d}", {200, 503}))
    random.Random(7).shuffle(kinds)
    return kinds


def check(kind, allowed, status, head, body):
    """None when the answer is acceptable, else what is wrong."""
    if status not in allowed:
        return f"{kind}: status {status}, expected {sorted(allowed)}"
    try:
        v = json.loads(body)
    except ValueError:
        return f"{kind}: status {status} with a body that is not JSON: {body[:80]!r}"
    if status >= 400 and not (isinstance(v, dict) and isinstance(v.get("error"), str)):
        return f"{kind}: status {status} without an error message"
    return None


def slow_loris(port, stop, closed):
    """A connection that sends a header line every 2 s and never finishes; counts when the server
    closes it. Closing is seen by reading (EOF, a reset, or an error response followed by EOF), not
    by a failed send, which can lag the close by a whole round."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        while not stop.is_set():
            readable, _, _ = select.select([s], [], [], 2.0)
            if readable:
                while s.recv(65536):
                    pass
                closed.append(1)
                return
            s.sendall(b"X-Slow: 1\r\n")
    except OSError:
        closed.append(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exe", default=os.environ.get("SHOPLENS", ROOT / "target" / "release" / "shoplens"))
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--slow", type=int, default=200, help="slow-loris connections held open meanwhile")
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.requests, a.slow, a.orders = 150, 20, 5_000
    exe = str(a.exe)
    with tempfile.TemporaryDirectory() as tmp:
        shop, wh = Path(tmp) / "shop", Path(tmp) / "wh"
        subprocess.run([exe, "generate", "--out", shop, "--orders", str(a.orders), "--seed", "12", "--plain"], check=True, capture_output=True)
        subprocess.run([exe, "import", shop, "--warehouse", wh], check=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen([exe, "serve", "--warehouse", wh, "--addr", f"127.0.0.1:{port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    if get(port, "/healthz")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.05)
            dims = json.loads(get(port, "/api/dimensions")[2])
            stop, closed, health, peak = threading.Event(), [], [], [0.0]

            def monitor():
                while not stop.is_set():
                    peak[0] = max(peak[0], rss_mb(server.pid))
                    t = time.perf_counter()
                    try:
                        ok = get(port, "/healthz")[0] == 200
                    except OSError:
                        ok = False
                    health.append((time.perf_counter() - t) * 1000 if ok else float("inf"))
                    time.sleep(0.05)

            threads = [threading.Thread(target=monitor, daemon=True)]
            threads += [threading.Thread(target=slow_loris, args=(port, stop, closed), daemon=True) for _ in range(a.slow)]
            for t in threads:
                t.start()
            started = time.perf_counter()
            failures = []

            def one(item):
                kind, target, allowed = item
                raw = target if isinstance(target, bytes) else f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
                status, head, body = request(port, raw)
                return check(kind, allowed, status, head, body)

            with ThreadPoolExecutor(a.workers) as pool:
                for problem in pool.map(one, hostile_requests(a.requests, dims)):
                    if problem:
                        failures.append(problem)
            elapsed = time.perf_counter() - started
            # every slow connection must be closed by the server (header timeout 10 s); wait up to
            # 16 s from their start for all of them
            while len(closed) < a.slow and time.perf_counter() - started < 16:
                time.sleep(0.2)
            stop.set()
            alive = server.poll() is None
            peak[0] = max(peak[0], rss_mb(server.pid))
        finally:
            server.terminate()
            server.wait()
    lat = sorted(health)
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("inf")
    report = {
        "requests": a.requests, "seconds": round(elapsed, 1), "failures": len(failures),
        "slow_connections": a.slow, "slow_closed_by_server": len(closed), "server_alive": alive,
        "peak_rss_mb": round(peak[0], 1), "healthz_checks": len(lat),
        "healthz_ms": {"p50": round(p(0.5), 1), "p99": round(p(0.99), 1), "max": round(lat[-1], 1) if lat else None},
    }
    print(json.dumps(report, indent=2))
    for f in failures[:20]:
        print("FAILED:", f, file=sys.stderr)
    ok = not failures and alive and len(closed) == a.slow
    if not a.smoke:
        ok = ok and peak[0] < 1024 and p(0.99) < 50
    # then issue 19's twelve attacks, one line each: held, broke or skipped (bench/attacks.py)
    from attacks import run_attacks
    ok = run_attacks(exe, a.smoke) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

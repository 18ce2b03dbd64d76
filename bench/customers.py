#!/usr/bin/env python3
"""Customer analytics at scale, and the CLV fit beside lifetimes' on the same summary.

    python3 bench/customers.py --warehouse ~/.cache/shoplens-bench/wh-1000000

Times (wall, whole process, exit code checked) `shoplens customers cohorts`, `rfm`, `returning`
and `clv` on the warehouse; then fits BG/NBD and Gamma-Gamma with `shoplens customers clv
--summary` and with lifetimes (BetaGeoFitter, GammaGammaFitter, no penalizer) on the summary
shoplens wrote, and prints both sets of parameters and times. lifetimes runs in a virtualenv made
on first use (--venv; `pip install lifetimes`), for this comparison only.
"""
import argparse, json, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LIFETIMES = r"""
import json, sys, time
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
d = pd.read_csv(sys.argv[1])
t = time.perf_counter()
bg = BetaGeoFitter(penalizer_coef=0.0).fit(d["x"], d["t_x"], d["T"])
bg_s = time.perf_counter() - t
r = d[(d.x > 0) & (d.zbar > 0)]
t = time.perf_counter()
gg = GammaGammaFitter(penalizer_coef=0.0).fit(r["x"], r["zbar"])
gg_s = time.perf_counter() - t
print(json.dumps({"bgnbd": {k: float(v) for k, v in bg.params_.items()}, "bgnbd_ll": -float(bg._negative_log_likelihood_) * len(d),
                  "gamma_gamma": {k: float(v) for k, v in gg.params_.items()}, "bgnbd_seconds": bg_s, "gg_seconds": gg_s}))
"""


def timed(cmd):
    t = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    took = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stderr[-2000:]}")
    return took, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", required=True)
    ap.add_argument("--exe", default=ROOT / "target" / "release" / "shoplens")
    ap.add_argument("--venv", default=Path.home() / ".cache" / "lifetimes-venv")
    a = ap.parse_args()
    venv = Path(a.venv)
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([venv / "bin" / "pip", "install", "-q", "lifetimes"], check=True)
    wh = a.warehouse
    rows = []
    for name in ["cohorts", "rfm", "returning"]:
        took, _ = timed([a.exe, "customers", name, "--warehouse", wh, "--json"])
        rows.append((f"customers {name}", took))
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "summary.csv"
        took, out = timed([a.exe, "customers", "clv", "--warehouse", wh, "--write-summary", summary, "--json"])
        rows.append(("customers clv (summary + fits + predictions)", took))
        ours = json.loads(out)
        took, out = timed([a.exe, "customers", "clv", "--summary", summary, "--calibration-end", ours["calibration_end"], "--json"])
        rows.append(("customers clv --summary (fits + predictions)", took))
        t = time.perf_counter()
        p = subprocess.run([venv / "bin" / "python", "-c", LIFETIMES, summary], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"lifetimes failed:\n{p.stderr[-2000:]}")
        theirs = json.loads(p.stdout)
        rows.append(("lifetimes BG/NBD fit", theirs["bgnbd_seconds"]))
        rows.append(("lifetimes Gamma-Gamma fit", theirs["gg_seconds"]))
        rows.append(("lifetimes process (import, read, both fits)", time.perf_counter() - t))
    print(f"customers: {ours['customers']:,}, repeaters: {ours['repeaters']:,}\n")
    print("| step | seconds |\n|---|---|")
    for name, s in rows:
        print(f"| {name} | {s:.2f} |")
    b, g = ours["bgnbd"] or {}, ours["gamma_gamma"] or {}
    tb, tg = theirs["bgnbd"], theirs["gamma_gamma"]
    print("\n| parameter | shoplens | lifetimes |\n|---|---|---|")
    for k in ["r", "alpha", "a", "b"]:
        print(f"| BG/NBD {k} | {b.get(k)} | {tb[k]:.4f} |")
    for k in ["p", "q", "v"]:
        print(f"| Gamma-Gamma {k} | {g.get(k)} | {tg[k]:.4f} |")
    print("\nwarnings:", ours["warnings"])


if __name__ == "__main__":
    main()

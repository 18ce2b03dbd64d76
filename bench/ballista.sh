#!/usr/bin/env bash
# The KPI suite on one process against a Ballista cluster of one and of two executors (local
# processes on loopback), two runs each, with the exit codes, then whether every cluster result
# equals the one-process JSON. SHOPLENS: a release binary built with --features ballista;
# WAREHOUSE: a warehouse (bench/bench.py's 10M-order one by default).
set -u
B=${SHOPLENS:-$HOME/.cache/shoplens-target/release/shoplens}
WH=${WAREHOUSE:-$HOME/.cache/shoplens-bench/wh-10000000}
W=$(mktemp -d)
run() { # label, args...
  local label=$1; shift
  for i in 1 2; do
    local s=$(date +%s.%N)
    "$B" "$@" > $W/$label.$i.json 2> $W/$label.$i.err; local rc=$?
    local e=$(date +%s.%N)
    printf "%s run %d: %.1f s (exit %d)\n" "$label" $i "$(echo "$e - $s" | bc)" $rc
  done
}
run local kpi --warehouse $WH --json
start_cluster() { # n executors
  pkill -f "shoplens cluster" ; sleep 1
  ($B cluster scheduler --bind 127.0.0.1:50250 > $W/sched.log 2>&1 &)
  sleep 1
  for i in $(seq 1 $1); do
    ($B cluster executor --scheduler 127.0.0.1:50250 --bind 127.0.0.1:$((50250 + 10*i)) --work-dir $W/work$i > $W/ex$i.log 2>&1 &)
  done
  sleep 4
}
start_cluster 1
run ballista1 kpi --warehouse $WH --json --engine ballista://127.0.0.1:50250
start_cluster 2
run ballista2 kpi --warehouse $WH --json --engine ballista://127.0.0.1:50250
pkill -f "shoplens cluster"
for f in $W/ballista*.json; do cmp -s $f $W/local.1.json && echo "$(basename $f): same as local" || echo "$(basename $f): DIFFERS"; done
nproc; grep "model name" /proc/cpuinfo | head -1

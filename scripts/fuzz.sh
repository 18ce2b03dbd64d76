#!/usr/bin/env bash
# Fuzzes the CSV reader and the mapping reader with cargo fuzz (libFuzzer) for SECONDS each
# (default 60). A crash fails the run and leaves its input in fuzz/artifacts/: commit it as a test.
# The machine has stable Rust only; RUSTC_BOOTSTRAP lets cargo fuzz pass its unstable flags, and
# no sanitizer is used (the code is safe Rust: what is sought is a panic).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
target="${FUZZ_TARGET_DIR:-$HOME/.cache/shoplens-fuzz-target}"
for t in csv_reader mapping; do
  # libFuzzer writes new inputs to the first corpus folder (ignored by git) and reads the seeds
  mkdir -p "fuzz/corpus/$t"
  RUSTC_BOOTSTRAP=1 cargo fuzz run --target-dir "$target" -s none "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" \
    -- -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tail -n 12
done

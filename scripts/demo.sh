#!/usr/bin/env bash
# The README's demo command: installs what the build needs if missing, builds shoplens and runs
# `shoplens demo` (extra arguments are passed on, e.g. --orders 20000 or --no-serve).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-deps.sh
exec cargo run --release -- demo "$@"

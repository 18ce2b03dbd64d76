#!/usr/bin/env bash
# The tests, with their set-up: Chromium and playwright-core for the browser test, then cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
cargo test --locked "$@"

#!/usr/bin/env bash
# The tests, with their set-up: Chromium and playwright-core for the browser test, PostgreSQL's
# server for the PostgreSQL tests (each starts a throwaway cluster of its own), openapi-spec-validator
# for the OpenAPI test, then cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
# the OpenAPI document's independent validator (tests/openapi.rs)
python3 -c "import openapi_spec_validator" 2>/dev/null || pip install -q --disable-pip-version-check openapi-spec-validator==0.9.0
cargo test --locked --workspace "$@"

#!/usr/bin/env bash
# The tests, with their set-up: protoc for the build (scripts/build-deps.sh), Chromium and
# playwright-core for the browser test, PostgreSQL's server and psql for the PostgreSQL tests (each
# starts a throwaway cluster of its own), a JDK and Debian's pgjdbc for the JDBC test,
# openapi-spec-validator for the OpenAPI test, mlxtend for the pair measures, psycopg, SQLAlchemy, asyncpg and ADBC's Flight SQL
# driver for the live SQL tests, then cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-deps.sh
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v psql >/dev/null || missing+=(postgresql-client)
# the JDBC test (tests/jdbc/Browse.java, run as a source file: a JDK, not a JRE) and pgjdbc
command -v javac >/dev/null || missing+=(default-jdk-headless)
[ -f /usr/share/java/postgresql.jar ] || missing+=(libpostgresql-jdbc-java)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
# the OpenAPI document's independent validator (tests/openapi.rs)
python3 -c "import openapi_spec_validator" 2>/dev/null || pip install -q --disable-pip-version-check openapi-spec-validator==0.9.0
# the live SQL tests' clients (tests/live_clients.py)
python3 -c "import psycopg, sqlalchemy, adbc_driver_flightsql, pyarrow, asyncpg" 2>/dev/null \
  || pip install -q --disable-pip-version-check "psycopg[binary]==3.3.9" "sqlalchemy==2.1.9" \
       "adbc-driver-flightsql==1.13.0" "pyarrow==26.0.1" "asyncpg==0.31.0"
# the pair measures' oracle (tests/pairs_mlxtend.py)
python3 -c "import mlxtend, pandas" 2>/dev/null || pip install -q --disable-pip-version-check "mlxtend==0.25.0"
# the notification tests' SMTP server (tests/notify_smtp.py)
python3 -c "import aiosmtpd" 2>/dev/null || pip install -q --disable-pip-version-check "aiosmtpd==1.4.6"
cargo test --locked --workspace "$@"

"""Real Python clients against `shoplens serve --pg-addr … --flight-addr …` (started by
tests/live.rs, which passes the ports, a user's password, an API token and the expected rows in
the environment):

- psycopg 3: SCRAM sign-in, prepared statements with bound parameters (the extended protocol),
  types (DECIMAL as Decimal, dates, timestamps), a server-side cancel;
- SQLAlchemy with the PostgreSQL dialect: its inspector on every table and view (columns, primary
  key, foreign keys, indexes), as Superset does;
- asyncpg: a prepared statement with a bound parameter;
- ADBC Flight SQL: a query's Arrow table equals `shoplens sql --format json`'s rows.

Prints "all client checks passed" at the end; any failed check raises.
"""

import datetime
import decimal
import json
import os
import threading
import time
import urllib.parse

import asyncio

import adbc_driver_flightsql.dbapi as flight
import asyncpg
import psycopg
import sqlalchemy

PG_PORT = int(os.environ["PG_PORT"])
FLIGHT_PORT = int(os.environ["FLIGHT_PORT"])
USER = os.environ["PG_USER"]
PASSWORD = os.environ["PG_PASSWORD"]
TOKEN = os.environ["TOKEN"]
EXPECTED = json.loads(os.environ["EXPECTED"])
TABLES = os.environ["TABLES"].split(",")

DSN = f"host=127.0.0.1 port={PG_PORT} dbname=shop user={USER} password='{PASSWORD}' sslmode=disable"


def check(ok, what):
    if not ok:
        raise AssertionError(what)
    print("ok:", what)


def psycopg_checks():
    with psycopg.connect(DSN, autocommit=True) as conn:
        # bound parameters through a prepared statement
        rows = conn.execute(
            "SELECT COUNT(*) FROM fact_order WHERE date_key >= %s AND date_key <= %s",
            (10101, 99991231),
            prepare=True,
        ).fetchall()
        total = sum(e["orders"] for e in EXPECTED)
        check(rows[0][0] == total, f"psycopg: bound parameters count every order ({rows[0][0]} = {total})")
        row = conn.execute(
            "SELECT line_revenue, order_date FROM revenue_lines WHERE quantity > %s LIMIT 1", (0,)
        ).fetchone()
        check(isinstance(row[0], decimal.Decimal), f"psycopg: DECIMAL arrives as Decimal ({type(row[0])})")
        check(isinstance(row[1], datetime.date), f"psycopg: a date arrives as a date ({type(row[1])})")
        ts = conn.execute("SELECT order_ts FROM fact_order LIMIT 1").fetchone()[0]
        check(isinstance(ts, datetime.datetime), f"psycopg: a timestamp arrives as a datetime ({type(ts)})")
        # the protocol's cancel request, from another thread, while a long query runs
        threading.Timer(0.5, conn.cancel).start()
        started = time.time()
        try:
            conn.execute("SELECT COUNT(*) FROM generate_series(1, 100000000000) AS t(x) WHERE x % 7 = 3")
            raise AssertionError("the runaway query finished")
        except psycopg.errors.QueryCanceled:
            pass
        check(time.time() - started < 10, "psycopg: server-side cancel stops a running query")
        check(conn.execute("SELECT 1").fetchone()[0] == 1, "psycopg: the connection is usable after a cancel")
        # a write is refused with the read-only SQLSTATE
        try:
            conn.execute("CREATE TABLE t (a INT)")
            raise AssertionError("a write was accepted")
        except psycopg.errors.ReadOnlySqlTransaction:
            pass
        check(True, "psycopg: a write is refused with 25006")


def sqlalchemy_checks():
    url = f"postgresql+psycopg://{USER}:{urllib.parse.quote(PASSWORD)}@127.0.0.1:{PG_PORT}/shop?sslmode=disable"
    engine = sqlalchemy.create_engine(url)
    inspector = sqlalchemy.inspect(engine)
    names = set(inspector.get_table_names(schema="public")) | set(inspector.get_view_names(schema="public"))
    missing = [t for t in TABLES if t not in names]
    check(not missing, f"SQLAlchemy reflects every table (missing: {missing})")
    keys = {}
    for t in sorted(names):
        columns = inspector.get_columns(t, schema="public")
        check(len(columns) > 0, f"SQLAlchemy reflects the columns of {t} ({len(columns)})")
        pk = inspector.get_pk_constraint(t, schema="public")
        fks = inspector.get_foreign_keys(t, schema="public")
        inspector.get_indexes(t, schema="public")
        inspector.get_unique_constraints(t, schema="public")
        keys[t] = (pk["constrained_columns"], {(tuple(f["constrained_columns"]), f["referred_table"]) for f in fks})
    check(keys["fact_order"][0] == ["order_key"], f"SQLAlchemy: fact_order's primary key ({keys['fact_order']})")
    check(keys["fact_order_line"][0] == ["order_key", "line_no"], f"SQLAlchemy: a key of two columns ({keys['fact_order_line']})")
    check(
        {(("product_key",), "dim_product"), (("order_key",), "fact_order")} <= keys["fact_order_line"][1],
        f"SQLAlchemy: fact_order_line's foreign keys ({keys['fact_order_line']})",
    )
    check(keys["revenue_orders"] == ([], set()), f"SQLAlchemy: a view has no keys ({keys['revenue_orders']})")
    columns = {c["name"]: c for c in inspector.get_columns("fact_order", schema="public")}
    check(columns["order_key"]["comment"] == "surrogate key", f"SQLAlchemy sees column comments ({columns['order_key']})")
    check(inspector.get_table_comment("fact_order", schema="public")["text"] == "one order", "SQLAlchemy sees table comments")
    order = sqlalchemy.table("fact_order", *[sqlalchemy.column(c) for c in columns], schema="public")
    with engine.connect() as conn:
        n = conn.execute(sqlalchemy.select(sqlalchemy.func.count()).select_from(order)).scalar()
    check(n == sum(e["orders"] for e in EXPECTED), f"SQLAlchemy: a Core query on the reflected columns ({n})")


def asyncpg_checks():
    async def run():
        conn = await asyncpg.connect(
            host="127.0.0.1", port=PG_PORT, user=USER, password=PASSWORD, database="shop", ssl=False
        )
        try:
            statement = await conn.prepare("SELECT COUNT(*) FROM fact_order WHERE date_key >= $1")
            return await statement.fetchval(10101)
        finally:
            await conn.close()

    n = asyncio.run(run())
    check(n == sum(e["orders"] for e in EXPECTED), f"asyncpg: a prepared statement with a bound parameter ({n})")


def adbc_checks():
    query = (
        "SELECT c.country, COUNT(*) AS orders FROM fact_order o "
        "JOIN dim_customer c USING (customer_key) GROUP BY 1 ORDER BY 1"
    )
    kwargs = {"adbc.flight.sql.authorization_header": f"Bearer {TOKEN}"}
    with flight.connect(f"grpc://127.0.0.1:{FLIGHT_PORT}", db_kwargs=kwargs) as conn:
        with conn.cursor() as cur:
            cur.execute(query)
            table = cur.fetch_arrow_table()
    got = [dict(zip(table.column_names, r)) for r in zip(*[c.to_pylist() for c in table.columns])]
    # `sql --format json` leaves a NULL out of its row
    expected = [{k: e.get(k) for k in table.column_names} for e in EXPECTED]
    check(got == expected, f"ADBC Flight SQL: the Arrow table equals `sql --format json` ({got} vs {expected})")
    with flight.connect(f"grpc://127.0.0.1:{FLIGHT_PORT}", db_kwargs=kwargs) as conn:
        with conn.cursor() as cur:
            try:
                cur.execute("CREATE TABLE stolen AS SELECT * FROM fact_order")
                cur.fetchall()
                raise AssertionError("Flight SQL ran a write")
            except flight.Error as e:
                check("not supported" in str(e) or "not allowed" in str(e).lower() or "read" in str(e).lower(), f"ADBC: a write is refused ({str(e)[:120]})")
    try:
        with flight.connect(f"grpc://127.0.0.1:{FLIGHT_PORT}") as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchall()
        raise AssertionError("Flight SQL answered without a token")
    except flight.Error as e:
        check("token" in str(e).lower() or "unauthenticated" in str(e).lower(), f"ADBC without a token is refused ({e})")


psycopg_checks()
sqlalchemy_checks()
asyncpg_checks()
adbc_checks()
print("all client checks passed")

#!/usr/bin/env python3
"""The books of kpis.md ("the books", "channels") computed by DuckDB from a shop's canonical CSV
files, on exact DECIMAL(18,4): the peer `bench.py` times beside shoplens and checks its figures
against. Whole range, no filter, prices before tax. Prints one JSON line: the wall time of `load`
and `books`, and with --json OUT writes {"books": …, "channels": […]} in kpis.md's shape.

    python bench/books_peer.py SHOP_DIR [--json OUT]
"""
import argparse, json, time
from decimal import Decimal, ROUND_HALF_UP

import duckdb

MONEY = "DECIMAL(18,4)"


def cents(x):
    return float(Decimal(x or 0).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shop")
    ap.add_argument("--json")
    a = ap.parse_args()
    con = duckdb.connect()
    t0 = time.perf_counter()
    con.execute(f"""
      CREATE TABLE orders AS SELECT * FROM read_csv('{a.shop}/orders.csv', header = true, all_varchar = true);
      CREATE TABLE items AS SELECT order_id, CAST(quantity AS BIGINT) AS quantity,
        CAST(unit_price AS {MONEY}) AS unit_price, CAST(COALESCE(NULLIF(discount, ''), '0') AS {MONEY}) AS discount
        FROM read_csv('{a.shop}/order_items.csv', header = true, all_varchar = true);
      CREATE TABLE refunds AS SELECT order_id, CAST(COALESCE(NULLIF(quantity, ''), '0') AS BIGINT) AS quantity,
        CAST(amount AS {MONEY}) AS amount, CAST(COALESCE(NULLIF(shipping, ''), '0') AS {MONEY}) AS shipping,
        CAST(COALESCE(NULLIF(tax, ''), '0') AS {MONEY}) AS tax
        FROM read_csv('{a.shop}/refunds.csv', header = true, all_varchar = true);
    """)
    t1 = time.perf_counter()
    m = lambda c: f"CAST(COALESCE(NULLIF(o.{c}, ''), '0') AS {MONEY})"
    con.execute(f"""
      CREATE TEMP TABLE kept AS
      WITH lines AS (
        SELECT order_id, SUM(quantity * unit_price) AS gross, SUM(discount) AS discount
        FROM items GROUP BY order_id
      )
      SELECT o.order_id, COALESCE(NULLIF(o.channel, ''), 'unspecified') AS channel, l.gross,
             l.discount + {m('order_discount')} AS discounts,
             l.gross - l.discount - {m('order_discount')} AS revenue,
             {m('shipping')} AS shipping, {m('tax')} AS tax, {m('duties')} AS duties
      FROM orders o JOIN lines l ON l.order_id = o.order_id
      WHERE lower(o.status) IN ('processing', 'shipped', 'delivered')
         OR (lower(o.status) = 'returned' AND o.order_id IN (SELECT order_id FROM refunds))
    """)
    s = con.execute("""
      SELECT (SELECT SUM(gross) FROM kept), (SELECT SUM(discounts) FROM kept), (SELECT SUM(revenue) FROM kept),
             (SELECT SUM(shipping) FROM kept), (SELECT SUM(tax) FROM kept), (SELECT SUM(duties) FROM kept),
             (SELECT SUM(amount) FROM refunds), (SELECT SUM(shipping) FROM refunds), (SELECT SUM(tax) FROM refunds),
             (SELECT SUM(quantity) FROM refunds)
    """).fetchone()
    gross, discounts, revenue, shipping, tax, duties, returns, r_shipping, r_tax, units = [x or 0 for x in s]
    net = revenue - returns
    books = {
        "gross_sales": cents(gross), "discounts": cents(discounts), "returns": cents(returns), "net_sales": cents(net),
        "shipping": cents(shipping - r_shipping), "taxes": cents(tax - r_tax), "duties": cents(duties),
        "total_sales": cents(net + shipping - r_shipping + tax - r_tax + duties), "returned_units": int(units),
    }
    rows = con.execute("""
      WITH per AS (
        SELECT channel, SUM(revenue) AS sales, COUNT(*) AS orders FROM kept GROUP BY channel
      ), ret AS (
        SELECT k.channel, SUM(r.amount) AS returns FROM refunds r JOIN kept k ON k.order_id = r.order_id GROUP BY k.channel
      )
      SELECT p.channel, p.sales - COALESCE(r.returns, 0) AS revenue, p.orders
      FROM per p LEFT JOIN ret r ON r.channel = p.channel
      ORDER BY revenue DESC, p.channel
    """).fetchall()
    channels = [{"channel": c, "revenue": cents(v), "orders": int(n)} for c, v, n in rows]
    t2 = time.perf_counter()
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"books": books, "channels": channels}, f)
    print(json.dumps({"load": round(t1 - t0, 3), "books": round(t2 - t1, 3)}))


if __name__ == "__main__":
    main()

-- payment methods: over all payments of the orders that keep a revenue line, per method the
-- amount, orders, share of the total amount and average installments (per payment); by amount
-- descending, then method ascending (kpis.md). "Orders" counts an order once per method it paid
-- with: the sum of `first_of_method`, which marks one payment of each order by each method
-- (agg_payment.sql). A filter keeps all of an order's payments or none, so the mark needs no
-- grouping by order.
-- The payments of the kept orders are found as `revenue_orders.sql` finds those orders: without a
-- category or product filter by the order's own columns that agg_payment carries (no join of the payments to
-- the orders, whose hash table would grow with the shop); with one, among the orders the filter
-- keeps. Parameters as in filtered_lines.sql.
WITH kept AS (
  SELECT f.method_key, f.amount, f.installments, f.first_of_method
  FROM agg_payment f
  WHERE $3 IS NULL AND $7 IS NULL
    AND {kept_order}
  UNION ALL
  SELECT f.method_key, f.amount, f.installments, f.first_of_method
  FROM agg_payment f
  WHERE ($3 IS NOT NULL OR $7 IS NOT NULL)
    AND {order_filter}
    AND f.order_key IN (SELECT order_key FROM revenue_orders)
)
SELECT
  m.method,
  SUM(k.amount) AS amount,
  SUM(CAST(k.first_of_method AS BIGINT)) AS orders,
  COALESCE(CAST(SUM(k.amount) AS DOUBLE) / NULLIF(CAST(SUM(SUM(k.amount)) OVER () AS DOUBLE), 0), 0) AS share,
  CAST(SUM(CAST(k.installments AS BIGINT)) AS DOUBLE) / CAST(COUNT(*) AS DOUBLE) AS average_installments
FROM kept k
JOIN dim_payment_method m ON m.method_key = k.method_key
GROUP BY m.method
ORDER BY amount DESC, m.method ASC

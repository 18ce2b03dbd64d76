-- payment methods: over all payments of the orders that keep a revenue line, per method the
-- amount, orders, share of the total amount and average installments; by amount descending,
-- then method ascending (kpis.md). Payments are first summed per order and method, so "orders"
-- is a row count.
-- The payments of the kept orders are found as `revenue_orders.sql` finds those orders: without a
-- category filter by the order's own columns that agg_payment carries (no join of the payments to
-- the orders, whose hash table would grow with the shop); with one, among the orders the filter
-- keeps. Parameters as in filtered_lines.sql.
WITH kept AS (
  SELECT f.date_key, f.order_key, f.method_key, f.amount, f.installments
  FROM agg_payment f
  WHERE $3 IS NULL
    AND {kept_order}
  UNION ALL
  SELECT f.date_key, f.order_key, f.method_key, f.amount, f.installments
  FROM agg_payment f
  WHERE $3 IS NOT NULL
    AND {order_filter}
    AND f.order_key IN (SELECT order_key FROM revenue_orders)
),
per_order AS (
  SELECT
    pay.method_key,
    SUM(pay.amount) AS amount,
    SUM(CAST(pay.installments AS BIGINT)) AS installments,
    COUNT(*) AS payments
  FROM kept pay
  GROUP BY pay.date_key, pay.order_key, pay.method_key
)
SELECT
  m.method,
  SUM(po.amount) AS amount,
  COUNT(*) AS orders,
  COALESCE(CAST(SUM(po.amount) AS DOUBLE) / NULLIF(CAST(SUM(SUM(po.amount)) OVER () AS DOUBLE), 0), 0) AS share,
  CAST(SUM(po.installments) AS DOUBLE) / CAST(SUM(po.payments) AS DOUBLE) AS average_installments
FROM per_order po
JOIN dim_payment_method m ON m.method_key = po.method_key
GROUP BY m.method
ORDER BY amount DESC, m.method ASC

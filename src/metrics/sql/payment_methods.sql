-- payment methods: over all payments of the orders that keep a revenue line, per method the
-- amount, orders, share of the total amount and average installments; by amount descending,
-- then method ascending (kpis.md). Payments are first summed per order and method, so "orders"
-- is a row count.
WITH per_order AS (
  SELECT
    pay.method_key,
    SUM(pay.amount) AS amount,
    SUM(CAST(pay.installments AS BIGINT)) AS installments,
    COUNT(*) AS payments
  FROM fact_payment pay
  WHERE pay.order_key IN (SELECT order_key FROM revenue_orders)
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

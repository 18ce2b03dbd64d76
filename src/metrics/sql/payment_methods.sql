-- payment methods: over all payments of the orders that keep a revenue line, per method the
-- amount, orders, share of the total amount and average installments; by amount descending,
-- then method ascending (kpis.md).
SELECT
  m.method,
  SUM(pay.amount) AS amount,
  COUNT(DISTINCT pay.order_key) AS orders,
  COALESCE(CAST(SUM(pay.amount) AS DOUBLE) / NULLIF(CAST(SUM(SUM(pay.amount)) OVER () AS DOUBLE), 0), 0) AS share,
  AVG(CAST(pay.installments AS DOUBLE)) AS average_installments
FROM fact_payment pay
JOIN dim_payment_method m ON m.method_key = pay.method_key
WHERE pay.order_key IN (SELECT order_key FROM revenue_lines)
GROUP BY m.method
ORDER BY amount DESC, m.method ASC

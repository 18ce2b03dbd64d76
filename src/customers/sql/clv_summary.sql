-- The CLV models' summary (customers.md): per customer with a purchase day on or before the
-- calibration end, their purchase days' count, first and last day, and the value of the repeat
-- purchase days (the first day left out).
-- Parameters: $1 calibration end (date key YYYYMMDD).
WITH days AS (
  SELECT customer_key, order_date, SUM(revenue) AS value
  FROM revenue_orders
  WHERE date_key <= $1
  GROUP BY customer_key, order_date
),
firsts AS (
  SELECT customer_key, MIN(order_date) AS first_day FROM days GROUP BY customer_key
)
SELECT
  c.customer_id,
  COUNT(*) - 1 AS x,
  f.first_day,
  MAX(d.order_date) AS last_day,
  SUM(CASE WHEN d.order_date = f.first_day THEN 0 ELSE d.value END) AS repeat_value
FROM days d
JOIN firsts f ON f.customer_key = d.customer_key
JOIN dim_customer c ON c.customer_key = d.customer_key
GROUP BY c.customer_id, f.first_day
ORDER BY c.customer_id

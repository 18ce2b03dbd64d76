-- Returning-customer rate (customers.md): among the customers with an order in the range, those
-- with 2 or more orders from their first order ever up to the range's last day.
-- Parameters: $1 first day, $2 last day (date keys YYYYMMDD, both included).
WITH in_range AS (
  SELECT customer_key FROM revenue_orders WHERE date_key BETWEEN $1 AND $2 GROUP BY customer_key
),
up_to_end AS (
  SELECT customer_key, COUNT(*) AS orders FROM revenue_orders WHERE date_key <= $2 GROUP BY customer_key
)
SELECT
  COUNT(*) AS customers,
  COALESCE(SUM(CASE WHEN u.orders >= 2 THEN 1 ELSE 0 END), 0) AS returning
FROM in_range r
JOIN up_to_end u ON u.customer_key = r.customer_key

-- monthly trend: revenue, orders, customers, average order value and growth per month, every
-- month of the span listed (kpis.md, "Ranges and rounding").
-- Parameters: $1 first month of the span, $2 last month (first days; NULL: the first or last
-- month with a revenue line).
WITH per_month AS (
  SELECT month_start, SUM(revenue) AS revenue, COUNT(*) AS orders
  FROM revenue_orders
  GROUP BY month_start
),
customers_per_month AS (
  SELECT month_start, COUNT(*) AS customers
  FROM (SELECT month_start, customer_key FROM revenue_orders GROUP BY month_start, customer_key) mc
  GROUP BY month_start
),
span AS (
  SELECT COALESCE($1, MIN(month_start)) AS first_month, COALESCE($2, MAX(month_start)) AS last_month
  FROM per_month
),
months AS (
  SELECT unnest(generate_series(first_month, last_month, INTERVAL '1 month')) AS month_start
  FROM span
),
filled AS (
  SELECT
    m.month_start,
    COALESCE(p.revenue, 0) AS revenue,
    COALESCE(p.orders, 0) AS orders,
    COALESCE(c.customers, 0) AS customers
  FROM months m
  LEFT JOIN per_month p ON p.month_start = m.month_start
  LEFT JOIN customers_per_month c ON c.month_start = m.month_start
)
SELECT
  month_start,
  revenue,
  orders,
  customers,
  CASE WHEN orders = 0 THEN 0 ELSE revenue / orders END AS average_order_value,
  CAST(revenue AS DOUBLE)
    / NULLIF(CAST(LAG(revenue) OVER (ORDER BY month_start) AS DOUBLE), 0) - 1 AS growth
FROM filled
ORDER BY month_start

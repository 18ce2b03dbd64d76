-- summary: total revenue, orders, average order value, customers (kpis.md).
WITH customers AS (
  SELECT COUNT(*) AS customers
  FROM revenue_customers
),
totals AS (
  SELECT COALESCE(SUM(revenue), 0) AS total_revenue, COUNT(*) AS orders
  FROM revenue_orders
)
SELECT
  t.total_revenue,
  t.orders,
  CASE WHEN t.orders = 0 THEN 0 ELSE t.total_revenue / t.orders END AS average_order_value,
  c.customers
FROM totals t
CROSS JOIN customers c

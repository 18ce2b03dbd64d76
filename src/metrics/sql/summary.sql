-- summary: total revenue, orders, average order value, customers (kpis.md).
SELECT
  COALESCE(SUM(line_revenue), 0) AS total_revenue,
  COUNT(DISTINCT order_key) AS orders,
  CASE WHEN COUNT(DISTINCT order_key) = 0 THEN 0
       ELSE SUM(line_revenue) / COUNT(DISTINCT order_key) END AS average_order_value,
  COUNT(DISTINCT customer_key) AS customers
FROM revenue_lines

-- top customers: orders, revenue, average order value, first and last order date; by revenue
-- descending, then customer_id ascending; the first $1 (kpis.md).
WITH per_customer AS (
  SELECT
    customer_key,
    COUNT(DISTINCT order_key) AS orders,
    SUM(line_revenue) AS revenue,
    MIN(order_date) AS first_order_date,
    MAX(order_date) AS last_order_date
  FROM revenue_lines
  GROUP BY customer_key
)
SELECT
  c.customer_id,
  c.customer_name,
  pc.orders,
  pc.revenue,
  pc.revenue / pc.orders AS average_order_value,
  pc.first_order_date,
  pc.last_order_date
FROM per_customer pc
JOIN dim_customer c ON c.customer_key = pc.customer_key
ORDER BY pc.revenue DESC, c.customer_id ASC
LIMIT $1

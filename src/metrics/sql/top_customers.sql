-- top customers: orders, revenue, average order value, first and last order date; by revenue
-- descending, then customer_id ascending; the first $1 (kpis.md).
-- Only the customers that can make the list meet dim_customer: those whose revenue reaches the
-- $1-th highest (ties included, since they are broken by customer_id). Joining every customer
-- would hold two tables of the shop's size in memory at once.
WITH per_customer AS (
  SELECT customer_key, orders, revenue, first_order_date, last_order_date
  FROM revenue_customers
),
candidates AS (
  SELECT *
  FROM per_customer
  WHERE revenue >= (SELECT MIN(revenue) FROM (SELECT revenue FROM per_customer ORDER BY revenue DESC LIMIT $1) best)
)
SELECT
  c.customer_id,
  c.customer_name,
  pc.orders,
  pc.revenue,
  pc.revenue / pc.orders AS average_order_value,
  pc.first_order_date,
  pc.last_order_date
FROM candidates pc
JOIN dim_customer c ON c.customer_key = pc.customer_key
ORDER BY pc.revenue DESC, c.customer_id ASC
LIMIT $1

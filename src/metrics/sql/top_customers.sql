-- top customers: orders, net revenue (their sales less their returns in the range), average
-- order value (their sales / orders: returns left out, as the summary's), first and last order
-- date; by revenue descending, then customer_id ascending; the first $1 (kpis.md). The customers
-- are those with a sale in the range (revenue_customers).
-- Only the customers that can make the list meet dim_customer: those whose revenue reaches the
-- $1-th highest (ties included, since they are broken by customer_id). Joining every customer
-- would hold two tables of the shop's size in memory at once.
WITH returned AS (
  SELECT customer_key, SUM(amount) AS returns
  FROM revenue_returns
  GROUP BY customer_key
),
per_customer AS (
  SELECT
    rc.customer_key,
    rc.orders,
    rc.revenue AS sales,
    rc.revenue - COALESCE(r.returns, 0) AS revenue,
    rc.first_order_date,
    rc.last_order_date
  FROM revenue_customers rc
  LEFT JOIN returned r ON r.customer_key = rc.customer_key
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
  pc.sales / pc.orders AS average_order_value,
  pc.first_order_date,
  pc.last_order_date
FROM candidates pc
JOIN dim_customer c ON c.customer_key = pc.customer_key
ORDER BY pc.revenue DESC, c.customer_id ASC
LIMIT $1

-- summary: total revenue (net sales: the revenue lines' line revenue less the returns in the
-- range), orders, average order value (before returns, as Shopify's), customers (kpis.md).
WITH customers AS (
  SELECT COUNT(*) AS customers
  FROM revenue_customers
),
totals AS (
  SELECT COALESCE(SUM(revenue), 0) AS sales, COUNT(*) AS orders
  FROM revenue_orders
),
returned AS (
  SELECT COALESCE(SUM(amount), 0) AS returns
  FROM revenue_returns
)
SELECT
  t.sales - r.returns AS total_revenue,
  t.orders,
  CASE WHEN t.orders = 0 THEN 0 ELSE t.sales / t.orders END AS average_order_value,
  c.customers
FROM totals t
CROSS JOIN returned r
CROSS JOIN customers c

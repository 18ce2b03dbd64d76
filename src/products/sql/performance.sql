-- Product performance (docs/products.md): per item (`items.sql`), the filter's sales lines and
-- returns. Sold: line revenue, units, orders, and the orders placed on their customer's first
-- purchase day ever (first-time buyers: the day of their first sales line in the shop, whatever
-- the filter).
-- Returned: units and goods value, on the refund's own day (revenue_returns). Net sales = sold
-- less returned goods. By net sales descending, then item ascending.
WITH first_day AS (
  SELECT customer_key, MIN(date_key) AS first_key
  FROM agg_line
  WHERE is_sale
  GROUP BY customer_key
),
sold AS (
  SELECT
    i.item,
    SUM(l.line_revenue) AS sales,
    SUM(CAST(l.quantity AS BIGINT)) AS units,
    COUNT(DISTINCT l.order_key) AS orders,
    COUNT(DISTINCT CASE WHEN l.date_key = fd.first_key THEN l.order_key END) AS first_orders
  FROM revenue_lines l
  JOIN items i ON i.product_key = l.product_key
  LEFT JOIN first_day fd ON fd.customer_key = l.customer_key
  GROUP BY i.item
),
returned AS (
  SELECT i.item, SUM(r.amount) AS returned_value, SUM(CAST(r.quantity AS BIGINT)) AS returned_units
  FROM revenue_returns r
  JOIN items i ON i.product_key = r.product_key
  GROUP BY i.item
),
figures AS (
  SELECT
    COALESCE(s.item, r.item) AS item,
    COALESCE(s.sales, CAST(0 AS DECIMAL(28, 4))) AS sales,
    COALESCE(s.units, 0) AS units,
    COALESCE(s.orders, 0) AS orders,
    COALESCE(s.first_orders, 0) AS first_orders,
    COALESCE(r.returned_value, CAST(0 AS DECIMAL(28, 4))) AS returned_value,
    COALESCE(r.returned_units, 0) AS returned_units
  FROM sold s
  FULL OUTER JOIN returned r ON r.item = s.item
)
SELECT
  f.item,
  n.name,
  n.category,
  n.product,
  n.variants,
  f.sales - f.returned_value AS net_sales,
  f.sales,
  f.units,
  f.orders,
  f.first_orders,
  f.returned_units,
  f.returned_value
FROM figures f
JOIN item_names n ON n.item = f.item
ORDER BY net_sales DESC, f.item ASC

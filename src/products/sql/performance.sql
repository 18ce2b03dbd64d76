-- Product performance (docs/products.md): per item (`items.sql`), the filter's sales lines and
-- returns. Sold: line revenue, units and orders (`first_time.sql` counts the first-time buyers').
-- Returned: units and goods value, on the refund's own day (revenue_returns). Net sales = sold
-- less returned goods. By net sales descending, then item ascending.
-- each item's lines of an order summed first: then an order counts once per item without a
-- COUNT(DISTINCT), whose sets cannot spill; items grouped by their number, named at the end
WITH per_order AS (
  SELECT i.item_key, l.order_key,
         SUM(l.line_revenue) AS sales, SUM(CAST(l.quantity AS BIGINT)) AS units
  FROM revenue_lines l
  JOIN items i ON i.product_key = l.product_key
  GROUP BY i.item_key, l.order_key
),
sold AS (
  SELECT
    o.item_key,
    SUM(o.sales) AS sales,
    SUM(o.units) AS units,
    COUNT(*) AS orders
  FROM per_order o
  GROUP BY o.item_key
),
returned AS (
  SELECT i.item_key, SUM(r.amount) AS returned_value, SUM(CAST(r.quantity AS BIGINT)) AS returned_units
  FROM revenue_returns r
  JOIN items i ON i.product_key = r.product_key
  GROUP BY i.item_key
),
figures AS (
  SELECT
    COALESCE(s.item_key, r.item_key) AS item_key,
    COALESCE(s.sales, CAST(0 AS DECIMAL(28, 4))) AS sales,
    COALESCE(s.units, 0) AS units,
    COALESCE(s.orders, 0) AS orders,
    COALESCE(r.returned_value, CAST(0 AS DECIMAL(28, 4))) AS returned_value,
    COALESCE(r.returned_units, 0) AS returned_units
  FROM sold s
  FULL OUTER JOIN returned r ON r.item_key = s.item_key
)
SELECT
  n.item,
  n.name,
  n.category,
  n.product,
  n.variants,
  f.sales - f.returned_value AS net_sales,
  f.sales,
  f.units,
  f.orders,
  f.returned_units,
  f.returned_value
FROM figures f
JOIN item_names n ON n.item_key = f.item_key
ORDER BY net_sales DESC, n.item ASC

-- revenue by category: revenue, share of total revenue, orders, units; by revenue descending,
-- then category ascending (kpis.md). "Orders" counts an order once per category it has a line
-- in: the lines are first summed per order and category (in the facts' date order), then counted.
WITH per_order AS (
  SELECT
    p.category,
    SUM(l.line_revenue) AS revenue,
    SUM(CAST(l.quantity AS BIGINT)) AS units
  FROM revenue_lines l
  JOIN dim_product p ON p.product_key = l.product_key
  GROUP BY l.date_key, l.order_key, p.category
)
SELECT
  category,
  SUM(revenue) AS revenue,
  COALESCE(CAST(SUM(revenue) AS DOUBLE) / NULLIF(CAST(SUM(SUM(revenue)) OVER () AS DOUBLE), 0), 0) AS share,
  COUNT(*) AS orders,
  SUM(units) AS units
FROM per_order
GROUP BY category
ORDER BY revenue DESC, category ASC

-- revenue by category: revenue, share of total revenue, orders, units; by revenue descending,
-- then category ascending (kpis.md).
SELECT
  p.category,
  SUM(l.line_revenue) AS revenue,
  COALESCE(CAST(SUM(l.line_revenue) AS DOUBLE)
    / NULLIF(CAST(SUM(SUM(l.line_revenue)) OVER () AS DOUBLE), 0), 0) AS share,
  COUNT(DISTINCT l.order_key) AS orders,
  SUM(CAST(l.quantity AS BIGINT)) AS units
FROM revenue_lines l
JOIN dim_product p ON p.product_key = l.product_key
GROUP BY p.category
ORDER BY revenue DESC, p.category ASC

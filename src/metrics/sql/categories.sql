-- revenue by category: revenue, share of total revenue, orders, units; by revenue descending,
-- then category ascending (kpis.md). "Orders" counts an order once per category it has a line
-- in: the sum of `first_in_category`, which marks one line of each order in each category
-- (agg_line.sql). A filter keeps all of an order's lines in a category or none of them, so the
-- mark needs no grouping by order.
SELECT
  p.category,
  SUM(l.line_revenue) AS revenue,
  COALESCE(CAST(SUM(l.line_revenue) AS DOUBLE)
           / NULLIF(CAST(SUM(SUM(l.line_revenue)) OVER () AS DOUBLE), 0), 0) AS share,
  SUM(CAST(l.first_in_category AS BIGINT)) AS orders,
  SUM(CAST(l.quantity AS BIGINT)) AS units
FROM revenue_lines l
JOIN dim_product p ON p.product_key = l.product_key
GROUP BY p.category
ORDER BY revenue DESC, p.category ASC

-- revenue by category: net revenue (line revenue less the returns in the range), share of total
-- revenue, orders, net units (sold less returned in the range); by revenue descending, then
-- category ascending (kpis.md). "Orders" counts an order once per category it has a line in: the
-- sum of `first_in_category`, which marks one line of each order in each category
-- (agg_line.sql). A filter keeps all of an order's lines in a category or none of them, so the
-- mark needs no grouping by order. A return is a line of its own here, negative, marking nothing.
-- Each branch of the union takes its category from dim_product, so both have the same columns:
-- Ballista's shuffle refuses a union whose inputs differ (a returns row's product may be NULL).
WITH lines AS (
  SELECT p.category, l.line_revenue AS revenue, CAST(l.first_in_category AS BIGINT) AS first_in_category,
         CAST(l.quantity AS BIGINT) AS units
  FROM revenue_lines l
  JOIN dim_product p ON p.product_key = l.product_key
  UNION ALL
  SELECT p.category, -r.amount AS revenue, CAST(0 AS BIGINT) AS first_in_category,
         -CAST(r.quantity AS BIGINT) AS units
  FROM revenue_returns r
  JOIN dim_product p ON p.product_key = r.product_key
)
SELECT
  category,
  SUM(revenue) AS revenue,
  COALESCE(CAST(SUM(revenue) AS DOUBLE)
           / NULLIF(CAST(SUM(SUM(revenue)) OVER () AS DOUBLE), 0), 0) AS share,
  SUM(first_in_category) AS orders,
  SUM(units) AS units
FROM lines
GROUP BY category
ORDER BY revenue DESC, category ASC

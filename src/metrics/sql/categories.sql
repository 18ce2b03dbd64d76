-- revenue by category: net revenue (line revenue less the returns in the range), share of total
-- revenue, orders, net units (sold less returned in the range); by revenue descending, then
-- category ascending (kpis.md). "Orders" counts an order once per category it has a line in.
-- Without a product filter ($1 false) it is the sum of `first_in_category`, which marks one line
-- of each order in each category (agg_line.sql): the other filters keep all of an order's lines in
-- a category or none of them, so the mark needs no grouping by order. A product filter may keep an
-- order's other lines of a category and drop the marked one: then ($1 true, few lines) the lines
-- are grouped by order first. The branch a request does not take is planned away (its filter is
-- a false constant), never run. A return is a line of its own here, negative, marking nothing.
-- Each branch of the union takes its category from dim_product, so both have the same columns:
-- Ballista's shuffle refuses a union whose inputs differ (a returns row's product may be NULL).
WITH lines AS (
  SELECT p.category, l.order_key, l.line_revenue AS revenue,
         CAST(l.first_in_category AS BIGINT) AS first_in_category, CAST(1 AS BIGINT) AS is_line,
         CAST(l.quantity AS BIGINT) AS units
  FROM revenue_lines l
  JOIN dim_product p ON p.product_key = l.product_key
  UNION ALL
  SELECT p.category, r.order_key, -r.amount AS revenue, CAST(0 AS BIGINT) AS first_in_category,
         CAST(0 AS BIGINT) AS is_line, -CAST(r.quantity AS BIGINT) AS units
  FROM revenue_returns r
  JOIN dim_product p ON p.product_key = r.product_key
),
per_category AS (
  SELECT category, SUM(revenue) AS revenue, SUM(first_in_category) AS orders, SUM(units) AS units
  FROM lines
  WHERE NOT $1
  GROUP BY category
  UNION ALL
  SELECT category, SUM(revenue) AS revenue, SUM(is_line) AS orders, SUM(units) AS units
  FROM (
    SELECT category, order_key, SUM(revenue) AS revenue, MAX(is_line) AS is_line, SUM(units) AS units
    FROM lines
    WHERE $1
    GROUP BY category, order_key
  ) by_order
  GROUP BY category
)
SELECT
  category,
  revenue,
  COALESCE(CAST(revenue AS DOUBLE) / NULLIF(CAST(SUM(revenue) OVER () AS DOUBLE), 0), 0) AS share,
  orders,
  units
FROM per_category
ORDER BY revenue DESC, category ASC

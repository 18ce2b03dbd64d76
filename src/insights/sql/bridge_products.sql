-- Per product, the revenue and units of its revenue lines in each period (NULL where it sold
-- nothing), with its category: the category and price-volume views of a bridge.
WITH cur AS (
  SELECT product_key, SUM(line_revenue) AS revenue, SUM(CAST(quantity AS BIGINT)) AS units
  FROM cur_lines
  GROUP BY product_key
),
prev AS (
  SELECT product_key, SUM(line_revenue) AS revenue, SUM(CAST(quantity AS BIGINT)) AS units
  FROM prev_lines
  GROUP BY product_key
)
SELECT
  p.product_id,
  p.product_name,
  p.category,
  cur.revenue AS revenue,
  cur.units AS units,
  prev.revenue AS previous_revenue,
  prev.units AS previous_units
FROM cur
FULL JOIN prev ON prev.product_key = cur.product_key
JOIN dim_product p ON p.product_key = COALESCE(cur.product_key, prev.product_key)
ORDER BY p.product_id

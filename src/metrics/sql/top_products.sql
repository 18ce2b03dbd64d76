-- top products: net revenue and units (sold less returned in the range), share and cumulative
-- share of total revenue; by revenue descending, then product_id ascending; the first $1
-- (kpis.md).
-- A product is a product_id with its variants rolled up (dim_product.variant_of, as the
-- products analyses' 'product' level, docs/products.md): its name is its own row's when the
-- export lists it, else the one its variants share (variant_of); its category is its own when
-- listed, else its listed variants' first. A product without variants is its own row, as before.
WITH products AS (
  SELECT
    COALESCE(variant_of, product_id) AS product_id,
    COALESCE(MIN(CASE WHEN variant_of IS NULL THEN product_name END), MIN(variant_of)) AS product_name,
    COALESCE(MIN(CASE WHEN variant_of IS NULL AND listed THEN category END),
             MIN(CASE WHEN listed THEN category END),
             MIN(category)) AS category
  FROM dim_product
  GROUP BY 1
),
product_of AS (
  SELECT product_key, COALESCE(variant_of, product_id) AS product_id FROM dim_product
),
lines AS (
  SELECT p.product_id, l.line_revenue AS revenue, CAST(l.quantity AS BIGINT) AS units
  FROM revenue_lines l
  JOIN product_of p ON p.product_key = l.product_key
  UNION ALL
  SELECT p.product_id, -r.amount AS revenue, -CAST(r.quantity AS BIGINT) AS units
  FROM revenue_returns r
  JOIN product_of p ON p.product_key = r.product_key
),
per_product AS (
  SELECT product_id, SUM(revenue) AS revenue, SUM(units) AS units
  FROM lines
  GROUP BY product_id
),
ranked AS (
  SELECT
    p.product_id,
    p.product_name,
    p.category,
    pp.revenue,
    pp.units,
    COALESCE(CAST(pp.revenue AS DOUBLE) / NULLIF(CAST(SUM(pp.revenue) OVER () AS DOUBLE), 0), 0) AS share,
    COALESCE(CAST(SUM(pp.revenue) OVER (ORDER BY pp.revenue DESC, p.product_id ASC
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS DOUBLE)
             / NULLIF(CAST(SUM(pp.revenue) OVER () AS DOUBLE), 0), 0) AS cumulative_share
  FROM per_product pp
  JOIN products p ON p.product_id = pp.product_id
)
SELECT * FROM ranked
ORDER BY revenue DESC, product_id ASC
LIMIT $1

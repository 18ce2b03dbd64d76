-- top products: net revenue and units (sold less returned in the range), share and cumulative
-- share of total revenue; by revenue descending, then product_id ascending; the first $1
-- (kpis.md).
-- Each branch of the union takes the product's key from dim_product, as categories.sql does.
WITH lines AS (
  SELECT p.product_key, l.line_revenue AS revenue, CAST(l.quantity AS BIGINT) AS units
  FROM revenue_lines l
  JOIN dim_product p ON p.product_key = l.product_key
  UNION ALL
  SELECT p.product_key, -r.amount AS revenue, -CAST(r.quantity AS BIGINT) AS units
  FROM revenue_returns r
  JOIN dim_product p ON p.product_key = r.product_key
),
per_product AS (
  SELECT product_key, SUM(revenue) AS revenue, SUM(units) AS units
  FROM lines
  GROUP BY product_key
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
  JOIN dim_product p ON p.product_key = pp.product_key
)
SELECT * FROM ranked
ORDER BY revenue DESC, product_id ASC
LIMIT $1

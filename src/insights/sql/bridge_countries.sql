-- Per customer country (NULL: no country), the revenue of each period.
WITH cur AS (
  SELECT c.country, SUM(o.revenue) AS revenue
  FROM cur_orders o
  JOIN dim_customer c ON c.customer_key = o.customer_key
  GROUP BY c.country
),
prev AS (
  SELECT c.country, SUM(o.revenue) AS revenue
  FROM prev_orders o
  JOIN dim_customer c ON c.customer_key = o.customer_key
  GROUP BY c.country
)
SELECT
  CASE WHEN cur.revenue IS NULL THEN prev.country ELSE cur.country END AS segment,
  cur.revenue AS revenue,
  prev.revenue AS previous_revenue
FROM cur
FULL JOIN prev ON prev.country IS NOT DISTINCT FROM cur.country

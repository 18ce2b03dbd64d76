-- Customers of either period, grouped by whether they bought in each and whether their first
-- revenue order ever (in the whole shop, whatever the filter) falls inside each period; with
-- their count and revenue per period. The customer views of a bridge are sums of these groups.
-- Parameters: $1, $2 first and last date key of the range; $3, $4 those of the comparison.
WITH cur AS (
  SELECT customer_key, SUM(revenue) AS revenue FROM cur_orders GROUP BY customer_key
),
prev AS (
  SELECT customer_key, SUM(revenue) AS revenue FROM prev_orders GROUP BY customer_key
),
either AS (
  SELECT COALESCE(cur.customer_key, prev.customer_key) AS customer_key,
         cur.revenue AS revenue,
         prev.revenue AS previous_revenue
  FROM cur
  FULL JOIN prev ON prev.customer_key = cur.customer_key
),
firsts AS (
  SELECT o.customer_key, MIN(o.date_key) AS first_key
  FROM fact_order o
  WHERE o.is_sale
    AND o.line_count > 0
    AND o.customer_key IN (SELECT customer_key FROM either)
  GROUP BY o.customer_key
)
SELECT
  e.revenue IS NOT NULL AS in_current,
  e.previous_revenue IS NOT NULL AS in_previous,
  f.first_key BETWEEN $1 AND $2 AS new_current,
  f.first_key BETWEEN $3 AND $4 AS new_previous,
  COUNT(*) AS customers,
  COALESCE(SUM(e.revenue), 0) AS revenue,
  COALESCE(SUM(e.previous_revenue), 0) AS previous_revenue
FROM either e
JOIN firsts f ON f.customer_key = e.customer_key
GROUP BY 1, 2, 3, 4

-- Per payment method, the revenue of each period. An order's revenue goes to its main method:
-- the one that paid the largest amount of it (ties: the method first in alphabetical order),
-- which each order carries (`main_method_key`, agg_order.sql); an order without payments to
-- NULL. So every order counts once and the methods add up, and no order meets its payments here.
WITH cur AS (
  SELECT main_method_key, SUM(revenue) AS revenue
  FROM cur_orders
  GROUP BY main_method_key
),
prev AS (
  SELECT main_method_key, SUM(revenue) AS revenue
  FROM prev_orders
  GROUP BY main_method_key
),
either AS (
  SELECT
    COALESCE(cur.main_method_key, prev.main_method_key) AS method_key,
    cur.revenue AS revenue,
    prev.revenue AS previous_revenue
  FROM cur
  FULL JOIN prev ON prev.main_method_key IS NOT DISTINCT FROM cur.main_method_key
)
SELECT m.method AS segment, e.revenue, e.previous_revenue
FROM either e
LEFT JOIN dim_payment_method m ON m.method_key = e.method_key

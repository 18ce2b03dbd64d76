-- Per payment method, the revenue of each period. An order's revenue goes to its main method:
-- the one that paid the largest amount of it (ties: the method first in alphabetical order);
-- an order without payments to NULL. So every order counts once and the methods add up.
WITH paid AS (
  SELECT pay.order_key, m.method, SUM(pay.amount) AS amount
  FROM fact_payment pay
  JOIN dim_payment_method m ON m.method_key = pay.method_key
  WHERE pay.order_key IN (SELECT order_key FROM cur_orders UNION ALL SELECT order_key FROM prev_orders)
  GROUP BY pay.order_key, m.method
),
main_method AS (
  SELECT order_key, method
  FROM (
    SELECT order_key, method,
           ROW_NUMBER() OVER (PARTITION BY order_key ORDER BY amount DESC, method ASC) AS rank
    FROM paid
  ) ranked
  WHERE rank = 1
),
cur AS (
  SELECT mm.method, SUM(o.revenue) AS revenue
  FROM cur_orders o
  LEFT JOIN main_method mm ON mm.order_key = o.order_key
  GROUP BY mm.method
),
prev AS (
  SELECT mm.method, SUM(o.revenue) AS revenue
  FROM prev_orders o
  LEFT JOIN main_method mm ON mm.order_key = o.order_key
  GROUP BY mm.method
)
SELECT
  CASE WHEN cur.revenue IS NULL THEN prev.method ELSE cur.method END AS segment,
  cur.revenue AS revenue,
  prev.revenue AS previous_revenue
FROM cur
FULL JOIN prev ON prev.method IS NOT DISTINCT FROM cur.method

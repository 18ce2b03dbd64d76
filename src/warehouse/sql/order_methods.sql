-- order_methods: each order's payment methods, for the derived tables (`agg_*.sql`), which read
-- it as the table `order_methods`:
-- - method_keys: their keys between bars in key order ('|1|3|'), so that a filter on a method is
--   a test of an order's own row, '|k|' in its keys;
-- - main_method_key: its main method, the one that paid the largest amount of it (ties: the
--   method first in alphabetical order), which `explain` credits the order's revenue to. Found
--   by one MAX per order over the amount followed by the method's alphabetical rank in six
--   digits (an ordered aggregate per order cost six times as much).
WITH ranks AS (
  SELECT method_key, CAST(ROW_NUMBER() OVER (ORDER BY method) AS BIGINT) AS name_rank
  FROM dim_payment_method
),
per_method AS (
  SELECT date_key, order_key, method_key, SUM(amount) AS amount
  FROM fact_payment
  GROUP BY date_key, order_key, method_key
),
per_order AS (
  SELECT
    pm.date_key,
    pm.order_key,
    '|' || array_to_string(array_sort(array_agg(pm.method_key)), '|') || '|' AS method_keys,
    MAX(CAST(pm.amount * 10000 AS DECIMAL(38, 0)) * 1000000 + (999999 - r.name_rank)) AS best
  FROM per_method pm
  JOIN ranks r ON r.method_key = pm.method_key
  GROUP BY pm.date_key, pm.order_key
)
SELECT o.date_key, o.order_key, o.method_keys, r.method_key AS main_method_key
FROM per_order o
JOIN ranks r ON r.name_rank = 999999 - CAST(o.best % 1000000 AS BIGINT)

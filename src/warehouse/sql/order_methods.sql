-- order_methods: each order's payment methods, as their keys between bars in key order
-- ('|1|3|'), for the derived tables (`agg_*.sql`), which read it as the table `order_methods`.
-- A filter on a method is then a test of an order's own row, '|k|' in its keys.
SELECT
  date_key,
  order_key,
  '|' || array_to_string(array_sort(array_agg(DISTINCT method_key)), '|') || '|' AS method_keys
FROM fact_payment
GROUP BY date_key, order_key

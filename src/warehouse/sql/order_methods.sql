-- (order_methods.sql: each order's payment method keys between bars, in key order, '|1|3|', from
-- fact_payment; a key listed twice when two payments used it, which a test for '|k|' does not mind)
SELECT date_key, order_key, '|' || string_agg(CAST(method_key AS VARCHAR), '|' ORDER BY method_key) || '|' AS method_keys
FROM fact_payment
GROUP BY date_key, order_key

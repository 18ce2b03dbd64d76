-- agg_line (derived): every line of fact_order_line with its order's payment methods (as in
-- agg_order.sql), which the filtered lines read. The import runs this per month over the month's
-- facts; a warehouse written before it existed reads it as a view.
SELECT
  l.date_key,
  l.order_key,
  l.line_no,
  l.customer_key,
  l.product_key,
  l.status,
  l.quantity,
  l.unit_price,
  l.discount,
  l.line_revenue,
  COALESCE(m.method_keys, '|') AS method_keys,
  m.main_method_key
FROM fact_order_line l
LEFT JOIN order_methods m ON m.date_key = l.date_key AND m.order_key = l.order_key
ORDER BY l.date_key, l.order_key, l.line_no

-- (agg_line_rows.sql: every line of fact_order_line with its order's payment methods (as in
-- agg_order.sql) and its product's category, in the facts' order. `agg_line.sql` adds the mark
-- per category over these rows; the import's build computes the same mark in one pass over them
-- (`warehouse::derived`), since an order's lines come together.)
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
  m.main_method_key,
  l.is_sale,
  l.channel_key,
  l.discount_codes,
  l.quantity * l.unit_price - l.tax AS gross_sales,
  l.discount + l.order_discount AS discounts,
  p.category
FROM fact_order_line l
JOIN dim_product p ON p.product_key = l.product_key
LEFT JOIN order_methods m ON m.date_key = l.date_key AND m.order_key = l.order_key
ORDER BY l.date_key, l.order_key, l.line_no

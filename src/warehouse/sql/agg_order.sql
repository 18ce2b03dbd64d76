-- agg_order (derived): every order of fact_order with the payment methods it used (as their keys
-- between bars, '|1|3|') and its main one (`order_methods.sql`). A filter on the method is then
-- a test of the order's own row: the semi-join it replaces held every order paid that way in a
-- hash table that cannot spill, and failed with "Resources exhausted" at 10M orders. The import
-- runs this per month over the month's facts (the facts' order kept: the ORDER BY costs no
-- sort); a warehouse written before it existed reads it as a view.
SELECT
  o.date_key,
  o.order_key,
  o.customer_key,
  o.status,
  o.line_count,
  o.order_revenue,
  COALESCE(m.method_keys, '|') AS method_keys,
  m.main_method_key,
  o.is_sale,
  o.channel_key,
  o.discount_codes,
  o.gross_sales,
  o.discounts,
  o.shipping,
  o.tax,
  o.duties
FROM fact_order o
LEFT JOIN order_methods m ON m.date_key = o.date_key AND m.order_key = o.order_key
ORDER BY o.date_key, o.order_key

-- agg_return (derived): what the books subtract on a refund's day, with what a filter asks of its
-- order (its payment methods, channel and codes, from agg_order): each refund's goods on the
-- order lines they belong to (fact_return_line), and each refund's shipping and tax as a row of
-- its own without a line or product. A filter then treats a return like a line: its own day for
-- the range, its product for the category, its order for the country, method and channel. The
-- import runs this once over the staged version, after agg_order.
SELECT
  r.date_key,
  r.order_key,
  r.line_no,
  r.order_date_key,
  r.customer_key,
  r.product_key,
  r.quantity,
  r.amount,
  r.shipping,
  r.tax,
  o.method_keys,
  o.main_method_key,
  o.channel_key,
  o.discount_codes
FROM (
  SELECT date_key, order_key, line_no, order_date_key, customer_key, product_key, quantity, amount,
         CAST(0 AS DECIMAL(18, 4)) AS shipping, CAST(0 AS DECIMAL(18, 4)) AS tax
  FROM fact_return_line
  UNION ALL
  SELECT date_key, order_key, CAST(NULL AS INT) AS line_no, order_date_key, customer_key,
         CAST(NULL AS INT) AS product_key, 0 AS quantity, CAST(0 AS DECIMAL(18, 4)) AS amount, shipping, tax
  FROM fact_refund
  WHERE shipping <> 0 OR tax <> 0
) r
JOIN agg_order o ON o.date_key = r.order_date_key AND o.order_key = r.order_key
ORDER BY r.date_key, r.order_key, r.line_no

-- The returns a KPI request keeps (kpis.md, "Terms"): refunds' goods on their order lines and
-- refunds' shipping and tax (agg_return), on the refund's own day, whenever their order was
-- placed. The filter is the lines': the range on the refund's day, the category and the product on the returned
-- line's product (a refund's shipping and tax have none, and drop out), the country, method and
-- channel on the order (`order_filter.sql`). Every refund is of a sale: the import rejects the
-- refunds of cancelled and pending orders. The KPIs read this as the table `revenue_returns`.
-- Parameters as in filtered_lines.sql.
SELECT
  f.date_key,
  f.order_key,
  f.order_date_key,
  f.customer_key,
  f.product_key,
  d.month_start,
  f.quantity,
  CAST(f.amount AS DECIMAL(28, 4)) AS amount,
  CAST(f.shipping AS DECIMAL(28, 4)) AS shipping,
  CAST(f.tax AS DECIMAL(28, 4)) AS tax,
  f.method_keys,
  f.main_method_key,
  f.channel_key,
  f.discount_codes
FROM (
  SELECT *
  FROM agg_return f
  WHERE ($3 IS NULL OR f.product_key IN (
          SELECT p.product_key FROM dim_product p WHERE p.category = $3))
    AND ($7 IS NULL OR f.product_key IN (
          SELECT p.product_key FROM dim_product p WHERE p.product_id = $7 OR p.variant_of = $7))
    AND {order_filter}
) f
JOIN dim_date d ON d.date_key = f.date_key

-- The filtered lines (kpis.md, "Terms"): the order lines of every status that a request's filter
-- keeps (agg_line: each line with its order's payment methods), like a dbt staging model that
-- the queries build on. `revenue_lines.sql` keeps their revenue statuses, `gross_to_net.sql`
-- sums them per status; both read it as `filtered_lines`.
-- The filter: the range, the category and the product, then `order_filter.sql` (the customer's country, the
-- payment method), which `revenue_orders.sql` applies to whole orders too.
-- Parameters: $1 first day, $2 last day (both included, as date keys YYYYMMDD: the facts are
-- sorted by them, so a range reads only its part of the file), $3 category, $4 country,
-- $5 payment method, $6 sales channel, $7 product (a product_id, or the product its variants
-- name in `variant_of`, which keeps them all); a NULL text parameter keeps everything (and its
-- subquery is never run).
SELECT
  f.date_key,
  f.order_key,
  f.customer_key,
  f.product_key,
  f.status,
  f.is_sale,
  f.quantity,
  f.unit_price,
  f.discount,
  f.line_revenue,
  f.gross_sales,
  f.discounts,
  f.main_method_key,
  f.channel_key,
  f.discount_codes,
  f.first_in_category
FROM agg_line f
WHERE ($3 IS NULL OR f.product_key IN (
        SELECT p.product_key FROM dim_product p WHERE p.category = $3))
  AND ($7 IS NULL OR f.product_key IN (
        SELECT p.product_key FROM dim_product p WHERE p.product_id = $7 OR p.variant_of = $7))
  AND {order_filter}

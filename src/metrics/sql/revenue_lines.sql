-- The revenue lines a KPI request keeps (kpis.md, "Terms"): order lines of revenue orders,
-- restricted by the filter. The line-level KPIs (categories, top products) read this as the table
-- `revenue_lines`, and `revenue_orders.sql` sums it per order.
-- Parameters: $1 first day, $2 last day (both included, as date keys YYYYMMDD: the facts are
-- sorted by them, so a range reads only its part of the file), $3 category, $4 country,
-- $5 payment method; a NULL text parameter keeps everything (and its subquery is never run).
SELECT
  f.date_key,
  f.order_key,
  f.customer_key,
  f.product_key,
  d.date AS order_date,
  d.month_start,
  f.quantity,
  f.line_revenue
FROM fact_order_line f
JOIN dim_date d ON d.date_key = f.date_key
WHERE f.status IN ('processing', 'shipped', 'delivered')
  AND f.date_key BETWEEN $1 AND $2
  AND ($3 IS NULL OR f.product_key IN (
        SELECT p.product_key FROM dim_product p WHERE p.category = $3))
  AND ($4 IS NULL OR f.customer_key IN (
        SELECT c.customer_key FROM dim_customer c WHERE c.country = $4))
  AND ($5 IS NULL OR f.order_key IN (
        SELECT pay.order_key
        FROM fact_payment pay
        JOIN dim_payment_method m ON m.method_key = pay.method_key
        WHERE m.method = $5))

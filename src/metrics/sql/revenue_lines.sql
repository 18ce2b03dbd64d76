-- The revenue lines a KPI request keeps (kpis.md, "Terms"): the filtered lines
-- (`filtered_lines.sql`) of sales. The line-level KPIs (categories, top products) read
-- this as the table `revenue_lines`, and `revenue_orders.sql` sums it per order.
-- Parameters as in filtered_lines.sql.
WITH filtered_lines AS (
{filtered_lines}
)
SELECT
  f.date_key,
  f.order_key,
  f.customer_key,
  f.product_key,
  d.date AS order_date,
  d.month_start,
  f.quantity,
  f.line_revenue,
  f.gross_sales,
  f.discounts,
  f.main_method_key,
  f.channel_key,
  f.discount_codes,
  f.first_in_category
FROM filtered_lines f
JOIN dim_date d ON d.date_key = f.date_key
WHERE f.is_sale

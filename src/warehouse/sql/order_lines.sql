CREATE VIEW order_lines AS
SELECT
  f.order_id,
  f.line_no,
  d.date AS order_date,
  d.year_month,
  f.status,
  f.is_sale AS is_revenue,
  c.customer_id,
  c.customer_name,
  c.country,
  p.product_id,
  p.product_name,
  p.category,
  f.quantity,
  f.unit_price,
  f.discount,
  f.order_discount,
  f.tax,
  f.line_revenue,
  ch.channel
FROM fact_order_line f
JOIN dim_date d ON d.date_key = f.date_key
JOIN dim_channel ch ON ch.channel_key = f.channel_key
JOIN dim_customer c ON c.customer_key = f.customer_key
JOIN dim_product p ON p.product_key = f.product_key;

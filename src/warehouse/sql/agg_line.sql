-- agg_line (derived): every line of fact_order_line with its order's payment methods (as in
-- agg_order.sql), which the filtered lines read, and whether it is the first line of its order in
-- its product's category. Every filter keeps or drops all the lines of an order in a category
-- (the range, the country and the method are the order's; the category is the line's), so a
-- filter's orders per category are a plain sum of that mark: the categories KPI needs no
-- grouping by order. The import runs this per month over the month's facts (and an append over
-- every month when it changed a product's category); a warehouse written before it existed
-- reads it as a view.
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
  CASE WHEN ROW_NUMBER() OVER (PARTITION BY l.date_key, l.order_key, p.category ORDER BY l.line_no) = 1
       THEN 1 ELSE 0 END AS first_in_category
FROM fact_order_line l
JOIN dim_product p ON p.product_key = l.product_key
LEFT JOIN order_methods m ON m.date_key = l.date_key AND m.order_key = l.order_key
ORDER BY l.date_key, l.order_key, l.line_no

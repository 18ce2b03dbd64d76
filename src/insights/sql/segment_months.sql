-- Revenue per month of the whole shop and of each category, customer country and payment
-- method, as the dashboard's filter of that value shows it (kpis.md: a category keeps its
-- lines; a country its customers' orders; a method the orders with a payment by it): the
-- series the alerts forecast. A method's orders are read off agg_order, each order's own method
-- keys, as `revenue_orders.sql` finds revenue orders without a category filter: no order meets
-- its payments. Each series is net sales: the returns refunded in a month (revenue_returns) are
-- taken off that month, as a line of their product, customer and order. Parameters as in
-- filtered_lines.sql (the alerts set only the range).
SELECT 'shop' AS kind, 'all' AS segment, month_start, CAST(SUM(revenue) AS DECIMAL(38, 4)) AS revenue
FROM (
  SELECT month_start, revenue FROM revenue_orders
  UNION ALL
  SELECT month_start, -amount AS revenue FROM revenue_returns
) s
GROUP BY month_start
UNION ALL
SELECT 'category' AS kind, l.category AS segment, l.month_start, CAST(SUM(l.revenue) AS DECIMAL(38, 4)) AS revenue
FROM (
  -- each branch names its category from dim_product (categories.sql says why)
  SELECT p.category, l.month_start, l.line_revenue AS revenue
  FROM revenue_lines l JOIN dim_product p ON p.product_key = l.product_key
  UNION ALL
  SELECT p.category, r.month_start, -r.amount AS revenue
  FROM revenue_returns r JOIN dim_product p ON p.product_key = r.product_key
) l
GROUP BY l.category, l.month_start
UNION ALL
SELECT 'country' AS kind, c.country AS segment, o.month_start, CAST(SUM(o.revenue) AS DECIMAL(38, 4)) AS revenue
FROM (
  SELECT customer_key, month_start, revenue FROM revenue_orders
  UNION ALL
  SELECT customer_key, month_start, -amount AS revenue FROM revenue_returns
) o
JOIN dim_customer c ON c.customer_key = o.customer_key
WHERE c.country IS NOT NULL
GROUP BY c.country, o.month_start
UNION ALL
SELECT 'method' AS kind, m.method AS segment, d.month_start, CAST(SUM(f.revenue) AS DECIMAL(38, 4)) AS revenue
FROM (
  SELECT f.date_key, f.method_keys, f.order_revenue AS revenue FROM agg_order f WHERE {kept_order}
  UNION ALL
  SELECT f.date_key, f.method_keys, -f.amount AS revenue FROM revenue_returns f
) f
JOIN dim_payment_method m ON strpos(f.method_keys, '|' || CAST(m.method_key AS VARCHAR) || '|') > 0
JOIN dim_date d ON d.date_key = f.date_key
GROUP BY m.method, d.month_start

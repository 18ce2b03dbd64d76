-- Revenue per month of the whole shop and of each category, customer country and payment
-- method, as the dashboard's filter of that value shows it (kpis.md: a category keeps its
-- lines; a country its customers' orders; a method the orders with a payment by it): the
-- series the alerts forecast. A method's orders are read off agg_order, each order's own method
-- keys, as `revenue_orders.sql` finds revenue orders without a category filter: no order meets
-- its payments. Parameters as in filtered_lines.sql (the alerts set only the range).
SELECT 'shop' AS kind, 'all' AS segment, month_start, CAST(SUM(revenue) AS DECIMAL(38, 4)) AS revenue
FROM revenue_orders
GROUP BY month_start
UNION ALL
SELECT 'category' AS kind, p.category AS segment, l.month_start, CAST(SUM(l.line_revenue) AS DECIMAL(38, 4)) AS revenue
FROM revenue_lines l
JOIN dim_product p ON p.product_key = l.product_key
GROUP BY p.category, l.month_start
UNION ALL
SELECT 'country' AS kind, c.country AS segment, o.month_start, CAST(SUM(o.revenue) AS DECIMAL(38, 4)) AS revenue
FROM revenue_orders o
JOIN dim_customer c ON c.customer_key = o.customer_key
WHERE c.country IS NOT NULL
GROUP BY c.country, o.month_start
UNION ALL
SELECT 'method' AS kind, m.method AS segment, d.month_start, CAST(SUM(f.order_revenue) AS DECIMAL(38, 4)) AS revenue
FROM agg_order f
JOIN dim_payment_method m ON strpos(f.method_keys, '|' || CAST(m.method_key AS VARCHAR) || '|') > 0
JOIN dim_date d ON d.date_key = f.date_key
WHERE {kept_order}
GROUP BY m.method, d.month_start

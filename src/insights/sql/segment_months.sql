-- Revenue per month of the whole shop and of each category, customer country and payment
-- method, as the dashboard's filter of that value shows it (kpis.md: a category keeps its
-- lines; a country its customers' orders; a method the orders with a payment by it): the
-- series the alerts forecast.
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
SELECT 'method' AS kind, m.method AS segment, o.month_start, CAST(SUM(o.revenue) AS DECIMAL(38, 4)) AS revenue
FROM revenue_orders o
JOIN (SELECT order_key, method_key FROM fact_payment GROUP BY order_key, method_key) pay
  ON pay.order_key = o.order_key
JOIN dim_payment_method m ON m.method_key = pay.method_key
GROUP BY m.method, o.month_start

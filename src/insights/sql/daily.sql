-- Revenue per order day of the filter's revenue orders (days without revenue are absent): the
-- month-to-date projection's input.
SELECT order_date, SUM(revenue) AS revenue
FROM revenue_orders
GROUP BY order_date
ORDER BY order_date

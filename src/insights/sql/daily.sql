-- Net sales per day of the filter's revenue orders (days without any are absent): each day's
-- sales less the returns refunded on it (kpis.md). The month-to-date projection's input.
SELECT order_date, SUM(revenue) AS revenue
FROM (
  SELECT order_date, revenue FROM revenue_orders
  UNION ALL
  SELECT d.date AS order_date, -r.amount AS revenue
  FROM revenue_returns r
  JOIN dim_date d ON d.date_key = r.date_key
) days
GROUP BY order_date
ORDER BY order_date

-- Revenue by customer country: the filter's revenue lines summed per country, with the orders and
-- customers they come from (an order or customer counted once per country, which is theirs);
-- by revenue descending, then country ascending. Reads the filtered view `revenue_lines`.
SELECT
  c.country,
  SUM(l.line_revenue) AS revenue,
  COUNT(DISTINCT l.order_key) AS orders,
  COUNT(DISTINCT l.customer_key) AS customers
FROM revenue_lines l
JOIN dim_customer c ON c.customer_key = l.customer_key
GROUP BY c.country
ORDER BY revenue DESC, country ASC

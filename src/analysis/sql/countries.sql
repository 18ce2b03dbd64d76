-- Revenue by customer country: the filter's revenue orders summed per country, with the orders and
-- customers they come from (a customer has one country, so each is counted once); by revenue
-- descending, then country ascending. Reads the filtered table `revenue_orders`, first per
-- customer: every aggregate a plain GROUP BY, which spills (a COUNT(DISTINCT) per country held
-- every order of the country in memory), and only customers meet dim_customer.
WITH per_customer AS (
  SELECT customer_key, SUM(revenue) AS revenue, COUNT(*) AS orders
  FROM revenue_orders
  GROUP BY customer_key
)
SELECT
  c.country,
  SUM(pc.revenue) AS revenue,
  SUM(pc.orders) AS orders,
  COUNT(*) AS customers
FROM per_customer pc
JOIN dim_customer c ON c.customer_key = pc.customer_key
GROUP BY c.country
ORDER BY revenue DESC, country ASC

-- The revenue orders a KPI request keeps, summed per customer: the table the customer-level KPIs
-- read (the summary's customers, order frequency, top customers), so that a request groups its
-- orders by customer once rather than once per KPI. Over `revenue_orders`; no parameters.
SELECT
  customer_key,
  COUNT(*) AS orders,
  SUM(revenue) AS revenue,
  MIN(order_date) AS first_order_date,
  MAX(order_date) AS last_order_date
FROM revenue_orders
GROUP BY customer_key

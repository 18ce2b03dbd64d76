-- The revenue orders a customer analysis reads (customers.md, "Terms"): each purchase valued at
-- its line revenue less all of its order's returns, whenever refunded (the filter's other parts
-- apply to the returns as to the lines: a category keeps the returns of its lines). Over
-- `sale_orders` (the filter's revenue orders, `revenue_orders.sql`) and `revenue_returns` of the
-- same filter over all dates.
SELECT
  o.* EXCLUDE (revenue),
  o.revenue - COALESCE(r.returns, 0) AS revenue
FROM sale_orders o
LEFT JOIN (
  SELECT order_key, SUM(amount) AS returns
  FROM revenue_returns
  GROUP BY order_key
) r ON r.order_key = o.order_key

-- Per item (`items.sql`), the filter's sales orders placed on their customer's first purchase day
-- in the shop (first-time buyers: the day of the customer's first sales line, whatever the
-- filter). The definition, and what a cluster runs; locally `first_time_by_day.sql` gives the same
-- counts from the first days kept in memory. Apart from `performance.sql`: it joins every
-- customer's first day, which a small memory limit may not hold at a large size
-- (`performance.rs` then says so).
WITH first_day AS (
  SELECT customer_key, MIN(date_key) AS first_key
  FROM agg_line
  WHERE is_sale
  GROUP BY customer_key
),
per_order AS (
  SELECT DISTINCT i.item, l.order_key, l.customer_key, l.date_key
  FROM revenue_lines l
  JOIN items i ON i.product_key = l.product_key
)
SELECT o.item, COUNT(*) AS first_orders
FROM per_order o
JOIN first_day fd ON fd.customer_key = o.customer_key AND fd.first_key = o.date_key
GROUP BY o.item

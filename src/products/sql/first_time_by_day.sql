-- Per item (`items.sql`), the filter's sales orders placed on their customer's first purchase day,
-- as `first_time.sql` defines them, the first days read from memory (`first_day.rs`:
-- first_purchase_day()) rather than joined: only the range's own lines are read.
WITH firsts AS (
  SELECT o.item_key, COUNT(*) AS first_orders
  FROM (
    SELECT DISTINCT i.item_key, l.order_key
    FROM revenue_lines l
    JOIN items i ON i.product_key = l.product_key
    WHERE l.date_key = first_purchase_day(l.customer_key)
  ) o
  GROUP BY o.item_key
)
SELECT n.item, f.first_orders
FROM firsts f
JOIN item_names n ON n.item_key = f.item_key

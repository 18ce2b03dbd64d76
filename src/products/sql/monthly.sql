-- Each item's net sales per month of the filter's range (the sparklines of docs/products.md):
-- line revenue sold in the month less goods returned in it (on the refund's day). Grouped by
-- the item's number, named at the end.
WITH moves AS (
  SELECT i.item_key, l.month_start, l.line_revenue AS net
  FROM revenue_lines l
  JOIN items i ON i.product_key = l.product_key
  UNION ALL
  SELECT i.item_key, r.month_start, -r.amount AS net
  FROM revenue_returns r
  JOIN items i ON i.product_key = r.product_key
),
per_month AS (
  SELECT item_key, month_start, SUM(net) AS net_sales
  FROM moves
  GROUP BY item_key, month_start
)
SELECT n.item, m.month_start, m.net_sales
FROM per_month m
JOIN item_names n ON n.item_key = m.item_key
ORDER BY n.item, m.month_start

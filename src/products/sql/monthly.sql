-- Each item's net sales per month of the filter's range (the sparklines of docs/products.md):
-- line revenue sold in the month less goods returned in it (on the refund's day).
WITH moves AS (
  SELECT i.item, l.month_start, l.line_revenue AS net
  FROM revenue_lines l
  JOIN items i ON i.product_key = l.product_key
  UNION ALL
  SELECT i.item, r.month_start, -r.amount AS net
  FROM revenue_returns r
  JOIN items i ON i.product_key = r.product_key
)
SELECT item, month_start, SUM(net) AS net_sales
FROM moves
GROUP BY item, month_start
ORDER BY item, month_start

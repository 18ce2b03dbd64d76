-- Items bought together (docs/products.md): the filter's sales orders as baskets of items
-- (`items.sql`), each item once per basket; every pair of items in at least $1 baskets, with the
-- baskets of each item and of all. The measures (support, confidence, lift, leverage,
-- conviction) are computed from these counts in `pairs.rs`, as mlxtend's association_rules does.
WITH baskets AS (
  SELECT DISTINCT l.order_key, i.item
  FROM revenue_lines l
  JOIN items i ON i.product_key = l.product_key
),
all_baskets AS (
  SELECT COUNT(DISTINCT order_key) AS baskets FROM baskets
),
per_item AS (
  SELECT item, COUNT(*) AS orders FROM baskets GROUP BY item
),
pairs AS (
  SELECT a.item AS a, b.item AS b, COUNT(*) AS together
  FROM baskets a
  JOIN baskets b ON b.order_key = a.order_key AND a.item < b.item
  GROUP BY a.item, b.item
  HAVING COUNT(*) >= $1
)
SELECT p.a, p.b, p.together, ia.orders AS a_orders, ib.orders AS b_orders, n.baskets
FROM pairs p
JOIN per_item ia ON ia.item = p.a
JOIN per_item ib ON ib.item = p.b
CROSS JOIN all_baskets n
ORDER BY p.a, p.b

-- The product journey (docs/products.md): customers by the items (`items.sql`) of their first
-- purchase day, with what their second purchase day holds, whether they came back, and their net
-- sales in the year from their first purchase day. Reads the segment's sales lines and returns
-- over all time (`revenue_lines`, `revenue_returns` without a range); $1 and $2 (date keys)
-- choose the customers by their first purchase day; $3 is the last order day's key (a year is
-- complete when it ends by then).
WITH days AS (
  SELECT customer_key, date_key,
         ROW_NUMBER() OVER (PARTITION BY customer_key ORDER BY date_key) AS n
  FROM (SELECT DISTINCT customer_key, date_key FROM revenue_lines) d
),
first_day AS (
  SELECT customer_key, date_key AS first_key FROM days WHERE n = 1 AND date_key BETWEEN $1 AND $2
),
second_day AS (
  SELECT customer_key, date_key AS second_key FROM days WHERE n = 2
),
first_items AS (
  SELECT DISTINCT f.customer_key, i.item
  FROM revenue_lines l
  JOIN first_day f ON f.customer_key = l.customer_key AND l.date_key = f.first_key
  JOIN items i ON i.product_key = l.product_key
),
second_items AS (
  SELECT DISTINCT s.customer_key, i.item
  FROM revenue_lines l
  JOIN second_day s ON s.customer_key = l.customer_key AND l.date_key = s.second_key
  JOIN items i ON i.product_key = l.product_key
),
-- net sales in the year from the first purchase day, of customers whose year is complete
year_net AS (
  SELECT f.customer_key, SUM(m.net) AS net
  FROM first_day f
  JOIN (
    SELECT customer_key, date_key, line_revenue AS net FROM revenue_lines
    UNION ALL
    SELECT customer_key, date_key, -amount AS net FROM revenue_returns
  ) m ON m.customer_key = f.customer_key AND m.date_key >= f.first_key AND m.date_key < f.first_key + 10000
  WHERE f.first_key + 10000 <= $3 + 1
  GROUP BY f.customer_key
),
customers AS (
  SELECT f.customer_key,
         s.customer_key IS NOT NULL AS came_back,
         f.first_key + 10000 <= $3 + 1 AS full_year,
         COALESCE(y.net, CAST(0 AS DECIMAL(28, 4))) AS year_net
  FROM first_day f
  LEFT JOIN second_day s ON s.customer_key = f.customer_key
  LEFT JOIN year_net y ON y.customer_key = f.customer_key
)
SELECT
  'first' AS kind, fi.item, NULL AS next_item,
  COUNT(*) AS customers,
  SUM(CASE WHEN c.came_back THEN 1 ELSE 0 END) AS came_back,
  SUM(CASE WHEN c.full_year THEN 1 ELSE 0 END) AS full_year,
  SUM(CASE WHEN c.full_year THEN c.year_net ELSE CAST(0 AS DECIMAL(28, 4)) END) AS year_net
FROM first_items fi
JOIN customers c ON c.customer_key = fi.customer_key
GROUP BY fi.item
UNION ALL
SELECT
  'all' AS kind, NULL AS item, NULL AS next_item,
  COUNT(*),
  SUM(CASE WHEN came_back THEN 1 ELSE 0 END),
  SUM(CASE WHEN full_year THEN 1 ELSE 0 END),
  SUM(CASE WHEN full_year THEN year_net ELSE CAST(0 AS DECIMAL(28, 4)) END)
FROM customers
UNION ALL
SELECT
  'next' AS kind, fi.item, si.item AS next_item,
  COUNT(*), 0, 0, CAST(0 AS DECIMAL(28, 4))
FROM first_items fi
JOIN second_items si ON si.customer_key = fi.customer_key
GROUP BY fi.item, si.item

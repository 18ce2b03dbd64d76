-- sales by discount code: per code the orders that used it (an order with several counts for
-- each), their discounts (line discounts and order discounts) and their net sales (line revenue
-- less their returns in the range); by orders descending, then code ascending; orders without a
-- code are not listed (kpis.md).
WITH sales AS (
  SELECT code, COUNT(*) AS orders, SUM(discounts) AS discounts, SUM(revenue) AS sales
  FROM (
    SELECT unnest(string_to_array(discount_codes, ',')) AS code, discounts, revenue
    FROM revenue_orders
    WHERE discount_codes IS NOT NULL
  ) o
  GROUP BY code
),
returned AS (
  SELECT code, SUM(amount) AS returns
  FROM (
    SELECT unnest(string_to_array(discount_codes, ',')) AS code, amount
    FROM revenue_returns
    WHERE discount_codes IS NOT NULL
  ) r
  GROUP BY code
)
SELECT
  COALESCE(s.code, r.code) AS code,
  COALESCE(s.orders, 0) AS orders,
  COALESCE(s.discounts, 0) AS discounts,
  COALESCE(s.sales, 0) - COALESCE(r.returns, 0) AS revenue
FROM sales s
FULL OUTER JOIN returned r ON r.code = s.code
ORDER BY orders DESC, code ASC

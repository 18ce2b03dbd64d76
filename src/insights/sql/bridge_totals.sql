-- Revenue and orders of each period of a bridge (docs/insights.md). `cur_orders` and
-- `prev_orders` are revenue_orders.sql for the range and for the comparison range.
SELECT 'current' AS period, COALESCE(SUM(revenue), 0) AS revenue, COUNT(*) AS orders FROM cur_orders
UNION ALL
SELECT 'previous' AS period, COALESCE(SUM(revenue), 0) AS revenue, COUNT(*) AS orders FROM prev_orders

-- Sales, orders and returns of each period of a bridge (docs/insights.md): `cur_orders` and
-- `prev_orders` are revenue_orders.sql for the range and for the comparison range, `cur_returns`
-- and `prev_returns` revenue_returns.sql for them. A period's revenue is its sales less its
-- returns (kpis.md, total_revenue).
SELECT 'current' AS period, COALESCE(SUM(revenue), 0) AS revenue, COUNT(*) AS orders,
       (SELECT COALESCE(SUM(amount), 0) FROM cur_returns) AS returns
FROM cur_orders
UNION ALL
SELECT 'previous' AS period, COALESCE(SUM(revenue), 0) AS revenue, COUNT(*) AS orders,
       (SELECT COALESCE(SUM(amount), 0) FROM prev_returns) AS returns
FROM prev_orders

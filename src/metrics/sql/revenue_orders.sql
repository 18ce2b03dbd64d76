-- The revenue orders a KPI request keeps, with the revenue of the lines it keeps (kpis.md: an
-- order counts when it keeps at least one revenue line). The order-level KPIs read this as the
-- table `revenue_orders`, so "distinct orders" is a row count and no query needs COUNT(DISTINCT):
-- every aggregate is a plain GROUP BY, which can spill.
-- Parameters as in revenue_lines.sql. Without a category filter every line of a kept order is
-- kept, so the order's revenue is fact_order's order_revenue (the sum of all its lines) and the
-- lines need not be read; with one, the kept lines are summed per order.
SELECT
  o.date_key,
  o.order_key,
  o.customer_key,
  d.date AS order_date,
  d.month_start,
  CAST(o.order_revenue AS DECIMAL(28, 4)) AS revenue
FROM fact_order o
JOIN dim_date d ON d.date_key = o.date_key
WHERE $3 IS NULL
  AND o.status IN ('processing', 'shipped', 'delivered')
  AND o.line_count > 0
  AND o.date_key BETWEEN $1 AND $2
  AND ($4 IS NULL OR o.customer_key IN (
        SELECT c.customer_key FROM dim_customer c WHERE c.country = $4))
  AND ($5 IS NULL OR o.order_key IN (
        SELECT pay.order_key
        FROM fact_payment pay
        JOIN dim_payment_method m ON m.method_key = pay.method_key
        WHERE m.method = $5))
UNION ALL
SELECT
  date_key,
  order_key,
  customer_key,
  order_date,
  month_start,
  CAST(SUM(line_revenue) AS DECIMAL(28, 4)) AS revenue
FROM revenue_lines
WHERE $3 IS NOT NULL
GROUP BY date_key, order_key, customer_key, order_date, month_start

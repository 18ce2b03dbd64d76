-- The day of the latest order of any status: where the shop's data ends. The month holding it is
-- incomplete unless this is its last day (kpis.md, "Next month's revenue").
SELECT MAX(d.date) AS last_order_date
FROM fact_order o
JOIN dim_date d ON d.date_key = o.date_key

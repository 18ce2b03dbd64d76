-- The day of the latest order of any status: where the shop's data ends. The month holding it is
-- incomplete unless this is its last day (kpis.md, "Next month's revenue"). dim_date runs from
-- the first to the last order's day (of any status), so its last day is that day: a scan of a
-- few thousand days instead of every order, which matters now that every KPI suite asks.
SELECT MAX(d.date) AS last_order_date
FROM dim_date d

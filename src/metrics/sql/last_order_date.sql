-- The day of the latest order of any status: where the shop's data ends. The month holding it is
-- incomplete unless this is its last day (kpis.md, "Next month's revenue"). The latest order's
-- date key is the largest of agg_order's, which the Parquet files' statistics hold (dim_date also
-- runs on to the last refund's day, so its last day is not this one).
SELECT d.date AS last_order_date
FROM dim_date d
WHERE d.date_key = (SELECT MAX(o.date_key) FROM agg_order o)
